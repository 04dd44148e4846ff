//! Key derivation with caps, and the AEAD helpers the formats share.
//!
//! Every parameter read from a file is checked against a cap **before** the KDF runs, so a
//! hostile file cannot make us compute for hours or allocate gigabytes. The caps sit well above
//! what the real apps write (noted beside each), so real exports are never refused.

use zeroize::Zeroizing;

use super::{InteropError, Password, Result};

/// PBKDF2 iterations. andOTP writes 140,000–160,000, 2FAS 10,000, Bitwarden 600,000.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// scrypt log2(N). Aegis writes N = 2^15.
pub const MAX_SCRYPT_LOG_N: u8 = 20;
/// scrypt r. Aegis writes 8.
pub const MAX_SCRYPT_R: u32 = 32;
/// scrypt p. Aegis writes 1.
pub const MAX_SCRYPT_P: u32 = 16;
/// scrypt memory, 128·N·r bytes. Aegis uses 32 MiB.
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 1 << 30;
/// scrypt work, N·r·p. Aegis uses 2^18.
pub const MAX_SCRYPT_WORK: u64 = 1 << 23;
/// Argon2 memory in KiB: 1 GiB, libsodium's "sensitive" preset, which Ente writes on desktops
/// (phones fall back to 256 MiB with more passes).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 1 << 20;
/// Argon2 passes. Ente writes 4–16 (more passes when it lowers memory).
pub const MAX_ARGON2_ITERATIONS: u32 = 64;
/// Argon2 lanes.
pub const MAX_ARGON2_PARALLELISM: u32 = 16;
/// Argon2 work, memory KiB × passes: Ente keeps memory × passes at 4 GiB·passes.
pub const MAX_ARGON2_WORK: u64 = 4 << 20;
/// Password slots tried in one Aegis file (each costs a scrypt run).
pub const MAX_PASSWORD_SLOTS: usize = 8;

fn too_costly(param: &'static str, value: u64, max: u64) -> Result<()> {
    if value > max {
        return Err(InteropError::KdfParamsTooCostly { param, value, max });
    }
    Ok(())
}

/// Checks PBKDF2 iterations against the cap (and refuses zero).
pub fn check_pbkdf2(iterations: u32) -> Result<()> {
    too_costly(
        "pbkdf2 iterations",
        u64::from(iterations),
        u64::from(MAX_PBKDF2_ITERATIONS),
    )?;
    if iterations == 0 {
        return Err(InteropError::Corrupt {
            what: "pbkdf2 iterations is 0".into(),
        });
    }
    Ok(())
}

/// PBKDF2-HMAC-SHA1 → 32 bytes (andOTP).
pub fn pbkdf2_sha1(
    password: &Password,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    pbkdf2_ring(ring::pbkdf2::PBKDF2_HMAC_SHA1, password, salt, iterations)
}

/// PBKDF2-HMAC-SHA256 → 32 bytes (2FAS).
pub fn pbkdf2_sha256(
    password: &Password,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    pbkdf2_ring(ring::pbkdf2::PBKDF2_HMAC_SHA256, password, salt, iterations)
}

fn pbkdf2_ring(
    alg: ring::pbkdf2::Algorithm,
    password: &Password,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    check_pbkdf2(iterations)?;
    let iterations = std::num::NonZeroU32::new(iterations).ok_or(InteropError::Corrupt {
        what: "pbkdf2 iterations is 0".into(),
    })?;
    let mut key = Zeroizing::new([0u8; 32]);
    ring::pbkdf2::derive(alg, iterations, salt, password.as_bytes(), &mut *key);
    Ok(key)
}

