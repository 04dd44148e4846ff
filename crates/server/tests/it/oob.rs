//! The email, SMS and voice factors from outside (docs/factors.md), with real components: a
//! real SMTP server process (Debian's python3-aiosmtpd, tests/support/smtp_sink.py) receives
//! the mails, which Python's own MIME parser decodes; SMS go to an HTTP receiver started here,
//! voice calls to the command provider (a shell script).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_server::config::Config;
use tessera_server::oob::config::{Provider, Secret, SmtpTls};
use tessera_server::testing::SmtpSink;

use super::signin_flow::{set_policy, Browser, PW};
use super::{error_code, Server};

/// The SMTP server process with its mail directory.
struct Sink {
    inner: SmtpSink,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Sink {
    type Target = SmtpSink;
    fn deref(&self) -> &SmtpSink {
        &self.inner
    }
}

impl Sink {
    async fn start(extra: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let inner = SmtpSink::start(dir.path(), extra)
            .await
            .expect("python3 with aiosmtpd (scripts/install-deps.sh)");
        Sink { inner, _dir: dir }
    }
}

fn code_and_link(mail: &Value) -> (String, Option<String>) {
    let (code, link) = SmtpSink::code_and_link(mail);
    assert!(!code.is_empty(), "a code line in {mail}");
    (code, link)
}

fn email_on(c: &mut Config, sink: &Sink) {
    c.email.smtp_host = "127.0.0.1".into();
    c.email.smtp_port = sink.port;
    c.email.smtp_tls = SmtpTls::None;
    c.email.from = "Tessera <no-reply@tessera.test>".into();
    c.notifications.poll_secs = 1;
}

/// To the verify step by email: identifier + password, on a policy requiring MFA.
async fn to_email_step(b: &mut Browser<'_>, user: &str) -> Value {
    let f = b.password(None, user, PW).await;
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("email")),
        "{f}"
    );
    f
}

