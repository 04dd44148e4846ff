//! tessera-server HTTP tests: a real server on 127.0.0.1:0 with a real SQLite file, driven
//! with reqwest; codes from `oathtool`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod it;
