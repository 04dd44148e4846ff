//! Typing rhythm as a sign-in signal (IBM-5's behavioural factor): the hosted page measures how
//! the password is typed — per keystroke, how long the key is held (dwell) and the gap from one
//! key's release to the next key's press (flight), in milliseconds, never which keys — and sends
//! those timings with the password. A per-user profile is learned from sign-ins that finished;
//! a new sample is scored against it (0 = the usual rhythm, 100 = nothing like it) and the
//! policy may demand another factor on a high score (docs/signals.md).
//!
//! The model: each timing is taken as `ln(1 + ms)` (key timings are roughly log-normal), and
//! the profile keeps, per position, a running mean and sum of squared deviations (Welford's
//! update; the password is the same each time, so position `i` is always the same key). A
//! sample's distance is the mean over positions of its scaled deviation `|x − mean| / sd`
//! (each capped at [`Z_CAP`]), `sd` shrunk towards a prior while there are few samples; the
//! score maps the distance through a logistic curve. The profile is sealed at rest under the
//! master key, bound to its user ([`crate::store::typing_profile_context`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::evaluate::TypingSignal;

/// Most keystrokes in a sample (a longer password sends none).
pub const MAX_KEYS: usize = 128;
/// The largest timing accepted, milliseconds (the page caps at [`PAGE_CAP_MS`]).
pub const MAX_MS: f64 = 10_000.0;
/// What the page caps each timing at, milliseconds (a long pause says nothing more).
pub const PAGE_CAP_MS: u16 = 3_000;
/// Samples a profile needs before it scores.
pub const MIN_SAMPLES: u32 = 5;
/// The weight at which the profile stops growing: later samples replace older ones gradually,
/// so the profile follows a rhythm that drifts.
pub const MAX_WEIGHT: u32 = 30;
/// A scaled deviation counts at most this much (one slip does not dominate).
pub const Z_CAP: f64 = 6.0;
/// The prior standard deviation of `ln(1 + ms)`, and its weight in samples: while a profile
/// has few samples its spread is shrunk towards this, so five near-identical samples do not
/// make every later one look foreign.
const PRIOR_SD: f64 = 0.25;
const PRIOR_WEIGHT: f64 = 3.0;
/// The logistic curve from distance to score: 50 at [`MIDPOINT`], steepness [`STEEPNESS`].
/// A genuine sample's distance is near 0.8 (the mean of `|z|` for a normal variable); on the
/// synthetic set (typing/tests.rs) 99% of genuine samples are below 1.32 and 95% of other
/// typists' above 1.25, so 80 (a distance of 1.37) separates them.
const MIDPOINT: f64 = 1.2;
const STEEPNESS: f64 = 8.0;
/// A sample scoring this or more is learned only when the sign-in also proved a second factor
/// (so a rhythm the policy let through unchallenged cannot drag the profile towards itself).
pub const LEARN_BELOW: u8 = 50;

/// The timings as the page sends them (the `typing` object of the verify body).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingInput {
    /// Per keystroke, key down → key up, ms.
    pub dwell: Vec<f64>,
    /// Per pair of consecutive keystrokes, key up → next key down, ms (0 when they overlap).
    pub flight: Vec<f64>,
}

/// A validated sample: whole milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Dwell times.
    pub dwell: Vec<u16>,
    /// Flight times (one fewer).
    pub flight: Vec<u16>,
}

fn invalid(why: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("`typing`: {why}"))
}

impl TypingInput {
    /// Checks the bounds: 1–[`MAX_KEYS`] dwell times, one fewer flight times, each a finite
    /// number of milliseconds in 0–[`MAX_MS`] (rounded to whole milliseconds).
    pub fn validate(&self) -> Result<Sample> {
        if self.dwell.is_empty() || self.dwell.len() > MAX_KEYS {
            return Err(invalid(format!(
                "`dwell` must have 1–{MAX_KEYS} values, one per keystroke"
            )));
        }
        if self.flight.len() + 1 != self.dwell.len() {
            return Err(invalid(
                "`flight` must have one value fewer than `dwell` (one per pair of keystrokes)",
            ));
        }
        let ms = |field: &str, v: &[f64]| -> Result<Vec<u16>> {
            v.iter()
                .map(|x| {
                    if x.is_finite() && (0.0..=MAX_MS).contains(x) {
                        // In range, so the cast neither truncates nor wraps.
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        Ok(x.round() as u16)
                    } else {
                        Err(invalid(format!(
                            "`{field}` values are milliseconds in 0–{MAX_MS}"
                        )))
                    }
                })
                .collect()
        };
        Ok(Sample {
            dwell: ms("dwell", &self.dwell)?,
            flight: ms("flight", &self.flight)?,
        })
    }
}

