//! This device as a possession factor: enrollments with servers (keys sealed in the vault as
//! items of kind `device`), a push channel per enrollment while the vault is open, approvals
//! with number matching, QR login, and the history of answers (vault items of kind `history`).
//! The protocol is tessera-client's; this module only keeps state and talks to the UI.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tessera_client::{Device, DeviceEvent, EnrollOptions, Enrollment, KeyStore, SubscribeOptions};
use tessera_core::device::wire::{PushChallenge, PushState, QrLoginDetails};
use tessera_core::device::{Decision, EnrollLink, QrLoginLink};
use tessera_core::Clock;
use tessera_vault::Vault;
use zeroize::Zeroizing;

use crate::app::{lock, Desktop, Notice, Notifier, Session};
use crate::error::{Error, Result};
use crate::wire::{EnrollmentView, HistoryEntry, PushDecision, PushView, QrLoginView};

const DEVICE_KIND: &str = "device";
const HISTORY_KIND: &str = "history";
/// History entries kept (older ones are deleted).
const HISTORY_MAX: usize = 500;

/// The vault as tessera-client's key store.
///
/// (The CLI's simulator has the same adapter: tessera-vault and tessera-client may not depend
/// on each other, and the few lines are not worth a crate.)
struct VaultKeys<'a>(&'a mut Vault);

fn storage(e: tessera_vault::Error) -> tessera_client::Error {
    tessera_client::Error::Storage(e.to_string())
}

