//! Exporters: accounts to formats other apps (and Tessera) read. Pure functions returning
//! bytes or text; the caller writes the files.
//!
//! # Public API
//! - [`aegis::plain`]`(accounts)` / [`aegis::encrypted`]`(accounts, password)`: Aegis vault
//!   JSON (content version 3, groups as UUIDs); encrypted with one password slot (scrypt
//!   N = 2^15, r = 8, p = 1) and AES-256-GCM, as Aegis' `docs/vault.md` documents, so Aegis
//!   imports it. [`aegis::encrypted_with`] takes other scrypt parameters.
//! - [`uri_list::to_text`]`(accounts)`: one `otpauth://` Key URI per line.
//! - [`google::export`]`(accounts)` → [`google::GoogleExport`]: Google Authenticator
//!   `otpauth-migration://` URIs, each as a QR code PNG, plus a printable self-contained HTML
//!   page ([`google::GoogleExport::html`]); accounts Google cannot carry are listed in
//!   `skipped`, never dropped silently.
//! - Tessera's encrypted backup: [`crate::backup::seal`] (and `open`, `test_restore`).
//!
//! Errors are [`crate::import::InteropError`].

pub mod aegis;
pub mod google;
pub mod uri_list;

pub use crate::import::{InteropError, Result, Skipped};
