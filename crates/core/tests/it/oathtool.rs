//! Our codes against `oathtool` (an independent implementation, Debian package `oathtool`).

use std::process::Command;

use proptest::prelude::*;
use tessera_core::{otp, Account, Algorithm, OtpType, Secret};

fn oathtool(args: &[&str]) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .expect("oathtool is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn alg_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha1 => "sha1",
        Algorithm::Sha256 => "sha256",
        Algorithm::Sha512 => "sha512",
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn totp_matches_oathtool(
        secret in proptest::collection::vec(any::<u8>(), 10..64),
        // Up to the year 2500: well past 2038 and 32-bit time.
        t in 0u64..16_725_225_600,
        digits in 6u8..=8,
        period in prop_oneof![Just(30u32), Just(60), 1u32..=600],
        alg in algorithm(),
    ) {
        let s = Secret::from_bytes(secret.clone()).unwrap();
        let mut a = Account::totp("X", "y", s);
        a.algorithm = alg;
        a.digits = digits;
        a.period = period;
        let ours = a.code_at(t).unwrap().value;
        let hex = data_encoding::HEXLOWER.encode(&secret);
        let theirs = oathtool(&[
            &format!("--totp={}", alg_name(alg)),
            "-d", &digits.to_string(),
            "-s", &format!("{period}s"),
            "-N", &format!("@{t}"),
            &hex,
        ]);
        prop_assert_eq!(ours, theirs);
    }

    #[test]
    fn hotp_matches_oathtool(
        secret in proptest::collection::vec(any::<u8>(), 10..64),
        counter in prop_oneof![0u64..1000, any::<u64>()],
        digits in 6u8..=8,
    ) {
        let ours = otp::hotp(&secret, counter, digits, Algorithm::Sha1).unwrap();
        let hex = data_encoding::HEXLOWER.encode(&secret);
        let theirs = oathtool(&["-d", &digits.to_string(), "-c", &counter.to_string(), &hex]);
        prop_assert_eq!(ours, theirs);
    }
}

#[test]
fn hotp_account_uses_its_counter() {
    let s = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let mut a = Account::totp("X", "y", s);
    a.otp_type = OtpType::Hotp;
    a.counter = 41;
    let theirs = oathtool(&[
        "-d",
        "6",
        "-c",
        "41",
        "3132333435363738393031323334353637383930",
    ]);
    assert_eq!(a.code_at(0).unwrap().value, theirs);
}
