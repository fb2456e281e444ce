//! The session file (`config/session.yaml`): the stages of a trading session, how they are
//! wired and supervised, and an optional managed `redis-server` and `njord-sim` for
//! rehearsals. Unknown keys are errors naming the key and the file.

use njord_core::backtest::metrics::parse_interval;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default session file.
pub const DEFAULT_PATH: &str = "config/session.yaml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    state_dir: Option<PathBuf>,
    #[serde(default)]
    bus: Option<String>,
    #[serde(default)]
    redis: Option<RedisSpec>,
    #[serde(default)]
    sim: Option<SimSpec>,
    #[serde(default)]
    supervise: SuperviseSpec,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    api: ApiSpec,
    #[serde(default)]
    metrics_addr: Option<String>,
    stages: Vec<StageSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSpec {
    #[serde(default = "d_api_addr")]
    addr: String,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default = "d_api_rate")]
    rate_per_minute: u32,
    telegram: Option<TelegramSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramSpec {
    #[serde(default = "d_telegram_url")]
    url: String,
    token_secret: String,
    chat_ids: Vec<i64>,
}

fn d_telegram_url() -> String {
    "https://api.telegram.org".into()
}

impl Default for ApiSpec {
    fn default() -> Self {
        ApiSpec {
            addr: d_api_addr(),
            tls_cert: None,
            tls_key: None,
            rate_per_minute: d_api_rate(),
            telegram: None,
        }
    }
}

fn d_api_addr() -> String {
    "127.0.0.1:0".into()
}
fn d_api_rate() -> u32 {
    120
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisSpec {
    #[serde(default)]
    port: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimSpec {
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuperviseSpec {
    #[serde(default = "d_ready_timeout")]
    ready_timeout: String,
    #[serde(default = "d_backoff_first")]
    backoff_first: String,
    #[serde(default = "d_backoff_max")]
    backoff_max: String,
    #[serde(default = "d_crash_loop_restarts")]
    crash_loop_restarts: u32,
    #[serde(default = "d_crash_loop_within")]
    crash_loop_within: String,
    #[serde(default = "d_stop_grace")]
    stop_grace: String,
    #[serde(default = "d_stuck_after")]
    stuck_after: String,
}

impl Default for SuperviseSpec {
    fn default() -> Self {
        SuperviseSpec {
            ready_timeout: d_ready_timeout(),
            backoff_first: d_backoff_first(),
            backoff_max: d_backoff_max(),
            crash_loop_restarts: d_crash_loop_restarts(),
            crash_loop_within: d_crash_loop_within(),
            stop_grace: d_stop_grace(),
            stuck_after: d_stuck_after(),
        }
    }
}

fn d_ready_timeout() -> String {
    "30s".into()
}
fn d_backoff_first() -> String {
    "1s".into()
}
fn d_backoff_max() -> String {
    "30s".into()
}
fn d_crash_loop_restarts() -> u32 {
    5
}
fn d_crash_loop_within() -> String {
    "60s".into()
}
fn d_stop_grace() -> String {
    "10s".into()
}
fn d_stuck_after() -> String {
    "2m".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageSpec {
    name: String,
    binary: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    consumes: Vec<String>,
    #[serde(default)]
    produces: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    restart: Restart,
    #[serde(default)]
    on_stuck: OnStuck,
    #[serde(default)]
    live: bool,
    #[serde(default)]
    account: Option<String>,
}

/// When a stage that exited is started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Whatever its exit status.
    Always,
    /// Unless it exited with status 0.
    #[default]
    OnFailure,
    Never,
}

/// What happens to a stage alive but not processing (its `/readyz` stale for `stuck_after`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStuck {
    /// Say so (log and status).
    #[default]
    Report,
    /// Say so and restart it.
    Restart,
}

/// A checked session.
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    /// Lock, control socket and the stages' logs.
    pub state_dir: PathBuf,
    /// The bus every stage gets (`--bus`), unless the session manages Redis.
    pub bus: Option<String>,
    /// A managed `redis-server` on loopback (port 0: any free port).
    pub redis: Option<u16>,
    /// A managed `njord-sim serve` with these arguments (ports are the controller's).
    pub sim: Option<Vec<String>>,
    pub supervise: Supervise,
    /// Environment of every stage (a stage's own `env` wins).
    pub env: BTreeMap<String, String>,
    /// `njord-ctl serve`.
    pub api: Api,
    /// Where the controller serves its own `/livez`, `/readyz` (503 naming a stage in a
    /// crash loop or stuck) and `/metrics`, for njord-alert and Prometheus.
    pub metrics_addr: Option<String>,
    pub stages: Vec<Stage>,
}

/// Where and how `njord-ctl serve` listens.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub addr: String,
    /// Certificate and key files (PEM): required off loopback.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub rate_per_minute: u32,
    /// Commands from Telegram chats, through the same handlers.
    pub telegram: Option<Telegram>,
}

