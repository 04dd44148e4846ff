//! The whole tessera-server (users, Auth0-shaped API, device factor) with a virtual device:
//! the `mfa-oob` grant completes MFA with an approved push.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tessera_client::VirtualDevice;
use tessera_core::SystemClock;

pub struct FullServer {
    pub url: String,
    pub admin: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FullServer {
    pub async fn start() -> FullServer {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = tessera_server::Config {
            database: Some(dir.path().join("server.db")),
            key_file: Some(dir.path().join("master.key")),
            ..tessera_server::Config::default()
        };
        config.device.origin = url.clone();
        let (state, first) = tessera_server::open(config, Arc::new(SystemClock)).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = tessera_server::run(listener, state, async move {
                let _ = rx.await;
            })
            .await;
        });
        FullServer {
            url,
            admin: first.unwrap(),
            http: reqwest::Client::new(),
            _dir: dir,
            stop: Some(tx),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A user in an organization that requires MFA; returns the user id.
    pub async fn user(&self, name: &str, password: &str) -> String {
        let admin = self.admin.clone();
        let (_, org) = self
            .call(
                reqwest::Method::POST,
                "/api/v2/organizations",
                Some(&admin),
                Some(json!({"name": format!("org-{name}"), "require_mfa": true})),
            )
            .await;
        let (st, v) = self
            .call(
                reqwest::Method::POST,
                "/api/v2/users",
                Some(&admin),
                Some(json!({"username": name, "password": password, "organizations": [org["id"]]})),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        v["user_id"].as_str().unwrap().to_owned()
    }

    pub async fn enroll(&self, user: &str) -> VirtualDevice {
        let admin = self.admin.clone();
        let (st, offer) = self
            .call(
                reqwest::Method::POST,
                "/device/v1/enroll/offers",
                Some(&admin),
                Some(json!({"user": user})),
            )
            .await;
        assert_eq!(st, 201, "{offer}");
        VirtualDevice::enroll(offer["link"].as_str().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for FullServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_push_completes_the_auth0_mfa_oob_grant() {
    let s = FullServer::start().await;
    s.user("carol", "correct horse battery").await;
    let device = s.enroll("carol").await;

    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "password", "username": "carol", "password": "correct horse battery"})))
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (403, Some("mfa_required")),
        "{v}"
    );
    let mfa_token = v["mfa_token"].as_str().unwrap().to_owned();

    let admin = s.admin.clone();
    let (st, push) = s
        .call(
            reqwest::Method::POST,
            "/api/v1/push",
            Some(&admin),
            Some(json!({"user": "carol", "context": {"application": "Payroll"}})),
        )
        .await;
    assert_eq!(st, 201, "{push}");
    let tx = push["transaction_id"].as_str().unwrap().to_owned();
    let grant = json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token": mfa_token, "oob_code": tx});

    // Pending: Auth0's `authorization_pending`, and the mfa_token stays usable.
    let (st, v) = s
        .call(
            reqwest::Method::POST,
            "/oauth/token",
            None,
            Some(grant.clone()),
        )
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("authorization_pending")),
        "{v}"
    );

    let c = device
        .next_challenge(Duration::from_secs(10))
        .await
        .unwrap();
    device
        .approve(&c, push["number"].as_u64().unwrap() as u32)
        .await
        .unwrap();
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(grant))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_its_paired_totp_are_created_and_deleted_together() {
    let s = FullServer::start().await;
    let user_id = s.user("erin", "correct horse battery").await;
    let device = s.enroll("erin").await;
    let otp_uri = device.device().enrollment().otp_uri.clone().unwrap();
    assert!(otp_uri.starts_with("otpauth://totp/"), "{otp_uri}");

    let admin = s.admin.clone();
    let path = format!("/api/v2/users/{user_id}/authentication-methods");
    let (st, list) = s
        .call(reqwest::Method::GET, &path, Some(&admin), None)
        .await;
    assert_eq!(st, 200, "{list}");
    let items = list.as_array().unwrap();
    let push = items
        .iter()
        .find(|a| a["authenticator_type"] == "oob")
        .expect("push listed");
    assert_eq!(push["oob_channel"], "push");
    let otp = items
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .expect("paired TOTP listed");
    assert_eq!(otp["active"], true);

    // The paired TOTP works as a second factor on its own.
    let account = tessera_core::uri::parse(&otp_uri).unwrap();
    let now = tessera_core::Clock::now_unix(&SystemClock);
    let code = account.code_at(now).unwrap().value;
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "password", "username": "erin", "password": "correct horse battery"})))
        .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = s
        .call(reqwest::Method::POST, "/oauth/token", None, Some(json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "mfa_token": v["mfa_token"], "otp": code})))
        .await;
    assert_eq!(st, 200, "{v}");

    // Deleting the TOTP deletes the push authenticator: the device key stops working.
    let otp_id = otp["id"].as_str().unwrap().replace('|', "%7C");
    let (st, v) = s
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/{otp_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 204, "{v}");
    let (_, list) = s
        .call(reqwest::Method::GET, &path, Some(&admin), None)
        .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|a| a["authenticator_type"] != "oob"),
        "{list}"
    );
    let err = device.device().challenges().await.unwrap_err();
    assert_eq!(err.server_code(), Some("rejected"));
}
