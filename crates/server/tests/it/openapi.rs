//! The served OpenAPI document is docs/openapi.json, and it describes exactly the routes the
//! router has: the routes are read from the router's source (every `.route(…)` call in the files
//! that build it), so a route added without its description fails here, and so does a described
//! operation the router does not answer.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Server;

/// The files whose `.route(…)` calls make up `tessera_server::router` (each merged into it).
const ROUTER_SOURCES: &[&str] = &[
    "src/api/mod.rs",
    "src/device/http.rs",
    "src/signin/api.rs",
    "src/signin/pages.rs",
    "src/account/api.rs",
    "src/account/pages.rs",
    "src/admin/api.rs",
    "src/admin/pages.rs",
    "src/oidc/mod.rs",
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// (method, path) for every `.route("path", get(..).post(..))` call in `source`.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1usize;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[..end];
        let path = args
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("a route without a literal path: {args}"));
        let mut found = false;
        // Every `name(` whose name is an HTTP method: `get(handler)`, `.post(handler)`.
        for (i, _) in args.match_indices('(') {
            let head = &args[..i];
            let name_start = head
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |j| j + 1);
            let name = &head[name_start..];
            // `users::get(` would be a call of a function named get, not a method router.
            let qualified = head[..name_start].ends_with("::");
            if METHODS.contains(&name) && !qualified {
                out.push((name.to_owned(), path.to_owned()));
                found = true;
            }
        }
        assert!(found, "no method found for route {path}: {args}");
        rest = &rest[end..];
    }
    out
}

fn routed() -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for file in ROUTER_SOURCES {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let routes = routes_in(&source);
        assert!(
            !routes.is_empty(),
            "{file} has no routes: is it still a router source?"
        );
        for r in routes {
            assert!(all.insert(r.clone()), "routed twice: {r:?}");
        }
    }
    all
}

#[test]
fn the_route_scanner_reads_chained_and_multi_line_routes() {
    let src = r#"Router::new()
        .route("/a", get(x::get))
        .route(
            "/b/{id}",
            get(users::get).patch(f(1)).delete(users::remove),
        )
        .merge(other())"#;
    let got = routes_in(src);
    let want: Vec<(String, String)> = [
        ("get", "/a"),
        ("get", "/b/{id}"),
        ("patch", "/b/{id}"),
        ("delete", "/b/{id}"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn served_document_is_the_docs_file_and_matches_the_router_both_ways() {
    let s = Server::start().await;
    let r = s.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let served = r.text().await.unwrap();
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap();
    assert_eq!(served, file);
    let doc: Value = serde_json::from_str(&served).unwrap();

    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path} documents no response"
                );
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let routed = routed();
    // The router has 45 paths today; a scanner that silently found nothing must not pass.
    assert!(routed.len() >= 50, "only {} routes found", routed.len());
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not in docs/openapi.json: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "in docs/openapi.json but not routed: {unrouted:?}"
    );

    // And the running server answers each of them (not the 404 fallback, not a 405).
    for (method, path) in &routed {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = s.call(m, &concrete, None, None).await;
        let st = r.status();
        let body = r.text().await.unwrap();
        assert_ne!(st, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !(st == StatusCode::NOT_FOUND && body.contains("route not found")),
            "{method} {path} is not routed by the running server"
        );
    }
    // The fallback really says "route not found" (so the probe above can tell).
    let r = s.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("route not found"));
}
