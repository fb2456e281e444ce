//! The REST shell: `/api/v3/*` as Binance.US serves it, and the loopback control endpoint
//! `/control/*` (faults, tape stepping). Parameters, weights, authentication and faults are
//! checked here in Binance's order; the venue rules live in the cores.

use super::auth;
use super::faults::{Effect, FaultSpec, OrderOutcome};
use super::feed::StepCmd;
use super::limits::Verdict;
use super::matching::{NewOrder, OrdType, OrderRef, Tif};
use super::wire::{self, RespType};
use super::{ApiError, Sim, Speed, parse_side};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

// ---- connections that a fault can cut -------------------------------------------------

/// A TCP listener whose connections can be cut from a handler (the `order_then: drop` fault).
pub struct KillableListener(pub TcpListener);

/// The handle a handler gets to its own connection.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    pub addr: SocketAddr,
    pub kill: Arc<AtomicBool>,
}

pub struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

fn cut() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "cut by njord-sim fault",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.kill.load(Ordering::Relaxed) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.kill.load(Ordering::Relaxed) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((s, addr)) => {
                    let _ = s.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillableStream {
                            inner: s,
                            kill: kill.clone(),
                        },
                        ConnHandle { addr, kill },
                    );
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(ConnHandle {
            addr: self.0.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

// ---- routing ----------------------------------------------------------------------------

#[derive(Clone)]
pub struct Ctx {
    sim: Arc<Sim>,
    steps: mpsc::Sender<StepCmd>,
}

pub fn router(sim: Arc<Sim>, steps: mpsc::Sender<StepCmd>) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Ctx { sim, steps })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sec {
    None,
    Key,
    Signed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ep {
    Ping,
    Time,
    ExchangeInfo,
    Depth,
    Trades,
    AggTrades,
    TickerPrice,
    BookTicker,
    Ticker24,
    NewOrder,
    TestOrder,
    QueryOrder,
    CancelOrder,
    OpenOrders,
    CancelAll,
    AllOrders,
    Account,
    MyTrades,
    UdsCreate,
    UdsKeep,
    UdsClose,
}

fn route(method: &Method, path: &str) -> Option<(Ep, Sec)> {
    use Ep::*;
    let m = method.as_str();
    Some(match (m, path.strip_prefix("/api/v3/")?) {
        ("GET", "ping") => (Ping, Sec::None),
        ("GET", "time") => (Time, Sec::None),
        ("GET", "exchangeInfo") => (ExchangeInfo, Sec::None),
        ("GET", "depth") => (Depth, Sec::None),
        ("GET", "trades") => (Trades, Sec::None),
        ("GET", "aggTrades") => (AggTrades, Sec::None),
        ("GET", "ticker/price") => (TickerPrice, Sec::None),
        ("GET", "ticker/bookTicker") => (BookTicker, Sec::None),
        ("GET", "ticker/24hr") => (Ticker24, Sec::None),
        ("POST", "order") => (NewOrder, Sec::Signed),
        ("POST", "order/test") => (TestOrder, Sec::Signed),
        ("GET", "order") => (QueryOrder, Sec::Signed),
        ("DELETE", "order") => (CancelOrder, Sec::Signed),
        ("GET", "openOrders") => (OpenOrders, Sec::Signed),
        ("DELETE", "openOrders") => (CancelAll, Sec::Signed),
        ("GET", "allOrders") => (AllOrders, Sec::Signed),
        ("GET", "account") => (Account, Sec::Signed),
        ("GET", "myTrades") => (MyTrades, Sec::Signed),
        ("POST", "userDataStream") => (UdsCreate, Sec::Key),
        ("PUT", "userDataStream") => (UdsKeep, Sec::Key),
        ("DELETE", "userDataStream") => (UdsClose, Sec::Key),
        _ => return None,
    })
}

/// Request weight, as Binance.US lists it (some depend on parameters).
fn weight(ep: Ep, p: &Params) -> u32 {
    use Ep::*;
    let has_symbol = p.has("symbol") || p.has("symbols");
    match ep {
        ExchangeInfo | Account | MyTrades | AllOrders => 10,
        Depth => match p
            .peek("limit")
            .and_then(|l| l.parse::<u32>().ok())
            .unwrap_or(100)
        {
            0..=100 => 1,
            101..=500 => 5,
            501..=1000 => 10,
            _ => 50,
        },
        TickerPrice | BookTicker => {
            if has_symbol {
                1
            } else {
                2
            }
        }
        Ticker24 => {
            if has_symbol {
                1
            } else {
                40
            }
        }
        QueryOrder => 2,
        OpenOrders => {
            if has_symbol {
                3
            } else {
                40
            }
        }
        _ => 1,
    }
}

// ---- parameters -------------------------------------------------------------------------

/// Query and body parameters, tracking which were read so leftovers are -1104.
struct Params {
    pairs: Vec<(String, String)>,
    read: HashSet<String>,
}

fn illegal(name: &str, range: &str) -> ApiError {
    ApiError::bad(
        -1100,
        format!("Illegal characters found in parameter '{name}'; legal range is '{range}'."),
    )
}

fn mandatory(name: &str) -> ApiError {
    ApiError::bad(
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn not_required(name: &str) -> ApiError {
    ApiError::bad(-1106, format!("Parameter '{name}' sent when not required."))
}

const DECIMAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";

impl Params {
    fn parse(query: &str, body: &str) -> Result<Params, ApiError> {
        let decode = |s: &str| -> Result<Vec<(String, String)>, ApiError> {
            serde_urlencoded::from_str::<Vec<(String, String)>>(s)
                .map_err(|_| ApiError::bad(-1100, "Illegal characters found in a parameter."))
        };
        let q = decode(query)?;
        let b = decode(body)?;
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(q.len() + b.len());
        for part in [&q, &b] {
            let mut seen = HashSet::new();
            for (k, _) in part.iter() {
                if !seen.insert(k.as_str()) {
                    return Err(ApiError::bad(
                        -1101,
                        "Duplicate values for a parameter detected.",
                    ));
                }
            }
        }
        pairs.extend(q);
        // The query string wins over the body for a parameter sent in both.
        for (k, v) in b {
            if !pairs.iter().any(|(pk, _)| *pk == k) {
                pairs.push((k, v));
            }
        }
        for (k, v) in &pairs {
            if v.is_empty() {
                return Err(ApiError::bad(-1105, format!("Parameter '{k}' was empty.")));
            }
        }
        Ok(Params {
            pairs,
            read: HashSet::new(),
        })
    }

    fn has(&self, k: &str) -> bool {
        self.pairs.iter().any(|(pk, _)| pk == k)
    }

    fn peek(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }

    fn get(&mut self, k: &str) -> Option<String> {
        let v = self.peek(k).map(str::to_string);
        if v.is_some() {
            self.read.insert(k.to_string());
        }
        v
    }

    fn req(&mut self, k: &str) -> Result<String, ApiError> {
        self.get(k).ok_or_else(|| mandatory(k))
    }

    fn dec(&mut self, k: &str) -> Result<Option<Decimal>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        let ok_chars = v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && v.bytes().filter(|b| *b == b'.').count() <= 1
            && !v.starts_with('.')
            && !v.ends_with('.');
        if !ok_chars || v.len() > 41 {
            return Err(illegal(k, DECIMAL_RANGE));
        }
        v.parse::<Decimal>()
            .map(Some)
            .map_err(|_| illegal(k, DECIMAL_RANGE))
    }

    fn uint(&mut self, k: &str) -> Result<Option<u64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(illegal(k, "^[0-9]{1,20}$"));
        }
        v.parse().map(Some).map_err(|_| illegal(k, "^[0-9]{1,20}$"))
    }

    fn int(&mut self, k: &str) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        v.parse()
            .map(Some)
            .map_err(|_| illegal(k, "^-?[0-9]{1,20}$"))
    }

    /// `symbol`, checked for legal characters (then known by the core: -1121).
    fn symbol(&mut self, required: bool) -> Result<Option<String>, ApiError> {
        match self.get("symbol") {
            None if required => Err(mandatory("symbol")),
            None => Ok(None),
            Some(s) => {
                let legal = (1..=20).contains(&s.len())
                    && s.bytes().all(|b| {
                        b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                    });
                if legal {
                    Ok(Some(s))
                } else {
                    Err(illegal("symbol", "^[A-Z0-9-_.]{1,20}$"))
                }
            }
        }
    }

    fn client_id(&mut self, k: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        let legal = (1..=36).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b));
        if legal {
            Ok(Some(v))
        } else {
            Err(illegal(k, r"^[\.A-Z\:/a-z0-9_-]{1,36}$"))
        }
    }

    fn limit(&mut self, default: usize, max: usize) -> Result<usize, ApiError> {
        Ok(self
            .uint("limit")?
            .map(|l| (l as usize).clamp(1, max))
            .unwrap_or(default))
    }

    /// Every parameter sent must have been read.
    fn finish(&self) -> Result<(), ApiError> {
        let (read, sent) = (self.read.len(), self.pairs.len());
        if read < sent {
            return Err(ApiError::bad(
                -1104,
                format!(
                    "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
                ),
            ));
        }
        Ok(())
    }
}

