//! The signed REST client of Binance.US: one logical request with its retries, rate limits
//! (weight slowdown, 429, 418 bans) and server time; the venue's calls are built on
//! [`RestClient::request`] in their own modules.
//!
//! The decisions are pure (in [`super::retry`]); this is the shell that sends and sleeps.

use super::errors;
use super::filters::{self, ExchangeInfo, SymbolFilters};
use super::retry::{Class, classify, parse_retry_after, weight_wait};
use super::sign::{self, Signer};
use super::wire::{int, text};
use crate::backoff::RetryPolicy;
use crate::broker::BrokerError;
use crate::event::compact_symbol;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    /// `X-MBX-APIKEY` only (listen keys).
    Key,
    /// Key plus `timestamp`, `recvWindow` and `signature`.
    Signed,
}

/// Settings of the REST client.
#[derive(Debug, Clone)]
pub struct RestSettings {
    pub base_url: String,
    pub recv_window_ms: u64,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub weight_slowdown_pct: u32,
    /// Njord symbols (`ATOM/USDT`) traded, to name venue symbols back.
    pub symbols: Vec<String>,
}

impl RestSettings {
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        let b = &cfg.broker;
        RestSettings {
            base_url: cfg.exchange.rest_url.trim_end_matches('/').to_string(),
            recv_window_ms: b.recv_window_ms.min(60_000),
            retry: b.retry(),
            timeout: Duration::from_millis(b.request_timeout_ms.max(1)),
            weight_slowdown_pct: b.weight_slowdown_pct,
            symbols: cfg.exchange.symbols.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Server time minus local time, ms.
    offset_ms: i64,
    banned_until: Option<Instant>,
    used_weight: u32,
    /// Server time when `used_weight` was reported, ms.
    weight_at_ms: i64,
    weight_limit: u32,
    info: ExchangeInfo,
}

/// The Binance.US REST client. Cheap to clone; clones share time offset, ban and weight.
#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    pub(super) settings: Arc<RestSettings>,
    signer: Option<Signer>,
    state: Arc<Mutex<State>>,
    pairs: Arc<HashMap<String, String>>,
    /// Never place or cancel (`broker.read_only`).
    pub(super) read_only: bool,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base_url", &self.settings.base_url)
            .field("signer", &self.signer)
            .finish()
    }
}

fn now_ms() -> i64 {
    crate::stage::wall_clock_ns() / 1_000_000
}

/// Request weight per minute until exchangeInfo says otherwise (Binance.US's published limit).
const DEFAULT_WEIGHT_LIMIT: u32 = 1200;

