//! Settings of the email, SMS and voice factors (IBM-6/8, EM-2/3), the send limits and the
//! notifications of MFA changes (IBM-3). docs/server.md lists each.

use serde::{Deserialize, Serialize};

use crate::config::bad;
use crate::error::Result;

/// A password in the settings: never shown by `Debug` (logs, panics).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<redacted>"
        })
    }
}

/// The characters a code is made of (IBM-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// 0–9.
    Digits,
    /// Upper-case letters without I and O (no confusion with 1 and 0).
    Letters,
    /// Both.
    Alphanumeric,
}

impl Charset {
    /// The alphabet.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Digits => b"0123456789",
            Charset::Letters => b"ABCDEFGHJKLMNPQRSTUVWXYZ",
            Charset::Alphanumeric => b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
        }
    }
}

/// How a code looks and lives (the same keys under `[email]`, `[sms]` and `[voice]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSettings {
    /// Minutes a code (and its link) is valid.
    pub lifetime_minutes: u32,
    /// Characters in a code, 1–20.
    pub code_length: u32,
    /// `digits`, `letters` or `alphanumeric`.
    pub code_charset: Charset,
    /// Wrong codes allowed before the code is void, 1–10.
    pub retries: u32,
}

/// What the email factor may be used for (EM-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailUse {
    /// Sign-in (a second factor) and recovery (password reset, unlock).
    AuthenticationAndRecovery,
    /// Password reset and unlock only.
    RecoveryOnly,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (refused if the server does not offer it).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on this host.
    None,
}

/// `[email]`: the email authenticator (EM-1..7, IBM-6) and the SMTP client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server host; empty turns the email factor off.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: SmtpTls,
    /// SMTP user name (empty: no authentication).
    pub smtp_username: String,
    /// SMTP password (set it through `TESSERA_SERVER_EMAIL__SMTP_PASSWORD`).
    pub smtp_password: Secret,
    /// A PEM file of extra trusted certificates (a private CA).
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// The sender, `Name <address>`.
    pub from: String,
    /// `authentication_and_recovery` or `recovery_only`.
    pub use_for: EmailUse,
    /// Minutes a code and its link are valid: 5, 10, … 30 (EM-2).
    pub lifetime_minutes: u32,
    /// Characters in a code, 1–20.
    pub code_length: u32,
    /// `digits`, `letters` or `alphanumeric`.
    pub code_charset: Charset,
    /// Wrong codes allowed before the code is void, 1–10.
    pub retries: u32,
    /// Recipient domains allowed (regular expressions matched against the whole domain);
    /// empty allows every domain.
    pub allowed_domains: Vec<String>,
    /// Recipient domains refused (regular expressions), checked after `allowed_domains`.
    pub denied_domains: Vec<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            smtp_ca_file: None,
            from: "Tessera <no-reply@localhost>".into(),
            use_for: EmailUse::AuthenticationAndRecovery,
            lifetime_minutes: 5,
            code_length: 6,
            code_charset: Charset::Digits,
            retries: 3,
            allowed_domains: Vec::new(),
            denied_domains: Vec::new(),
        }
    }
}

impl EmailConfig {
    /// Whether the factor is on.
    pub fn enabled(&self) -> bool {
        !self.smtp_host.is_empty()
    }

    /// The code settings.
    pub fn code(&self) -> CodeSettings {
        CodeSettings {
            lifetime_minutes: self.lifetime_minutes,
            code_length: self.code_length,
            code_charset: self.code_charset,
            retries: self.retries,
        }
    }
}

/// How SMS or voice messages leave the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The channel is off.
    None,
    /// An HTTP request to the provider's API.
    Http,
    /// A local program: the message on its standard input.
    Command,
}

/// `[sms]` and `[voice]`: a phone channel (IBM-6/8, A0-4).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneConfig {
    /// `none`, `http` or `command`.
    pub provider: Provider,
    /// For `http`: the URL requests go to (`https://`, or `http://` to this host).
    pub http_url: String,
    /// For `http`: the body's content type (`application/json` or
    /// `application/x-www-form-urlencoded`).
    pub http_content_type: String,
    /// For `http`: the body; `{to}`, `{text}`, `{code}` and `{channel}` are replaced (escaped
    /// for the content type).
    pub http_body: String,
    /// For `http`: basic-authentication user (e.g. an account id); empty: none.
    pub http_username: String,
    /// For `http`: basic-authentication password, or the bearer token when the user is empty.
    pub http_password: Secret,
    /// For `command`: the program and its arguments (`{to}` and `{channel}` are replaced); the
    /// message is written to its standard input; exit status 0 means sent.
    pub command: Vec<String>,
    /// Minutes a code is valid, 1–30.
    pub lifetime_minutes: u32,
    /// Characters in a code, 1–20.
    pub code_length: u32,
    /// `digits`, `letters` or `alphanumeric`.
    pub code_charset: Charset,
    /// Wrong codes allowed before the code is void, 1–10.
    pub retries: u32,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            provider: Provider::None,
            http_url: String::new(),
            http_content_type: "application/json".into(),
            http_body: r#"{"to":"{to}","body":"{text}"}"#.into(),
            http_username: String::new(),
            http_password: Secret::default(),
            command: Vec::new(),
            lifetime_minutes: 5,
            code_length: 6,
            code_charset: Charset::Digits,
            retries: 3,
        }
    }
}

