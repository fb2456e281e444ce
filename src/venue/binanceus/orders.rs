//! Binance.US signed REST: orders, queries, account, listen keys; retries, rate limits,
//! server time, and the idempotent placement the broker relies on (DESIGN §9.4).
//!
//! The decisions are pure ([`RetryPolicy`], [`weight_wait`], [`parse_retry_after`],
//! [`classify`]); [`RestClient`] is the shell that sends requests and sleeps.

use super::filters::{self, ExchangeInfo, SymbolFilters};
use super::sign::{self, Signer};
use crate::broker::order_state::OrderStatus;
use crate::broker::reconcile::VenueFill;
use crate::broker::{
    AssetBalance, BalanceSnapshot, Broker, BrokerError, BrokerOrderAck, BrokerOrderReq,
    BrokerOrderUpdate,
};
use crate::event::{OrderType, Side, compact_symbol};
use crate::num::{parse_decimal, to_plain_string};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The only -2010 message that means "this client order id is live already".
pub const DUPLICATE_ORDER_MSG: &str = "Duplicate order sent.";

/// How many times and how long to wait between tries (pure).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), or `None` when out of
    /// attempts. A `Retry-After` from the venue wins over `base × 2^(attempt−1)` (capped).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        Some(retry_after.unwrap_or_else(|| {
            let factor = 1u32
                .checked_shl(attempt.saturating_sub(1).min(31))
                .unwrap_or(u32::MAX);
            self.base.saturating_mul(factor).min(self.max)
        }))
    }
}

/// `Retry-After` in seconds (Binance never sends the HTTP-date form).
pub fn parse_retry_after(v: Option<&str>) -> Option<Duration> {
    v?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// How long to hold requests so the used weight stays under `pct`% of the limit: until the
/// next minute window (Binance's windows start on the minute) once the threshold is reached.
/// `used` was reported at `reported_ms`; a count from an earlier window no longer applies.
pub fn weight_wait(
    used: u32,
    reported_ms: i64,
    limit: u32,
    pct: u32,
    server_ms: i64,
) -> Option<Duration> {
    if reported_ms.div_euclid(60_000) != server_ms.div_euclid(60_000)
        || limit == 0
        || u64::from(used) * 100 < u64::from(limit) * u64::from(pct.min(100))
    {
        return None;
    }
    let into = server_ms.rem_euclid(60_000);
    Some(Duration::from_millis((60_000 - into) as u64 + 50))
}

/// What one HTTP exchange amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    Ok,
    /// 429 or 418: not processed; wait and retry. `ban` for 418.
    Limited {
        ban: bool,
    },
    /// 5xx: the request may or may not have been executed.
    Unknown,
    /// `-1021`: our clock is off; re-measure and retry once.
    ClockSkew,
    /// Any other answer: final.
    Rejected {
        code: i64,
        msg: String,
    },
}

/// Classifies a response by status and Binance error body.
pub fn classify(status: u16, body: &Value) -> Class {
    let code = body.get("code").and_then(Value::as_i64).unwrap_or(0);
    let msg = body
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match status {
        200..=299 => Class::Ok,
        429 => Class::Limited { ban: false },
        418 => Class::Limited { ban: true },
        500..=599 => Class::Unknown,
        _ if code == -1021 => Class::ClockSkew,
        _ => Class::Rejected { code, msg },
    }
}

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
            retry: RetryPolicy {
                max_attempts: b.max_attempts.max(1),
                base: Duration::from_millis(b.retry_base_ms),
                max: Duration::from_millis(b.retry_max_ms),
            },
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
    settings: Arc<RestSettings>,
    signer: Option<Signer>,
    state: Arc<Mutex<State>>,
    pairs: Arc<HashMap<String, String>>,
    read_only: bool,
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

