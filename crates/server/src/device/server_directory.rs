//! The device factor plugged into the server: [`ServerDirectory`] answers the device module's
//! [`Directory`] questions from the server's store (users, passwords, TOTP and recovery codes,
//! management tokens, audit), [`install`] builds the [`DeviceState`] beside the server's, and
//! [`DeviceState`] is the server's [`OobVerifier`] for the Auth0 `mfa-oob` grant (the
//! `oob_code` is the push transaction id).

use std::sync::Arc;

use tessera_core::Clock;

use crate::device::error::{DeviceError, Result};
use crate::device::{push, DeviceState, Directory};
use crate::model::{Authenticator, AuthenticatorKind, OtpParams, TokenKind, VerifyOutcome};
use crate::oob::OobVerifier;
use crate::store::{NewOtp, OnSuccess};
use crate::AppState;

/// The server-side id of a device's push authenticator.
pub fn push_authenticator_id(device_id: &str) -> String {
    format!("push|{device_id}")
}

/// [`Directory`] over the server's own store.
#[derive(Debug, Clone)]
pub struct ServerDirectory {
    app: AppState,
}

fn server_err(e: crate::Error) -> DeviceError {
    match e {
        crate::Error::NotFound(what) => DeviceError::NotFound(what),
        crate::Error::TooManyAttempts => DeviceError::TooManyRequests("too many failed attempts"),
        crate::Error::Unavailable(d) => DeviceError::Unavailable(d),
        other => DeviceError::Internal(other.to_string()),
    }
}

/// Management-token scope that also grants each device-factor scope.
fn fallback_scope(scope: &str) -> &'static str {
    match scope {
        "push:create" => "verify:otp",
        _ => "update:users",
    }
}

impl ServerDirectory {
    /// Over `app`'s store and configuration.
    pub fn new(app: AppState) -> Self {
        ServerDirectory { app }
    }

    /// Runs one of the server's async factor checks from the blocking pool the device module
    /// calls the directory on.
    fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| DeviceError::Internal("no runtime for a factor check".into()))?;
        Ok(handle.block_on(f))
    }
}

impl Directory for ServerDirectory {
    fn resolve_user(&self, user: &str) -> Result<Option<String>> {
        let store = self.app.store();
        if let Some(u) = store.get_user(user).map_err(server_err)? {
            return Ok(Some(u.user_id));
        }
        Ok(store
            .find_user_by_username(user)
            .map_err(server_err)?
            .map(|(u, _)| u.user_id))
    }

    fn username(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self
            .app
            .store()
            .get_user(user_id)
            .map_err(server_err)?
            .map(|u| u.username))
    }

    fn check_password(&self, username: &str, password: &str, _now: u64) -> Result<Option<String>> {
        // The password grant's own check: failure counting, delays and lockout included.
        let password = zeroize::Zeroizing::new(password.to_owned());
        Ok(self
            .block_on(crate::factors::check_password(
                &self.app, username, password,
            ))?
            .map_err(server_err)?
            .map(|u| u.user_id))
    }

    fn check_code(&self, user_id: &str, code: &str, _now: u64) -> Result<bool> {
        let none = || OnSuccess {
            revoke_token_id: None,
            issue: None,
        };
        // One attempt is one check, counted once: digits only (spaces and dashes as typed
        // aside) up to the longest OTP is a TOTP code, anything else a recovery code (24
        // Crockford characters, whose hash ignores spaces and dashes itself).
        let compact: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let compact = zeroize::Zeroizing::new(compact);
        let is_otp = !compact.is_empty()
            && compact.len() <= usize::from(tessera_core::otp::MAX_DIGITS)
            && compact.bytes().all(|b| b.is_ascii_digit());
        let outcome = if is_otp {
            self.block_on(crate::factors::verify_otp(
                &self.app,
                user_id,
                &compact,
                none(),
            ))?
        } else {
            self.block_on(crate::factors::verify_recovery(
                &self.app,
                user_id,
                code,
                none(),
            ))?
        }
        .map_err(server_err)?;
        Ok(matches!(outcome, VerifyOutcome::Accepted { .. }))
    }

    fn check_token(&self, token: &str, scope: &str, now: u64) -> Result<bool> {
        let record = self
            .app
            .store()
            .find_token(crate::crypto::sha256(token.as_bytes()))
            .map_err(server_err)?;
        Ok(record.is_some_and(|t| {
            t.kind == TokenKind::Management
                && t.revoked_at.is_none()
                && t.expires_at.is_none_or(|e| e > now)
                && t.scopes
                    .iter()
                    .any(|s| s == scope || s == fallback_scope(scope))
        }))
    }

    /// A0-4: the push authenticator (`push|<device id>`, kind oob) and its OTP twin, created
    /// active and paired (`pair_id` = the device id) so deleting either deletes both.
    fn device_enrolled(
        &self,
        user_id: &str,
        device_id: &str,
        name: &str,
        now: u64,
    ) -> Result<Option<String>> {
        let cfg = self.app.config();
        let store = self.app.store();
        let user = store
            .get_user(user_id)
            .map_err(server_err)?
            .ok_or(DeviceError::NotFound("user"))?;
        store
            .create_authenticator(
                Authenticator {
                    id: push_authenticator_id(device_id),
                    user_id: user_id.to_owned(),
                    kind: AuthenticatorKind::Oob,
                    name: name.to_owned(),
                    active: true,
                    oob_channel: Some("push".into()),
                    pair_id: Some(device_id.to_owned()),
                    created_at: now,
                },
                now,
            )
            .map_err(server_err)?;
        let algorithm = cfg.totp_algorithm().map_err(server_err)?;
        let secret = crate::totp::new_secret(algorithm).map_err(server_err)?;
        let otp_id = crate::crypto::random_id("totp|dev_").map_err(server_err)?;
        let sealed = self
            .app
            .key()
            .seal(&secret, otp_id.as_bytes())
            .map_err(server_err)?;
        let uri = crate::totp::build_uri(
            &cfg.totp.uri_template,
            &user.username,
            &data_encoding::BASE32_NOPAD.encode(&secret),
            algorithm,
            cfg.totp.digits,
            cfg.totp.period,
        );
        store
            .create_otp(
                NewOtp {
                    authenticator: Authenticator {
                        id: otp_id,
                        user_id: user_id.to_owned(),
                        kind: AuthenticatorKind::Otp,
                        name: name.to_owned(),
                        // The device received the secret over its proven, pinned channel.
                        active: true,
                        oob_channel: None,
                        pair_id: Some(device_id.to_owned()),
                        created_at: now,
                    },
                    params: OtpParams {
                        algorithm,
                        digits: cfg.totp.digits,
                        period: cfg.totp.period,
                        secret_sealed: sealed,
                        last_step: None,
                    },
                    // The paired twin does not count against the user's own OTP cap.
                    max_enrollments: u32::MAX,
                    recovery: None,
                },
                now,
            )
            .map_err(server_err)?;
        Ok(Some(uri))
    }

    fn device_removed(&self, user_id: &str, device_id: &str, now: u64) -> Result<()> {
        self.app
            .store()
            .delete_authenticator(user_id, &push_authenticator_id(device_id), now)
            .map_err(server_err)?;
        Ok(())
    }

    fn device_active(&self, user_id: &str, device_id: &str) -> Result<bool> {
        let id = push_authenticator_id(device_id);
        Ok(self
            .app
            .store()
            .list_authenticators(user_id)
            .map_err(server_err)?
            .iter()
            .any(|a| a.id == id))
    }
}

