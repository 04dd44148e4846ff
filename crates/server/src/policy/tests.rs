//! The evaluator, one case per seed row (../shared/seeds/FEATURES.md), and the validation of
//! malformed policies.

use super::evaluate::{distinct_enrollments, EnrollReason, Source};
use super::*;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn policy(json: &str) -> Policy {
    Policy::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn enrolled(id: &str, method: Method) -> Enrolled {
    Enrolled {
        id: id.into(),
        method,
        pair: None,
        traits: Traits::INTERACTION,
        last_used_at: None,
    }
}

fn push(device: &str, user_verification: bool) -> Enrolled {
    Enrolled {
        id: format!("push|{device}"),
        method: Method::Push,
        pair: Some(device.into()),
        traits: Traits {
            user_verification,
            ..Traits::INTERACTION
        },
        last_used_at: None,
    }
}

fn passkey() -> Enrolled {
    Enrolled {
        id: "passkey|1".into(),
        method: Method::Passkey,
        pair: None,
        traits: Traits {
            phishing_resistant: true,
            hardware_protected: true,
            user_interaction: true,
            user_verification: true,
        },
        last_used_at: None,
    }
}

fn used(mut e: Enrolled, at: u64) -> Enrolled {
    e.last_used_at = Some(at);
    e
}

/// A user with a password, created a year before the policy, who signed in before.
fn user(enrolled: Vec<Enrolled>) -> UserFacts {
    UserFacts {
        has_password: true,
        enrolled,
        created_at: NOW - 400 * DAY,
        sign_ins: 3,
        ..UserFacts::default()
    }
}

fn subject(user: UserFacts) -> Subject {
    Subject {
        user,
        application: Some("app_web".into()),
        identity_provider: "local".into(),
        policy_since: NOW - 30 * DAY,
        now: NOW,
        ..Subject::default()
    }
}

fn proven(methods: &[Method]) -> Vec<Satisfied> {
    methods
        .iter()
        .map(|m| Satisfied {
            method: *m,
            traits: Traits::INTERACTION,
            at: NOW,
        })
        .collect()
}

/// A subject who has just given the password.
fn after_password(user: UserFacts) -> Subject {
    Subject {
        proven: proven(&[Method::Password]),
        ..subject(user)
    }
}

/// The decision in a few words: `verify totp,recovery_code`, `enroll required`, `enroll
/// prompt (skippable)`, `done`, `deny`.
fn summary(d: &Decision) -> String {
    match &d.next {
        Next::Verify { offer } => format!(
            "verify {}",
            offer
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Next::Enroll {
            skippable, reason, ..
        } => {
            let reason = serde_json::to_value(reason).unwrap();
            format!(
                "enroll {}{}",
                reason.as_str().unwrap(),
                if *skippable { " (skippable)" } else { "" }
            )
        }
        Next::Done => "done".into(),
        Next::Deny { .. } => "deny".into(),
    }
}

const REQUIRED: &str = r#"{"global": {"mfa": {"mode": "required"}}}"#;
const OPTIONAL: &str = r#"{"global": {"mfa": {"mode": "optional"}}}"#;

fn optional_with(prompt: &str) -> Policy {
    policy(&format!(
        r#"{{"global": {{"mfa": {{"mode": "optional", "prompt": "{prompt}"}}}}}}"#
    ))
}

#[test]
fn every_seed_row_decides_as_the_seed_says() {
    let totp = || enrolled("totp|a", Method::Totp);
    let codes = || enrolled("recovery-code|a", Method::RecoveryCode);
    let new_user = |sign_ins: u32| UserFacts {
        created_at: NOW - DAY,
        sign_ins,
        ..user(vec![])
    };
    let org_user = |org: &str| UserFacts {
        organizations: vec![org.into()],
        ..user(vec![])
    };
    let org_policy = policy(
        r#"{"global": {"mfa": {"mode": "optional"}},
            "organizations": {"org_strict": {"mfa": {"mode": "required"}},
                              "org_lax": {"mfa": {"mode": "optional", "prompt": "never"}}}}"#,
    );
    let chain_push = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]},
                       {"any_of": [{"method": "push"}]}]}]}}"#,
    );
    let uv_push = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]},
                       {"any_of": [{"method": "push", "requires": ["user_verification"]}]}]}]}}"#,
    );
    let two_chains = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "totp"}]}]},
            {"steps": [{"any_of": [{"method": "passkey", "requires": ["phishing_resistant"]}]}]}]}}"#,
    );
    let either = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]},
                       {"any_of": [{"method": "push"}, {"method": "totp"}]}]}]}}"#,
    );
    let reauth = |mode: &str| {
        policy(&format!(
            r#"{{"global": {{"mfa": {{"mode": "required"}}, "reauth": {mode}}}}}"#
        ))
    };
    let session = |pw_age: u64, totp_age: u64| {
        Some(vec![
            Satisfied {
                method: Method::Password,
                traits: Traits::INTERACTION,
                at: NOW - pw_age,
            },
            Satisfied {
                method: Method::Totp,
                traits: Traits::INTERACTION,
                at: NOW - totp_age,
            },
        ])
    };
    let deny = policy(r#"{"global": {"mfa": {"mode": "required"}, "no_factor": "deny"}}"#);
    let profile = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "factor_sources": "enrolled_and_profile"}}"#,
    );
    let min2 = policy(
        r#"{"global": {"mfa": {"mode": "optional"},
            "min_enrollments": {"count": 2, "grace_days": 7, "identity_providers": ["local"]}}}"#,
    );
    let phone = |id: &str, method: Method| Enrolled {
        pair: Some("+15550100".into()),
        ..enrolled(id, method)
    };
    let remember =
        policy(r#"{"global": {"mfa": {"mode": "required"}, "remember_browser_days": 30}}"#);
    let remembered = |days_ago: u64, mfa_audience: bool| Subject {
        remembered_at: Some(NOW - days_ago * DAY),
        mfa_audience,
        ..after_password(user(vec![totp()]))
    };

    let cases: Vec<(&str, Policy, Subject, &str)> = vec![
        // LG-2: required MFA cannot be skipped; no factor means set-up before getting in.
        (
            "LG-2 required: the password first",
            policy(REQUIRED),
            subject(user(vec![])),
            "verify password",
        ),
        (
            "LG-2 required, no factor: forced set-up",
            policy(REQUIRED),
            after_password(user(vec![])),
            "enroll required",
        ),
        (
            "LG-2 required, a factor: use it",
            policy(REQUIRED),
            after_password(user(vec![totp()])),
            "verify totp",
        ),
        (
            "LG-2 required, factor proven: in",
            policy(REQUIRED),
            Subject {
                proven: proven(&[Method::Password, Method::Totp]),
                ..subject(user(vec![totp()]))
            },
            "done",
        ),
        (
            "LG-2 optional, a factor set up: it is asked",
            policy(OPTIONAL),
            after_password(user(vec![totp()])),
            "verify totp",
        ),
        // LG-3: prompt policies when MFA is optional.
        (
            "LG-3 never prompt",
            optional_with("never"),
            after_password(user(vec![])),
            "done",
        ),
        (
            "LG-3 at registration: prompted while registering",
            optional_with("at_registration"),
            Subject {
                registering: true,
                ..after_password(new_user(0))
            },
            "enroll prompt (skippable)",
        ),
        (
            "LG-3 at registration: not at later sign-ins",
            optional_with("at_registration"),
            after_password(new_user(1)),
            "done",
        ),
        (
            "LG-3 after registration: not while registering",
            optional_with("after_registration"),
            Subject {
                registering: true,
                ..after_password(new_user(0))
            },
            "done",
        ),
        (
            "LG-3 after registration: a new user at the 2nd sign-in",
            optional_with("after_registration"),
            after_password(new_user(1)),
            "enroll prompt (skippable)",
        ),
        (
            "LG-3 after registration: an existing user at the next",
            optional_with("after_registration"),
            after_password(UserFacts {
                sign_ins: 0,
                ..user(vec![])
            }),
            "enroll prompt (skippable)",
        ),
        (
            "LG-3 skipped: never shown again",
            optional_with("after_registration"),
            after_password(UserFacts {
                prompt_skipped: true,
                ..new_user(5)
            }),
            "done",
        ),
        // LG-4: a reset skip state brings the prompt back.
        (
            "LG-4 skip reset: prompted again",
            optional_with("after_registration"),
            after_password(UserFacts {
                prompt_skipped: false,
                ..new_user(6)
            }),
            "enroll prompt (skippable)",
        ),
        // LG-5: an organization that requires MFA of its members.
        (
            "LG-5 member of a requiring organization",
            org_policy.clone(),
            after_password(org_user("org_strict")),
            "enroll required",
        ),
        (
            "LG-5 member of a lax organization",
            org_policy.clone(),
            after_password(org_user("org_lax")),
            "done",
        ),
        (
            "LG-5 a required override wins over another organization's",
            org_policy.clone(),
            after_password(UserFacts {
                organizations: vec!["org_lax".into(), "org_strict".into()],
                ..user(vec![])
            }),
            "enroll required",
        ),
        (
            "LG-5 the organization's require_mfa flag",
            policy(OPTIONAL),
            after_password(UserFacts {
                org_requires_mfa: true,
                ..user(vec![])
            }),
            "enroll required",
        ),
        // LG-7 / OK-7: one factor directly; several: passkey first, else the last used.
        (
            "LG-7 one factor: used directly",
            policy(REQUIRED),
            after_password(user(vec![totp()])),
            "verify totp",
        ),
        (
            "LG-7 several: passkey first",
            policy(REQUIRED),
            after_password(user(vec![used(totp(), NOW - 10), passkey(), codes()])),
            "verify passkey,totp,recovery_code",
        ),
        (
            "OK-7 several: the last used first, backup codes last",
            policy(REQUIRED),
            after_password(user(vec![
                codes(),
                used(push("dev1", false), NOW - 100),
                used(totp(), NOW - 50),
            ])),
            "verify totp,push,recovery_code",
        ),
        // LG-11: after an admin removed factors.
        (
            "LG-11 none left, required: in with the password, then set-up at once",
            policy(REQUIRED),
            after_password(user(vec![])),
            "enroll required",
        ),
        (
            "LG-11 backup codes left: verify with one first",
            policy(REQUIRED),
            after_password(user(vec![codes()])),
            "verify recovery_code",
        ),
        (
            "LG-11 backup code used, required: a new factor, no skipping",
            policy(REQUIRED),
            Subject {
                proven: proven(&[Method::Password, Method::RecoveryCode]),
                ..subject(user(vec![codes()]))
            },
            "enroll only_recovery_codes",
        ),
        (
            "LG-11 backup code used, optional: a new factor, skippable",
            policy(OPTIONAL),
            Subject {
                proven: proven(&[Method::Password, Method::RecoveryCode]),
                ..subject(user(vec![codes()]))
            },
            "enroll only_recovery_codes (skippable)",
        ),
        // OK-1: a chain in a fixed order; only its methods count.
        (
            "OK-1 chain password then push",
            chain_push.clone(),
            after_password(user(vec![totp(), push("dev1", false)])),
            "verify push",
        ),
        (
            "OK-1 chain order: the password first",
            chain_push.clone(),
            subject(user(vec![push("dev1", false)])),
            "verify password",
        ),
        (
            "OK-1 a chain the user cannot complete",
            chain_push,
            after_password(user(vec![totp()])),
            "deny",
        ),
        // OK-2: characteristics.
        (
            "OK-2 push without user verification does not qualify",
            uv_push.clone(),
            after_password(user(vec![push("dev1", false)])),
            "deny",
        ),
        (
            "OK-2 push with user verification qualifies",
            uv_push,
            after_password(user(vec![push("dev1", true)])),
            "verify push",
        ),
        // OK-3: several chains; the first method of each is offered; a choice selects one.
        (
            "OK-3 first methods of every chain",
            two_chains.clone(),
            subject(user(vec![totp(), passkey()])),
            "verify passkey,password",
        ),
        (
            "OK-3 the chosen chain only",
            two_chains.clone(),
            Subject {
                chain: Some(1),
                ..subject(user(vec![totp(), passkey()]))
            },
            "verify passkey",
        ),
        (
            "OK-3 a passkey alone completes its chain",
            two_chains.clone(),
            Subject {
                proven: vec![Satisfied {
                    method: Method::Passkey,
                    traits: passkey().traits,
                    at: NOW,
                }],
                ..subject(user(vec![passkey()]))
            },
            "done",
        ),
        (
            "OK-3 a chain's characteristic is checked on the proof",
            two_chains,
            Subject {
                chain: Some(1),
                proven: proven(&[Method::Passkey]),
                ..subject(user(vec![passkey()]))
            },
            "verify passkey",
        ),
        // OK-4: any method of a step satisfies it.
        (
            "OK-4 any of push or totp",
            either.clone(),
            after_password(user(vec![totp(), push("dev1", false)])),
            "verify push,totp",
        ),
        (
            "OK-4 totp satisfies the step",
            either,
            Subject {
                proven: proven(&[Method::Password, Method::Totp]),
                ..subject(user(vec![totp()]))
            },
            "done",
        ),
        // OK-5 / OK-6: re-authentication.
        (
            "OK-5 every sign-in: the session does not count",
            reauth(r#"{"mode": "every_sign_in"}"#),
            Subject {
                session: session(60, 60),
                ..subject(user(vec![totp()]))
            },
            "verify password",
        ),
        (
            "OK-6 within the window: the chain continues at its next step",
            reauth(r#"{"mode": "after_minutes", "minutes": 30}"#),
            Subject {
                session: session(10 * 60, 40 * 60),
                ..subject(user(vec![totp()]))
            },
            "verify totp",
        ),
        (
            "OK-5 both within the window: nothing asked",
            reauth(r#"{"mode": "after_minutes", "minutes": 30}"#),
            Subject {
                session: session(10 * 60, 20 * 60),
                ..subject(user(vec![totp()]))
            },
            "done",
        ),
        (
            "OK-5 only without a global session: with one",
            reauth(r#"{"mode": "no_session"}"#),
            Subject {
                session: session(40 * DAY, 40 * DAY),
                ..subject(user(vec![totp()]))
            },
            "done",
        ),
        (
            "OK-5 only without a global session: without one",
            reauth(r#"{"mode": "no_session"}"#),
            subject(user(vec![totp()])),
            "verify password",
        ),
        // OK-8: a policy that demands a password asks for it first, whatever else the user has.
        (
            "OK-8 the password first",
            policy(REQUIRED),
            subject(user(vec![passkey(), totp()])),
            "verify password",
        ),
        // IBM-1: no factor enrolled.
        (
            "IBM-1 deny",
            deny.clone(),
            after_password(user(vec![])),
            "deny",
        ),
        (
            "IBM-1 deny does not touch users with a factor",
            deny,
            after_password(user(vec![totp()])),
            "verify totp",
        ),
        (
            "IBM-1 enroll",
            policy(REQUIRED),
            after_password(user(vec![])),
            "enroll required",
        ),
        // IBM-2: sources of second factors.
        (
            "IBM-2 profile email counts",
            profile.clone(),
            after_password(UserFacts {
                verified_email: true,
                ..user(vec![])
            }),
            "verify email",
        ),
        (
            "IBM-2 profile phone counts for SMS and voice",
            profile,
            after_password(UserFacts {
                verified_phone: true,
                ..user(vec![])
            }),
            "verify sms,voice",
        ),
        (
            "IBM-2 enrolled only: the profile does not count",
            policy(REQUIRED),
            after_password(UserFacts {
                verified_email: true,
                ..user(vec![])
            }),
            "enroll required",
        ),
        // IBM-4: a minimum of distinct enrollments with a grace period.
        (
            "IBM-4 a device's push and TOTP count once: skippable in the grace period",
            min2.clone(),
            Subject {
                policy_since: NOW - 2 * DAY,
                proven: proven(&[Method::Password, Method::Push]),
                ..subject(user(vec![
                    push("dev1", false),
                    Enrolled {
                        pair: Some("dev1".into()),
                        ..totp()
                    },
                ]))
            },
            "enroll min_enrollments (skippable)",
        ),
        (
            "IBM-4 after the grace period: no skipping",
            min2.clone(),
            Subject {
                policy_since: NOW - 8 * DAY,
                proven: proven(&[Method::Password, Method::Push]),
                ..subject(user(vec![push("dev1", false)]))
            },
            "enroll min_enrollments",
        ),
        (
            "IBM-4 SMS and voice on one phone count once",
            min2.clone(),
            Subject {
                policy_since: NOW - 8 * DAY,
                proven: proven(&[Method::Password, Method::Sms]),
                ..subject(user(vec![
                    phone("sms|1", Method::Sms),
                    phone("voice|1", Method::Voice),
                ]))
            },
            "enroll min_enrollments",
        ),
        (
            "IBM-4 two distinct enrollments: in",
            min2.clone(),
            Subject {
                policy_since: NOW - 8 * DAY,
                proven: proven(&[Method::Password, Method::Sms]),
                ..subject(user(vec![phone("sms|1", Method::Sms), totp()]))
            },
            "done",
        ),
        (
            "IBM-4 another identity provider: not applied",
            min2,
            Subject {
                identity_provider: "corporate-saml".into(),
                policy_since: NOW - 8 * DAY,
                proven: proven(&[Method::Password, Method::Totp]),
                ..subject(user(vec![totp()]))
            },
            "done",
        ),
        // A0-7: "remember this browser" and the MFA API audience.
        (
            "A0-7 a remembered browser skips the second factor",
            remember.clone(),
            remembered(1, false),
            "done",
        ),
        (
            "A0-7 no effect when the MFA audience is requested",
            remember.clone(),
            remembered(1, true),
            "verify totp",
        ),
        (
            "A0-7 a remembered browser expires",
            remember,
            remembered(31, false),
            "verify totp",
        ),
        (
            "A0-7 a remembered browser does not meet a characteristic",
            policy(
                r#"{"global": {"mfa": {"mode": "required"}, "remember_browser_days": 30, "chains": [
                {"steps": [{"any_of": [{"method": "password"}]},
                           {"any_of": [{"method": "push", "requires": ["user_verification"]}]}]}]}}"#,
            ),
            Subject {
                remembered_at: Some(NOW - DAY),
                ..after_password(user(vec![push("dev1", true)]))
            },
            "verify push",
        ),
    ];
    let mut failures = Vec::new();
    for (id, policy, subject, want) in &cases {
        let got = summary(&evaluate(policy, subject));
        if got != *want {
            failures.push(format!("{id}: want `{want}`, got `{got}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_match_by_application_organization_and_group_then_overrides_then_global() {
    let p = policy(
        r#"{"global": {"mfa": {"mode": "optional"}},
            "organizations": {"org_a": {"mfa": {"mode": "required"}}},
            "rules": [
              {"name": "admins of the console", "when": {"applications": ["console"], "groups": ["admins"]},
               "then": {"mfa": {"mode": "required"}, "reauth": {"mode": "after_minutes", "minutes": 15}}},
              {"name": "the wiki", "when": {"applications": ["wiki"]}, "then": {"mfa": {"mode": "optional"}}}]}"#,
    );
    let at = |app: Option<&str>, orgs: &[&str], groups: &[&str]| {
        let mut s = subject(user(vec![]));
        s.application = app.map(str::to_owned);
        s.user.organizations = orgs.iter().map(|o| (*o).to_owned()).collect();
        s.user.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        evaluate(&p, &s).source
    };
    assert_eq!(
        at(Some("console"), &[], &["admins"]),
        Source::Rule {
            index: 0,
            name: "admins of the console".into()
        }
    );
    // The console without the group: no rule; the organization's override.
    assert_eq!(
        at(Some("console"), &["org_a"], &["staff"]),
        Source::Organization { id: "org_a".into() }
    );
    // The wiki's rule comes before the organization's override.
    assert!(matches!(
        at(Some("wiki"), &["org_a"], &[]),
        Source::Rule { index: 1, .. }
    ));
    // No application (the account pages): rules naming applications do not match.
    assert_eq!(at(None, &[], &["admins"]), Source::Global);
    assert_eq!(at(Some("console"), &[], &[]), Source::Global);
}

#[test]
fn the_decision_lists_each_chain_and_its_progress() {
    let p = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "push"}, {"method": "totp"}]}]}]}}"#,
    );
    let d = evaluate(
        &p,
        &after_password(user(vec![enrolled("totp|a", Method::Totp)])),
    );
    assert!(d.mfa_required);
    assert_eq!(d.chains.len(), 1);
    let steps = &d.chains[0].steps;
    assert!(steps[0].satisfied && !steps[1].satisfied);
    assert_eq!(steps[1].usable, vec![Method::Totp], "no push enrolled");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["next"], "verify");
    assert_eq!(json["offer"], serde_json::json!(["totp"]));
    assert_eq!(json["source"]["kind"], "global");
}

