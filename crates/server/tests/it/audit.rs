//! `GET /api/v2/logs` filtered by the store (time range, result, type family, paging) and
//! `GET /api/v2/logs/export` (CSV, formulas neutralised); on SQLite, and on PostgreSQL with
//! `TESSERA_TEST_DATABASE_URL`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{config_in, t0_clock, Server, T0};

/// A server and a log written straight through its store at known times: (type, user, detail,
/// seconds after T0).
async fn server_with_log() -> (Server, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let clock = t0_clock();
    let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
    let store = state.store();
    let rows: &[(&str, Option<&str>, &str, u64)] = &[
        ("verify_ok", Some("usr_a"), "otp", 100),
        ("verify_fail", Some("usr_a"), "otp", 200),
        ("lockout", Some("usr_a"), "otp", 300),
        ("push.approved", Some("usr_b"), "transaction t1", 400),
        ("push.denied", Some("usr_b"), "transaction t2", 500),
        ("push.not_me", Some("usr_a"), "transaction t3", 600),
        (
            "signin.ok",
            Some("usr_b"),
            "=HYPERLINK(\"http://evil.example/\",\"x\")",
            700,
        ),
        ("settings.changed", None, "+totp, \"email\"\nnext", 800),
    ];
    for (kind, user, detail, dt) in rows {
        store.audit(*user, kind, None, detail, T0 + dt).unwrap();
    }
    let s = Server::serve(state, clock, first.unwrap()).await;
    (s, tmp)
}

async fn logs(s: &Server, query: &str) -> Value {
    let (st, v) = s
        .admin_json(Method::GET, &format!("/api/v2/logs?{query}"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{query}: {v}");
    v
}

/// The types of a page (newest first), only the rows written above (from T0+1 on).
fn kinds(v: &Value) -> Vec<String> {
    v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["at"].as_u64().unwrap() > T0)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_store_filters_by_time_result_and_type_and_pages() {
    let (s, _tmp) = server_with_log().await;
    let (from, to) = (T0 + 200, T0 + 500);

    // Time range, inclusive at both ends.
    let v = logs(&s, &format!("from={from}&to={to}")).await;
    assert_eq!(
        kinds(&v),
        ["push.denied", "push.approved", "lockout", "verify_fail"]
    );
    assert_eq!(v["total"], 4);

    // Result: the field on each event and the filter.
    let v = logs(&s, &format!("result=failure&from={}", T0 + 1)).await;
    assert_eq!(
        kinds(&v),
        ["push.not_me", "push.denied", "lockout", "verify_fail"]
    );
    assert!(v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["result"] == "failure"));
    let v = logs(&s, &format!("result=success&from={}", T0 + 1)).await;
    assert_eq!(
        kinds(&v),
        [
            "settings.changed",
            "signin.ok",
            "push.approved",
            "verify_ok"
        ]
    );
    assert!(v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["result"] == "success"));

    // Combined: a user, failures, a time range, a type family.
    let v = logs(
        &s,
        &format!(
            "user_id=usr_a&result=failure&from={}&to={}",
            T0 + 250,
            T0 + 650
        ),
    )
    .await;
    assert_eq!(kinds(&v), ["push.not_me", "lockout"]);
    let v = logs(&s, "type=push.*&result=failure").await;
    assert_eq!(kinds(&v), ["push.not_me", "push.denied"]);
    let v = logs(&s, "type=push.*&user_id=usr_b").await;
    assert_eq!(kinds(&v), ["push.denied", "push.approved"]);
    let v = logs(&s, "type=lockout").await;
    assert_eq!(kinds(&v), ["lockout"]);

    // Paging: totals over the filter, pages newest first.
    let q = format!("from={}", T0 + 1);
    let p1 = logs(&s, &format!("{q}&per_page=3&page=1")).await;
    let p3 = logs(&s, &format!("{q}&per_page=3&page=3")).await;
    assert_eq!(
        (p1["total"].as_u64(), p3["total"].as_u64()),
        (Some(8), Some(8))
    );
    assert_eq!(kinds(&p1), ["settings.changed", "signin.ok", "push.not_me"]);
    assert_eq!(kinds(&p3), ["verify_fail", "verify_ok"]);

    // Bad values: 400 naming the parameter.
    let inverted = format!("from={}&to={}", T0 + 2, T0 + 1);
    for (query, param) in [
        ("from=yesterday", "`from`"),
        ("to=-1", "`to`"),
        ("result=maybe", "`result`"),
        ("type=push*", "`type`"),
        ("type=Push.%2A", "`type`"),
        ("per_page=101", "`per_page`"),
        ("page=0", "`page`"),
        (inverted.as_str(), "`from`"),
    ] {
        let (st, v) = s
            .admin_json(Method::GET, &format!("/api/v2/logs?{query}"), None)
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}");
        let text = v["error_description"].as_str().unwrap_or_default();
        assert!(text.starts_with(param), "{query}: {text}");
    }
}

