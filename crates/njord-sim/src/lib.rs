//! `njord-sim`: a Binance.US-compatible venue on loopback, driven by a tape, with fault
//! injection (issue 4).
//!
//! Pure cores ([`matching`], [`limits`], [`auth`], [`faults`], [`listen_key`], [`wire`]) hold
//! every rule; the shells ([`rest`], [`ws`], [`feed`]) only move bytes between sockets and
//! the cores, which live behind one mutex in [`Sim`].
//!
//! # Using it from tests
//!
//! Spawn `njord-sim serve --tape FILE --speed step --rest-port 0 --ws-port 0` and read one
//! line from its stdout: `{"kind":"sim_ready","rest_url":…,"ws_url":…}`. The default key pair
//! is [`DEFAULT_API_KEY`] / [`DEFAULT_API_SECRET`] (Binance's documentation example).
//! `--no-timestamp-check` accepts any `timestamp`; `--journal FILE` records every exchange.
//!
//! - The market: each tape trade sets the last price; the book is synthetic, `--book-levels`
//!   levels of `--book-qty` every tick from one tick either side of it. Marketable orders take
//!   from it; resting limits fill as makers at their limit when the tape trades through them
//!   (`--fill-at-touch`: at them too), sharing each tape trade's quantity. Our own fills do
//!   not appear on the public streams and do not deplete the book.
//! - Control endpoint (REST port, POST, not weighted): `/control/step` `{"trades":N}` plays N
//!   trades (`--speed step`) and answers `{"played":N}` once their frames are queued;
//!   `/control/fault` takes one [`faults::FaultSpec`] as JSON; `/control/clear` removes every
//!   fault. A scenario file (`--scenario`) is `{"faults":[…]}` of the same specs.
//! - History: `/aggTrades` with `fromId`, `startTime` or `endTime`, and `/klines`, serve the
//!   whole tape as the venue's past (klines only for intervals that hold trades), so
//!   `njord-journal download` can be tested against it.
//! - Trade frames carry the tape's ids and times (`t`, `T`); event times (`E`) and order
//!   times are the server clock (wall clock plus any `clock_skew`).

pub mod auth;
pub mod cli;
pub mod faults;
pub mod feed;
pub mod journal;
pub mod klines;
pub mod limits;
pub mod listen_key;
pub mod matching;
pub mod metrics;
pub mod rest;
pub mod stress;
pub mod tape;
pub mod wire;
pub mod ws;

use njord::event::Side;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The API key pair the sim accepts unless told otherwise: Binance's own documentation
/// example, so its published signatures verify.
pub const DEFAULT_API_KEY: &str =
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const DEFAULT_API_SECRET: &str =
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

/// A Binance error: HTTP status, code and message, written `{"code":-1022,"msg":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status} {code}: {msg}")]
pub struct ApiError {
    pub status: u16,
    pub code: i64,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: u16, code: i64, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            msg: msg.into(),
        }
    }
    /// A 400 Bad Request, the status of every request error.
    pub fn bad(code: i64, msg: impl Into<String>) -> Self {
        Self::new(400, code, msg)
    }
    pub fn body(&self) -> String {
        format!(
            "{{\"code\":{},\"msg\":{}}}",
            self.code,
            serde_json::Value::String(self.msg.clone())
        )
    }
}

/// How fast the tape plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as subscribers take frames.
    Max,
    /// Tape time scaled by this factor (1x = real time).
    Times(f64),
    /// Only when told, through `POST /control/step`.
    Step,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "max" => Ok(Speed::Max),
            "step" => Ok(Speed::Step),
            _ => s
                .strip_suffix('x')
                .and_then(|f| f.parse::<f64>().ok())
                .filter(|f| *f > 0.0 && f.is_finite())
                .map(Speed::Times)
                .ok_or_else(|| format!("`{s}` is not a speed (max, step, 1x, 10x, 0.5x)")),
        }
    }
}

/// Everything `serve` is configured with; fixed while it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Accepted (API key, secret) pairs.
    pub api_keys: Vec<(String, String)>,
    /// Check `timestamp` against `recvWindow` (tests of other things may turn it off).
    pub check_timestamp: bool,
    pub speed: Speed,
    /// Restart the tape at its end (ids and times keep increasing).
    pub loop_tape: bool,
    /// Hold the tape until the first market-data subscription.
    pub start_on_subscribe: bool,
    pub knobs: matching::Knobs,
    pub balances: BTreeMap<String, Decimal>,
    pub limits: limits::LimitConfig,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    /// Inbound WebSocket messages allowed per second before the connection is dropped.
    pub ws_msgs_per_sec: u32,
    pub listen_key_ttl_ms: i64,
    pub min_notional: Decimal,
    pub initial_skew_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api_keys: vec![(DEFAULT_API_KEY.into(), DEFAULT_API_SECRET.into())],
            check_timestamp: true,
            speed: Speed::Times(1.0),
            loop_tape: false,
            start_on_subscribe: false,
            knobs: matching::Knobs::default(),
            balances: BTreeMap::new(),
            limits: limits::LimitConfig::default(),
            ping_interval: Duration::from_secs(180),
            pong_timeout: Duration::from_secs(600),
            ws_msgs_per_sec: 5,
            listen_key_ttl_ms: 60 * 60 * 1000,
            min_notional: Decimal::ONE,
            initial_skew_ms: 0,
        }
    }
}

/// The mutable venue: every core behind one lock, so each request sees one consistent state.
pub struct State {
    pub ex: matching::Exchange,
    pub limits: limits::Limits,
    pub faults: faults::Faults,
    pub keys: listen_key::ListenKeys,
}

