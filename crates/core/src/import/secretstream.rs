//! libsodium's `crypto_secretstream_xchacha20poly1305`, for the single-message streams Ente
//! writes, built from RustCrypto's ChaCha20 and Poly1305 following libsodium's documented
//! construction:
//!
//! - state: a subkey `k = HChaCha20(key, header[0..16])` and a 96-bit nonce
//!   `counter (u32 LE, starting at 1) ‖ header[16..24]`;
//! - a message is `c0 ‖ ciphertext ‖ mac (16)`: ChaCha20-IETF block 0 gives the Poly1305 key;
//!   block 1 encrypts a 64-byte block whose first byte is the tag (`c0` is its first byte);
//!   the message is encrypted from block 2;
//! - the MAC is Poly1305 over the byte stream `ad`, zeros to a 16-byte boundary, that
//!   64-byte block (`c0` and the keystream's bytes 1..64), the ciphertext, `len(m) mod 16`
//!   zeros, then `len(ad)` and `64 + len(m)` as u64 LE.
//!
//! Only the first message is read (Ente writes one, tagged FINAL), so the nonce update and
//! rekeying after a message are not needed.

use chacha20::cipher::consts::U10;
use chacha20::cipher::generic_array::GenericArray;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use poly1305::universal_hash::KeyInit;
use poly1305::Poly1305;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Bytes of the stream header (libsodium's `HEADERBYTES`).
pub const HEADER_BYTES: usize = 24;
/// Overhead per message: the tag byte and the MAC (`ABYTES`).
pub const A_BYTES: usize = 17;
/// The tag of the last message (`TAG_FINAL` = PUSH | REKEY).
pub const TAG_FINAL: u8 = 3;

fn set_first(block: &mut [u8; 64], value: u8) {
    if let Some(b) = block.first_mut() {
        *b = value;
    }
}

fn first(block: &[u8; 64]) -> u8 {
    block.first().copied().unwrap_or_default()
}

struct State {
    key: Zeroizing<[u8; 32]>,
    nonce: [u8; 12],
}

impl State {
    fn new(key: &[u8; 32], header: &[u8; HEADER_BYTES]) -> Self {
        let (first, last) = header.split_at(16);
        let sub = chacha20::hchacha::<U10>(
            GenericArray::from_slice(key),
            GenericArray::from_slice(first),
        );
        let mut subkey = Zeroizing::new([0u8; 32]);
        subkey.copy_from_slice(sub.as_slice());
        let mut nonce = [0u8; 12];
        let (counter, inonce) = nonce.split_at_mut(4);
        counter.copy_from_slice(&1u32.to_le_bytes());
        inonce.copy_from_slice(last);
        State { key: subkey, nonce }
    }

    fn cipher_at_block(&self, block: u64) -> ChaCha20 {
        let mut c = ChaCha20::new(
            GenericArray::from_slice(&*self.key),
            GenericArray::from_slice(&self.nonce),
        );
        c.seek(block * 64);
        c
    }

    /// The 64-byte tag block as MACed (first byte `c0`), and the decrypted tag.
    fn tag_block(&self, c0: u8) -> (Zeroizing<[u8; 64]>, u8) {
        let mut block = Zeroizing::new([0u8; 64]);
        set_first(&mut block, c0);
        self.cipher_at_block(1).apply_keystream(&mut *block);
        let tag = first(&block);
        set_first(&mut block, c0);
        (block, tag)
    }

    fn mac(&self, block: &[u8; 64], ciphertext: &[u8], ad: &[u8]) -> [u8; 16] {
        let mut poly_key = Zeroizing::new([0u8; 64]);
        self.cipher_at_block(0).apply_keystream(&mut *poly_key);
        // libsodium feeds Poly1305 a byte stream: ad, zeros to a 16-byte boundary, the block,
        // the ciphertext, then `mlen mod 16` zeros (its padding formula, (16 - 64 + mlen) & 15,
        // is not the usual "to a boundary"), then the two lengths. Build that stream and MAC
        // it whole.
        let mut input = Vec::with_capacity(ad.len() + 16 + 64 + ciphertext.len() + 32);
        input.extend_from_slice(ad);
        input.resize(input.len() + (16 - ad.len() % 16) % 16, 0);
        input.extend_from_slice(block);
        input.extend_from_slice(ciphertext);
        input.resize(input.len() + ciphertext.len() % 16, 0);
        input.extend_from_slice(&(ad.len() as u64).to_le_bytes());
        input.extend_from_slice(&(64 + ciphertext.len() as u64).to_le_bytes());
        let poly = Poly1305::new(GenericArray::from_slice(poly_key.split_at(32).0));
        poly.compute_unpadded(&input).into()
    }
}

/// Decrypts the first message of a stream: `(plaintext, tag)`, or `None` when it is too short
/// or fails authentication.
pub fn pull(
    key: &[u8; 32],
    header: &[u8; HEADER_BYTES],
    message: &[u8],
    ad: &[u8],
) -> Option<(Zeroizing<Vec<u8>>, u8)> {
    if message.len() < A_BYTES {
        return None;
    }
    let (c0, rest) = message.split_first()?;
    let (ciphertext, mac) = rest.split_at(rest.len() - 16);
    let state = State::new(key, header);
    let (block, tag) = state.tag_block(*c0);
    let expected = state.mac(&block, ciphertext, ad);
    if !bool::from(expected.ct_eq(mac)) {
        return None;
    }
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    state.cipher_at_block(2).apply_keystream(&mut plain);
    Some((plain, tag))
}

/// Encrypts one message as the first of a stream (the inverse of [`pull`]).
pub fn push(
    key: &[u8; 32],
    header: &[u8; HEADER_BYTES],
    plain: &[u8],
    ad: &[u8],
    tag: u8,
) -> Vec<u8> {
    let state = State::new(key, header);
    let mut block = Zeroizing::new([0u8; 64]);
    set_first(&mut block, tag);
    state.cipher_at_block(1).apply_keystream(&mut *block);
    let c0 = first(&block);
    let mut ciphertext = plain.to_vec();
    state.cipher_at_block(2).apply_keystream(&mut ciphertext);
    let mac = state.mac(&block, &ciphertext, ad);
    let mut out = Vec::with_capacity(plain.len() + A_BYTES);
    out.push(c0);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&mac);
    out
}