impl OobVerifier for DeviceState {
    fn verify(
        &self,
        user_id: &str,
        oob_code: &str,
        _binding_code: Option<&str>,
        _now: u64,
    ) -> crate::Result<VerifyOutcome> {
        let redeemed = push::redeem(self, oob_code, user_id)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        Ok(match redeemed {
            // The number was matched on the device; the binding code is not needed again.
            push::Redemption::Accepted => VerifyOutcome::Accepted {
                authenticator_id: format!("push|{oob_code}"),
                confirmed: false,
                new_recovery_codes: None,
            },
            // Auth0's answer while the user has not decided: the client polls again.
            push::Redemption::Pending => return Err(crate::Error::AuthorizationPending),
            push::Redemption::Rejected => VerifyOutcome::Rejected,
        })
    }
}

/// Seals the device factor's identity key with the server's master key.
struct MasterKeySealer(AppState);

/// Binds the sealed blob to its purpose.
use crate::store::IDENTITY_CONTEXT;

impl crate::device::Sealer for MasterKeySealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.0
            .key()
            .seal(plaintext, IDENTITY_CONTEXT)
            .map_err(|_| DeviceError::Crypto)
    }
    fn open(&self, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        self.0
            .key()
            .open(sealed, IDENTITY_CONTEXT)
            .map_err(|_| DeviceError::Crypto)
    }
}

/// Builds the device factor beside `app`: its tables in the server's database (`store`), the
/// server's clock, [`ServerDirectory`] for users; installs it as the `mfa-oob` verifier.
pub fn install(
    app: AppState,
    config: crate::device::DeviceConfig,
    store: Arc<dyn crate::device::DeviceStore>,
    clock: Arc<dyn Clock>,
) -> Result<AppState> {
    let directory = Arc::new(ServerDirectory::new(app.clone()));
    let sealer = MasterKeySealer(app.clone());
    let device = DeviceState::new_sealed(config, store, directory, clock, &sealer)?;
    Ok(app.with_oob(Arc::new(device.clone())).with_device(device))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tessera_core::device::wire::PushState;
    use tessera_core::FixedClock;

    use super::*;
    use crate::device::store::{PushDecision, PushRecord};

    #[test]
    fn an_approved_push_completes_the_oob_grant_once() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config {
            database: crate::config::DatabaseConfig::sqlite(dir.path().join("server.db")),
            key_file: Some(dir.path().join("master.key")),
            ..crate::Config::default()
        };
        let (app, _) = crate::open(config, Arc::new(FixedClock(1_000))).unwrap();
        let device = app.device().unwrap().clone();
        let store = device.store().clone();
        store
            .insert_push(&PushRecord {
                transaction_id: "tx1".into(),
                user_id: "usr_a".into(),
                nonce: "n".into(),
                number: 42,
                number_choices: vec![],
                context: Default::default(),
                device_networks: Default::default(),
                created_at: 1_000,
                expires_at: 1_100,
                state: PushState::Pending,
                device_id: None,
                reason: None,
            })
            .unwrap();
        assert!(matches!(
            device.verify("usr_a", "tx1", None, 1_000),
            Err(crate::Error::AuthorizationPending)
        ));
        assert!(store
            .decide_push(&PushDecision {
                transaction_id: "tx1",
                state: PushState::Approved,
                device_id: Some("dev"),
                reason: "approved",
                pause_until: None,
                now: 1_000,
            })
            .unwrap());
        assert_eq!(
            device.verify("usr_b", "tx1", None, 1_000).unwrap(),
            VerifyOutcome::Rejected,
            "another user's transaction"
        );
        assert!(matches!(
            device.verify("usr_a", "tx1", None, 1_000).unwrap(),
            VerifyOutcome::Accepted { .. }
        ));
        assert_eq!(
            device.verify("usr_a", "tx1", None, 1_000).unwrap(),
            VerifyOutcome::Rejected,
            "a second mfa_token cannot reuse the approval"
        );
    }
}
