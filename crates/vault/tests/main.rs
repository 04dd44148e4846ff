//! tessera-vault integration tests against real SQLite files (and the real keyring when
//! `TESSERA_TEST_KEYRING=1`, as scripts/with-session.sh sets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod it;
