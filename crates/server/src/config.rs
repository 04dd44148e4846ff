//! Server settings: defaults, a TOML file, `TESSERA_SERVER_*` environment variables and flags,
//! in that order of precedence (later wins). [`Config::validate`] names the offending setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tessera_core::Algorithm;

use crate::error::{Error, Result};

/// The fixed default address: loopback only, port 7878.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// Prefix of the environment variables read as settings (`__` separates sections).
pub const ENV_PREFIX: &str = "TESSERA_SERVER_";
/// The default secret-URL template (IBM-7 placeholders).
pub const DEFAULT_URI_TEMPLATE: &str = "otpauth://totp/Tessera:@USER_NAME@?secret=@SECRET_KEY@&issuer=Tessera&algorithm=@ALGORITHM@&digits=@DIGITS@&period=@PERIOD@";

/// All settings. Every field has a default, so an empty file is a valid configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// The database: a SQLite file (the default) or a PostgreSQL URL. Written as a string
    /// (`database = "/var/lib/tessera/tessera.db"` or `"postgres://…"`) or as a table
    /// (`[database]` with `path` or `url`, and the pool settings).
    pub database: DatabaseConfig,
    /// Master key file (32 random bytes, mode 0600, created on first start); empty = beside the
    /// SQLite database as `master.key`. With PostgreSQL every instance needs the same key: set
    /// this, or the environment variable [`MASTER_KEY_ENV`].
    pub key_file: Option<PathBuf>,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// TOTP policy.
    pub totp: TotpConfig,
    /// Recovery codes.
    pub recovery_codes: RecoveryConfig,
    /// Failure counting and lockout.
    pub lockout: LockoutConfig,
    /// When MFA applies and token lifetimes.
    pub mfa: MfaConfig,
    /// SQLite tuning.
    pub storage: StorageConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// The device factor (push, QR login, sign-in page).
    pub device: crate::device::DeviceConfig,
    /// The OpenID Connect provider (signing-key rotation, ID-token lifetime).
    pub oidc: crate::oidc::OidcConfig,
    /// The hosted sign-in (docs/signin.md).
    pub signin: SigninConfig,
    /// The email factor and its SMTP server (docs/factors.md).
    pub email: crate::oob::config::EmailConfig,
    /// SMS codes.
    pub sms: crate::oob::config::PhoneConfig,
    /// Codes read out by a voice call.
    pub voice: crate::oob::config::PhoneConfig,
    /// Codes sent per user and per address or number.
    pub send_limits: crate::oob::config::SendLimitsConfig,
    /// Notices of MFA changes (IBM-3).
    pub notifications: crate::oob::config::NotificationsConfig,
    /// Passkeys (WebAuthn): the relying party.
    pub passkey: crate::passkey::PasskeyConfig,
    /// The admin console at `/admin` (docs/admin.md).
    pub console: ConsoleConfig,
}

/// The admin console: who is an administrator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The group (a name in a user's `groups`) whose members may use the console; 1–64
    /// printable characters.
    pub admin_group: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            admin_group: "tessera-admins".to_owned(),
        }
    }
}

/// The hosted sign-in: how long a flow and a global session live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigninConfig {
    /// Minutes a sign-in flow may take, 1–60.
    pub flow_minutes: u32,
    /// Hours a global session lives after its last sign-in, 1–8760.
    pub session_hours: u32,
    /// Sign-ins one client address may start per minute (each stores a flow), 1–100000.
    pub starts_per_minute: u32,
}

impl Default for SigninConfig {
    fn default() -> Self {
        SigninConfig {
            flow_minutes: 15,
            session_hours: 12,
            starts_per_minute: 600,
        }
    }
}

/// TOTP policy (IBM-7). Algorithm, digits and period apply to new enrollments only: each
/// enrollment stores its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TotpConfig {
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length, 6–12.
    pub digits: u8,
    /// Seconds per code, 1–86400.
    pub period: u32,
    /// Accepted steps before and after the current one (0–10).
    pub skew: u32,
    /// A code that verified once never verifies again.
    pub one_time_use: bool,
    /// OTP enrollments per user, 1–5.
    pub max_enrollments: u32,
    /// The otpauth URI template; must start with `otpauth://totp/` and contain `@SECRET_KEY@`.
    pub uri_template: String,
}

/// Recovery codes (LG-1, A0-6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Generate recovery codes at the first enrollment.
    pub enabled: bool,
    /// Codes per set, 1–16 (1 is Auth0's behaviour: a used code is replaced by a new one).
    pub count: u32,
}