/// The Telegram Bot API to poll for `/status`, `/kill` and `/stop`.
#[derive(Debug, Clone, PartialEq)]
pub struct Telegram {
    pub url: String,
    /// The bot token's name in `api_keys.alerts` (the bot that sends alerts can take commands).
    pub token_secret: String,
    /// The only chats whose commands are obeyed.
    pub chat_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Supervise {
    pub ready_timeout: Duration,
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    pub crash_loop_restarts: u32,
    pub crash_loop_within: Duration,
    pub stop_grace: Duration,
    pub stuck_after: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub binary: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub consumes: Vec<String>,
    pub produces: Vec<String>,
    pub depends_on: Vec<String>,
    pub restart: Restart,
    pub on_stuck: OnStuck,
    pub live: bool,
    /// The venue account its orders are for (one producer of orders per account).
    pub account: Option<String>,
}

/// A stage's configuration as the stage loads it: its `--config FILE`, else `NJORD_CONFIG` of
/// its environment, else `config/base.yaml`; then `env` (the process's, the session's and its
/// own, later entries winning) on top. Also the `NJORD_ENABLE_LIVE` it will see.
pub fn stage_config(
    args: &[String],
    env: Vec<(String, String)>,
) -> Result<(crate::config::Loaded, Option<String>), String> {
    let last = |key: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let enable = last("NJORD_ENABLE_LIVE");
    let path = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| last("NJORD_CONFIG"))
        .map(PathBuf::from);
    let loaded = crate::config::load_with_env(path.as_deref(), env).map_err(|e| e.to_string())?;
    Ok((loaded, enable))
}

/// The names `depends_on` may give besides stages.
pub const REDIS: &str = "redis";
pub const SIM: &str = "sim";

fn duration(file: &str, key: &str, v: &str) -> Result<Duration, String> {
    parse_interval(v)
        .map(|ns| Duration::from_nanos(ns as u64))
        .map_err(|e| format!("{file}: key `{key}`: {e}"))
}

