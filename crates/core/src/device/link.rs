//! The `tessera://` links carried by enrollment and QR-login QR codes.
//!
//! `tessera://enroll?v=1&origin=…&code=…&algs=ES256,EdDSA&pref=ES256&sk=…&user=…`
//! `tessera://qr-login?v=1&origin=…&lsi=…&sk=…`
//!
//! `sk` is the base64url SHA-256 fingerprint of the server's Ed25519 identity key: the device
//! pins it at enrollment and checks it on every challenge; a QR-login link whose origin or key
//! is not one the device enrolled with is refused.
//!
//! Parameter names and values are percent-decoded strictly ([`crate::percent`]): a malformed
//! escape, a control character or invalid UTF-8 in any of them refuses the link, naming the
//! parameter. A `+` is a plus, not a space.

use std::collections::HashMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::device::key::SignatureAlgorithm;
use crate::error::{Error, Field, Result};
use crate::percent::{self, Plus};

/// Largest link accepted.
pub const MAX_LINK_BYTES: usize = 2048;
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An enrollment offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollLink {
    /// The server's origin (`https://host[:port]`, or `http://` on loopback).
    pub origin: String,
    /// The single-use enrollment credential (≥128 bits, base64url).
    pub code: String,
    /// Algorithms the server accepts.
    pub algorithms: Vec<SignatureAlgorithm>,
    /// The one it prefers.
    pub preferred: SignatureAlgorithm,
    /// The server key fingerprint.
    pub server_key: String,
    /// The user the offer is for, for display.
    pub user: String,
}

/// A QR-login request shown by a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrLoginLink {
    /// The server's origin.
    pub origin: String,
    /// The login-session index.
    pub lsi: String,
    /// The server key fingerprint.
    pub server_key: String,
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, VALUE).to_string()
}

fn params(link: &str, host: &str) -> Result<HashMap<String, String>> {
    if link.len() > MAX_LINK_BYTES {
        return Err(Error::TooLarge {
            len: link.len(),
            max: MAX_LINK_BYTES,
        });
    }
    let rest = link
        .strip_prefix("tessera://")
        .ok_or_else(|| Error::invalid(Field::Scheme, "expected a tessera:// link"))?;
    let (h, query) = rest.split_once('?').unwrap_or((rest, ""));
    if h != host {
        return Err(Error::invalid(
            Field::Type,
            format!("expected a tessera://{host} link"),
        ));
    }
    let mut map = HashMap::new();
    // Every name and value is decoded strictly (no `+` → space: the links are not form
    // encoded); an error names the parameter.
    for (k, v) in percent::query_pairs(query, Plus::Literal, |_| None)? {
        if map.contains_key(&k) {
            return Err(Error::DuplicateParameter(k));
        }
        map.insert(k, v);
    }
    match map.get("v").map(String::as_str) {
        Some("1") => {}
        Some(_) => {
            return Err(Error::invalid(
                Field::Parameter,
                "protocol version `v` is not 1: update Tessera",
            ))
        }
        None => return Err(Error::Missing(Field::Parameter)),
    }
    Ok(map)
}

fn required(map: &mut HashMap<String, String>, key: &'static str) -> Result<String> {
    match map.remove(key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::invalid(
            Field::Parameter,
            format!("`{key}` is missing"),
        )),
    }
}

/// Checks an origin: scheme, host, optional port, nothing else. Plain `http` only on loopback.
pub fn check_origin(origin: &str) -> Result<()> {
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or_else(|| Error::invalid(Field::Parameter, "origin must be scheme://host[:port]"))?;
    let host = rest.rsplit_once(':').map_or(rest, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            rest
        }
    });
    if rest.is_empty()
        || rest.contains('/')
        || rest.contains('?')
        || rest.contains('#')
        || rest.contains('@')
    {
        return Err(Error::invalid(
            Field::Parameter,
            "origin must be scheme://host[:port]",
        ));
    }
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Error::invalid(
            Field::Parameter,
            "origin must use https (plain http only on loopback)",
        )),
    }
}

impl EnrollLink {
    /// Parses an enrollment link.
    pub fn parse(link: &str) -> Result<Self> {
        let mut map = params(link, "enroll")?;
        let origin = required(&mut map, "origin")?;
        check_origin(&origin)?;
        let code = required(&mut map, "code")?;
        if code.len() < 22 {
            return Err(Error::invalid(
                Field::Parameter,
                "`code` is shorter than 128 bits",
            ));
        }
        let algorithms = required(&mut map, "algs")?
            .split(',')
            .filter_map(|a| a.parse().ok())
            .collect::<Vec<SignatureAlgorithm>>();
        if algorithms.is_empty() {
            return Err(Error::invalid(
                Field::Algorithm,
                "the server offers no signature algorithm this app supports",
            ));
        }
        let preferred = match map.remove("pref") {
            Some(p) => p.parse()?,
            None => algorithms
                .first()
                .copied()
                .unwrap_or(SignatureAlgorithm::Es256),
        };
        Ok(EnrollLink {
            origin,
            code,
            algorithms,
            preferred,
            server_key: required(&mut map, "sk")?,
            user: map.remove("user").unwrap_or_default(),
        })
    }

