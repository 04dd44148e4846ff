//! The console's sign-in policy editor (`/admin#policy`, docs/admin.md) in real Chromium: it
//! covers the whole policy document (docs/policies.md), so an administrator never needs the
//! JSON API. A policy using every field, written through the API, is shown and saved unchanged
//! (the same document comes back); then, only through the page, the administrator adds an
//! override for an organization (MFA required, a chain whose second step is a phishing-resistant
//! passkey, a minimum of enrollments), adds a rule on the typing rhythm, moves it first and
//! removes another override. A value the server refuses is shown at its field and nothing is
//! saved. The dry run for a member of the organization shows the requirement. Screenshot
//! `admin-policy-editor.png` (the whole editor) with `TESSERA_SCREENSHOTS=1`.

use reqwest::Method;
use serde_json::{json, Value};
use tessera_e2e::browser::{with_page, Page};
use tessera_e2e::Server;

use super::admin_console::{admin_api, screen, signed_in_console};
use super::hosted_signin::{oathtool_ready, PASSWORD};

/// The element id the editor gives the field at a policy path (`pathId` in admin.js).
fn pid(path: &str) -> String {
    let mut id = String::from("p-");
    let mut dash = false;
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
            dash = false;
        } else if !dash {
            id.push('-');
            dash = true;
        }
    }
    if id.ends_with('-') {
        id.pop();
    }
    id
}

