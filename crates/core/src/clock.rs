//! The one place production code reads the wall clock.
//!
//! Everything else takes time as a parameter (`code_at(unix_secs)`), so tests can use a
//! [`FixedClock`] and the clippy `disallowed-methods` lint keeps `SystemTime::now` out of the
//! rest of the workspace.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_unix(&self) -> u64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the single sanctioned read of the wall clock
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            // A clock set before 1970 is a broken machine; 0 yields codes that simply fail.
            .unwrap_or(0)
    }
}

/// A clock that always answers the same instant (tests, `--at`).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

impl FixedClock {
    /// A clock stopped at `unix_secs`.
    pub fn new(unix_secs: u64) -> FixedClock {
        FixedClock(unix_secs)
    }
}

/// A clock tests move by hand (shared through an `Arc`): expiry, lockout windows, restarts.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    /// A clock at `unix_secs`.
    pub fn new(unix_secs: u64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicU64::new(unix_secs))
    }

    /// Moves the clock to `unix_secs`.
    pub fn set(&self, unix_secs: u64) {
        self.0.store(unix_secs, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
