//! Configuration (DESIGN §7): `config/base.yaml`, an optional `secrets.yaml` beside it, then
//! environment overrides. Every key has a default, so a missing base file still runs.
//!
//! Layers are merged as JSON trees and then read into typed structs that deny unknown keys;
//! an error names the key path, the layer it came from (file or variable) and what was
//! expected. Environment overrides: `NJORD__SECTION__KEY=value` (value read as YAML, so
//! `5`, `true` and `[a, b]` work), plus `NJORD_BINANCEUS_API_KEY` / `NJORD_BINANCEUS_API_SECRET`.

use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The default location of the base configuration.
pub const DEFAULT_PATH: &str = "config/base.yaml";

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub app: App,
    pub logging: Logging,
    pub journal: Journal,
    pub bars: Bars,
    pub redis: Redis,
    pub exchange: Exchange,
    pub ingest: Ingest,
    pub risk: Risk,
    pub paper: Paper,
    pub broker: Broker,
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

/// Settings of `njord-bars`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bars {
    /// In daemon mode, a bar is closed by the wall clock this long after its bucket ended
    /// when no later trade has closed it (milliseconds).
    pub grace_ms: u64,
}

impl Default for Bars {
    fn default() -> Self {
        Bars { grace_ms: 2_000 }
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
    /// Redis key of the kill switch; "1" means tripped.
    pub kill_switch_key: String,
    /// How many allowed intent ids are kept in memory to deny `duplicate_intent` (default
    /// 100000).
    pub dedup_window: usize,
    /// How long an allowed intent id is remembered on Redis (shared across restarts), in
    /// seconds (default 172800: two days).
    pub dedup_ttl_s: u64,
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
    /// Taker fills move this many basis points against the order (slippage).
    #[serde(with = "crate::num")]
    pub slippage_bps: Decimal,
    /// Spot balances per asset at start (`{USDT: 10000}`); empty: no balance checks. When
    /// set, an order they cannot pay for is rejected.
    pub initial_balances: std::collections::BTreeMap<String, crate::num::Dec>,
    /// With balances, allow selling more of an asset than is held (short selling).
    pub allow_short: bool,
}

impl Default for Paper {
    fn default() -> Self {
        Paper {
            maker_fee_bps: Decimal::from(10),
            taker_fee_bps: Decimal::from(10),
            slippage_bps: Decimal::ZERO,
            initial_balances: Default::default(),
            allow_short: false,
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
    /// User-stream listenKey keepalive, in milliseconds (the venue expires keys after 60 min).
    pub keepalive_interval_ms: u64,
    /// User-stream reconnect backoff: first delay and cap, in milliseconds.
    pub reconnect_base_ms: u64,
    pub reconnect_max_ms: u64,
    /// On shutdown, how long to keep following in-flight orders to a final status, in ms.
    pub shutdown_grace_ms: u64,
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
            keepalive_interval_ms: 1_800_000,
            reconnect_base_ms: 500,
            reconnect_max_ms: 30_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeys {
    pub binanceus: ApiKey,
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

/// A configuration error; the message names the key, the source and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {msg}")]
    Syntax { path: String, msg: String },
    #[error("{source_name}: key `{key}`: {msg}")]
    Key {
        source_name: String,
        key: String,
        msg: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The effective configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// The secrets file and its permission bits, when one was read.
    pub secrets: Option<(PathBuf, u32)>,
}

impl Loaded {
    /// The configuration as YAML with secrets redacted.
    pub fn to_yaml(&self) -> String {
        let v = serde_json::to_value(&self.config).unwrap_or(Value::Null);
        serde_saphyr::to_string(&v).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// Refuses a secrets file others can read; required before trading live (DESIGN §7).
    pub fn check_secrets_private(&self) -> Result<(), ConfigError> {
        match &self.secrets {
            Some((path, mode)) if mode & 0o077 != 0 => Err(ConfigError::Other(format!(
                "{}: mode is {:o}, but live trading needs 600; run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ))),
            _ => Ok(()),
        }
    }
}

/// Loads the configuration: `path` (an error if given and missing) or `config/base.yaml`
/// (defaults if missing), then `secrets.yaml` beside it, then the process environment.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_with_env(path, std::env::vars())
}

/// [`load`] with an explicit environment, for tests.
pub fn load_with_env(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let base_path = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let mut files = Vec::new();
    let mut tree = Value::Object(Default::default());

    if let Some(base) = read_yaml(&base_path, path.is_some())? {
        check(&base, &base_path.display().to_string())?;
        merge(&mut tree, base);
        files.push(base_path.clone());
    }

    let secrets_path = base_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("secrets.yaml");
    let mut secrets = None;
    if let Some(sec) = read_yaml(&secrets_path, false)? {
        let name = secrets_path.display().to_string();
        if let Some(k) = sec
            .as_object()
            .and_then(|o| o.keys().find(|k| k.as_str() != "api_keys"))
        {
            return Err(ConfigError::Key {
                source_name: name,
                key: k.clone(),
                msg: "the secrets file may only hold `api_keys`".into(),
            });
        }
        let mut layered = tree.clone();
        merge(&mut layered, sec);
        check(&layered, &name)?;
        tree = layered;
        secrets = Some((secrets_path.clone(), file_mode(&secrets_path)));
        files.push(secrets_path);
    }

    for (name, value) in env {
        let Some(key_path) = env_key_path(&name) else {
            continue;
        };
        let scalar: Value = if key_path.last().is_some_and(|k| k == "key" || k == "secret") {
            Value::String(value)
        } else {
            serde_saphyr::from_str(&value).unwrap_or(Value::String(value))
        };
        let mut layered = tree.clone();
        set_path(&mut layered, &key_path, scalar);
        check(&layered, &format!("environment variable {name}"))?;
        tree = layered;
    }

    let config = check(&tree, "configuration")?;
    Ok(Loaded {
        config,
        files,
        secrets,
    })
}

/// Maps `NJORD__RISK__PER_ORDER_USD_CAP` and the two API key variables to key paths.
fn env_key_path(name: &str) -> Option<Vec<String>> {
    match name {
        "NJORD_BINANCEUS_API_KEY" => {
            Some(vec!["api_keys".into(), "binanceus".into(), "key".into()])
        }
        "NJORD_BINANCEUS_API_SECRET" => {
            Some(vec!["api_keys".into(), "binanceus".into(), "secret".into()])
        }
        _ => {
            let rest = name.strip_prefix("NJORD__")?;
            let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            (!parts.iter().any(String::is_empty)).then_some(parts)
        }
    }
}

fn read_yaml(path: &Path, required: bool) -> Result<Option<Value>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source: e,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(Value::Object(Default::default())));
    }
    let v: Value = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    match v {
        Value::Object(_) => Ok(Some(v)),
        Value::Null => Ok(Some(Value::Object(Default::default()))),
        _ => Err(ConfigError::Syntax {
            path: path.display().to_string(),
            msg: "the top level must be a mapping of sections (app, risk, …)".into(),
        }),
    }
}

/// Reads `tree` into a [`Config`], naming `source_name` and the key path on error.
fn check(tree: &Value, source_name: &str) -> Result<Config, ConfigError> {
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Key {
            source_name: source_name.to_string(),
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            msg: e.into_inner().to_string(),
        }
    })
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn set_path(tree: &mut Value, path: &[String], v: Value) {
    let mut cur = tree;
    for k in path {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Value::Object(m) = cur else { return };
        cur = m.entry(k.clone()).or_insert(Value::Null);
    }
    *cur = v;
}

#[cfg(unix)]
fn file_mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o777)
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> u32 {
    0o600
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn missing_default_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let l = load_with_env(Some(&dir.path().join("nope.yaml")), env(&[]));
        assert!(
            matches!(l, Err(ConfigError::Read { .. })),
            "an explicit path must exist"
        );
        let cwd_default = load_with_env(None, env(&[])).unwrap();
        assert_eq!(
            cwd_default.config.risk.kill_switch_key,
            "njord:trading:halt"
        );
    }

    #[test]
    fn unknown_and_mistyped_keys_name_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "risk:\n  per_order_usd_cap: lots\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(
            e.contains("base.yaml")
                && e.contains("risk.per_order_usd_cap")
                && e.contains("decimal"),
            "{e}"
        );
        fs::write(&p, "risk:\n  per_order_cap: 5\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(
            e.contains("unknown field `per_order_cap`") && e.contains("base.yaml"),
            "{e}"
        );
        fs::write(&p, "risk:\n  orders_per_min_cap: -3\n").unwrap();
        let e = load_with_env(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(e.contains("risk.orders_per_min_cap"), "{e}");
    }

