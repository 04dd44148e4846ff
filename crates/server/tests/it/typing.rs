//! The typing-rhythm signal (docs/signals.md) from outside, on both engines: the profile is
//! learned only from finished sign-ins, a rule on the signal demands TOTP of an unusual rhythm
//! and not of the usual one, bad timings answer 400, the profile is sealed in the database and
//! goes with a password change and with the user; the dry run takes the signal.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;
use tessera_server::signin::typing::{self, Profile};

use super::signin_flow::Browser;
use super::{config_in, error_code, oathtool, t0_clock, Server};

const PW: &str = "correct horse battery";

/// Timings for the 21 keys of [`PW`]: this user's rhythm (slow, even keys), varied a little by
/// `k`, or someone else's (quick, uneven).
fn timings(usual: bool, k: u32) -> Value {
    let n = PW.chars().count();
    let jitter = |i: usize| f64::from((k * 7 + u32::try_from(i).unwrap() * 13) % 11) - 5.0;
    let (dwell, flight): (Vec<f64>, Vec<f64>) = if usual {
        (
            (0..n).map(|i| 110.0 + jitter(i)).collect(),
            (0..n - 1)
                .map(|i| 180.0 + 40.0 * f64::from(u8::from(i % 3 == 0)) + 2.0 * jitter(i))
                .collect(),
        )
    } else {
        (
            (0..n)
                .map(|i| if i % 2 == 0 { 45.0 } else { 160.0 })
                .collect(),
            (0..n - 1)
                .map(|i| if i % 2 == 0 { 40.0 } else { 420.0 })
                .collect(),
        )
    };
    json!({ "dwell": dwell, "flight": flight })
}

/// Identifier, then the password typed with `typing` (absent: none sent); the answer.
async fn sign_in(
    b: &mut Browser<'_>,
    user: &str,
    password: &str,
    typing: Option<Value>,
) -> (StatusCode, Value) {
    let f = b.start(None).await;
    let f = b.ok(&f, "identifier", json!({ "identifier": user })).await;
    let mut body = json!({"method": "password", "password": password});
    if let Some(t) = typing {
        body["typing"] = t;
    }
    b.step(&f, "verify", body).await
}

fn learned(state: &tessera_server::AppState, user_id: &str) -> Option<Profile> {
    typing::profile(state, user_id).unwrap()
}