#[test]
fn set_up_offers_the_policy_s_second_factors() {
    let p = policy(
        r#"{"global": {"mfa": {"mode": "required"}, "chains": [
            {"steps": [{"any_of": [{"method": "password"}]}, {"any_of": [{"method": "push"}, {"method": "totp"}]}]}]}}"#,
    );
    match evaluate(&p, &after_password(user(vec![]))).next {
        Next::Enroll {
            skippable: false,
            reason: EnrollReason::Required,
            methods,
        } => assert_eq!(methods, vec![Method::Push, Method::Totp]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn distinct_enrollments_count_pairs_once_and_backup_codes_never() {
    let u = user(vec![
        push("dev1", false),
        Enrolled {
            pair: Some("dev1".into()),
            ..enrolled("totp|dev1", Method::Totp)
        },
        enrolled("totp|b", Method::Totp),
        enrolled("recovery-code|a", Method::RecoveryCode),
    ]);
    assert_eq!(distinct_enrollments(&u), 2);
}

#[test]
fn malformed_policies_are_refused_naming_the_field() {
    let cases = [
        (
            r#"{"global": {"mfa": {"mode": "required"}, "chains": [{"steps": [{"any_of": [{"method": "carrier_pigeon"}]}]}]}}"#,
            "`global.chains[0].steps[0].any_of[0].method`",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "chains": [{"steps": []}]}}"#,
            "`global.chains[0].steps`: a chain needs at least one step",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "chains": [{"steps": [{"any_of": []}]}]}}"#,
            "`global.chains[0].steps[0].any_of`: a step needs at least one method",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "chains": [{"steps": [
                {"any_of": [{"method": "password"}]}, {"any_of": [{"method": "totp"}]},
                {"any_of": [{"method": "password"}]}]}]}}"#,
            "`global.chains[0].steps[2].any_of[0].method`: `password` already appears in step 0",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "chains": [{"steps": [
                {"any_of": [{"method": "totp", "requires": ["phishing_resistant"]}]}]}]}}"#,
            "`global.chains[0].steps[0].any_of[0].requires`: no `totp` authenticator can be phishing_resistant",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "reauth": {"mode": "after_minutes", "minutes": 0}}}"#,
            "`global.reauth.minutes`",
        ),
        (
            r#"{"global": {"mfa": {"mode": "sometimes"}}}"#,
            "`global.mfa.mode`: unknown variant `sometimes`, expected `required` or `optional`",
        ),
        (
            r#"{"global": {"mfa": {"mode": "required"}, "colour": "blue"}}"#,
            "unknown field `colour`",
        ),
        (
            r#"{"global": {"mfa": {"mode": "optional"}}, "rules": [
                {"name": "a", "then": {"mfa": {"mode": "required"}}},
                {"name": "a", "then": {"mfa": {"mode": "required"}}}]}"#,
            "`rules[1].name`: `a` is used twice",
        ),
        (
            r#"{"global": {"mfa": {"mode": "optional"}}, "rules": [
                {"name": "r", "then": {"mfa": {"mode": "optional"}, "min_enrollments": {"count": 0}}}]}"#,
            "`rules[0].then.min_enrollments.count`",
        ),
        (r#"{"rules": []}"#, "missing field `global`"),
    ];
    for (json, want) in cases {
        let err = Policy::parse(json.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(want), "{json}\n  want: {want}\n  got:  {err}");
    }
}

