use std::path::{Path, PathBuf};

use super::*;

#[test]
fn csv_cells_are_quoted_and_formulas_neutralised() {
    assert_eq!(csv_cell(""), r#""""#);
    assert_eq!(csv_cell("plain"), r#""plain""#);
    assert_eq!(csv_cell(r#"say "hi""#), r#""say ""hi""""#);
    assert_eq!(csv_cell("a,b"), r#""a,b""#);
    assert_eq!(csv_cell("line1\nline2"), "\"line1\nline2\"");
    assert_eq!(csv_cell("line1\r\nline2"), "\"line1\r\nline2\"");
    for lead in ["=", "+", "-", "@", "\t", "\r"] {
        let v = format!("{lead}HYPERLINK(\"http://x\")");
        assert_eq!(
            csv_cell(&v),
            format!("\"'{lead}HYPERLINK(\"\"http://x\"\")\""),
            "{lead:?}"
        );
    }
    // Only a leading character counts.
    assert_eq!(csv_cell("a=1"), r#""a=1""#);
    assert_eq!(csv_cell(" =1"), r#"" =1""#);
}

#[test]
fn csv_row_is_in_header_order() {
    let e = AuditEvent {
        id: 7,
        at: 1_765_101_157,
        user_id: Some("usr_1".into()),
        kind: "verify_fail".into(),
        authenticator_id: None,
        detail: "=1+1".into(),
    };
    assert_eq!(
        csv_row(&e),
        "\"7\",\"2025-12-07T09:52:37Z\",\"usr_1\",\"verify_fail\",\"failure\",\"\",\"'=1+1\"\r\n"
    );
    assert_eq!(CSV_HEADER.matches(',').count(), 6);
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
}

#[test]
fn results_and_sql_list() {
    assert_eq!(result_of("verify_ok"), AuditResult::Success);
    assert_eq!(result_of("verify_fail"), AuditResult::Failure);
    assert_eq!(result_of("push.not_me"), AuditResult::Failure);
    assert_eq!(result_of("gone.type"), AuditResult::Success);
    let mut seen = std::collections::HashSet::new();
    for (k, _) in KINDS {
        assert!(seen.insert(*k), "{k} listed twice");
        assert!(
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
            "{k}: only [a-z_.] may go into the SQL list"
        );
    }
    let list = failure_sql_list();
    assert!(list.contains("'lockout'") && !list.contains("'verify_ok'"));
}

/// The server's non-test sources.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != "tests" {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|e| e == "rs") {
                let name = p.file_name().unwrap().to_str().unwrap();
                if name != "tests.rs" && name != "migrations.rs" && name != "testing.rs" {
                    let text = std::fs::read_to_string(&p).unwrap();
                    // Leave out inline unit tests.
                    let text = text
                        .split("#[cfg(test)]\nmod tests {")
                        .next()
                        .unwrap()
                        .to_owned();
                    out.push((p, text));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// The top-level arguments of the call whose `(` is at `open`.
fn call_args(text: &str, open: usize) -> Vec<String> {
    let mut args = Vec::new();
    let (mut depth, mut cur, mut in_str, mut esc) = (0i32, String::new(), false, false);
    for ch in text[open..].chars() {
        if in_str {
            cur.push(ch);
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
            }
            continue;
        }
        match ch {
            '"' => {
                in_str = true;
                cur.push(ch);
            }
            '(' | '[' | '{' => {
                depth += 1;
                if depth > 1 {
                    cur.push(ch);
                }
            }
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    args.push(cur.trim().to_owned());
                    return args;
                }
                cur.push(ch);
            }
            ',' if depth == 1 => {
                args.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    args
}

/// `"literal"` → `literal`.
fn literal(arg: &str) -> Option<&str> {
    arg.strip_prefix('"')?.strip_suffix('"')
}

/// Every audit write in the sources: each literal type must be in [`KINDS`]; a computed type
/// must come from literals (or enumerations) this test can see, and each of those is checked.
#[test]
fn every_written_type_is_classified() {
    // (call text, index of the type argument)
    const CALLS: &[(&str, usize)] = &[
        ("audit_tx(", 3), // both stores: (conn, now, user, kind, …)
        ("audit_in(", 2), // the device stores: (conn, user, kind, …)
        (".audit(", 1),   // Store::audit / DeviceStore::audit: (user, kind, …)
        (" audit(", 0),   // the passkey check's closure: (kind, detail)
    ];
    let mut literal_sites = 0;
    let mut computed = Vec::new();
    for (path, text) in sources() {
        for (call, idx) in CALLS {
            for (at, _) in text.match_indices(call) {
                let before = &text[..at];
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let line = &text[line_start..];
                if line.trim_start().starts_with("fn ")
                    || line.trim_start().starts_with("pub fn ")
                    || line.trim_start().starts_with("async fn ")
                    || line.trim_start().starts_with("//")
                    || line.contains("INSERT INTO")
                {
                    continue;
                }
                let args = call_args(&text, at + call.len() - 1);
                let Some(arg) = args.get(*idx) else { continue };
                let arg = arg.trim_start_matches('&');
                if let Some(kind) = literal(arg) {
                    assert!(
                        is_known(kind),
                        "{}: audit type `{kind}` is written but not classified in audit.rs KINDS",
                        path.display()
                    );
                    literal_sites += 1;
                } else {
                    computed.push((path.clone(), arg.to_owned(), at));
                }
            }
        }
    }
    assert!(
        literal_sites > 60,
        "found only {literal_sites} audit writes"
    );
    // Computed types: the literals the variable is built from (in the lines just before the
    // call), or the `format!` families below.
    let mut families = 0;
    for (path, arg, at) in &computed {
        let text = std::fs::read_to_string(path).unwrap();
        let window = &text[text[..*at]
            .char_indices()
            .rev()
            .nth(900)
            .map_or(0, |(i, _)| i)..*at];
        if arg == "kind"
            && path.ends_with("device/store/sqlite.rs")
            && window.contains("format!(\"push.{}\", d.reason)")
            || arg.starts_with("format!(\"push.{}\"")
        {
            // push.{reason}: the reasons device/push.rs decides with.
            let push = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("src/device/push.rs"),
            )
            .unwrap();
            let mut reasons = 0;
            for part in push.split("PushState::").skip(1) {
                // `PushState::Denied, "not_me"` (the reason may be on the next line).
                let Some((_, rest)) = part.split_once(',') else {
                    continue;
                };
                let Some(rest) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                if let Some((reason, _)) = rest.split_once('"') {
                    if reason.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        let kind = format!("push.{reason}");
                        assert!(is_known(&kind), "`{kind}` is written but not in KINDS");
                        reasons += 1;
                    }
                }
            }
            assert!(push.contains("reason: \"expired\"") && is_known("push.expired"));
            assert!(reasons >= 4, "push reasons: {reasons}");
            families += 1;
        } else if arg.starts_with("format!(\"qr_login.{}\"") {
            use crate::device::store::QrState;
            for s in [QrState::Approved, QrState::Denied, QrState::Expired] {
                let kind = format!("qr_login.{}", s.as_str());
                assert!(is_known(&kind), "`{kind}` is written but not in KINDS");
            }
            families += 1;
        } else if (arg == "kind" || arg == "k") && window.contains("kind: &str,") {
            // A function that writes the type its caller gives (the store's `audit`); the
            // callers' types are checked at their sites.
        } else if arg == "kind" {
            // A `let kind = …` or a closure's parameter; its values are literals just above or,
            // for a closure, at the closure's calls (checked as literal sites).
            let found: Vec<&str> = window
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|s| {
                    s.contains('.')
                        && s.split('.').count() == 2
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                })
                .collect();
            for kind in &found {
                assert!(
                    is_known(kind),
                    "{}: audit type `{kind}` is written but not in KINDS",
                    path.display()
                );
            }
            assert!(
                !found.is_empty(),
                "{}: an audit write with a computed type this test cannot follow (`{arg}`): \
                 use a literal or extend audit/tests.rs",
                path.display()
            );
        } else {
            panic!(
                "{}: an audit write with a computed type this test cannot follow (`{arg}`): \
                 use a literal or extend audit/tests.rs",
                path.display()
            );
        }
    }
    assert!(families >= 2, "the push/qr_login families: {families}");
}
