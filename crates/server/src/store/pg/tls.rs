//! TLS between the server and PostgreSQL ([decision 0003](../../../../../docs/decisions/0003-postgres-tls.md)):
//! libpq's `sslmode` and `sslrootcert` in `database.url`, spoken with rustls on ring through
//! `tokio-postgres-rustls`. One [`TlsSettings`] serves every connection the server opens (the
//! pool, the `LISTEN` connection, [`super::create_database`]) and becomes `PGSSLMODE` and
//! `PGSSLROOTCERT` for `pg_dump` and `pg_restore`.
//!
//! `tokio-postgres` knows only `disable`, `prefer` and `require` and refuses `sslrootcert`, so
//! [`split`] takes both out of the URL before the driver parses the rest. The driver then asks
//! the server for TLS (insisting on it for every mode stronger than `prefer`), and the rustls
//! verifier built here decides what the server's certificate must prove.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::WebPkiSupportedAlgorithms;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, Result};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, plain otherwise.
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS, and the server's certificate chain verified against `sslrootcert`.
    VerifyCa,
    /// TLS, the chain verified and the certificate valid for the host name.
    VerifyFull,
}

impl SslMode {
    /// The mode of a `database.url` without `sslmode` (decision 0003: libpq's `prefer` would
    /// fall back to plain text and accept any certificate).
    pub const DEFAULT: SslMode = SslMode::VerifyFull;

    const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// libpq's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Result<SslMode> {
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str() == value)
            .ok_or_else(|| {
                Error::Config(format!(
                    "`database.url`: sslmode `{value}` is not one of disable, prefer, require, \
                     verify-ca, verify-full"
                ))
            })
    }
}

/// The TLS part of a `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`, or [`SslMode::DEFAULT`].
    pub mode: SslMode,
    /// Whether the URL named the mode.
    pub mode_given: bool,
    /// `sslrootcert`: a PEM file of the CA certificates to trust.
    pub root_cert: Option<PathBuf>,
    /// Every host is a Unix socket: PostgreSQL offers no TLS there, so (as libpq does) the mode
    /// is not applied.
    pub socket_only: bool,
}

/// The CA bundles of the common distributions, in the order they are looked for when
/// `SSL_CERT_FILE` is not set (Debian and Ubuntu, Fedora and RHEL, openSUSE, Alpine).
pub const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The system's CA bundle: `SSL_CERT_FILE` when set, else the first of [`SYSTEM_BUNDLES`] that
/// exists.
pub fn system_bundle() -> Option<PathBuf> {
    system_bundle_from(std::env::var_os("SSL_CERT_FILE"))
}

fn system_bundle_from(ssl_cert_file: Option<OsString>) -> Option<PathBuf> {
    match ssl_cert_file {
        Some(f) if !f.is_empty() => Some(PathBuf::from(f)),
        _ => SYSTEM_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
    }
}

/// A connection string without `sslmode` and `sslrootcert`, and their raw values (the last one
/// of each, as libpq reads them).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    pub rest: String,
    pub mode: Option<String>,
    pub root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL (its query) or a `key=value`
/// connection string; everything else is left for the driver, which reports its own errors.
pub(super) fn split(url: &str) -> Split {
    let url_form = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let split = if url_form {
        split_query(url)
    } else {
        split_key_values(url)
    };
    // A string this does not read is handed over whole: the driver names what is wrong.
    split.unwrap_or_else(|| Split {
        rest: url.to_owned(),
        mode: None,
        root_cert: None,
    })
}

