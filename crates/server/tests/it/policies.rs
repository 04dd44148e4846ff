//! The sign-in policy through the management API: read, replace with validation naming the
//! field, versions with who and when, preconditions, scopes, the audit log and the dry run.

use reqwest::header::{ETAG, IF_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{enrolled, error_code, Server};

const POLICY: &str = "/api/v2/policies/sign-in";

fn console_rule() -> Value {
    json!({
        "global": {"mfa": {"mode": "optional", "prompt": "never"}},
        "rules": [{
            "name": "console needs a second factor",
            "when": {"applications": ["console"]},
            "then": {
                "mfa": {"mode": "required"},
                "chains": [{"steps": [
                    {"any_of": [{"method": "password"}]},
                    {"any_of": [{"method": "push"}, {"method": "totp"}]}
                ]}],
                "reauth": {"mode": "after_minutes", "minutes": 30}
            }
        }]
    })
}

async fn put(
    s: &Server,
    body: Value,
    if_match: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut rb = s
        .client
        .put(format!("{}{POLICY}", s.url))
        .bearer_auth(&s.admin)
        .json(&body);
    if let Some(v) = if_match {
        rb = rb.header(IF_MATCH, v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let etag = r
        .headers()
        .get(ETAG)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, r.json().await.unwrap())
}

#[tokio::test]
async fn the_policy_is_versioned_validated_and_guarded() {
    let s = Server::start().await;
    let r = s.call(Method::GET, POLICY, Some(&s.admin), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[ETAG], "\"0\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 0, "no policy written yet: the default");
    assert_eq!(
        v["policy"]["global"]["mfa"],
        json!({"mode": "optional", "prompt": "never"})
    );

    // A malformed policy is refused naming the field, and nothing is stored.
    let mut bad = console_rule();
    bad["rules"][0]["then"]["chains"][0]["steps"][1]["any_of"][1]["method"] = json!("fax");
    let (st, _, v) = put(&s, bad, None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["error_description"].as_str().unwrap();
    assert!(
        msg.contains("rules[0].then.chains[0].steps[1].any_of[1].method") && msg.contains("fax"),
        "{msg}"
    );
    let mut cycle = console_rule();
    cycle["rules"][0]["then"]["chains"][0]["steps"][1]["any_of"][1]["method"] = json!("password");
    let (st, _, v) = put(&s, cycle, None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("`password` already appears in step 0"),
        "{v}"
    );
    let (_, v) = s.admin_json(Method::GET, POLICY, None).await;
    assert_eq!(v["version"], 0);

    let (st, etag, v) = put(&s, console_rule(), Some("\"0\"")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["version"].as_u64(), etag.as_deref()),
        (Some(1), Some("\"1\""))
    );
    assert!(
        v["author"].as_str().unwrap().contains("first admin token"),
        "{v}"
    );
    let chains = |v: &Value| v["policy"]["rules"][0]["then"]["chains"].clone();
    assert_eq!(chains(&v), console_rule()["rules"][0]["then"]["chains"]);
    assert_eq!(
        v["policy"]["global"]["no_factor"], "enroll",
        "stored with its defaults made explicit"
    );

    // A writer who read version 0 is told, and changes nothing.
    let (st, _, v) = put(
        &s,
        json!({"global": {"mfa": {"mode": "required"}}}),
        Some("\"0\""),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::CONFLICT, "conflict")
    );
    let (st, _, _) = put(
        &s,
        json!({"global": {"mfa": {"mode": "required"}}}),
        Some("nonsense"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, v) = put(&s, json!({"global": {"mfa": {"mode": "required"}}}), None).await;
    assert_eq!((st, v["version"].as_u64()), (StatusCode::OK, Some(2)));

    let (_, list) = s
        .admin_json(Method::GET, &format!("{POLICY}/versions"), None)
        .await;
    let versions: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1]);
    let (st, old) = s
        .admin_json(Method::GET, &format!("{POLICY}/versions/1"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        chains(&old),
        console_rule()["rules"][0]["then"]["chains"],
        "every version kept"
    );
    let (st, _) = s
        .admin_json(Method::GET, &format!("{POLICY}/versions/7"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (_, logs) = s
        .admin_json(Method::GET, "/api/v2/logs?type=policy.updated", None)
        .await;
    assert_eq!(logs["logs"].as_array().unwrap().len(), 2, "{logs}");

    // Scopes: reading needs read:policies, writing update:policies.
    let (_, t) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"name": "auditor", "scopes": ["read:policies"]})),
        )
        .await;
    let reader = t["token"].as_str().unwrap();
    let (st, _) = s.json(Method::GET, POLICY, Some(reader), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .json(Method::PUT, POLICY, Some(reader), Some(console_rule()))
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let (st, _) = s.json(Method::GET, POLICY, Some("tsm_unknown"), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_dry_run_answers_the_rule_the_chain_and_the_next_step() {
    let s = Server::start().await;
    let alice = s.create_user("alice", Some("alice-pw-123")).await;
    let (st, _, _) = put(&s, console_rule(), None).await;
    assert_eq!(st, StatusCode::OK);
    let dry = |app: Option<&str>| {
        let mut body = json!({"user": "alice"});
        if let Some(a) = app {
            body["application"] = json!(a);
        }
        body
    };

    let (st, d) = s
        .admin_json(
            Method::POST,
            &format!("{POLICY}/dry-run"),
            Some(dry(Some("console"))),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["user_id"], alice.as_str());
    assert_eq!(d["policy_version"], 1);
    assert_eq!(
        d["source"],
        json!({"kind": "rule", "index": 0, "name": "console needs a second factor"})
    );
    assert_eq!(d["mfa_required"], true);
    assert_eq!(d["next"], "verify");
    assert_eq!(
        d["offer"],
        json!(["password"]),
        "the chain starts with the password"
    );
    assert_eq!(
        d["chains"][0]["steps"][1]["usable"],
        json!([]),
        "alice has no push and no TOTP yet"
    );

    // Another application: the global policy, the password alone.
    let (_, d) = s
        .admin_json(
            Method::POST,
            &format!("{POLICY}/dry-run"),
            Some(dry(Some("wiki"))),
        )
        .await;
    assert_eq!(d["source"], json!({"kind": "global"}));
    assert_eq!(d["mfa_required"], false);
    assert_eq!(d["chains"][0]["steps"].as_array().unwrap().len(), 1);

    // With a TOTP enrolled, the console's second step can be met with it.
    enrolled(&s, &alice).await;
    let (_, d) = s
        .admin_json(
            Method::POST,
            &format!("{POLICY}/dry-run"),
            Some(dry(Some("console"))),
        )
        .await;
    assert_eq!(d["chains"][0]["steps"][1]["usable"], json!(["totp"]), "{d}");
    // And on the global policy MFA now applies to her (she has a factor): two steps.
    let (_, d) = s
        .admin_json(Method::POST, &format!("{POLICY}/dry-run"), Some(dry(None)))
        .await;
    assert_eq!(d["chains"][0]["steps"].as_array().unwrap().len(), 2, "{d}");

    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("{POLICY}/dry-run"),
            Some(json!({"user": "nobody-here"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (st, _) = s
        .admin_json(
            Method::POST,
            &format!("{POLICY}/dry-run"),
            Some(json!({"user": "alice", "colour": "blue"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rules_match_the_groups_a_user_is_given() {
    let s = Server::start().await;
    let bob = s.create_user("bob", Some("bob-pw-12345")).await;
    let (st, u) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{bob}"),
            Some(json!({"groups": ["sre", "admins", "sre"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{u}");
    assert_eq!(u["groups"], json!(["admins", "sre"]), "sorted, once each");
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{bob}"),
            Some(json!({"groups": ["bad\nname"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("`groups`"));
    let policy = json!({
        "global": {"mfa": {"mode": "optional"}},
        "rules": [{"name": "admins", "when": {"groups": ["admins"]},
                   "then": {"mfa": {"mode": "required"}}}]
    });
    let (st, _, _) = put(&s, policy, None).await;
    assert_eq!(st, StatusCode::OK);
    let dry = |user: &str| json!({"user": user, "application": "any"});
    let (_, d) = s
        .admin_json(Method::POST, &format!("{POLICY}/dry-run"), Some(dry("bob")))
        .await;
    assert_eq!(d["source"]["name"], "admins", "{d}");
    // Out of the group: the global settings.
    s.admin_json(
        Method::PATCH,
        &format!("/api/v2/users/{bob}"),
        Some(json!({"groups": []})),
    )
    .await;
    let (_, d) = s
        .admin_json(Method::POST, &format!("{POLICY}/dry-run"), Some(dry("bob")))
        .await;
    assert_eq!(d["source"], json!({"kind": "global"}));
    let (_, u) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{bob}"), None)
        .await;
    assert_eq!(u["groups"], json!([]));
}
