//! End-to-end tests: the server, the client (virtual devices) and browsers over real HTTP.
// Test helpers outside #[test] functions may unwrap too: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod it;
