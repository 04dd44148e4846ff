//! Configuration: defaults, then a TOML file, then environment variables, then flags. Every
//! value is validated at start; an invalid one stops the server with a message naming it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use tessera_core::otp::{self, Algorithm};

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// A setting that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    /// The setting's name as written in the TOML file (`totp.digits`).
    pub setting: String,
    /// Why.
    pub reason: String,
}

fn bad(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        reason: reason.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// SQLite database file (default: `<data dir>/tessera-server.sqlite3`).
    pub database: Option<PathBuf>,
    /// File holding the 256-bit master key that seals TOTP secrets (created 0600 at first
    /// start; default: `<data dir>/master.key`).
    pub master_key_file: Option<PathBuf>,
    /// SQLite durability: `normal` (WAL; a committed write survives a process crash, the last
    /// transactions may be lost on power failure) or `full` (fsync at every commit).
    pub synchronous: String,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// TOTP policy.
    pub totp: TotpPolicy,
    /// Recovery codes.
    pub recovery: RecoveryPolicy,
    /// Failure counting and lockout.
    pub lockout: LockoutPolicy,
    /// Token lifetimes.
    pub tokens: TokenPolicy,
}

/// TOTP enrollment and verification policy (IBM-7).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TotpPolicy {
    /// `SHA1`, `SHA256` or `SHA512` — for new enrollments.
    pub algorithm: String,
    /// 6–12 — for new enrollments.
    pub digits: u8,
    /// Seconds — for new enrollments.
    pub period: u32,
    /// Periods accepted either side of now (0 = only the current one).
    pub skew: u32,
    /// A code that verified once never verifies again.
    pub one_time_use: bool,
    /// Most OTP authenticators per user (1–5).
    pub max_enrollments: u8,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    /// The otpauth URI template; must start with `otpauth://totp/`.
    pub secret_url_template: String,
}

/// Recovery codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryPolicy {
    /// Codes per set (1–20).
    pub count: usize,
}

/// Consecutive-failure policy per user and factor (NIST SP 800-63B §5.2.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Failures allowed without delay.
    pub free_failures: u32,
    /// First delay after the free failures, in seconds; doubles with each further failure.
    pub base_delay_secs: u64,
    /// Longest delay between attempts, in seconds.
    pub max_delay_secs: u64,
    /// Consecutive failures after which the factor is locked until an administrator resets
    /// it (at most 100).
    pub max_failures: u32,
}

/// Token lifetimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenPolicy {
    /// Access tokens, seconds.
    pub access_ttl_secs: u64,
    /// `mfa_token`s, seconds.
    pub mfa_ttl_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.into(),
            database: None,
            master_key_file: None,
            synchronous: "normal".into(),
            max_body_bytes: 64 * 1024,
            totp: TotpPolicy::default(),
            recovery: RecoveryPolicy { count: 10 },
            lockout: LockoutPolicy::default(),
            tokens: TokenPolicy {
                access_ttl_secs: 3600,
                mfa_ttl_secs: 600,
            },
        }
    }
}

impl Default for TotpPolicy {
    fn default() -> Self {
        TotpPolicy {
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
            skew: 1,
            one_time_use: true,
            max_enrollments: 5,
            issuer: "Tessera".into(),
            secret_url_template: "otpauth://totp/@ISSUER@:@USER_NAME@?secret=@SECRET_KEY@&issuer=@ISSUER@&algorithm=@ALGORITHM@&digits=@DIGITS@&period=@PERIOD@".into(),
        }
    }
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy { count: 10 }
    }
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            free_failures: 5,
            base_delay_secs: 1,
            max_delay_secs: 60,
            max_failures: 50,
        }
    }
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            access_ttl_secs: 3600,
            mfa_ttl_secs: 600,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The raw configuration.
    pub config: Config,
    /// Parsed listen address.
    pub listen: SocketAddr,
    /// Parsed TOTP algorithm.
    pub algorithm: Algorithm,
    /// `synchronous=FULL`.
    pub sync_full: bool,
}

