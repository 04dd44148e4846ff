//! The policy evaluator: a pure function from a policy and the facts of one sign-in (the user,
//! the application, the global session, what this sign-in has already proven) to what comes
//! next. The sign-in flow calls it after every step; the dry run calls it once.

use serde::Serialize;

use super::model::{
    Chain, Characteristic, FactorSources, MethodRequirement, Mfa, NoFactor, Policy, Prompt, Reauth,
    Settings, Step, Traits,
};
use super::Method;

/// An authenticator the user has enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// Its id.
    pub id: String,
    /// The method it serves.
    pub method: Method,
    /// What ties it to others for counting (IBM-4, A0-4): the phone number of SMS and voice, the
    /// device of a push key and its paired TOTP. `None`: it counts alone.
    pub pair: Option<String>,
    /// Its characteristics (OK-2).
    pub traits: Traits,
    /// When it last verified successfully (OK-7, LG-7).
    pub last_used_at: Option<u64>,
}

/// What the store knows of the user.
#[derive(Debug, Clone, Default)]
pub struct UserFacts {
    /// Organization ids.
    pub organizations: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Whether one of the user's organizations requires MFA of its members (LG-5's flag).
    pub org_requires_mfa: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Enrolled authenticators (backup codes included, as [`Method::RecoveryCode`]).
    pub enrolled: Vec<Enrolled>,
    /// A verified email address in the profile (IBM-2).
    pub verified_email: bool,
    /// A verified phone number in the profile (IBM-2).
    pub verified_phone: bool,
    /// Unix seconds.
    pub created_at: u64,
    /// Successful sign-ins before this one (registration's included).
    pub sign_ins: u32,
    /// The user skipped the set-up prompt (LG-3); reset by LG-4.
    pub prompt_skipped: bool,
}

/// The typing-rhythm signal of a sign-in whose password was typed (docs/signals.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingSignal {
    /// The page sent no timings (pasted or filled-in password, a script, another client).
    NoSample,
    /// The user's profile cannot judge yet (too few sign-ins learned, or the password's
    /// length changed).
    Learning,
    /// 0 (the user's usual rhythm) to 100 (nothing like it).
    Score(u8),
}

/// A method proven, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Satisfied {
    /// The method.
    pub method: Method,
    /// The characteristics of the authenticator that proved it.
    #[serde(skip)]
    pub traits: Traits,
    /// Unix seconds.
    pub at: u64,
}

/// The facts of one sign-in.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// The user.
    pub user: UserFacts,
    /// The application's client id (`None`: the account pages).
    pub application: Option<String>,
    /// The identity provider that identified the user (`local` for Tessera's own accounts).
    pub identity_provider: String,
    /// Methods proven in the global session before this sign-in; `None`: no global session.
    pub session: Option<Vec<Satisfied>>,
    /// Methods proven in this sign-in so far.
    pub proven: Vec<Satisfied>,
    /// The chain the user's first choice selected (OK-3), once chosen.
    pub chain: Option<usize>,
    /// This sign-in registers the user (LG-3's "at registration").
    pub registering: bool,
    /// The MFA API audience is requested (A0-7: "remember this browser" is ignored).
    pub mfa_audience: bool,
    /// When this browser was remembered, if it was.
    pub remembered_at: Option<u64>,
    /// When the policy version in force took effect (LG-3's "existing users", IBM-4's grace).
    pub policy_since: u64,
    /// The server's `mfa.required` setting.
    pub mfa_required_globally: bool,
    /// The typing-rhythm signal, once the password was typed in this sign-in.
    pub typing: Option<TypingSignal>,
    /// Unix seconds.
    pub now: u64,
}

/// Where the settings in force come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// `rules[index]`.
    Rule {
        /// Its position.
        index: usize,
        /// Its name.
        name: String,
    },
    /// `organizations.<id>` (LG-5).
    Organization {
        /// The organization id.
        id: String,
    },
    /// `global`.
    Global,
}

/// One step of a chain, as far as this user is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepPlan {
    /// The step's methods.
    pub any_of: Vec<MethodRequirement>,
    /// Already proven (in this sign-in, within the re-authentication window, or by a remembered
    /// browser).
    pub satisfied: bool,
    /// The methods of the step this user can use now.
    pub usable: Vec<Method>,
}

/// One chain, as far as this user is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainPlan {
    /// Its position among the rule's chains.
    pub index: usize,
    /// Its steps.
    pub steps: Vec<StepPlan>,
}

