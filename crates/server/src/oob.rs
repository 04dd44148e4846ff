//! The extension point for out-of-band factors (push approval with a device key).
//!
//! The device-factor work implements [`OobVerifier`] and installs it with
//! [`crate::AppState::with_oob`]; until then the `mfa-oob` grant answers
//! `unsupported_grant_type`. Enrollment of an oob authenticator should create its OTP twin with
//! the same `pair_id` (A0-4) through [`crate::store::Store::create_authenticator`].

use crate::error::Result;
use crate::model::VerifyOutcome;

/// Checks an out-of-band answer for the `http://auth0.com/oauth/grant-type/mfa-oob` grant.
pub trait OobVerifier: Send + Sync + 'static {
    /// Whether `oob_code` (and the optional `binding_code`) completes MFA for `user_id` at
    /// `now`. Must count failures and audit like [`crate::store::Store::verify_otp`].
    fn verify(
        &self,
        user_id: &str,
        oob_code: &str,
        binding_code: Option<&str>,
        now: u64,
    ) -> Result<VerifyOutcome>;
}
