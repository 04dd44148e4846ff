//! A device talking to its server: enrollment, signed requests, challenges (SSE with reconnect,
//! polling fallback), answers and QR login.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use tessera_core::device::message::{context_hash, sha256, ChallengeStatement};
use tessera_core::device::wire::{
    DeviceInfo, EnrollBeginRequest, EnrollBeginResponse, EnrollFinishRequest, EnrollFinishResponse,
    PushAnswerRequest, PushChallenge, PushStatus, QrLoginAnswerRequest, QrLoginDetails,
};
use tessera_core::device::{
    verify, Decision, DeviceKey, EnrollLink, EnrollmentProof, PushAnswer, QrLoginAnswer,
    QrLoginLink, RequestAuth, SignatureAlgorithm,
};
use tessera_core::{Clock, SystemClock};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::enrollment::Enrollment;
use crate::error::{Error, Result};

/// How a device enrolls.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// The name the user and admins will see.
    pub device_name: String,
    /// Platform reported to the server.
    pub platform: String,
    /// Force an algorithm (default: the server's preference).
    pub algorithm: Option<SignatureAlgorithm>,
    /// Whether user verification gates the key.
    pub user_verification: bool,
}

impl Default for EnrollOptions {
    fn default() -> Self {
        EnrollOptions {
            device_name: "Tessera device".into(),
            platform: std::env::consts::OS.into(),
            algorithm: None,
            user_verification: false,
        }
    }
}

/// An enrolled device, ready to talk to its (pinned) server. Cheap to clone.
#[derive(Clone)]
pub struct Device {
    enrollment: Arc<Enrollment>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("enrollment", &self.enrollment)
            .finish_non_exhaustive()
    }
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::from)
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    Err(Error::Server {
        status,
        code: body
            .get("error")
            .and_then(|v| v.as_str())
            .unwrap_or("error")
            .to_owned(),
        description: body
            .get("error_description")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
    })
}

fn nonce() -> Result<String> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::Invalid("no randomness".into()))?;
    Ok(BASE64URL_NOPAD.encode(&b))
}

impl Device {
    /// Enrolls with the server named by `link`: checks the server key against the link's
    /// fingerprint, generates a key pair, proves possession and registers.
    pub async fn enroll(link: &EnrollLink, opts: &EnrollOptions) -> Result<Device> {
        Self::enroll_with_clock(link, opts, Arc::new(SystemClock)).await
    }