// ---- responses --------------------------------------------------------------------------

fn response(status: u16, body: String, headers: &[(&'static str, String)]) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    r
}

/// The signature verdict written to the journal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SigVerdict {
    NotRequired,
    Valid,
    Invalid,
    Missing,
}

impl SigVerdict {
    fn as_str(self) -> &'static str {
        match self {
            SigVerdict::NotRequired => "not_required",
            SigVerdict::Valid => "valid",
            SigVerdict::Invalid => "invalid",
            SigVerdict::Missing => "missing",
        }
    }
}

/// What a handled request answers.
struct Answer {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
    /// Cut the connection instead of answering.
    drop: bool,
}

impl Answer {
    fn ok(v: Value) -> Self {
        Answer {
            status: 200,
            body: v.to_string(),
            headers: Vec::new(),
            drop: false,
        }
    }
    fn err(e: &ApiError) -> Self {
        Answer {
            status: e.status,
            body: e.body(),
            headers: Vec::new(),
            drop: false,
        }
    }
}

async fn handle(
    State(ctx): State<Ctx>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sim = &ctx.sim;
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    if path.starts_with("/control/") {
        return control(&ctx, &method, &path, &query, &body).await;
    }
    let rid = sim.next_id();
    if let Some(j) = &sim.journal {
        j.write(json!({
            "type": "http_request", "id": rid, "method": method.as_str(), "path": path,
            "query": query, "body": body, "api_key_sent": headers.contains_key("x-mbx-apikey"),
        }));
    }
    let mut verdict = SigVerdict::NotRequired;
    let answer = answer(sim, &method, &path, &query, &body, &headers, &mut verdict).await;
    if let Some(j) = &sim.journal {
        j.write(json!({
            "type": "http_response", "id": rid, "status": answer.status, "body": answer.body,
            "signature": verdict.as_str(), "dropped": answer.drop,
            "headers": answer.headers.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        }));
    }
    if answer.drop {
        conn.kill.store(true, Ordering::Relaxed);
    }
    response(answer.status, answer.body, &answer.headers)
}

