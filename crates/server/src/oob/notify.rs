//! Notices of MFA changes (IBM-3): a method added or removed, backup codes regenerated. The
//! audit log is the outbox: a task looks at the events after a cursor kept in `meta`
//! (`notify.cursor`), claims them by moving the cursor with a compare-and-swap (so with several
//! instances on one database each event is claimed by one), then sends. A notice is sent at
//! most once; one that cannot be delivered is logged (without its text) and not retried.
//! Events younger than [`SETTLE_SECS`] wait, so an event committed late by another instance
//! with a lower id is not skipped.

use serde::{Deserialize, Serialize};

use super::config::{NotifyChannels, NotifyOverride};
use super::messages::{self, Change, Locale};
use super::{authenticator_for, Channel};
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::AppState;

/// The cursor's key in `meta`.
pub const CURSOR: &str = "notify.cursor";
/// Seconds an event waits before it is claimed.
pub const SETTLE_SECS: u64 = 2;
/// Events claimed at a time.
const BATCH: u32 = 100;

/// A user's choice (self-service `PUT /api/v2/me/notifications`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    /// The channels the user wants.
    pub channels: NotifyChannels,
    /// The language of the notices.
    #[serde(default)]
    pub locale: Locale,
}

/// What the user sees and may change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreferenceView {
    /// The channels that apply now.
    pub channels: NotifyChannels,
    /// The language of the notices.
    pub locale: Locale,
    /// The administrator's setting.
    pub default_channels: NotifyChannels,
    /// Whether the user may change it (`allowed`, `denied`, `keep_one`).
    pub user_override: NotifyOverride,
}

/// The event's change, and the method concerned (from the authenticator id's prefix).
fn change_of(e: &AuditEvent) -> Option<(Change, String)> {
    let method = || {
        e.authenticator_id
            .as_deref()
            .and_then(|a| a.split('|').next())
            .unwrap_or("")
            .to_owned()
    };
    match e.kind.as_str() {
        "confirm" => Some((Change::Added, method())),
        "device.enrolled" => Some((Change::Added, "push".into())),
        // A passkey is active from its registration (its `enroll` event).
        "enroll" if method() == "passkey" => Some((Change::Added, "passkey".into())),
        "delete" if !method().starts_with("recovery") => Some((Change::Removed, method())),
        "delete_all" | "device.removed" => Some((
            Change::Removed,
            match e.kind.as_str() {
                "device.removed" => "push".into(),
                _ => String::new(),
            },
        )),
        "regenerate" => Some((Change::CodesRegenerated, String::new())),
        _ => None,
    }
}

/// The preference in force for a user.
pub fn effective(state: &AppState, stored: Option<&str>) -> PreferenceView {
    let cfg = &state.config().notifications;
    let mine: Option<Preference> = stored.and_then(|s| serde_json::from_str(s).ok());
    let channels = match (cfg.user_override, mine) {
        (NotifyOverride::Denied, _) | (_, None) => cfg.channels,
        (_, Some(p)) => p.channels,
    };
    PreferenceView {
        channels,
        locale: mine.map(|p| p.locale).unwrap_or_default(),
        default_channels: cfg.channels,
        user_override: cfg.user_override,
    }
}

/// Checks a user's choice against the administrator's rule.
pub fn check_choice(state: &AppState, p: &Preference) -> Result<()> {
    match state.config().notifications.user_override {
        NotifyOverride::Denied => Err(Error::AccessDenied(
            "your administrator sets how you are notified".into(),
        )),
        NotifyOverride::KeepOne if p.channels == NotifyChannels::None => Err(
            Error::InvalidRequest("`channels`: keep at least one channel".into()),
        ),
        _ => Ok(()),
    }
}