impl KeyStore for VaultKeys<'_> {
    fn put(&mut self, id: &str, bytes: &[u8]) -> tessera_client::Result<()> {
        self.0.put_item(DEVICE_KIND, id, bytes).map_err(storage)
    }
    fn get(&self, id: &str) -> tessera_client::Result<Option<Zeroizing<Vec<u8>>>> {
        self.0.get_item(DEVICE_KIND, id).map_err(storage)
    }
    fn ids(&self) -> tessera_client::Result<Vec<String>> {
        Ok(self
            .0
            .list_items(DEVICE_KIND)
            .map_err(storage)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    fn delete(&mut self, id: &str) -> tessera_client::Result<bool> {
        self.0.delete_item(DEVICE_KIND, id).map_err(storage)
    }
}

struct Inner {
    devices: HashMap<String, Device>,
    connected: HashMap<String, bool>,
    /// Pending pushes: transaction id → (device id, challenge).
    pushes: HashMap<String, (String, PushChallenge)>,
    /// Transaction ids already answered or expired (a reconnect may deliver them again).
    done: std::collections::HashSet<String>,
    /// QR logins shown to the user: handle → (device id, details).
    qr: HashMap<String, (String, QrLoginDetails)>,
    tasks: HashMap<String, tauri::async_runtime::JoinHandle<()>>,
    next_qr: u64,
}

/// What lives while the vault is open: devices, their push channels, pending requests.
pub struct Live {
    notify: Notifier,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Live {
    pub(crate) fn new(notify: Notifier, clock: Arc<dyn Clock>) -> Arc<Live> {
        Arc::new(Live {
            notify,
            clock,
            inner: Mutex::new(Inner {
                devices: HashMap::new(),
                connected: HashMap::new(),
                pushes: HashMap::new(),
                done: std::collections::HashSet::new(),
                qr: HashMap::new(),
                tasks: HashMap::new(),
                next_qr: 1,
            }),
        })
    }

    /// Stops every push channel and forgets the keys.
    pub(crate) fn stop(&self) {
        let mut inner = lock(&self.inner);
        for (_, t) in inner.tasks.drain() {
            t.abort();
        }
        inner.devices.clear();
        inner.pushes.clear();
        inner.qr.clear();
    }

    /// Origins this device is enrolled with.
    pub(crate) fn origins(&self) -> Vec<String> {
        lock(&self.inner)
            .devices
            .values()
            .map(|d| d.enrollment().origin.clone())
            .collect()
    }

    fn add(self: &Arc<Self>, device: Device) {
        let id = device.id().to_owned();
        let task = {
            let live = Arc::downgrade(self);
            let device = device.clone();
            let id = id.clone();
            tauri::async_runtime::spawn(async move {
                let mut sub = device.subscribe(SubscribeOptions::default());
                while let Some(event) = sub.next_event().await {
                    let Some(live) = live.upgrade() else { break };
                    live.on_event(&id, event);
                }
            })
        };
        let mut inner = lock(&self.inner);
        if let Some(old) = inner.tasks.insert(id.clone(), task) {
            old.abort();
        }
        inner.devices.insert(id, device);
    }

    fn remove(&self, device_id: &str) {
        let mut inner = lock(&self.inner);
        if let Some(t) = inner.tasks.remove(device_id) {
            t.abort();
        }
        inner.devices.remove(device_id);
        inner.connected.remove(device_id);
        inner.pushes.retain(|_, (d, _)| d != device_id);
    }

    fn on_event(&self, device_id: &str, event: DeviceEvent) {
        match event {
            DeviceEvent::Connected => {
                lock(&self.inner)
                    .connected
                    .insert(device_id.to_owned(), true);
            }
            DeviceEvent::Disconnected(why) => {
                tracing::info!("push channel {device_id} disconnected: {why}");
                lock(&self.inner)
                    .connected
                    .insert(device_id.to_owned(), false);
            }
            DeviceEvent::Challenge(c) => self.on_challenge(device_id, *c),
        }
    }

    fn on_challenge(&self, device_id: &str, c: PushChallenge) {
        if c.expires_at <= self.clock.now_unix() {
            return;
        }
        let view = {
            let mut inner = lock(&self.inner);
            if inner.done.contains(&c.transaction_id)
                || inner.pushes.contains_key(&c.transaction_id)
            {
                return;
            }
            let Some(device) = inner.devices.get(device_id) else {
                return;
            };
            let view = push_view(device.enrollment(), &c);
            inner
                .pushes
                .insert(c.transaction_id.clone(), (device_id.to_owned(), c));
            view
        };
        (self.notify)(Notice::Push(Box::new(view)));
    }

    fn pending(&self) -> Vec<PushView> {
        let inner = lock(&self.inner);
        let mut v: Vec<PushView> = inner
            .pushes
            .values()
            .filter_map(|(d, c)| {
                inner
                    .devices
                    .get(d)
                    .map(|dev| push_view(dev.enrollment(), c))
            })
            .collect();
        v.sort_by_key(|p| p.expires_at);
        v
    }

    fn take_push(&self, tx: &str) -> Result<(Device, PushChallenge)> {
        let inner = lock(&self.inner);
        let (d, c) = inner
            .pushes
            .get(tx)
            .ok_or_else(|| Error::NotFound("that sign-in request is no longer pending".into()))?;
        let device = inner
            .devices
            .get(d)
            .cloned()
            .ok_or_else(|| Error::NotFound("the device that received it was removed".into()))?;
        Ok((device, c.clone()))
    }

    fn finish_push(&self, tx: &str) -> Option<PushChallenge> {
        let mut inner = lock(&self.inner);
        inner.done.insert(tx.to_owned());
        let gone = inner.pushes.remove(tx).map(|(_, c)| c);
        drop(inner);
        (self.notify)(Notice::PushGone(tx.to_owned()));
        gone
    }

    /// Drops expired pushes (recording them in the history).
    pub(crate) fn expire(&self, vault: &mut Vault) {
        let now = self.clock.now_unix();
        let expired: Vec<String> = lock(&self.inner)
            .pushes
            .iter()
            .filter(|(_, (_, c))| c.expires_at <= now)
            .map(|(tx, _)| tx.clone())
            .collect();
        for tx in expired {
            if let Some(c) = self.finish_push(&tx) {
                record(vault, history_entry(&c, "push", "expired", now));
            }
        }
    }
}

fn push_view(e: &Enrollment, c: &PushChallenge) -> PushView {
    let ctx = &c.context;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    PushView {
        transaction_id: c.transaction_id.clone(),
        device_id: e.device_id.clone(),
        server_origin: e.origin.clone(),
        user: e.user.clone(),
        application: ctx.application.clone(),
        origin: ctx.origin.clone(),
        ip: ctx.ip.clone(),
        location: opt(&ctx.location),
        user_agent: opt(&ctx.user_agent),
        requested_at: (ctx.created_at > 0).then_some(ctx.created_at),
        expires_at: c.expires_at,
        number_choices: c.number_choices.clone(),
        device_network: ctx.device_network.into(),
        device_network_prefix: opt(&ctx.device_network_prefix),
    }
}

fn history_entry(c: &PushChallenge, kind: &str, outcome: &str, at: u64) -> HistoryEntry {
    let ctx = &c.context;
    HistoryEntry {
        transaction_id: c.transaction_id.clone(),
        kind: kind.to_owned(),
        application: ctx.application.clone(),
        origin: ctx.origin.clone(),
        ip: ctx.ip.clone(),
        location: (!ctx.location.is_empty()).then(|| ctx.location.clone()),
        outcome: outcome.to_owned(),
        at,
    }
}

/// Appends to the history; a failure to record is logged, never fatal to the answer itself.
fn record(vault: &mut Vault, entry: HistoryEntry) {
    let key = format!("{:020}-{}", entry.at, entry.transaction_id);
    let result = serde_json::to_vec(&entry)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            vault
                .put_item(HISTORY_KIND, &key, &bytes)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!("could not record the answer in the history: {e}");
        return;
    }
    if let Ok(all) = vault.list_items(HISTORY_KIND) {
        let excess = all.len().saturating_sub(HISTORY_MAX);
        let mut keys: Vec<String> = all.into_iter().map(|(k, _)| k).collect();
        keys.sort();
        for k in keys.into_iter().take(excess) {
            let _ = vault.delete_item(HISTORY_KIND, &k);
        }
    }
}

/// Loads the enrollments and opens a push channel for each (at unlock).
pub(crate) fn start(session: &mut Session) -> Result<()> {
    let store = VaultKeys(&mut session.vault);
    for id in store.ids().map_err(Error::from)? {
        match store.load(&id) {
            Ok(Some(e)) => {
                let device = Device::from_enrollment_with_clock(e, session.live.clock.clone())?;
                session.live.add(device);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("enrollment {id} is unreadable and was skipped: {e}"),
        }
    }
    Ok(())
}

fn enrollment_view(live: &Live, e: &Enrollment) -> EnrollmentView {
    EnrollmentView {
        connected: lock(&live.inner)
            .connected
            .get(&e.device_id)
            .copied()
            .unwrap_or(false),
        ..enrollment_view_bare(e)
    }
}

fn decision(d: PushDecision) -> Decision {
    match d {
        PushDecision::Approve => Decision::Approve,
        PushDecision::Deny => Decision::Deny,
        PushDecision::NotMe => Decision::NotMe,
    }
}

impl Desktop {
    fn live(&self) -> Result<Arc<Live>> {
        self.with_session(|s| Ok(s.live.clone()))
    }

    /// Enrolls with the server an enrollment link (or a scan handle holding one) names.
    pub async fn enroll(&self, link: &str, device_name: Option<String>) -> Result<EnrollmentView> {
        self.touch();
        let text = self.resolve(link)?;
        let link = EnrollLink::parse(&text)?;
        self.policy.check_origin(&link.origin)?;
        let live = self.live()?;
        if live.origins().contains(&link.origin) {
            return Err(Error::Invalid(format!(
                "this device is already enrolled with {}; unenroll first to enroll again",
                link.origin
            )));
        }
        let opts = EnrollOptions {
            device_name: device_name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(default_device_name),
            ..EnrollOptions::default()
        };
        let device = Device::enroll_with_clock(&link, &opts, self.clock.clone()).await?;
        let paired = device.enrollment().otp_uri.clone();
        self.with_session(|s| {
            VaultKeys(&mut s.vault).save(device.enrollment())?;
            // Enrolling push also provisions a paired TOTP (A0-4): keep it with the accounts.
            if let Some(uri) = &paired {
                let account = tessera_core::uri::parse(uri)?;
                if s.vault.duplicates_of(&account)?.is_empty() {
                    s.vault.insert(&account)?;
                }
            }
            Ok(())
        })?;
        if paired.is_some() {
            (self.notify)(Notice::Accounts);
        }
        let view = enrollment_view(&live, device.enrollment());
        live.add(device);
        Ok(view)
    }

    /// The servers this device is enrolled with.
    pub fn list_enrollments(&self) -> Result<Vec<EnrollmentView>> {
        let live = self.live()?;
        let inner = lock(&live.inner);
        let mut v: Vec<EnrollmentView> = inner
            .devices
            .values()
            .map(|d| d.enrollment())
            .map(|e| EnrollmentView {
                connected: inner.connected.get(&e.device_id).copied().unwrap_or(false),
                ..enrollment_view_bare(e)
            })
            .collect();
        v.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(v)
    }

    /// Removes an enrollment (telling the server unless `local_only`).
    pub async fn unenroll(&self, device_id: &str, local_only: bool) -> Result<()> {
        self.touch();
        let live = self.live()?;
        let device = lock(&live.inner)
            .devices
            .get(device_id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no enrollment with device id {device_id}")))?;
        if !local_only {
            device.unenroll().await?;
        }
        self.with_session(|s| {
            VaultKeys(&mut s.vault).delete(device_id)?;
            Ok(())
        })?;
        live.remove(device_id);
        Ok(())
    }

    /// Pushes waiting for an answer.
    pub fn pending_pushes(&self) -> Result<Vec<PushView>> {
        Ok(self.live()?.pending())
    }

    /// Answers a push: the user's decision and, to approve, the number they typed.
    pub async fn answer_push(
        &self,
        tx: &str,
        d: PushDecision,
        number: Option<u32>,
    ) -> Result<String> {
        self.touch();
        let live = self.live()?;
        let (device, c) = live.take_push(tx)?;
        let now = self.clock.now_unix();
        if c.expires_at <= now {
            live.finish_push(tx);
            self.with_session(|s| {
                record(&mut s.vault, history_entry(&c, "push", "expired", now));
                Ok(())
            })?;
            return Err(Error::Expired("the sign-in request has expired".into()));
        }
        if d == PushDecision::Approve && number.is_none() && c.number_choices.is_empty() {
            return Err(Error::Invalid(
                "type the number shown on the sign-in screen to approve".into(),
            ));
        }
        let answer = device.answer(&c, decision(d), number).await;
        let outcome = match (&answer, d) {
            (Ok(st), PushDecision::NotMe) if st.state == PushState::Denied => "not_me".to_owned(),
            (Ok(st), _) => match (st.state, st.reason.as_deref()) {
                (PushState::Denied, Some("wrong_number")) => "wrong_number".to_owned(),
                (state, _) => state.as_str().to_owned(),
            },
            (Err(e), _) if e.server_code() == Some("expired") => "expired".to_owned(),
            (Err(_), _) => "failed".to_owned(),
        };
        // A transport failure leaves the push pending so the user can try again.
        let retry = matches!(&answer, Err(tessera_client::Error::Transport(_)));
        if !retry {
            live.finish_push(tx);
            self.with_session(|s| {
                record(&mut s.vault, history_entry(&c, "push", &outcome, now));
                Ok(())
            })?;
        }
        answer?;
        Ok(outcome)
    }

    /// The history of answers, newest first.
    pub fn push_history(&self) -> Result<Vec<HistoryEntry>> {
        self.with_session(|s| {
            let mut v: Vec<(String, HistoryEntry)> = s
                .vault
                .list_items(HISTORY_KIND)?
                .into_iter()
                .filter_map(|(k, b)| serde_json::from_slice(&b).ok().map(|e| (k, e)))
                .collect();
            v.sort_by(|a, b| b.0.cmp(&a.0));
            Ok(v.into_iter().map(|(_, e)| e).collect())
        })
    }

    /// Fetches who is asking for a QR login (the link's server must be one we enrolled with).
    pub async fn qr_login_details(&self, link: &str) -> Result<QrLoginView> {
        self.touch();
        let text = self.resolve(link)?;
        let link = QrLoginLink::parse(&text)?;
        let live = self.live()?;
        let device = lock(&live.inner)
            .devices
            .values()
            .find(|d| d.enrollment().origin == link.origin)
            .cloned()
            .ok_or_else(|| {
                Error::Policy(format!(
                    "this device is not enrolled with {}: sign-in codes from other servers are refused",
                    link.origin
                ))
            })?;
        let details = device.qr_details(&link).await?;
        let e = device.enrollment();
        let ctx = &details.context;
        let mut inner = lock(&live.inner);
        let handle = format!("qr-{}", inner.next_qr);
        inner.next_qr += 1;
        let view = QrLoginView {
            handle: handle.clone(),
            server_origin: e.origin.clone(),
            user: e.user.clone(),
            application: ctx.application.clone(),
            origin: ctx.origin.clone(),
            ip: ctx.ip.clone(),
            location: (!ctx.location.is_empty()).then(|| ctx.location.clone()),
            user_agent: (!ctx.user_agent.is_empty()).then(|| ctx.user_agent.clone()),
            expires_at: details.expires_at,
            device_network: ctx.device_network.into(),
            device_network_prefix: (!ctx.device_network_prefix.is_empty())
                .then(|| ctx.device_network_prefix.clone()),
        };
        inner.qr.insert(handle, (device.id().to_owned(), details));
        Ok(view)
    }

    /// Approves or denies a QR login shown by [`Desktop::qr_login_details`].
    pub async fn qr_login_answer(&self, handle: &str, approve: bool) -> Result<()> {
        self.touch();
        let live = self.live()?;
        let (device, details) = {
            let mut inner = lock(&live.inner);
            let (d, details) = inner.qr.remove(handle).ok_or_else(|| {
                Error::NotFound("that sign-in request is gone; scan again".into())
            })?;
            let device = inner
                .devices
                .get(&d)
                .cloned()
                .ok_or_else(|| Error::NotFound("the device was removed".into()))?;
            (device, details)
        };
        let now = self.clock.now_unix();
        if details.expires_at <= now {
            return Err(Error::Expired("the sign-in request has expired".into()));
        }
        let d = if approve {
            Decision::Approve
        } else {
            Decision::Deny
        };
        let result = device.qr_answer(&details, d).await;
        let outcome = match (&result, approve) {
            (Ok(()), true) => "approved",
            (Ok(()), false) => "denied",
            (Err(_), _) => "failed",
        };
        let c = PushChallenge {
            transaction_id: details.lsi.clone(),
            nonce: String::new(),
            origin: details.origin.clone(),
            context: details.context.clone(),
            expires_at: details.expires_at,
            number_choices: Vec::new(),
            server_signature: String::new(),
        };
        self.with_session(|s| {
            record(&mut s.vault, history_entry(&c, "qr_login", outcome, now));
            Ok(())
        })?;
        Ok(result?)
    }
}

fn enrollment_view_bare(e: &Enrollment) -> EnrollmentView {
    EnrollmentView {
        device_id: e.device_id.clone(),
        origin: e.origin.clone(),
        user: e.user.clone(),
        device_name: e.device_name.clone(),
        algorithm: e.key.algorithm().as_str().to_owned(),
        server_fingerprint: e.server_fingerprint(),
        connected: false,
    }
}

/// "Tessera on <hostname>".
fn default_device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    format!("Tessera on {host}")
}