/// The URL form: `sslmode` and `sslrootcert` are query parameters, percent-encoded.
fn split_query(url: &str) -> Option<Split> {
    // As tokio-postgres reads it: user information runs to the first `@`, the query starts at
    // the first `?` after it.
    let after_user = url.find('@').map_or(0, |at| at + 1);
    let Some(q) = url.get(after_user..)?.find('?').map(|q| q + after_user) else {
        return Some(Split {
            rest: url.to_owned(),
            mode: None,
            root_cert: None,
        });
    };
    let (base, query) = (url.get(..q)?, url.get(q + 1..)?);
    let (mut mode, mut root_cert) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |t| {
            percent_encoding::percent_decode_str(t)
                .decode_utf8_lossy()
                .into_owned()
        };
        match decode(key).as_str() {
            "sslmode" => mode = Some(decode(value)),
            "sslrootcert" => root_cert = Some(decode(value)),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Some(Split {
        rest,
        mode,
        root_cert,
    })
}

/// The `key=value` form (libpq's rules, as tokio-postgres reads them: values may be quoted with
/// `'`, and `\` escapes the next character). The other pairs are written back quoted.
fn split_key_values(text: &str) -> Option<Split> {
    let mut chars = text.chars().peekable();
    let (mut mode, mut root_cert) = (None, None);
    let mut kept = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            // The end, or a stray `=` the driver will name.
            if chars.peek().is_some() {
                return None;
            }
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.peek().copied() {
                None if quoted => return None,
                None => break,
                Some('\'') if quoted => {
                    chars.next();
                    break;
                }
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => {
                    chars.next();
                    value.extend(chars.next());
                }
                Some(c) => {
                    chars.next();
                    value.push(c);
                }
            }
        }
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root_cert = Some(value),
            _ => {
                let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
                kept.push(format!("{key}='{escaped}'"));
            }
        }
    }
    Some(Split {
        rest: kept.join(" "),
        mode,
        root_cert,
    })
}

impl TlsSettings {
    /// The settings from the raw values [`split`] found. `verify-ca` needs `sslrootcert`: the
    /// system's public CAs vouch for certificates of anyone's host names, so a chain check
    /// against them without the name proves nothing (libpq refuses the same pair).
    pub(super) fn new(
        mode: Option<&str>,
        root_cert: Option<&str>,
        socket_only: bool,
    ) -> Result<TlsSettings> {
        let mode_given = mode.is_some();
        let mode = mode.map_or(Ok(SslMode::DEFAULT), SslMode::parse)?;
        let root_cert = match root_cert {
            Some("") => {
                return Err(Error::Config(
                    "`database.url`: sslrootcert is empty; name a PEM file of CA certificates"
                        .into(),
                ))
            }
            Some(p) => Some(PathBuf::from(p)),
            None => None,
        };
        if mode == SslMode::VerifyCa && root_cert.is_none() {
            return Err(Error::Config(
                "`database.url`: sslmode=verify-ca needs sslrootcert (the CA that signed the \
                 database's certificate); for a publicly trusted certificate use verify-full"
                    .into(),
            ));
        }
        Ok(TlsSettings {
            mode,
            mode_given,
            root_cert,
            socket_only,
        })
    }

    /// The mode applied: [`SslMode::Disable`] on Unix sockets.
    pub fn effective_mode(&self) -> SslMode {
        if self.socket_only {
            SslMode::Disable
        } else {
            self.mode
        }
    }

