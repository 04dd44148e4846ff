#![no_main]
//! Any bytes as a migration payload (base64-wrapped) and any text as a migration URI.
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let _ = tessera_core::migration::decode_batch(&format!("otpauth-migration://offline?data={b64}"));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tessera_core::migration::decode_batch(text);
    }
});
