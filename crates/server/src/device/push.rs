//! Push challenges with number matching: creation by a relying party, the signed challenge a
//! device receives, the device's signed answer, and the outcome. Blocking functions.

use data_encoding::BASE64URL_NOPAD;
use subtle::ConstantTimeEq;
use tessera_core::device::message::{context_hash, ChallengeStatement};
use tessera_core::device::wire::{
    PushAnswerRequest, PushChallenge, PushContext, PushCreated, PushState, PushStatus,
};
use tessera_core::device::{verify, Decision, PushAnswer};

use crate::device::network;
use crate::device::store::{DeviceRecord, PushDecision, PushRecord};
use crate::device::{b64, random_in, random_token, AppState, NumberPolicy};
use crate::error::{Error, Result};

/// Longest text of one context field.
const MAX_CONTEXT_FIELD: usize = 256;

fn check_context(c: &PushContext) -> Result<()> {
    for (name, v) in [
        ("application", &c.application),
        ("origin", &c.origin),
        ("ip", &c.ip),
        ("location", &c.location),
        ("user_agent", &c.user_agent),
    ] {
        if v.chars().count() > MAX_CONTEXT_FIELD {
            return Err(Error::InvalidRequest(format!(
                "`context.{name}` is longer than {MAX_CONTEXT_FIELD} characters"
            )));
        }
    }
    Ok(())
}

/// Starts a push for `user_id`: rate limit and pause checked, number drawn, the requester's
/// network (`context.ip`) compared with each device's last known one, stored, and sent to the
/// user's connected devices.
pub fn create(
    state: &AppState,
    user_id: &str,
    mut context: PushContext,
    ttl: Option<u64>,
) -> Result<PushCreated> {
    check_context(&context)?;
    let cfg = state.device_config();
    let ttl = ttl.unwrap_or(cfg.push_ttl);
    if ttl == 0 || ttl > cfg.push_ttl_max {
        return Err(Error::InvalidRequest(format!(
            "`ttl` must be 1–{} seconds",
            cfg.push_ttl_max
        )));
    }
    let now = state.now();
    let store = state.devices();
    if store.paused_until(user_id, now)?.is_some() {
        return Err(Error::RateLimited(
            "pushes to this user are paused after \"this wasn't me\"",
        ));
    }
    if store.count_pushes_since(user_id, now.saturating_sub(60))? >= cfg.push_rate_per_minute {
        return Err(Error::RateLimited(
            "too many pushes to this user; try again in a minute",
        ));
    }
    let devices = store.devices_of(user_id)?;
    if devices.is_empty() {
        return Err(Error::NotFound("enrolled device"));
    }
    context.created_at = now;
    // Only the server says how the networks compare; per device, in `device_networks`.
    context.device_network = Default::default();
    context.device_network_prefix = String::new();
    let device_networks = devices
        .iter()
        .map(|d| {
            let check = network::compare(&context.ip, d.last_ip.as_deref());
            (d.id.clone(), check)
        })
        .collect();
    let number = random_in(10, 99)?;
    let number_choices = match cfg.number_policy {
        NumberPolicy::Type => Vec::new(),
        NumberPolicy::PickOfThree => three_choices(number)?,
    };
    let record = PushRecord {
        transaction_id: random_token(32)?,
        user_id: user_id.to_owned(),
        nonce: random_token(32)?,
        number,
        number_choices,
        context,
        device_networks,
        created_at: now,
        expires_at: now.saturating_add(ttl),
        state: PushState::Pending,
        device_id: None,
        reason: None,
    };
    store.insert_push(&record)?;
    let created = PushCreated {
        transaction_id: record.transaction_id.clone(),
        number,
        expires_at: record.expires_at,
    };
    state.hub().publish(user_id, record);
    Ok(created)
}

