//! HTTPS served by the server itself, checked with independent TLS stacks: a CA and a server
//! certificate made by the `openssl` command, verified by `curl` (OpenSSL, HTTP/2) and by
//! reqwest (rustls, HTTP/1.1).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;

use super::{config_in, t0_clock, Server};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a P-256 server certificate it signed for 127.0.0.1 and localhost, made by
/// the `openssl` command: (CA certificate, full chain leaf first, leaf key).
pub(super) fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Tessera test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "key.pem", "-out", "leaf.csr"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
    let chain = [
        std::fs::read_to_string(dir.join("leaf.pem")).unwrap(),
        std::fs::read_to_string(dir.join("ca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("fullchain.pem"), chain).unwrap();
    (
        dir.join("ca.pem"),
        dir.join("fullchain.pem"),
        dir.join("key.pem"),
    )
}

#[tokio::test]
async fn serves_https_that_curl_and_rustls_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(tmp.path());
    let mut config = config_in(tmp.path()).unwrap();
    config.http.tls_cert = Some(cert.clone());
    config.http.tls_key = Some(key);
    let s = Server::start_in(config, t0_clock(), None).await;
    let https = s.url.clone();
    assert!(https.starts_with("https://"), "{https}");

    // curl (OpenSSL) verifies the chain against the certificate and speaks HTTP/2 by ALPN.
    let out = tokio::process::Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--http2"])
        .arg("--cacert")
        .arg(&ca)
        .args(["--write-out", "\n%{http_version}"])
        .arg(format!("{https}/healthz"))
        .output()
        .await
        .expect("curl is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        body, "{\"status\":\"ok\"}\n2",
        "body, then the HTTP version"
    );

    // rustls with the test CA as its only root.
    let pem = std::fs::read(&ca).unwrap();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let r = client.get(format!("{https}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Under TLS the sign-in's cookies are Secure (as well as HttpOnly, SameSite=Lax).
    let r = client
        .post(format!("{https}/signin/api/flows"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("tessera_browser=")
            && cookie.contains("; HttpOnly")
            && cookie.contains("; SameSite=Lax")
            && cookie.ends_with("; Secure"),
        "{cookie}"
    );

    // Without the CA as a root the client refuses; plain HTTP gets no answer.
    assert!(reqwest::Client::new()
        .get(format!("{https}/healthz"))
        .send()
        .await
        .is_err());
    assert!(reqwest::Client::new()
        .get(format!("{}/healthz", https.replace("https://", "http://")))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn unusable_certificates_stop_the_server_naming_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, cert, key) = certificates(tmp.path());
    let other = tempfile::tempdir().unwrap();
    let (_, _, other_key) = certificates(other.path());
    let not_pem = tmp.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let cases = [
        (
            Some(tmp.path().join("missing.pem")),
            Some(key.clone()),
            "`http.tls_cert`",
        ),
        (
            Some(cert.clone()),
            Some(tmp.path().join("missing.pem")),
            "`http.tls_key`",
        ),
        (Some(not_pem.clone()), Some(key.clone()), "`http.tls_cert`"),
        (Some(cert.clone()), Some(not_pem), "`http.tls_key`"),
        (Some(cert.clone()), Some(other_key), "does not fit"),
    ];
    for (tls_cert, tls_key, want) in cases {
        let mut config = config_in(tmp.path()).unwrap();
        config.http.tls_cert = tls_cert;
        config.http.tls_key = tls_key;
        let (state, _) = tessera_server::open(config, t0_clock()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = tessera_server::run(listener, state, std::future::pending())
            .await
            .expect_err("an unusable certificate or key stops the server");
        let msg = err.to_string();
        assert!(msg.contains(want), "{msg} should name {want}");
        assert!(
            !msg.contains("PRIVATE KEY"),
            "no key material in errors: {msg}"
        );
    }
    // One without the other is refused with the configuration.
    let mut config = config_in(tmp.path()).unwrap();
    config.http.tls_cert = Some(cert);
    let msg = config.validate().unwrap_err().to_string();
    assert!(msg.contains("http.tls_cert"), "{msg}");
}
