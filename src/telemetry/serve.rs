//! The health and metrics endpoints of a daemon: `GET /metrics`, `/livez`, `/readyz`, served
//! by axum on a thread of their own, so a scrape never waits on the event loop and a stuck
//! loop still answers (`/livez` then says so).

use super::Format;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// `/livez` fails once the event loop has not turned for this long.
const LIVE_WITHIN_NS: i64 = 10_000_000_000;

/// What the endpoints report, written by the event loop and read by the server thread.
#[derive(Debug)]
pub struct Health {
    /// Start-up finished: subscribed, snapshots read, reconciled, kill state read.
    started: AtomicBool,
    /// Wall time the event loop last turned.
    beat_ns: AtomicI64,
    /// Wall time the event-time watermark last advanced (0: never).
    advanced_ns: AtomicI64,
    /// The watermark itself, event time in ns.
    watermark_ns: AtomicI64,
    stale_after_ns: i64,
    /// Why the process is not ready although it runs (njord-ctl: a stage in a crash loop).
    degraded: std::sync::Mutex<Option<String>>,
}

impl Health {
    /// `stale_after_ms` 0: never stale.
    pub fn new(stale_after_ms: u64) -> Health {
        Health {
            started: AtomicBool::new(false),
            beat_ns: AtomicI64::new(0),
            advanced_ns: AtomicI64::new(0),
            watermark_ns: AtomicI64::new(i64::MIN),
            stale_after_ns: (stale_after_ms as i64).saturating_mul(1_000_000),
            degraded: std::sync::Mutex::new(None),
        }
    }

    /// Says why the process is not ready although it runs; `None` lifts it.
    pub fn set_degraded(&self, why: Option<String>) {
        *self.degraded.lock().unwrap_or_else(|e| e.into_inner()) = why;
    }

    pub fn set_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    /// The event loop turned at `now_ns`.
    pub fn beat(&self, now_ns: i64) {
        self.beat_ns.store(now_ns, Ordering::Release);
    }

    /// The event-time watermark is `watermark_ns` at wall time `now_ns`.
    pub fn watermark(&self, watermark_ns: i64, now_ns: i64) {
        if watermark_ns > self.watermark_ns.load(Ordering::Acquire) {
            self.watermark_ns.store(watermark_ns, Ordering::Release);
            self.advanced_ns.store(now_ns, Ordering::Release);
        }
    }

    /// Wall time the watermark last advanced, 0 before any event.
    fn advanced_ns(&self) -> i64 {
        self.advanced_ns.load(Ordering::Acquire)
    }

    /// `Err` says why the loop counts as dead.
    pub fn live(&self, now_ns: i64) -> Result<(), String> {
        let beat = self.beat_ns.load(Ordering::Acquire);
        if beat == 0 {
            return Err("the event loop has not started".into());
        }
        let quiet = now_ns - beat;
        if quiet > LIVE_WITHIN_NS {
            return Err(format!(
                "the event loop has not turned for {:.1} s",
                quiet as f64 / 1e9
            ));
        }
        Ok(())
    }

    /// `Err` says why the process is not ready for traffic.
    pub fn ready(&self, now_ns: i64) -> Result<(), String> {
        if !self.started.load(Ordering::Acquire) {
            return Err("start-up has not finished".into());
        }
        self.live(now_ns)?;
        if let Some(why) = &*self.degraded.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(why.clone());
        }
        if self.stale_after_ns == 0 {
            return Ok(());
        }
        let advanced = self.advanced_ns();
        if advanced == 0 {
            return Err("no event yet: the event-time watermark has not advanced".into());
        }
        let quiet = now_ns - advanced;
        if quiet > self.stale_after_ns {
            return Err(format!(
                "stale: the event-time watermark has not advanced for {:.1} s (telemetry.stale_after_ms {})",
                quiet as f64 / 1e9,
                self.stale_after_ns / 1_000_000
            ));
        }
        Ok(())
    }
}

/// Where to serve: `HOST:PORT`, a bare `PORT` (on 127.0.0.1), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    Off,
    At(SocketAddr),
}

impl MetricsAddr {
    pub fn parse(s: &str) -> Result<MetricsAddr, String> {
        if s == "off" {
            return Ok(MetricsAddr::Off);
        }
        if let Ok(port) = s.parse::<u16>() {
            return Ok(MetricsAddr::At(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
            )));
        }
        s.parse().map(MetricsAddr::At).map_err(|_| {
            format!("`{s}` is not a metrics address: use HOST:PORT (127.0.0.1:9464, [::1]:9464), a port, or off")
        })
    }
}

/// Why the endpoints could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A configuration mistake (exit 2).
    #[error(
        "the metrics address {0} is not loopback: set api_keys.metrics.token in the secrets file, or serve on 127.0.0.1"
    )]
    NeedsToken(SocketAddr),
    /// The socket or thread could not be had (a taken port): a runtime failure.
    #[error("{0}")]
    Start(String),
}

#[derive(Clone)]
struct Shared {
    health: Arc<Health>,
    token: Option<Arc<str>>,
}

/// Serves the endpoints on `addr`. An address off loopback needs `token`, which every request
/// must then send as `Authorization: Bearer TOKEN` (a configured token is required on loopback
/// too). The socket is bound before this returns, so a taken port is an error here; the
/// endpoints live as long as the process. Returns the bound address (port 0 picks one).
pub fn serve(
    addr: SocketAddr,
    token: Option<&str>,
    health: Arc<Health>,
) -> Result<SocketAddr, ServeError> {
    let token = token.filter(|t| !t.is_empty());
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(ServeError::NeedsToken(addr));
    }
    let start = |what: &str, e: std::io::Error| ServeError::Start(format!("{what}: {e}"));
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| start(&format!("cannot serve metrics on {addr}"), e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| start("metrics socket", e))?;
    let shared = Shared {
        health,
        token: token.map(Arc::from),
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(shared);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| start("metrics runtime", e))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = axum::serve(l, app).await {
                            tracing::error!("metrics endpoint stopped: {e}");
                        }
                    }
                    Err(e) => tracing::error!("metrics endpoint: {e}"),
                }
            })
        })
        .map_err(|e| start("metrics thread", e))?;
    tracing::info!(addr = %bound, "metrics on http://{bound}/metrics (/livez, /readyz)");
    Ok(bound)
}

/// `None` when the request may proceed, else the refusal. The scheme is case-insensitive
/// (RFC 9110); an empty configured token counts as none.
fn refused(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let want = shared.token.as_deref()?;
    match bearer_of(headers) {
        Some(g) if same_token(g, want) => None,
        _ => Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response(),
        ),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (the scheme case-insensitive).
pub fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
}

/// Compares two tokens in constant time, their SHA-256 digests rather than the tokens, so
/// neither where they differ nor how long the expected one is shows in response times.
pub fn same_token(given: &str, want: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(want.as_bytes()))
        .into()
}

async fn metrics(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&shared, &headers) {
        return r;
    }
    let format = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map_or(Format::Prometheus, Format::from_accept);
    let body = super::encode(format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

fn verdict(r: Result<(), String>) -> Response {
    match r {
        Ok(()) => (StatusCode::OK, "ok\n".to_string()).into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn livez(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&shared, &headers) {
        return r;
    }
    verdict(shared.health.live(crate::stage::wall_clock_ns()))
}

async fn readyz(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&shared, &headers) {
        return r;
    }
    verdict(shared.health.ready(crate::stage::wall_clock_ns()))
}