    /// What the driver negotiates: it only knows `disable`, `prefer` and `require`; the
    /// verifier does the rest.
    pub(super) fn driver_mode(&self) -> tokio_postgres::config::SslMode {
        match self.effective_mode() {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }

    /// The CA file certificates are verified against, if any: `sslrootcert`, or the system
    /// bundle for `verify-full` without one. `prefer` and `require` without `sslrootcert` do not
    /// verify.
    fn roots_file(&self) -> Result<Option<PathBuf>> {
        Ok(match (self.effective_mode(), &self.root_cert) {
            (SslMode::Disable, _) => None,
            (_, Some(p)) => Some(p.clone()),
            (SslMode::VerifyFull, None) => Some(system_bundle().ok_or_else(|| {
                Error::Config(format!(
                    "`database.url`: sslmode=verify-full without sslrootcert trusts the system's \
                     CA bundle, and there is none (SSL_CERT_FILE is not set and none of {} \
                     exists): set sslrootcert",
                    SYSTEM_BUNDLES.join(", ")
                ))
            })?),
            (_, None) => None,
        })
    }

    /// The settings in words, for messages and logs.
    pub fn describe(&self) -> String {
        if self.socket_only {
            return "Unix socket, no TLS".to_owned();
        }
        let default = if self.mode_given {
            ""
        } else {
            " (the default)"
        };
        let mode = format!("sslmode={}{default}", self.mode.as_str());
        match (self.mode, &self.root_cert) {
            (SslMode::Disable, _) => mode,
            (_, Some(p)) => format!("{mode}, sslrootcert {}", p.display()),
            (SslMode::VerifyFull | SslMode::VerifyCa, None) => match system_bundle() {
                Some(bundle) => format!("{mode}, the system's CA bundle {}", bundle.display()),
                None => format!("{mode}, no system CA bundle"),
            },
            (SslMode::Prefer | SslMode::Require, None) => {
                format!("{mode}, certificate not verified")
            }
        }
    }

    /// The TLS connector for these settings; reads the CA file now. An unreadable or invalid
    /// file is [`Error::Config`] naming `sslrootcert` (or the system bundle) and why.
    pub fn connector(&self) -> Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match self.roots_file()? {
            Some(file) => {
                let what = if self.root_cert.is_some() {
                    "sslrootcert"
                } else {
                    "the system's CA bundle"
                };
                let roots = Arc::new(load_roots(&file, what)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| {
                        Error::Config(format!("`database.url` {what} {}: {e}", file.display()))
                    })?;
                if self.effective_mode() == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
            // `disable` never uses it; `prefer` and `require` without a CA encrypt to whoever
            // answers (libpq does the same).
            None => Arc::new(Unverified(algorithms)),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("`database.url` TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// The environment that gives `pg_dump` and `pg_restore` the same TLS: `PGSSLMODE`, and
    /// `PGSSLROOTCERT` set to the CA file (`None`: removed from their environment).
    pub fn tool_env(&self) -> Result<Vec<(&'static str, Option<OsString>)>> {
        Ok(vec![
            (
                "PGSSLMODE",
                Some(OsString::from(self.effective_mode().as_str())),
            ),
            ("PGSSLROOTCERT", self.roots_file()?.map(OsString::from)),
        ])
    }
}

/// The CA certificates of a PEM file.
fn load_roots(file: &Path, what: &str) -> Result<RootCertStore> {
    let named =
        |why: String| Error::Config(format!("`database.url` {what} {}: {why}", file.display()));
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| named(pem_error(e)))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| named(pem_error(e)))?;
    if certs.is_empty() {
        return Err(named("no PEM certificate in it".into()));
    }
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(named("none of its certificates can be read".into()));
    }
    Ok(roots)
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a PEM file ({other})"),
    }
}

