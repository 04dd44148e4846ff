//! Durability: a new server on the same database (SQLite file or PostgreSQL database) keeps
//! enrollments and one-time use.

use reqwest::{Method, StatusCode};
use tessera_core::Clock;

use super::{config_in, enrolled, oathtool, t0_clock, Server};

#[tokio::test]
async fn enrollment_and_used_codes_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let clock = t0_clock();
    let s = Server::start_in(config.clone(), clock, None).await;
    let id = s.create_user("rex", None).await;
    let (a, secret) = enrolled(&s, &id).await;
    let used = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let clock = s.clock.clone();
    let (_, admin) = s.stop(); // a hard stop: nothing drains, what was committed stays

    // Restart on the same database with a changed policy: it applies to new enrollments only
    // (IBM-7).
    let mut config = config;
    config.totp.algorithm = "SHA512".into();
    config.totp.digits = 8;
    let s = Server::start_in(config, clock, Some(admin)).await;
    let (st, list) = s
        .admin_json(
            Method::GET,
            &format!("/api/v2/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == a["id"] && x["active"] == true),
        "{list}"
    );
    assert_eq!(
        s.verify(&id, &used).await.0,
        StatusCode::FORBIDDEN,
        "a used code never verifies again"
    );
    s.clock.advance(30);
    let next = oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    assert_eq!(
        s.verify(&id, &next).await.0,
        StatusCode::OK,
        "old enrollment keeps SHA1/6"
    );
    let b = s.admin_enroll(&id).await;
    assert!(b["barcode_uri"]
        .as_str()
        .unwrap()
        .contains("algorithm=SHA512&digits=8"));
    drop(tmp);
}