impl Config {
    /// Reads a TOML configuration.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_owned();
            let setting = msg
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| "config file".into());
            bad(&setting, msg)
        })
    }

    /// Applies `TESSERA_SERVER_*` environment variables (`LISTEN`, `DATABASE`,
    /// `MASTER_KEY_FILE`, `SYNCHRONOUS`, `TOTP_DIGITS`, `TOTP_PERIOD`, `TOTP_ALGORITHM`,
    /// `TOTP_SKEW`, `LOCKOUT_MAX_FAILURES`).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(setting: &str, v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| bad(setting, format!("`{v}` is not a number")))
        }
        for (k, v) in vars {
            let Some(key) = k.strip_prefix("TESSERA_SERVER_") else {
                continue;
            };
            match key {
                "LISTEN" => self.listen = v,
                "DATABASE" => self.database = Some(v.into()),
                "MASTER_KEY_FILE" => self.master_key_file = Some(v.into()),
                "SYNCHRONOUS" => self.synchronous = v,
                "TOTP_ALGORITHM" => self.totp.algorithm = v,
                "TOTP_DIGITS" => self.totp.digits = num("totp.digits", &v)?,
                "TOTP_PERIOD" => self.totp.period = num("totp.period", &v)?,
                "TOTP_SKEW" => self.totp.skew = num("totp.skew", &v)?,
                "LOCKOUT_MAX_FAILURES" => {
                    self.lockout.max_failures = num("lockout.max_failures", &v)?
                }
                "CONFIG" => {}
                other => {
                    return Err(bad(
                        &format!("TESSERA_SERVER_{other}"),
                        "unknown environment setting",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Validates every setting.
    pub fn check(self) -> Result<Settings, ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            bad(
                "listen",
                format!("`{}` is not an address:port", self.listen),
            )
        })?;
        let algorithm: Algorithm = self
            .totp
            .algorithm
            .parse()
            .map_err(|_| bad("totp.algorithm", "use SHA1, SHA256 or SHA512"))?;
        if !(otp::MIN_DIGITS..=otp::MAX_DIGITS).contains(&self.totp.digits) {
            return Err(bad("totp.digits", "must be 6–12"));
        }
        otp::check_period(self.totp.period).map_err(|e| bad("totp.period", e.to_string()))?;
        if self.totp.skew > 10 {
            return Err(bad("totp.skew", "must be 0–10"));
        }
        if !(1..=5).contains(&self.totp.max_enrollments) {
            return Err(bad("totp.max_enrollments", "must be 1–5"));
        }
        let t = &self.totp.secret_url_template;
        if !t.starts_with("otpauth://totp/") {
            return Err(bad(
                "totp.secret_url_template",
                "must start with otpauth://totp/",
            ));
        }
        if !t.contains("@SECRET_KEY@") {
            return Err(bad("totp.secret_url_template", "must contain @SECRET_KEY@"));
        }
        if self.totp.issuer.trim().is_empty() || self.totp.issuer.contains(':') {
            return Err(bad("totp.issuer", "must be non-empty and contain no colon"));
        }
        if !(1..=20).contains(&self.recovery.count) {
            return Err(bad("recovery.count", "must be 1–20"));
        }
        let l = &self.lockout;
        if !(1..=100).contains(&l.max_failures) {
            return Err(bad(
                "lockout.max_failures",
                "must be 1–100 (NIST SP 800-63B caps consecutive failures at 100)",
            ));
        }
        if l.free_failures > l.max_failures {
            return Err(bad("lockout.free_failures", "must not exceed max_failures"));
        }
        if l.max_delay_secs < l.base_delay_secs || l.max_delay_secs > 3600 {
            return Err(bad(
                "lockout.max_delay_secs",
                "must be at least base_delay_secs and at most 3600",
            ));
        }
        if self.tokens.access_ttl_secs == 0 || self.tokens.access_ttl_secs > 86_400 * 30 {
            return Err(bad("tokens.access_ttl_secs", "must be 1 s – 30 days"));
        }
        if self.tokens.mfa_ttl_secs == 0 || self.tokens.mfa_ttl_secs > 3600 {
            return Err(bad("tokens.mfa_ttl_secs", "must be 1 s – 1 hour"));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(bad("max_body_bytes", "must be 1 KiB – 16 MiB"));
        }
        let sync_full = match self.synchronous.to_ascii_lowercase().as_str() {
            "normal" => false,
            "full" => true,
            _ => return Err(bad("synchronous", "use `normal` or `full`")),
        };
        Ok(Settings {
            config: self,
            listen,
            algorithm,
            sync_full,
        })
    }
}

impl LockoutPolicy {
    /// Seconds to wait after `failures` consecutive failures before the next attempt.
    pub fn delay_after(&self, failures: u32) -> u64 {
        if failures < self.free_failures.max(1) {
            return 0;
        }
        let extra = failures.saturating_sub(self.free_failures.max(1));
        self.base_delay_secs
            .saturating_mul(1u64.checked_shl(extra.min(32)).unwrap_or(u64::MAX))
            .min(self.max_delay_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_errors_name_the_setting() {
        assert!(Config::default().check().is_ok());
        let e = Config::from_toml("[totp]\ndigits = 13\n")
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "totp.digits");
        let e = Config::from_toml("[lockout]\nmax_failures = 101\n")
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "lockout.max_failures");
        let e = Config::from_toml("[totp]\nsecret_url_template = \"https://x/@SECRET_KEY@\"\n")
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "totp.secret_url_template");
        let e = Config::from_toml("listen = \"nowhere\"\n")
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "listen");
        let e = Config::from_toml("colour = \"red\"\n").unwrap_err();
        assert_eq!(e.setting, "colour");
        let mut c = Config::default();
        let e = c
            .apply_env([("TESSERA_SERVER_TOTP_DIGITS".into(), "six".into())])
            .unwrap_err();
        assert_eq!(e.setting, "totp.digits");
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let l = LockoutPolicy::default();
        assert_eq!(l.delay_after(4), 0);
        assert_eq!(l.delay_after(5), 1);
        assert_eq!(l.delay_after(6), 2);
        assert_eq!(l.delay_after(8), 8);
        assert_eq!(l.delay_after(40), 60);
    }
}
