//! Property: Google migration encode → decode gives back every account it can carry.

use proptest::prelude::*;
use tessera_core::migration::{check_exportable, decode_batch, encode, MAX_BATCH_URI_CHARS};

use super::uri_props::account;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn encode_then_decode(accounts in proptest::collection::vec(account(), 0..40)) {
        let carried: Vec<_> = accounts
            .into_iter()
            .filter(|a| a.validate().is_ok() && check_exportable(a).is_ok())
            .collect();
        let uris = encode(&carried).unwrap();
        let mut back = Vec::new();
        for u in &uris {
            let b = decode_batch(u).unwrap();
            prop_assert!(b.skipped.is_empty());
            prop_assert!(u.len() <= MAX_BATCH_URI_CHARS || b.accounts.len() == 1);
            back.extend(b.accounts);
        }
        prop_assert_eq!(back, carried);
    }

    #[test]
    fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let _ = decode_batch(&format!("otpauth-migration://offline?data={b64}"));
    }
}
