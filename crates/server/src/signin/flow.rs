//! The sign-in flow: its stored document, what the policy says it needs next, and the view a
//! front end renders. Every change is a compare-and-swap on the stored revision, so two
//! requests racing on one flow (two tabs, a retry) cannot both apply.

use serde::{Deserialize, Serialize};

use crate::api::policies::user_facts;
use crate::error::{Error, FlowError, Result};
use crate::model::{BrowserRecord, FlowRecord, SessionRecord};
use crate::policy::evaluate::{EnrollReason, Next};
use crate::policy::{evaluate, Decision, Method, Satisfied, Subject, Traits, UserFacts};
use crate::AppState;

/// The prefix of flow ids.
pub const FLOW_PREFIX: &str = "flw_";

/// A method proven, by which authenticator, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The method.
    pub method: Method,
    /// The authenticator's characteristics (OK-2).
    #[serde(default)]
    pub traits: Traits,
    /// Unix seconds.
    pub at: u64,
    /// The authenticator (none for the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_id: Option<String>,
}

impl Proof {
    /// As the evaluator takes it.
    pub fn satisfied(&self) -> Satisfied {
        Satisfied {
            method: self.method,
            traits: self.traits,
            at: self.at,
        }
    }
}

/// A push sent from the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPush {
    /// The transaction.
    pub transaction_id: String,
    /// The number the user types on the device.
    pub number: u32,
    /// Unix seconds.
    pub expires_at: u64,
    /// `pending`, `approved`, `denied`, `expired` as last seen.
    pub state: String,
}

/// A QR login shown by the flow (the browser holds its device-session secret in the
/// `tessera_qr_dsi` cookie; the link is what the QR encodes, not a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingQr {
    /// The login-session index.
    pub lsi: String,
    /// The `tessera://qr-login?…` link.
    pub link: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// `pending`, `approved`, `denied` or `expired` as last seen.
    pub state: String,
}

/// How the flow ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Signed in.
    Done {
        /// The user's name.
        username: String,
        /// Where the front end goes next (an OpenID Connect redirect), if anywhere.
        redirect_to: Option<String>,
    },
    /// Refused (the reason is audited; the user sees a generic message).
    Denied,
}

/// The stored flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flow {
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// The application signing in (its client id).
    pub client_id: Option<String>,
    /// The OpenID Connect request, handed back to `oidc::complete` at the end.
    pub oidc: Option<serde_json::Value>,
    /// `max_age`: session methods older than this are not counted.
    pub max_age: Option<u64>,
    /// `prompt=login`: the global session is not counted.
    pub prompt_login: bool,
    /// The MFA API's audience is requested (A0-7).
    pub mfa_audience: bool,
    /// "Not you?": the global session's user was set aside.
    pub ignore_session: bool,
    /// What the user typed.
    pub identifier: Option<String>,
    /// The user, once identified (`None` with an identifier: nobody by that name).
    pub user_id: Option<String>,
    /// Methods proven in this flow.
    pub proofs: Vec<Proof>,
    /// The chain the first choice selected (OK-3).
    pub chain: Option<usize>,
    /// The method being proven.
    pub method: Option<Method>,
    /// The push in progress.
    pub push: Option<PendingPush>,
    /// The QR login in progress.
    pub qr: Option<PendingQr>,
    /// The code sent by email, SMS or voice for the current method.
    pub code_sent: Option<crate::oob::Sent>,
    /// A magic link opened in this browser proved a method (the other tab's flow ends).
    pub continued_by_link: bool,
    /// The passkey ceremony in progress (crate::passkey; its state never leaves the server).
    pub passkey: Option<crate::passkey::PasskeyChallenge>,
    /// A TOTP authenticator being set up (inactive until confirmed).
    pub enrolling: Option<String>,
    /// That set-up created the user's first backup codes (shown once it is confirmed).
    pub enrolling_created_codes: bool,
    /// New backup codes were shown and are not yet confirmed as saved (LG-6).
    pub codes_unconfirmed: bool,
    /// Set-up prompts the user skipped in this flow.
    pub skipped: Vec<EnrollReason>,
    /// "Remember this browser" was ticked.
    pub remember: bool,
    /// The typing rhythm of the password, once it was proven (docs/signals.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing: Option<crate::signin::typing::FlowTyping>,
    /// The end.
    pub outcome: Option<Outcome>,
}

/// The flow's step, as the front end renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Who are you?
    Identifier,
    /// Prove `method`.
    Verify,
    /// Set up a factor.
    Enroll,
    /// Save the new backup codes.
    RecoveryCodes,
    /// Signed in.
    Done,
    /// Refused.
    Denied,
}