    /// [`Device::enroll`] with an injected clock (for request timestamps).
    pub async fn enroll_with_clock(
        link: &EnrollLink,
        opts: &EnrollOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Device> {
        tessera_core::device::link::check_origin(&link.origin)?;
        let http = http_client()?;
        let begin: EnrollBeginResponse = check(
            http.post(format!("{}/device/v1/enroll/begin", link.origin))
                .json(&EnrollBeginRequest {
                    code: link.code.clone(),
                })
                .send()
                .await?,
        )
        .await?
        .json()
        .await?;
        let server_public_key = BASE64URL_NOPAD
            .decode(begin.server_public_key.as_bytes())
            .map_err(|_| Error::Pinning("server key is not base64url"))?;
        let fingerprint = BASE64URL_NOPAD.encode(&sha256(&server_public_key));
        if fingerprint != link.server_key {
            return Err(Error::Pinning(
                "the server's key does not match the enrollment QR",
            ));
        }
        let algorithm = match opts.algorithm {
            Some(a) if link.algorithms.contains(&a) => a,
            Some(_) => {
                return Err(Error::Invalid(
                    "the server does not offer the requested algorithm".into(),
                ))
            }
            None => link.chosen_algorithm(),
        };
        let key = DeviceKey::generate(algorithm)?;
        let proof = EnrollmentProof {
            origin: link.origin.clone(),
            enrollment_id: begin.enrollment_id.clone(),
            challenge: begin.challenge.clone(),
            public_key: key.public_key().to_vec(),
            algorithm,
            device_name: opts.device_name.clone(),
            user_verification: opts.user_verification,
        };
        let signature = key.sign(&proof.signing_bytes())?;
        let finish: EnrollFinishResponse = check(
            http.post(format!("{}/device/v1/enroll/finish", link.origin))
                .json(&EnrollFinishRequest {
                    enrollment_id: begin.enrollment_id,
                    public_key: BASE64URL_NOPAD.encode(key.public_key()),
                    algorithm,
                    device_name: opts.device_name.clone(),
                    platform: opts.platform.clone(),
                    user_verification: opts.user_verification,
                    signature: BASE64URL_NOPAD.encode(&signature),
                })
                .send()
                .await?,
        )
        .await?
        .json()
        .await?;
        Ok(Device {
            enrollment: Arc::new(Enrollment {
                origin: link.origin.clone(),
                server_public_key,
                device_id: finish.device_id,
                user_id: finish.user_id,
                user: begin.user,
                device_name: opts.device_name.clone(),
                key,
                otp_uri: finish.otp_uri,
            }),
            http,
            clock,
        })
    }

    /// A device from a stored enrollment.
    pub fn from_enrollment(enrollment: Enrollment) -> Result<Device> {
        Self::from_enrollment_with_clock(enrollment, Arc::new(SystemClock))
    }

    /// [`Device::from_enrollment`] with an injected clock.
    pub fn from_enrollment_with_clock(
        enrollment: Enrollment,
        clock: Arc<dyn Clock>,
    ) -> Result<Device> {
        Ok(Device {
            enrollment: Arc::new(enrollment),
            http: http_client()?,
            clock,
        })
    }

    /// The enrollment (pinned server, device id, key).
    pub fn enrollment(&self) -> &Enrollment {
        &self.enrollment
    }

    /// The device id.
    pub fn id(&self) -> &str {
        &self.enrollment.device_id
    }

    /// Sends a request signed by the device key (`tessera/v1/request`) to the pinned origin.
    pub async fn signed_request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response> {
        let body = body.unwrap_or_default();
        let timestamp = self.clock.now_unix();
        let nonce = nonce()?;
        let auth = RequestAuth {
            origin: self.enrollment.origin.clone(),
            device_id: self.enrollment.device_id.clone(),
            method: method.as_str().to_owned(),
            path_and_query: path_and_query.to_owned(),
            timestamp,
            nonce: nonce.clone(),
            body_sha256: sha256(&body),
        };
        let signature = self.enrollment.key.sign(&auth.signing_bytes())?;
        let mut req = self
            .http
            .request(
                method,
                format!("{}{}", self.enrollment.origin, path_and_query),
            )
            .header("tessera-device", &self.enrollment.device_id)
            .header("tessera-timestamp", timestamp.to_string())
            .header("tessera-nonce", nonce)
            .header("tessera-signature", BASE64URL_NOPAD.encode(&signature));
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body);
        }
        check(req.send().await?).await
    }

    /// Checks that a challenge comes from the pinned server: its origin and its signature.
    pub fn verify_challenge(&self, c: &PushChallenge) -> Result<()> {
        if c.origin != self.enrollment.origin {
            return Err(Error::Pinning("challenge names another origin"));
        }
        let statement = ChallengeStatement {
            origin: c.origin.clone(),
            transaction_id: c.transaction_id.clone(),
            nonce: c.nonce.clone(),
            expires_at: c.expires_at,
            context_hash: context_hash(&c.context),
            number_choices: c.number_choices.clone(),
        };
        let sig = BASE64URL_NOPAD
            .decode(c.server_signature.as_bytes())
            .map_err(|_| Error::BadChallenge)?;
        verify(
            SignatureAlgorithm::Ed25519,
            &self.enrollment.server_public_key,
            &statement.signing_bytes(),
            &sig,
        )
        .map_err(|_| Error::BadChallenge)
    }

    /// The pending challenges (polling), each verified against the pinned server key.
    pub async fn challenges(&self) -> Result<Vec<PushChallenge>> {
        let list: Vec<PushChallenge> = self
            .signed_request(Method::GET, "/device/v1/challenges", None)
            .await?
            .json()
            .await?;
        Ok(list
            .into_iter()
            .filter(|c| match self.verify_challenge(c) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "dropping a challenge");
                    false
                }
            })
            .collect())
    }

    /// Signs an answer to `c` (without sending it).
    pub fn sign_answer(
        &self,
        c: &PushChallenge,
        decision: Decision,
        number: Option<u32>,
    ) -> Result<PushAnswerRequest> {
        self.verify_challenge(c)?;
        if decision == Decision::Approve && number.is_none() {
            return Err(Error::Invalid(
                "approving needs the number shown on the sign-in screen".into(),
            ));
        }
        let answer = PushAnswer {
            origin: self.enrollment.origin.clone(),
            device_id: self.enrollment.device_id.clone(),
            transaction_id: c.transaction_id.clone(),
            nonce: c.nonce.clone(),
            decision,
            number,
            expires_at: c.expires_at,
            context_hash: context_hash(&c.context),
        };
        Ok(PushAnswerRequest {
            decision,
            number,
            signature: BASE64URL_NOPAD.encode(&self.enrollment.key.sign(&answer.signing_bytes())?),
        })
    }

    /// Sends a signed answer for transaction `tx`.
    pub async fn send_answer(&self, tx: &str, answer: &PushAnswerRequest) -> Result<PushStatus> {
        let body = serde_json::to_vec(answer).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(self
            .signed_request(
                Method::POST,
                &format!("/device/v1/challenges/{tx}/answer"),
                Some(body),
            )
            .await?
            .json()
            .await?)
    }

    /// Signs and sends an answer: the server's verdict (approved, denied).
    pub async fn answer(
        &self,
        c: &PushChallenge,
        decision: Decision,
        number: Option<u32>,
    ) -> Result<PushStatus> {
        let a = self.sign_answer(c, decision, number)?;
        self.send_answer(&c.transaction_id, &a).await
    }

    fn check_qr_link(&self, link: &QrLoginLink) -> Result<()> {
        if link.origin != self.enrollment.origin {
            return Err(Error::Pinning(
                "the QR code is for a server this device is not enrolled with",
            ));
        }
        if link.server_key != self.enrollment.server_fingerprint() {
            return Err(Error::Pinning(
                "the QR code names another server key than the one enrolled",
            ));
        }
        Ok(())
    }

    /// Fetches who asks for a QR login (to show before approving).
    pub async fn qr_details(&self, link: &QrLoginLink) -> Result<QrLoginDetails> {
        self.check_qr_link(link)?;
        let d: QrLoginDetails = self
            .signed_request(
                Method::GET,
                &format!("/device/v1/qr-login/{}", link.lsi),
                None,
            )
            .await?
            .json()
            .await?;
        if d.lsi != link.lsi || d.origin != self.enrollment.origin {
            return Err(Error::Pinning("the server answered for another session"));
        }
        Ok(d)
    }

    /// Signs and sends a QR-login decision for the session `details` describes.
    pub async fn qr_answer(&self, details: &QrLoginDetails, decision: Decision) -> Result<()> {
        let answer = QrLoginAnswer {
            origin: self.enrollment.origin.clone(),
            device_id: self.enrollment.device_id.clone(),
            lsi: details.lsi.clone(),
            decision,
            expires_at: details.expires_at,
            context_hash: context_hash(&details.context),
        };
        let req = QrLoginAnswerRequest {
            decision,
            signature: BASE64URL_NOPAD.encode(&self.enrollment.key.sign(&answer.signing_bytes())?),
        };
        let body = serde_json::to_vec(&req).map_err(|e| Error::Invalid(e.to_string()))?;
        self.signed_request(
            Method::POST,
            &format!("/device/v1/qr-login/{}/answer", details.lsi),
            Some(body),
        )
        .await?;
        Ok(())
    }

    /// What the server knows of this device.
    pub async fn info(&self) -> Result<DeviceInfo> {
        Ok(self
            .signed_request(Method::GET, "/device/v1/device", None)
            .await?
            .json()
            .await?)
    }

    /// Removes this device from the server (and its paired OTP authenticator).
    pub async fn unenroll(&self) -> Result<()> {
        self.signed_request(Method::DELETE, "/device/v1/device", None)
            .await?;
        Ok(())
    }

    /// Starts receiving challenges in the background: server-sent events, reconnecting with
    /// backoff, polling `/device/v1/challenges` after each disconnect (and every
    /// `poll_interval` when `poll_only`). Challenges arrive verified and deduplicated.
    pub fn subscribe(&self, opts: SubscribeOptions) -> Subscription {
        let (tx, rx) = mpsc::channel(64);
        let device = self.clone();
        let task = tokio::spawn(async move { receive_loop(device, opts, tx).await });
        Subscription { rx, task }
    }
}

