//! The admin console at `/admin` (docs/admin.md): only an administrator (a member of
//! `console.admin_group`) whose session proved a second factor gets in; the management routes
//! take such a session's cookie as a management caller, with the session's CSRF token on every
//! change, never as a user; what it changes is audited under the administrator.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::Clock;

use super::signin_flow::{Browser, PW};
use super::{enrolled, error_code, oathtool, Server};

/// A call with `b`'s cookies only (no bearer token), `csrf` in `X-CSRF-Token` when given.
async fn call(
    b: &Browser<'_>,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut rb = client.request(method, format!("{}{}", b.s.url, path));
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !cookies.is_empty() {
        rb = rb.header(reqwest::header::COOKIE, cookies.join("; "));
    }
    if let Some(t) = csrf {
        rb = rb.header("x-csrf-token", t);
    }
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

async fn json_call(
    b: &Browser<'_>,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (st, text, _) = call(b, method, path, csrf, body).await;
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))
    };
    (st, v)
}

/// Signs in with the password and, given a TOTP secret, a code.
async fn sign_in<'s>(s: &'s Server, user: &str, secret: Option<&str>) -> Browser<'s> {
    let mut b = Browser::new(s);
    let f = b.password(None, user, PW).await;
    let f = match secret {
        Some(secret) => {
            let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
            b.ok(&f, "verify", json!({"method": "totp", "code": code}))
                .await
        }
        None => f,
    };
    assert_eq!(f["step"], "done", "{f}");
    b
}