#[test]
fn a_policy_survives_its_own_serialisation() {
    let json = r#"{"global": {"mfa": {"mode": "optional", "prompt": "after_registration"},
        "chains": [{"steps": [{"any_of": [{"method": "password"}]},
                              {"any_of": [{"method": "passkey", "requires": ["phishing_resistant", "user_verification"]}]}]}],
        "reauth": {"mode": "after_minutes", "minutes": 60}, "no_factor": "deny",
        "factor_sources": "enrolled_and_profile",
        "min_enrollments": {"count": 2, "grace_days": 14, "identity_providers": ["local"]},
        "remember_browser_days": 30},
      "organizations": {"org_x": {"mfa": {"mode": "required"}}},
      "rules": [{"name": "console", "when": {"applications": ["console"]}, "then": {"mfa": {"mode": "required"}}}]}"#;
    let p = policy(json);
    let again = Policy::parse(&serde_json::to_vec(&p).unwrap()).unwrap();
    assert_eq!(p, again);
    assert_eq!(Policy::default().global, Settings::permissive());
}

#[test]
fn the_example_in_the_docs_is_a_valid_policy_that_decides_as_described() {
    let doc = include_str!("../../../../docs/policies.md");
    let start = doc.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let p = policy(&doc[start..end]);
    // "the one chosen selects the chain": a console user with a passkey and a TOTP is offered
    // the first method of each chain, the passkey first.
    let s = Subject {
        application: Some("console".into()),
        ..subject(user(vec![passkey(), enrolled("totp|a", Method::Totp)]))
    };
    let d = evaluate(&p, &s);
    assert!(matches!(d.source, Source::Rule { index: 0, .. }));
    assert_eq!(summary(&d), "verify passkey,password");
    // A finance member on another application: the organization's override requires MFA.
    let s = Subject {
        application: Some("wiki".into()),
        ..after_password(UserFacts {
            organizations: vec!["org_finance".into()],
            ..user(vec![])
        })
    };
    assert_eq!(summary(&evaluate(&p, &s)), "enroll required");
}
