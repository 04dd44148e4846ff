//! A software authenticator for tests and benches (feature `testing`): one P-256 credential
//! (ring), real `none` attestations and ES256 assertions, with every field a test may want
//! wrong (origin, relying party id, counter, flags).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test support: a panic is a failed test

use data_encoding::BASE64URL_NOPAD;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

pub fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    BASE64URL_NOPAD.decode(text.as_bytes()).unwrap()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// CBOR: a major type and length header.
fn cbor_head(major: u8, len: usize, out: &mut Vec<u8>) {
    let m = major << 5;
    match len {
        0..=23 => out.push(m | len as u8),
        24..=255 => out.extend([m | 24, len as u8]),
        _ => {
            out.push(m | 25);
            out.extend((len as u16).to_be_bytes());
        }
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len(), out);
    out.extend(b);
}

fn cbor_text(t: &str, out: &mut Vec<u8>) {
    cbor_head(3, t.len(), out);
    out.extend(t.as_bytes());
}

/// A software authenticator holding one P-256 credential.
#[derive(Clone)]
pub struct SoftKey {
    /// The private key, PKCS#8 (a clone of the authenticator copies it).
    pub pkcs8: Vec<u8>,
    /// The credential id.
    pub cred_id: Vec<u8>,
    /// The signature counter of the last assertion.
    pub counter: u32,
    /// The user handle of the registration (returned in assertions, as a resident key would).
    pub handle: Vec<u8>,
    /// What the browser would put in clientDataJSON.
    pub origin: String,
    /// Whose SHA-256 starts authenticatorData.
    pub rp_id: String,
    /// Backup-eligible (a synced passkey) rather than device-bound.
    pub backup_eligible: bool,
}

impl std::fmt::Debug for SoftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftKey")
            .field("counter", &self.counter)
            .field("origin", &self.origin)
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

impl SoftKey {
    /// A new credential for the server at `url` (`http://127.0.0.1:PORT`): the browser's
    /// origin is `http://localhost:PORT`, the relying party `localhost`.
    pub fn new(url: &str) -> SoftKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let port = url.rsplit(':').next().unwrap();
        SoftKey {
            pkcs8: pkcs8.as_ref().to_vec(),
            cred_id: ring::rand::generate::<[u8; 16]>(&rng)
                .unwrap()
                .expose()
                .to_vec(),
            counter: 0,
            handle: Vec::new(),
            origin: format!("http://localhost:{port}"),
            rp_id: "localhost".into(),
            backup_eligible: false,
        }
    }

    fn key(&self) -> EcdsaKeyPair {
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &self.pkcs8,
            &SystemRandom::new(),
        )
        .unwrap()
    }

    fn flags(&self, attested: bool) -> u8 {
        // UP, UV; BE and BS for a synced passkey; AT with attested credential data.
        let mut f = 0x01 | 0x04;
        if self.backup_eligible {
            f |= 0x08 | 0x10;
        }
        if attested {
            f |= 0x40;
        }
        f
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// `navigator.credentials.create` on `options` (`{"publicKey": …}`): the credential JSON.
    pub fn create(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost", "{options}");
        self.handle = unb64(pk["user"]["id"].as_str().unwrap());
        let client_data = self.client_data("webauthn.create", pk["challenge"].as_str().unwrap());
        let public = self.key().public_key().as_ref().to_vec();
        assert_eq!(public.len(), 65);
        // COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        let mut cose = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&public[1..33], &mut cose);
        cose.push(0x22);
        cbor_bytes(&public[33..], &mut cose);
        let mut auth_data = sha256(self.rp_id.as_bytes());
        auth_data.push(self.flags(true));
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.cred_id);
        auth_data.extend(cose);
        let mut att = vec![0xA3];
        cbor_text("fmt", &mut att);
        cbor_text("none", &mut att);
        cbor_text("attStmt", &mut att);
        att.push(0xA0);
        cbor_text("authData", &mut att);
        cbor_bytes(&auth_data, &mut att);
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&att),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get` on `options`: the counter goes up by one.
    pub fn get(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.assert_with(options, self.counter)
    }

    /// An assertion with a given counter.
    pub fn assert_with(&self, options: &Value, counter: u32) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let client_data = self.client_data("webauthn.get", challenge);
        let mut auth_data = sha256(self.rp_id.as_bytes());
        auth_data.push(self.flags(false));
        auth_data.extend(counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let sig = self.key().sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(sig.as_ref()),
                "userHandle": b64(&self.handle),
            },
            "extensions": {},
        })
    }
}
