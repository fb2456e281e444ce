//! The simulator's own metrics, beside the process metrics every Njord daemon serves: the
//! requests it answered, the trades it played and the WebSocket connections it holds.

use njord::telemetry::{Health, register};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    code: String,
}

struct Metrics {
    requests: Family<RequestLabels, Counter>,
    played: Counter,
    connections: Gauge,
    health: OnceLock<Arc<Health>>,
}

fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics {
        requests: Family::default(),
        played: Counter::default(),
        connections: Gauge::default(),
        health: OnceLock::new(),
    })
}

/// Exposes the simulator's metrics; `health` learns the played trades' time as the watermark.
pub fn register_all(health: Option<Arc<Health>>) {
    let m = metrics();
    register(
        "njord_sim_requests",
        "REST requests answered, by endpoint (method and path; other for unknown paths) and HTTP status",
        None,
        m.requests.clone(),
    );
    register(
        "njord_sim_trades_played",
        "Tape trades played to the market",
        None,
        m.played.clone(),
    );
    register(
        "njord_sim_ws_connections",
        "WebSocket connections open (market data and user streams)",
        None,
        m.connections.clone(),
    );
    if let Some(h) = health {
        let _ = m.health.set(h);
    }
}

/// A REST answer; `known`: the path is one the venue has (else counted as `other`, so a
/// scanner cannot grow the series).
pub fn request(method: &str, path: &str, known: bool, status: u16) {
    let endpoint = if known {
        format!("{method} {path}")
    } else {
        "other".to_string()
    };
    metrics()
        .requests
        .get_or_create(&RequestLabels {
            endpoint,
            code: status.to_string(),
        })
        .inc();
}

/// `n` trades played at venue time `now_ms`.
pub fn played(n: usize, now_ms: i64) {
    let m = metrics();
    m.played.inc_by(n as u64);
    if let Some(h) = m.health.get() {
        h.watermark(
            now_ms.saturating_mul(1_000_000),
            njord::stage::wall_clock_ns(),
        );
    }
}

pub fn connection_opened() {
    metrics().connections.inc();
}

pub fn connection_closed() {
    metrics().connections.dec();
}
