//! The provider's signing keys and the compact JWS of its ID tokens
//! ([decision 0004](../../../../docs/decisions/0004-jws.md)).
//!
//! ES256 (ECDSA P-256, SHA-256) on ring, as the device factor's keys: ring generates and signs
//! in constant time, and the signature is already JOSE's `r ‖ s`. The server only signs; it
//! never parses a JWS, so there is no algorithm to pick from untrusted input.
//!
//! A current key is created at first use and replaced after `oidc.key_rotation_days`; a
//! replaced key stays published in the JWKS until every token it signed has expired
//! (`oidc.id_token_ttl_secs` after its replacement, plus [`RETIRE_MARGIN_SECS`]). Private keys
//! are sealed under the master key, bound to their kid. Every instance reads the keys from the
//! database; a rotation is one store transaction that makes a new key only if the current key
//! is still the one the caller saw, so instances that find the key due at once make one key.

use axum::extract::State;
use axum::Json;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::crypto::{sha256, MasterKey};
use crate::error::{Error, Result};
use crate::store::{signing_key_context, Rotation, SigningKeyRow};
use crate::AppState;

/// The one signing algorithm.
pub const ALG: &str = "ES256";

/// How long after its tokens' last expiry a replaced key stays published: relying parties'
/// clocks run a little behind.
pub const RETIRE_MARGIN_SECS: u64 = 300;

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// A signing key, ready to sign. Debug shows the kid only.
pub struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The x and y coordinates of an uncompressed SEC1 P-256 point (`04 ‖ x ‖ y`).
fn coordinates(point: &[u8]) -> Result<(&[u8], &[u8])> {
    match point {
        [4, rest @ ..] if rest.len() == 64 => Ok(rest.split_at(32)),
        _ => Err(Error::Crypto),
    }
}

impl SigningKey {
    /// A new key from the CSPRNG, and its row (the private key sealed under `master`).
    pub fn generate(master: &MasterKey, now: u64) -> Result<(SigningKey, SigningKeyRow)> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Crypto)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| Error::Crypto)?;
        let (x, y) = coordinates(pair.public_key().as_ref())?;
        let kid = thumbprint(x, y);
        let key = SigningKey { kid, pair, rng };
        let row = SigningKeyRow {
            kid: key.kid.clone(),
            alg: ALG.to_owned(),
            private_sealed: master.seal(&pkcs8, &signing_key_context(&key.kid))?,
            public_jwk: key.public_jwk()?.to_string(),
            created_at: now,
            retire_at: None,
        };
        Ok((key, row))
    }

    /// The key of a stored row; [`Error::Crypto`] when the master key does not open it.
    pub fn open(row: &SigningKeyRow, master: &MasterKey) -> Result<SigningKey> {
        if row.alg != ALG {
            return Err(Error::Internal(format!(
                "signing key {} has algorithm {}",
                row.kid, row.alg
            )));
        }
        let pkcs8 = master.open(&row.private_sealed, &signing_key_context(&row.kid))?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| Error::Crypto)?;
        Ok(SigningKey {
            kid: row.kid.clone(),
            pair,
            rng,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 7517/7518).
    pub fn public_jwk(&self) -> Result<serde_json::Value> {
        let (x, y) = coordinates(self.pair.public_key().as_ref())?;
        Ok(json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64(x),
            "y": b64(y),
            "use": "sig",
            "alg": ALG,
            "kid": self.kid,
        }))
    }

    /// `claims` as a compact JWS (`header.payload.signature`, RFC 7515 §7.1) with this key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String> {
        let header = json!({"alg": ALG, "typ": "JWT", "kid": self.kid});
        let header = serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| Error::Internal(e.to_string()))?;
        let mut jws = format!("{}.{}", b64(&header), b64(&payload));
        let signature = self
            .pair
            .sign(&self.rng, jws.as_bytes())
            .map_err(|_| Error::Crypto)?;
        jws.push('.');
        jws.push_str(&b64(signature.as_ref()));
        Ok(jws)
    }
}

/// The kid: the key's JWK thumbprint (RFC 7638), so it names the key and nothing else.
fn thumbprint(x: &[u8], y: &[u8]) -> String {
    // The required members, in lexicographic order, without whitespace (RFC 7638 §3.2).
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(x),
        b64(y)
    );
    b64(&sha256(canonical.as_bytes()))
}

/// Whether the current key (the first row, if it has no `retire_at`) may still sign at `now`.
fn usable(keys: &[SigningKeyRow], rotate_after: u64, now: u64) -> Option<&SigningKeyRow> {
    keys.first()
        .filter(|k| k.retire_at.is_none() && now < k.created_at.saturating_add(rotate_after))
}

/// When a key replaced at `now` leaves the JWKS.
fn retire_at(state: &AppState, now: u64) -> u64 {
    now.saturating_add(state.config().oidc.id_token_ttl_secs)
        .saturating_add(RETIRE_MARGIN_SECS)
}

/// Makes a new current key as `rotation` says; the published keys afterwards.
fn rotate(state: &AppState, rotation: Rotation, now: u64) -> Result<Vec<SigningKeyRow>> {
    let (_, row) = SigningKey::generate(state.key(), now)?;
    state
        .store()
        .rotate_signing_key(row, rotation, retire_at(state, now), now)
}

