//! The policy document: what an administrator writes (JSON through the management API) and
//! its validation, whose errors name the field at fault (`rules[1].then.chains[0].steps[2]`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A way of proving who one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The account password (the primary factor).
    Password,
    /// A passkey (WebAuthn).
    Passkey,
    /// A push approved on an enrolled device, with number matching.
    Push,
    /// A QR code shown by the sign-in page, approved on an enrolled device.
    QrLogin,
    /// A TOTP code from an authenticator app.
    Totp,
    /// A code sent by email.
    Email,
    /// A code sent by SMS.
    Sms,
    /// A code read out by a voice call.
    Voice,
    /// A single-use backup code.
    RecoveryCode,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 9] = [
        Method::Password,
        Method::Passkey,
        Method::Push,
        Method::QrLogin,
        Method::Totp,
        Method::Email,
        Method::Sms,
        Method::Voice,
        Method::RecoveryCode,
    ];

    /// The name used in policies and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Passkey => "passkey",
            Method::Push => "push",
            Method::QrLogin => "qr_login",
            Method::Totp => "totp",
            Method::Email => "email",
            Method::Sms => "sms",
            Method::Voice => "voice",
            Method::RecoveryCode => "recovery_code",
        }
    }

    /// Everything but the password is a second factor.
    pub fn is_second_factor(self) -> bool {
        self != Method::Password
    }

    /// Whether an authenticator of this method can have characteristic `c` at best (OK-2):
    /// every method needs the user to act; only a passkey resists phishing (its signature is
    /// bound to the origin by the browser); keys held by an enrolled device (push, QR login)
    /// and passkeys can be hardware-protected and gated by a PIN or biometric.
    pub fn can_have(self, c: Characteristic) -> bool {
        match c {
            Characteristic::UserInteraction => true,
            Characteristic::PhishingResistant => self == Method::Passkey,
            Characteristic::HardwareProtected | Characteristic::UserVerification => {
                matches!(self, Method::Passkey | Method::Push | Method::QrLogin)
            }
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A characteristic a rule may demand of the authenticator that satisfies a method (OK-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Characteristic {
    /// The proof cannot be relayed by a look-alike site.
    PhishingResistant,
    /// The key never leaves hardware (a TPM, a secure element, a security key).
    HardwareProtected,
    /// The user must act (not a silent background approval).
    UserInteraction,
    /// A PIN or biometric unlocks the key.
    UserVerification,
}

impl Characteristic {
    /// The name used in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Characteristic::PhishingResistant => "phishing_resistant",
            Characteristic::HardwareProtected => "hardware_protected",
            Characteristic::UserInteraction => "user_interaction",
            Characteristic::UserVerification => "user_verification",
        }
    }
}

/// What an enrolled authenticator offers, recorded when it is enrolled (a push key created
/// with user verification, a passkey's flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Traits {
    /// See [`Characteristic::PhishingResistant`].
    pub phishing_resistant: bool,
    /// See [`Characteristic::HardwareProtected`].
    pub hardware_protected: bool,
    /// See [`Characteristic::UserInteraction`].
    pub user_interaction: bool,
    /// See [`Characteristic::UserVerification`].
    pub user_verification: bool,
}

impl Traits {
    /// Just user interaction: what a typed code or a password offers.
    pub const INTERACTION: Traits = Traits {
        phishing_resistant: false,
        hardware_protected: false,
        user_interaction: true,
        user_verification: false,
    };

    /// Whether these traits include `c`.
    pub fn has(&self, c: Characteristic) -> bool {
        match c {
            Characteristic::PhishingResistant => self.phishing_resistant,
            Characteristic::HardwareProtected => self.hardware_protected,
            Characteristic::UserInteraction => self.user_interaction,
            Characteristic::UserVerification => self.user_verification,
        }
    }
}

/// A method, with the characteristics its authenticator must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodRequirement {
    /// The method.
    pub method: Method,
    /// Characteristics demanded of the authenticator (OK-2); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Characteristic>,
}