impl Sample {
    /// Keystrokes.
    pub fn keys(&self) -> usize {
        self.dwell.len()
    }

    /// The feature vector: `ln(1 + ms)` of the dwell times, then of the flight times.
    pub fn features(&self) -> Vec<f64> {
        self.dwell
            .iter()
            .chain(&self.flight)
            .map(|ms| f64::from(*ms).ln_1p())
            .collect()
    }
}

/// A user's typing profile (sealed at rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The format, 1.
    pub v: u8,
    /// Keystrokes in the password it was learned on.
    pub keys: usize,
    /// Samples learned (at most [`MAX_WEIGHT`]).
    pub count: u32,
    /// Per feature, the running mean of `ln(1 + ms)`.
    pub mean: Vec<f64>,
    /// Per feature, the running sum of squared deviations.
    pub m2: Vec<f64>,
    /// Unix seconds of the last update.
    pub updated_at: u64,
}

impl Profile {
    /// An empty profile for a password of `keys` keystrokes.
    pub fn new(keys: usize) -> Profile {
        let n = features_of(keys);
        Profile {
            v: 1,
            keys,
            count: 0,
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            updated_at: 0,
        }
    }

    /// Learns `sample` (Welford's update; past [`MAX_WEIGHT`] samples the oldest weight fades).
    /// A sample of another length starts a new profile (the password changed length).
    pub fn learn(&mut self, sample: &Sample, now: u64) {
        if sample.keys() != self.keys
            || self.mean.len() != features_of(self.keys)
            || self.m2.len() != self.mean.len()
        {
            *self = Profile::new(sample.keys());
        }
        if self.count >= MAX_WEIGHT {
            let keep = f64::from(MAX_WEIGHT - 1) / f64::from(MAX_WEIGHT);
            self.m2.iter_mut().for_each(|m| *m *= keep);
            self.count = MAX_WEIGHT - 1;
        }
        self.count += 1;
        let n = f64::from(self.count);
        for ((x, mean), m2) in sample
            .features()
            .into_iter()
            .zip(self.mean.iter_mut())
            .zip(self.m2.iter_mut())
        {
            let delta = x - *mean;
            *mean += delta / n;
            *m2 += delta * (x - *mean);
        }
        self.updated_at = now;
    }

    /// The sample's distance from the profile (mean capped scaled deviation), or `None` when
    /// the profile cannot judge it (too few samples, another length).
    pub fn distance(&self, sample: &Sample) -> Option<f64> {
        if self.count < MIN_SAMPLES
            || sample.keys() == 0
            || sample.keys() != self.keys
            || self.mean.len() != features_of(self.keys)
            || self.m2.len() != self.mean.len()
        {
            return None;
        }
        let dof = f64::from(self.count - 1) + PRIOR_WEIGHT;
        let prior = PRIOR_SD * PRIOR_SD * PRIOR_WEIGHT;
        let features = sample.features();
        let total: f64 = features
            .iter()
            .zip(&self.mean)
            .zip(&self.m2)
            .map(|((x, mean), m2)| {
                let sd = ((m2.max(0.0) + prior) / dof).sqrt();
                ((x - mean).abs() / sd).min(Z_CAP)
            })
            .sum();
        // At least one feature: keys ≥ 1.
        #[allow(clippy::cast_precision_loss)]
        Some(total / features.len() as f64)
    }

    /// The anomaly score of `sample`: 0–100, or `None` as for [`Profile::distance`].
    pub fn score(&self, sample: &Sample) -> Option<u8> {
        self.distance(sample).map(score_of)
    }
}

/// Features of a password of `keys` keystrokes: the dwell times and the flight times between.
fn features_of(keys: usize) -> usize {
    (2 * keys).saturating_sub(1)
}

/// The score of a distance: a logistic curve, 0–100.
pub fn score_of(distance: f64) -> u8 {
    let s = 100.0 / (1.0 + (-(distance - MIDPOINT) * STEEPNESS).exp());
    // In 0–100, so the cast neither truncates nor wraps.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    {
        s.round().clamp(0.0, 100.0) as u8
    }
}