    #[test]
    fn layers_secrets_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("base.yaml");
        fs::write(&p, "risk:\n  per_order_usd_cap: 12.5\n").unwrap();
        fs::write(
            dir.path().join("secrets.yaml"),
            "api_keys:\n  binanceus:\n    key: K\n    secret: S3CR3T\n",
        )
        .unwrap();
        let l = load_with_env(
            Some(&p),
            env(&[
                ("NJORD__RISK__ORDERS_PER_MIN_CAP", "7"),
                ("NJORD_BINANCEUS_API_SECRET", "0123"),
            ]),
        )
        .unwrap();
        assert_eq!(l.config.risk.per_order_usd_cap.to_string(), "12.5");
        assert_eq!(l.config.risk.orders_per_min_cap, 7);
        assert_eq!(l.config.api_keys.binanceus.pair(), Some(("K", "0123")));
        let shown = format!("{} {:?}", l.to_yaml(), l.config);
        assert!(
            !shown.contains("S3CR3T") && !shown.contains("0123") && shown.contains("<redacted>"),
            "{shown}"
        );
        let e = load_with_env(Some(&p), env(&[("NJORD__RISK__NOPE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NJORD__RISK__NOPE") && e.contains("nope"), "{e}");
    }
}

#[cfg(test)]
mod base_yaml {
    /// `config/base.yaml` documents every key with its default: it must load to exactly the
    /// built-in defaults, so a key added to the code without its documented line fails here.
    #[test]
    fn base_yaml_lists_every_key_with_its_default() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/base.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let file: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let defaults = serde_json::to_value(super::Config::default()).unwrap();
        let loaded = serde_json::to_value(
            super::load_with_env(Some(&path), Vec::new())
                .unwrap()
                .config,
        )
        .unwrap();
        assert_eq!(
            loaded, defaults,
            "base.yaml values differ from the defaults"
        );
        fn keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    let p = format!("{prefix}{k}");
                    keys(v, &format!("{p}."), out);
                    out.push(p);
                }
            }
        }
        let (mut a, mut b) = (vec![], vec![]);
        keys(&file, "", &mut a);
        keys(&defaults, "", &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b, "base.yaml must list every key");
    }
}