/// A flow as loaded: its id hash, revision and browser, and the document.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// SHA-256 of the id.
    pub id_hash: [u8; 32],
    /// The flow id.
    pub id: String,
    /// The stored revision.
    pub revision: u64,
    /// The document.
    pub flow: Flow,
    /// The document as stored (unchanged flows are not written back).
    pub stored: Flow,
}

/// The SHA-256 of a cookie or id.
pub fn digest(value: &str) -> [u8; 32] {
    tessera_core::device::message::sha256(value.as_bytes())
}

/// Loads flow `id` for the browser whose cookie hashes to `browser`: unknown, expired, from
/// another browser and finished flows are each their own error.
pub fn load(state: &AppState, id: &str, browser: Option<[u8; 32]>) -> Result<Loaded> {
    load_with(state, id, browser, false)
}

/// [`load`], and also a flow a magic link finished in this browser (the link's tab shows the
/// end through it; nothing can change it any more).
pub fn load_linked(state: &AppState, id: &str, browser: Option<[u8; 32]>) -> Result<Loaded> {
    load_with(state, id, browser, true)
}

fn load_with(
    state: &AppState,
    id: &str,
    browser: Option<[u8; 32]>,
    linked_ok: bool,
) -> Result<Loaded> {
    let well_formed = id.len() == FLOW_PREFIX.len() + 43
        && id.starts_with(FLOW_PREFIX)
        && id[FLOW_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(Error::Flow(FlowError::NotFound));
    }
    let id_hash = digest(id);
    let record = state
        .store()
        .flow(id_hash)?
        .ok_or(Error::Flow(FlowError::NotFound))?;
    let same_browser = browser.is_some_and(|b| {
        use subtle::ConstantTimeEq;
        bool::from(b.ct_eq(&record.browser_hash))
    });
    if !same_browser {
        return Err(Error::Flow(FlowError::OtherBrowser));
    }
    if state.now() >= record.expires_at {
        return Err(Error::Flow(FlowError::Expired));
    }
    let flow: Flow = serde_json::from_str(&record.document)
        .map_err(|e| Error::Storage(format!("stored sign-in flow: {e}")))?;
    let linked_end =
        linked_ok && flow.continued_by_link && matches!(flow.outcome, Some(Outcome::Done { .. }));
    if flow.outcome.is_some() && !linked_end {
        return Err(Error::Flow(FlowError::Finished));
    }
    Ok(Loaded {
        id_hash,
        id: id.to_owned(),
        revision: record.revision,
        stored: flow.clone(),
        flow,
    })
}

/// Stores a new flow; its id.
pub fn insert(state: &AppState, flow: &Flow, browser: [u8; 32]) -> Result<String> {
    let id = format!("{FLOW_PREFIX}{}", crate::device::random_token(32)?);
    let document =
        serde_json::to_string(flow).map_err(|e| Error::Internal(format!("flow document: {e}")))?;
    state.store().insert_flow(FlowRecord {
        id_hash: digest(&id),
        browser_hash: browser,
        document,
        revision: 1,
        created_at: flow.created_at,
        expires_at: flow.expires_at,
    })?;
    Ok(id)
}

/// Writes `loaded.flow` back if nobody changed it meanwhile.
pub fn save(state: &AppState, loaded: &mut Loaded) -> Result<()> {
    if loaded.flow == loaded.stored {
        return Ok(());
    }
    let document = serde_json::to_string(&loaded.flow)
        .map_err(|e| Error::Internal(format!("flow document: {e}")))?;
    if !state
        .store()
        .update_flow(loaded.id_hash, loaded.revision, &document)?
    {
        return Err(Error::Conflict(
            "the sign-in changed in another request: reload it".into(),
        ));
    }
    loaded.revision += 1;
    loaded.stored = loaded.flow.clone();
    Ok(())
}

/// What the flow is evaluated with besides itself: the browser's global session and what is
/// known of the browser.
#[derive(Debug, Clone, Default)]
pub struct Surroundings {
    /// SHA-256 of the browser cookie.
    pub browser: [u8; 32],
    /// The live global session of this browser, if any.
    pub session: Option<SessionRecord>,
}

/// The methods a session records.
pub fn session_proofs(session: &SessionRecord) -> Vec<Proof> {
    serde_json::from_str(&session.methods).unwrap_or_default()
}

/// The facts the evaluator needs, read from the store. Blocking.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The user's facts.
    pub user: UserFacts,
    /// The browser as known for this user.
    pub browser: Option<BrowserRecord>,
    /// The session's methods that count for this flow (`None`: no session counts).
    pub session: Option<Vec<Proof>>,
    /// The policy in force and since when.
    pub policy: crate::policy::Policy,
    /// Unix seconds.
    pub policy_since: u64,
}

