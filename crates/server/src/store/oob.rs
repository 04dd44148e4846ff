//! Codes sent by email, SMS and voice (docs/factors.md): what the store keeps of one, and the
//! answers of its operations. The code itself is sealed under the master key (its context is
//! the row's id hash); a magic link is stored only as the SHA-256 of its token, which is also
//! the row's key.

use crate::error::Result;

/// One code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OobCodeRow {
    /// SHA-256 of the magic link's token (256 random bits): the row's key.
    pub id_hash: [u8; 32],
    /// Whose it is.
    pub user_id: String,
    /// The email or phone authenticator it was sent through (deleting it voids the code).
    pub authenticator_id: String,
    /// `email`, `sms` or `voice`.
    pub channel: String,
    /// `signin`, `reset`, `unlock` or `verify`.
    pub purpose: String,
    /// SHA-256 of the address or number it was sent to: a code sent to an address the user
    /// no longer has is void.
    pub destination_hash: [u8; 32],
    /// SHA-256 of the sign-in flow that asked, if any.
    pub flow_hash: Option<[u8; 32]>,
    /// That flow's id, sealed (a magic link opened in the same browser continues it).
    pub flow_sealed: Option<Vec<u8>>,
    /// The code, sealed.
    pub code_sealed: Vec<u8>,
    /// Wrong codes still allowed before it is void.
    pub attempts_left: u32,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Unix seconds of its use.
    pub used_at: Option<u64>,
    /// Replaced by a newer code (a resend).
    pub voided: bool,
}

/// How many codes may be sent in a window: per user and per destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// The window, seconds.
    pub window_secs: u64,
    /// Codes per user in the window.
    pub per_user: u32,
    /// Codes per address or number in the window.
    pub per_destination: u32,
}

/// What storing a new code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// Stored; earlier live codes of the user for the same purpose are void.
    Stored,
    /// A send limit is reached: nothing stored; the next send is possible at this time.
    Limited {
        /// Unix seconds.
        retry_at: u64,
    },
}

/// Which code a redemption is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OobLookup {
    /// The code of a magic link (by the SHA-256 of its token).
    Link([u8; 32]),
    /// The newest live code of the user and purpose and flow given (at least the user or the
    /// flow): a typed code.
    Latest {
        /// The user.
        user_id: Option<String>,
        /// The purpose.
        purpose: Option<String>,
        /// The flow (or recovery) that asked.
        flow_hash: Option<[u8; 32]>,
    },
}

/// Compares a typed code with the stored one (opens the seal); `true` when it matches.
pub type OobCheck = Box<dyn FnOnce(&OobCodeRow) -> Result<bool> + Send>;

/// What a redemption came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OobRedeemed {
    /// Right: the code is used up.
    Accepted(Box<OobCodeRow>),
    /// Wrong: counted on the code and on the user's failure counter.
    Rejected {
        /// Wrong codes still allowed before the code is void.
        attempts_left: u32,
    },
    /// Past its lifetime, or out of attempts.
    Expired,
    /// No such code, used, replaced by a newer one, or sent to an address the user no longer
    /// has.
    Invalid,
    /// The user's failure counter is in a delay or locked: not evaluated.
    Locked,
}

/// Codes older than this (or than the send window, whichever is longer) are deleted.
pub const KEEP_SECS: u64 = 86_400;

/// Whether `row` is live at `now`, and why not.
pub fn liveness(row: &OobCodeRow, now: u64) -> std::result::Result<(), OobRedeemed> {
    if row.used_at.is_some() || row.voided {
        return Err(OobRedeemed::Invalid);
    }
    if now >= row.expires_at || row.attempts_left == 0 {
        return Err(OobRedeemed::Expired);
    }
    Ok(())
}

/// Where the send limit leaves a new send: `None` when allowed, else when it will be. `times`
/// are the creation times of the sends counted (any order).
pub fn limit_reached(times: &[u64], max: u32, window_secs: u64) -> Option<u64> {
    if times.len() < usize::try_from(max).unwrap_or(usize::MAX) {
        return None;
    }
    let mut t = times.to_vec();
    t.sort_unstable();
    // The send that must leave the window before another is allowed.
    let k = t.len() - usize::try_from(max).unwrap_or(usize::MAX).min(t.len());
    t.get(k).map(|first| first.saturating_add(window_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_sends_in_the_window_and_says_when_the_next_is_allowed() {
        assert_eq!(limit_reached(&[], 5, 900), None);
        assert_eq!(limit_reached(&[10, 20, 30, 40], 5, 900), None);
        assert_eq!(limit_reached(&[50, 10, 30, 20, 40], 5, 900), Some(910));
        assert_eq!(limit_reached(&[1, 2, 3], 2, 100), Some(102));
    }
}
