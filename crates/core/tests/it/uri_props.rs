//! Properties: emitting a valid account as a Key URI and parsing it gives the account back;
//! a malformed percent-escape, an encoded control character or invalid UTF-8 inserted
//! anywhere in such a URI, or a raw control character inside it, makes it an error.

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

    #[test]
    fn a_bad_escape_anywhere_is_refused(
        a in account(),
        at in any::<prop::sample::Index>(),
        bad in prop_oneof![
            // Each is wrong whatever follows it: a lone `%` or `%4` could join the text after
            // it into a good escape (`%` + `7A` is `z`), so those are in the unit tests.
            Just("%G1"), Just("%4G"), Just("%%"), Just("%-1"), Just("%+1"),
            Just("%00"), Just("%0A"), Just("%0D%0A"), Just("%09"), Just("%1B"), Just("%7F"),
            Just("%C2%80"), Just("%C2%9B"), Just("%FF"), Just("%C3%28"), Just("%ED%A0%80"),
        ],
    ) {
        prop_assume!(a.validate().is_ok());
        let mut uri = to_uri(&a);
        // The URI is ASCII (everything else is escaped), so every index is a char boundary.
        uri.insert_str(at.index(uri.len() + 1), bad);
        prop_assert!(parse(&uri).is_err(), "{} was accepted", uri);
    }

    #[test]
    fn a_raw_control_character_inside_is_refused(
        a in account(),
        at in any::<prop::sample::Index>(),
        c in prop_oneof![
            Just('\0'), Just('\t'), Just('\n'), Just('\r'), Just('\u{1b}'), Just('\u{7f}'),
            Just('\u{85}'), Just('\u{9b}'),
        ],
    ) {
        prop_assume!(a.validate().is_ok());
        let mut uri = to_uri(&a);
        // Inside, not at either end: surrounding whitespace is trimmed, as pasted text has it.
        uri.insert(1 + at.index(uri.len() - 1), c);
        prop_assert!(parse(&uri).is_err(), "{:?} was accepted", uri);
    }
}
