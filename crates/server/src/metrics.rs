//! Prometheus metrics, served at `GET /metrics` in the text exposition format (OpenMetrics).
//!
//! Counted here: HTTP requests by method, route template and status, with their latency; the
//! latency of code validations (TOTP, recovery codes) from the request to the durable outcome.
//! Read from the stores when scraped: push challenges pending, the schema version, the
//! database's read connections and queued writes. Labels come from the route *template*
//! (`/api/v2/users/{id}`), never from the request path, so ids and secrets never become labels
//! and the number of series stays bounded.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::{Error, Result};
use crate::AppState;

/// An HTTP method as a label (anything unusual is `OTHER`, so clients cannot add series).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(
    clippy::upper_case_acronyms,
    reason = "label values as HTTP spells methods"
)]
enum Method {
    GET,
    POST,
    PUT,
    PATCH,
    DELETE,
    HEAD,
    OPTIONS,
    OTHER,
}

impl From<&axum::http::Method> for Method {
    fn from(m: &axum::http::Method) -> Self {
        match *m {
            axum::http::Method::GET => Method::GET,
            axum::http::Method::POST => Method::POST,
            axum::http::Method::PUT => Method::PUT,
            axum::http::Method::PATCH => Method::PATCH,
            axum::http::Method::DELETE => Method::DELETE,
            axum::http::Method::HEAD => Method::HEAD,
            axum::http::Method::OPTIONS => Method::OPTIONS,
            _ => Method::OTHER,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: Method,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: Method,
    route: String,
}

/// Which code a validation checked.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Validated {
    /// A TOTP code.
    Otp,
    /// A recovery code.
    RecoveryCode,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FactorLabels {
    factor: Validated,
}

/// The server's metrics; one per [`AppState`].
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    validation_seconds: Family<FactorLabels, Histogram>,
    pushes_pending: Gauge,
    schema_version: Gauge,
    db_readers_open: Gauge,
    db_readers_idle: Gauge,
    db_writes_queued: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// 100 µs to ~3.3 s, doubling: validations take a few ms durable, requests up to the
/// long-poll waits (which are observed too, in the top buckets).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            request_seconds.clone(),
        );
        let validation_seconds =
            Family::<FactorLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "validation_duration_seconds",
            "Time from a code's submission to its durable outcome (lockout, one-time use, audit)",
            validation_seconds.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let pushes_pending = gauge(
            &mut registry,
            "push_challenges_pending",
            "Push challenges waiting for a device's answer and not yet expired",
        );
        let schema_version = gauge(
            &mut registry,
            "db_schema_version",
            "Schema version of the database",
        );
        let db_readers_open = gauge(
            &mut registry,
            "db_readers_open",
            "Read connections open (the pool's size in use)",
        );
        let db_readers_idle = gauge(
            &mut registry,
            "db_readers_idle",
            "Read connections open and idle",
        );
        let db_writes_queued = gauge(
            &mut registry,
            "db_writes_queued",
            "Write transactions submitted and not yet committed",
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            validation_seconds,
            pushes_pending,
            schema_version,
            db_readers_open,
            db_readers_idle,
            db_writes_queued,
        }
    }
}

impl Metrics {
    /// Records one validation's latency.
    pub fn observe_validation(&self, factor: Validated, took: Duration) {
        self.validation_seconds
            .get_or_create(&FactorLabels { factor })
            .observe(took.as_secs_f64());
    }

    fn observe_request(&self, method: Method, route: String, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
    }
}

/// Counts every request by its route template (`unmatched` for paths no route has).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = Method::from(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    state
        .metrics()
        .observe_request(method, route, resp.status().as_u16(), started.elapsed());
    resp
}

/// The exposition text: the counters, and the gauges read from the stores now.
pub async fn render(state: &AppState) -> Result<String> {
    let status = state.db(|s| s.status()).await?;
    let pending = state.pending_push_count().await?;
    let m = state.metrics();
    m.schema_version.set(i64::from(status.schema_version));
    m.db_readers_open.set(i64::from(status.readers_open));
    m.db_readers_idle.set(i64::from(status.readers_idle));
    m.db_writes_queued
        .set(i64::try_from(status.writes_queued).unwrap_or(i64::MAX));
    m.pushes_pending
        .set(i64::try_from(pending).unwrap_or(i64::MAX));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &m.registry)
        .map_err(|e| Error::Internal(format!("metrics encoding: {e}")))?;
    Ok(out)
}

/// Shared handle (cheap to clone into the state).
pub type SharedMetrics = Arc<Metrics>;