impl Session {
    /// Reads and checks a session file. Names must be unique and dependencies known; the
    /// wiring itself is checked by [`super::plan`].
    pub fn load(path: &Path) -> Result<Session, String> {
        let f: File = crate::config::load_yaml(path)?;
        let shown = path.display().to_string();
        let s = &f.supervise;
        let supervise = Supervise {
            ready_timeout: duration(&shown, "supervise.ready_timeout", &s.ready_timeout)?,
            backoff_first: duration(&shown, "supervise.backoff_first", &s.backoff_first)?,
            backoff_max: duration(&shown, "supervise.backoff_max", &s.backoff_max)?,
            crash_loop_restarts: s.crash_loop_restarts.max(1),
            crash_loop_within: duration(
                &shown,
                "supervise.crash_loop_within",
                &s.crash_loop_within,
            )?,
            stop_grace: duration(&shown, "supervise.stop_grace", &s.stop_grace)?,
            stuck_after: duration(&shown, "supervise.stuck_after", &s.stuck_after)?,
        };
        if f.name.is_empty()
            || !f
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "{shown}: key `name`: `{}` is not a session name (letters, digits, - _ .)",
                f.name
            ));
        }
        if f.bus.is_some() && f.redis.is_some() {
            return Err(format!(
                "{shown}: give `bus` (a Redis server you run) or `redis` (one the controller runs), not both"
            ));
        }
        if let Some(b) = &f.bus {
            crate::config::parse_redis_url(b).map_err(|e| format!("{shown}: key `bus`: {e}"))?;
        }
        let mut names: Vec<&str> = vec![];
        for (i, st) in f.stages.iter().enumerate() {
            let at = format!("{shown}: stages[{i}] ({})", st.name);
            if st.name.is_empty() || [REDIS, SIM].contains(&st.name.as_str()) {
                return Err(format!("{at}: `{}` cannot name a stage", st.name));
            }
            if names.contains(&st.name.as_str()) {
                return Err(format!("{at}: a second stage of this name"));
            }
            names.push(&st.name);
        }
        for (i, st) in f.stages.iter().enumerate() {
            let at = format!("{shown}: stages[{i}] ({})", st.name);
            for d in &st.depends_on {
                let known = names.contains(&d.as_str())
                    || (d == REDIS && f.redis.is_some())
                    || (d == SIM && f.sim.is_some());
                if !known {
                    return Err(format!(
                        "{at}: depends_on `{d}`: no such stage (or redis, sim)"
                    ));
                }
            }
        }
        let tls = match (&f.api.tls_cert, &f.api.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => {
                return Err(format!(
                    "{shown}: key `api`: give tls_cert and tls_key together"
                ));
            }
        };
        let api = Api {
            addr: f.api.addr.clone(),
            tls,
            rate_per_minute: f.api.rate_per_minute.max(1),
            telegram: match &f.api.telegram {
                None => None,
                Some(t) => {
                    crate::config::parse_http_url(&t.url)
                        .map_err(|e| format!("{shown}: key `api.telegram.url`: {e}"))?;
                    if t.chat_ids.is_empty() {
                        return Err(format!(
                            "{shown}: key `api.telegram.chat_ids`: name the chats whose commands are obeyed"
                        ));
                    }
                    Some(Telegram {
                        url: t.url.clone(),
                        token_secret: t.token_secret.clone(),
                        chat_ids: t.chat_ids.clone(),
                    })
                }
            },
        };
        let state_dir = f
            .state_dir
            .unwrap_or_else(|| PathBuf::from(format!("var/run/njord/{}", f.name)));
        Ok(Session {
            name: f.name,
            state_dir,
            bus: f.bus,
            redis: f.redis.map(|r| r.port),
            sim: f.sim.map(|s| s.args),
            supervise,
            env: f.env,
            api,
            metrics_addr: f.metrics_addr,
            stages: f
                .stages
                .into_iter()
                .map(|s| Stage {
                    name: s.name,
                    binary: s.binary,
                    args: s.args,
                    env: s.env,
                    consumes: s.consumes,
                    produces: s.produces,
                    depends_on: s.depends_on,
                    restart: s.restart,
                    on_stuck: s.on_stuck,
                    live: s.live,
                    account: s.account,
                })
                .collect(),
        })
    }

    /// The stages in an order that starts every one after what it depends on; `Err` names a
    /// cycle.
    pub fn start_order(&self) -> Result<Vec<&Stage>, String> {
        let mut order: Vec<&Stage> = Vec::new();
        let mut left: Vec<&Stage> = self.stages.iter().collect();
        while !left.is_empty() {
            let before = left.len();
            let mut i = 0;
            while i < left.len() {
                let ready = left[i]
                    .depends_on
                    .iter()
                    .all(|d| d == REDIS || d == SIM || order.iter().any(|s| &s.name == d));
                if ready {
                    order.push(left.remove(i));
                } else {
                    i += 1;
                }
            }
            if left.len() == before {
                let names: Vec<&str> = left.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "depends_on has a cycle among: {}",
                    names.join(", ")
                ));
            }
        }
        Ok(order)
    }
}