/// The published keys (the current one first), making the current key first if there is none
/// or it is due for rotation. Blocking.
pub fn published(state: &AppState) -> Result<Vec<SigningKeyRow>> {
    let now = state.now();
    let rotate_after = state.config().oidc.key_rotation_days.saturating_mul(86_400);
    let keys = state.store().signing_keys(now)?;
    if usable(&keys, rotate_after, now).is_some() {
        return Ok(keys);
    }
    let seen = keys
        .first()
        .filter(|k| k.retire_at.is_none())
        .map(|k| k.kid.clone());
    rotate(state, Rotation::IfCurrentIs(seen), now)
}

/// The current signing key, made or rotated first when due. Blocking.
pub fn current(state: &AppState) -> Result<SigningKey> {
    let keys = published(state)?;
    let row = keys
        .first()
        .filter(|k| k.retire_at.is_none())
        .ok_or_else(|| Error::Internal("no current signing key after a rotation".into()))?;
    SigningKey::open(row, state.key())
}

/// A published key as the management API shows it.
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// Unix seconds.
    pub created_at: u64,
    /// When it leaves the JWKS; absent for the current key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<u64>,
}

/// The answer to a rotation: the new current key's id and every published key.
#[derive(Debug, Serialize)]
pub struct RotationView {
    /// The new current key's id.
    pub kid: String,
    /// The published keys, the current one first.
    pub keys: Vec<KeyView>,
}

/// `POST /api/v2/oidc/keys/rotation` (manage:keys): a new current key now; the replaced one
/// stays published until the tokens it signed have expired.
pub async fn rotate_now(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RotationView>> {
    caller.management("manage:keys")?;
    let keys = state
        .blocking(|s| rotate(s, Rotation::Now, s.now()))
        .await?;
    let kid = keys
        .first()
        .filter(|k| k.retire_at.is_none())
        .map(|k| k.kid.clone())
        .ok_or_else(|| Error::Internal("no current signing key after a rotation".into()))?;
    Ok(Json(RotationView {
        kid,
        keys: keys
            .into_iter()
            .map(|k| KeyView {
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                retire_at: k.retire_at,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn a_signed_token_verifies_with_its_published_jwk_and_the_row_reopens() {
        let master = MasterKey::generate().unwrap();
        let (key, row) = SigningKey::generate(&master, 10).unwrap();
        assert_eq!(row.kid, key.kid());
        assert!(row.retire_at.is_none());
        let jws = key.sign(&json!({"sub": "usr_1"})).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(
            &data_encoding::BASE64URL_NOPAD
                .decode(parts[0].as_bytes())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()})
        );
        let jwk: serde_json::Value = serde_json::from_str(&row.public_jwk).unwrap();
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            let bytes = data_encoding::BASE64URL_NOPAD
                .decode(jwk[c].as_str().unwrap().as_bytes())
                .unwrap();
            assert_eq!(bytes.len(), 32, "{c} is a 32-byte coordinate");
            point.extend(bytes);
        }
        let sig = data_encoding::BASE64URL_NOPAD
            .decode(parts[2].as_bytes())
            .unwrap();
        assert_eq!(sig.len(), 64, "JOSE's r ‖ s");
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(signed.as_bytes(), &sig)
            .unwrap();

        let reopened = SigningKey::open(&row, &master).unwrap();
        assert_eq!(reopened.public_jwk().unwrap(), key.public_jwk().unwrap());
        // Another master key, or the sealed key moved to another kid, does not open.
        let other = MasterKey::generate().unwrap();
        assert!(matches!(SigningKey::open(&row, &other), Err(Error::Crypto)));
        let moved = SigningKeyRow {
            kid: "another".into(),
            ..row.clone()
        };
        assert!(matches!(
            SigningKey::open(&moved, &master),
            Err(Error::Crypto)
        ));
        assert!(
            !format!("{key:?}").contains("pair"),
            "Debug shows the kid only"
        );
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638's example is an RSA key: this is RFC 7517 §A.1's EC key, its thumbprint
        // computed independently (Python's hashlib over the canonical JSON).
        let x = data_encoding::BASE64URL_NOPAD
            .decode(b"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4")
            .unwrap();
        let y = data_encoding::BASE64URL_NOPAD
            .decode(b"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM")
            .unwrap();
        assert_eq!(
            thumbprint(&x, &y),
            "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"
        );
    }

    #[test]
    fn the_current_key_is_usable_until_its_rotation_is_due() {
        let row = |created_at, retire_at| SigningKeyRow {
            kid: "k".into(),
            alg: ALG.into(),
            private_sealed: Vec::new(),
            public_jwk: String::new(),
            created_at,
            retire_at,
        };
        assert!(usable(&[], 100, 0).is_none(), "no key yet");
        assert!(usable(&[row(0, None)], 100, 99).is_some());
        assert!(usable(&[row(0, None)], 100, 100).is_none(), "due");
        assert!(
            usable(&[row(0, Some(500))], 100, 50).is_none(),
            "not current"
        );
    }
}
