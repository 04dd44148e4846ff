//! Factor settings an administrator changes while the server runs (docs/server.md, "Factor
//! settings"; the admin console's Factor settings screen): TOTP (IBM-7), email, SMS and voice
//! codes (IBM-6, IBM-8), push and QR login (IBM-9) and device enrollment.
//!
//! The configuration file gives every setting its starting value; the database keeps an overlay
//! of the ones an administrator changed (`meta` key [`META_KEY`], JSON), applied over the file's
//! values and checked by [`Config::validate`] as a whole, so an invalid combination is refused
//! and names its setting. Every instance applies a change within [`RELOAD_SECS`]; the instance
//! that took it, at once. Transport settings (SMTP server, SMS provider, the public origin) stay
//! in the file: they hold credentials and are not changed from a browser.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::device::NumberPolicy;
use crate::error::{Error, Result};
use crate::oob::config::{Charset, EmailUse};
use crate::AppState;

/// The `meta` key of the stored overlay.
pub const META_KEY: &str = "factor_settings";
/// How often every instance looks for a change made on another, seconds.
pub const RELOAD_SECS: u64 = 5;

/// TOTP (IBM-7). A change of algorithm, digits or period applies to new enrollments only: each
/// authenticator keeps the parameters it was enrolled with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TotpSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digits: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_use: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_enrollments: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_template: Option<String>,
}

/// Codes by SMS or voice (IBM-6, IBM-8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_charset: Option<Charset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

/// Codes by email (IBM-6, EM-2, EM-3): the code settings, what email may be used for, and the
/// allowed and denied recipient domains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_for: Option<EmailUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_charset: Option<Charset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_domains: Option<Vec<String>>,
}

/// Push, QR login (IBM-9) and device enrollment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_ttl_max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_rate_per_minute: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_me_pause: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_policy: Option<NumberPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsi_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsi_charset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsi_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsi_charset: Option<String>,
}

/// The settings an administrator changed; an absent one keeps the file's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FactorSettings {
    pub totp: TotpSettings,
    pub email: EmailSettings,
    pub sms: CodeSettings,
    pub voice: CodeSettings,
    pub device: DeviceSettings,
}

fn set<T: Clone>(target: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

fn set_code(target: &mut crate::oob::config::PhoneConfig, s: &CodeSettings) {
    set(&mut target.lifetime_minutes, &s.lifetime_minutes);
    set(&mut target.code_length, &s.code_length);
    set(&mut target.code_charset, &s.code_charset);
    set(&mut target.retries, &s.retries);
}

impl FactorSettings {
    /// `base` (the file's configuration) with these settings over it, checked whole: an invalid
    /// value is [`Error::InvalidRequest`] naming its setting (`` `totp.digits`: must be 6–12 ``).
    pub fn apply(&self, base: &Config) -> Result<Config> {
        let mut c = base.clone();
        let t = &self.totp;
        set(&mut c.totp.algorithm, &t.algorithm);
        set(&mut c.totp.digits, &t.digits);
        set(&mut c.totp.period, &t.period);
        set(&mut c.totp.skew, &t.skew);
        set(&mut c.totp.one_time_use, &t.one_time_use);
        set(&mut c.totp.max_enrollments, &t.max_enrollments);
        set(&mut c.totp.uri_template, &t.uri_template);
        let e = &self.email;
        set(&mut c.email.use_for, &e.use_for);
        set(&mut c.email.lifetime_minutes, &e.lifetime_minutes);
        set(&mut c.email.code_length, &e.code_length);
        set(&mut c.email.code_charset, &e.code_charset);
        set(&mut c.email.retries, &e.retries);
        set(&mut c.email.allowed_domains, &e.allowed_domains);
        set(&mut c.email.denied_domains, &e.denied_domains);
        set_code(&mut c.sms, &self.sms);
        set_code(&mut c.voice, &self.voice);
        let d = &self.device;
        set(&mut c.device.offer_ttl, &d.offer_ttl);
        set(&mut c.device.push_ttl, &d.push_ttl);
        set(&mut c.device.push_ttl_max, &d.push_ttl_max);
        set(&mut c.device.push_rate_per_minute, &d.push_rate_per_minute);
        set(&mut c.device.not_me_pause, &d.not_me_pause);
        set(&mut c.device.number_policy, &d.number_policy);
        set(&mut c.device.qr_ttl, &d.qr_ttl);
        set(&mut c.device.lsi_length, &d.lsi_length);
        set(&mut c.device.lsi_charset, &d.lsi_charset);
        set(&mut c.device.dsi_length, &d.dsi_length);
        set(&mut c.device.dsi_charset, &d.dsi_charset);
        c.validate()
            .and_then(|()| c.device.validate())
            .map_err(|e| match e {
                Error::Config(why) => Error::InvalidRequest(why),
                other => other,
            })?;
        Ok(c)
    }

    /// From the stored JSON.
    pub fn parse(text: &str) -> Result<FactorSettings> {
        serde_json::from_str(text)
            .map_err(|e| Error::InvalidRequest(format!("factor settings: {e}")))
    }
}

/// The settings in force, section by section, as the console shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Effective {
    pub totp: crate::config::TotpConfig,
    pub email: EmailView,
    pub sms: CodeView,
    pub voice: CodeView,
    pub device: DeviceView,
}

