//! In-process fan-out of events: new challenges to a user's connected devices (SSE), decided
//! pushes and QR sessions to whoever long-polls them.
//!
//! Only wake-ups travel here; the truth stays in the store, so a missed event costs a poll, not
//! a decision (a device that reconnects is sent every pending challenge again).
//!
//! With several instances on one PostgreSQL database, pushes made on another instance arrive
//! through [`super::follow`] and [`Hub::publish_new`], which drops a push this hub already sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::device::store::PushRecord;

const USER_CHANNEL: usize = 32;
const DECIDED_CHANNEL: usize = 4096;
/// Size of the sent-push memory at which expired entries are dropped.
const SENT_PRUNE_AT: usize = 4096;

/// The fan-out hub.
#[derive(Debug)]
pub struct Hub {
    users: Mutex<HashMap<String, broadcast::Sender<Arc<PushRecord>>>>,
    /// Pushes sent to streams, by transaction id, with their expiry (so that one heard of twice
    /// — made here and announced by the database, or found again by a re-check — goes once).
    sent: Mutex<HashMap<String, u64>>,
    decided: broadcast::Sender<Arc<str>>,
    /// Becomes `true` when the server shuts down: event streams end (with a retry hint) so
    /// that the graceful shutdown is not held open by devices that never hang up.
    closing: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            users: Mutex::new(HashMap::new()),
            sent: Mutex::new(HashMap::new()),
            decided: broadcast::channel(DECIDED_CHANNEL).0,
            closing: watch::channel(false).0,
        }
    }
}

impl Hub {
    /// Asks every event stream to end.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Hub::close_streams`] was called (at once if it already was).
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            // An error means the hub is gone, which also ends the stream.
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// Subscribes to the user's new pushes (each device's stream turns one into its own signed
    /// challenge: the network comparison differs by device).
    pub fn subscribe(&self, user_id: &str) -> broadcast::Receiver<Arc<PushRecord>> {
        match self.users.lock() {
            Ok(mut users) => users
                .entry(user_id.to_owned())
                .or_insert_with(|| broadcast::channel(USER_CHANNEL).0)
                .subscribe(),
            // A poisoned map: hand out a receiver that never fires; devices fall back to polling.
            Err(_) => broadcast::channel(1).1,
        }
    }

    /// Sends a new push to the user's connected devices.
    pub fn publish(&self, user_id: &str, push: PushRecord) {
        self.publish_new(user_id, push);
    }

    /// Sends a push unless this hub already sent it; whether it was sent.
    pub fn publish_new(&self, user_id: &str, push: PushRecord) -> bool {
        if let Ok(mut sent) = self.sent.lock() {
            if sent.contains_key(&push.transaction_id) {
                return false;
            }
            if sent.len() >= SENT_PRUNE_AT {
                // Forget what has expired by the time this push was made.
                let now = push.created_at;
                sent.retain(|_, expires| *expires >= now);
            }
            sent.insert(push.transaction_id.clone(), push.expires_at);
        }
        self.send(user_id, push);
        true
    }

    /// Users with at least one connected event stream here.
    pub fn listening_users(&self) -> Vec<String> {
        match self.users.lock() {
            Ok(users) => users
                .iter()
                .filter(|(_, tx)| tx.receiver_count() > 0)
                .map(|(u, _)| u.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether a user has a connected event stream here.
    pub fn is_listening(&self, user_id: &str) -> bool {
        self.users
            .lock()
            .map(|users| users.get(user_id).is_some_and(|tx| tx.receiver_count() > 0))
            .unwrap_or(false)
    }

    fn send(&self, user_id: &str, push: PushRecord) {
        if let Ok(mut users) = self.users.lock() {
            let gone = match users.get(user_id) {
                Some(tx) => tx.send(Arc::new(push)).is_err(),
                None => false,
            };
            if gone {
                // Nobody listens any more: drop the channel.
                users.remove(user_id);
            }
        }
    }

    /// Subscribes to decisions (push transaction ids and QR-login LSIs).
    pub fn decisions(&self) -> broadcast::Receiver<Arc<str>> {
        self.decided.subscribe()
    }

    /// Announces that a push or QR session changed state.
    pub fn decided(&self, id: &str) {
        let _ = self.decided.send(Arc::from(id));
    }
}