/// The answer of an `http_error` fault: Binance's bodies for 429 and 418, an internal error
/// for anything else.
fn fault_answer(status: u16, sim: &Sim, now: i64) -> Answer {
    let (e, retry) = match status {
        429 => (
            too_much_weight(sim.settings.limits.weight_per_min),
            Some(60),
        ),
        418 => (banned(now + 120_000), Some(120)),
        _ => (
            ApiError::new(
                status,
                -1001,
                "Internal error; unable to process your request. Please try again.",
            ),
            None,
        ),
    };
    let mut a = Answer::err(&e);
    if let Some(r) = retry {
        a.headers.push(("retry-after", r.to_string()));
    }
    a
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    sim: &Arc<Sim>,
    method: &Method,
    path: &str,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    verdict: &mut SigVerdict,
) -> Answer {
    let Some((ep, sec)) = route(method, path) else {
        return Answer {
            status: 404,
            body: String::new(),
            headers: Vec::new(),
            drop: false,
        };
    };
    let delay = sim.lock().faults.take_delay(path);
    if let Some(ms) = delay {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let (a, closed) = decide(sim, ep, sec, path, query, body, headers, verdict);
    if let Some(k) = closed {
        sim.hub.close_user(&k, None).await;
    }
    a
}

/// The synchronous part of a request, under the venue lock: faults, weight, auth, dispatch.
/// Returns the answer and, for `DELETE userDataStream`, the listen key whose streams close.
#[allow(clippy::too_many_arguments)]
fn decide(
    sim: &Arc<Sim>,
    ep: Ep,
    sec: Sec,
    path: &str,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    verdict: &mut SigVerdict,
) -> (Answer, Option<String>) {
    let now = sim.now_ms();
    let mut st = sim.lock();
    if let Some(status) = st.faults.take_http(path) {
        drop(st);
        return (fault_answer(status, sim, now), None);
    }
    let mut params = match Params::parse(query, body) {
        Ok(p) => p,
        Err(e) => {
            let used = st.limits.used_weight(now);
            let mut a = Answer::err(&e);
            a.headers = weight_headers(used);
            return (a, None);
        }
    };
    let w = weight(ep, &params);
    let used = match st.limits.request(w, now) {
        Verdict::Ok { used } => used,
        Verdict::TooMany {
            used,
            retry_after_s,
        } => {
            let mut a = Answer::err(&too_much_weight(st.limits.config().weight_per_min));
            a.headers = weight_headers(used);
            a.headers.push(("retry-after", retry_after_s.to_string()));
            return (a, None);
        }
        Verdict::Banned {
            until_ms,
            retry_after_s,
        } => {
            let mut a = Answer::err(&banned(until_ms));
            a.headers.push(("retry-after", retry_after_s.to_string()));
            return (a, None);
        }
    };
    let mut hdrs = weight_headers(used);
    let result =
        authenticate(sim, sec, query, body, headers, &mut params, now, verdict).and_then(|_| {
            if ep == Ep::NewOrder {
                st.limits.check_order(now)?;
            }
            let v = dispatch(sim, &mut st, ep, &mut params, now)?;
            if ep == Ep::NewOrder {
                st.limits.record_order(now);
            }
            Ok(v)
        });
    if matches!(ep, Ep::NewOrder) {
        let (c10, cday) = st.limits.order_counts(now);
        hdrs.push(("x-mbx-order-count-10s", c10.to_string()));
        hdrs.push(("x-mbx-order-count-1d", cday.to_string()));
    }
    let after = if ep == Ep::NewOrder && result.is_ok() {
        st.faults.take_order_then()
    } else {
        None
    };
    // A closed listen key's streams close too, once the lock is released.
    let closed_key = match (ep, &result) {
        (Ep::UdsClose, Ok(_)) => params.peek("listenKey").map(str::to_string),
        _ => None,
    };
    drop(st);
    let mut a = match (result, after) {
        (Ok(_), Some((OrderOutcome::Drop, _))) => Answer {
            drop: true,
            ..Answer::ok(json!({}))
        },
        (Ok(_), Some((OrderOutcome::Status, status))) => Answer::err(&ApiError::new(
            status,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )),
        (Ok(v), None) => Answer::ok(v),
        (Err(e), _) => Answer::err(&e),
    };
    a.headers = hdrs;
    (a, closed_key)
}

fn too_much_weight(limit: u32) -> ApiError {
    ApiError::new(
        429,
        -1003,
        format!(
            "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        ),
    )
}

fn banned(until_ms: i64) -> ApiError {
    ApiError::new(
        418,
        -1003,
        format!(
            "Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for live updates to avoid bans."
        ),
    )
}

fn weight_headers(used: u32) -> Vec<(&'static str, String)> {
    vec![
        ("x-mbx-used-weight", used.to_string()),
        ("x-mbx-used-weight-1m", used.to_string()),
    ]
}

/// API key, then `timestamp`, `recvWindow` and `signature`, in Binance's order.
#[allow(clippy::too_many_arguments)]
fn authenticate(
    sim: &Sim,
    sec: Sec,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    params: &mut Params,
    now: i64,
    verdict: &mut SigVerdict,
) -> Result<(), ApiError> {
    if sec == Sec::None {
        return Ok(());
    }
    let key = headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !auth::key_well_formed(key) {
        return Err(ApiError::new(401, -2014, "API-key format invalid."));
    }
    let Some((_, secret)) = sim.settings.api_keys.iter().find(|(k, _)| k == key) else {
        return Err(ApiError::new(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ));
    };
    if sec == Sec::Key {
        return Ok(());
    }
    let ts = params
        .int("timestamp")?
        .ok_or_else(|| mandatory("timestamp"))?;
    let recv = match params.dec("recvWindow")? {
        None => 5000,
        Some(r) if r > Decimal::from(60_000) => {
            return Err(ApiError::bad(-1131, "recvWindow must be less than 60000"));
        }
        Some(r) => r.trunc().try_into().unwrap_or(5000i64),
    };
    let Some(sig) = params.get("signature") else {
        *verdict = SigVerdict::Missing;
        return Err(mandatory("signature"));
    };
    if !auth::verify(secret, &auth::signed_payload(query, body), &sig) {
        *verdict = SigVerdict::Invalid;
        return Err(ApiError::bad(
            -1022,
            "Signature for this request is not valid.",
        ));
    }
    *verdict = SigVerdict::Valid;
    if sim.settings.check_timestamp {
        auth::check_timestamp(ts, recv, now)?;
    }
    Ok(())
}

fn order_ref(p: &mut Params) -> Result<OrderRef, ApiError> {
    let id = p.uint("orderId")?;
    let cid = p.client_id("origClientOrderId")?;
    match (id, cid) {
        (Some(id), _) => Ok(OrderRef::Id(id)),
        (None, Some(c)) => Ok(OrderRef::Client(c)),
        (None, None) => Err(ApiError::bad(
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )),
    }
}

fn parse_new_order(sim: &Sim, p: &mut Params) -> Result<(NewOrder, RespType), ApiError> {
    let symbol = p.symbol(true)?.unwrap_or_default();
    let side = p.req("side")?;
    let side = parse_side(&side).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))?;
    let ty = p.req("type")?;
    let ord_type = match ty.as_str() {
        "LIMIT" => OrdType::Limit,
        "MARKET" => OrdType::Market,
        "LIMIT_MAKER" => OrdType::LimitMaker,
        _ => return Err(ApiError::bad(-1116, "Invalid orderType.")),
    };
    let tif = match p.get("timeInForce") {
        None => None,
        Some(t) => {
            Some(Tif::parse(&t).ok_or_else(|| ApiError::bad(-1115, "Invalid timeInForce."))?)
        }
    };
    let qty = p.dec("quantity")?;
    let quote_qty = p.dec("quoteOrderQty")?;
    let price = p.dec("price")?;
    for k in ["stopPrice", "icebergQty", "trailingDelta"] {
        if p.has(k) {
            return Err(not_required(k));
        }
    }
    match ord_type {
        OrdType::Limit | OrdType::LimitMaker => {
            if ord_type == OrdType::Limit && tif.is_none() {
                return Err(mandatory("timeInForce"));
            }
            if ord_type == OrdType::LimitMaker && tif.is_some() {
                return Err(not_required("timeInForce"));
            }
            if qty.is_none() {
                return Err(mandatory("quantity"));
            }
            if price.is_none() {
                return Err(mandatory("price"));
            }
            if quote_qty.is_some() {
                return Err(not_required("quoteOrderQty"));
            }
        }
        OrdType::Market => {
            if tif.is_some() {
                return Err(not_required("timeInForce"));
            }
            if price.is_some() {
                return Err(not_required("price"));
            }
            match (qty, quote_qty) {
                (None, None) => {
                    return Err(ApiError::bad(
                        -1102,
                        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                    ));
                }
                (Some(_), Some(_)) => return Err(not_required("quoteOrderQty")),
                _ => {}
            }
        }
    }
    let client_id = match p.client_id("newClientOrderId")? {
        Some(c) => c,
        None => format!("sim{:019}", sim.next_id()),
    };
    let rt = match p.get("newOrderRespType").as_deref() {
        None if ord_type == OrdType::LimitMaker => RespType::Ack,
        None | Some("FULL") => RespType::Full,
        Some("ACK") => RespType::Ack,
        Some("RESULT") => RespType::Result,
        Some(_) => return Err(illegal("newOrderRespType", "ACK, RESULT, FULL")),
    };
    if let Some(m) = p.get("selfTradePreventionMode")
        && m != "NONE"
    {
        return Err(illegal("selfTradePreventionMode", "NONE"));
    }
    Ok((
        NewOrder {
            symbol,
            side,
            ord_type,
            tif,
            qty,
            quote_qty,
            price,
            client_id,
        },
        rt,
    ))
}

