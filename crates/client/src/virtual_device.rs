//! [`VirtualDevice`]: a device for tests — an application's own test suite enrolls it from an
//! enrollment link and has it approve, deny or report pushes, and approve QR logins.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::device::wire::{PushChallenge, PushStatus, QrLoginDetails};
use tessera_core::device::{Decision, EnrollLink, QrLoginLink};
use tessera_core::{Clock, SystemClock};
use tokio::sync::Mutex;

use crate::device::{Device, EnrollOptions, SubscribeOptions, Subscription};
use crate::enrollment::{Enrollment, KeyStore};
use crate::error::Result;

/// A simulated device holding its key in memory (or in a [`KeyStore`]).
///
/// ```no_run
/// # async fn demo(link: &str) -> tessera_client::Result<()> {
/// use std::time::Duration;
/// let device = tessera_client::VirtualDevice::enroll(link).await?;
/// let challenge = device.next_challenge(Duration::from_secs(5)).await?;
/// device.approve(&challenge, 42).await?; // the number the sign-in page shows
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct VirtualDevice {
    device: Device,
    subscription: Mutex<Option<Subscription>>,
}

impl VirtualDevice {
    /// Enrolls from a `tessera://enroll?…` link with a default name.
    pub async fn enroll(link: &str) -> Result<Self> {
        Self::enroll_with(
            link,
            &EnrollOptions {
                device_name: "Virtual device".into(),
                platform: "virtual".into(),
                ..EnrollOptions::default()
            },
            Arc::new(SystemClock),
        )
        .await
    }

    /// Enrolls with options and a clock.
    pub async fn enroll_with(
        link: &str,
        opts: &EnrollOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let link = EnrollLink::parse(link)?;
        Ok(Self::from_device(
            Device::enroll_with_clock(&link, opts, clock).await?,
        ))
    }

    /// Wraps an enrolled device.
    pub fn from_device(device: Device) -> Self {
        VirtualDevice {
            device,
            subscription: Mutex::new(None),
        }
    }

    /// Loads the enrollment `id` from `store`.
    pub fn load(store: &dyn KeyStore, id: &str) -> Result<Option<Self>> {
        store
            .load(id)?
            .map(|e: Enrollment| Ok(Self::from_device(Device::from_enrollment(e)?)))
            .transpose()
    }

    /// Saves the enrollment (private key included) to `store`.
    pub fn save(&self, store: &mut dyn KeyStore) -> Result<()> {
        store.save(self.device.enrollment())
    }

    /// The underlying device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Starts listening now (otherwise the first [`VirtualDevice::next_challenge`] does).
    pub async fn connect(&self) {
        let mut sub = self.subscription.lock().await;
        if sub.is_none() {
            *sub = Some(self.device.subscribe(SubscribeOptions::default()));
        }
    }

    /// Drops the connection (simulates going offline); the next call reconnects.
    pub async fn disconnect(&self) {
        *self.subscription.lock().await = None;
    }

    /// The next challenge pushed to this device.
    pub async fn next_challenge(&self, timeout: Duration) -> Result<PushChallenge> {
        self.connect().await;
        let mut sub = self.subscription.lock().await;
        match sub.as_mut() {
            Some(s) => s.next_challenge_within(timeout).await,
            None => Err(crate::Error::Timeout("a connection")),
        }
    }

    /// Approves with the number shown on the sign-in screen.
    pub async fn approve(&self, c: &PushChallenge, number: u32) -> Result<PushStatus> {
        self.device.answer(c, Decision::Approve, Some(number)).await
    }

    /// Denies.
    pub async fn deny(&self, c: &PushChallenge) -> Result<PushStatus> {
        self.device.answer(c, Decision::Deny, None).await
    }

    /// "This wasn't me".
    pub async fn not_me(&self, c: &PushChallenge) -> Result<PushStatus> {
        self.device.answer(c, Decision::NotMe, None).await
    }

    /// Answers a QR login shown as `link`; returns the requester details it approved.
    pub async fn qr_login(&self, link: &str, decision: Decision) -> Result<QrLoginDetails> {
        let link = QrLoginLink::parse(link)?;
        let details = self.device.qr_details(&link).await?;
        self.device.qr_answer(&details, decision).await?;
        Ok(details)
    }
}
