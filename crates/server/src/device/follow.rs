//! Several instances on one database: pushes made and decided on other instances reach this
//! instance's event streams and long-polls.
//!
//! The database announces changes (`LISTEN/NOTIFY`, [`crate::store::pg::notify`]); this task
//! turns an announced push for a user who has a stream here into a [`Hub::publish_new`], and an
//! announced decision into [`Hub::decided`]. Announcements can be lost (a listener
//! reconnecting, an instance restarting), so the task also re-reads the pending pushes of every
//! user listening here after each reconnection and every `device.recheck_secs`: a lost announcement only
//! delays a push, it never loses one (the store is the truth; streams also send every pending
//! challenge when a device connects).
//!
//! [`Hub::publish_new`]: super::events::Hub::publish_new
//! [`Hub::decided`]: super::events::Hub::decided

use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::store::pg::notify::{self, Event, Note};
use crate::AppState;

/// Follows `notes` on `runtime` for as long as the state's hub is open.
pub fn start(
    state: &AppState,
    mut notes: broadcast::Receiver<Note>,
    runtime: &tokio::runtime::Handle,
) {
    let rt = runtime.clone();
    let period = Duration::from_secs(state.device_config().recheck_secs.max(1));
    let weak = state.downgrade();
    let closed = state.hub().closed();
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(closed);
        loop {
            tokio::select! {
                () = &mut closed => return,
                _ = tick.tick() => {}
                note = notes.recv() => {
                    // Held only while handling one event: the server's end frees the pool.
                    let Some(state) = weak.upgrade() else { return };
                    if !handle(&state, &rt, note).await {
                        return;
                    }
                    continue;
                }
            }
            let Some(state) = weak.upgrade() else { return };
            recheck(&state, &rt).await;
        }
    });
}

/// Handles one note; `false` when the notes have ended.
async fn handle(
    state: &AppState,
    rt: &tokio::runtime::Handle,
    note: Result<Note, RecvError>,
) -> bool {
    match note {
        Ok(Note::Payload(p)) => match notify::parse(&p) {
            Some(Event::Push(user, tx)) if state.hub().is_listening(user) => {
                fetch_one(state, rt, user.to_owned(), tx.to_owned()).await;
            }
            Some(Event::Decided(id)) => state.hub().decided(id),
            Some(Event::Push(..)) | None => {}
        },
        Ok(Note::Resync) | Err(RecvError::Lagged(_)) => recheck(state, rt).await,
        Err(RecvError::Closed) => return false,
    }
    true
}

/// Publishes a push announced by the database (unless already sent here).
async fn fetch_one(state: &AppState, rt: &tokio::runtime::Handle, user: String, tx: String) {
    let s = state.clone();
    let found = rt
        .spawn_blocking(move || s.devices().push(&tx))
        .await
        .ok()
        .and_then(|r| {
            r.map_err(|e| tracing::warn!(error = %e, "announced push"))
                .ok()
        })
        .flatten();
    if let Some(push) = found {
        if push.user_id == user {
            state.hub().publish_new(&user, push);
        }
    }
}

/// Re-reads the pending pushes of every listening user and publishes those not sent yet.
async fn recheck(state: &AppState, rt: &tokio::runtime::Handle) {
    let users = state.hub().listening_users();
    if users.is_empty() {
        return;
    }
    let s = state.clone();
    let found = rt
        .spawn_blocking(move || {
            let now = s.now();
            let mut all = Vec::new();
            for u in users {
                all.push((u.clone(), s.devices().pending_pushes(&u, now)?));
            }
            Ok::<_, crate::Error>(all)
        })
        .await;
    match found {
        Ok(Ok(all)) => {
            for (user, pushes) in all {
                for p in pushes {
                    state.hub().publish_new(&user, p);
                }
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "re-reading pending pushes"),
        Err(e) => tracing::warn!(error = %e, "re-reading pending pushes"),
    }
}