/// The running simulator, shared by every connection.
pub struct Sim {
    pub settings: Settings,
    pub state: Mutex<State>,
    pub hub: feed::Hub,
    pub journal: Option<journal::Journal>,
    pub symbols: Vec<tape::TapeSymbol>,
    /// Each market's whole tape, sorted by time: the history `/aggTrades` (with `fromId`,
    /// `startTime` or `endTime`) and `/klines` serve, whatever has been played.
    pub history: Vec<Vec<matching::PubTrade>>,
    skew_ms: AtomicI64,
    next_id: AtomicU64,
}

impl Sim {
    /// The server clock in ms: wall clock plus the injected skew.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        wall + self.skew_ms.load(Ordering::Relaxed)
    }

    pub fn set_skew(&self, ms: i64) {
        self.skew_ms.store(ms, Ordering::Relaxed);
    }

    /// A process-unique id for requests and connections.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A client order id for a request that gave none, as Binance makes one up.
    pub fn fresh_client_id(&self) -> String {
        format!("sim{:019}", self.next_id())
    }

    /// Locks the venue; a panic elsewhere never poisons it for good.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends the user-data events the cores produced, in core order. Call with the lock held.
    pub fn flush_user_events(&self, st: &mut State) {
        let evs = st.ex.drain_events();
        if !evs.is_empty() {
            self.hub.push_user(evs);
        }
    }
}

/// `ATOM/USDT` → (`ATOM`, `USDT`).
fn split_pair(pair: &str) -> (String, String) {
    let (b, q) = pair.split_once('/').unwrap_or((pair, ""));
    (b.to_string(), q.to_string())
}

/// Builds the venue from a loaded tape.
pub fn build(settings: Settings, tape: &tape::Tape, journal: Option<journal::Journal>) -> Arc<Sim> {
    let specs = tape
        .symbols
        .iter()
        .map(|s| {
            let (base, quote) = split_pair(&s.pair);
            let spec = matching::SymbolSpec {
                name: s.name.clone(),
                base,
                quote,
                tick: s.tick,
                step: s.step,
                min_price: s.tick,
                max_price: Decimal::from(1_000_000),
                min_qty: s.step,
                max_qty: Decimal::from(9_000_000),
                min_notional: settings.min_notional,
                max_notional: Decimal::from(9_000_000),
            };
            (spec, s.first_price)
        })
        .collect();
    let mut balances = settings.balances.clone();
    for s in &tape.symbols {
        let (b, q) = split_pair(&s.pair);
        balances.entry(q).or_insert(Decimal::from(10_000));
        balances.entry(b).or_insert(Decimal::from(100));
    }
    let state = State {
        ex: matching::Exchange::new(specs, balances, settings.knobs.clone()),
        limits: limits::Limits::new(settings.limits.clone()),
        faults: faults::Faults::default(),
        keys: listen_key::ListenKeys::new(settings.listen_key_ttl_ms),
    };
    let skew = settings.initial_skew_ms;
    let mut history = vec![Vec::new(); tape.symbols.len()];
    for t in &tape.trades {
        history[t.sym].push(matching::PubTrade {
            id: t.id,
            price: t.price,
            qty: t.qty,
            time: t.ts_ms,
            buyer_maker: t.buyer_maker,
        });
    }
    for h in &mut history {
        h.sort_by_key(|t| (t.time, t.id));
    }
    Arc::new(Sim {
        hub: feed::Hub::new(),
        state: Mutex::new(state),
        settings,
        journal,
        symbols: tape.symbols.clone(),
        history,
        skew_ms: AtomicI64::new(skew),
        next_id: AtomicU64::new(1),
    })
}

/// Where the sim listens once bound.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub rest: SocketAddr,
    pub ws: SocketAddr,
}

impl Bound {
    /// The one line printed on stdout when the sim is ready.
    pub fn ready_line(&self) -> String {
        format!(
            "{{\"kind\":\"sim_ready\",\"rest_url\":\"http://{}\",\"ws_url\":\"ws://{}\"}}",
            self.rest, self.ws
        )
    }
}

/// Binds both ports on 127.0.0.1 and returns the futures that serve them and play the tape.
pub async fn serve(
    sim: Arc<Sim>,
    tape: tape::Tape,
    rest_port: u16,
    ws_port: u16,
    on_ready: impl FnOnce(Bound),
) -> std::io::Result<()> {
    let rest_l = tokio::net::TcpListener::bind(("127.0.0.1", rest_port)).await?;
    let ws_l = tokio::net::TcpListener::bind(("127.0.0.1", ws_port)).await?;
    let bound = Bound {
        rest: rest_l.local_addr()?,
        ws: ws_l.local_addr()?,
    };
    let step_tx = feed::spawn_player(sim.clone(), tape);
    tokio::spawn(listen_key::expiry_task(sim.clone()));
    let rest = rest::router(sim.clone(), step_tx);
    let wsr = ws::router(sim.clone());
    on_ready(bound);
    let r = tokio::spawn(async move {
        axum::serve(
            rest::KillableListener(rest_l),
            rest.into_make_service_with_connect_info::<rest::ConnHandle>(),
        )
        .await
    });
    let w = tokio::spawn(async move { axum::serve(ws_l, wsr).await });
    tokio::select! {
        r = r => r.map_err(std::io::Error::other)?,
        w = w => w.map_err(std::io::Error::other)?,
    }
}

/// Side from Binance's `BUY` / `SELL`.
pub fn parse_side(s: &str) -> Option<Side> {
    match s {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}
