//! tessera-desktop's integration tests: every command through Tauri's mock runtime (the same
//! IPC path the UI takes, without a display), against real vault files, the real OS keyring
//! (Secret Service under `scripts/with-session.sh`), a real tessera-server on 127.0.0.1, and
//! `oathtool`/`qrencode` as independent implementations.
// Test helpers outside #[test] functions may unwrap too: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod it;
