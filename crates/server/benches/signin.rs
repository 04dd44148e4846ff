//! The hosted sign-in's own cost over HTTP on the embedded SQLite store: starting a flow and
//! identifying the user (a flow written and read back with a compare-and-swap, the user's
//! facts, the policy evaluated), and re-reading a flow's view. The password check (Argon2id,
//! the same as the token endpoint's) is left out: it is the dominant cost of a real sign-in
//! and is measured by its own parameters, not by the flow.
//!
//! Run: `cargo bench -p tessera-server --bench signin`. Figures: docs/benchmarks/server.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failed run

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use tessera_core::SystemClock;
use tessera_server::testing::{sqlite_config_in, InProcess};

struct Browser {
    client: reqwest::Client,
    url: String,
    cookie: Option<String>,
}

impl Browser {
    async fn post(&mut self, path: &str, body: Value) -> Value {
        let mut rb = self.client.post(format!("{}{path}", self.url)).json(&body);
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        if let Some(set) = r.headers().get("set-cookie") {
            self.cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let mut rb = self.client.get(format!("{}{path}", self.url));
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }
}

fn flows(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config_in(dir.path());
    config.listen = "127.0.0.1:0".into();
    let server = rt
        .block_on(InProcess::start(config, Arc::new(SystemClock)))
        .unwrap();
    let admin = server.first_admin.clone().unwrap();
    let client = reqwest::Client::new();
    rt.block_on(async {
        let r = client
            .post(format!("{}/api/v2/users", server.url))
            .bearer_auth(&admin)
            .json(&json!({"username": "bench", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });
    let mut b = Browser {
        client,
        url: server.url.clone(),
        cookie: None,
    };
    let mut group = c.benchmark_group("signin");
    group.bench_function("start a flow and identify the user", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let f = b.post("/signin/api/flows", json!({})).await;
                let id = f["flow_id"].as_str().unwrap().to_owned();
                let v = b
                    .post(
                        &format!("/signin/api/flows/{id}/identifier"),
                        json!({"identifier": "bench"}),
                    )
                    .await;
                assert_eq!(v["method"], "password");
            })
        })
    });
    let id = rt.block_on(async {
        let f = b.post("/signin/api/flows", json!({})).await;
        f["flow_id"].as_str().unwrap().to_owned()
    });
    group.bench_function("read a flow's view", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let v = b.get(&format!("/signin/api/flows/{id}")).await;
                assert_eq!(v["step"], "identifier");
            })
        })
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, flows);
criterion_main!(benches);