fn dispatch(
    sim: &Sim,
    st: &mut super::State,
    ep: Ep,
    p: &mut Params,
    now: i64,
) -> Result<Value, ApiError> {
    let v = dispatch_inner(sim, st, ep, p, now)?;
    p.finish()?;
    Ok(v)
}

fn dispatch_inner(
    sim: &Sim,
    st: &mut super::State,
    ep: Ep,
    p: &mut Params,
    now: i64,
) -> Result<Value, ApiError> {
    let ex = &mut st.ex;
    Ok(match ep {
        Ep::Ping => json!({}),
        Ep::Time => json!({"serverTime": now}),
        Ep::ExchangeInfo => {
            let mut wanted: Vec<String> = Vec::new();
            if let Some(s) = p.symbol(false)? {
                wanted.push(s);
            }
            if let Some(list) = p.get("symbols") {
                let v: Vec<String> = serde_json::from_str(&list).map_err(|_| {
                    illegal(
                        "symbols",
                        r#"^\["[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}\]$"#,
                    )
                })?;
                wanted.extend(v);
            }
            for w in &wanted {
                ex.market(w)?;
            }
            let symbols: Vec<Value> = ex
                .markets()
                .iter()
                .filter(|m| wanted.is_empty() || wanted.contains(&m.spec.name))
                .map(wire::symbol_info)
                .collect();
            json!({
                "timezone": "UTC",
                "serverTime": now,
                "rateLimits": wire::rate_limits(&sim.settings.limits),
                "exchangeFilters": [],
                "symbols": symbols,
            })
        }
        Ep::Depth => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let limit = p.limit(100, 5000)?;
            let (b, a) = ex.book(m, limit);
            wire::depth(ex.markets()[m].update_id, &b, &a)
        }
        Ep::Trades => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let limit = p.limit(500, 1000)?;
            let r = &ex.markets()[m].recent;
            Value::Array(
                r.iter()
                    .skip(r.len().saturating_sub(limit))
                    .map(wire::trade)
                    .collect(),
            )
        }
        Ep::AggTrades => {
            let m = ex.market(&p.symbol(true)?.unwrap_or_default())?;
            let from = p.uint("fromId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            let r = &ex.markets()[m].recent;
            let sel: Vec<Value> = match from {
                Some(f) => r
                    .iter()
                    .filter(|t| t.id >= f)
                    .take(limit)
                    .map(wire::agg_trade)
                    .collect(),
                None if start.is_some() || end.is_some() => r
                    .iter()
                    .filter(|t| {
                        start.is_none_or(|s| t.time >= s) && end.is_none_or(|e| t.time <= e)
                    })
                    .take(limit)
                    .map(wire::agg_trade)
                    .collect(),
                None => r
                    .iter()
                    .skip(r.len().saturating_sub(limit))
                    .map(wire::agg_trade)
                    .collect(),
            };
            Value::Array(sel)
        }
        Ep::TickerPrice | Ep::BookTicker | Ep::Ticker24 => {
            let one = p.symbol(false)?;
            let ms: Vec<usize> = match &one {
                Some(s) => vec![ex.market(s)?],
                None => (0..ex.markets().len()).collect(),
            };
            let mut out: Vec<Value> = ms
                .into_iter()
                .map(|m| {
                    let mk = &ex.markets()[m];
                    let (b, a) = ex.book(m, 1);
                    match ep {
                        Ep::TickerPrice => wire::ticker_price(mk),
                        Ep::BookTicker => wire::book_ticker(mk, &b, &a),
                        _ => wire::ticker_24h(mk, &b, &a, now),
                    }
                })
                .collect();
            if one.is_some() {
                out.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(out)
            }
        }
        Ep::NewOrder | Ep::TestOrder => {
            let (req, rt) = parse_new_order(sim, p)?;
            if ep == Ep::TestOrder {
                p.get("computeCommissionRates");
            }
            p.finish()?;
            let o = ex.new_order(req, now, ep == Ep::TestOrder)?;
            sim.flush_user_events(st);
            if ep == Ep::TestOrder {
                json!({})
            } else {
                wire::new_order(&o, rt)
            }
        }
        Ep::QueryOrder => {
            let s = p.symbol(true)?.unwrap_or_default();
            let r = order_ref(p)?;
            p.finish()?;
            wire::query_order(ex.query(&s, &r)?)
        }
        Ep::CancelOrder => {
            let s = p.symbol(true)?.unwrap_or_default();
            let r = order_ref(p)?;
            let new_cid = p
                .client_id("newClientOrderId")?
                .unwrap_or_else(|| format!("sim{:019}", sim.next_id()));
            p.get("cancelRestrictions");
            p.finish()?;
            let o = ex.cancel(&s, &r, now)?;
            sim.flush_user_events(st);
            wire::canceled(&o, &new_cid, now)
        }
        Ep::CancelAll => {
            let s = p.symbol(true)?.unwrap_or_default();
            p.finish()?;
            let os = ex.cancel_all(&s, now)?;
            sim.flush_user_events(st);
            Value::Array(
                os.iter()
                    .map(|o| wire::canceled(o, &format!("sim{:019}", sim.next_id()), now))
                    .collect(),
            )
        }
        Ep::OpenOrders => {
            let s = p.symbol(false)?;
            Value::Array(
                ex.open_orders(s.as_deref())?
                    .into_iter()
                    .map(wire::query_order)
                    .collect(),
            )
        }
        Ep::AllOrders => {
            let s = p.symbol(true)?.unwrap_or_default();
            let from = p.uint("orderId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            Value::Array(
                ex.all_orders(&s)?
                    .into_iter()
                    .filter(|o| from.is_none_or(|f| o.id >= f))
                    .filter(|o| {
                        start.is_none_or(|t| o.time >= t) && end.is_none_or(|t| o.time <= t)
                    })
                    .take(limit)
                    .map(wire::query_order)
                    .collect(),
            )
        }
        Ep::Account => {
            p.get("omitZeroBalances");
            wire::account(ex, now)
        }
        Ep::MyTrades => {
            let s = p.symbol(true)?.unwrap_or_default();
            let oid = p.uint("orderId")?;
            let from = p.uint("fromId")?;
            let start = p.int("startTime")?;
            let end = p.int("endTime")?;
            let limit = p.limit(500, 1000)?;
            Value::Array(
                ex.my_trades(&s)?
                    .into_iter()
                    .filter(|f| oid.is_none_or(|o| f.order_id == o))
                    .filter(|f| from.is_none_or(|x| f.trade_id >= x))
                    .filter(|f| {
                        start.is_none_or(|t| f.time >= t) && end.is_none_or(|t| f.time <= t)
                    })
                    .take(limit)
                    .map(wire::my_trade)
                    .collect(),
            )
        }
        Ep::UdsCreate => json!({"listenKey": st.keys.create(now)}),
        Ep::UdsKeep => {
            let k = p.req("listenKey")?;
            st.keys.keepalive(&k, now)?;
            json!({})
        }
        Ep::UdsClose => {
            let k = p.req("listenKey")?;
            st.keys.close(&k)?;
            json!({})
        }
    })
}