async fn set_policy(s: &Server, policy: Value) {
    let (st, v) = s
        .admin_json(Method::PUT, "/api/v2/policies/sign-in", Some(policy))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// The password alone, except that an unusual rhythm (score 80 or more) needs TOTP.
fn typing_policy() -> Value {
    json!({
        "global": {
            "mfa": {"mode": "optional", "prompt": "never"},
            "chains": [{"steps": [{"any_of": [{"method": "password"}]}]}]
        },
        "rules": [{
            "name": "unusual typing",
            "when": {"typing_anomaly": {"at_least": 80}},
            "then": {
                "mfa": {"mode": "required"},
                "chains": [{"steps": [
                    {"any_of": [{"method": "password"}]},
                    {"any_of": [{"method": "totp"}]}
                ]}]
            }
        }]
    })
}

#[tokio::test]
async fn an_unusual_rhythm_demands_totp_once_the_profile_is_learned() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let sqlite_file = config
        .database
        .url
        .is_none()
        .then(|| tmp.path().join("tessera.db"));
    let clock = t0_clock();
    let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
    let s = Server::serve(state.clone(), clock, first.unwrap()).await;
    let id = s.create_user("tia", Some(PW)).await;
    let (_, secret) = super::enrolled(&s, &id).await;
    s.clock.advance(30);
    set_policy(&s, typing_policy()).await;

    // Four usual sign-ins, each learned when it finishes.
    for k in 0..4 {
        let (st, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(timings(true, k))).await;
        assert_eq!(
            (st, v["step"].as_str()),
            (StatusCode::OK, Some("done")),
            "{v}"
        );
        assert_eq!(learned(&state, &id).unwrap().count, k + 1);
    }
    // A wrong password is not learned.
    let (st, _) = sign_in(
        &mut Browser::new(&s),
        "tia",
        "wrong horse",
        Some(timings(true, 9)),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Nor a sign-in left after the password (here MFA is required of everyone for a moment).
    set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}})).await;
    let (st, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(timings(true, 8))).await;
    assert_eq!(
        (st, v["method"].as_str()),
        (StatusCode::OK, Some("totp")),
        "{v}"
    );
    set_policy(&s, typing_policy()).await;
    assert_eq!(
        learned(&state, &id).unwrap().count,
        4,
        "only finished sign-ins count"
    );
    // Four samples are too few to judge: an unusual rhythm passes (the signal is `learning`).
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(timings(false, 0))).await;
    assert_eq!(v["step"], "done", "{v}");
    let p = learned(&state, &id).unwrap();
    assert_eq!(
        p.count, 5,
        "a sample the profile could not judge is learned"
    );

    // More usual sign-ins; then the profile judges.
    for k in 4..10 {
        let (_, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(timings(true, k))).await;
        assert_eq!(v["step"], "done", "{v}");
    }
    assert_eq!(learned(&state, &id).unwrap().count, 11);
    // The usual rhythm: the password is enough.
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(timings(true, 11))).await;
    assert_eq!(v["step"], "done", "{v}");
    // No timings (a pasted password): the rule is on scores only, so the password is enough.
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", PW, None).await;
    assert_eq!(v["step"], "done", "{v}");
    // Timings of another length than the password are not a sample.
    let mut short = timings(false, 0);
    short["dwell"].as_array_mut().unwrap().pop();
    short["flight"].as_array_mut().unwrap().pop();
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", PW, Some(short)).await;
    assert_eq!(v["step"], "done", "{v}");
    let before = learned(&state, &id).unwrap().count;
    // Someone else's rhythm: TOTP is demanded; once it is given, the sign-in finishes and the
    // sample is learned (a second factor vouched for it).
    let mut b = Browser::new(&s);
    let (st, f) = sign_in(&mut b, "tia", PW, Some(timings(false, 1))).await;
    assert_eq!(st, StatusCode::OK, "{f}");
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("totp")),
        "{f}"
    );
    assert!(
        !f.to_string().contains("typing"),
        "the signal is not shown: {f}"
    );
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let done = b
        .ok(&f, "verify", json!({"method": "totp", "code": code}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(learned(&state, &id).unwrap().count, before + 1);

    // Bad timings: one clear 400 each, before anything is checked.
    let f = Browser::new(&s).start(None).await;
    let mut b = Browser::new(&s);
    let f2 = b.start(None).await;
    let f2 = b.ok(&f2, "identifier", json!({"identifier": "tia"})).await;
    drop(f);
    for (typing, says) in [
        (
            json!({"dwell": [-1.0], "flight": []}),
            "`typing`: `dwell` values are milliseconds",
        ),
        (
            json!({"dwell": [1.0, 2.0], "flight": []}),
            "`typing`: `flight` must have one value fewer",
        ),
        (
            json!({"dwell": vec![1.0; 129], "flight": vec![1.0; 128]}),
            "`typing`: `dwell` must have 1–128",
        ),
        (json!({"dwell": [1.0], "flight": [], "keys": "abc"}), "keys"),
        (json!({"dwell": ["a"], "flight": []}), "typing"),
    ] {
        let (st, e) = b
            .step(
                &f2,
                "verify",
                json!({"method": "password", "password": PW, "typing": typing}),
            )
            .await;
        assert_eq!(
            (st, error_code(&e)),
            (StatusCode::BAD_REQUEST, "invalid_request".into()),
            "{e}"
        );
        let d = e["error_description"].as_str().unwrap();
        assert!(d.contains(says), "{d}");
    }
    let (st, e) = b
        .step(
            &f2,
            "verify",
            json!({"method": "totp", "code": "123456", "typing": timings(true, 0)}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");

    // The dry run takes the signal.
    for (signal, source) in [
        (json!({"score": 90}), "rule"),
        (json!({"score": 10}), "global"),
        (json!("no_sample"), "global"),
    ] {
        let (st, v) = s
            .admin_json(
                Method::POST,
                "/api/v2/policies/sign-in/dry-run",
                Some(json!({"user": "tia", "typing": signal})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["source"]["kind"], source, "{signal}: {v}");
    }
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/policies/sign-in/dry-run",
            Some(json!({"user": "tia", "typing": {"score": 101}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    // Sealed at rest: the stored blob is the sealed format, and nothing of the profile is in
    // the database file in the clear.
    let sealed = state.store().typing_profile(&id).unwrap().unwrap();
    assert_eq!(&sealed[..3], b"TSS", "sealed");
    if let Some(file) = &sqlite_file {
        let plain = serde_json::to_vec(&learned(&state, &id).unwrap()).unwrap();
        let mut raw = std::fs::read(file).unwrap();
        raw.extend(std::fs::read(file.with_extension("db-wal")).unwrap_or_default());
        assert!(
            raw.windows(sealed.len()).any(|w| w == sealed),
            "the sealed row is in the file"
        );
        for needle in [&plain[..], b"\"mean\"", b"\"m2\""] {
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle),
                "found in the clear"
            );
        }
    }

    // A master-key rotation re-seals the profile with the rest.
    let before = learned(&state, &id).unwrap();
    let new_key = std::sync::Arc::new(tessera_server::crypto::MasterKey::generate().unwrap());
    let (old, new) = (state.clone(), new_key.clone());
    let resealed = state
        .store()
        .reseal(std::sync::Arc::new(move |sealed: &[u8], ctx: &[u8]| {
            new.seal(&old.key().open(sealed, ctx)?, ctx)
        }))
        .unwrap();
    assert!(resealed >= 2, "the TOTP secret and the profile: {resealed}");
    let stored = state.store().typing_profile(&id).unwrap().unwrap();
    assert_eq!(typing::open(&new_key, &id, &stored).unwrap(), before);
    assert!(typing::open(state.key(), &id, &stored).is_err());

    // A new password starts a new profile.
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"password": "a new passphrase"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(learned(&state, &id).is_none(), "reset with the password");
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", "a new passphrase", None).await;
    assert_eq!(v["step"], "done", "{v}");
    assert!(learned(&state, &id).is_none(), "no sample, nothing learned");
    let n = "a new passphrase".len();
    let t = json!({"dwell": vec![100.0; n], "flight": vec![150.0; n - 1]});
    let (_, v) = sign_in(&mut Browser::new(&s), "tia", "a new passphrase", Some(t)).await;
    assert_eq!(v["step"], "done", "{v}");
    assert_eq!(learned(&state, &id).unwrap().keys, n);
    // Deleted with the user.
    let (st, _) = s
        .admin_json(Method::DELETE, &format!("/api/v2/users/{id}"), None)
        .await;
    assert!(st.is_success(), "{st}");
    assert!(
        state.store().typing_profile(&id).unwrap().is_none(),
        "deleted with the user"
    );
}