/// A new organization's id.
async fn organization(s: &Server, name: &str) -> String {
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v2/organizations",
            Some(&s.admin),
            Some(json!({ "name": name })),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// The policy in force: (version, document).
async fn in_force(s: &Server) -> (u64, Value) {
    let v = admin_api(s, Method::GET, "/api/v2/policies/sign-in").await;
    (v["version"].as_u64().unwrap(), v["policy"].clone())
}

/// Clicks Save and waits until the editor shows `version`.
async fn save(p: &Page, version: u64) {
    p.click("#policy-save").await.unwrap();
    p.wait_js(
        &format!("version {version} saved"),
        "return document.getElementById('policy-version').textContent.endsWith(' ' + arguments[0]) \
         && document.body.getAttribute('aria-busy') === 'false' || null;",
        vec![json!(version.to_string())],
    )
    .await
    .unwrap();
}

async fn value(p: &Page, id: &str) -> Value {
    p.js(
        "const e = document.getElementById(arguments[0]);
         return e ? (e.type === 'checkbox' ? e.checked : e.value) : null;",
        vec![json!(id)],
    )
    .await
    .unwrap()
}

async fn edit(page: Page) {
    let (s, a) = signed_in_console(page).await;
    let p = &a.page;
    let contoso = organization(&s, "Contoso").await;
    let fabrikam = organization(&s, "Fabrikam").await;
    s.create_user(
        "kai",
        json!({"username": "kai", "password": PASSWORD, "organizations": [fabrikam]}),
    )
    .await
    .unwrap();

    // Every field of the model, written through the API.
    let seeded = json!({
        "global": {
            "mfa": {"mode": "optional", "prompt": "after_registration"},
            "chains": [{"steps": [
                {"any_of": [{"method": "password"}, {"method": "passkey", "requires": ["user_verification"]}]},
                {"any_of": [{"method": "push", "requires": ["hardware_protected", "user_interaction"]}, {"method": "totp"}]}
            ]}],
            "reauth": {"mode": "after_minutes", "minutes": 30},
            "no_factor": "enroll",
            "factor_sources": "enrolled_and_profile",
            "min_enrollments": {"count": 2, "grace_days": 14, "identity_providers": ["local"]},
            "remember_browser_days": 7
        },
        "organizations": {
            contoso.clone(): {"mfa": {"mode": "required"}, "reauth": {"mode": "no_session"}, "no_factor": "deny"}
        },
        "rules": [{
            "name": "Finance",
            "when": {"applications": ["payroll"], "groups": ["finance"],
                     "typing_anomaly": {"at_least": 60, "learning": true}},
            "then": {"mfa": {"mode": "required"}}
        }]
    });
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/v2/policies/sign-in",
            Some(&s.admin),
            Some(seeded),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    let (_, first) = in_force(&s).await;

    // The editor shows it all…
    screen(p, "#policy").await;
    for (id, want) in [
        (pid("global.factor_sources"), json!("enrolled_and_profile")),
        (pid("global.min_enrollments"), json!(true)),
        (pid("global.min_enrollments.count"), json!("2")),
        (pid("global.min_enrollments.grace_days"), json!("14")),
        (
            pid("global.min_enrollments.identity_providers"),
            json!("local"),
        ),
        (
            pid("global.chains[0].steps[1]") + "-push-hardware_protected",
            json!(true),
        ),
        (
            pid("global.chains[0].steps[1]") + "-push-user_verification",
            json!(false),
        ),
        (
            pid(&format!("organizations.{contoso}.no_factor")),
            json!("deny"),
        ),
        (pid("rules[0].when.typing_anomaly"), json!(true)),
        (pid("rules[0].when.typing_anomaly.at_least"), json!("60")),
        (pid("rules[0].when.typing_anomaly.learning"), json!(true)),
        (pid("rules[0].when.typing_anomaly.no_sample"), json!(false)),
    ] {
        assert_eq!(value(p, &id).await, want, "#{id}");
    }
    // …and saving it unchanged writes the same document.
    save(p, 2).await;
    let (version, again) = in_force(&s).await;
    assert_eq!(version, 2);
    assert_eq!(
        again, first,
        "load → save without changes → the same policy"
    );

    // An override for Fabrikam, through the page: MFA required (a new override's default), the
    // password then a phishing-resistant passkey, at least 3 enrollments.
    let org = format!("organizations.{fabrikam}");
    p.click(&format!("#policy-org-pick option[value='{fabrikam}']"))
        .await
        .unwrap();
    p.click("#policy-org-add").await.unwrap();
    p.wait_for(&format!("[data-org='{fabrikam}']"))
        .await
        .unwrap();
    assert_eq!(
        value(p, &pid(&format!("{org}.mfa.mode"))).await,
        json!("required")
    );
    p.click(&format!("[data-org='{fabrikam}'] .chains > button"))
        .await
        .unwrap();
    let step = pid(&format!("{org}.chains[0].steps[1]"));
    p.click(&format!("#{step}-totp")).await.unwrap();
    p.click(&format!("#{step}-passkey")).await.unwrap();
    p.click(&format!("#{step}-passkey-phishing_resistant"))
        .await
        .unwrap();
    p.click(&format!("#{}", pid(&format!("{org}.min_enrollments"))))
        .await
        .unwrap();
    let count = format!("#{}", pid(&format!("{org}.min_enrollments.count")));
    p.fill(&count, "0").await.unwrap();
    p.fill(
        &format!("#{}", pid(&format!("{org}.min_enrollments.grace_days"))),
        "10",
    )
    .await
    .unwrap();
    p.fill(
        &format!(
            "#{}",
            pid(&format!("{org}.min_enrollments.identity_providers"))
        ),
        "local",
    )
    .await
    .unwrap();
    // A rule on the typing rhythm.
    p.click("#policy-add-rule").await.unwrap();
    p.fill(&format!("#{}", pid("rules[1].name")), "Odd typing")
        .await
        .unwrap();
    p.click(&format!("#{}", pid("rules[1].when.typing_anomaly")))
        .await
        .unwrap();
    p.fill(
        &format!("#{}", pid("rules[1].when.typing_anomaly.at_least")),
        "85",
    )
    .await
    .unwrap();
    p.click(&format!(
        "#{}",
        pid("rules[1].when.typing_anomaly.no_sample")
    ))
    .await
    .unwrap();

    // A count of 0 is refused: shown at its field, nothing saved.
    p.click("#policy-save").await.unwrap();
    let error = p
        .wait_text(&format!("{count}[aria-invalid='true'] + .field-error"))
        .await
        .unwrap();
    assert!(error.contains("1–10"), "{error}");
    assert_eq!(in_force(&s).await, (2, first.clone()), "nothing saved");

    p.fill(&count, "3").await.unwrap();
    save(p, 3).await;
    let (_, saved) = in_force(&s).await;
    assert_eq!(
        saved["organizations"][&fabrikam],
        json!({
            "mfa": {"mode": "required"},
            "chains": [{"steps": [
                {"any_of": [{"method": "password"}]},
                {"any_of": [{"method": "passkey", "requires": ["phishing_resistant"]}]}
            ]}],
            "reauth": {"mode": "every_sign_in"},
            "no_factor": "enroll",
            "factor_sources": "enrolled",
            "min_enrollments": {"count": 3, "grace_days": 10, "identity_providers": ["local"]},
            "remember_browser_days": 0
        }),
        "{saved}"
    );
    assert_eq!(
        saved["rules"][1],
        json!({
            "name": "Odd typing",
            "when": {"typing_anomaly": {"at_least": 85, "no_sample": true}},
            "then": {"mfa": {"mode": "required"}, "reauth": {"mode": "every_sign_in"},
                     "no_factor": "enroll", "factor_sources": "enrolled", "remember_browser_days": 0}
        }),
        "{saved}"
    );
    // The rest as it was.
    assert_eq!(saved["global"], first["global"]);
    assert_eq!(saved["rules"][0], first["rules"][0]);
    assert_eq!(
        saved["organizations"][&contoso],
        first["organizations"][&contoso]
    );

    // The whole editor, in one picture.
    let height = p
        .js("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap();
    let height = u32::try_from(height.as_u64().unwrap_or(900)).unwrap_or(900);
    p.client
        .set_window_size(1100, height.clamp(900, 12_000) + 140)
        .await
        .unwrap();
    p.js("window.scrollTo(0, 0);", vec![]).await.unwrap();
    p.screenshot("admin-policy-editor").await.unwrap();
    p.client.set_window_size(1100, 900).await.unwrap();

    // The new rule first (rules match in order); Contoso's override removed.
    p.click("[data-path='rules[1]'] .rule-up").await.unwrap();
    p.click(&format!("[data-org='{contoso}'] .org-remove"))
        .await
        .unwrap();
    p.click(&format!("[data-org='{contoso}'] .org-remove"))
        .await
        .unwrap();
    save(p, 4).await;
    let (_, last) = in_force(&s).await;
    assert_eq!(last["rules"][0], saved["rules"][1], "{last}");
    assert_eq!(last["rules"][1], saved["rules"][0], "{last}");
    assert_eq!(
        last["organizations"],
        json!({ fabrikam.clone(): saved["organizations"][&fabrikam].clone() }),
        "{last}"
    );

    // What would kai, a member of Fabrikam, need? The override's MFA and its passkey step.
    p.fill("#dryrun-user", "kai").await.unwrap();
    p.click("#dryrun-submit").await.unwrap();
    p.wait_for("#dryrun-result dl").await.unwrap();
    let facts = p
        .js(
            "return [...document.querySelectorAll('#dryrun-result dd')].map((d) => d.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        facts[0].as_str().unwrap().contains(&fabrikam),
        "the override applies: {facts}"
    );
    assert_eq!(facts[1], json!("Yes"), "MFA required: {facts}");
    let steps = p.text("#dryrun-result ol.steps").await.unwrap();
    assert!(
        steps.contains("Passkey (Phishing-resistant)"),
        "the chain's passkey must be phishing-resistant: {steps}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_editor_edits_the_whole_policy() {
    if !oathtool_ready() {
        return;
    }
    with_page(edit).await;
}
