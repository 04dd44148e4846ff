//! `totp-rs`, the brief's TOTP library, as a second opinion: its codes against our HOTP over
//! the time step, and its `otpauth://` parser and emitter against ours, both ways
//! (docs/decisions/0001-totp-rs.md).

use proptest::prelude::*;
use tessera_core::uri::{parse, to_uri};
use tessera_core::{otp, Account, Algorithm, OtpType, Secret};

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn theirs(a: Algorithm) -> totp_rs::Algorithm {
    match a {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    }
}

/// Labels `totp-rs` can carry (it refuses a `:` inside an issuer or a name).
fn label() -> impl Strategy<Value = String> {
    "[A-Za-z0-9@._+-]([A-Za-z0-9 @._+-]{0,20}[A-Za-z0-9@._+-])?"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// `otp::totp` (6–8 digits from totp-rs) equals our own HOTP of the time step, and
    /// `verify_totp` accepts it at exactly that step.
    #[test]
    fn totp_rs_codes_equal_our_hotp_of_the_step(
        secret in proptest::collection::vec(any::<u8>(), 1..80),
        t in 0u64..16_725_225_600,
        digits in 6u8..=8,
        period in prop_oneof![Just(30u32), Just(60), 1u32..=86_400],
        alg in algorithm(),
    ) {
        let code = otp::totp(&secret, t, period, digits, alg).unwrap();
        let step = t / u64::from(period);
        prop_assert_eq!(&code, &otp::hotp(&secret, step, digits, alg).unwrap());
        let check = otp::TotpCheck { unix_secs: t, period, digits, algorithm: alg, skew: 0, after: None };
        prop_assert_eq!(otp::verify_totp(&secret, &code, &check).unwrap(), Some(step));
    }

    /// A URI we write, read by totp-rs: the same parameters, secret, labels and code.
    #[test]
    fn totp_rs_reads_our_uris(
        issuer in label(),
        name in label(),
        secret in proptest::collection::vec(any::<u8>(), 16..64),
        digits in 6u8..=8,
        period in prop_oneof![Just(30u32), Just(60), 1u32..=3600],
        alg in algorithm(),
        t in 0u64..4_102_444_800,
    ) {
        let mut a = Account::totp(issuer.clone(), name.clone(), Secret::from_bytes(secret.clone()).unwrap());
        a.digits = digits;
        a.period = period;
        a.algorithm = alg;
        let uri = to_uri(&a);
        let other = totp_rs::TOTP::from_url_unchecked(&uri)
            .map_err(|e| TestCaseError::fail(format!("totp-rs refused {uri}: {e:?}")))?;
        prop_assert_eq!(other.algorithm, theirs(alg));
        prop_assert_eq!(other.digits, usize::from(digits));
        prop_assert_eq!(other.step, u64::from(period));
        prop_assert_eq!(&other.secret, &secret);
        prop_assert_eq!(other.issuer.as_deref(), Some(issuer.as_str()));
        prop_assert_eq!(&other.account_name, &name);
        prop_assert_eq!(other.generate(t), a.code_at(t).unwrap().value);
    }

    /// A URI totp-rs writes, read by us: the same account and code.
    #[test]
    fn we_read_totp_rs_uris(
        issuer in label(),
        name in label(),
        secret in proptest::collection::vec(any::<u8>(), 16..64),
        digits in 6u8..=8,
        period in prop_oneof![Just(30u64), Just(60), 1u64..=3600],
        alg in algorithm(),
        t in 0u64..4_102_444_800,
    ) {
        let other = totp_rs::TOTP::new_unchecked(
            theirs(alg), usize::from(digits), 1, period, secret.clone(), Some(issuer.clone()), name.clone(),
        );
        let uri = other.get_url();
        let a = parse(&uri).map_err(|e| TestCaseError::fail(format!("we refused {uri}: {e}")))?;
        prop_assert_eq!(a.otp_type, OtpType::Totp);
        prop_assert_eq!(a.algorithm, alg);
        prop_assert_eq!(u64::from(a.digits), digits as u64);
        prop_assert_eq!(u64::from(a.period), period);
        prop_assert_eq!(a.secret.as_bytes(), secret.as_slice());
        prop_assert_eq!(&a.issuer, &issuer);
        prop_assert_eq!(&a.name, &name);
        prop_assert_eq!(a.code_at(t).unwrap().value, other.generate(t));
    }
}

/// RFC 6238 Appendix B through the public API (codes now come from totp-rs).
#[test]
fn rfc6238_vectors_through_totp_rs() {
    let cases: &[(u64, Algorithm, &[u8], &str)] = &[
        (59, Algorithm::Sha1, b"12345678901234567890", "94287082"),
        (
            1_111_111_109,
            Algorithm::Sha256,
            b"12345678901234567890123456789012",
            "68084774",
        ),
        (
            20_000_000_000,
            Algorithm::Sha512,
            b"1234567890123456789012345678901234567890123456789012345678901234",
            "47863826",
        ),
    ];
    for (t, alg, seed, want) in cases {
        assert_eq!(
            otp::totp(seed, *t, 30, 8, *alg).unwrap(),
            *want,
            "T={t} {alg:?}"
        );
    }
}
