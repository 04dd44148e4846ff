//! The TOTP factor: enrollment, QR codes, algorithms, skew and one-time use (IBM-7).

use std::process::Command;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_core::Clock;

use super::{enrolled, error_code, oathtool, uri_param, Server};

#[tokio::test]
async fn enrollment_gives_secret_uri_and_qr_codes_and_stays_inactive() {
    let s = Server::start().await;
    let id = s.create_user("dana@example.com", None).await;
    let a = s.admin_enroll(&id).await;
    let secret = a["secret"].as_str().unwrap();
    assert_eq!(
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap()
            .len(),
        20,
        "SHA1 → 160-bit secret"
    );
    let uri = a["barcode_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Tessera:dana@example.com?"),
        "{uri}"
    );
    assert_eq!(uri_param(uri, "secret"), secret);
    assert_eq!(uri_param(uri, "algorithm"), "SHA1");
    assert_eq!(uri_param(uri, "digits"), "6");
    assert_eq!(uri_param(uri, "period"), "30");
    assert!(a["barcode_svg"].as_str().unwrap().contains("<svg"));
    assert!(a["id"].as_str().unwrap().starts_with("totp|dev_"));

    // The PNG decodes (zbarimg, independent) to the same URI.
    let png = a["barcode_png"]
        .as_str()
        .unwrap()
        .strip_prefix("data:image/png;base64,")
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    let path = s.dir.join("qr.png");
    std::fs::write(&path, png).unwrap();
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), uri);

    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    let otp = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["authenticator_type"] == "otp")
        .unwrap();
    assert_eq!(otp["active"], false, "inactive until confirmed");
    assert_eq!(otp["name"], "dana************", "masked");

    // A wrong code does not confirm; a right one (from oathtool) does.
    let (st, v) = s.verify(&id, "000000").await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
    let code = oathtool(secret, "SHA1", 6, 30, s.clock.now_unix());
    let (st, v) = s.verify(&id, &code).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "a failed guess does not void the pending code: {v}"
    );
    assert_eq!(v["confirmed"], true);
    let (_, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert!(
        list.as_array().unwrap().iter().all(|x| x["active"] == true),
        "{list}"
    );
}

#[tokio::test]
async fn every_algorithm_and_length_verifies_against_oathtool() {
    for (alg, digits, period, bytes) in [
        ("SHA256", 8u8, 60u32, 32usize),
        ("SHA512", 8, 30, 64),
        ("SHA1", 7, 45, 20),
        ("SHA1", 10, 30, 20),
        ("SHA512", 12, 30, 64),
    ] {
        let s = Server::start_with(|c| {
            c.totp.algorithm = alg.into();
            c.totp.digits = digits;
            c.totp.period = period;
        })
        .await;
        let id = s.create_user("eve", None).await;
        let a = s.admin_enroll(&id).await;
        let secret = a["secret"].as_str().unwrap();
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(secret.as_bytes())
                .unwrap()
                .len(),
            bytes
        );
        assert_eq!(
            uri_param(a["barcode_uri"].as_str().unwrap(), "algorithm"),
            alg
        );
        let code = oathtool(secret, alg, digits, period, s.clock.now_unix());
        assert_eq!(code.len(), usize::from(digits));
        let (st, v) = s.verify(&id, &code).await;
        assert_eq!(st, StatusCode::OK, "{alg}/{digits}: {v}");
    }
}

#[tokio::test]
async fn a_code_verifies_once_and_only_once() {
    let s = Server::start().await;
    let id = s.create_user("frank", None).await;
    let (_, secret) = enrolled(&s, &id).await; // uses the code of step T0/30
    let now = s.clock.now_unix();
    let code = oathtool(&secret, "SHA1", 6, 30, now);
    let (st, v) = s.verify(&id, &code).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant"),
        "replay refused"
    );
    // Next step: a fresh code works once; the previous step's code (within skew) stays refused.
    s.clock.advance(30);
    let next = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    assert_eq!(s.verify(&id, &next).await.0, StatusCode::OK);
    assert_eq!(s.verify(&id, &next).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        s.verify(&id, &code).await.0,
        StatusCode::FORBIDDEN,
        "older step after a newer one"
    );
}