/// The session's methods that count for `flow` (the same user, not set aside by `prompt=login`
/// or "not you?", and within `max_age`).
pub fn counted_session(flow: &Flow, s: &Surroundings, now: u64) -> Option<Vec<Proof>> {
    let session = s.session.as_ref()?;
    if flow.prompt_login || flow.ignore_session || flow.user_id.as_ref() != Some(&session.user_id) {
        return None;
    }
    let mut proofs = session_proofs(session);
    if let Some(max_age) = flow.max_age {
        proofs.retain(|p| now.saturating_sub(p.at) <= max_age);
    }
    Some(proofs)
}

/// Reads the facts for `flow`'s user. Blocking.
pub fn facts(state: &AppState, flow: &Flow, s: &Surroundings, user_id: &str) -> Result<Facts> {
    let user = user_facts(state, user_id)?;
    let browser = state.store().browser(s.browser, user_id)?;
    let (policy, policy_since) = match state.store().policy(None)? {
        Some(v) => (
            serde_json::from_str(&v.document)
                .map_err(|e| Error::Storage(format!("stored policy version {}: {e}", v.version)))?,
            v.created_at,
        ),
        None => (crate::policy::Policy::default(), 0),
    };
    Ok(Facts {
        user,
        browser,
        session: counted_session(flow, s, state.now()),
        policy,
        policy_since,
    })
}

/// The policy's decision for the flow's user now.
pub fn decide(state: &AppState, flow: &Flow, facts: &Facts) -> Decision {
    let subject = Subject {
        user: facts.user.clone(),
        application: flow.client_id.clone(),
        identity_provider: "local".into(),
        session: facts
            .session
            .as_ref()
            .map(|p| p.iter().map(Proof::satisfied).collect()),
        proven: flow.proofs.iter().map(Proof::satisfied).collect(),
        chain: flow.chain,
        registering: false,
        mfa_audience: flow.mfa_audience,
        remembered_at: facts.browser.and_then(|b| b.remembered_at),
        policy_since: facts.policy_since,
        mfa_required_globally: state.config().mfa.required,
        now: state.now(),
        typing: crate::signin::typing::signal_of(flow),
    };
    evaluate(&facts.policy, &subject)
}

/// Whether the browser is known for the user (OK-8): they signed in from it before, or its
/// global session is theirs.
pub fn known_browser(flow: &Flow, facts: &Facts, s: &Surroundings) -> bool {
    facts.browser.is_some()
        || s.session
            .as_ref()
            .is_some_and(|x| Some(&x.user_id) == flow.user_id.as_ref() && !flow.ignore_session)
}

/// What the user does next, as far as the front end is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The identifier.
    Identifier,
    /// Prove one of `offer`; `method` first.
    Verify {
        /// The method in progress.
        method: Method,
        /// The methods usable now (LG-7/OK-7 order).
        offer: Vec<Method>,
    },
    /// Set up a factor.
    Enroll {
        /// Skippable.
        skippable: bool,
        /// Why.
        reason: EnrollReason,
        /// Which.
        methods: Vec<Method>,
    },
    /// Save backup codes.
    RecoveryCodes,
    /// The policy lets the user in.
    Done,
    /// The policy refuses.
    Deny(&'static str),
}

/// The stage of `flow`. `facts` is `None` before the user is identified or when nobody has
/// that name. Before the first proof on a browser not known for the user, the only method
/// offered is the password, as for an unknown name (OK-8: the same answers for both).
pub fn stage(state: &AppState, flow: &Flow, facts: Option<&Facts>, s: &Surroundings) -> Stage {
    let password_only = || Stage::Verify {
        method: Method::Password,
        offer: vec![Method::Password],
    };
    if flow.identifier.is_none() && flow.user_id.is_none() {
        return Stage::Identifier;
    }
    if flow.codes_unconfirmed {
        return Stage::RecoveryCodes;
    }
    let Some(facts) = facts else {
        return password_only();
    };
    if flow.proofs.is_empty() && !known_browser(flow, facts, s) {
        return password_only();
    }
    match decide(state, flow, facts).next {
        Next::Verify { offer } => {
            let method = flow
                .method
                .filter(|m| offer.contains(m))
                .or_else(|| offer.first().copied())
                .unwrap_or(Method::Password);
            Stage::Verify { method, offer }
        }
        Next::Enroll {
            skippable,
            reason,
            methods,
        } => {
            if skippable && flow.skipped.contains(&reason) {
                Stage::Done
            } else {
                Stage::Enroll {
                    skippable,
                    reason,
                    methods,
                }
            }
        }
        Next::Done => Stage::Done,
        Next::Deny { reason } => Stage::Deny(reason),
    }
}

/// The chain the first proof selects (OK-3): the first chain whose next step the method
/// satisfies, when the rule has several.
pub fn chain_for(decision: &Decision, method: Method) -> Option<usize> {
    if decision.chains.len() < 2 {
        return None;
    }
    decision
        .chains
        .iter()
        .find(|c| {
            c.steps
                .iter()
                .find(|s| !s.satisfied)
                .is_some_and(|s| s.any_of.iter().any(|r| r.method == method))
        })
        .map(|c| c.index)
}