/// Failure counting per user and factor (NIST SP 800-63B §5.2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    /// Consecutive failures after which the factor is locked, 1–100.
    pub max_failures: u32,
    /// Failures allowed without delay before delays start.
    pub delay_after: u32,
    /// First delay in seconds; doubles with every further failure (0 = no delays).
    pub delay_base_secs: u64,
    /// Longest delay in seconds.
    pub delay_max_secs: u64,
    /// How long a lock lasts in seconds; 0 = until an administrator unlocks.
    pub lock_secs: u64,
}

/// When MFA applies and how long tokens live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// Require MFA of every user (LG-2); otherwise only users with an active factor or in an
    /// organization that requires it (LG-5).
    pub required: bool,
    /// Lifetime of an `mfa_token`, seconds.
    pub mfa_token_ttl_secs: u64,
    /// Lifetime of an access token, seconds.
    pub access_token_ttl_secs: u64,
}

/// The environment variable that may carry the master key itself (64 hex digits), instead of
/// a key file: what a container platform's secret store hands an instance.
pub const MASTER_KEY_ENV: &str = "TESSERA_SERVER_MASTER_KEY";

/// Where the server keeps its data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value")]
pub struct DatabaseConfig {
    /// SQLite database file; empty (and no `url`) = `tessera-server.db` in the user's data
    /// directory.
    pub path: Option<PathBuf>,
    /// PostgreSQL connection URL (`postgres://user:password@host:5432/tessera`, or a
    /// `host=… dbname=…` string): several instances may share it.
    pub url: Option<String>,
    /// PostgreSQL: most connections per instance (default 16).
    pub pool_size: Option<usize>,
    /// PostgreSQL: how long a request waits for a connection before a 503, seconds (default 5).
    pub pool_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseTable {
    path: Option<PathBuf>,
    url: Option<String>,
    pool_size: Option<usize>,
    pool_timeout_secs: Option<u64>,
}

/// The two spellings of `database`: a string (a path, or a `postgres://` URL) or a table.
impl TryFrom<toml::Value> for DatabaseConfig {
    type Error = String;

    fn try_from(v: toml::Value) -> std::result::Result<Self, String> {
        match v {
            toml::Value::String(t) => Ok(DatabaseConfig::from_text(&t)),
            toml::Value::Table(_) => {
                let t: DatabaseTable = v
                    .try_into()
                    .map_err(|e: toml::de::Error| e.message().to_owned())?;
                Ok(DatabaseConfig {
                    path: t.path,
                    url: t.url,
                    pool_size: t.pool_size,
                    pool_timeout_secs: t.pool_timeout_secs,
                })
            }
            _ => Err("must be a SQLite path, a postgres:// URL or a [database] table".into()),
        }
    }
}

/// The engine a configuration selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// SQLite on this file.
    Sqlite(PathBuf),
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl DatabaseConfig {
    /// A path, or a URL when it starts with `postgres://` or `postgresql://` (what the
    /// `--database` flag and the string form of the setting accept).
    pub fn from_text(text: &str) -> Self {
        if is_postgres_url(text) {
            DatabaseConfig {
                url: Some(text.to_owned()),
                ..DatabaseConfig::default()
            }
        } else {
            DatabaseConfig {
                path: Some(PathBuf::from(text)),
                ..DatabaseConfig::default()
            }
        }
    }

    /// A SQLite file.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        DatabaseConfig {
            path: Some(path.into()),
            ..DatabaseConfig::default()
        }
    }

    /// A PostgreSQL URL.
    pub fn postgres(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: Some(url.into()),
            ..DatabaseConfig::default()
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.is_some()
    }

    /// The pool settings (`durable`: `storage.synchronous = "full"`).
    pub fn pool(&self, durable: bool) -> crate::store::pg::PoolOptions {
        let d = crate::store::pg::PoolOptions::default();
        crate::store::pg::PoolOptions {
            max_size: self.pool_size.unwrap_or(d.max_size),
            timeout: self
                .pool_timeout_secs
                .map_or(d.timeout, std::time::Duration::from_secs),
            durable,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.path.is_some() && self.url.is_some() {
            return Err(bad(
                "database",
                "set `path` (SQLite) or `url` (PostgreSQL), not both",
            ));
        }
        if let Some(url) = &self.url {
            if !is_postgres_url(url) && !url.contains("host=") && !url.contains("dbname=") {
                return Err(bad(
                    "database.url",
                    "must be a PostgreSQL URL (postgres://…) or connection string",
                ));
            }
            crate::store::pg::parse_url(url)?;
        }
        if let Some(n) = self.pool_size {
            if !(1..=1000).contains(&n) {
                return Err(bad("database.pool_size", "must be 1–1000"));
            }
        }
        if let Some(t) = self.pool_timeout_secs {
            if !(1..=300).contains(&t) {
                return Err(bad("database.pool_timeout_secs", "must be 1–300"));
            }
        }
        Ok(())
    }
}

fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// SQLite settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `full` (every commit is fsynced) or `normal` (WAL: a crash may lose the last commits, never
    /// corrupt).
    pub synchronous: String,
    /// Most write jobs committed together in one transaction (group commit); 1 = off.
    pub group_commit_max: u32,
    /// Read connections, 1–64.
    pub readers: u32,
}

/// HTTP settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted, bytes (1 KiB – 1 MiB).
    pub body_limit_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed, as addresses or CIDR ranges
    /// (`["127.0.0.1", "10.0.0.0/8"]`). Empty (the default): the header is ignored and the
    /// requester is the socket peer, since any client can write the header.
    pub trusted_proxies: Vec<String>,
    /// PEM file with the server's certificate chain (leaf first): with `tls_key`, the server
    /// speaks HTTPS itself. Unset (the default): plain HTTP, for loopback or behind a proxy.
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_owned(),
            database: DatabaseConfig::default(),
            key_file: None,
            log: "info".to_owned(),
            totp: TotpConfig::default(),
            recovery_codes: RecoveryConfig::default(),
            lockout: LockoutConfig::default(),
            mfa: MfaConfig::default(),
            storage: StorageConfig::default(),
            http: HttpConfig::default(),
            device: crate::device::DeviceConfig::default(),
            signin: SigninConfig::default(),
            passkey: crate::passkey::PasskeyConfig::default(),
            oidc: crate::oidc::OidcConfig::default(),
            email: Default::default(),
            sms: Default::default(),
            voice: Default::default(),
            send_limits: Default::default(),
            notifications: Default::default(),
            console: ConsoleConfig::default(),
        }
    }
}

impl Default for TotpConfig {
    fn default() -> Self {
        TotpConfig {
            algorithm: "SHA1".to_owned(),
            digits: 6,
            period: 30,
            skew: 1,
            one_time_use: true,
            max_enrollments: 2,
            uri_template: DEFAULT_URI_TEMPLATE.to_owned(),
        }
    }
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            enabled: true,
            count: 1,
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 10,
            delay_after: 3,
            delay_base_secs: 2,
            delay_max_secs: 300,
            lock_secs: 0,
        }
    }
}

impl Default for MfaConfig {
    fn default() -> Self {
        MfaConfig {
            required: false,
            mfa_token_ttl_secs: 300,
            access_token_ttl_secs: 3600,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            synchronous: "full".to_owned(),
            group_commit_max: 256,
            readers: 4,
        }
    }
}

impl StorageConfig {
    /// The SQLite `synchronous` value for every connection the server opens (its own tables
    /// and the device factor's): one durability setting for everything it writes.
    pub fn synchronous_pragma(&self) -> &'static str {
        if self.synchronous == "normal" {
            "NORMAL"
        } else {
            "FULL"
        }
    }
}

impl HttpConfig {
    /// The trusted proxies parsed; the error names the entry that is neither an address nor a
    /// CIDR range.
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let t = entry.trim();
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        let shown: String =
                            t.chars().filter(|c| !c.is_control()).take(60).collect();
                        bad(
                            &format!("http.trusted_proxies[{i}]"),
                            format!("`{shown}` is neither an IP address nor a CIDR range"),
                        )
                    })
            })
            .collect()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

pub(crate) fn bad(setting: &str, why: impl std::fmt::Display) -> Error {
    Error::Config(format!("`{setting}`: {why}"))
}