/// Why set-up is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollReason {
    /// MFA is required and the user has no factor (LG-2, LG-5, IBM-1, LG-11).
    Required,
    /// Only backup codes are left (LG-11).
    OnlyRecoveryCodes,
    /// The prompt policy offers set-up (LG-3).
    Prompt,
    /// Fewer distinct enrollments than the policy's minimum (IBM-4).
    MinEnrollments,
}

/// What the user does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum Next {
    /// Prove one of `offer` (first: the one to use directly; the rest: "verify another way").
    Verify {
        /// Methods the user can use now, in the order to offer them (LG-7, OK-7).
        offer: Vec<Method>,
    },
    /// Set up a factor.
    Enroll {
        /// Whether "skip" is allowed.
        skippable: bool,
        /// Why.
        reason: EnrollReason,
        /// Methods the user may set up (the policy's chains' second factors, or all).
        methods: Vec<Method>,
    },
    /// Signed in.
    Done,
    /// Refused.
    Deny {
        /// Why (for the dry run and the audit log; the user sees a generic message).
        reason: &'static str,
    },
}

/// The evaluator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The matched rule (or override, or global).
    pub source: Source,
    /// Whether MFA is required of this user now.
    pub mfa_required: bool,
    /// The chains and their progress (the chosen one only, once chosen).
    pub chains: Vec<ChainPlan>,
    /// What comes next.
    #[serde(flatten)]
    pub next: Next,
}

/// The settings in force for `subject`: the first matching rule, else an override of one of
/// the user's organizations (a required one first), else the global settings.
pub fn select<'p>(policy: &'p Policy, subject: &Subject) -> (Source, &'p Settings) {
    let user = &subject.user;
    let any_in = |wanted: &[String], have: &[String]| {
        wanted.is_empty() || wanted.iter().any(|w| have.contains(w))
    };
    for (index, rule) in policy.rules.iter().enumerate() {
        let app_ok = rule.when.applications.is_empty()
            || subject
                .application
                .as_ref()
                .is_some_and(|a| rule.when.applications.contains(a));
        if app_ok
            && any_in(&rule.when.organizations, &user.organizations)
            && any_in(&rule.when.groups, &user.groups)
            && rule
                .when
                .typing_anomaly
                .as_ref()
                .is_none_or(|c| c.matches(subject.typing))
        {
            return (
                Source::Rule {
                    index,
                    name: rule.name.clone(),
                },
                &rule.then,
            );
        }
    }
    let overrides = || {
        user.organizations
            .iter()
            .filter_map(|o| policy.organizations.get(o).map(|s| (o, s)))
    };
    if let Some((id, s)) = overrides()
        .find(|(_, s)| s.mfa == Mfa::Required)
        .or_else(|| overrides().next())
    {
        return (Source::Organization { id: id.clone() }, s);
    }
    (Source::Global, &policy.global)
}

/// What `subject` does next under `policy`.
pub fn evaluate(policy: &Policy, subject: &Subject) -> Decision {
    let (source, settings) = select(policy, subject);
    let user = &subject.user;
    let mfa_required =
        settings.mfa == Mfa::Required || user.org_requires_mfa || subject.mfa_required_globally;
    let usable = usable_methods(settings, user);
    let has_primary_factor = usable
        .iter()
        .any(|(m, _)| m.is_second_factor() && *m != Method::RecoveryCode);
    let has_recovery = usable.iter().any(|(m, _)| *m == Method::RecoveryCode);
    let has_second_factor = has_primary_factor || has_recovery;
    let chains = chains_for(settings, mfa_required, has_second_factor);
    let proven = proven_now(settings, subject);
    let default_chain = settings.chains.is_empty();
    let plans: Vec<ChainPlan> = chains
        .iter()
        .enumerate()
        .filter(|(i, _)| subject.chain.is_none_or(|c| c == *i))
        .map(|(index, chain)| ChainPlan {
            index,
            steps: chain
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    let mut plan = plan_step(step, &usable, &proven);
                    // The default chain's first step asks a user who has a password for it
                    // (OK-8); a passkey proof (passwordless, from the identifier) satisfies it
                    // all the same, and is offered there to users without a password.
                    if default_chain && i == 0 && plan.usable.contains(&Method::Password) {
                        plan.usable.retain(|m| *m == Method::Password);
                    }
                    plan
                })
                .collect(),
        })
        .collect();
    let next = next_step(
        settings,
        subject,
        mfa_required,
        has_primary_factor,
        has_second_factor,
        &plans,
    );
    Decision {
        source,
        mfa_required,
        chains: plans,
        next,
    }
}