#[tokio::test]
async fn skew_window_is_plus_minus_n_periods() {
    let s = Server::start().await;
    let id = s.create_user("gina", None).await;
    let (_, secret) = enrolled(&s, &id).await;
    s.clock.advance(300);
    let now = s.clock.now_unix();
    assert_eq!(
        s.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now - 60))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "step−2"
    );
    assert_eq!(
        s.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now - 30))
            .await
            .0,
        StatusCode::OK,
        "step−1"
    );
    assert_eq!(
        s.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now + 30))
            .await
            .0,
        StatusCode::OK,
        "step+1"
    );
    assert_eq!(
        s.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now + 60))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "step+2"
    );

    let z = Server::start_with(|c| c.totp.skew = 0).await;
    let id = z.create_user("hal", None).await;
    let (_, secret) = enrolled(&z, &id).await;
    z.clock.advance(300);
    let now = z.clock.now_unix();
    assert_eq!(
        z.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now - 30))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        z.verify(&id, &oathtool(&secret, "SHA1", 6, 30, now))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_time_use_can_be_turned_off() {
    let s = Server::start_with(|c| c.totp.one_time_use = false).await;
    let id = s.create_user("ivan", None).await;
    let (_, secret) = enrolled(&s, &id).await;
    let code = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    assert_eq!(s.verify(&id, &code).await.0, StatusCode::OK);
    assert_eq!(s.verify(&id, &code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn enrollments_are_capped_and_the_template_is_used() {
    let s = Server::start_with(|c| {
        c.totp.max_enrollments = 1;
        c.totp.uri_template =
            "otpauth://totp/Acme:@USER_NAME@?secret=@SECRET_KEY@&issuer=Acme&digits=@DIGITS@&period=@PERIOD@&algorithm=@ALGORITHM@".into();
    })
    .await;
    let id = s.create_user("judy", None).await;
    let a = s.admin_enroll(&id).await;
    assert!(a["barcode_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Acme:judy?secret="));
    let (st, v) = s
        .admin_json(
            Method::POST,
            &format!("/api/v2/users/{id}/authentication-methods"),
            Some(json!({"type": "totp"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::CONFLICT, "conflict")
    );
    let (st, _) = s
        .admin_json(
            Method::POST,
            &format!("/api/v2/users/{id}/authentication-methods"),
            Some(json!({"type": "sms"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .admin_json(
            Method::POST,
            "/api/v2/users/usr_nope/authentication-methods",
            Some(json!({"type": "totp"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn secrets_are_sealed_at_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let config = super::config_in(tmp.path()).unwrap();
    let clock = super::t0_clock();
    let s = Server::start_in(config.clone(), clock, None).await;
    let id = s.create_user("ken", None).await;
    let (a, secret) = enrolled(&s, &id).await;
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    s.stop();
    let dir = tmp.path();
    let mut private = vec!["master.key"];
    if let Some(url) = &config.database.url {
        // PostgreSQL: what anyone who reads the tables sees (BYTEA as hex).
        let dump = super::pg_dump_text(url).await;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dump.contains(&hex), "raw secret must not be stored");
        assert!(!dump.contains(&secret), "base32 secret must not be stored");
        assert!(
            dump.contains(a["id"].as_str().unwrap()),
            "sanity: the row is there"
        );
    } else {
        let mut all = Vec::new();
        for f in ["tessera.db", "tessera.db-wal"] {
            if let Ok(b) = std::fs::read(dir.join(f)) {
                all.extend(b);
            }
        }
        assert!(!all.is_empty());
        let contains = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(&raw), "raw secret must not be stored");
        assert!(
            !contains(secret.as_bytes()),
            "base32 secret must not be stored"
        );
        assert!(
            contains(a["id"].as_str().unwrap().as_bytes()),
            "sanity: the row is there"
        );
        private.push("tessera.db");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in private {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
}
