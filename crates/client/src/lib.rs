//! tessera-client: the device side of Tessera's device factor (docs/protocol.md) over HTTP —
//! enroll from a `tessera://enroll` link (pinning the server's origin and key), receive push
//! challenges (server-sent events with reconnect, polling fallback), answer them with the device
//! key, and approve QR logins. Used by the CLI's device simulator and the desktop app;
//! [`VirtualDevice`] lets an application's own tests play the device.
//!
//! Depends on tessera-core only (keys, signed messages, wire types); storage of enrollments is
//! the caller's, through [`KeyStore`].

pub mod device;
pub mod enrollment;
pub mod error;
pub mod virtual_device;

pub use device::{Device, DeviceEvent, EnrollOptions, SubscribeOptions, Subscription};
pub use enrollment::{Enrollment, KeyStore, MemoryKeyStore};
pub use error::{Error, Result};
pub use virtual_device::VirtualDevice;
