//! What a device keeps about one enrollment — the pinned server (origin and identity key), its
//! device id and its private key — and how it is stored through a [`KeyStore`].

use std::collections::BTreeMap;
use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use tessera_core::device::{DeviceKey, SignatureAlgorithm};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One enrollment of this device with one server.
pub struct Enrollment {
    /// The pinned server origin.
    pub origin: String,
    /// The pinned server identity public key (Ed25519).
    pub server_public_key: Vec<u8>,
    /// The device id the server assigned.
    pub device_id: String,
    /// The user id.
    pub user_id: String,
    /// The user's name, for display.
    pub user: String,
    /// This device's name.
    pub device_name: String,
    /// The device key.
    pub key: DeviceKey,
    /// The paired TOTP's otpauth URI, if the server provisioned one.
    pub otp_uri: Option<String>,
}

impl fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrollment")
            .field("origin", &self.origin)
            .field("device_id", &self.device_id)
            .field("user", &self.user)
            .field("device_name", &self.device_name)
            .field("algorithm", &self.key.algorithm())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    origin: String,
    server_public_key: String,
    device_id: String,
    user_id: String,
    user: String,
    device_name: String,
    algorithm: SignatureAlgorithm,
    pkcs8: String,
    #[serde(default)]
    otp_uri: Option<String>,
}

impl Enrollment {
    /// base64url(SHA-256(server key)): the `sk` of links from this server.
    pub fn server_fingerprint(&self) -> String {
        BASE64URL_NOPAD.encode(&tessera_core::device::message::sha256(
            &self.server_public_key,
        ))
    }

    /// Serializes the enrollment, private key included: store only sealed (the vault).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let stored = Stored {
            v: 1,
            origin: self.origin.clone(),
            server_public_key: BASE64URL_NOPAD.encode(&self.server_public_key),
            device_id: self.device_id.clone(),
            user_id: self.user_id.clone(),
            user: self.user.clone(),
            device_name: self.device_name.clone(),
            algorithm: self.key.algorithm(),
            pkcs8: BASE64URL_NOPAD.encode(self.key.pkcs8()),
            otp_uri: self.otp_uri.clone(),
        };
        let mut stored = stored;
        let out = serde_json::to_vec(&stored).map_err(|e| Error::Storage(e.to_string()));
        stored.pkcs8.zeroize_string();
        out.map(Zeroizing::new)
    }

    /// Reads what [`Enrollment::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut s: Stored = serde_json::from_slice(bytes)
            .map_err(|e| Error::Storage(format!("enrollment record: {e}")))?;
        if s.v != 1 {
            return Err(Error::Storage(format!("enrollment record version {}", s.v)));
        }
        let pkcs8 = Zeroizing::new(
            BASE64URL_NOPAD
                .decode(s.pkcs8.as_bytes())
                .map_err(|_| Error::Storage("enrollment record: key".into()))?,
        );
        s.pkcs8.zeroize_string();
        Ok(Enrollment {
            key: DeviceKey::from_pkcs8(s.algorithm, &pkcs8)?,
            server_public_key: BASE64URL_NOPAD
                .decode(s.server_public_key.as_bytes())
                .map_err(|_| Error::Storage("enrollment record: server key".into()))?,
            origin: s.origin,
            device_id: s.device_id,
            user_id: s.user_id,
            user: s.user,
            device_name: s.device_name,
            otp_uri: s.otp_uri,
        })
    }
}

trait ZeroizeString {
    fn zeroize_string(&mut self);
}

impl ZeroizeString for String {
    fn zeroize_string(&mut self) {
        zeroize::Zeroize::zeroize(self);
    }
}

/// Where a device keeps its enrollments: opaque sealed items by id. The CLI implements it over
/// the vault's `put_item/get_item("device", id)`; [`MemoryKeyStore`] keeps them in memory.
pub trait KeyStore {
    /// Stores (or replaces) an item.
    fn put(&mut self, id: &str, bytes: &[u8]) -> Result<()>;
    /// An item.
    fn get(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>>;
    /// All item ids.
    fn ids(&self) -> Result<Vec<String>>;
    /// Deletes an item; whether it existed.
    fn delete(&mut self, id: &str) -> Result<bool>;

    /// Stores an enrollment under its device id.
    fn save(&mut self, e: &Enrollment) -> Result<()> {
        self.put(&e.device_id, &e.to_bytes()?)
    }

    /// Loads an enrollment.
    fn load(&self, id: &str) -> Result<Option<Enrollment>> {
        self.get(id)?
            .map(|b| Enrollment::from_bytes(&b))
            .transpose()
    }
}

/// An in-memory [`KeyStore`].
#[derive(Default)]
pub struct MemoryKeyStore(BTreeMap<String, Zeroizing<Vec<u8>>>);

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl KeyStore for MemoryKeyStore {
    fn put(&mut self, id: &str, bytes: &[u8]) -> Result<()> {
        self.0.insert(id.to_owned(), Zeroizing::new(bytes.to_vec()));
        Ok(())
    }
    fn get(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(self.0.get(id).cloned())
    }
    fn ids(&self) -> Result<Vec<String>> {
        Ok(self.0.keys().cloned().collect())
    }
    fn delete(&mut self, id: &str) -> Result<bool> {
        Ok(self.0.remove(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_store() {
        let e = Enrollment {
            origin: "http://127.0.0.1:1".into(),
            server_public_key: vec![1; 32],
            device_id: "dev_x".into(),
            user_id: "usr_a".into(),
            user: "alice".into(),
            device_name: "laptop".into(),
            key: DeviceKey::generate(SignatureAlgorithm::Es256).unwrap(),
            otp_uri: None,
        };
        let mut store = MemoryKeyStore::default();
        store.save(&e).unwrap();
        let back = store.load("dev_x").unwrap().unwrap();
        assert_eq!(back.key.public_key(), e.key.public_key());
        assert_eq!(back.server_fingerprint(), e.server_fingerprint());
        assert!(!format!("{back:?}").contains("pkcs8"));
        assert!(Enrollment::from_bytes(b"{}").is_err());
        assert!(store.delete("dev_x").unwrap());
        assert!(store.ids().unwrap().is_empty());
    }
}