impl Config {
    /// Builds the configuration from an optional TOML text and environment variables
    /// (`TESSERA_SERVER_TOTP__DIGITS=8` sets `totp.digits`), then validates it.
    pub fn load(
        toml_text: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut table: toml::Table = match toml_text {
            Some(text) => text
                .parse::<toml::Table>()
                .map_err(|e| Error::Config(one_line(&e.to_string())))?,
            None => toml::Table::new(),
        };
        for (key, value) in env {
            let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if rest == "CONFIG" || key == MASTER_KEY_ENV {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &path, env_value(&value))
                .map_err(|()| bad(&path.join("."), "conflicts with a section of that name"))?;
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(one_line(&e.to_string())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting; the error names the first invalid one.
    pub fn validate(&self) -> Result<()> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|_| bad("listen", "expected an address like 127.0.0.1:7878"))?;
        tracing_subscriber::EnvFilter::try_new(&self.log).map_err(|_| {
            bad(
                "log",
                "is not a valid tracing filter (e.g. `info`, `warn,tessera_server=debug`)",
            )
        })?;
        self.totp_algorithm()?;
        if !(6..=12).contains(&self.totp.digits) {
            return Err(bad("totp.digits", "must be 6–12"));
        }
        if !(1..=86_400).contains(&self.totp.period) {
            return Err(bad("totp.period", "must be 1–86400 seconds"));
        }
        if self.totp.skew > 10 {
            return Err(bad("totp.skew", "must be 0–10"));
        }
        if !(1..=5).contains(&self.totp.max_enrollments) {
            return Err(bad("totp.max_enrollments", "must be 1–5"));
        }
        let t = &self.totp.uri_template;
        if !t.starts_with("otpauth://totp/") {
            return Err(bad("totp.uri_template", "must start with otpauth://totp/"));
        }
        if !t.contains("@SECRET_KEY@") {
            return Err(bad("totp.uri_template", "must contain @SECRET_KEY@"));
        }
        if !(1..=16).contains(&self.recovery_codes.count) {
            return Err(bad("recovery_codes.count", "must be 1–16"));
        }
        if !(1..=100).contains(&self.lockout.max_failures) {
            return Err(bad("lockout.max_failures", "must be 1–100"));
        }
        if self.lockout.delay_max_secs < self.lockout.delay_base_secs {
            return Err(bad(
                "lockout.delay_max_secs",
                "must be ≥ lockout.delay_base_secs",
            ));
        }
        if self.mfa.mfa_token_ttl_secs == 0 || self.mfa.mfa_token_ttl_secs > 3600 {
            return Err(bad("mfa.mfa_token_ttl_secs", "must be 1–3600"));
        }
        if self.mfa.access_token_ttl_secs == 0 || self.mfa.access_token_ttl_secs > 86_400 * 30 {
            return Err(bad("mfa.access_token_ttl_secs", "must be 1–2592000"));
        }
        self.database.validate()?;
        if !matches!(self.storage.synchronous.as_str(), "full" | "normal") {
            return Err(bad("storage.synchronous", "must be `full` or `normal`"));
        }
        if !(1..=4096).contains(&self.storage.group_commit_max) {
            return Err(bad("storage.group_commit_max", "must be 1–4096"));
        }
        if !(1..=64).contains(&self.storage.readers) {
            return Err(bad("storage.readers", "must be 1–64"));
        }
        if !(1024..=1024 * 1024).contains(&self.http.body_limit_bytes) {
            return Err(bad("http.body_limit_bytes", "must be 1024–1048576"));
        }
        self.http.trusted_proxies()?;
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return Err(bad(
                "http.tls_cert",
                "and `http.tls_key` go together: set both or neither",
            ));
        }
        self.device.validate()?;
        if !(1..=60).contains(&self.signin.flow_minutes) {
            return Err(bad("signin.flow_minutes", "must be 1–60"));
        }
        if !(1..=8760).contains(&self.signin.session_hours) {
            return Err(bad("signin.session_hours", "must be 1–8760"));
        }
        let group = &self.console.admin_group;
        if group.is_empty() || group.chars().count() > 64 || group.chars().any(char::is_control) {
            return Err(bad(
                "console.admin_group",
                "must be 1–64 printable characters",
            ));
        }
        if !(1..=100_000).contains(&self.signin.starts_per_minute) {
            return Err(bad("signin.starts_per_minute", "must be 1–100000"));
        }
        self.oidc.validate()?;
        crate::oob::config::validate(
            &self.email,
            &self.sms,
            &self.voice,
            &self.send_limits,
            &self.notifications,
        )?;
        self.passkey.validate()?;
        Ok(())
    }

    /// The configured TOTP algorithm for new enrollments.
    pub fn totp_algorithm(&self) -> Result<Algorithm> {
        self.totp
            .algorithm
            .parse()
            .map_err(|_| bad("totp.algorithm", "must be SHA1, SHA256 or SHA512"))
    }
}