    /// The algorithm a device should use: the server's preference if we support it.
    pub fn chosen_algorithm(&self) -> SignatureAlgorithm {
        if self.algorithms.contains(&self.preferred) {
            self.preferred
        } else {
            self.algorithms
                .first()
                .copied()
                .unwrap_or(SignatureAlgorithm::Es256)
        }
    }

    /// Emits the link.
    pub fn to_link(&self) -> String {
        let algs: Vec<&str> = self.algorithms.iter().map(|a| a.as_str()).collect();
        format!(
            "tessera://enroll?v=1&origin={}&code={}&algs={}&pref={}&sk={}&user={}",
            enc(&self.origin),
            enc(&self.code),
            enc(&algs.join(",")),
            self.preferred.as_str(),
            enc(&self.server_key),
            enc(&self.user)
        )
    }
}

impl QrLoginLink {
    /// Parses a QR-login link.
    pub fn parse(link: &str) -> Result<Self> {
        let mut map = params(link, "qr-login")?;
        let origin = required(&mut map, "origin")?;
        check_origin(&origin)?;
        Ok(QrLoginLink {
            origin,
            lsi: required(&mut map, "lsi")?,
            server_key: required(&mut map, "sk")?,
        })
    }

    /// Emits the link.
    pub fn to_link(&self) -> String {
        format!(
            "tessera://qr-login?v=1&origin={}&lsi={}&sk={}",
            enc(&self.origin),
            enc(&self.lsi),
            enc(&self.server_key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enroll() -> EnrollLink {
        EnrollLink {
            origin: "http://127.0.0.1:8377".into(),
            code: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            algorithms: vec![SignatureAlgorithm::Es256, SignatureAlgorithm::Ed25519],
            preferred: SignatureAlgorithm::Ed25519,
            server_key: "fp".into(),
            user: "alice & bob".into(),
        }
    }

    #[test]
    fn round_trips() {
        let e = enroll();
        assert_eq!(EnrollLink::parse(&e.to_link()).unwrap(), e);
        assert_eq!(e.chosen_algorithm(), SignatureAlgorithm::Ed25519);
        let q = QrLoginLink {
            origin: "https://id.example.com".into(),
            lsi: "ABCD1234".into(),
            server_key: "fp".into(),
        };
        assert_eq!(QrLoginLink::parse(&q.to_link()).unwrap(), q);
    }

    #[test]
    fn refuses_bad_links() {
        let good = enroll().to_link();
        assert!(EnrollLink::parse(&good.replace("v=1", "v=2")).is_err());
        assert!(
            EnrollLink::parse(&good.replace("tessera://enroll", "tessera://qr-login")).is_err()
        );
        assert!(EnrollLink::parse(
            &good.replace("http%3A%2F%2F127.0.0.1", "http%3A%2F%2Fevil.example")
        )
        .is_err());
        assert!(EnrollLink::parse(&format!("{good}&code=x")).is_err());
        assert!(EnrollLink::parse(&good.replace("ES256%2CEdDSA", "RS256")).is_err());
        assert!(EnrollLink::parse(&"x".repeat(3000)).is_err());
        assert!(
            QrLoginLink::parse("tessera://qr-login?v=1&origin=https%3A%2F%2Fa.example&sk=f")
                .is_err()
        );
        assert!(check_origin("https://a.example/path").is_err());
        assert!(check_origin("https://user@a.example").is_err());
        assert!(check_origin("https://a.example:8443").is_ok());
        assert!(check_origin("http://localhost:8377").is_ok());
    }

    #[test]
    fn bad_percent_encoding_is_refused_naming_the_parameter() {
        let good = enroll().to_link();
        let q = "tessera://qr-login?v=1&origin=https%3A%2F%2Fa.example&lsi=ABCD1234&sk=fp";
        assert!(QrLoginLink::parse(q).is_ok());
        let cases = [
            (good.replace("user=alice", "user=%G1alice"), "`user`"),
            (good.replace("user=alice", "user=alice%0A"), "`user`"),
            (good.replace("user=alice", "user=alice%00"), "`user`"),
            (good.replace("user=alice", "user=alice%C2%85"), "`user`"),
            (good.replace("user=alice", "user=alice%FF"), "`user`"),
            (good.replace("user=alice", "user=alice\r"), "`user`"),
            (good.replace("sk=fp", "sk=fp%"), "`sk`"),
            (good.replace("8377", "8377%0D%0A"), "`origin`"),
            (format!("{good}&extra=%ZZ"), "`extra`"),
            (good.replace("&code=", "&co%de="), "name"),
            (q.replace("lsi=ABCD1234", "lsi=ABCD%1"), "`lsi`"),
            (q.replace("sk=fp", "sk=fp%7F"), "`sk`"),
        ];
        for (link, says) in cases {
            let err = if link.starts_with("tessera://qr-login") {
                QrLoginLink::parse(&link).unwrap_err()
            } else {
                EnrollLink::parse(&link).unwrap_err()
            };
            assert_eq!(err.field(), Some(Field::Parameter), "{link:?}: {err}");
            assert!(
                err.to_string().contains(says),
                "{link:?}: `{err}` should name {says}"
            );
        }
    }
}
