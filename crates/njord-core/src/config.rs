//! Configuration types (DESIGN §7): every section and key, with its default, so a missing base
//! file still runs. The structs deny unknown keys; the loader that reads files and the
//! environment into them is the shell's (`njord::config`).

use crate::backoff::RetryPolicy;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The default location of the base configuration.
pub const DEFAULT_PATH: &str = "config/base.yaml";

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub app: App,
    pub logging: Logging,
    pub journal: Journal,
    pub bars: Bars,
    pub strat: Strat,
    pub redis: Redis,
    pub exchange: Exchange,
    pub ingest: Ingest,
    pub risk: Risk,
    pub paper: Paper,
    pub exec: Exec,
    pub broker: Broker,
    pub kill: Kill,
    pub telemetry: Telemetry,
    pub audit: Audit,
    pub api_keys: ApiKeys,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct App {
    /// Instance name, used in logs.
    pub name: String,
    /// `dev`, `paper` or `live`. Real orders need `live` and `NJORD_ENABLE_LIVE=1`.
    pub env: Env,
}

impl Default for App {
    fn default() -> Self {
        App {
            name: "njord".into(),
            env: Env::Dev,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Dev,
    Paper,
    Live,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// Level of the stderr log: error, warn, info, debug or trace.
    pub level: String,
    /// Directory of the structured log `app.ndjson`.
    pub log_dir: PathBuf,
    /// Write JSON lines to `{log_dir}/app.ndjson`.
    pub json_file: bool,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: "info".into(),
            log_dir: "var/log/njord".into(),
            json_file: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Journal {
    /// Directory of the NDJSON journals.
    pub dir: PathBuf,
    /// When journals reach the disk: `never` (the OS decides), `batch` (fsync after every
    /// batch) or `always` (fsync after every line).
    pub fsync: FsyncPolicy,
    /// Start a new file `{stem}.{YYYYMMDD}[.{n}].ndjson` once the open one would exceed this
    /// many bytes (default 100 MiB; 0 disables size rotation).
    pub rotate_max_bytes: u64,
    /// Start a new file when a line's event time falls on a later UTC day.
    pub rotate_daily: bool,
    /// Gzip (level 6) each rotated file in the background, verified before the original goes.
    pub compress_rotated: bool,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            dir: "var/log/njord".into(),
            fsync: FsyncPolicy::Never,
            rotate_max_bytes: 100 * 1024 * 1024,
            rotate_daily: true,
            compress_rotated: true,
        }
    }
}

/// The audit trail (docs/audit.md): one hash chain per writing process, sealed records of
/// every state change, signed checkpoints and anchors outside the trail's directory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// Write the trail.
    pub enabled: bool,
    /// Directory of the chains, `audit.{writer}.ndjson` each (rotated as journals are).
    pub dir: PathBuf,
    /// `never`, `batch` or `always`, as for journals: records reach the OS before the output
    /// they record leaves the stage, and the disk per this policy.
    pub fsync: FsyncPolicy,
    /// Rotation and compression of closed files, as for journals.
    pub rotate_max_bytes: u64,
    pub rotate_daily: bool,
    pub compress_rotated: bool,
    /// A checkpoint (the chain's head and count, signed) after this many records (0: never
    /// by count) ...
    pub checkpoint_records: u64,
    /// ... or once this many ms have passed since the last one, at the next flush (0: never
    /// by time).
    pub checkpoint_ms: u64,
    /// Ed25519 secret key (64 hex digits, the seed; mode 0600; `njord-audit keygen`) that
    /// signs checkpoints. Without it checkpoints are unsigned.
    pub key_file: Option<PathBuf>,
    /// The installation's Ed25519 public key (64 hex digits): `njord-audit verify` checks every
    /// checkpoint's signature with it.
    pub public_key: Option<String>,
    /// A directory outside `dir` that receives each chain's head at every checkpoint
    /// (`{writer}.head`), so truncating the trail is detected up to the last anchor.
    pub anchor_dir: Option<PathBuf>,
    /// A Redis key prefix: each checkpoint's head is also SET at `{prefix}{writer}` on
    /// `redis.url`.
    pub anchor_redis_prefix: Option<String>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: false,
            dir: "var/log/njord/audit".into(),
            fsync: FsyncPolicy::Never,
            rotate_max_bytes: 100 * 1024 * 1024,
            rotate_daily: true,
            compress_rotated: true,
            checkpoint_records: 10_000,
            checkpoint_ms: 60_000,
            key_file: None,
            public_key: None,
            anchor_dir: None,
            anchor_redis_prefix: None,
        }
    }
}