impl MethodRequirement {
    /// Whether an authenticator of `method` with `traits` meets this requirement.
    pub fn met_by(&self, method: Method, traits: &Traits) -> bool {
        self.method == method && self.requires.iter().all(|c| traits.has(*c))
    }
}

/// One step of a chain: any one of its methods satisfies it (OK-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The methods, any one of which satisfies the step.
    pub any_of: Vec<MethodRequirement>,
}

/// Steps to pass in order (OK-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Whether MFA is required, and when a user without it is asked to set it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mfa {
    /// LG-2: no skipping; a user without a factor sets one up before getting in.
    Required,
    /// LG-3: users who set up a factor use it; the others are prompted as `prompt` says.
    Optional {
        /// When to offer set-up to a user without a factor.
        #[serde(default)]
        prompt: Prompt,
    },
}

/// When a user without MFA is offered to set it up, MFA being optional (LG-3). Every prompt can
/// be skipped, and a skipped prompt is never shown again until the skip is reset (LG-4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Never.
    #[default]
    Never,
    /// While registering.
    AtRegistration,
    /// At the sign-in after registration: new users at their second sign-in, users who existed
    /// before the policy at their next.
    AfterRegistration,
}

/// How often methods are asked again (OK-5); a method satisfied within the window is not asked
/// again and the chain continues at its next step (OK-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reauth {
    /// At every sign-in to the resource.
    EverySignIn,
    /// When more than `minutes` have passed since the method was satisfied in the global session.
    AfterMinutes {
        /// The window, minutes (1–525 600, a year).
        minutes: u32,
    },
    /// Only when there is no global session.
    NoSession,
}

/// What happens when MFA must be passed and the user has no factor to pass it with (IBM-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoFactor {
    /// The user sets one up inside the sign-in (default).
    #[default]
    Enroll,
    /// The sign-in is refused.
    Deny,
}

/// Where second factors come from (IBM-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorSources {
    /// Enrolled authenticators only (default).
    #[default]
    Enrolled,
    /// Also the profile's verified email address (email codes) and phone number (SMS, voice).
    EnrolledAndProfile,
}

/// A minimum number of distinct enrollments (IBM-4): SMS and voice on one phone count once, a
/// device's push and its paired TOTP count once, backup codes do not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinEnrollments {
    /// How many (1–10).
    pub count: u32,
    /// Days after the policy took effect (or the user was created, if later) during which the
    /// user may skip (0–365).
    #[serde(default)]
    pub grace_days: u32,
    /// Identity providers it applies to (`local` for Tessera's own accounts); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_providers: Vec<String>,
}

/// What a rule decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Required or optional MFA (LG-2/LG-3).
    pub mfa: Mfa,
    /// Method chains (OK-1/OK-3); empty: the password, then any second factor the user has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<Chain>,
    /// Re-authentication frequency (OK-5).
    #[serde(default = "Settings::default_reauth")]
    pub reauth: Reauth,
    /// IBM-1.
    #[serde(default)]
    pub no_factor: NoFactor,
    /// IBM-2.
    #[serde(default)]
    pub factor_sources: FactorSources,
    /// IBM-4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_enrollments: Option<MinEnrollments>,
    /// "Remember this browser" for this many days (0: off). A remembered browser skips second
    /// factors, except when the MFA API audience is requested (A0-7). At most 365.
    #[serde(default)]
    pub remember_browser_days: u32,
}

impl Settings {
    fn default_reauth() -> Reauth {
        Reauth::EverySignIn
    }

    /// Optional MFA, never prompted, every sign-in: what a server without a policy does.
    pub fn permissive() -> Self {
        Settings {
            mfa: Mfa::Optional {
                prompt: Prompt::Never,
            },
            chains: Vec::new(),
            reauth: Reauth::EverySignIn,
            no_factor: NoFactor::Enroll,
            factor_sources: FactorSources::Enrolled,
            min_enrollments: None,
            remember_browser_days: 0,
        }
    }
}