/// Checks scrypt parameters (`n` as stored, a power of two) and returns log2(N).
pub fn check_scrypt(n: u64, r: u32, p: u32) -> Result<u8> {
    if n < 2 || !n.is_power_of_two() {
        return Err(InteropError::Corrupt {
            what: "scrypt N is not a power of two above 1".into(),
        });
    }
    // n is a power of two, so trailing_zeros is its log2 (< 64).
    let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
    too_costly("scrypt N", n, 1 << MAX_SCRYPT_LOG_N)?;
    too_costly("scrypt r", u64::from(r), u64::from(MAX_SCRYPT_R))?;
    too_costly("scrypt p", u64::from(p), u64::from(MAX_SCRYPT_P))?;
    let memory = 128u64.saturating_mul(n).saturating_mul(u64::from(r));
    too_costly("scrypt memory bytes", memory, MAX_SCRYPT_MEMORY_BYTES)?;
    let work = n.saturating_mul(u64::from(r)).saturating_mul(u64::from(p));
    too_costly("scrypt N·r·p", work, MAX_SCRYPT_WORK)?;
    if r == 0 || p == 0 {
        return Err(InteropError::Corrupt {
            what: "scrypt r or p is 0".into(),
        });
    }
    Ok(log_n)
}

/// scrypt → 32 bytes, parameters checked first.
pub fn scrypt(
    password: &Password,
    salt: &[u8],
    n: u64,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    let log_n = check_scrypt(n, r, p)?;
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|_| InteropError::Corrupt {
        what: "scrypt parameters are invalid".into(),
    })?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut *key).map_err(|_| {
        InteropError::Corrupt {
            what: "scrypt parameters are invalid".into(),
        }
    })?;
    Ok(key)
}

/// Checks Argon2 parameters (memory in KiB).
pub fn check_argon2(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<()> {
    too_costly(
        "argon2 memory KiB",
        u64::from(memory_kib),
        u64::from(MAX_ARGON2_MEMORY_KIB),
    )?;
    too_costly(
        "argon2 iterations",
        u64::from(iterations),
        u64::from(MAX_ARGON2_ITERATIONS),
    )?;
    too_costly(
        "argon2 parallelism",
        u64::from(parallelism),
        u64::from(MAX_ARGON2_PARALLELISM),
    )?;
    too_costly(
        "argon2 memory KiB × iterations",
        u64::from(memory_kib).saturating_mul(u64::from(iterations)),
        MAX_ARGON2_WORK,
    )?;
    Ok(())
}

/// Argon2id (v1.3) → `N` bytes, parameters checked first.
pub fn argon2id<const N: usize>(
    password: &Password,
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<Zeroizing<[u8; N]>> {
    check_argon2(memory_kib, iterations, parallelism)?;
    let params =
        argon2::Params::new(memory_kib, iterations, parallelism, Some(N)).map_err(|e| {
            InteropError::Corrupt {
                what: format!("argon2 parameters are invalid ({e})"),
            }
        })?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; N]);
    argon
        .hash_password_into(password.as_bytes(), salt, &mut *key)
        .map_err(|e| InteropError::Corrupt {
            what: format!("argon2 input is invalid ({e})"),
        })?;
    Ok(key)
}

/// AES-256-GCM decryption of `ciphertext ‖ tag` ([`crate::crypto::AeadKey`]). `None` when
/// authentication fails or the nonce is not 96 bits.
pub fn aes_gcm_open(
    key: &[u8; 32],
    nonce: &[u8],
    sealed: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    crate::crypto::AeadKey::new(key)
        .ok()?
        .open_with(nonce, aad, sealed)
        .ok()
}

/// AES-256-GCM encryption → `ciphertext ‖ tag` ([`crate::crypto::AeadKey`]).
pub fn aes_gcm_seal(key: &[u8; 32], nonce: &[u8; 12], plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    crate::crypto::AeadKey::new(key)
        .and_then(|k| k.seal_with(nonce, aad, plain))
        .map_err(|_| InteropError::Crypto("AES-GCM encryption"))
}

/// `N` bytes from the system CSPRNG ([`crate::crypto::random`]).
pub fn random<const N: usize>() -> Result<[u8; N]> {
    crate::crypto::random().map_err(|_| InteropError::Crypto("random number generator"))
}