/// Settings of `njord-bars`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bars {
    /// In daemon mode, a bar is closed once event time (the latest trade time seen, advanced
    /// by the quiet time while nothing arrives) is this long past its bucket's end (ms).
    pub grace_ms: u64,
    /// Symbols aggregated at once; trades of a symbol beyond them are refused and counted,
    /// so memory stays bounded.
    pub max_symbols: usize,
}

impl Default for Bars {
    fn default() -> Self {
        Bars {
            grace_ms: 2_000,
            max_symbols: 10_000,
        }
    }
}

/// Settings of `njord-strat` (and the backtester's strategy core).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Strat {
    /// Distinct symbols routed; events of a symbol beyond them are refused and counted.
    pub max_symbols: usize,
    /// Symbols one strategy runs an instance for (a pattern such as `*/USDT` matches many);
    /// events of a symbol beyond them do not reach that strategy and are counted.
    pub max_symbols_per_strategy: usize,
}

impl Default for Strat {
    fn default() -> Self {
        Strat {
            max_symbols: 10_000,
            max_symbols_per_strategy: 1_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    #[default]
    Never,
    Batch,
    Always,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Redis {
    /// Redis URL used by daemons and `njord-kill` when no `--bus`/`--redis` is given.
    pub url: Option<String>,
    /// First reconnect delay, in milliseconds.
    pub reconnect_base_ms: u64,
    /// Longest reconnect delay, in milliseconds.
    pub reconnect_max_ms: u64,
    /// Channel names; `{symbol}` and `{timeframe}` are filled in.
    pub topics: Topics,
}

impl Default for Redis {
    fn default() -> Self {
        Redis {
            url: None,
            reconnect_base_ms: 100,
            reconnect_max_ms: 5_000,
            topics: Topics::default(),
        }
    }
}

/// Redis channel names of every event kind (DESIGN §4).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    pub trades: String,
    pub book: String,
    pub ticker: String,
    pub ohlcv: String,
    pub intents: String,
    pub decisions: String,
    pub orders: String,
    pub cancels: String,
    pub fills: String,
    pub positions: String,
    pub echo: String,
    pub acks: String,
    pub order_updates: String,
    pub balances: String,
    pub allocations: String,
    pub allocation_rejections: String,
    pub reconcile_breaks: String,
    /// Progress of the parent orders njord-exec works.
    pub exec_status: String,
    /// Where njord-risk publishes the orders that carry `exec` (parents), for njord-exec
    /// alone: paper and the broker read only its children on `orders`.
    pub exec_parents: String,
    /// Where njord-portfolio publishes the intents it sized (njord-risk reads `intents`).
    pub portfolio_intents: String,
    /// Where njord-strat publishes a strategy's regime switches.
    pub regime: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            trades: "md.trades.{symbol}".into(),
            book: "md.book.{symbol}".into(),
            ticker: "md.ticker.{symbol}".into(),
            ohlcv: "md.ohlcv.{timeframe}.{symbol}".into(),
            intents: "strat.intent".into(),
            decisions: "risk.decisions".into(),
            orders: "orders.accepted".into(),
            cancels: "orders.cancel".into(),
            fills: "fills.new".into(),
            positions: "positions.snapshot".into(),
            echo: "broker.echo".into(),
            acks: "broker.acks".into(),
            order_updates: "broker.orders".into(),
            balances: "broker.balances".into(),
            allocations: "portfolio.allocations".into(),
            allocation_rejections: "portfolio.rejections".into(),
            reconcile_breaks: "portfolio.reconcile".into(),
            exec_status: "exec.status".into(),
            exec_parents: "orders.parent".into(),
            portfolio_intents: "portfolio.intent".into(),
            regime: "strat.regime".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exchange {
    /// Venue name written in events.
    pub venue: String,
    /// Symbols traded and ingested, as `BASE/QUOTE`.
    pub symbols: Vec<String>,
    /// REST base URL.
    pub rest_url: String,
    /// WebSocket base URL.
    pub ws_url: String,
}

impl Default for Exchange {
    fn default() -> Self {
        Exchange {
            venue: "binanceus".into(),
            symbols: vec!["ATOM/USDT".into()],
            rest_url: "https://api.binance.us".into(),
            ws_url: "wss://stream.binance.us:9443".into(),
        }
    }
}

/// `njord-ingest`: reconnects, liveness and gap recovery of the market-data stream.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Ingest {
    /// First reconnect delay, in milliseconds (doubles per failed attempt, with jitter).
    pub reconnect_base_ms: u64,
    /// Longest reconnect delay, in milliseconds.
    pub reconnect_max_ms: u64,
    /// No frame at all (data, ping or pong) for this long means the connection is dead.
    pub liveness_timeout_ms: u64,
    /// Ping the server after this long without a frame; 0 never pings.
    pub ping_idle_ms: u64,
    /// Reconnect proactively after this long; Binance closes connections at 24 h.
    pub max_connection_secs: u64,
    /// Trades after a missing id wait this long for it before REST is asked.
    pub gap_hold_ms: u64,
    /// Trades asked from REST `/api/v3/trades` to fill gaps (1000 at most).
    pub recovery_trades: u32,
    /// Levels a side in `book` events.
    pub book_levels: usize,
    /// Levels a side asked for in REST depth snapshots.
    pub snapshot_levels: u32,
    /// Timeout of REST requests and of the WebSocket handshake, in milliseconds.
    pub request_timeout_ms: u64,
    /// Counters are logged this often (and at exit); 0 logs them only at exit.
    pub stats_interval_secs: u64,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            reconnect_base_ms: 250,
            reconnect_max_ms: 30_000,
            liveness_timeout_ms: 30_000,
            ping_idle_ms: 10_000,
            max_connection_secs: 23 * 3600,
            gap_hold_ms: 200,
            recovery_trades: 1000,
            book_levels: 20,
            snapshot_levels: 1000,
            request_timeout_ms: 10_000,
            stats_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Risk {
    /// Largest notional of one order, in USD.
    #[serde(with = "crate::num")]
    pub per_order_usd_cap: Decimal,
    /// Trading stops for the UTC day once net realized PnL reaches minus this, in USD.
    #[serde(with = "crate::num")]
    pub daily_loss_usd_cap: Decimal,
    /// Orders allowed per minute and symbol (token bucket in event time).
    pub orders_per_min_cap: u32,
    /// Kill file: while it exists, trading is halted.
    pub kill_switch_file: PathBuf,
    /// Redis key of the kill switch; "0" means clear, any other value tripped.
    pub kill_switch_key: String,
    /// How many allowed intent ids are kept in memory to deny `duplicate_intent` (default
    /// 100000).
    pub dedup_window: usize,
    /// How long an allowed intent id is remembered on Redis (shared across restarts), in
    /// seconds (default 172800: two days).
    pub dedup_ttl_s: u64,
    /// The oldest a reference price may be, against the intent's time, in milliseconds
    /// (default 60000); an older or non-positive one is denied `ref_price_stale`.
    pub max_ref_age_ms: u64,
    /// njord-risk trips the kill switch (the file, and the Redis key when it has Redis) once
    /// the day's loss reaches `daily_loss_usd_cap`: on the position that shows it, or an
    /// intent denied for it; once per UTC day and cap, across restarts (default false).
    pub trip_on_daily_loss: bool,
}

impl Default for Risk {
    fn default() -> Self {
        Risk {
            per_order_usd_cap: Decimal::from(250),
            daily_loss_usd_cap: Decimal::from(300),
            orders_per_min_cap: 30,
            kill_switch_file: "var/run/njord/halt".into(),
            kill_switch_key: "njord:trading:halt".into(),
            dedup_window: 100_000,
            dedup_ttl_s: 2 * 86_400,
            max_ref_age_ms: 60_000,
            trip_on_daily_loss: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paper {
    /// Fee of fills that rested (maker), in basis points of notional.
    #[serde(with = "crate::num")]
    pub maker_fee_bps: Decimal,
    /// Fee of fills that crossed (taker), in basis points of notional.
    #[serde(with = "crate::num")]
    pub taker_fee_bps: Decimal,
    /// Taker fills move this many basis points against the order (slippage); with the
    /// `linear` model, the slippage of an order as large as the window's volume.
    #[serde(with = "crate::num")]
    pub slippage_bps: Decimal,
    /// `fixed`, `linear`, `sqrt` or `book` (see `njord_core::paper::impact`).
    pub slippage_model: crate::paper::impact::Model,
    /// The `sqrt` model's coefficient: slippage = impact_k × σ × √(q / V).
    pub impact_k: f64,
    /// The window of traded volume and volatility of the `linear` and `sqrt` models, in ms.
    pub impact_window_ms: u64,
    /// An order or cancel reaches the simulated venue this long after it was sent, in event
    /// time (ms), plus a draw up to `latency_jitter_ms` seeded with `latency_seed`.
    pub latency_ms: u64,
    pub latency_jitter_ms: u64,
    pub latency_seed: u64,
    /// A resting limit joins behind the size the last `book` shows at its price and fills
    /// only once that much has traded there.
    pub queue_position: bool,
    /// Spot balances per asset at start (`{USDT: 10000}`); empty: no balance checks. When
    /// set, an order they cannot pay for is rejected.
    pub initial_balances: std::collections::BTreeMap<String, crate::num::Dec>,
    /// With balances, allow selling more of an asset than is held (short selling).
    pub allow_short: bool,
    /// Orders that may rest or wait at once; one more (that would not fill at once) is
    /// rejected with `open_orders_cap` and counted, so memory stays bounded.
    pub max_open_orders: usize,
}

impl Default for Paper {
    fn default() -> Self {
        Paper {
            maker_fee_bps: Decimal::from(10),
            taker_fee_bps: Decimal::from(10),
            slippage_bps: Decimal::ZERO,
            slippage_model: crate::paper::impact::Model::Fixed,
            impact_k: 1.0,
            impact_window_ms: 60_000,
            latency_ms: 0,
            latency_jitter_ms: 0,
            latency_seed: 0,
            queue_position: false,
            initial_balances: Default::default(),
            allow_short: false,
            max_open_orders: 10_000,
        }
    }
}

/// The symbols' lot rules njord-exec cuts children to (the venue's LOT_SIZE `stepSize` and
/// NOTIONAL `minNotional`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exec {
    /// Lot step per symbol (`{ATOM/USDT: 0.01}`); others use `default_lot_step`.
    pub lot_steps: std::collections::BTreeMap<String, crate::num::Dec>,
    #[serde(with = "crate::num")]
    pub default_lot_step: Decimal,
    /// Smallest child notional per symbol, in the quote asset; others use
    /// `default_min_notional`.
    pub min_notionals: std::collections::BTreeMap<String, crate::num::Dec>,
    #[serde(with = "crate::num")]
    pub default_min_notional: Decimal,
    /// Parent orders worked at once; one more is rejected (`exec_status` `rejected`).
    pub max_parents: usize,
}

impl Default for Exec {
    fn default() -> Self {
        Exec {
            lot_steps: Default::default(),
            default_lot_step: Decimal::new(1, 8),
            min_notionals: Default::default(),
            default_min_notional: Decimal::ZERO,
            max_parents: 1_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Broker {
    /// Ceiling on live notional per order, in USD; can lower the built-in 10 USD, never raise it.
    #[serde(with = "crate::num")]
    pub live_max_notional_usd: Decimal,
    /// Read-only: never place or cancel.
    pub read_only: bool,
    /// `recvWindow` of signed requests, in milliseconds (the venue allows at most 60000).
    pub recv_window_ms: u64,
    /// Tries per REST request, the first included (network errors, 429, 418, 5xx).
    pub max_attempts: u32,
    /// First retry delay, doubled per attempt, in milliseconds (a `Retry-After` wins).
    pub retry_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub retry_max_ms: u64,
    /// Timeout of one REST request, in milliseconds; an order that times out is looked up.
    pub request_timeout_ms: u64,
    /// Share of the venue's request-weight limit (percent) after which requests wait for the
    /// next minute.
    pub weight_slowdown_pct: u32,
    /// REST polling of orders and fills (fallback to the user stream), in milliseconds.
    pub poll_interval_ms: u64,
    /// How often balances are published, in milliseconds.
    pub balance_interval_ms: u64,
    /// How often the venue's clock offset is measured again (and recorded in the audit
    /// trail), in milliseconds; also at start and after a -1021 answer.
    pub clock_sync_interval_ms: u64,
    /// User-stream listenKey keepalive, in milliseconds (the venue expires keys after 60 min).
    pub keepalive_interval_ms: u64,
    /// User-stream reconnect backoff: first delay and cap, in milliseconds.
    pub reconnect_base_ms: u64,
    pub reconnect_max_ms: u64,
    /// On shutdown, how long to keep following in-flight orders to a final status, in ms.
    pub shutdown_grace_ms: u64,
    /// The oldest the last input trade may be when an order is checked, against the
    /// broker's clock, in ms (default 5000).
    pub max_ref_age_ms: u64,
    /// How far the input's reference price may be from the venue's mid, in basis points
    /// (default 100); further is `ref_price_deviation`.
    #[serde(with = "crate::num")]
    pub max_deviation_bps: Decimal,
    /// Allowance over the touch that an order is priced at for the cap, and the limit of a
    /// market intent sent as IOC, in basis points (default 50).
    #[serde(with = "crate::num")]
    pub slippage_bps: Decimal,
    /// Live market intents go out as limit IOC orders at the capped price (default true), so
    /// the cap holds whatever the market does between the check and the fill.
    pub market_as_limit_ioc: bool,
    /// At start, the venue's orders of this many ms back are read (allOrders, at most 24 h),
    /// so client order ids used by an earlier run or another host are never sent again.
    pub startup_lookback_ms: u64,
}

/// What a trip of the kill switch does beyond stopping new orders.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Kill {
    /// The live broker cancels its open orders when it sees the switch trip (default false).
    pub cancel_open: bool,
}

impl Broker {
    /// How often and how patiently one REST request (or one order) is tried.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            base: Duration::from_millis(self.retry_base_ms),
            max: Duration::from_millis(self.retry_max_ms),
        }
    }
}

impl Default for Broker {
    fn default() -> Self {
        Broker {
            live_max_notional_usd: Decimal::from(10),
            read_only: false,
            recv_window_ms: 5_000,
            max_attempts: 5,
            retry_base_ms: 250,
            retry_max_ms: 10_000,
            request_timeout_ms: 10_000,
            weight_slowdown_pct: 90,
            poll_interval_ms: 5_000,
            balance_interval_ms: 30_000,
            clock_sync_interval_ms: 3_600_000,
            keepalive_interval_ms: 1_800_000,
            reconnect_base_ms: 500,
            reconnect_max_ms: 30_000,
            shutdown_grace_ms: 5_000,
            max_ref_age_ms: 5_000,
            max_deviation_bps: Decimal::from(100),
            slippage_bps: Decimal::from(50),
            market_as_limit_ioc: true,
            startup_lookback_ms: 86_400_000,
        }
    }
}

/// Where a daemon serves `/metrics`, `/livez` and `/readyz`, and when it counts as stale.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    /// `HOST:PORT` of the metrics endpoint (port 0: any free port, logged at start); `off`
    /// serves none. Anything but loopback needs `api_keys.metrics.token`.
    pub addr: String,
    /// `/readyz` fails once the event-time watermark has not advanced for this long (0: never).
    pub stale_after_ms: u64,
    /// How often `--metrics-file` is rewritten.
    pub file_interval_ms: u64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            addr: "127.0.0.1:0".into(),
            stale_after_ms: 60_000,
            file_interval_ms: 1_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeys {
    pub binanceus: ApiKey,
    /// The bearer token a metrics endpoint off loopback requires.
    pub metrics: BearerToken,
    /// njord-alert's secrets by name (webhook URLs, bot tokens), which `config/alerts.yaml`
    /// refers to.
    pub alerts: NamedSecrets,
    /// The bearer tokens of njord-ctl's control API by name (the name is logged with every
    /// command).
    pub ctl: NamedSecrets,
}

/// Secrets by name. Never printed: `Debug` and `--print-config` show the names only.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct NamedSecrets(pub std::collections::BTreeMap<String, SecretString>);

impl NamedSecrets {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.expose_secret())
    }
}

impl std::fmt::Debug for NamedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl Serialize for NamedSecrets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.keys().map(|k| (k, "<redacted>")))
    }
}

/// A bearer token. Never printed: `Debug` and `--print-config` show `<redacted>`.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BearerToken {
    pub token: Option<SecretString>,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Serialize for BearerToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("BearerToken", 1)?;
        st.serialize_field("token", &self.token.as_ref().map(|_| "<redacted>"))?;
        st.end()
    }
}

/// An API key pair. Never printed: `Debug` and `--print-config` show `<redacted>`.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKey {
    pub key: Option<SecretString>,
    pub secret: Option<SecretString>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Serialize for ApiKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let shown = |v: &Option<SecretString>| v.as_ref().map(|_| "<redacted>");
        let mut st = s.serialize_struct("ApiKey", 2)?;
        st.serialize_field("key", &shown(&self.key))?;
        st.serialize_field("secret", &shown(&self.secret))?;
        st.end()
    }
}

impl ApiKey {
    /// Both halves, when configured.
    pub fn pair(&self) -> Option<(&str, &str)> {
        Some((
            self.key.as_ref()?.expose_secret(),
            self.secret.as_ref()?.expose_secret(),
        ))
    }
}