/// Which sign-ins a rule applies to; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conditions {
    /// Application client ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
    /// Organization ids; the user must belong to one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
    /// Groups; the user must belong to one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The typing-rhythm signal (docs/signals.md); never matches before the password is typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing_anomaly: Option<TypingCondition>,
}

/// A condition on the typing-rhythm signal: it holds when the score is at least `at_least`,
/// when the page sent no timings and `no_sample` is set, or when the profile cannot judge yet
/// and `learning` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypingCondition {
    /// A score (0–100) at or above which the condition holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u8>,
    /// Holds when the page sent no timings.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_sample: bool,
    /// Holds while the user's profile cannot judge.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub learning: bool,
}

impl TypingCondition {
    /// Whether the sign-in's signal meets the condition (`None`: no password typed yet).
    pub fn matches(&self, signal: Option<super::evaluate::TypingSignal>) -> bool {
        use super::evaluate::TypingSignal;
        match signal {
            None => false,
            Some(TypingSignal::NoSample) => self.no_sample,
            Some(TypingSignal::Learning) => self.learning,
            Some(TypingSignal::Score(s)) => self.at_least.is_some_and(|t| s >= t),
        }
    }
}

/// A rule: its conditions and what it decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A unique name (1–64 characters), shown by the dry run.
    pub name: String,
    /// When it applies.
    #[serde(default)]
    pub when: Conditions,
    /// What it decides.
    pub then: Settings,
}

/// The sign-in policy: rules matched in order (first match wins), then the overrides of the
/// user's organizations (LG-5), then the global settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The global sign-in policy.
    pub global: Settings,
    /// Per-organization overrides, by organization id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub organizations: BTreeMap<String, Settings>,
    /// Per-application (and group) rules, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            global: Settings::permissive(),
            organizations: BTreeMap::new(),
            rules: Vec::new(),
        }
    }
}

/// The longest re-authentication window, minutes (a year).
pub const REAUTH_MINUTES_MAX: u32 = 525_600;
/// Most rules in one policy.
pub const MAX_RULES: usize = 200;
/// Most chains per rule, steps per chain and methods per step.
pub const MAX_PARTS: usize = 16;

fn invalid(field: impl std::fmt::Display, why: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("`{field}`: {why}"))
}