/// The methods the user can use now, with their authenticators' traits.
fn usable_methods(settings: &Settings, user: &UserFacts) -> Vec<(Method, Traits)> {
    let mut out: Vec<(Method, Traits)> = Vec::new();
    if user.has_password {
        out.push((Method::Password, Traits::INTERACTION));
    }
    for e in &user.enrolled {
        out.push((e.method, e.traits));
    }
    if settings.factor_sources == FactorSources::EnrolledAndProfile {
        if user.verified_email {
            out.push((Method::Email, Traits::INTERACTION));
        }
        if user.verified_phone {
            out.push((Method::Sms, Traits::INTERACTION));
            out.push((Method::Voice, Traits::INTERACTION));
        }
    }
    out
}

/// The rule's chains, or the default: the password or a passkey that verified the user (a PIN
/// or biometric: passwordless; offered there only to users without a password), then (when MFA
/// applies: required, or the user has a factor) any second factor, which that passkey proof
/// satisfies too.
fn chains_for(settings: &Settings, mfa_required: bool, has_second_factor: bool) -> Vec<Chain> {
    if !settings.chains.is_empty() {
        return settings.chains.clone();
    }
    let any = |methods: &[Method]| Step {
        any_of: methods
            .iter()
            .map(|m| MethodRequirement {
                method: *m,
                requires: Vec::new(),
            })
            .collect(),
    };
    let mut first = any(&[Method::Password]);
    first.any_of.push(MethodRequirement {
        method: Method::Passkey,
        requires: vec![Characteristic::UserVerification],
    });
    let mut steps = vec![first];
    if mfa_required || has_second_factor {
        let second: Vec<Method> = Method::ALL
            .iter()
            .copied()
            .filter(|m| m.is_second_factor())
            .collect();
        steps.push(any(&second));
    }
    vec![Chain { steps }]
}

/// What counts as proven now: this sign-in's proofs, the global session's within the
/// re-authentication window (OK-5, OK-6), and a remembered browser's second factors (A0-7).
fn proven_now(settings: &Settings, subject: &Subject) -> Vec<Satisfied> {
    let mut out = subject.proven.clone();
    if let Some(session) = &subject.session {
        let fresh = |s: &Satisfied| match settings.reauth {
            Reauth::EverySignIn => false,
            Reauth::AfterMinutes { minutes } => {
                subject.now.saturating_sub(s.at) < u64::from(minutes) * 60
            }
            Reauth::NoSession => true,
        };
        out.extend(session.iter().filter(|s| fresh(s)).copied());
    }
    let remembered = settings.remember_browser_days > 0
        && !subject.mfa_audience
        && subject.remembered_at.is_some_and(|at| {
            subject.now.saturating_sub(at) < u64::from(settings.remember_browser_days) * 86_400
        });
    if remembered {
        for m in Method::ALL.iter().filter(|m| m.is_second_factor()) {
            out.push(Satisfied {
                method: *m,
                traits: Traits::default(),
                at: subject.now,
            });
        }
    }
    out
}

fn plan_step(step: &Step, usable: &[(Method, Traits)], proven: &[Satisfied]) -> StepPlan {
    let satisfied = step.any_of.iter().any(|req| {
        proven
            .iter()
            .any(|p| p.method == req.method && req.requires.iter().all(|c| p.traits.has(*c)))
    });
    let mut methods: Vec<Method> = step
        .any_of
        .iter()
        .filter(|req| usable.iter().any(|(m, t)| req.met_by(*m, t)))
        .map(|req| req.method)
        .collect();
    methods.dedup();
    StepPlan {
        any_of: step.any_of.clone(),
        satisfied,
        usable: methods,
    }
}

/// LG-7 / OK-7: a passkey first, then the method used most recently, then the others in the
/// policy's order; backup codes last ("when nothing else can be used").
fn order_offer(mut offer: Vec<Method>, user: &UserFacts) -> Vec<Method> {
    offer.sort();
    offer.dedup();
    let last_used = |m: Method| {
        user.enrolled
            .iter()
            .filter(|e| e.method == m)
            .filter_map(|e| e.last_used_at)
            .max()
    };
    offer.sort_by_key(|m| {
        (
            *m == Method::RecoveryCode,
            *m != Method::Passkey,
            std::cmp::Reverse(last_used(*m)),
        )
    });
    offer
}