/// `verify-ca`, and `prefer`/`require` with `sslrootcert`: the chain must lead to a root of the
/// file; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // webpki checks the name after the chain: this error means the chain held.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without `sslrootcert`: any certificate; the handshake signature is
/// still checked, so the session is encrypted to the holder of the certificate's key.
#[derive(Debug)]
struct Unverified(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_of(url: &str) -> (String, Option<String>, Option<String>) {
        let s = split(url);
        (s.rest, s.mode, s.root_cert)
    }

    #[test]
    fn the_url_form_loses_only_the_tls_parameters() {
        assert_eq!(
            split_of("postgres://u:p@db:5432/t?sslmode=verify-full&connect_timeout=2&sslrootcert=%2Fetc%2Fca%20x.pem"),
            (
                "postgres://u:p@db:5432/t?connect_timeout=2".to_owned(),
                Some("verify-full".to_owned()),
                Some("/etc/ca x.pem".to_owned())
            )
        );
        assert_eq!(
            split_of("postgresql://db/t?sslmode=require"),
            (
                "postgresql://db/t".to_owned(),
                Some("require".to_owned()),
                None
            )
        );
        // The last of a repeated parameter counts, as in libpq.
        assert_eq!(
            split_of("postgres://db/t?sslmode=disable&sslmode=prefer").1,
            Some("prefer".to_owned())
        );
        // A `?` in the password is not the query.
        assert_eq!(
            split_of("postgres://u:pa?ss@db/t?sslmode=disable"),
            (
                "postgres://u:pa?ss@db/t".to_owned(),
                Some("disable".to_owned()),
                None
            )
        );
        assert_eq!(
            split_of("postgres://db/t"),
            ("postgres://db/t".to_owned(), None, None)
        );
    }

    #[test]
    fn the_key_value_form_loses_only_the_tls_parameters() {
        let (rest, mode, root) = split_of(
            "host=db  sslmode = verify-ca dbname='my db' password='it\\'s' sslrootcert='/a b/ca.pem'",
        );
        assert_eq!(mode.as_deref(), Some("verify-ca"));
        assert_eq!(root.as_deref(), Some("/a b/ca.pem"));
        assert_eq!(rest, "host='db' dbname='my db' password='it\\'s'");
        // What is left still means the same to the driver.
        let c: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(c.get_dbname(), Some("my db"));
        assert_eq!(c.get_password(), Some(&b"it's"[..]));
        // Unreadable text is handed over whole, for the driver to name.
        assert_eq!(split_of("host='db").0, "host='db");
    }

    #[test]
    fn an_unknown_mode_is_named_and_verify_ca_needs_a_ca() {
        let e = TlsSettings::new(Some("verify_full"), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sslmode") && e.contains("`verify_full`") && e.contains("verify-full"),
            "{e}"
        );
        let e = TlsSettings::new(Some("verify-ca"), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = TlsSettings::new(None, Some(""), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslrootcert"), "{e}");
    }

    #[test]
    fn client_certificates_are_refused_as_unknown_options() {
        for key in ["sslcert", "sslkey"] {
            let e = super::super::parse_url(&format!("postgres://db/t?{key}=/x.pem"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("database.url") && e.contains(key), "{e}");
        }
    }

    #[test]
    fn the_default_is_verify_full_and_sockets_get_no_tls() {
        let t = TlsSettings::new(None, None, false).unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert!(!t.mode_given);
        assert_eq!(
            t.driver_mode(),
            tokio_postgres::config::SslMode::Require,
            "the driver must insist on TLS; the verifier checks the rest"
        );
        assert!(t.describe().contains("(the default)"), "{}", t.describe());
        let t = TlsSettings::new(Some("require"), None, true).unwrap();
        assert_eq!(t.effective_mode(), SslMode::Disable);
        assert_eq!(t.driver_mode(), tokio_postgres::config::SslMode::Disable);
    }

    #[test]
    fn the_tools_get_the_same_mode_and_ca_file() {
        let env = |t: TlsSettings| {
            t.tool_env()
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, v.map(|v| v.to_string_lossy().into_owned())))
                .collect::<Vec<_>>()
        };
        let t = TlsSettings::new(Some("verify-ca"), Some("/etc/db/ca.pem"), false).unwrap();
        assert_eq!(
            env(t),
            [
                ("PGSSLMODE", Some("verify-ca".to_owned())),
                ("PGSSLROOTCERT", Some("/etc/db/ca.pem".to_owned()))
            ]
        );
        let t = TlsSettings::new(Some("require"), None, false).unwrap();
        assert_eq!(
            env(t),
            [
                ("PGSSLMODE", Some("require".to_owned())),
                ("PGSSLROOTCERT", None)
            ]
        );
        let t = TlsSettings::new(Some("verify-full"), Some("/ca.pem"), true).unwrap();
        assert_eq!(
            env(t),
            [
                ("PGSSLMODE", Some("disable".to_owned())),
                ("PGSSLROOTCERT", None)
            ]
        );
        // verify-full without a CA file: the system bundle, for the tools too.
        if let Some(bundle) = system_bundle() {
            let t = TlsSettings::new(None, None, false).unwrap();
            assert_eq!(
                env(t)[1],
                ("PGSSLROOTCERT", Some(bundle.display().to_string()))
            );
        }
    }

    #[test]
    fn the_system_bundle_is_ssl_cert_file_else_the_distributions_file() {
        assert_eq!(
            system_bundle_from(Some("/x/ca.pem".into())),
            Some(PathBuf::from("/x/ca.pem"))
        );
        let found = system_bundle_from(None);
        assert_eq!(
            found,
            SYSTEM_BUNDLES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        );
        if Path::new("/etc/debian_version").exists() && found.is_some() {
            assert_eq!(
                found,
                Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
                "Debian's bundle"
            );
        }
    }

    #[test]
    fn an_unreadable_or_invalid_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let bad_cert = dir.path().join("bad.pem");
        std::fs::write(
            &bad_cert,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for (file, why) in [
            (&missing, "No such file"),
            (&not_pem, "no PEM certificate"),
            (&bad_cert, "can be read"),
        ] {
            let t =
                TlsSettings::new(Some("verify-full"), Some(file.to_str().unwrap()), false).unwrap();
            let Err(e) = t.connector() else {
                panic!("{} was accepted", file.display())
            };
            let e = e.to_string();
            assert!(
                e.contains("sslrootcert") && e.contains(&file.display().to_string()),
                "{e}"
            );
            assert!(e.contains(why), "{e} should say {why}");
        }
    }
}
