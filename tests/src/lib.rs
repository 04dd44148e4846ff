//! tessera-e2e: the one harness that starts tessera-server for the end-to-end tests (`tests/`)
//! and the push round-trip benchmark (`benches/`). It starts the production wiring, as the
//! `tessera-server` binary does, never a test double of it.

pub mod instances;
pub mod server;

pub use server::{code, Browser, Rp, Server, START};