impl PhoneConfig {
    /// Whether the channel is on.
    pub fn enabled(&self) -> bool {
        self.provider != Provider::None
    }

    /// The code settings.
    pub fn code(&self) -> CodeSettings {
        CodeSettings {
            lifetime_minutes: self.lifetime_minutes,
            code_length: self.code_length,
            code_charset: self.code_charset,
            retries: self.retries,
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        let key = |k: &str| format!("{name}.{k}");
        check_code(name, &self.code())?;
        if !(1..=30).contains(&self.lifetime_minutes) {
            return Err(bad(&key("lifetime_minutes"), "must be 1–30"));
        }
        match self.provider {
            Provider::None => {}
            Provider::Http => {
                let ok = self.http_url.starts_with("https://")
                    || self.http_url.starts_with("http://127.0.0.1")
                    || self.http_url.starts_with("http://localhost")
                    || self.http_url.starts_with("http://[::1]");
                if !ok {
                    return Err(bad(
                        &key("http_url"),
                        "must be an https:// URL (or http:// to this host)",
                    ));
                }
                if !matches!(
                    self.http_content_type.as_str(),
                    "application/json" | "application/x-www-form-urlencoded"
                ) {
                    return Err(bad(
                        &key("http_content_type"),
                        "must be application/json or application/x-www-form-urlencoded",
                    ));
                }
                if !self.http_body.contains("{text}") && !self.http_body.contains("{code}") {
                    return Err(bad(&key("http_body"), "must contain {text} or {code}"));
                }
            }
            Provider::Command => {
                if self.command.first().is_none_or(String::is_empty) {
                    return Err(bad(&key("command"), "must name a program"));
                }
            }
        }
        Ok(())
    }
}

/// `[send_limits]`: codes per user and per address or number in a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendLimitsConfig {
    /// The window, minutes (1–1440).
    pub window_minutes: u32,
    /// Codes one user may be sent in the window (1–100).
    pub per_user: u32,
    /// Codes one address or number may be sent in the window (1–100).
    pub per_destination: u32,
}

impl Default for SendLimitsConfig {
    fn default() -> Self {
        SendLimitsConfig {
            window_minutes: 15,
            per_user: 5,
            per_destination: 5,
        }
    }
}

/// Which channels tell the user about a change to their MFA (IBM-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannels {
    /// No notification.
    None,
    /// Email.
    Email,
    /// SMS.
    Sms,
    /// The first of email, SMS the user has.
    AnyAvailable,
    /// Every channel the user has.
    AllAvailable,
}

/// Whether users may choose their notification channels (IBM-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOverride {
    /// Users may pick any setting, including none.
    Allowed,
    /// The administrator's setting applies to everyone.
    Denied,
    /// Users may pick, but must keep at least one channel.
    KeepOne,
}

/// `[notifications]`: notices of MFA changes (IBM-3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// `none`, `email`, `sms`, `any_available` or `all_available`.
    pub channels: NotifyChannels,
    /// `allowed`, `denied` or `keep_one`.
    pub user_override: NotifyOverride,
    /// Seconds between two looks at the audit log for changes to tell about (1–3600).
    pub poll_secs: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            channels: NotifyChannels::None,
            user_override: NotifyOverride::Allowed,
            poll_secs: 5,
        }
    }
}

fn check_code(name: &str, c: &CodeSettings) -> Result<()> {
    if !(1..=20).contains(&c.code_length) {
        return Err(bad(&format!("{name}.code_length"), "must be 1–20"));
    }
    if !(1..=10).contains(&c.retries) {
        return Err(bad(&format!("{name}.retries"), "must be 1–10"));
    }
    Ok(())
}

/// Every check of the sections above.
pub fn validate(
    email: &EmailConfig,
    sms: &PhoneConfig,
    voice: &PhoneConfig,
    limits: &SendLimitsConfig,
    notifications: &NotificationsConfig,
) -> Result<()> {
    check_code("email", &email.code())?;
    if !(5..=30).contains(&email.lifetime_minutes) || email.lifetime_minutes % 5 != 0 {
        return Err(bad(
            "email.lifetime_minutes",
            "must be 5, 10, 15, 20, 25 or 30",
        ));
    }
    if email.enabled() {
        email
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                bad(
                    "email.from",
                    "must be an address, e.g. `Tessera <no-reply@example.com>`",
                )
            })?;
    }
    for (key, list) in [
        ("email.allowed_domains", &email.allowed_domains),
        ("email.denied_domains", &email.denied_domains),
    ] {
        for (i, re) in list.iter().enumerate() {
            regex::Regex::new(&format!("^(?:{re})$"))
                .map_err(|_| bad(&format!("{key}[{i}]"), "is not a valid regular expression"))?;
        }
    }
    sms.validate("sms")?;
    voice.validate("voice")?;
    if !(1..=1440).contains(&limits.window_minutes) {
        return Err(bad("send_limits.window_minutes", "must be 1–1440"));
    }
    if !(1..=100).contains(&limits.per_user) {
        return Err(bad("send_limits.per_user", "must be 1–100"));
    }
    if !(1..=100).contains(&limits.per_destination) {
        return Err(bad("send_limits.per_destination", "must be 1–100"));
    }
    if !(1..=3600).contains(&notifications.poll_secs) {
        return Err(bad("notifications.poll_secs", "must be 1–3600"));
    }
    Ok(())
}
