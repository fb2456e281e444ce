//! Telemetry, a shell concern: Prometheus metrics (`docs/metrics.md` lists every one), the
//! `/metrics`, `/livez` and `/readyz` endpoints of daemons, and the textfile-collector file of
//! stdio runs.
//!
//! One registry per process, from the `prometheus-client` crate. Families register the first
//! time a part of the process needs them, so a binary exposes only what it can move (the
//! catalogue test holds each binary to its list). Hot paths never touch the registry: the
//! stage runner counts into plain integers ([`Observer`]) and adds them to the shared atomics
//! once per batch; a counter handle resolved once is one relaxed atomic add.
//!
//! Labels come from a closed set (binary, version, symbol, strategy, reason, code, kind, side,
//! liquidity, source, stream, topic, endpoint, channel, state, allowed): never ids or prices.

mod observe;
mod process;
pub mod scrape;
mod serve;
mod textfile;
mod venue;

pub use observe::Observer;
pub use serve::{Health, MetricsAddr, ServeError, bearer_of, same_token, serve};
pub use textfile::Textfile;
pub use venue::{HttpMetrics, SessionMetrics, WsMetrics, http, session, ws};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets_range};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock};

/// A gauge holding a float (PnL, ages, lags).
pub type FloatGauge = Gauge<f64, AtomicU64>;

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    let mut r = Registry::default();
    r.register_collector(Box::new(process::Process));
    Mutex::new(r)
});

/// Work done right before each encoding, with the wall clock in ns: gauges that are ages.
type Refresh = Box<dyn Fn(i64) + Send>;
static REFRESH: Mutex<Vec<Refresh>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Registry> {
    // A panic elsewhere while holding the lock leaves the registry usable: it only grows.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers `metric` as `name` (the exposed name gains the unit and, for a counter, `_total`).
pub fn register(name: &str, help: &str, unit: Option<Unit>, metric: impl Metric) {
    match unit {
        Some(u) => registry().register_with_unit(name, help, u, metric),
        None => registry().register(name, help, metric),
    }
}

fn on_refresh(f: impl Fn(i64) + Send + 'static) {
    REFRESH
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(f));
}

/// The buckets of every latency histogram: 20 bounds from 25 µs to 10 s, about ×2 apart.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets_range(25e-6, 10.0, 20)
}

/// A latency histogram in seconds, on [`latency_buckets`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// The exposition formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: the default, and the textfile collector's format.
    Prometheus,
    /// OpenMetrics 1.0 text, when the `Accept` header asks for `application/openmetrics-text`.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn from_accept(accept: &str) -> Format {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every registered metric in `format`, ages refreshed to `now_ns` first.
fn encode_at(format: Format, now_ns: i64) -> String {
    for f in REFRESH.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        f(now_ns);
    }
    let r = registry();
    let mut out = String::with_capacity(64 * 1024);
    // Writing into a String cannot fail.
    let _ = match format {
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut out, &r),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &r),
    };
    out
}

/// [`encode_at`] the wall clock's now.
pub fn encode(format: Format) -> String {
    encode_at(format, crate::stage::wall_clock_ns())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    binary: &'static str,
    version: &'static str,
}

/// Starts the process's telemetry as `binary`: `njord_build_info` and the process metrics.
/// Called once per process; later calls change nothing.
pub fn init(binary: &'static str) {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        register(
            "njord_build",
            "Which binary and version this process runs (always 1)",
            None,
            Info::new(BuildLabels {
                binary,
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
    });
}

/// `njord_live` and `njord_ready`: what `/livez` and `/readyz` would answer, at each scrape,
/// so rules can alert on a process that is alive but not processing.
pub fn health_gauges(health: std::sync::Arc<Health>) {
    let (live, ready) = (Gauge::<i64>::default(), Gauge::<i64>::default());
    register(
        "njord_live",
        "1 while the event loop turns (what /livez answers), else 0",
        None,
        live.clone(),
    );
    register(
        "njord_ready",
        "1 when start-up has finished and the event-time watermark is fresh (what /readyz answers), else 0",
        None,
        ready.clone(),
    );
    on_refresh(move |now| {
        live.set(i64::from(health.live(now).is_ok()));
        ready.set(i64::from(health.ready(now).is_ok()));
    });
}

