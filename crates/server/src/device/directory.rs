//! What the device factor asks of the rest of the server: users, their password and codes,
//! relying-party tokens, and the paired OTP authenticator (A0-4).
//!
//! The server implements [`Directory`] over its own store; [`MemoryDirectory`] is a small
//! in-memory one for tests and demos.

use std::collections::HashMap;
use std::sync::RwLock;

use subtle::ConstantTimeEq;
use tessera_core::{Algorithm, Secret};

use crate::device::error::{DeviceError, Result};

/// Users and credentials as the device factor needs them. Methods may block.
pub trait Directory: Send + Sync + 'static {
    /// The user id named by `user` (an id or a username).
    fn resolve_user(&self, user: &str) -> Result<Option<String>>;
    /// The username of a user id, for display.
    fn username(&self, user_id: &str) -> Result<Option<String>>;
    /// Checks a username and password (first factor of the sample sign-in page); the user id on
    /// success. Must count failures like the server's password grant.
    fn check_password(&self, username: &str, password: &str, now: u64) -> Result<Option<String>>;
    /// Checks a TOTP code or a recovery code of the user (sample sign-in page).
    fn check_code(&self, user_id: &str, code: &str, now: u64) -> Result<bool>;
    /// Whether `token` is a valid API token carrying `scope` (`push:create`, `devices:manage`).
    fn check_token(&self, token: &str, scope: &str, now: u64) -> Result<bool>;
    /// A device was enrolled: create its paired OTP authenticator and return its otpauth URI.
    fn device_enrolled(
        &self,
        _user_id: &str,
        _device_id: &str,
        _name: &str,
        _now: u64,
    ) -> Result<Option<String>> {
        Ok(None)
    }
    /// Whether the device's authenticator still exists on the user's side (the user or an admin
    /// may delete the paired OTP authenticator, which deletes the push one with it: A0-4).
    fn device_active(&self, _user_id: &str, _device_id: &str) -> Result<bool> {
        Ok(true)
    }
    /// A device was removed: remove its paired OTP authenticator.
    fn device_removed(&self, _user_id: &str, _device_id: &str, _now: u64) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct MemUser {
    id: String,
    password: String,
    totp: Option<Vec<u8>>,
    recovery: Vec<String>,
}

/// An in-memory [`Directory`] (tests, demos, the benchmark): users with clear-text passwords,
/// optional TOTP secrets and recovery codes, and API tokens that carry every scope.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    users: RwLock<HashMap<String, MemUser>>,
    tokens: RwLock<Vec<String>>,
    paired: RwLock<HashMap<String, String>>,
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn poisoned() -> DeviceError {
    DeviceError::Internal("directory lock poisoned".into())
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user; returns its id (`usr_<username>`).
    pub fn add_user(&self, username: &str, password: &str) -> Result<String> {
        let id = format!("usr_{username}");
        self.users.write().map_err(|_| poisoned())?.insert(
            username.to_owned(),
            MemUser {
                id: id.clone(),
                password: password.to_owned(),
                totp: None,
                recovery: Vec::new(),
            },
        );
        Ok(id)
    }

    /// Gives a user a TOTP secret (SHA-1, 6 digits, 30 s) and recovery codes.
    pub fn set_codes(&self, username: &str, totp: &Secret, recovery: &[&str]) -> Result<()> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let u = users
            .get_mut(username)
            .ok_or(DeviceError::NotFound("user"))?;
        u.totp = Some(totp.as_bytes().to_vec());
        u.recovery = recovery.iter().map(|s| (*s).to_owned()).collect();
        Ok(())
    }

    /// Adds an API token (all scopes).
    pub fn add_token(&self, token: &str) -> Result<()> {
        self.tokens
            .write()
            .map_err(|_| poisoned())?
            .push(token.to_owned());
        Ok(())
    }

    /// The otpauth URI paired with a device, if it is still enrolled.
    pub fn paired_otp(&self, device_id: &str) -> Option<String> {
        self.paired.read().ok()?.get(device_id).cloned()
    }
}

impl Directory for MemoryDirectory {
    fn resolve_user(&self, user: &str) -> Result<Option<String>> {
        let users = self.users.read().map_err(|_| poisoned())?;
        Ok(users
            .get(user)
            .map(|u| u.id.clone())
            .or_else(|| users.values().find(|u| u.id == user).map(|u| u.id.clone())))
    }

    fn username(&self, user_id: &str) -> Result<Option<String>> {
        let users = self.users.read().map_err(|_| poisoned())?;
        Ok(users
            .iter()
            .find(|(_, u)| u.id == user_id)
            .map(|(name, _)| name.clone()))
    }

    fn check_password(&self, username: &str, password: &str, _now: u64) -> Result<Option<String>> {
        let users = self.users.read().map_err(|_| poisoned())?;
        Ok(users
            .get(username)
            .filter(|u| ct_eq(&u.password, password))
            .map(|u| u.id.clone()))
    }

    fn check_code(&self, user_id: &str, code: &str, now: u64) -> Result<bool> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let Some(u) = users.values_mut().find(|u| u.id == user_id) else {
            return Ok(false);
        };
        if let Some(secret) = &u.totp {
            let check = tessera_core::otp::TotpCheck {
                unix_secs: now,
                period: 30,
                digits: 6,
                algorithm: Algorithm::Sha1,
                skew: 1,
                after: None,
            };
            if tessera_core::otp::verify_totp(secret, code, &check)?.is_some() {
                return Ok(true);
            }
        }
        let hit = u.recovery.iter().position(|r| ct_eq(r, code));
        if let Some(pos) = hit {
            u.recovery.remove(pos);
            return Ok(true);
        }
        Ok(false)
    }

    fn check_token(&self, token: &str, _scope: &str, _now: u64) -> Result<bool> {
        let tokens = self.tokens.read().map_err(|_| poisoned())?;
        // Check every token without an early exit.
        Ok(tokens.iter().fold(false, |hit, t| hit | ct_eq(t, token)))
    }

    fn device_enrolled(
        &self,
        _user_id: &str,
        device_id: &str,
        name: &str,
        _now: u64,
    ) -> Result<Option<String>> {
        let secret = Secret::from_bytes(crate::device::random_bytes(20)?)?;
        let label: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let uri = format!(
            "otpauth://totp/Tessera:{label}?secret={}&issuer=Tessera",
            secret.to_base32()
        );
        self.paired
            .write()
            .map_err(|_| poisoned())?
            .insert(device_id.to_owned(), uri.clone());
        Ok(Some(uri))
    }

    fn device_removed(&self, _user_id: &str, device_id: &str, _now: u64) -> Result<()> {
        self.paired
            .write()
            .map_err(|_| poisoned())?
            .remove(device_id);
        Ok(())
    }
}
