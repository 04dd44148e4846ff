//! The device is told how the requester's network compares with its own last known one
//! (docs/protocol.md, "Requester and device network"): a real device on 127.0.0.1, requesters
//! named by a trusted proxy's `X-Forwarded-For` (QR login) or by the relying party (push).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_client::{EnrollOptions, VirtualDevice};
use tessera_core::device::wire::PushContext;
use tessera_core::device::{Decision, DeviceNetwork};
use tessera_server::testing::InProcess;

use super::{config_in, t0_clock};

struct Setup {
    url: String,
    admin: String,
    http: reqwest::Client,
    device: VirtualDevice,
    // Before `_tmp`: the server stops before its directory goes.
    _server: InProcess,
    _tmp: tempfile::TempDir,
}

/// A server whose device origin is its real address, trusting 127.0.0.0/8 as a proxy, with
/// alice and one enrolled device (connecting from 127.0.0.1, without `X-Forwarded-For`).
async fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    config.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    let clock = t0_clock();
    // On loopback `bind` names the device origin by the address listened on: the enrollment
    // link leads the device to this server.
    let server = InProcess::start(config, clock.clone()).await.unwrap();
    let url = server.url.clone();
    let admin = server.first_admin.clone().unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/v2/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "alice", "email": "alice@example.com", "password": "alice-pw-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let offer: Value = http
        .post(format!("{url}/device/v1/enroll/offers"))
        .bearer_auth(&admin)
        .json(&json!({"user": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device = VirtualDevice::enroll_with(
        offer["link"].as_str().unwrap(),
        &EnrollOptions {
            device_name: "phone".into(),
            platform: "test".into(),
            ..EnrollOptions::default()
        },
        clock,
    )
    .await
    .unwrap();
    Setup {
        url,
        admin,
        http,
        device,
        _server: server,
        _tmp: tmp,
    }
}

impl Setup {
    /// A browser behind the trusted proxy at 127.0.0.1 starts a QR login; the device reads it.
    async fn qr_from(&self, requester: &str, decision: Decision) -> PushContext {
        let r = self
            .http
            .post(format!("{}/qr-login/sessions", self.url))
            .header("x-forwarded-for", requester)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        let details = self
            .device
            .qr_login(v["link"].as_str().unwrap(), decision)
            .await
            .expect("the device's signature over the context it was shown is accepted");
        details.context
    }

    /// A relying party pushes for a requester at `ip`; the context the device receives.
    async fn push_from(&self, context: Value) -> PushContext {
        let r = self
            .http
            .post(format!("{}/api/v1/push", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({"user": "alice", "context": context}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: Value = r.json().await.unwrap();
        let c = self
            .device
            .next_challenge(Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(c.transaction_id, created["transaction_id"]);
        // Approving proves the network fields are in the context the device signed over and
        // that the server checks the very same context.
        let number = u32::try_from(created["number"].as_u64().unwrap()).unwrap();
        let status = self.device.approve(&c, number).await.unwrap();
        assert_eq!(status.reason.as_deref(), Some("approved"));
        c.context
    }
}

#[tokio::test]
async fn a_qr_login_tells_the_device_whether_the_browser_is_on_its_network() {
    let s = setup().await;
    let same = s.qr_from("127.0.0.2", Decision::Approve).await;
    assert_eq!(same.ip, "127.0.0.2");
    assert_eq!(same.device_network, DeviceNetwork::Same);
    assert_eq!(same.device_network_prefix, "127.0.0.0/24");

    let other = s.qr_from("203.0.113.7", Decision::Approve).await;
    assert_eq!(other.ip, "203.0.113.7");
    assert_eq!(other.device_network, DeviceNetwork::Different);
    assert_eq!(other.device_network_prefix, "127.0.0.0/24");
}

#[tokio::test]
async fn a_push_tells_the_device_whether_the_requester_is_on_its_network() {
    let s = setup().await;
    s.device.connect().await;
    let same = s
        .push_from(json!({"application": "Payroll", "ip": "127.0.0.2"}))
        .await;
    assert_eq!(same.device_network, DeviceNetwork::Same);
    assert_eq!(same.device_network_prefix, "127.0.0.0/24");

    // A relying party cannot say "same": only the server compares.
    let other = s
        .push_from(json!({"application": "Payroll", "ip": "203.0.113.7",
                          "device_network": "same", "device_network_prefix": "203.0.113.0/24"}))
        .await;
    assert_eq!(other.device_network, DeviceNetwork::Different);
    assert_eq!(other.device_network_prefix, "127.0.0.0/24");

    let unknown = s.push_from(json!({"application": "Payroll"})).await;
    assert_eq!(unknown.device_network, DeviceNetwork::Unknown);
    assert_eq!(unknown.device_network_prefix, "127.0.0.0/24");

    // The polled list carries the same comparison as the event stream.
    let r = s
        .http
        .post(format!("{}/api/v1/push", s.url))
        .bearer_auth(&s.admin)
        .json(&json!({"user": "alice", "context": {"ip": "203.0.113.8"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let polled = s.device.device().challenges().await.unwrap();
    assert_eq!(polled.len(), 1);
    assert_eq!(polled[0].context.device_network, DeviceNetwork::Different);
}
