//! `/api/v2/settings/factors`: the factor settings an administrator changes at runtime
//! (settings.rs, docs/server.md "Factor settings").

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::settings::{effective, Effective, FactorSettings, META_KEY};
use crate::AppState;

/// The factor settings: in force, and the ones changed from the file's values.
#[derive(Debug, Serialize)]
pub struct FactorSettingsView {
    /// Every setting as it applies now.
    pub effective: Effective,
    /// The settings an administrator changed (absent: the file's value applies).
    pub overrides: FactorSettings,
}

fn view(state: &AppState) -> Result<FactorSettingsView> {
    let overrides = state
        .settings_text()
        .as_deref()
        .map(FactorSettings::parse)
        .transpose()?
        .unwrap_or_default();
    Ok(FactorSettingsView {
        effective: effective(&state.config()),
        overrides,
    })
}

/// `GET /api/v2/settings/factors` (read:settings).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<FactorSettingsView>> {
    caller.management("read:settings")?;
    // Another instance may have changed them a moment ago.
    state.blocking(crate::settings::reload).await?;
    Ok(Json(view(&state)?))
}

/// `PUT /api/v2/settings/factors` (update:settings): replaces the overrides — a setting left
/// out goes back to the file's value. Checked whole over the file's configuration; the answer
/// names the first invalid setting (`` `totp.digits`: must be 6–12 ``). In force on this
/// instance at once, on the others within [`crate::settings::RELOAD_SECS`]. A change made
/// meanwhile by someone else is a 409: reload and try again.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<FactorSettings>,
) -> Result<Json<FactorSettingsView>> {
    caller.management("update:settings")?;
    let config = body.apply(state.file_config())?;
    let text = serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?;
    let expected = state.settings_text();
    let now = state.now();
    let sections = changed_sections(&body);
    let stored = text.clone();
    let swapped = state
        .db(move |s| {
            let swapped = s.swap_meta(META_KEY, expected.as_deref(), &stored)?;
            if swapped {
                s.audit(None, "settings.changed", None, &sections, now)?;
            }
            Ok(swapped)
        })
        .await?;
    if !swapped {
        state.blocking(crate::settings::reload).await?;
        return Err(Error::Conflict(
            "the factor settings were changed meanwhile: reload them and try again".into(),
        ));
    }
    state.set_config(config, Some(text));
    Ok(Json(view(&state)?))
}

/// The sections that differ from the file's values, for the audit log (`totp,email`).
fn changed_sections(s: &FactorSettings) -> String {
    let d = FactorSettings::default();
    let mut out = Vec::new();
    if s.totp != d.totp {
        out.push("totp");
    }
    if s.email != d.email {
        out.push("email");
    }
    if s.sms != d.sms {
        out.push("sms");
    }
    if s.voice != d.voice {
        out.push("voice");
    }
    if s.device != d.device {
        out.push("device");
    }
    out.join(",")
}