impl RestClient {
    pub fn new(
        settings: RestSettings,
        keys: Option<(&str, &str)>,
        read_only: bool,
    ) -> Result<Self, BrokerError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| BrokerError::Transport {
                endpoint: settings.base_url.clone(),
                msg: crate::venue::request_error(e),
            })?;
        let pairs = settings
            .symbols
            .iter()
            .map(|p| (compact_symbol(p), p.clone()))
            .collect();
        crate::telemetry::http();
        crate::telemetry::session()
            .weight_limit
            .set(i64::from(DEFAULT_WEIGHT_LIMIT));
        Ok(RestClient {
            http,
            signer: keys.map(|(k, s)| Signer::new(k, s)),
            state: Arc::new(Mutex::new(State {
                weight_limit: DEFAULT_WEIGHT_LIMIT,
                ..Default::default()
            })),
            settings: Arc::new(settings),
            pairs: Arc::new(pairs),
            read_only,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Njord's name of a venue symbol.
    pub fn pair_of(&self, venue_symbol: &str) -> String {
        self.pairs
            .get(venue_symbol)
            .cloned()
            .unwrap_or_else(|| venue_symbol.to_string())
    }

    /// The venue's time now, by the measured offset.
    pub fn server_now_ms(&self) -> i64 {
        now_ms() + self.lock().offset_ms
    }

    pub fn offset_ms(&self) -> i64 {
        self.lock().offset_ms
    }

    /// Measures the server time offset (`GET /api/v3/time`, halfway through the round trip).
    pub async fn sync_time(&self) -> Result<i64, BrokerError> {
        let t0 = now_ms();
        let v = self
            .request(reqwest::Method::GET, "/api/v3/time", &[], Auth::None, true)
            .await?;
        let t1 = now_ms();
        let server = int(&v, "serverTime");
        if server == 0 {
            return Err(BrokerError::Protocol {
                endpoint: "GET /api/v3/time".into(),
                msg: "no serverTime".into(),
            });
        }
        let offset = server - (t0 + t1) / 2;
        self.lock().offset_ms = offset;
        crate::telemetry::session()
            .clock_offset
            .set(offset as f64 / 1e3);
        tracing::info!(offset_ms = offset, "server time offset measured");
        let measured = crate::audit::fields(serde_json::json!({
            "venue_offset_ms": offset,
            "round_trip_ms": t1 - t0,
        }));
        if let Err(e) = crate::audit::record(t1.saturating_mul(1_000_000), "clock_offset", measured)
        {
            tracing::warn!("the clock offset is not in the audit trail: {e}");
        }
        Ok(offset)
    }

    /// Loads symbol filters and the weight limit (`GET /api/v3/exchangeInfo`).
    pub async fn load_exchange_info(&self) -> Result<(), BrokerError> {
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/exchangeInfo",
                &[],
                Auth::None,
                true,
            )
            .await?;
        let info = filters::parse_exchange_info(&v);
        let mut st = self.lock();
        if let Some(l) = info.weight_per_min {
            st.weight_limit = l;
            crate::telemetry::session().weight_limit.set(i64::from(l));
        }
        st.info = info;
        Ok(())
    }

    pub fn filters_of(&self, symbol: &str) -> Option<SymbolFilters> {
        self.lock()
            .info
            .symbols
            .get(&compact_symbol(symbol))
            .cloned()
    }

    /// The last request weight the venue reported.
    pub fn used_weight(&self) -> u32 {
        self.lock().used_weight
    }

    /// How long requests must be held now: a ban (418) until it ends, or near the weight
    /// limit the rest of the minute.
    fn gate_wait(&self) -> Option<Duration> {
        let st = self.lock();
        let ban = st
            .banned_until
            .and_then(|t| t.checked_duration_since(Instant::now()));
        ban.or_else(|| {
            weight_wait(
                st.used_weight,
                st.weight_at_ms,
                st.weight_limit,
                self.settings.weight_slowdown_pct,
                now_ms() + st.offset_ms,
            )
        })
        .filter(|d| !d.is_zero())
    }

    /// Waits out a ban (418) and, near the weight limit, the rest of the minute.
    async fn gate(&self) {
        while let Some(d) = self.gate_wait() {
            tracing::warn!(
                wait_ms = d.as_millis() as u64,
                "holding requests (ban or weight limit)"
            );
            tokio::time::sleep(d).await;
            // After waiting into a new window the count the venue reported is stale.
            let mut st = self.lock();
            st.used_weight = 0;
            if st.banned_until.is_some_and(|t| t <= Instant::now()) {
                st.banned_until = None;
            }
        }
    }

    /// Sends one logical request with retries. `retry_unknown`: whether a lost answer or a
    /// 5xx may be retried blindly. False for new orders: the caller looks the order up, and
    /// every wait (ban, weight, 429, refused connection) comes back as
    /// [`BrokerError::Throttled`] instead of being slept here, so the caller reads the kill
    /// switch during the wait and again before the resend.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, &str)],
        auth: Auth,
        retry_unknown: bool,
    ) -> Result<Value, BrokerError> {
        let endpoint = format!("{method} {path}");
        let policy = self.settings.retry;
        let mut attempt = 0u32;
        let mut resynced = false;
        loop {
            attempt += 1;
            if retry_unknown {
                self.gate().await;
            } else if let Some(wait) = self.gate_wait() {
                return Err(BrokerError::Throttled { endpoint, wait });
            }
            let query = match auth {
                Auth::Signed => {
                    let signer = self.signer.as_ref().ok_or(BrokerError::NoKeys)?;
                    sign::signed_query(
                        signer,
                        params,
                        self.settings.recv_window_ms,
                        self.server_now_ms(),
                    )
                }
                _ => {
                    let mut q = String::new();
                    for (k, v) in params {
                        sign::push_param(&mut q, k, v);
                    }
                    q
                }
            };
            let url = if query.is_empty() {
                format!("{}{path}", self.settings.base_url)
            } else {
                format!("{}{path}?{query}", self.settings.base_url)
            };
            let mut rb = self.http.request(method.clone(), &url);
            if auth != Auth::None {
                let signer = self.signer.as_ref().ok_or(BrokerError::NoKeys)?;
                rb = rb.header("X-MBX-APIKEY", signer.api_key());
            }
            let started = std::time::Instant::now();
            let sent = match rb.send().await {
                Ok(r) => {
                    if method == reqwest::Method::POST && path == "/api/v3/order" {
                        // Every answer, accepted or rejected; each attempt on its own.
                        crate::telemetry::session()
                            .ack_latency
                            .observe(started.elapsed().as_secs_f64());
                    }
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    r.text().await.map(|b| (status, headers, b))
                }
                Err(e) => Err(e),
            };
            let (status, headers, body) = match sent {
                Ok(x) => x,
                Err(e) => {
                    crate::telemetry::http().request(&endpoint, None, None);
                    // A refused connection never reached the venue: always safe to retry.
                    let never_sent = e.is_connect();
                    let msg = crate::venue::request_error(e);
                    if !(retry_unknown || never_sent) {
                        return Err(BrokerError::Unknown {
                            endpoint,
                            attempts: attempt,
                            last: msg,
                        });
                    }
                    match policy.delay(attempt, None) {
                        Some(wait) if !retry_unknown => {
                            tracing::warn!(%endpoint, error = %msg, "connection refused; nothing was sent");
                            return Err(BrokerError::Throttled { endpoint, wait });
                        }
                        Some(d) => {
                            tracing::warn!(%endpoint, attempt, error = %msg, retry_in_ms = d.as_millis() as u64, "request failed; retrying");
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        None => return Err(BrokerError::Transport { endpoint, msg }),
                    }
                }
            };
            let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
            let used = header("x-mbx-used-weight-1m").and_then(|w| w.parse::<u32>().ok());
            crate::telemetry::http().request(&endpoint, Some(status), used);
            if let Some(w) = used {
                let mut st = self.lock();
                st.used_weight = w;
                st.weight_at_ms = now_ms() + st.offset_ms;
            }
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let fail = |code: i64, msg: String| BrokerError::Venue {
                endpoint: endpoint.clone(),
                status,
                code,
                msg,
            };
            match classify(status, &json) {
                Class::Ok if json.is_null() => {
                    return Err(BrokerError::Protocol {
                        endpoint,
                        msg: format!("HTTP {status} with a body that is not JSON"),
                    });
                }
                Class::Ok => return Ok(json),
                Class::Limited { ban } => {
                    let retry_after = parse_retry_after(header("retry-after"));
                    let wait = policy.delay(attempt, retry_after);
                    if ban {
                        let d = retry_after.or(wait).unwrap_or(self.settings.retry.max);
                        self.lock().banned_until = Some(Instant::now() + d);
                    }
                    match wait {
                        Some(wait) if !retry_unknown => {
                            tracing::warn!(%endpoint, status, retry_in_ms = wait.as_millis() as u64, "rate limited; not processed");
                            return Err(BrokerError::Throttled { endpoint, wait });
                        }
                        Some(d) => {
                            tracing::warn!(%endpoint, attempt, status, retry_in_ms = d.as_millis() as u64, "rate limited; waiting");
                            if !ban {
                                tokio::time::sleep(d).await;
                            }
                            continue;
                        }
                        None => return Err(fail(int(&json, "code"), text(&json, "msg"))),
                    }
                }
                Class::Unknown => {
                    let last = format!("HTTP {status}: {}", text(&json, "msg"));
                    if !retry_unknown {
                        return Err(BrokerError::Unknown {
                            endpoint,
                            attempts: attempt,
                            last,
                        });
                    }
                    match policy.delay(attempt, parse_retry_after(header("retry-after"))) {
                        Some(d) => {
                            tracing::warn!(%endpoint, attempt, status, retry_in_ms = d.as_millis() as u64, "server error; retrying");
                            tokio::time::sleep(d).await;
                        }
                        None => return Err(fail(int(&json, "code"), text(&json, "msg"))),
                    }
                }
                Class::ClockSkew if !resynced && auth == Auth::Signed => {
                    tracing::warn!(%endpoint, msg = %text(&json, "msg"), "clock skew; re-measuring server time");
                    resynced = true;
                    attempt -= 1;
                    Box::pin(self.sync_time()).await?;
                }
                Class::ClockSkew => {
                    return Err(fail(errors::INVALID_TIMESTAMP, text(&json, "msg")));
                }
                Class::Rejected { code, msg } => return Err(fail(code, msg)),
            }
        }
    }
}
