//! Property: emitting a valid account as a Key URI and parsing it gives the account back.

use proptest::prelude::*;
use tessera_core::uri::{parse, parse_with_warnings, to_uri};
use tessera_core::{Account, Algorithm, OtpType, Secret};

/// Labels as people write them: letters, digits, punctuation, `:` `+` `@` `%` `&` `=`, spaces
/// inside (not at the ends: the format trims those), and non-ASCII.
fn label() -> impl Strategy<Value = String> {
    "[A-Za-z0-9@.+:%&=?#/é名_-]([A-Za-z0-9 @.+:%&=?#/é名_-]{0,30}[A-Za-z0-9@.+:%&=?#/é名_-])?"
}

pub fn account() -> impl Strategy<Value = Account> {
    (
        prop_oneof![Just(String::new()), label()],
        label(),
        proptest::collection::vec(any::<u8>(), 1..80),
        prop_oneof![
            Just(OtpType::Totp),
            Just(OtpType::Hotp),
            Just(OtpType::Steam)
        ],
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ],
        6u8..=10,
        1u32..=86_400,
        any::<u64>(),
    )
        .prop_map(|(issuer, name, secret, t, alg, digits, period, counter)| {
            let mut a = Account::totp(issuer, name, Secret::from_bytes(secret).unwrap());
            a.otp_type = t;
            match t {
                OtpType::Steam => a.digits = 5,
                _ => {
                    a.algorithm = alg;
                    a.digits = digits;
                }
            }
            if t == OtpType::Hotp {
                a.counter = counter;
            } else {
                a.period = period;
            }
            a
        })
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(a in account()) {
        prop_assume!(a.validate().is_ok());
        let uri = to_uri(&a);
        let back = parse(&uri).unwrap();
        prop_assert_eq!(back, a);
    }

    #[test]
    fn parse_never_panics(s in "otpauth://(totp|hotp|steam)/[ -~]{0,60}") {
        let _ = parse_with_warnings(&s);
    }
}