/// The signal of a sign-in whose password was just proven: the score of `sample` against the
/// user's profile, `learning` while there is none that can judge it, `no_sample` without one.
pub fn signal(profile: Option<&Profile>, sample: Option<&Sample>) -> TypingSignal {
    match (profile, sample) {
        (_, None) => TypingSignal::NoSample,
        (None, Some(_)) => TypingSignal::Learning,
        (Some(p), Some(s)) => p
            .score(s)
            .map_or(TypingSignal::Learning, TypingSignal::Score),
    }
}

/// The typing part of a sign-in flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowTyping {
    /// The sample sent with the right password, kept until the sign-in finishes (then learned
    /// and dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    /// What it came to.
    pub signal: TypingSignal,
}

/// The flow's signal for the policy: only while the flow holds the password's proof (a flow
/// sent back to the identifier step starts without one).
pub fn signal_of(flow: &crate::signin::flow::Flow) -> Option<TypingSignal> {
    let typed = flow
        .proofs
        .iter()
        .any(|p| p.method == crate::policy::Method::Password);
    flow.typing.as_ref().filter(|_| typed).map(|t| t.signal)
}

/// Seals a profile for `user_id`.
pub fn seal(key: &crate::crypto::MasterKey, user_id: &str, profile: &Profile) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(profile).map_err(|e| Error::Internal(format!("typing profile: {e}")))?,
    );
    key.seal(&plain, &crate::store::typing_profile_context(user_id))
}

/// Opens a sealed profile of `user_id`.
pub fn open(key: &crate::crypto::MasterKey, user_id: &str, sealed: &[u8]) -> Result<Profile> {
    let plain = key.open(sealed, &crate::store::typing_profile_context(user_id))?;
    serde_json::from_slice(&plain).map_err(|_| Error::Storage("a stored typing profile".into()))
}

/// The user's profile, if any. Blocking.
pub fn profile(state: &crate::AppState, user_id: &str) -> Result<Option<Profile>> {
    state
        .store()
        .typing_profile(user_id)?
        .map(|sealed| open(state.key(), user_id, &sealed))
        .transpose()
}

/// Records the signal of a password just proven in `flow` (before the proof is added, so the
/// chain the password selects is the one of the rule the signal matches). Blocking.
pub fn on_password(
    state: &crate::AppState,
    flow: &mut crate::signin::flow::Flow,
    sample: Option<Sample>,
) -> Result<()> {
    let Some(user_id) = flow.user_id.clone() else {
        return Ok(());
    };
    let profile = if sample.is_some() {
        profile(state, &user_id)?
    } else {
        None
    };
    flow.typing = Some(FlowTyping {
        signal: signal(profile.as_ref(), sample.as_ref()),
        sample,
    });
    Ok(())
}

/// Learns the flow's sample now that the sign-in finished, and drops it from the flow. A
/// sample that scored [`LEARN_BELOW`] or more is learned only if a second factor was proven
/// too. Blocking.
pub fn on_finish(
    state: &crate::AppState,
    user_id: &str,
    flow: &mut crate::signin::flow::Flow,
) -> Result<()> {
    if signal_of(flow).is_none() {
        return Ok(());
    }
    let Some(typing) = flow.typing.as_mut() else {
        return Ok(());
    };
    let Some(sample) = typing.sample.take() else {
        return Ok(());
    };
    let second = flow.proofs.iter().any(|p| p.method.is_second_factor());
    if matches!(typing.signal, TypingSignal::Score(s) if s >= LEARN_BELOW) && !second {
        return Ok(());
    }
    let key = state.key_arc().clone();
    let now = state.now();
    let owner = user_id.to_owned();
    let learned = state.store().update_typing_profile(
        user_id,
        Box::new(move |stored| {
            let mut profile = match stored {
                Some(sealed) => open(&key, &owner, sealed)?,
                None => Profile::new(sample.keys()),
            };
            profile.learn(&sample, now);
            seal(&key, &owner, &profile)
        }),
        now,
    );
    // The sign-in is recorded already: a profile that cannot be updated does not undo it.
    if let Err(e) = learned {
        tracing::warn!(error = %e, "typing profile: not updated");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