// ---- control endpoint -------------------------------------------------------------------

fn control_answer(status: u16, v: Value) -> Response {
    response(status, v.to_string(), &[])
}

/// `POST /control/fault` (a [`FaultSpec`] as JSON), `POST /control/clear`,
/// `POST /control/step` (`{"trades":N}`, with `--speed step`).
async fn control(ctx: &Ctx, method: &Method, path: &str, query: &str, body: &str) -> Response {
    let sim = &ctx.sim;
    if let Some(j) = &sim.journal {
        j.write(json!({"type": "control", "path": path, "query": query, "body": body}));
    }
    if method != Method::POST {
        return control_answer(405, json!({"error": "use POST"}));
    }
    match path {
        "/control/fault" => {
            let spec: FaultSpec = match serde_json::from_str(body) {
                Ok(s) => s,
                Err(e) => return control_answer(400, json!({"error": format!("bad fault: {e}")})),
            };
            apply_fault(sim, spec).await;
            control_answer(200, json!({"ok": true}))
        }
        "/control/clear" => {
            sim.lock().faults.clear(&sim.hub.ws_faults);
            sim.set_skew(sim.settings.initial_skew_ms);
            control_answer(200, json!({"ok": true}))
        }
        "/control/step" => {
            if sim.settings.speed != Speed::Step {
                return control_answer(
                    409,
                    json!({"error": "the tape only steps with --speed step"}),
                );
            }
            let n = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("trades").and_then(Value::as_u64))
                .unwrap_or(1);
            let (tx, rx) = oneshot::channel();
            if ctx.steps.send(StepCmd { n, reply: tx }).await.is_err() {
                return control_answer(500, json!({"error": "the player has stopped"}));
            }
            match rx.await {
                Ok(played) => control_answer(200, json!({"played": played})),
                Err(_) => control_answer(500, json!({"error": "the player has stopped"})),
            }
        }
        _ => control_answer(
            404,
            json!({"error": "unknown control endpoint; use /control/fault, /control/clear or /control/step"}),
        ),
    }
}

/// Applies a fault from a scenario file or the control endpoint.
pub async fn apply_fault(sim: &Arc<Sim>, spec: FaultSpec) {
    let effect = sim.lock().faults.apply(spec, &sim.hub.ws_faults);
    match effect {
        Effect::None => {}
        Effect::SetSkew(ms) => sim.set_skew(ms),
        Effect::ExpireListenKeys => {
            let now = sim.now_ms();
            let keys = sim.lock().keys.expire(now, true);
            for k in keys {
                sim.hub.expire_listen_key(&k, now).await;
            }
        }
    }
}
