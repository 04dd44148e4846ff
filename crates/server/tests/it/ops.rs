//! Operating the server: `/healthz`, `/readyz` and `/metrics` against a real database (a
//! SQLite file, or PostgreSQL when the suite runs on it).

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_core::device::wire::PushState;
use tessera_core::Clock;
use tessera_server::device::store::PushRecord;

use super::{config_in, pg_execute, sqlite_config_in, t0_clock, Server, T0};

async fn get(s: &Server, path: &str) -> reqwest::Response {
    s.client
        .get(format!("{}{path}", s.url))
        .send()
        .await
        .unwrap()
}

/// Runs `sql` with the `sqlite3` command (another program than the server) on `db`; stdout.
fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Records schema version `version` in the database of `config`, as another program (a newer
/// server's migration, an operator) would.
async fn set_recorded_version(config: &tessera_server::Config, version: u64) {
    match (&config.database.url, &config.database.path) {
        (Some(url), _) => {
            pg_execute(
                url,
                &format!("UPDATE tessera_schema SET version = {version}"),
            )
            .await
        }
        (None, Some(db)) => {
            sqlite3(db, &format!("PRAGMA user_version = {version};"));
        }
        (None, None) => panic!("the test configuration names its database"),
    }
}

/// The value of the one sample of `name` with exactly these labels (`{…}` as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn healthz_and_readyz_follow_the_database_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let clock = t0_clock();
    let s = Server::start_in(config.clone(), clock, None).await;
    let r = get(&s, "/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));

    let r = get(&s, "/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ready");
    let version = v["schema_version"].as_u64().unwrap();
    assert!(version >= 1, "{v}");

    // Another program moves the schema on: not ready, with a retry hint, until it is back.
    set_recorded_version(&config, version + 1).await;
    let r = get(&s, "/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "not_ready");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("migrations not current"),
        "{v}"
    );
    set_recorded_version(&config, version).await;
    assert_eq!(get(&s, "/readyz").await.status(), StatusCode::OK);
    assert_eq!(get(&s, "/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_time_validations() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = t0_clock();
    let (state, first) =
        tessera_server::open(config_in(tmp.path()).unwrap(), clock.clone()).unwrap();
    let s = Server::serve(state.clone(), clock, first.unwrap()).await;
    let id = s.create_user("mia", Some("correct horse battery")).await;
    let (_, secret) = super::enrolled(&s, &id).await;
    let right = super::oathtool(&secret, "SHA1", 6, 30, s.clock.now_unix());
    let mut refused = None;
    for wrong in ["000000", "999999", "555555"]
        .iter()
        .filter(|w| **w != right)
        .take(2)
    {
        let (st, _) = s.verify(&id, wrong).await;
        assert!(st.is_client_error(), "a wrong code is refused");
        refused = Some(st.as_u16());
    }
    let refused = refused.unwrap();
    let r = get(&s, "/no/such/route").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A pending push and an expired one: only the first is pending.
    let store = state.devices().clone();
    for (tx, expires_at) in [("tx-live", T0 + 60), ("tx-old", T0 - 1)] {
        store
            .insert_push(&PushRecord {
                transaction_id: tx.into(),
                user_id: id.clone(),
                nonce: "n".into(),
                number: 42,
                number_choices: vec![],
                context: Default::default(),
                created_at: T0 - 10,
                expires_at,
                state: PushState::Pending,
                device_id: None,
                reason: None,
                device_networks: Default::default(),
            })
            .unwrap();
    }

    let r = get(&s, "/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    let route = "/api/v2/users/{id}/otp-verification";
    // The enrollment's confirmation, then the two refusals.
    let requests = |status: u16| {
        sample(
            &text,
            &format!("tessera_http_requests_total{{method=\"POST\",route=\"{route}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests(200), Some(1.0), "{text}");
    assert_eq!(requests(refused), Some(2.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "tessera_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tessera_validation_duration_seconds_count{factor=\"Otp\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tessera_push_challenges_pending"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "tessera_db_schema_version").unwrap() >= 1.0,
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    // Labels come from route templates, never from paths: no user id, no token.
    assert!(!text.contains(&id), "a user id leaked into the metrics");
    assert!(!text.contains(&s.admin), "a token leaked into the metrics");

    // Counters only go up: a second scrape counts the first.
    let text = get(&s, "/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            "tessera_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn a_database_a_newer_server_migrated_is_refused_and_left_alone() {
    let open =
        |dir: &std::path::Path| tessera_server::open(sqlite_config_in(dir), t0_clock()).map(|_| ());
    // One numbering for every table (the device tables' own went away in step 2–5).
    let tmp = tempfile::tempdir().unwrap();
    open(tmp.path()).unwrap();
    let db = tmp.path().join("tessera.db");
    sqlite3(&db, "PRAGMA user_version = 999;");
    let before = sqlite3(&db, ".schema");
    let err = open(tmp.path()).expect_err("newer").to_string();
    assert!(err.contains("newer than this server"), "{err}");
    assert!(err.contains("999"), "names the version: {err}");
    assert_eq!(sqlite3(&db, ".schema"), before, "not altered");
    assert_eq!(sqlite3(&db, "PRAGMA user_version;").trim(), "999");

    // The same on PostgreSQL, when the suite runs on it.
    let config = config_in(tmp.path()).unwrap();
    let Some(url) = config.database.url.clone() else {
        return;
    };
    let open = || tessera_server::open(config.clone(), t0_clock()).map(|_| ());
    open().unwrap();
    set_recorded_version(&config, 999).await;
    let before = super::pg_dump_text(&url).await;
    let err = open().expect_err("newer").to_string();
    assert!(err.contains("newer than this server"), "{err}");
    assert!(err.contains("999"), "names the version: {err}");
    assert_eq!(
        super::pg_dump_text(&url).await,
        before,
        "no table or row altered"
    );
}