/// The security score (LG-9): 0–100, rising with each kind of protection, and what would
/// raise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// 0–100.
    pub score: u8,
    /// `weak` (< 50), `fair` (< 80) or `strong`.
    pub level: String,
    /// What to add, most valuable first: `add_second_factor`, `add_recovery_codes`,
    /// `add_another_factor`, `add_strong_factor` (a passkey, or a device key unlocked by a PIN or
    /// biometric).
    pub suggestions: Vec<String>,
}

/// The security score of a user's factors.
pub fn security(user: &UserFacts) -> Security {
    let second: Vec<_> = user
        .enrolled
        .iter()
        .filter(|e| e.method.is_second_factor() && e.method != Method::RecoveryCode)
        .collect();
    let has_codes = user
        .enrolled
        .iter()
        .any(|e| e.method == Method::RecoveryCode);
    let distinct = crate::policy::evaluate::distinct_enrollments(user);
    let strong = second
        .iter()
        .any(|e| e.traits.phishing_resistant || e.traits.user_verification);
    let mut score = 0u8;
    let mut suggestions = Vec::new();
    if user.has_password {
        score += 20;
    }
    if second.is_empty() {
        suggestions.push("add_second_factor");
    } else {
        score += 40;
    }
    if has_codes {
        score += 15;
    } else {
        suggestions.push("add_recovery_codes");
    }
    if distinct >= 2 {
        score += 15;
    } else {
        suggestions.push("add_another_factor");
    }
    if strong {
        score += 10;
    } else {
        suggestions.push("add_strong_factor");
    }
    Security {
        score,
        level: match score {
            0..=49 => "weak",
            50..=79 => "fair",
            _ => "strong",
        }
        .to_owned(),
        suggestions: suggestions.into_iter().map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::policy::Enrolled;

    fn enrolled(id: &str, method: Method, pair: Option<&str>) -> Enrolled {
        Enrolled {
            id: id.into(),
            method,
            pair: pair.map(Into::into),
            traits: Traits::INTERACTION,
            last_used_at: None,
        }
    }

    #[test]
    fn the_security_score_rises_with_each_protection() {
        let mut user = UserFacts {
            has_password: true,
            ..UserFacts::default()
        };
        let s0 = security(&user);
        assert_eq!((s0.score, s0.level.as_str()), (20, "weak"));
        assert_eq!(s0.suggestions[0], "add_second_factor");
        user.enrolled.push(enrolled("totp|a", Method::Totp, None));
        user.enrolled
            .push(enrolled("recovery-code|a", Method::RecoveryCode, None));
        let s1 = security(&user);
        assert_eq!((s1.score, s1.level.as_str()), (75, "fair"));
        // A device's push key and its paired TOTP count once.
        user.enrolled
            .push(enrolled("push|d", Method::Push, Some("d")));
        user.enrolled
            .push(enrolled("totp|d", Method::Totp, Some("d")));
        let mut uv = enrolled("push|e", Method::Push, Some("e"));
        uv.traits.user_verification = true;
        user.enrolled.push(uv);
        let s2 = security(&user);
        assert_eq!((s2.score, s2.level.as_str()), (100, "strong"));
        assert!(s2.suggestions.is_empty());
    }

    #[test]
    fn a_session_counts_only_for_its_user_and_within_max_age() {
        let session = SessionRecord {
            id: "ses_1".into(),
            user_id: "usr_a".into(),
            methods: serde_json::to_string(&[
                Proof {
                    method: Method::Password,
                    traits: Traits::INTERACTION,
                    at: 1_000,
                    authenticator_id: None,
                },
                Proof {
                    method: Method::Totp,
                    traits: Traits::INTERACTION,
                    at: 1_500,
                    authenticator_id: Some("totp|x".into()),
                },
            ])
            .unwrap(),
            created_at: 1_000,
            updated_at: 1_500,
            expires_at: 10_000,
            revoked_at: None,
            user_agent: String::new(),
            ip: String::new(),
        };
        let s = Surroundings {
            browser: [0; 32],
            session: Some(session),
        };
        let mut flow = Flow {
            user_id: Some("usr_a".into()),
            ..Flow::default()
        };
        assert_eq!(counted_session(&flow, &s, 2_000).unwrap().len(), 2);
        flow.max_age = Some(600);
        let fresh = counted_session(&flow, &s, 2_000).unwrap();
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].method, Method::Totp);
        flow.max_age = None;
        flow.prompt_login = true;
        assert!(counted_session(&flow, &s, 2_000).is_none());
        flow.prompt_login = false;
        flow.user_id = Some("usr_b".into());
        assert!(counted_session(&flow, &s, 2_000).is_none());
    }
}