/// How [`Device::subscribe`] receives.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    /// Never open the event stream; poll only.
    pub poll_only: bool,
    /// Polling period when polling only.
    pub poll_interval: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        SubscribeOptions {
            poll_only: false,
            poll_interval: Duration::from_secs(2),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What a subscription reports.
#[derive(Debug, Clone)]
pub enum DeviceEvent {
    /// The event stream is connected.
    Connected,
    /// The stream dropped or could not connect (reconnecting).
    Disconnected(String),
    /// A new, verified challenge.
    Challenge(Box<PushChallenge>),
}

/// A running receiver of challenges; stops when dropped.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<DeviceEvent>,
    task: JoinHandle<()>,
}

impl Subscription {
    /// The next event (None once the receiver stopped).
    pub async fn next_event(&mut self) -> Option<DeviceEvent> {
        self.rx.recv().await
    }

    /// The next challenge, skipping connection events.
    pub async fn next_challenge(&mut self) -> Option<PushChallenge> {
        loop {
            match self.rx.recv().await? {
                DeviceEvent::Challenge(c) => return Some(*c),
                DeviceEvent::Connected | DeviceEvent::Disconnected(_) => continue,
            }
        }
    }

    /// [`Subscription::next_challenge`] with a timeout.
    pub async fn next_challenge_within(&mut self, timeout: Duration) -> Result<PushChallenge> {
        match tokio::time::timeout(timeout, self.next_challenge()).await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(Error::Transport("the receiver stopped".into())),
            Err(_) => Err(Error::Timeout("a challenge")),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Remembers the last transaction ids seen, to hand each challenge over once.
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    fn new() -> Self {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        if self.order.len() > 1024 {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

async fn deliver(
    device: &Device,
    seen: &mut Seen,
    tx: &mpsc::Sender<DeviceEvent>,
    c: PushChallenge,
) -> bool {
    if let Err(e) = device.verify_challenge(&c) {
        tracing::warn!(error = %e, "dropping a challenge");
        return true;
    }
    if !seen.first_time(&c.transaction_id) {
        return true;
    }
    tx.send(DeviceEvent::Challenge(Box::new(c))).await.is_ok()
}

async fn poll_once(device: &Device, seen: &mut Seen, tx: &mpsc::Sender<DeviceEvent>) -> bool {
    match device.challenges().await {
        Ok(list) => {
            for c in list {
                if !deliver(device, seen, tx, c).await {
                    return false;
                }
            }
            true
        }
        Err(e) => {
            tracing::debug!(error = %e, "poll failed");
            true
        }
    }
}

async fn receive_loop(device: Device, opts: SubscribeOptions, tx: mpsc::Sender<DeviceEvent>) {
    let mut seen = Seen::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        if opts.poll_only {
            if !poll_once(&device, &mut seen, &tx).await {
                return;
            }
            tokio::time::sleep(opts.poll_interval).await;
            continue;
        }
        match device
            .signed_request(Method::GET, "/device/v1/events", None)
            .await
        {
            Ok(resp) => {
                backoff = Duration::from_millis(100);
                if tx.send(DeviceEvent::Connected).await.is_err() {
                    return;
                }
                let ended = match read_sse(&device, resp, &mut seen, &tx).await {
                    Some(ended) => ended,
                    None => return,
                };
                if let Some(retry) = ended.retry {
                    // The server asked for this pause (it is shutting down); honour it.
                    backoff = retry.min(opts.max_backoff);
                }
                if tx
                    .send(DeviceEvent::Disconnected(ended.reason))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let fatal = matches!(&e, Error::Server { status, .. } if *status == StatusCode::FORBIDDEN.as_u16() || *status == StatusCode::UNAUTHORIZED.as_u16());
                if tx
                    .send(DeviceEvent::Disconnected(e.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                if fatal {
                    // Removed from the server (or the clock is far off): keep trying slowly.
                    backoff = opts.max_backoff;
                }
            }
        }
        // Polling fallback while the stream is down.
        if !poll_once(&device, &mut seen, &tx).await {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(opts.max_backoff);
    }
}

/// Why an event stream ended, and how long the server asked the device to wait before
/// reconnecting (the SSE `retry` field).
struct Ended {
    reason: String,
    retry: Option<Duration>,
}

impl Ended {
    fn because(reason: impl Into<String>, retry: Option<Duration>) -> Self {
        Ended {
            reason: reason.into(),
            retry,
        }
    }
}

/// Reads an event stream until it ends; `Some` when it dropped, `None` when the subscriber is
/// gone.
async fn read_sse(
    device: &Device,
    resp: reqwest::Response,
    seen: &mut Seen,
    tx: &mpsc::Sender<DeviceEvent>,
) -> Option<Ended> {
    let mut stream = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut retry = None;
    loop {
        let chunk = match stream.next().await {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Some(Ended::because(e.to_string(), retry)),
            None => return Some(Ended::because("stream ended", retry)),
        };
        buf.extend_from_slice(&chunk);
        if buf.len() > 1 << 20 {
            return Some(Ended::because("event too large", retry));
        }
        while let Some(end) = find_event_end(&buf) {
            let raw: Vec<u8> = buf.drain(..end.1).collect();
            let text = String::from_utf8_lossy(raw.get(..end.0).unwrap_or_default()).into_owned();
            let (event, data) = parse_event(&text);
            if let Some(ms) = parse_retry(&text) {
                retry = Some(Duration::from_millis(ms));
            }
            match event.as_str() {
                "shutdown" => return Some(Ended::because("server shutting down", retry)),
                "challenge" => match serde_json::from_str::<PushChallenge>(&data) {
                    Ok(c) => {
                        if !deliver(device, seen, tx, c).await {
                            return None;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable challenge event"),
                },
                "resync" if !poll_once(device, seen, tx).await => return None,
                _ => {}
            }
        }
    }
}

/// (end of the event text, end including the blank line) of the first complete event.
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| (p, p + 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The `retry:` field of one SSE event (milliseconds), if any.
fn parse_retry(text: &str) -> Option<u64> {
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("retry:"))
        .find_map(|v| v.trim().parse().ok())
}

/// The event name (default `message`) and the joined data lines of one SSE event.
fn parse_event(text: &str) -> (String, String) {
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (event, data.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_sent_events() {
        let buf = b"event: challenge\nid: x\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: re";
        let (end, total) = find_event_end(buf).unwrap();
        let (ev, data) = parse_event(std::str::from_utf8(&buf[..end]).unwrap());
        assert_eq!(ev, "challenge");
        assert_eq!(data, "{\"a\":1}");
        assert_eq!(&buf[total..total + 2], b": ");
        assert_eq!(parse_event(": keep-alive").0, "message");
    }

    #[test]
    fn reads_the_retry_hint() {
        assert_eq!(
            parse_retry("event: shutdown\nretry: 2000\ndata: {}"),
            Some(2000)
        );
        assert_eq!(parse_retry("event: challenge\ndata: {}"), None);
        assert_eq!(parse_retry("retry: soon"), None, "not a number: ignored");
    }

    #[test]
    fn seen_dedupes() {
        let mut s = Seen::new();
        assert!(s.first_time("a"));
        assert!(!s.first_time("a"));
        for i in 0..2000 {
            s.first_time(&i.to_string());
        }
        assert!(s.first_time("a"), "old ids are forgotten");
    }
}