impl Policy {
    /// Parses and validates a policy; the error names the field (`rules[0].then.mfa.mode: …`).
    pub fn parse(json: &[u8]) -> Result<Policy> {
        let de = &mut serde_json::Deserializer::from_slice(json);
        let policy: Policy = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            // A policy holds no secret: the deserializer's message is kept whole.
            let inner = e.into_inner().to_string();
            if path == "." {
                Error::InvalidRequest(inner)
            } else {
                Error::InvalidRequest(format!("`{path}`: {inner}"))
            }
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks what the types cannot: non-empty chains and steps, no method twice in a chain,
    /// characteristics some method can meet, bounds and unique names.
    pub fn validate(&self) -> Result<()> {
        self.global.validate("global")?;
        for (org, s) in &self.organizations {
            if org.is_empty() || org.len() > 64 {
                return Err(invalid(
                    "organizations",
                    "an organization id has 1–64 characters",
                ));
            }
            s.validate(&format!("organizations.{org}"))?;
        }
        if self.rules.len() > MAX_RULES {
            return Err(invalid("rules", format!("at most {MAX_RULES} rules")));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            let n = r.name.trim();
            if n.is_empty() || n.chars().count() > 64 {
                return Err(invalid(format!("{at}.name"), "1–64 characters"));
            }
            if !names.insert(n.to_owned()) {
                return Err(invalid(
                    format!("{at}.name"),
                    format!("`{n}` is used twice"),
                ));
            }
            for (field, values) in [
                ("applications", &r.when.applications),
                ("organizations", &r.when.organizations),
                ("groups", &r.when.groups),
            ] {
                if values.len() > 100 || values.iter().any(|v| v.is_empty() || v.len() > 128) {
                    return Err(invalid(
                        format!("{at}.when.{field}"),
                        "at most 100 values of 1–128 characters",
                    ));
                }
            }
            if let Some(t) = &r.when.typing_anomaly {
                if t.at_least.is_some_and(|v| v > 100) {
                    return Err(invalid(
                        format!("{at}.when.typing_anomaly.at_least"),
                        "a score in 0–100",
                    ));
                }
                if t.at_least.is_none() && !t.no_sample && !t.learning {
                    return Err(invalid(
                        format!("{at}.when.typing_anomaly"),
                        "set `at_least`, `no_sample` or `learning` (else it never holds)",
                    ));
                }
            }
            r.then.validate(&format!("{at}.then"))?;
        }
        Ok(())
    }
}

impl Settings {
    fn validate(&self, at: &str) -> Result<()> {
        if self.chains.len() > MAX_PARTS {
            return Err(invalid(
                format!("{at}.chains"),
                format!("at most {MAX_PARTS} chains"),
            ));
        }
        for (c, chain) in self.chains.iter().enumerate() {
            let at = format!("{at}.chains[{c}]");
            if chain.steps.is_empty() {
                return Err(invalid(
                    format!("{at}.steps"),
                    "a chain needs at least one step",
                ));
            }
            if chain.steps.len() > MAX_PARTS {
                return Err(invalid(
                    format!("{at}.steps"),
                    format!("at most {MAX_PARTS} steps"),
                ));
            }
            let mut seen: BTreeMap<Method, usize> = BTreeMap::new();
            for (s, step) in chain.steps.iter().enumerate() {
                let at = format!("{at}.steps[{s}]");
                if step.any_of.is_empty() {
                    return Err(invalid(
                        format!("{at}.any_of"),
                        "a step needs at least one method",
                    ));
                }
                if step.any_of.len() > MAX_PARTS {
                    return Err(invalid(
                        format!("{at}.any_of"),
                        format!("at most {MAX_PARTS} methods"),
                    ));
                }
                for (m, req) in step.any_of.iter().enumerate() {
                    let at = format!("{at}.any_of[{m}]");
                    // A method met twice in one chain would loop the user through it again.
                    if let Some(first) = seen.insert(req.method, s) {
                        return Err(invalid(
                            format!("{at}.method"),
                            format!(
                                "`{}` already appears in step {first} of this chain",
                                req.method
                            ),
                        ));
                    }
                    if let Some(c) = req.requires.iter().find(|c| !req.method.can_have(**c)) {
                        return Err(invalid(
                            format!("{at}.requires"),
                            format!("no `{}` authenticator can be {}", req.method, c.as_str()),
                        ));
                    }
                }
            }
        }
        if let Reauth::AfterMinutes { minutes } = self.reauth {
            if !(1..=REAUTH_MINUTES_MAX).contains(&minutes) {
                return Err(invalid(
                    format!("{at}.reauth.minutes"),
                    format!("1–{REAUTH_MINUTES_MAX}"),
                ));
            }
        }
        if let Some(min) = &self.min_enrollments {
            if !(1..=10).contains(&min.count) {
                return Err(invalid(format!("{at}.min_enrollments.count"), "1–10"));
            }
            if min.grace_days > 365 {
                return Err(invalid(format!("{at}.min_enrollments.grace_days"), "0–365"));
            }
            if min
                .identity_providers
                .iter()
                .any(|p| p.is_empty() || p.len() > 64)
            {
                return Err(invalid(
                    format!("{at}.min_enrollments.identity_providers"),
                    "names of 1–64 characters",
                ));
            }
        }
        if self.remember_browser_days > 365 {
            return Err(invalid(format!("{at}.remember_browser_days"), "0–365"));
        }
        Ok(())
    }
}
