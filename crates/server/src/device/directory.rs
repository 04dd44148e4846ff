//! What the device factor asks of the rest of the server: users, their password and codes,
//! relying-party tokens, and the paired OTP authenticator (A0-4).
//!
//! The server implements [`Directory`] over its own store
//! ([`ServerDirectory`](crate::device::server_directory::ServerDirectory)).

use crate::device::error::Result;

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
