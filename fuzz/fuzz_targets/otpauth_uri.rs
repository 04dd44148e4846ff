#![no_main]
//! Any text: `uri::parse` returns an account or an error, never panics; a parsed account
//! re-emits to a URI that parses to the same account.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(account) = tessera_core::uri::parse(text) {
            let again = tessera_core::uri::parse(&tessera_core::uri::to_uri(&account));
            assert_eq!(again.ok(), Some(account));
        }
    }
});