/// Parses RFC 4180 CSV (quoted cells, doubled quotes, line breaks inside quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[tokio::test]
async fn the_export_is_csv_of_every_matching_event_with_formulas_neutralised() {
    let (s, _tmp) = server_with_log().await;
    let resp = s
        .call(
            Method::GET,
            &format!("/api/v2/logs/export?from={}", T0 + 1),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"tessera-audit.csv\""
    );
    assert_eq!(h["x-total-count"], "8");
    assert_eq!(h["x-tessera-export-limit"], "100000");
    assert_eq!(h["x-tessera-export-truncated"], "false");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("\r\n"));
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        [
            "id",
            "time",
            "user_id",
            "type",
            "result",
            "authenticator_id",
            "detail"
        ]
    );
    assert_eq!(rows.len(), 9, "{text}");
    let kinds: Vec<&str> = rows[1..].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "settings.changed",
            "signin.ok",
            "push.not_me",
            "push.denied",
            "push.approved",
            "lockout",
            "verify_fail",
            "verify_ok"
        ]
    );
    // The formula is text; quotes and a line break survive the quoting.
    assert_eq!(rows[2][6], "'=HYPERLINK(\"http://evil.example/\",\"x\")");
    assert!(text.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\""));
    assert_eq!(rows[1][6], "'+totp, \"email\"\nnext");
    assert_eq!(rows[1][2], "");
    assert_eq!(
        (rows[3][4].as_str(), rows[8][4].as_str()),
        ("failure", "success")
    );
    assert_eq!(rows[8][1], "2026-01-01T00:01:40Z");

    // The same filters as the list; a filter matching nothing is the header alone.
    let text = s
        .call(
            Method::GET,
            "/api/v2/logs/export?type=push.*&result=failure&user_id=usr_b",
            Some(&s.admin),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][3], "push.denied");
    let resp = s
        .call(
            Method::GET,
            &format!("/api/v2/logs/export?to={}", T0 - 10_000_000),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(resp.headers()["x-total-count"], "0");
    assert_eq!(parse_csv(&resp.text().await.unwrap()).len(), 1);

    // Bad filters and missing scopes are refused before any CSV.
    let resp = s
        .call(
            Method::GET,
            "/api/v2/logs/export?result=both",
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (_, ro) = s
        .admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(serde_json::json!({"scopes": ["read:users"]})),
        )
        .await;
    let resp = s
        .call(
            Method::GET,
            "/api/v2/logs/export",
            ro["token"].as_str(),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_export_pages_through_more_rows_than_a_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let clock = t0_clock();
    let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
    for i in 0..2_345u64 {
        let kind = if i % 5 == 0 {
            "verify_fail"
        } else {
            "verify_ok"
        };
        state
            .store()
            .audit(Some("usr_x"), kind, None, &i.to_string(), T0 + 1 + i)
            .unwrap();
    }
    let s = Server::serve(state, clock, first.unwrap()).await;
    let text = s
        .call(
            Method::GET,
            "/api/v2/logs/export?user_id=usr_x&result=failure",
            Some(&s.admin),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 1 + 469);
    let details: Vec<u64> = rows[1..].iter().map(|r| r[6].parse().unwrap()).collect();
    let expected: Vec<u64> = (0..2_345u64).rev().filter(|i| i % 5 == 0).collect();
    assert_eq!(details, expected, "every row once, newest first");
    let text = s
        .call(
            Method::GET,
            "/api/v2/logs/export?user_id=usr_x",
            Some(&s.admin),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(parse_csv(&text).len(), 1 + 2_345);
}