/// Distinct enrollments (IBM-4): pairs count once, backup codes not at all.
pub fn distinct_enrollments(user: &UserFacts) -> usize {
    let mut keys: Vec<&str> = user
        .enrolled
        .iter()
        .filter(|e| e.method != Method::RecoveryCode)
        .map(|e| e.pair.as_deref().unwrap_or(&e.id))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len()
}

fn next_step(
    settings: &Settings,
    subject: &Subject,
    mfa_required: bool,
    has_primary_factor: bool,
    has_second_factor: bool,
    plans: &[ChainPlan],
) -> Next {
    let user = &subject.user;
    let enrollable = || {
        let mut m: Vec<Method> = if settings.chains.is_empty() {
            Method::ALL.to_vec()
        } else {
            settings
                .chains
                .iter()
                .flat_map(|c| {
                    c.steps
                        .iter()
                        .flat_map(|s| s.any_of.iter().map(|r| r.method))
                })
                .collect()
        };
        m.retain(|m| m.is_second_factor() && *m != Method::RecoveryCode);
        m.sort();
        m.dedup();
        m
    };
    // A chain is done when every step is proven; open when its first unproven step can be
    // proven; stuck when that step has no usable method.
    let done = plans.iter().any(|p| p.steps.iter().all(|s| s.satisfied));
    if !done {
        let mut offer = Vec::new();
        let mut stuck_on_second_factor = false;
        for p in plans {
            if let Some(step) = p.steps.iter().find(|s| !s.satisfied) {
                if step.usable.is_empty() {
                    stuck_on_second_factor |=
                        step.any_of.iter().all(|r| r.method.is_second_factor());
                } else {
                    offer.extend(step.usable.iter().copied());
                }
            }
        }
        if !offer.is_empty() {
            return Next::Verify {
                offer: order_offer(offer, user),
            };
        }
        // IBM-1: a second-factor step the user has nothing for.
        if stuck_on_second_factor && !has_second_factor {
            return match settings.no_factor {
                NoFactor::Enroll => Next::Enroll {
                    skippable: false,
                    reason: EnrollReason::Required,
                    methods: enrollable(),
                },
                NoFactor::Deny => Next::Deny {
                    reason: "no factor enrolled and the policy denies enrollment at sign-in",
                },
            };
        }
        return Next::Deny {
            reason: "no chain of the policy can be completed with this user's authenticators",
        };
    }
    // Every step proven: what set-up is due before getting in.
    if !has_second_factor && mfa_required {
        return match settings.no_factor {
            NoFactor::Enroll => Next::Enroll {
                skippable: false,
                reason: EnrollReason::Required,
                methods: enrollable(),
            },
            NoFactor::Deny => Next::Deny {
                reason: "no factor enrolled and the policy denies enrollment at sign-in",
            },
        };
    }
    if has_second_factor && !has_primary_factor {
        // LG-11: signed in with a backup code; a new primary factor is due, skippable unless
        // MFA is required.
        return Next::Enroll {
            skippable: !mfa_required,
            reason: EnrollReason::OnlyRecoveryCodes,
            methods: enrollable(),
        };
    }
    if !has_second_factor && !user.prompt_skipped {
        let prompt = match settings.mfa {
            Mfa::Optional { prompt } => prompt,
            Mfa::Required => Prompt::Never,
        };
        let due = match prompt {
            Prompt::Never => false,
            Prompt::AtRegistration => subject.registering,
            // New users at their second sign-in, users older than the policy at their next.
            Prompt::AfterRegistration => {
                !subject.registering
                    && (user.sign_ins >= 1 || user.created_at < subject.policy_since)
            }
        };
        if due {
            return Next::Enroll {
                skippable: true,
                reason: EnrollReason::Prompt,
                methods: enrollable(),
            };
        }
    }
    if let Some(min) = &settings.min_enrollments {
        let applies = min.identity_providers.is_empty()
            || min.identity_providers.contains(&subject.identity_provider);
        if applies && distinct_enrollments(user) < min.count as usize {
            let grace_end = subject
                .policy_since
                .max(user.created_at)
                .saturating_add(u64::from(min.grace_days) * 86_400);
            return Next::Enroll {
                skippable: subject.now < grace_end,
                reason: EnrollReason::MinEnrollments,
                methods: enrollable(),
            };
        }
    }
    Next::Done
}