/// Environment values are TOML scalars when they parse as one (`8`, `true`), else strings.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(v) = raw.parse::<i64>() {
        return toml::Value::Integer(v);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> std::result::Result<(), ()> {
    match path {
        [] => Err(()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [head, rest @ ..] => {
            let entry = table
                .entry(head.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(()),
            }
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_valid_and_defaults_hold() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.totp.skew, 1);
        assert!(c.totp.one_time_use);
    }

    #[test]
    fn env_overrides_file_and_errors_name_the_setting() {
        let c = Config::load(
            Some("[totp]\ndigits = 8\n"),
            vec![("TESSERA_SERVER_TOTP__PERIOD".into(), "60".into())],
        )
        .unwrap();
        assert_eq!((c.totp.digits, c.totp.period), (8, 60));
        let e = Config::load(Some("[totp]\ndigits = 13\n"), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("totp.digits"), "{e}");
        let e = Config::load(
            Some("[totp]\nuri_template = \"otpauth://hotp/x\"\n"),
            Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("totp.uri_template"), "{e}");
        let e = Config::load(None, vec![("TESSERA_SERVER_NOPE".into(), "1".into())]).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = Config::load(Some("log = \"[[\"\n"), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("`log`"), "{e}");
        let e = Config::load(Some("[lockout]\nmax_failures = 101\n"), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("lockout.max_failures"), "{e}");
        let e = Config::load(Some("[oidc]\nkey_rotation_days = 0\n"), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("oidc.key_rotation_days"), "{e}");
        let e = Config::load(
            None,
            vec![("TESSERA_SERVER_OIDC__ID_TOKEN_TTL_SECS".into(), "5".into())],
        )
        .unwrap_err();
        assert!(e.to_string().contains("oidc.id_token_ttl_secs"), "{e}");
        let e = Config::load(Some("[oidc]\nissuer = \"x\"\n"), Vec::new()).unwrap_err();
        assert!(
            e.to_string().contains("issuer"),
            "unknown keys are named: {e}"
        );
    }

    #[test]
    fn the_database_is_a_path_a_url_or_a_table() {
        let c = Config::load(Some("database = \"/var/lib/t.db\"\n"), Vec::new()).unwrap();
        assert_eq!(c.database, DatabaseConfig::sqlite("/var/lib/t.db"));
        let c = Config::load(Some("database = \"postgres://t@db/t\"\n"), Vec::new()).unwrap();
        assert!(c.database.is_postgres());
        let c = Config::load(
            Some("[database]\nurl = \"postgres://t@db/t\"\npool_size = 4\n"),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.database.pool(true).max_size, 4);
        // From the environment, so a password stays out of files.
        let c = Config::load(
            None,
            vec![(
                "TESSERA_SERVER_DATABASE__URL".to_owned(),
                "postgres://t:pw@db/t".to_owned(),
            )],
        )
        .unwrap();
        assert_eq!(c.database.url.as_deref(), Some("postgres://t:pw@db/t"));
        // The master key variable is not a setting (and never an "unknown setting").
        let c = Config::load(None, vec![(MASTER_KEY_ENV.to_owned(), "00".repeat(32))]).unwrap();
        assert!(!c.database.is_postgres());

        for (text, names) in [
            (
                "[database]\npath = \"/a\"\nurl = \"postgres://t@db/t\"\n",
                "not both",
            ),
            ("[database]\nurl = \"mysql://x\"\n", "database.url"),
            (
                "[database]\nurl = \"postgres://t@db/t\"\npool_size = 0\n",
                "database.pool_size",
            ),
            ("[database]\nhost = \"db\"\n", "host"),
        ] {
            let e = Config::load(Some(text), Vec::new())
                .unwrap_err()
                .to_string();
            assert!(e.contains(names), "{text}: {e}");
        }
        // A URL with a password in an error never repeats the password.
        let e = Config::load(
            Some("[database]\nurl = \"postgres://t:s3cret@db:notaport/t\"\n"),
            Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("database.url") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn the_postgres_deployment_example_is_valid() {
        let text = include_str!("../../../docs/deploy/config-postgres.toml");
        let c = Config::load(Some(text), Vec::new()).unwrap();
        assert!(c.database.is_postgres());
        assert_eq!(c.database.pool(true).max_size, 16);
        assert!(c.key_file.is_some(), "every instance names the shared key");
        assert_eq!(c.http.trusted_proxies, ["10.0.0.2"]);
        // The example speaks TLS to the database and verifies it against its CA.
        let target = crate::store::pg::parse_url(c.database.url.as_deref().unwrap()).unwrap();
        assert_eq!(target.tls.mode, crate::store::pg::tls::SslMode::VerifyFull);
        assert_eq!(
            target.tls.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/tessera-server/db-ca.pem"))
        );
    }
}
