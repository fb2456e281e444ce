//! Metrics of the venue's REST API (requests, rate limits, weight) and of the live broker's
//! session with it (clock offset, listen key, order acknowledgements).

use super::{CodeLabel, FloatGauge, StateLabel, latency_histogram, on_refresh, register};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Unit;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    code: String,
}

/// Requests to the venue's REST API, from any client.
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    limited: Family<CodeLabel, Counter>,
    used_weight: Gauge,
}

impl HttpMetrics {
    /// One response (`status`), or a request that got none (`None`), to `endpoint`
    /// (`GET /api/v3/depth`: method and path, never the query), with the weight the venue
    /// reported as used this minute.
    pub fn request(&self, endpoint: &str, status: Option<u16>, used_weight: Option<u32>) {
        let code = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_string(),
                code,
            })
            .inc();
        match status {
            Some(429) => self.limited.get_or_create(&CodeLabel { code: "429" }).inc(),
            Some(418) => self.limited.get_or_create(&CodeLabel { code: "418" }).inc(),
            _ => 0,
        };
        if let Some(w) = used_weight {
            self.used_weight.set(i64::from(w));
        }
    }
}

/// The REST metrics, registered when a venue client is made.
pub fn http() -> &'static HttpMetrics {
    static M: OnceLock<HttpMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = HttpMetrics {
            requests: Family::default(),
            limited: Family::default(),
            used_weight: Gauge::default(),
        };
        // Both codes from the start, so a rate over them exists before the first one.
        for code in ["429", "418"] {
            drop(m.limited.get_or_create(&CodeLabel { code }));
        }
        register(
            "njord_http_requests",
            "Requests to the venue's REST API, by endpoint and HTTP status (error: no response)",
            None,
            m.requests.clone(),
        );
        register(
            "njord_http_rate_limited",
            "Responses 429 (rate limited) and 418 (banned), by code",
            None,
            m.limited.clone(),
        );
        register(
            "njord_binance_used_weight",
            "Request weight used this minute, as the venue last reported it (X-MBX-USED-WEIGHT-1M)",
            None,
            m.used_weight.clone(),
        );
        m
    })
}

/// The live broker's session with the venue.
pub struct SessionMetrics {
    pub weight_limit: Gauge,
    pub clock_offset: FloatGauge,
    /// Wall time (ns) the listen key was created or last kept alive; 0 for none.
    listen_key_at: Arc<AtomicI64>,
    pub ack_latency: Histogram,
}

impl SessionMetrics {
    /// The listen key was created or kept alive at `now_ns`.
    pub fn listen_key_renewed(&self, now_ns: i64) {
        self.listen_key_at.store(now_ns, Ordering::Relaxed);
    }
}

/// The session metrics, registered when the broker's signed client is made.
pub fn session() -> &'static SessionMetrics {
    static M: OnceLock<SessionMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = SessionMetrics {
            weight_limit: Gauge::default(),
            clock_offset: FloatGauge::default(),
            listen_key_at: Arc::default(),
            ack_latency: latency_histogram(),
        };
        register(
            "njord_binance_weight_limit",
            "Request weight allowed per minute (exchangeInfo's REQUEST_WEIGHT limit)",
            None,
            m.weight_limit.clone(),
        );
        register(
            "njord_clock_offset",
            "Venue time minus local time, measured halfway through a GET /api/v3/time",
            Some(Unit::Seconds),
            m.clock_offset.clone(),
        );
        let age = FloatGauge::default();
        register(
            "njord_listen_key_age",
            "Time since the user-stream listen key was created or last kept alive (0: none)",
            Some(Unit::Seconds),
            age.clone(),
        );
        let at = m.listen_key_at.clone();
        on_refresh(move |now| {
            let t = at.load(Ordering::Relaxed);
            age.set(if t == 0 { 0.0 } else { (now - t) as f64 / 1e9 });
        });
        register(
            "njord_order_ack_latency",
            "From sending a new order to the venue's answer",
            Some(Unit::Seconds),
            m.ack_latency.clone(),
        );
        m
    })
}

/// The market-data WebSocket of njord-ingest.
pub struct WsMetrics {
    pub frames: Counter,
    pub reconnects: Counter,
    gaps: Family<StateLabel, Counter>,
    pub book_resyncs: Counter,
    pub frame_latency: Histogram,
}

impl WsMetrics {
    /// `n` more trade-id gaps that REST filled (`recovered`) or could not (`unfillable`).
    pub fn gaps(&self, recovered: bool, n: u64) {
        let state = if recovered { "recovered" } else { "unfillable" };
        self.gaps.get_or_create(&StateLabel { state }).inc_by(n);
    }
}

/// The WebSocket metrics, registered when njord-ingest starts.
pub fn ws() -> &'static WsMetrics {
    static M: OnceLock<WsMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = WsMetrics {
            frames: Counter::default(),
            reconnects: Counter::default(),
            gaps: Family::default(),
            book_resyncs: Counter::default(),
            frame_latency: latency_histogram(),
        };
        m.gaps(true, 0);
        m.gaps(false, 0);
        register(
            "njord_ws_frames",
            "WebSocket frames received",
            None,
            m.frames.clone(),
        );
        register(
            "njord_ws_reconnects",
            "WebSocket connections made again after one ended",
            None,
            m.reconnects.clone(),
        );
        register(
            "njord_ws_gaps",
            "Trade-id gaps, by whether REST recovered them (recovered) or not (unfillable)",
            None,
            m.gaps.clone(),
        );
        register(
            "njord_ws_book_resyncs",
            "Order books rebuilt from a snapshot after a depth-update gap",
            None,
            m.book_resyncs.clone(),
        );
        register(
            "njord_frame_latency",
            "From a frame's receipt to its event leaving the process (stdout written or published)",
            Some(Unit::Seconds),
            m.frame_latency.clone(),
        );
        m
    })
}