async fn make_admin(s: &Server, id: &str) {
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"groups": ["tessera-admins", "ops"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// Every route of the console, and management routes of each kind, reached by cookie.
const CONSOLE_GETS: &[&str] = &[
    "/admin",
    "/admin/assets/admin.js",
    "/admin/assets/admin.css",
    "/admin/api/session",
    "/api/v2/users",
    "/api/v2/groups",
    "/api/v2/logs",
    "/api/v2/tokens",
    "/api/v2/policies/sign-in",
    "/api/v2/organizations",
    "/api/v2/applications",
];

#[tokio::test]
async fn only_an_administrator_with_a_second_factor_gets_in() {
    let s = Server::start().await;
    s.create_user("nia", Some(PW)).await;
    let abe = s.create_user("abe", Some(PW)).await;
    make_admin(&s, &abe).await;
    let ada = s.create_user("ada", Some(PW)).await;
    make_admin(&s, &ada).await;
    let (_, secret) = enrolled(&s, &ada).await;

    // No session: the page sends to the sign-in, which comes back; the API answers 401.
    let anonymous = Browser::new(&s);
    let (st, _, h) = call(&anonymous, Method::GET, "/admin", None, None).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/signin?return_to=%2Fadmin");
    let (st, _) = json_call(&anonymous, Method::GET, "/api/v2/users", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // A user who is not an administrator: 403 from every console route, by cookie.
    let nia = sign_in(&s, "nia", None).await;
    for path in CONSOLE_GETS {
        let (st, body, _) = call(&nia, Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(!body.contains("csrf"), "{path}: no token for a non-admin");
    }
    let (st, v) = json_call(
        &nia,
        Method::POST,
        "/api/v2/users",
        None,
        Some(json!({"username": "mallory"})),
    )
    .await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::FORBIDDEN, "access_denied".into())
    );
    let (st, _) = json_call(
        &nia,
        Method::DELETE,
        &format!("/api/v2/users/{ada}/authentication-methods"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = json_call(
        &nia,
        Method::GET,
        &format!("/api/v1/users/{ada}/devices"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // An administrator whose session proved no second factor: refused, saying why.
    let abe_b = sign_in(&s, "abe", None).await;
    let (st, page, _) = call(&abe_b, Method::GET, "/admin", None, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(page.contains("second factor"), "{page}");
    for path in CONSOLE_GETS.iter().skip(1) {
        let (st, body, _) = call(&abe_b, Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (_, v) = json_call(&abe_b, Method::GET, "/api/v2/users", None, None).await;
    assert_eq!(error_code(&v), "second_factor_required");

    // An administrator signed in with TOTP: the page, in the language asked for, with the
    // pages' strict CSP and no inline script.
    s.clock.advance(30);
    let ada_b = sign_in(&s, "ada", Some(&secret)).await;
    let (st, page, h) = call(&ada_b, Method::GET, "/admin", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("require-trusted-types-for 'script'"), "{csp}");
    assert!(!csp.contains("unsafe-"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");
    for (i, _) in page.match_indices("<script") {
        let tag = &page[i..i + page[i..].find('>').unwrap()];
        assert!(
            tag.contains(" src=\"/admin/assets/") || tag.contains("type=\"application/json\""),
            "no inline script: {tag}"
        );
    }
    assert!(page.contains("<html lang=\"en\">") && page.contains("Admin console"));
    for path in CONSOLE_GETS {
        let (st, body, _) = call(&ada_b, Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::OK, "{path}: {body}");
    }

    // Search and groups.
    let (_, v) = json_call(
        &ada_b,
        Method::GET,
        "/api/v2/users?q=AD&per_page=5",
        None,
        None,
    )
    .await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["users"][0]["username"], "ada");
    let (_, v) = json_call(&ada_b, Method::GET, "/api/v2/users?q=%25", None, None).await;
    assert_eq!(v["total"], 0, "a % is searched for, not a wildcard: {v}");
    let (_, v) = json_call(&ada_b, Method::GET, "/api/v2/groups", None, None).await;
    assert_eq!(
        v,
        json!([{"name": "ops", "members": 2}, {"name": "tessera-admins", "members": 2}])
    );

    // Never a user: the /me routes and the user-token routes refuse the console.
    for path in [
        "/api/v2/me",
        "/api/v2/me/authenticators",
        "/mfa/authenticators",
    ] {
        let (st, v) = json_call(&ada_b, Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {v}");
    }
}

#[tokio::test]
async fn every_change_by_cookie_needs_the_sessions_csrf_token_and_is_audited() {
    let s = Server::start().await;
    let ada = s.create_user("ada", Some(PW)).await;
    make_admin(&s, &ada).await;
    let (_, secret) = enrolled(&s, &ada).await;
    s.clock.advance(30);
    let b = sign_in(&s, "ada", Some(&secret)).await;
    s.clock.advance(30);
    let other = sign_in(&s, "ada", Some(&secret)).await;
    let (_, me) = json_call(&b, Method::GET, "/admin/api/session", None, None).await;
    let (_, theirs) = json_call(&other, Method::GET, "/admin/api/session", None, None).await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(me["username"], "ada");
    assert_eq!(csrf.len(), 43);
    assert_ne!(Some(csrf.as_str()), theirs["csrf_token"].as_str());

    let new_user = json!({"username": "cyd", "password": PW});
    for token in [None, Some("wrong"), theirs["csrf_token"].as_str()] {
        let (st, v) = json_call(
            &b,
            Method::POST,
            "/api/v2/users",
            token,
            Some(new_user.clone()),
        )
        .await;
        assert_eq!(
            (st, error_code(&v)),
            (StatusCode::FORBIDDEN, "csrf_failed".into()),
            "{token:?}"
        );
    }
    let (st, _) = json_call(&b, Method::GET, "/api/v2/users?q=cyd", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = json_call(
        &b,
        Method::POST,
        "/api/v2/users",
        Some(&csrf),
        Some(new_user),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let cyd = v["user_id"].as_str().unwrap().to_owned();

    // A policy written from the console names the administrator as its author.
    let policy = json!({"global": {"mfa": {"mode": "required"}}});
    let (st, v) = json_call(
        &b,
        Method::PUT,
        "/api/v2/policies/sign-in",
        Some(&csrf),
        Some(policy),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["author"]
            .as_str()
            .unwrap()
            .starts_with(&format!("console:{ada}")),
        "{v}"
    );
    // A field error names the field.
    let bad = json!({"global": {"mfa": {"mode": "required"}, "reauth": {"mode": "after_minutes", "minutes": 0}}});
    let (st, v) = json_call(
        &b,
        Method::PUT,
        "/api/v2/policies/sign-in",
        Some(&csrf),
        Some(bad),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("`global.reauth"),
        "{v}"
    );

    // Every change is in the audit log under the administrator, with what was asked.
    let events = s.events(&ada, "console.request").await;
    let details: Vec<&str> = events
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(details.contains(&"POST /api/v2/users"), "{details:?}");
    assert!(
        details.contains(&"PUT /api/v2/policies/sign-in"),
        "{details:?}"
    );

    // A password-reset link needs email set up on the server.
    let (st, v) = json_call(
        &b,
        Method::POST,
        &format!("/api/v2/users/{cyd}/password-reset"),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_request".into()),
        "{v}"
    );

    // Signed out: the cookie is nothing any more.
    let (st, _) = json_call(&b, Method::POST, "/signin/api/session/sign-out", None, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = json_call(&b, Method::GET, "/api/v2/users", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_page_speaks_japanese_when_asked() {
    let s = Server::start().await;
    let ada = s.create_user("ada", Some(PW)).await;
    make_admin(&s, &ada).await;
    let (_, secret) = enrolled(&s, &ada).await;
    s.clock.advance(30);
    let b = sign_in(&s, "ada", Some(&secret)).await;
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let page = s
        .client
        .get(format!("{}/admin", s.url))
        .header("cookie", cookies.join("; "))
        .header("accept-language", "ja,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"ja\">"), "{page}");
    assert!(page.contains("管理コンソール") && page.contains("監査ログ"));
    assert!(!page.contains("{{"), "every marker is filled");
}

/// `tessera-server admin user create --username … --admin`: the first administrator, with no
/// API call; the password from standard input (never an argument).
#[test]
fn the_command_line_makes_the_first_administrator() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let config = tessera_server::testing::sqlite_config_in(dir.path());
    let create = |name: &str, password: &str, admin: bool| {
        let mut cmd = Command::new(super::BIN);
        cmd.args(["admin", "user", "create", "--username", name])
            .arg("--database")
            .arg(dir.path().join("tessera.db"))
            .arg("--key-file")
            .arg(dir.path().join("master.key"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if admin {
            cmd.arg("--admin");
        }
        let mut child = cmd.spawn().unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = create("root", "short", true);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("password") && !err.contains("short"), "{err}");

    let out = create("root", "correct horse battery", true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(id.starts_with("usr_"), "{id}");
    let out = create("plain", "correct horse battery", false);
    assert!(out.status.success());
    assert!(
        !create("root", "correct horse battery", true)
            .status
            .success(),
        "names are unique"
    );

    let store = tessera_server::open_store(&config).unwrap();
    let (root, hash) = store.find_user_by_username("root").unwrap().unwrap();
    assert_eq!(root.user_id, id);
    assert_eq!(root.groups, vec!["tessera-admins".to_owned()]);
    assert!(tessera_server::password::verify(
        "correct horse battery",
        &hash.unwrap()
    ));
    let (plain, _) = store.find_user_by_username("plain").unwrap().unwrap();
    assert!(plain.groups.is_empty());
}
