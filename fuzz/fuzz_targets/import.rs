#![no_main]
//! Any file through format detection and import (backups with a fixed password).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tessera_core::import::import(data, None, Some("fuzz"));
});
