//! tessera-server's integration tests: real HTTP on 127.0.0.1:0, a real SQLite file, and
//! `oathtool` as the independent TOTP implementation.

// Helpers outside #[test] fns may panic too: a panic in a test is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod it;