/// The right number and two distinct decoys, in random order.
fn three_choices(number: u32) -> Result<Vec<u32>> {
    let mut out = vec![number];
    while out.len() < 3 {
        let n = random_in(10, 99)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    let pos = usize::try_from(random_in(0, 2)?).unwrap_or(0);
    out.swap(0, pos.min(2));
    Ok(out)
}

/// The context device `device_id` is shown for push `p` (and whose hash it signs): the
/// relying party's, with that device's network comparison.
pub fn context_for(p: &PushRecord, device_id: &str) -> PushContext {
    p.device_networks
        .get(device_id)
        .cloned()
        .unwrap_or_default()
        .apply(&p.context)
}

/// The challenge device `device_id` receives, signed by the server identity.
pub fn challenge_for(state: &AppState, p: &PushRecord, device_id: &str) -> Result<PushChallenge> {
    let origin = state.device_config().origin.clone();
    let context = context_for(p, device_id);
    let statement = ChallengeStatement {
        origin: origin.clone(),
        transaction_id: p.transaction_id.clone(),
        nonce: p.nonce.clone(),
        expires_at: p.expires_at,
        context_hash: context_hash(&context),
        number_choices: p.number_choices.clone(),
    };
    let signature = state.identity().sign(&statement.signing_bytes())?;
    Ok(PushChallenge {
        transaction_id: p.transaction_id.clone(),
        nonce: p.nonce.clone(),
        origin,
        context,
        expires_at: p.expires_at,
        number_choices: p.number_choices.clone(),
        server_signature: BASE64URL_NOPAD.encode(&signature),
    })
}

/// The device's user's pending challenges.
pub fn pending_for(state: &AppState, device: &DeviceRecord) -> Result<Vec<PushChallenge>> {
    state
        .devices()
        .pending_pushes(&device.user_id, state.now())?
        .iter()
        .map(|p| challenge_for(state, p, &device.id))
        .collect()
}

/// Applies a device's signed answer. Returns the final state when this answer decided the
/// transaction; `Conflict` when it was no longer pending (a replay or a lost race), `Expired`
/// after the expiry, `Rejected` for any signature, device or user mismatch.
pub fn answer(
    state: &AppState,
    device: &DeviceRecord,
    transaction_id: &str,
    req: &PushAnswerRequest,
) -> Result<PushStatus> {
    let now = state.now();
    let store = state.devices();
    let Some(push) = store.push(transaction_id)? else {
        tracing::info!(device = %device.id, "answer to an unknown transaction");
        return Err(Error::Rejected);
    };
    if push.user_id != device.user_id {
        tracing::info!(device = %device.id, "answer to another user's transaction");
        return Err(Error::Rejected);
    }
    let signature = b64("signature", &req.signature)?;
    let message = PushAnswer {
        origin: state.device_config().origin.clone(),
        device_id: device.id.clone(),
        transaction_id: push.transaction_id.clone(),
        nonce: push.nonce.clone(),
        decision: req.decision,
        number: req.number,
        expires_at: push.expires_at,
        context_hash: context_hash(&context_for(&push, &device.id)),
    };
    // The registered key and algorithm only.
    if verify(
        device.algorithm,
        &device.public_key,
        &message.signing_bytes(),
        &signature,
    )
    .is_err()
    {
        tracing::info!(device = %device.id, "bad answer signature");
        return Err(Error::Rejected);
    }
    if push.state != PushState::Pending {
        return Err(Error::Conflict(
            "the transaction is no longer pending".into(),
        ));
    }
    if now >= push.expires_at {
        expire(state, &push)?;
        return Err(Error::Expired);
    }
    let (new_state, reason, pause_until) = match req.decision {
        Decision::Approve => {
            let typed = req.number.unwrap_or(u32::MAX);
            if bool::from(typed.to_be_bytes().ct_eq(&push.number.to_be_bytes())) {
                (PushState::Approved, "approved", None)
            } else {
                (PushState::Denied, "wrong_number", None)
            }
        }
        Decision::Deny => (PushState::Denied, "denied", None),
        Decision::NotMe => (
            PushState::Denied,
            "not_me",
            Some(now.saturating_add(state.device_config().not_me_pause)),
        ),
    };
    let won = store.decide_push(&PushDecision {
        transaction_id: &push.transaction_id,
        state: new_state,
        device_id: Some(&device.id),
        reason,
        pause_until,
        now,
    })?;
    if !won {
        return Err(Error::Conflict(
            "the transaction is no longer pending".into(),
        ));
    }
    state.hub().decided(&push.transaction_id);
    Ok(PushStatus {
        transaction_id: push.transaction_id,
        state: new_state,
        reason: Some(reason.to_owned()),
        expires_at: push.expires_at,
    })
}

fn expire(state: &AppState, push: &PushRecord) -> Result<()> {
    let won = state.devices().decide_push(&PushDecision {
        transaction_id: &push.transaction_id,
        state: PushState::Expired,
        device_id: None,
        reason: "expired",
        pause_until: None,
        now: state.now(),
    })?;
    if won {
        state.hub().decided(&push.transaction_id);
    }
    Ok(())
}

/// The outcome of a transaction as the relying party sees it (a pending one past its expiry
/// is moved to EXPIRED first).
pub fn status(state: &AppState, transaction_id: &str) -> Result<PushStatus> {
    let push = state
        .devices()
        .push(transaction_id)?
        .ok_or(Error::NotFound("transaction"))?;
    let push = if push.state == PushState::Pending && state.now() >= push.expires_at {
        expire(state, &push)?;
        state
            .devices()
            .push(transaction_id)?
            .ok_or(Error::NotFound("transaction"))?
    } else {
        push
    };
    Ok(PushStatus {
        transaction_id: push.transaction_id,
        state: push.state,
        reason: push.reason,
        expires_at: push.expires_at,
    })
}

/// The user a transaction belongs to (for the `mfa-oob` grant).
pub fn owner(state: &AppState, transaction_id: &str) -> Result<Option<String>> {
    Ok(state.devices().push(transaction_id)?.map(|p| p.user_id))
}

/// What an approved push is worth to the grant that asks (the `mfa-oob` grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Approved, and now used by this caller: nobody can use it again.
    Accepted,
    /// The user has not decided yet.
    Pending,
    /// Denied, expired, another user's, or used already.
    Rejected,
}

/// Uses the approval of `transaction_id` for `user_id`, once (compare-and-swap in the store).
pub fn redeem(state: &AppState, transaction_id: &str, user_id: &str) -> Result<Redemption> {
    if owner(state, transaction_id)?.as_deref() != Some(user_id) {
        return Ok(Redemption::Rejected);
    }
    Ok(match status(state, transaction_id)?.state {
        PushState::Pending => Redemption::Pending,
        PushState::Approved => {
            if state
                .devices()
                .consume_push(transaction_id, user_id, state.now())?
            {
                Redemption::Accepted
            } else {
                Redemption::Rejected
            }
        }
        PushState::Denied | PushState::Expired => Redemption::Rejected,
    })
}
