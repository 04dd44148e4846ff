//! `LISTEN/NOTIFY`: one connection per instance listens on [`super::CHANNEL`] and fans what it
//! hears out to this process ([`super::Pg::notes`]).
//!
//! Notifications only wake things up; the truth stays in the tables. PostgreSQL drops them when
//! no connection listens (an instance restarting, the listener reconnecting), so after every
//! (re)connection the listener sends [`Note::Resync`]: whoever relies on notes re-reads what it
//! watches, and the periodic re-checks of the device factor cover the rest.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use super::{Pg, CHANNEL};

/// What the listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The listener (re)connected: notifications may have been missed; re-read.
    Resync,
    /// A notification's payload.
    Payload(Arc<str>),
}

/// Starts the listener task on the database runtime. It reconnects with a growing delay (up to
/// five seconds) for as long as the pool lives.
pub(super) fn start(pg: &Arc<Pg>) {
    let weak = Arc::downgrade(pg);
    pg.handle().spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            let (config, tls, sender) = match weak.upgrade() {
                Some(pg) => (
                    pg.config().clone(),
                    pg.tls().clone(),
                    pg.notes_sender().clone(),
                ),
                None => return,
            };
            // The pool's TLS settings and connector: the listener is encrypted like the rest.
            match config.connect(tls).await {
                Ok((client, mut connection)) => {
                    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
                    let forward = sender.clone();
                    let driver = tokio::spawn(async move {
                        let mut messages =
                            futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                        while let Some(m) = messages.next().await {
                            match m {
                                Ok(AsyncMessage::Notification(n)) => {
                                    let _ = forward.send(Note::Payload(Arc::from(n.payload())));
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "database listener connection lost");
                                    break;
                                }
                            }
                        }
                        let _ = done_tx.send(());
                    });
                    match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                        Ok(()) => {
                            delay = Duration::from_millis(100);
                            let _ = sender.send(Note::Resync);
                            drop(sender);
                            // Wait for the connection to end (or the pool to go away).
                            let _ = done_rx.await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "LISTEN failed");
                        }
                    }
                    drop(client);
                    driver.abort();
                }
                Err(e) => {
                    tracing::warn!(error = %super::db_error(&e), "database listener cannot connect");
                }
            }
            if weak.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
}

/// The payload announcing a new push for `user_id` (sent by the inserting transaction).
pub fn push_payload(user_id: &str, transaction_id: &str) -> String {
    format!("push {user_id} {transaction_id}")
}

/// The payload announcing that a push (transaction id) or a QR login (LSI) changed state.
pub fn decided_payload(id: &str) -> String {
    format!("decided {id}")
}

/// What a payload announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A new push: user id, transaction id.
    Push(&'a str, &'a str),
    /// A push or QR login changed state: its id.
    Decided(&'a str),
}

/// Reads a payload written by [`push_payload`] or [`decided_payload`]; `None` for anything else.
pub fn parse(payload: &str) -> Option<Event<'_>> {
    let mut parts = payload.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("push"), Some(user), Some(tx), None) => Some(Event::Push(user, tx)),
        (Some("decided"), Some(id), None, None) => Some(Event::Decided(id)),
        _ => None,
    }
}