/// Sends the notices of one event (blocking store reads inside).
async fn notify(state: &AppState, e: &AuditEvent) -> Result<()> {
    let Some((change, method)) = change_of(e) else {
        return Ok(());
    };
    let Some(user_id) = e.user_id.clone() else {
        return Ok(());
    };
    let uid = user_id.clone();
    let (user, list, stored) = state
        .blocking(move |s| {
            let store = s.store();
            Ok((
                store.get_user(&uid)?,
                store.list_authenticators(&uid)?,
                store.notification_pref(&uid)?,
            ))
        })
        .await?;
    let Some(_user) = user else {
        return Ok(());
    };
    let pref = effective(state, stored.as_deref());
    let email = authenticator_for(&list, Channel::Email)
        .filter(|_| state.config().email.enabled())
        .map(|a| a.name.clone());
    let sms = authenticator_for(&list, Channel::Sms)
        .filter(|_| state.config().sms.enabled())
        .map(|a| a.name.clone());
    let targets: Vec<(Channel, String)> = match pref.channels {
        NotifyChannels::None => vec![],
        NotifyChannels::Email => email.map(|a| (Channel::Email, a)).into_iter().collect(),
        NotifyChannels::Sms => sms.map(|a| (Channel::Sms, a)).into_iter().collect(),
        NotifyChannels::AnyAvailable => email
            .map(|a| (Channel::Email, a))
            .or(sms.map(|a| (Channel::Sms, a)))
            .into_iter()
            .collect(),
        NotifyChannels::AllAvailable => email
            .map(|a| (Channel::Email, a))
            .into_iter()
            .chain(sms.map(|a| (Channel::Sms, a)))
            .collect(),
    };
    let locale = pref.locale;
    let what = messages::method_name(locale, &method);
    let at = crate::oob::notify::utc(e.at);
    let (subject, text) = messages::change_notice(locale, change, &what, &at);
    for (channel, to) in targets {
        let sent = match channel {
            Channel::Email => {
                let mail = messages::Email {
                    subject: subject.clone(),
                    html: format!(
                        "<!doctype html><html lang=\"{}\"><body><p>{}</p></body></html>",
                        locale.tag(),
                        text.replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('\n', "<br>")
                    ),
                    text: format!("{text}\n"),
                };
                state.senders().email(&to, &mail).await
            }
            _ => state.senders().phone(channel, &to, &text, "").await,
        };
        let (kind, detail) = match &sent {
            Ok(()) => ("notify.sent", channel.as_str().to_owned()),
            Err(_) => ("notify.failed", channel.as_str().to_owned()),
        };
        let (uid, now) = (user_id.clone(), state.now());
        state
            .db(move |s| s.audit(Some(&uid), kind, None, &detail, now))
            .await?;
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// One pass: claims the settled events after the cursor and sends their notices; how many
/// events were claimed.
pub async fn run_once(state: &AppState) -> Result<usize> {
    if state.config().notifications.channels == NotifyChannels::None
        && state.config().notifications.user_override == NotifyOverride::Denied
    {
        return Ok(0);
    }
    let (cursor_text, events) = state
        .blocking(|s| {
            let store = s.store();
            let cursor = store.meta(CURSOR)?;
            let after = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
            Ok((cursor, store.audit_after(after, BATCH)?))
        })
        .await?;
    let now = state.now();
    let settled: Vec<AuditEvent> = events
        .into_iter()
        .take_while(|e| e.at + SETTLE_SECS <= now)
        .collect();
    let Some(last) = settled.last().map(|e| e.id) else {
        return Ok(0);
    };
    let new = last.to_string();
    let claimed = state
        .db(move |s| s.swap_meta(CURSOR, cursor_text.as_deref(), &new))
        .await?;
    if !claimed {
        return Ok(0);
    }
    for e in &settled {
        if let Err(err) = notify(state, e).await {
            tracing::warn!(event = e.id, error = %err, "notification not sent");
        }
    }
    Ok(settled.len())
}

/// Sets the cursor to the newest event if it was never set.
pub async fn start_at_end(state: &AppState) -> Result<()> {
    state
        .blocking(|s| {
            let store = s.store();
            if store.meta(CURSOR)?.is_none() {
                let (newest, _) = store.list_audit(crate::store::AuditFilter::default(), 0, 1)?;
                let id = newest.first().map_or(0, |e| e.id);
                store.swap_meta(CURSOR, None, &id.to_string())?;
            }
            Ok(())
        })
        .await
}

/// The task: a pass every `notifications.poll_secs` until the server stops.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(state.config().notifications.poll_secs);
        // The first start with notices on begins at the log's end: earlier changes are not told.
        let _ = start_at_end(&state).await;
        loop {
            tokio::time::sleep(every).await;
            while let Ok(n) = run_once(&state).await {
                if n == 0 {
                    break;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_798_761_600), "2027-01-01 00:00");
        assert_eq!(utc(951_782_400 + 3_660), "2000-02-29 01:01");
    }
}