#[tokio::test]
async fn email_codes_sign_in_once_with_their_errors_limits_and_resends() {
    let sink = Sink::start(&[]).await;
    let s = Server::start_with(|c| {
        email_on(c, &sink);
        c.email.denied_domains = vec![r"blocked\.test".into()];
    })
    .await;
    set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}})).await;
    let id = s.create_user("emi", Some(PW)).await;
    // The address the admin set is the email factor at once (EM-6), listed masked.
    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    let email = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == "email")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(email["active"], true);
    assert!(!email.to_string().contains("emi@example.com"), "{email}");

    let mut b = Browser::new(&s);
    let f = to_email_step(&mut b, "emi").await;
    // Nothing is sent until the page asks; then one mail, with code and link, in both parts.
    assert_eq!(sink.count(), 0);
    let f = b.ok(&f, "choose", json!({"method": "email"})).await;
    assert_eq!(f["code_sent"]["to"], "em***@example.com", "{f}");
    assert_eq!(f["code_sent"]["code_length"], 6);
    let mail = sink.mail(1).await;
    assert_eq!(mail["to"], "emi@example.com");
    assert_eq!(mail["subject"], "Your Tessera sign-in code");
    let (code, link) = code_and_link(&mail);
    assert!(
        code.len() == 6 && code.bytes().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    let link = link.expect("a magic link");
    assert!(
        link.starts_with(&format!("{}/signin/link/", s.url)),
        "{link}"
    );
    assert!(mail["html"].as_str().unwrap().contains(&code));

    // A code of the wrong length or characters: named, nothing counted.
    for bad in ["12345", "12345a", "1234567"] {
        let (st, v) = b
            .step(&f, "verify", json!({"method": "email", "code": bad}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("6 digits"),
            "{v}"
        );
    }
    assert!(s.events(&id, "verify_fail").await.is_empty());
    // A wrong code counts.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (st, v) = b
        .step(&f, "verify", json!({"method": "email", "code": wrong}))
        .await;
    assert_eq!(
        (st, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into()),
        "{v}"
    );
    assert_eq!(s.events(&id, "verify_fail").await.len(), 1);

    // A resend voids the first code.
    let f = b.ok(&f, "choose", json!({"method": "email"})).await;
    let (code2, _) = code_and_link(&sink.mail(2).await);
    if code2 != code {
        let (st, v) = b
            .step(&f, "verify", json!({"method": "email", "code": code}))
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    }
    // The right code signs in, once.
    let done = b
        .ok(&f, "verify", json!({"method": "email", "code": code2}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
    assert_eq!(s.events(&id, "oob.used").await.len(), 1);

    // Send limits: 5 per user in 15 minutes — two sent, three more, the 6th refused, nothing
    // sent for it.
    let mut b2 = Browser::new(&s);
    let f2 = to_email_step(&mut b2, "emi").await;
    for _ in 0..3 {
        b2.ok(&f2, "choose", json!({"method": "email"})).await;
    }
    assert_eq!(sink.count(), 5);
    let (st, v) = b2.step(&f2, "choose", json!({"method": "email"})).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 5);
    // After the window, sends work again; a code then dies with a change of address.
    s.clock.advance(15 * 60 + 1);
    let mut b3 = Browser::new(&s);
    let f3 = to_email_step(&mut b3, "emi").await;
    let f3 = b3.ok(&f3, "choose", json!({"method": "email"})).await;
    let (old, _) = code_and_link(&sink.mail(6).await);
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"email": "emi.new@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = b3
        .step(&f3, "verify", json!({"method": "email", "code": old}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("send a new one"),
        "{v}"
    );
    // The next code goes to the new address.
    b3.ok(&f3, "choose", json!({"method": "email"})).await;
    assert_eq!(sink.mail(7).await["to"], "emi.new@example.com");

    // A denied domain: a clear error, nothing sent.
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"email": "emi@blocked.test"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut b4 = Browser::new(&s);
    let f4 = to_email_step(&mut b4, "emi").await;
    let (st, v) = b4.step(&f4, "choose", json!({"method": "email"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"].as_str().unwrap().contains("domain"),
        "{v}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 7);

    // No code or link in the audit log.
    let (_, logs) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/logs?user_id={id}&per_page=100"),
            None,
        )
        .await;
    let logs = logs.to_string();
    for secret in [&code, &code2, &old] {
        assert!(
            !logs.contains(secret.as_str()) || secret.len() < 6,
            "a code in the log"
        );
    }
    assert!(!logs.contains("/signin/link/"));
}

#[tokio::test]
async fn a_magic_link_continues_the_flow_only_in_the_browser_that_asked() {
    let sink = Sink::start(&[]).await;
    let s = Server::start_with(|c| email_on(c, &sink)).await;
    set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}})).await;
    let id = s.create_user("lin", Some(PW)).await;
    let _ = s.create_user("other", Some(PW)).await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |cookies: Option<String>, link: String| {
        let c = no_redirect.clone();
        async move {
            let mut rb = c.get(&link).header("accept-language", "en");
            if let Some(ck) = cookies {
                rb = rb.header(reqwest::header::COOKIE, ck);
            }
            let r = rb.send().await.unwrap();
            let status = r.status();
            let loc = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, loc, r.text().await.unwrap())
        }
    };
    let cookie_of = |b: &Browser<'_>| {
        b.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };

    let mut b = Browser::new(&s);
    let f = to_email_step(&mut b, "lin").await;
    b.ok(&f, "choose", json!({"method": "email"})).await;
    let (_, link) = code_and_link(&sink.mail(1).await);
    let link = link.unwrap();

    // Another browser (no cookie, or another flow's): told to type the code; not used up.
    let (st, _, page) = open(None, link.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("type the code"), "{page}");
    let mut other = Browser::new(&s);
    let _ = other.start(None).await;
    let (st, _, page) = open(Some(cookie_of(&other)), link.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("type the code"), "{page}");
    // Tampered: gone, in Japanese when asked.
    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (st, _, page) = open(Some(cookie_of(&b)), tampered).await;
    assert_eq!(st, StatusCode::GONE, "{page}");

    // The browser that asked: the flow goes on there (here: signed in), the waiting tab sees
    // its flow has finished.
    let (st, loc, _) = open(Some(cookie_of(&b)), link.clone()).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let flow_id = f["flow_id"].as_str().unwrap();
    assert_eq!(
        loc.as_deref(),
        Some(format!("/signin?flow={flow_id}").as_str())
    );
    let (st, v) = b
        .call(Method::GET, &format!("/signin/api/flows/{flow_id}"), None)
        .await;
    // The flow's end, for the link's tab; `continued_by_link` tells a tab that waited.
    assert_eq!((st, &v["step"]), (StatusCode::OK, &json!("done")), "{v}");
    assert_eq!(v["continued_by_link"], true);
    // Nothing more can be done with it.
    let (st, v) = b.step(&f, "back", json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(s.events(&id, "signin.ok").await.len(), 1);
    // Used: gone.
    let (st, _, page) = open(Some(cookie_of(&b)), link.clone()).await;
    assert_eq!(st, StatusCode::GONE);
    assert!(page.contains("Sign in again"), "{page}");

    // The user's saved language wins over the browser's for the mail (this test's client sends
    // no Accept-Language): Japanese once the user chose it; an unknown language is refused.
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"locale": "de"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("`locale`"),
        "{v}"
    );
    let (st, v) = s
        .admin_json(
            Method::PATCH,
            &format!("/api/v2/users/{id}"),
            Some(json!({"locale": "ja-JP"})),
        )
        .await;
    assert_eq!((st, &v["locale"]), (StatusCode::OK, &json!("ja")), "{v}");

    // Expired (EM-7): past its 5 minutes the link is gone, in Japanese for a Japanese browser.
    let mut b2 = Browser::new(&s);
    let f2 = to_email_step(&mut b2, "lin").await;
    b2.ok(&f2, "choose", json!({"method": "email"})).await;
    let mail2 = sink.mail(2).await;
    assert_eq!(mail2["subject"], "Tessera サインイン確認コード", "{mail2}");
    let (_, link2) = code_and_link(&mail2);
    s.clock.advance(5 * 60);
    let r = no_redirect
        .get(link2.unwrap())
        .header("accept-language", "ja")
        .header(reqwest::header::COOKIE, cookie_of(&b2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let page = r.text().await.unwrap();
    assert!(page.contains("もう一度サインイン"), "{page}");
}

/// Captured SMS provider requests.
type Captured = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn sms_receiver() -> (String, Captured) {
    let seen: Captured = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/messages",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let keep = keep.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    keep.lock().unwrap().push((auth, body.0));
                    axum::http::StatusCode::CREATED
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/messages", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn sms_through_an_http_provider_and_voice_through_a_command() {
    let (url, seen) = sms_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.txt");
    let script = dir.path().join("call.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"to=$1\" >> {0}\ncat >> {0}\n",
            calls.display()
        ),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&script).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = Server::start_with(|c| {
        c.sms.provider = Provider::Http;
        c.sms.http_url = url.clone();
        c.sms.http_body = r#"{"to":"{to}","body":"{text}","sender":"Tessera"}"#.into();
        c.sms.http_password = Secret("tok-123".into());
        c.sms.code_length = 8;
        c.voice.provider = Provider::Command;
        c.voice.code_length = 8;
        c.voice.command = vec![script.display().to_string(), "{to}".into()];
    })
    .await;
    set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}})).await;
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "pho", "password": PW, "phone": "+819012345678"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["user_id"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&s);
    let f = b.password(None, "pho", PW).await;
    assert_eq!(f["step"], "verify", "{f}");
    let offer: Vec<&str> = f["offer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(offer.contains(&"sms") && offer.contains(&"voice"), "{f}");
    let f = b.ok(&f, "choose", json!({"method": "sms"})).await;
    assert_eq!(f["code_sent"]["to"], "+81********78", "{f}");
    let (auth, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(auth.as_deref(), Some("Bearer tok-123"));
    assert_eq!(body["to"], "+819012345678");
    let text = body["body"].as_str().unwrap();
    let code: String = text.chars().filter(char::is_ascii_digit).take(8).collect();
    assert!(text.contains(&format!("code is {code}.")), "{text}");
    // Voice: the command gets the number as its argument and the message on stdin.
    let f = b.ok(&f, "choose", json!({"method": "voice"})).await;
    let said = std::fs::read_to_string(&calls).unwrap();
    assert!(
        said.starts_with("to=+819012345678\nYour Tessera code is: "),
        "{said}"
    );
    let spoken: String = said
        .lines()
        .nth(1)
        .unwrap()
        .split("Again")
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(spoken.len(), 8);
    // The voice call voided the SMS code (one live code per sign-in purpose).
    let (st, _) = b
        .step(&f, "verify", json!({"method": "voice", "code": code}))
        .await;
    if code != spoken {
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let done = b
        .ok(&f, "verify", json!({"method": "voice", "code": spoken}))
        .await;
    assert_eq!(done["step"], "done", "{done}");

    // SMS and voice on one phone are one pair: deleting one deletes both.
    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    let sms = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["oob_channel"] == "sms")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = s
        .admin_json(
            Method::DELETE,
            &format!(
                "/api/v2/users/{id}/authentication-methods/{}",
                sms.replace('|', "%7C")
            ),
            None,
        )
        .await;
    assert!(st.is_success(), "{st}");
    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert!(
        !list.to_string().contains("\"sms\"") && !list.to_string().contains("\"voice\""),
        "{list}"
    );
}

#[tokio::test]
async fn starttls_with_authentication_reaches_the_smtp_server_and_notices_follow_mfa_changes() {
    // A private CA and a certificate for localhost, made by openssl.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |args: &str| {
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(args)
            .current_dir(d)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{args}");
    };
    sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=tessera-test-ca -keyout ca.key -out ca.pem",
    );
    sh(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout srv.key -out srv.csr",
    );
    sh(
        "printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ext && \
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext -out srv.pem",
    );
    let sink = Sink::start(&[
        "--user",
        "mailer",
        "--password",
        "s3cret",
        "--cert",
        d.join("srv.pem").to_str().unwrap(),
        "--key",
        d.join("srv.key").to_str().unwrap(),
    ])
    .await;
    let s = Server::start_with(|c| {
        email_on(c, &sink);
        c.email.smtp_host = "localhost".into();
        c.email.smtp_tls = SmtpTls::Starttls;
        c.email.smtp_username = "mailer".into();
        c.email.smtp_password = Secret("s3cret".into());
        c.email.smtp_ca_file = Some(d.join("ca.pem"));
        c.notifications.channels = tessera_server::oob::config::NotifyChannels::Email;
    })
    .await;
    let id = s.create_user("nat", Some(PW)).await;
    // Adding an authenticator app: a notice by email (through STARTTLS and AUTH).
    let (_assoc, _secret) = super::enrolled(&s, &id).await;
    s.clock.advance(5);
    let mail = sink.mail(1).await;
    assert_eq!(mail["to"], "nat@example.com");
    assert_eq!(mail["subject"], "A change to how you sign in to Tessera");
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("an authenticator app"),
        "{mail}"
    );
    assert_eq!(s.events(&id, "notify.sent").await.len(), 1);
}