fn dec(v: &Value, k: &str) -> Decimal {
    match v.get(k) {
        Some(Value::String(s)) => parse_decimal(s).unwrap_or_default(),
        Some(Value::Number(n)) => parse_decimal(&n.to_string()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn int(v: &Value, k: &str) -> i64 {
    match v.get(k) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn side_of(s: &str) -> Side {
    if s == "SELL" { Side::Sell } else { Side::Buy }
}

fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

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
                msg: e.without_url().to_string(),
            })?;
        let pairs = settings
            .symbols
            .iter()
            .map(|p| (compact_symbol(p), p.clone()))
            .collect();
        Ok(RestClient {
            http,
            signer: keys.map(|(k, s)| Signer::new(k, s)),
            state: Arc::new(Mutex::new(State {
                weight_limit: 1200,
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
        tracing::info!(offset_ms = offset, "server time offset measured");
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

    /// Waits out a ban (418) and, near the weight limit, the rest of the minute.
    async fn gate(&self) {
        loop {
            let wait = {
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
            };
            match wait {
                Some(d) if !d.is_zero() => {
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
                _ => return,
            }
        }
    }

    /// Sends one logical request with retries. `retry_unknown`: whether a lost answer or a
    /// 5xx may be retried blindly (false for new orders: the caller looks the order up).
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
            self.gate().await;
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
            let sent = match rb.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    r.text().await.map(|b| (status, headers, b))
                }
                Err(e) => Err(e),
            };
            let (status, headers, body) = match sent {
                Ok(x) => x,
                Err(e) => {
                    // A refused connection never reached the venue: always safe to retry.
                    let never_sent = e.is_connect();
                    let msg = e.without_url().to_string();
                    if !(retry_unknown || never_sent) {
                        return Err(BrokerError::Unknown {
                            endpoint,
                            attempts: attempt,
                            last: msg,
                        });
                    }
                    match policy.delay(attempt, None) {
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
            if let Some(w) = header("x-mbx-used-weight-1m").and_then(|w| w.parse::<u32>().ok()) {
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
                Class::ClockSkew => return Err(fail(-1021, text(&json, "msg"))),
                Class::Rejected { code, msg } => return Err(fail(code, msg)),
            }
        }
    }

    /// Applies the symbol's filters; the request comes back with rounded numbers.
    pub fn prepare(
        &self,
        req: &BrokerOrderReq,
        market_price: Option<Decimal>,
    ) -> Result<BrokerOrderReq, BrokerError> {
        let f = self
            .filters_of(&req.symbol)
            .ok_or_else(|| BrokerError::Filter {
                client_order_id: req.client_order_id.clone(),
                reason: format!(
                    "symbol {} is not listed by the venue's exchangeInfo",
                    req.symbol
                ),
            })?;
        let p = f
            .prepare(
                req.side,
                req.order_type,
                req.qty,
                req.limit_price,
                market_price,
            )
            .map_err(|reason| BrokerError::Filter {
                client_order_id: req.client_order_id.clone(),
                reason,
            })?;
        Ok(BrokerOrderReq {
            qty: p.qty,
            limit_price: p.price,
            ..req.clone()
        })
    }

    /// The parameters of a new order, in the order they are signed.
    pub fn order_params(req: &BrokerOrderReq) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("symbol", compact_symbol(&req.symbol)),
            (
                "side",
                match req.side {
                    Side::Buy => "BUY",
                    Side::Sell => "SELL",
                }
                .to_string(),
            ),
            (
                "type",
                match req.order_type {
                    OrderType::Market => "MARKET",
                    OrderType::Limit => "LIMIT",
                }
                .to_string(),
            ),
        ];
        if req.order_type == OrderType::Limit {
            p.push(("timeInForce", "GTC".into()));
        }
        p.push(("quantity", to_plain_string(&req.qty)));
        if let (OrderType::Limit, Some(px)) = (req.order_type, req.limit_price) {
            p.push(("price", to_plain_string(&px)));
        }
        p.push(("newClientOrderId", req.client_order_id.clone()));
        p.push(("newOrderRespType", "RESULT".into()));
        p
    }

    /// `POST /api/v3/order/test`: the venue validates the order without placing it.
    pub async fn test_order(&self, req: &BrokerOrderReq) -> Result<(), BrokerError> {
        let p = Self::order_params(req);
        let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.request(
            reqwest::Method::POST,
            "/api/v3/order/test",
            &params,
            Auth::Signed,
            true,
        )
        .await
        .map(|_| ())
    }

    /// The last price of a symbol (`GET /api/v3/ticker/price`).
    pub async fn ticker_price(&self, symbol: &str) -> Result<Decimal, BrokerError> {
        let s = compact_symbol(symbol);
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/ticker/price",
                &[("symbol", &s)],
                Auth::None,
                true,
            )
            .await?;
        let p = dec(&v, "price");
        if p > Decimal::ZERO {
            Ok(p)
        } else {
            Err(BrokerError::Protocol {
                endpoint: "GET /api/v3/ticker/price".into(),
                msg: format!("no price for {s}"),
            })
        }
    }

    /// An order JSON (`order`, `openOrders`, a new order's RESULT) as an update.
    pub fn parse_order(&self, v: &Value) -> Option<BrokerOrderUpdate> {
        let status = OrderStatus::from_venue(v.get("status")?.as_str()?)?;
        let ts = [int(v, "updateTime"), int(v, "transactTime"), int(v, "time")]
            .into_iter()
            .max()
            .unwrap_or(0);
        Some(BrokerOrderUpdate {
            symbol: self.pair_of(v.get("symbol")?.as_str()?),
            exchange_order_id: text(v, "orderId"),
            client_order_id: text(v, "clientOrderId"),
            side: side_of(&text(v, "side")),
            status,
            orig_qty: dec(v, "origQty"),
            filled_qty: dec(v, "executedQty"),
            cum_quote: dec(v, "cummulativeQuoteQty"),
            ts_ns: ms_to_ns(ts),
        })
    }

    /// Recent trades of the account on a symbol with ids from `from_id` (`GET myTrades`).
    pub async fn my_trades(
        &self,
        symbol: &str,
        from_id: Option<u64>,
    ) -> Result<Vec<VenueFill>, BrokerError> {
        let s = compact_symbol(symbol);
        let from = from_id.map(|f| f.to_string());
        let mut params = vec![("symbol", s.as_str()), ("limit", "1000")];
        if let Some(f) = &from {
            params.push(("fromId", f));
        }
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/myTrades",
                &params,
                Auth::Signed,
                true,
            )
            .await?;
        let mut fills: Vec<VenueFill> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(VenueFill {
                    symbol: symbol.to_string(),
                    exchange_order_id: text(t, "orderId"),
                    trade_id: u64::try_from(int(t, "id")).ok()?,
                    side: if t.get("isBuyer").and_then(Value::as_bool)? {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    qty: dec(t, "qty"),
                    price: dec(t, "price"),
                    fee: dec(t, "commission"),
                    fee_asset: text(t, "commissionAsset"),
                    maker: t.get("isMaker").and_then(Value::as_bool).unwrap_or(false),
                    ts_ns: ms_to_ns(int(t, "time")),
                })
            })
            .collect();
        fills.sort_by_key(|f| f.trade_id);
        Ok(fills)
    }

    /// Creates a user-data-stream listen key.
    pub async fn create_listen_key(&self) -> Result<String, BrokerError> {
        let v = self
            .request(
                reqwest::Method::POST,
                "/api/v3/userDataStream",
                &[],
                Auth::Key,
                true,
            )
            .await?;
        let k = text(&v, "listenKey");
        if k.is_empty() {
            return Err(BrokerError::Protocol {
                endpoint: "POST /api/v3/userDataStream".into(),
                msg: "no listenKey".into(),
            });
        }
        Ok(k)
    }

    /// Keeps a listen key alive; `-1125` (unknown key) comes back as a venue error.
    pub async fn keepalive_listen_key(&self, key: &str) -> Result<(), BrokerError> {
        self.request(
            reqwest::Method::PUT,
            "/api/v3/userDataStream",
            &[("listenKey", key)],
            Auth::Key,
            true,
        )
        .await
        .map(|_| ())
    }

    fn refuse_if_read_only(&self, what: &'static str) -> Result<(), BrokerError> {
        if self.read_only {
            Err(BrokerError::ReadOnly(what))
        } else {
            Ok(())
        }
    }

    fn ack_from(u: &BrokerOrderUpdate) -> BrokerOrderAck {
        BrokerOrderAck {
            client_order_id: u.client_order_id.clone(),
            exchange_order_id: u.exchange_order_id.clone(),
            status: u.status,
            ts_ns: u.ts_ns,
        }
    }

    async fn place_once(&self, req: &BrokerOrderReq) -> Result<Value, BrokerError> {
        let p = Self::order_params(req);
        let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.request(
            reqwest::Method::POST,
            "/api/v3/order",
            &params,
            Auth::Signed,
            false,
        )
        .await
    }
}

impl Broker for RestClient {
    /// Sends the order; when the answer is lost (timeout, 5xx, dropped connection) the order
    /// is looked up by its client id before any resend, so one intent is one venue order.
    async fn place(&self, req: &BrokerOrderReq) -> Result<BrokerOrderAck, BrokerError> {
        self.refuse_if_read_only("place")?;
        // Rounding is idempotent, so a request the caller already prepared is unchanged.
        let req = self.prepare(req, None)?;
        let policy = self.settings.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let unknown = match self.place_once(&req).await {
                Ok(v) => {
                    return self
                        .parse_order(&v)
                        .map(|u| Self::ack_from(&u))
                        .ok_or_else(|| BrokerError::Protocol {
                            endpoint: "POST /api/v3/order".into(),
                            msg: format!("order {} answer without a status", req.client_order_id),
                        });
                }
                Err(BrokerError::Venue {
                    code: -2010, msg, ..
                }) if msg == DUPLICATE_ORDER_MSG => {
                    tracing::warn!(client_order_id = %req.client_order_id, "venue says duplicate; looking the order up");
                    return match self.lookup(&req.symbol, &req.client_order_id).await? {
                        Some(u) => Ok(Self::ack_from(&u)),
                        None => Err(BrokerError::DuplicateClientOrderId(
                            req.client_order_id.clone(),
                        )),
                    };
                }
                Err(BrokerError::Unknown { last, .. }) => last,
                Err(e) => return Err(e),
            };
            tracing::warn!(client_order_id = %req.client_order_id, attempt, reason = %unknown, "order outcome unknown; looking it up before any resend");
            if let Some(d) = policy.delay(attempt, None) {
                tokio::time::sleep(d).await;
            }
            match self.lookup(&req.symbol, &req.client_order_id).await {
                Ok(Some(u)) => return Ok(Self::ack_from(&u)),
                Ok(None) if attempt < policy.max_attempts => {
                    tracing::warn!(client_order_id = %req.client_order_id, "venue has no such order; sending it again");
                }
                Ok(None) => {
                    return Err(BrokerError::Unknown {
                        endpoint: "POST /api/v3/order".into(),
                        attempts: attempt,
                        last: unknown,
                    });
                }
                Err(e) => {
                    return Err(BrokerError::Unknown {
                        endpoint: "POST /api/v3/order".into(),
                        attempts: attempt,
                        last: format!("{unknown}; lookup failed too: {e}"),
                    });
                }
            }
        }
    }

    async fn cancel(&self, symbol: &str, client_order_id: &str) -> Result<bool, BrokerError> {
        self.refuse_if_read_only("cancel")?;
        let s = compact_symbol(symbol);
        match self
            .request(
                reqwest::Method::DELETE,
                "/api/v3/order",
                &[("symbol", &s), ("origClientOrderId", client_order_id)],
                Auth::Signed,
                true,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(BrokerError::Venue { code: -2011, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        let s = symbol.map(compact_symbol);
        let params: Vec<(&str, &str)> = s.iter().map(|s| ("symbol", s.as_str())).collect();
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/openOrders",
                &params,
                Auth::Signed,
                true,
            )
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| self.parse_order(o))
            .collect())
    }

    async fn fetch_balances(&self) -> Result<BalanceSnapshot, BrokerError> {
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/account",
                &[],
                Auth::Signed,
                true,
            )
            .await?;
        let balances = v
            .get("balances")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|b| AssetBalance {
                asset: text(b, "asset"),
                free: dec(b, "free"),
                locked: dec(b, "locked"),
            })
            .collect();
        Ok(BalanceSnapshot {
            balances,
            ts_ns: ms_to_ns(int(&v, "updateTime")),
        })
    }

    async fn lookup(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<BrokerOrderUpdate>, BrokerError> {
        let s = compact_symbol(symbol);
        match self
            .request(
                reqwest::Method::GET,
                "/api/v3/order",
                &[("symbol", &s), ("origClientOrderId", client_order_id)],
                Auth::Signed,
                true,
            )
            .await
        {
            Ok(v) => Ok(self.parse_order(&v)),
            Err(BrokerError::Venue { code: -2013, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    type Replies = Arc<Mutex<Vec<(String, String)>>>;

    /// A loopback HTTP server answering `METHOD PATH` from canned replies (first match is
    /// used once; the last one for a route repeats) and recording every request line.
    async fn mock(replies: Vec<(&str, u16, &str)>) -> (String, Replies) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Replies = Arc::default();
        let log = seen.clone();
        let mut replies: Vec<(String, u16, String)> = replies
            .into_iter()
            .map(|(r, s, b)| (r.to_string(), s, b.to_string()))
            .collect();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let line = head.lines().next().unwrap_or("").to_string();
                let mut parts = line.split(' ');
                let (m, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let path = target.split('?').next().unwrap_or("");
                let route = format!("{m} {path}");
                log.lock()
                    .unwrap()
                    .push((route.clone(), target.to_string()));
                let i = replies.iter().position(|(r, _, _)| *r == route);
                let (status, body) = match i {
                    Some(i) if replies.iter().filter(|(r, _, _)| *r == route).count() > 1 => {
                        let (_, s, b) = replies.remove(i);
                        (s, b)
                    }
                    Some(i) => (replies[i].1, replies[i].2.clone()),
                    None => (404, String::new()),
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        (base, seen)
    }

    fn client(base: &str) -> RestClient {
        let settings = RestSettings {
            base_url: base.to_string(),
            recv_window_ms: 5000,
            retry: RetryPolicy {
                max_attempts: 3,
                base: Duration::from_millis(1),
                max: Duration::from_millis(5),
            },
            timeout: Duration::from_secs(5),
            weight_slowdown_pct: 90,
            symbols: vec!["ATOM/USDT".into()],
        };
        RestClient::new(settings, Some(("k", "s")), false).unwrap()
    }

    fn req() -> BrokerOrderReq {
        BrokerOrderReq {
            intent_id: "i-1".into(),
            client_order_id: "i-1".into(),
            symbol: "ATOM/USDT".into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            qty: Decimal::from_str("1").unwrap(),
            limit_price: Some(Decimal::from_str("5").unwrap()),
        }
    }

    const INFO: &str = r#"{"symbols":[{"symbol":"ATOMUSDT","filters":[{"filterType":"LOT_SIZE","minQty":"0.01","maxQty":"1000","stepSize":"0.01"}]}]}"#;
    const FOUND: &str = r#"{"symbol":"ATOMUSDT","orderId":42,"clientOrderId":"i-1","status":"NEW","side":"BUY","origQty":"1","executedQty":"0","cummulativeQuoteQty":"0","time":1}"#;
    const NOT_FOUND: &str = r#"{"code":-2013,"msg":"Order does not exist."}"#;

    fn routes(seen: &Replies) -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    #[tokio::test]
    async fn duplicate_not_found_is_an_error_and_other_2010s_are_plain_rejections() {
        let dup = r#"{"code":-2010,"msg":"Duplicate order sent."}"#;
        let (base, seen) = mock(vec![
            ("GET /api/v3/exchangeInfo", 200, INFO),
            ("POST /api/v3/order", 400, dup),
            ("GET /api/v3/order", 400, NOT_FOUND),
        ])
        .await;
        let c = client(&base);
        c.load_exchange_info().await.unwrap();
        assert_eq!(
            c.place(&req()).await,
            Err(BrokerError::DuplicateClientOrderId("i-1".into()))
        );
        assert_eq!(
            routes(&seen),
            [
                "GET /api/v3/exchangeInfo",
                "POST /api/v3/order",
                "GET /api/v3/order"
            ]
        );

        let other =
            r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#;
        let (base, seen) = mock(vec![
            ("GET /api/v3/exchangeInfo", 200, INFO),
            ("POST /api/v3/order", 400, other),
        ])
        .await;
        let c = client(&base);
        c.load_exchange_info().await.unwrap();
        let e = c.place(&req()).await.unwrap_err();
        assert!(matches!(e, BrokerError::Venue { code: -2010, .. }), "{e}");
        assert_eq!(routes(&seen).len(), 2, "no lookup, no resend");
    }

    #[tokio::test]
    async fn unknown_outcome_is_looked_up_before_a_resend() {
        // 503 twice: the first lookup finds nothing, so it is sent again; the second lookup
        // finds the order, which is acknowledged without a third send.
        let (base, seen) = mock(vec![
            ("GET /api/v3/exchangeInfo", 200, INFO),
            ("POST /api/v3/order", 503, "{}"),
            ("POST /api/v3/order", 503, "{}"),
            ("GET /api/v3/order", 400, NOT_FOUND),
            ("GET /api/v3/order", 200, FOUND),
        ])
        .await;
        let c = client(&base);
        c.load_exchange_info().await.unwrap();
        let ack = c.place(&req()).await.unwrap();
        assert_eq!(ack.exchange_order_id, "42");
        assert_eq!(
            routes(&seen),
            [
                "GET /api/v3/exchangeInfo",
                "POST /api/v3/order",
                "GET /api/v3/order",
                "POST /api/v3/order",
                "GET /api/v3/order"
            ]
        );
        let signed = seen.lock().unwrap()[1].1.clone();
        assert!(signed.contains("newClientOrderId=i-1") && signed.contains("&signature="));
    }

    #[tokio::test]
    async fn read_only_sends_nothing() {
        let (base, seen) = mock(vec![]).await;
        let settings = client(&base).settings.as_ref().clone();
        let c = RestClient::new(settings, Some(("k", "s")), true).unwrap();
        assert_eq!(c.place(&req()).await, Err(BrokerError::ReadOnly("place")));
        assert_eq!(
            c.cancel("ATOM/USDT", "i-1").await,
            Err(BrokerError::ReadOnly("cancel"))
        );
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn retry_delays_double_cap_and_honour_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        let ds: Vec<_> = (1..=5)
            .map(|a| p.delay(a, None).map(|d| d.as_millis()))
            .collect();
        assert_eq!(ds, [Some(100), Some(200), Some(350), Some(350), None]);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(Some("soon")), None);
    }

    #[test]
    fn weight_slows_down_before_the_limit() {
        assert_eq!(weight_wait(1079, 120_400, 1200, 90, 120_500), None);
        assert_eq!(
            weight_wait(1080, 120_400, 1200, 90, 120_500),
            Some(Duration::from_millis(59_550))
        );
        assert_eq!(
            weight_wait(1199, 119_999, 1200, 90, 120_500),
            None,
            "a count from the previous minute"
        );
        assert_eq!(weight_wait(5, 0, 0, 90, 0), None);
    }

    #[test]
    fn classification_only_trusts_what_it_knows() {
        let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(classify(200, &j("{}")), Class::Ok);
        assert_eq!(classify(429, &j("{}")), Class::Limited { ban: false });
        assert_eq!(classify(418, &j("{}")), Class::Limited { ban: true });
        assert_eq!(classify(503, &Value::Null), Class::Unknown);
        assert_eq!(
            classify(
                400,
                &j(
                    r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#
                )
            ),
            Class::ClockSkew
        );
        assert_eq!(
            classify(
                400,
                &j(
                    r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#
                )
            ),
            Class::Rejected {
                code: -2010,
                msg: "Account has insufficient balance for requested action.".into()
            }
        );
    }
}
