//! tessera-core: Tessera's pure domain.
//!
//! It owns one-time-password generation (HOTP, TOTP, Steam Guard), the `otpauth://` Key URI
//! format, Google Authenticator's `otpauth-migration://` payload, the [`Account`] type every
//! other crate stores and shows, and the import/export formats of other authenticators.
//!
//! It must not depend on anything of ours, nor on I/O frameworks (tokio, axum, tauri, reqwest,
//! rusqlite): everything here is a pure function of its inputs, and time is always a parameter.

pub mod account;
pub mod backup;
pub mod clock;
pub mod crypto;
pub mod device;
pub mod error;
pub mod export;
pub mod import;
pub mod migration;
pub mod notice;
pub mod otp;
pub mod percent;
pub mod qr;
pub mod secret;
pub mod testing;
pub mod uri;

pub use account::{Account, OtpType};
pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use otp::Algorithm;
pub use secret::Secret;
