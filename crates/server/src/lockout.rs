//! Failure counting per user and factor: growing delays, then a hard lock.
//!
//! The store evaluates [`gate`] and updates the counter in the same transaction as the code
//! check, so concurrent guesses are serialized: once `max_failures` is reached no code, right or
//! wrong, is evaluated until the lock ends (after `lock_secs`, or when an administrator unlocks).

use crate::config::LockoutConfig;
use crate::model::FailureRow;

/// What the counter allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Evaluate the attempt. `reset` when an expired lock must first be cleared.
    Open {
        /// The counter must be reset to zero before counting this attempt.
        reset: bool,
    },
    /// A delay is running; retry at `until`.
    Delayed {
        /// Unix seconds.
        until: u64,
    },
    /// Locked until an administrator unlocks, or until `until` when `lock_secs` > 0.
    Locked,
}

/// Decides whether an attempt may be evaluated at `now`.
pub fn gate(policy: &LockoutConfig, row: FailureRow, now: u64) -> Gate {
    if row.count >= policy.max_failures {
        if policy.lock_secs > 0 && now >= row.last_failure_at.saturating_add(policy.lock_secs) {
            return Gate::Open { reset: true };
        }
        return Gate::Locked;
    }
    if let Some(delay) = delay_after_failures(policy, row.count) {
        let until = row.last_failure_at.saturating_add(delay);
        if now < until {
            return Gate::Delayed { until };
        }
    }
    Gate::Open { reset: false }
}

/// The wait imposed after `count` consecutive failures, if any: `delay_base_secs · 2^(count −
/// delay_after)`, at most `delay_max_secs`.
pub fn delay_after_failures(policy: &LockoutConfig, count: u32) -> Option<u64> {
    if policy.delay_base_secs == 0 || count < policy.delay_after {
        return None;
    }
    let exp = (count - policy.delay_after).min(40);
    let delay = policy.delay_base_secs.saturating_mul(1u64 << exp);
    Some(delay.min(policy.delay_max_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutConfig {
        LockoutConfig {
            max_failures: 5,
            delay_after: 2,
            delay_base_secs: 2,
            delay_max_secs: 5,
            lock_secs: 0,
        }
    }

    #[test]
    fn delays_grow_then_lock_holds() {
        let p = policy();
        let row = |count| FailureRow {
            count,
            last_failure_at: 100,
        };
        assert_eq!(gate(&p, row(1), 100), Gate::Open { reset: false });
        assert_eq!(gate(&p, row(2), 101), Gate::Delayed { until: 102 });
        assert_eq!(gate(&p, row(2), 102), Gate::Open { reset: false });
        assert_eq!(gate(&p, row(3), 103), Gate::Delayed { until: 104 });
        assert_eq!(
            gate(&p, row(4), 104),
            Gate::Delayed { until: 105 },
            "capped at max"
        );
        assert_eq!(
            gate(&p, row(5), 10_000),
            Gate::Locked,
            "no timeout: admin unlock only"
        );
        let timed = LockoutConfig { lock_secs: 60, ..p };
        assert_eq!(gate(&timed, row(5), 159), Gate::Locked);
        assert_eq!(gate(&timed, row(5), 160), Gate::Open { reset: true });
    }
}
