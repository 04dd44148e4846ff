//! The ID token's claims, and what `amr` and `acr` say about the methods a user proved.
//!
//! `amr` values are RFC 8176's: `pwd` (password), `otp` (TOTP, recovery codes, email codes:
//! codes the user types from something they hold), `sms`, `tel` (a code read out by a voice
//! call), `hwk`/`swk` (a push, QR login or passkey: proof of a key held in hardware or in
//! software, as the authenticator was enrolled), `user` (that key was unlocked by a PIN or a
//! biometric), and `mfa` when the proofs span two or more factor kinds.
//!
//! Factor kinds (NIST SP 800-63B): something known (the password), something held (every
//! other method: an authenticator app, a recovery-code sheet, a phone, a device or passkey
//! key), and the user verification that unlocked a held key (a PIN known or a biometric: the
//! second kind of a multi-factor cryptographic authenticator). `acr` is
//! [`ACR_MFA`] with two kinds or more, else [`ACR_SFA`].

use serde::Serialize;

use crate::policy::{Method, Satisfied};

/// `acr` of a sign-in whose proofs span two or more factor kinds.
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
/// `acr` of a sign-in with one factor kind (a password alone, or one held factor alone).
pub const ACR_SFA: &str = "urn:tessera:acr:sfa";

/// The `amr` values of one method, as its authenticator proved it.
fn method_amr(s: &Satisfied) -> Vec<&'static str> {
    match s.method {
        Method::Password => vec!["pwd"],
        Method::Totp | Method::RecoveryCode | Method::Email => vec!["otp"],
        Method::Sms => vec!["sms"],
        Method::Voice => vec!["tel"],
        Method::Push | Method::QrLogin | Method::Passkey => {
            let key = if s.traits.hardware_protected {
                "hwk"
            } else {
                "swk"
            };
            if s.traits.user_verification {
                vec![key, "user"]
            } else {
                vec![key]
            }
        }
    }
}

/// How many factor kinds the proofs span (0–3).
pub fn factor_kinds(methods: &[Satisfied]) -> usize {
    let known = methods.iter().any(|s| s.method == Method::Password);
    let held = methods.iter().any(|s| s.method.is_second_factor());
    let unlocked = methods.iter().any(|s| {
        matches!(s.method, Method::Push | Method::QrLogin | Method::Passkey)
            && s.traits.user_verification
    });
    usize::from(known) + usize::from(held) + usize::from(unlocked)
}

/// The `amr` claim: every value once, sorted, with `mfa` when two factor kinds or more.
pub fn amr(methods: &[Satisfied]) -> Vec<String> {
    let mut out: Vec<&'static str> = methods.iter().flat_map(method_amr).collect();
    if factor_kinds(methods) >= 2 {
        out.push("mfa");
    }
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(str::to_owned).collect()
}

/// The `acr` claim.
pub fn acr(methods: &[Satisfied]) -> &'static str {
    if factor_kinds(methods) >= 2 {
        ACR_MFA
    } else {
        ACR_SFA
    }
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, Serialize)]
pub struct IdToken<'a> {
    /// The issuer (the server's public origin).
    pub iss: &'a str,
    /// The user id.
    pub sub: &'a str,
    /// The client id.
    pub aud: &'a str,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// When the user last authenticated actively, unix seconds.
    pub auth_time: u64,
    /// The authorization request's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    /// [`ACR_MFA`] or [`ACR_SFA`].
    pub acr: &'a str,
    /// RFC 8176 values.
    pub amr: &'a [String],
    /// The sign-in session.
    pub sid: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Traits;

    fn proof(method: Method, traits: Traits) -> Satisfied {
        Satisfied {
            method,
            traits,
            at: 1,
        }
    }

    fn plain(method: Method) -> Satisfied {
        proof(method, Traits::INTERACTION)
    }

    const DEVICE_UV: Traits = Traits {
        phishing_resistant: false,
        hardware_protected: true,
        user_interaction: true,
        user_verification: true,
    };

    #[test]
    fn each_method_maps_to_its_rfc_8176_values() {
        let table: &[(Vec<Satisfied>, &[&str], &str)] = &[
            (vec![plain(Method::Password)], &["pwd"], ACR_SFA),
            (
                vec![plain(Method::Password), plain(Method::Totp)],
                &["mfa", "otp", "pwd"],
                ACR_MFA,
            ),
            (
                vec![plain(Method::Password), plain(Method::RecoveryCode)],
                &["mfa", "otp", "pwd"],
                ACR_MFA,
            ),
            (vec![plain(Method::Totp)], &["otp"], ACR_SFA),
            (
                vec![plain(Method::Password), plain(Method::Sms)],
                &["mfa", "pwd", "sms"],
                ACR_MFA,
            ),
            (
                vec![plain(Method::Password), plain(Method::Voice)],
                &["mfa", "pwd", "tel"],
                ACR_MFA,
            ),
            (
                vec![plain(Method::Password), plain(Method::Email)],
                &["mfa", "otp", "pwd"],
                ACR_MFA,
            ),
            // A push approved on a software key, no PIN: one held factor.
            (vec![plain(Method::Push)], &["swk"], ACR_SFA),
            // A passkey in hardware unlocked by a biometric: two kinds by itself.
            (
                vec![proof(Method::Passkey, DEVICE_UV)],
                &["hwk", "mfa", "user"],
                ACR_MFA,
            ),
            (
                vec![plain(Method::Password), proof(Method::QrLogin, DEVICE_UV)],
                &["hwk", "mfa", "pwd", "user"],
                ACR_MFA,
            ),
            // Two held factors are still one kind.
            (
                vec![plain(Method::Totp), plain(Method::Push)],
                &["otp", "swk"],
                ACR_SFA,
            ),
            // The same method twice (this sign-in and the session) counts once.
            (
                vec![plain(Method::Password), plain(Method::Password)],
                &["pwd"],
                ACR_SFA,
            ),
        ];
        for (methods, want_amr, want_acr) in table {
            let got = amr(methods);
            let names: Vec<&str> = methods.iter().map(|m| m.method.as_str()).collect();
            assert_eq!(got, *want_amr, "amr of {names:?}");
            assert_eq!(acr(methods), *want_acr, "acr of {names:?}");
        }
    }
}
