//! The scenario file. `njord-stress tape` reads only `name`, `tape` and `transforms`; the
//! other keys are what `njord-stress run` does with the tape: the venue's arguments, the stack,
//! scripted intents, timed faults and the assertions. All are optional so a tape-only file
//! (`scenarios/flash_crash.yaml`) stays valid.

use crate::faults::FaultSpec;
use njord::stress::Transform;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub about: String,
    pub tape: TapeSource,
    #[serde(default)]
    pub transforms: Vec<Transform>,
    #[serde(default)]
    pub venue: Venue,
    #[serde(default)]
    pub stack: Stack,
    #[serde(default)]
    pub drive: Drive,
    /// Intents the runner publishes on the intent topic, each when the tape reaches `at`.
    #[serde(default)]
    pub intents: Vec<ScriptedIntent>,
    /// Timed actions: faults, clears, wall-time holds, operator halts.
    #[serde(default)]
    pub events: Vec<TimedEvent>,
    #[serde(default)]
    pub assertions: Vec<Assertion>,
}

/// Where a scenario's trades come from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TapeSource {
    /// The arguments of `njord-sim gen`.
    Gen(Vec<String>),
    /// A trade tape (NDJSON), relative to the scenario file.
    File(PathBuf),
}

/// `njord-sim serve` arguments the runner adds to its own (`--balance USDT=100`, …).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    #[serde(default)]
    pub args: Vec<String>,
}

/// The stages `njord-ctl up` starts besides ingest and risk.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// A live `njord-broker` against the simulator (the default), or none.
    #[serde(default = "yes")]
    pub broker: bool,
    /// njord-alert's rules (config/alerts.yaml's `rules:`); their channel is `stress`, a
    /// loopback webhook the runner serves. Omitted: no njord-alert.
    #[serde(default)]
    pub alerts: Option<Value>,
    /// Deep-merged over the defaults into the stages' configuration file (config/base.yaml's
    /// keys).
    #[serde(default)]
    pub config: Value,
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            broker: true,
            alerts: None,
            config: Value::Null,
        }
    }
}

fn yes() -> bool {
    true
}

/// How the tape is stepped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drive {
    /// Trades per `/control/step` between barriers.
    #[serde(default = "d_step")]
    pub step: u64,
    /// The longest a barrier waits for the stack to catch up (wall time).
    #[serde(default = "d_settle")]
    pub settle_timeout: String,
}

impl Default for Drive {
    fn default() -> Self {
        Drive {
            step: d_step(),
            settle_timeout: d_settle(),
        }
    }
}

fn d_step() -> u64 {
    100
}
fn d_settle() -> String {
    "60s".into()
}

/// One scripted intent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedIntent {
    /// Tape offset (`5m`, `90s`) from the first trade.
    pub at: String,
    pub id: String,
    pub side: String,
    #[serde(rename = "type", default = "d_market")]
    pub order_type: String,
    pub qty: Decimal,
    #[serde(default)]
    pub limit_price: Option<Decimal>,
    #[serde(default)]
    pub time_in_force: Option<String>,
}

fn d_market() -> String {
    "market".into()
}

/// One timed action; exactly one of `fault`, `clear`, `hold`, `kill` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedEvent {
    pub at: String,
    /// With `fault`: at this offset, every fault is cleared and the others still running
    /// are applied again.
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub fault: Option<FaultSpec>,
    /// `/control/clear`: every fault off.
    #[serde(default)]
    pub clear: bool,
    /// Stop stepping for this much wall time (`3s`): Retry-After, bans and silence run on
    /// the wall clock.
    #[serde(default)]
    pub hold: Option<String>,
    /// An operator halt: `njord-kill trip --reason …`.
    #[serde(default)]
    pub kill: Option<Kill>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kill {
    pub reason: String,
}

/// What must hold once the tape has played. Each counts what it checked; none passes on
/// nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Assertion {
    /// The kill switch trips for the daily loss within `events` risk inputs of the first
    /// position that shows the loss at the cap.
    LossTripWithin {
        #[serde(default = "d_one")]
        events: u64,
    },
    /// No order request reaches the venue later than `grace_ms` after the kill switch trips.
    NoOrderAfterHalt {
        #[serde(default = "d_grace")]
        grace_ms: u64,
    },
    /// No venue order's notional is above `usd`.
    MaxOrderNotional { usd: Decimal },
    /// At most one venue order per intent (client order id).
    OneOrderPerIntent {},
    /// No keyed request inside a `Retry-After` window the venue gave.
    NoRequestInRetryAfter {},
    /// The venue's balance changes equal the broker's fills, its trades are the broker's
    /// fills, and nothing is left open.
    Reconcile { assets: Vec<String> },
    /// The alert `rule` reached the webhook within `within` (wall time) of `after`: the
    /// first fault of that kind (`silence`, `outage`, …), `kill` (an operator halt of the
    /// scenario) or `trip` (the kill file's time).
    AlertFired {
        rule: String,
        after: String,
        within: String,
    },
    /// Floors against a vacuous pass: venue orders, fills, denials by reason, and venue
    /// answers by class (`5xx`, `dropped`, `429`, `418`, `400`, …: the fault bit).
    Expect {
        #[serde(default)]
        min_venue_orders: u64,
        #[serde(default)]
        min_fills: u64,
        #[serde(default)]
        min_denials: BTreeMap<String, u64>,
        #[serde(default)]
        min_http: BTreeMap<String, u64>,
    },
}

fn d_one() -> u64 {
    1
}
fn d_grace() -> u64 {
    50
}

impl Assertion {
    pub fn name(&self) -> &'static str {
        match self {
            Assertion::LossTripWithin { .. } => "loss_trip_within",
            Assertion::NoOrderAfterHalt { .. } => "no_order_after_halt",
            Assertion::MaxOrderNotional { .. } => "max_order_notional",
            Assertion::OneOrderPerIntent {} => "one_order_per_intent",
            Assertion::NoRequestInRetryAfter {} => "no_request_in_retry_after",
            Assertion::Reconcile { .. } => "reconcile",
            Assertion::AlertFired { .. } => "alert_fired",
            Assertion::Expect { .. } => "expect",
        }
    }
}