#[tokio::test]
async fn password_reset_and_unlock_by_email_keep_the_lockout_rules_and_say_nothing_of_who_exists() {
    let sink = Sink::start(&[]).await;
    let s = Server::start_with(|c| {
        email_on(c, &sink);
        c.lockout.max_failures = 3;
        c.lockout.delay_base_secs = 0;
    })
    .await;
    let id = s.create_user("rui", Some(PW)).await;
    let ask = |who: &'static str, purpose: &'static str| {
        let s = &s;
        async move {
            s.json(
                Method::POST,
                "/signin/api/recovery",
                None,
                Some(json!({"identifier": who, "purpose": purpose})),
            )
            .await
        }
    };
    // An unknown account gets the same answer, and no mail.
    let (st, nobody) = ask("nobody", "reset").await;
    assert_eq!(st, StatusCode::ACCEPTED, "{nobody}");
    let (st, asked) = ask("rui", "reset").await;
    assert_eq!(st, StatusCode::ACCEPTED, "{asked}");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&nobody), keys(&asked));
    let mail = sink.mail(1).await;
    assert_eq!(mail["subject"], "Reset your Tessera password");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 1);
    let (code, link) = code_and_link(&mail);
    assert!(link.as_deref().is_some_and(|l| l.contains("/signin/link/")));
    let rid = asked["recovery_id"].as_str().unwrap();
    let complete = |body: Value| {
        let s = &s;
        async move {
            s.json(
                Method::POST,
                "/signin/api/recovery/complete",
                None,
                Some(body),
            )
            .await
        }
    };
    // A short new password is refused before the code is used; a wrong code counts.
    let (st, v) = complete(json!({"recovery_id": rid, "code": code, "password": "short"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (st, v) =
        complete(json!({"recovery_id": rid, "code": wrong, "password": "a new long passphrase"}))
            .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    // A session open before the reset (password, then the email code) ends with it.
    let mut b = Browser::new(&s);
    let f = to_email_step(&mut b, "rui").await;
    let f = b.ok(&f, "choose", json!({"method": "email"})).await;
    let (signin_code, _) = code_and_link(&sink.mail(2).await);
    let done = b
        .ok(
            &f,
            "verify",
            json!({"method": "email", "code": signin_code}),
        )
        .await;
    assert_eq!(done["step"], "done", "{done}");
    let (st, v) =
        complete(json!({"recovery_id": rid, "code": code, "password": "a new long passphrase"}))
            .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _) = b.call(Method::GET, "/signin/api/session", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(password_status(&s, PW).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        password_status(&s, "a new long passphrase").await,
        StatusCode::OK
    );
    // The mail's link is the same code: used up too.
    let token = link.unwrap().rsplit('/').next().unwrap().to_owned();
    let (st, _) = complete(json!({"link": token, "password": "another long passphrase"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Unlock: three wrong passwords lock the password; the link in the unlock mail, followed
    // to the page's recovery mode, clears that lock.
    for _ in 0..3 {
        assert_eq!(
            password_status(&s, "wrong password!").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: the right password fails too (the answer does not say why).
    assert_eq!(
        password_status(&s, "a new long passphrase").await,
        StatusCode::UNAUTHORIZED,
        "locked"
    );
    let (st, _) = ask("rui", "unlock").await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let mail = sink.mail(3).await;
    assert_eq!(mail["subject"], "Unlock your Tessera account");
    let (_, link) = code_and_link(&mail);
    let link = link.unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&link)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/signin?recover=unlock#link={token}")
    );
    let (st, v) = complete(json!({"link": token})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        password_status(&s, "a new long passphrase").await,
        StatusCode::OK
    );
    assert_eq!(s.events(&id, "unlock.self").await.len(), 1);
    assert_eq!(s.events(&id, "password.reset").await.len(), 1);
}

/// The hosted sign-in's answer to `password` for rui (the one password check, with its lock).
async fn password_status(s: &Server, password: &str) -> StatusCode {
    let mut b = Browser::new(s);
    let f = b.start(None).await;
    let f = b.ok(&f, "identifier", json!({"identifier": "rui"})).await;
    b.step(
        &f,
        "verify",
        json!({"method": "password", "password": password}),
    )
    .await
    .0
}

/// Calls with one browser's cookies, to a server process.
struct Raw {
    url: String,
    client: reqwest::Client,
    cookies: Vec<String>,
}

impl Raw {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, format!("{}{path}", self.url));
        if !self.cookies.is_empty() {
            rb = rb.header(reqwest::header::COOKIE, self.cookies.join("; "));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        for c in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let kv = c.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = kv.split('=').next().unwrap().to_owned();
            self.cookies.retain(|k| !k.starts_with(&format!("{name}=")));
            self.cookies.push(kv);
        }
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn no_code_link_or_address_reaches_the_log_even_at_trace() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n\
             [sms]\nprovider = \"command\"\ncommand = [\"/bin/false\"]\n",
            sink.port
        ),
    )
    .unwrap();
    let mut server = tessera_server::testing::ServerProcess::spawn(
        tessera_server::testing::ServerProcess::command(super::BIN)
            .env("TESSERA_SERVER_LOG", "trace")
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--database")
            .arg(dir.path().join("t.db")),
    )
    .unwrap();
    let admin = server.first_admin.clone().unwrap();
    let c = reqwest::Client::new();
    let url = server.url.clone();
    let admin_call = |m: Method, path: &str, body: Value| {
        c.request(m, format!("{url}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    admin_call(
        Method::PUT,
        "/api/v2/policies/sign-in",
        json!({"global": {"mfa": {"mode": "required", "prompt": "never"}}}),
    )
    .await
    .unwrap();
    let r = admin_call(
        Method::POST,
        "/api/v2/users",
        json!({"username": "lo",
        "password": PW, "email": "secret.address@example.com", "phone": "+819099998888"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let mut b = Raw {
        url: url.clone(),
        client: c.clone(),
        cookies: vec![],
    };
    let (_, f) = b
        .call(Method::POST, "/signin/api/flows", Some(json!({})))
        .await;
    let id = f["flow_id"].as_str().unwrap().to_owned();
    let at = |what: &str| format!("/signin/api/flows/{id}/{what}");
    b.call(
        Method::POST,
        &at("identifier"),
        Some(json!({"identifier": "lo"})),
    )
    .await;
    b.call(
        Method::POST,
        &at("verify"),
        Some(json!({"method": "password", "password": PW})),
    )
    .await;
    // An SMS provider that fails: the error is logged, without the number or the code.
    let (st, v) = b
        .call(Method::POST, &at("choose"), Some(json!({"method": "sms"})))
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let (st, v) = b
        .call(
            Method::POST,
            &at("choose"),
            Some(json!({"method": "email"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (code, link) = code_and_link(&sink.mail(1).await);
    let token = link.unwrap().rsplit('/').next().unwrap().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.call(
        Method::POST,
        &at("verify"),
        Some(json!({"method": "email", "code": wrong})),
    )
    .await;
    let (st, v) = b
        .call(Method::GET, &format!("/signin/link/{token}"), None)
        .await;
    assert!(st.is_redirection() || st == StatusCode::OK, "{st} {v}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.output();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG") || log.contains("provider command failed"),
        "the log is on: {log}"
    );
    for secret in [
        code.as_str(),
        token.as_str(),
        "secret.address",
        "99998888",
        PW,
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
    server.kill().unwrap();
}

#[tokio::test]
async fn users_change_their_email_by_code_or_link_and_their_phone_by_code() {
    let sink = Sink::start(&[]).await;
    let (url, seen) = sms_receiver().await;
    let s = Server::start_with(|c| {
        email_on(c, &sink);
        c.sms.provider = Provider::Http;
        c.sms.http_url = url.clone();
    })
    .await;
    // No address yet: a password grant's token may change it (no factor to step up with).
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "cam", "password": PW})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, tok) = s.password_grant("cam", PW).await;
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let me = |m: Method, path: &'static str, body: Option<Value>| {
        let (s, a) = (&s, access.clone());
        async move { s.json(m, path, Some(&a), body).await }
    };
    // A malformed address, then a real one: a code to the new address.
    let (st, _) = me(
        Method::PUT,
        "/api/v2/me/email",
        Some(json!({"value": "nope"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, v) = me(
        Method::PUT,
        "/api/v2/me/email",
        Some(json!({"value": "cam@example.com"})),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let mail = sink.mail(1).await;
    assert_eq!(mail["to"], "cam@example.com");
    assert_eq!(mail["subject"], "Confirm your email address for Tessera");
    let (code, _) = code_and_link(&mail);
    // Not yet the user's: the profile is unchanged until confirmed.
    let (_, profile) = me(Method::GET, "/api/v2/me", None).await;
    assert!(profile["user"]["email"].is_null(), "{profile}");
    let (st, v) = me(
        Method::POST,
        "/api/v2/me/contact-verification",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "cam@example.com");
    // Now the email factor (active) — and a change needs a token with MFA from now on.
    let (_, list) = me(Method::GET, "/api/v2/me/authenticators", None).await;
    let emails: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["oob_channel"] == "email")
        .collect();
    assert_eq!(emails.len(), 1, "{list}");
    assert_eq!(emails[0]["active"], true);
    let (st, v) = me(
        Method::PUT,
        "/api/v2/me/phone",
        Some(json!({"value": "+81 90 1111 2222"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "step-up: {v}");

    // The phone, by the admin's hand for this user's twin: by SMS, then confirmed by its code.
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "cam2", "password": PW})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, tok) = s.password_grant("cam2", PW).await;
    let access2 = tok["access_token"].as_str().unwrap().to_owned();
    let (st, v) = s
        .json(
            Method::PUT,
            "/api/v2/me/phone",
            Some(&access2),
            Some(json!({"value": "+819011112222"})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let text = seen.lock().unwrap()[0].1["body"]
        .as_str()
        .unwrap()
        .to_owned();
    let sms_code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let wrong = if sms_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v2/me/contact-verification",
            Some(&access2),
            Some(json!({"code": wrong})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v2/me/contact-verification",
            Some(&access2),
            Some(json!({"code": sms_code})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["phone"], "+819011112222");

    // An address confirmed by the mail's link instead (a third user).
    let (st, v) = s
        .admin_json(
            Method::POST,
            "/api/v2/users",
            Some(json!({"username": "cam3", "password": PW})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let uid3 = v["user_id"].as_str().unwrap().to_owned();
    let (_, tok) = s.password_grant("cam3", PW).await;
    let access3 = tok["access_token"].as_str().unwrap().to_owned();
    let (st, _) = s
        .json(
            Method::PUT,
            "/api/v2/me/email",
            Some(&access3),
            Some(json!({"value": "cam3@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (_, link) = code_and_link(&sink.mail(2).await);
    let page = reqwest::get(link.unwrap()).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("confirmed"));
    let (_, user) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{uid3}"), None)
        .await;
    assert_eq!(user["email"], "cam3@example.com", "{user}");
}
