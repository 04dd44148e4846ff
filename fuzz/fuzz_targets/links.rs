#![no_main]
//! Any text as a `tessera://` enrollment or QR-login link and to the strict percent-decoder:
//! never a panic, and nothing decoded ever holds a control character.
use libfuzzer_sys::fuzz_target;
use tessera_core::device::{EnrollLink, QrLoginLink};
use tessera_core::percent::{self, Plus};

fn clean(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for plus in [Plus::Literal, Plus::Space] {
            if let Ok(s) = percent::decode(text, plus) {
                assert!(clean(&s));
            }
        }
        if let Ok(l) = EnrollLink::parse(text) {
            assert!(clean(&l.origin) && clean(&l.code) && clean(&l.server_key) && clean(&l.user));
        }
        if let Ok(l) = QrLoginLink::parse(text) {
            assert!(clean(&l.origin) && clean(&l.lsi) && clean(&l.server_key));
        }
    }
});
