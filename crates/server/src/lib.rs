//! tessera-server: the verification server bundled with Tessera (being built).
//!
//! [`device`] is the device factor (docs/protocol.md): device enrollment, push approvals with
//! number matching, QR login and a sample sign-in page.

pub mod device;