/// Email as in force (no transport settings).
#[derive(Debug, Clone, Serialize)]
pub struct EmailView {
    /// Whether the server can send email (`[email]` in the file).
    pub configured: bool,
    pub use_for: EmailUse,
    pub lifetime_minutes: u32,
    pub code_length: u32,
    pub code_charset: Charset,
    pub retries: u32,
    pub allowed_domains: Vec<String>,
    pub denied_domains: Vec<String>,
}

/// SMS or voice as in force.
#[derive(Debug, Clone, Serialize)]
pub struct CodeView {
    /// Whether a provider is set in the file.
    pub configured: bool,
    pub lifetime_minutes: u32,
    pub code_length: u32,
    pub code_charset: Charset,
    pub retries: u32,
}

/// Push, QR login and enrollment as in force.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    pub offer_ttl: u64,
    pub push_ttl: u64,
    pub push_ttl_max: u64,
    pub push_rate_per_minute: u64,
    pub not_me_pause: u64,
    pub number_policy: NumberPolicy,
    pub qr_ttl: u64,
    pub lsi_length: usize,
    pub lsi_charset: String,
    pub dsi_length: usize,
    pub dsi_charset: String,
}

fn code_view(c: &crate::oob::config::PhoneConfig) -> CodeView {
    CodeView {
        configured: c.enabled(),
        lifetime_minutes: c.lifetime_minutes,
        code_length: c.code_length,
        code_charset: c.code_charset,
        retries: c.retries,
    }
}

/// The settings in force in `c`.
pub fn effective(c: &Config) -> Effective {
    let d = &c.device;
    Effective {
        totp: c.totp.clone(),
        email: EmailView {
            configured: c.email.enabled(),
            use_for: c.email.use_for,
            lifetime_minutes: c.email.lifetime_minutes,
            code_length: c.email.code_length,
            code_charset: c.email.code_charset,
            retries: c.email.retries,
            allowed_domains: c.email.allowed_domains.clone(),
            denied_domains: c.email.denied_domains.clone(),
        },
        sms: code_view(&c.sms),
        voice: code_view(&c.voice),
        device: DeviceView {
            offer_ttl: d.offer_ttl,
            push_ttl: d.push_ttl,
            push_ttl_max: d.push_ttl_max,
            push_rate_per_minute: d.push_rate_per_minute,
            not_me_pause: d.not_me_pause,
            number_policy: d.number_policy,
            qr_ttl: d.qr_ttl,
            lsi_length: d.lsi_length,
            lsi_charset: d.lsi_charset.clone(),
            dsi_length: d.dsi_length,
            dsi_charset: d.dsi_charset.clone(),
        },
    }
}

/// Applies the stored overlay if it differs from the one in force. A stored overlay this
/// server cannot apply (the file changed under it) is logged and the file's values stay.
/// Blocking.
pub fn reload(state: &AppState) -> Result<()> {
    let stored = state.store().meta(META_KEY)?;
    if stored == state.settings_text() {
        return Ok(());
    }
    let overlay = match stored.as_deref().map(FactorSettings::parse).transpose() {
        Ok(o) => o.unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "the stored factor settings do not parse; the file's apply");
            FactorSettings::default()
        }
    };
    match overlay.apply(state.file_config()) {
        Ok(config) => state.set_config(config, stored),
        Err(e) => {
            tracing::error!(error = %e, "the stored factor settings do not apply over this configuration file; its values apply");
            state.set_config(state.file_config().clone(), stored);
        }
    }
    Ok(())
}

/// Looks for changes made on other instances every [`RELOAD_SECS`].
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(RELOAD_SECS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.blocking(reload).await {
                tracing::warn!(error = %e, "reading the factor settings failed");
            }
        }
    })
}

#[cfg(test)]
mod label_tests {
    /// Every setting `GET /api/v2/settings/factors` shows has a label and a line of help in the
    /// console's catalogues (`admin-setting-<section>-<name>` and `…-help`), in English and
    /// Japanese.
    #[test]
    fn every_factor_setting_has_a_console_label_in_each_language() {
        let config: crate::Config = toml::from_str("").unwrap();
        let shown = serde_json::to_value(super::effective(&config)).unwrap();
        let catalogues = [
            ("en", include_str!("../locales/en/admin.ftl")),
            ("ja", include_str!("../locales/ja/admin.ftl")),
        ];
        let mut fields = 0;
        for (section, values) in shown.as_object().unwrap() {
            for key in values.as_object().unwrap().keys() {
                if key == "configured" {
                    continue;
                }
                fields += 1;
                let id = format!("admin-setting-{section}-{}", key.replace('_', "-"));
                for (lang, ftl) in catalogues {
                    for message in [id.clone(), format!("{id}-help")] {
                        let line = ftl
                            .lines()
                            .find(|l| l.starts_with(&format!("{message} = ")))
                            .unwrap_or_else(|| {
                                panic!("{lang}: `{message}` missing ({section}.{key})")
                            });
                        assert!(
                            line.len() > message.len() + 4,
                            "{lang}: `{message}` is empty"
                        );
                    }
                }
            }
        }
        assert_eq!(fields, 33, "the settings the console shows");
    }
}