/// The risk engine's caps in force, so rules can compare PnL with them.
pub fn risk_caps(caps: &crate::risk::Caps) {
    static M: OnceLock<(FloatGauge, FloatGauge)> = OnceLock::new();
    let (daily, per_order) = M.get_or_init(|| {
        let m = (FloatGauge::default(), FloatGauge::default());
        register(
            "njord_risk_daily_loss_cap",
            "Trading halts for the UTC day once the day's PnL reaches minus this (risk.daily_loss_usd_cap)",
            Some(usd()),
            m.0.clone(),
        );
        register(
            "njord_risk_per_order_cap",
            "Largest notional of one order (risk.per_order_usd_cap)",
            Some(usd()),
            m.1.clone(),
        );
        m
    });
    use rust_decimal::prelude::ToPrimitive;
    daily.set(caps.daily_loss_usd_cap.to_f64().unwrap_or(0.0));
    per_order.set(caps.per_order_usd_cap.to_f64().unwrap_or(0.0));
}

/// The unit of money metrics (`_usd`).
fn usd() -> Unit {
    Unit::Other("usd".into())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

/// One label, for families with a single label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabel {
    stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TopicLabel {
    pub(crate) topic: String,
}

/// Metrics of the Redis bus: registered once a binary connects to Redis.
pub struct BusMetrics {
    pub reconnects: Counter,
    pub(crate) published: Family<TopicLabel, Counter>,
}

/// The bus metrics, registered on first use.
pub fn bus() -> &'static BusMetrics {
    static M: OnceLock<BusMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = BusMetrics {
            reconnects: Counter::default(),
            published: Family::default(),
        };
        register(
            "njord_redis_reconnects",
            "Redis connections re-established after a loss (publishing or subscribed)",
            None,
            m.reconnects.clone(),
        );
        register(
            "njord_redis_published",
            "Messages published on Redis, by topic",
            None,
            m.published.clone(),
        );
        m
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

/// njord-alert's deliveries.
pub struct AlertMetrics {
    sent: Family<ChannelLabel, Counter>,
    failed: Family<ChannelLabel, Counter>,
    folded: Family<ChannelLabel, Counter>,
    pub pending: Gauge,
}

impl AlertMetrics {
    pub fn sent(&self, channel: &str) {
        self.sent.get_or_create(&channel_label(channel)).inc();
    }

    pub fn failed(&self, channel: &str) {
        self.failed.get_or_create(&channel_label(channel)).inc();
    }

    /// `n` messages a rate limit held back went into one summary.
    pub fn folded(&self, channel: &str, n: usize) {
        self.folded
            .get_or_create(&channel_label(channel))
            .inc_by(n as u64);
    }

    /// The counters of `channel` from 0, so a rate exists before the first delivery.
    pub fn channel(&self, channel: &str) {
        for family in [&self.sent, &self.failed, &self.folded] {
            drop(family.get_or_create(&channel_label(channel)));
        }
    }
}

fn channel_label(channel: &str) -> ChannelLabel {
    ChannelLabel {
        channel: channel.to_string(),
    }
}

/// The alert metrics, registered when njord-alert starts.
pub fn alerts() -> &'static AlertMetrics {
    static M: OnceLock<AlertMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = AlertMetrics {
            sent: Family::default(),
            failed: Family::default(),
            folded: Family::default(),
            pending: Gauge::default(),
        };
        register(
            "njord_alerts_sent",
            "Alert messages a channel accepted, by channel",
            None,
            m.sent.clone(),
        );
        register(
            "njord_alerts_failed",
            "Alert deliveries that failed (each is retried), by channel",
            None,
            m.failed.clone(),
        );
        register(
            "njord_alerts_folded",
            "Alert messages a channel's rate limit held back and sent in a summary, by channel",
            None,
            m.folded.clone(),
        );
        register(
            "njord_alerts_pending",
            "Alert messages in the outbox not yet delivered",
            None,
            m.pending.clone(),
        );
        m
    })
}

/// Metrics of the journals: registered once a binary opens one.
pub struct JournalMetrics {
    pub bytes: Counter,
    pub rotations: Counter,
}

/// The journal metrics, registered on first use.
pub fn journal() -> &'static JournalMetrics {
    static M: OnceLock<JournalMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = JournalMetrics {
            bytes: Counter::default(),
            rotations: Counter::default(),
        };
        register(
            "njord_journal_written",
            "Bytes appended to the journals",
            Some(Unit::Bytes),
            m.bytes.clone(),
        );
        register(
            "njord_journal_rotations",
            "Journal files closed and renamed (size or day)",
            None,
            m.rotations.clone(),
        );
        m
    })
}

#[cfg(test)]
mod tests;
