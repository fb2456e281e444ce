//! Fault injection: what a scenario file or `POST /control/fault` can switch on.
//!
//! [`Faults`] is the pure part (counted HTTP faults, delays, order outcomes, trade-frame
//! mangling); the WebSocket switches live in [`WsFaults`] atomics because every frame reads
//! them.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One fault, as written in a scenario file or posted to `/control/fault`:
/// `{"fault":"http_error","path":"/api/v3/order","status":503,"count":2}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Every WebSocket connection is dropped (no close frame) after sending this many data
    /// messages; 0 turns it off.
    WsDropAfter { messages: u64 },
    /// The server stops (or resumes, with `on: false`) sending pings.
    StopPings {
        #[serde(default = "yes")]
        on: bool,
    },
    /// Pongs are ignored, so connections hit the pong deadline.
    IgnorePongs {
        #[serde(default = "yes")]
        on: bool,
    },
    /// The next `count` requests to `path` ("*" for any) are answered with `status`
    /// (429 and 418 with Binance's bodies and `Retry-After`, others as internal errors).
    /// `retry_after_s` replaces the 429's 60 s and the 418's 120 s (tests of clients that
    /// wait it out).
    HttpError {
        path: String,
        status: u16,
        #[serde(default = "one")]
        count: u32,
        #[serde(default)]
        retry_after_s: Option<u64>,
    },
    /// The next `count` new orders are executed, then answered with a 5xx (`status`) or
    /// the connection is dropped without an answer (`drop`).
    OrderThen {
        outcome: OrderOutcome,
        #[serde(default = "s503")]
        status: u16,
        #[serde(default = "one")]
        count: u32,
    },
    /// Requests to `path` ("*" for any) wait `ms` before being handled; `count` of them,
    /// or all until cleared.
    Delay {
        path: String,
        ms: u64,
        #[serde(default)]
        count: Option<u32>,
    },
    /// The server clock runs `ms` ahead (negative: behind) of the wall clock.
    ClockSkew { ms: i64 },
    /// Every listen key expires now: `listenKeyExpired` is pushed and the streams close.
    ListenKeyExpire {},
    /// Every `every`-th trade sends its `@trade`/`@aggTrade` frames twice; 0 turns it off.
    DuplicateTrades { every: u64 },
    /// Every `every`-th trade's `@trade`/`@aggTrade` frames come after the next trade's.
    ReorderTrades { every: u64 },
    /// The venue is down (`on: false` brings it back): every REST request but `/control/*`
    /// is answered with `status`, every WebSocket is closed and new ones are refused. The
    /// matching engine keeps running, so resting orders fill unseen.
    Outage {
        #[serde(default = "yes")]
        on: bool,
        #[serde(default = "s503")]
        status: u16,
    },
    /// Market-data frames are withheld (`on: false` resumes them) while connections, pings
    /// and user-data events carry on: a connected but silent feed.
    Silence {
        #[serde(default = "yes")]
        on: bool,
    },
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn s503() -> u16 {
    503
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderOutcome {
    /// Answer with the configured 5xx status.
    Status,
    /// Close the connection without an answer.
    Drop,
}

/// A scenario file: `{"faults":[…]}` in JSON or YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub faults: Vec<FaultSpec>,
}

pub fn load_scenario(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| {
        format!(
            "scenario {}: {e} (expected {{\"faults\":[{{\"fault\":\"http_error\",\"path\":\"/api/v3/order\",\"status\":503}}]}})",
            path.display()
        )
    })
}

/// What the shell must do after a fault is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    SetSkew(i64),
    ExpireListenKeys,
    /// Close every WebSocket connection (an outage began).
    DropConnections,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// (path, status, count left, Retry-After override).
    http: Vec<(String, u16, u32, Option<u64>)>,
    delays: Vec<(String, u64, Option<u32>)>,
    order_then: Option<(OrderOutcome, u16, u32)>,
    /// The status every REST request gets during an outage.
    pub outage: Option<u16>,
    pub dup_every: u64,
    pub reorder_every: u64,
}

fn matches(pattern: &str, path: &str) -> bool {
    pattern == "*" || pattern == path
}

impl Faults {
    /// Records a fault; WebSocket switches go to `ws`.
    pub fn apply(&mut self, f: FaultSpec, ws: &WsFaults) -> Effect {
        match f {
            FaultSpec::WsDropAfter { messages } => ws.drop_after.store(messages, Ordering::Relaxed),
            FaultSpec::StopPings { on } => ws.stop_pings.store(on, Ordering::Relaxed),
            FaultSpec::IgnorePongs { on } => ws.ignore_pongs.store(on, Ordering::Relaxed),
            FaultSpec::HttpError {
                path,
                status,
                count,
                retry_after_s,
            } => self.http.push((path, status, count, retry_after_s)),
            FaultSpec::OrderThen {
                outcome,
                status,
                count,
            } => self.order_then = Some((outcome, status, count)),
            FaultSpec::Delay { path, ms, count } => self.delays.push((path, ms, count)),
            FaultSpec::ClockSkew { ms } => return Effect::SetSkew(ms),
            FaultSpec::ListenKeyExpire {} => return Effect::ExpireListenKeys,
            FaultSpec::DuplicateTrades { every } => self.dup_every = every,
            FaultSpec::ReorderTrades { every } => self.reorder_every = every,
            FaultSpec::Outage { on, status } => {
                self.outage = on.then_some(status);
                ws.outage.store(on, Ordering::Relaxed);
                if on {
                    return Effect::DropConnections;
                }
            }
            FaultSpec::Silence { on } => ws.silent.store(on, Ordering::Relaxed),
        }
        Effect::None
    }

    /// Clears every fault.
    pub fn clear(&mut self, ws: &WsFaults) {
        *self = Faults::default();
        ws.drop_after.store(0, Ordering::Relaxed);
        ws.stop_pings.store(false, Ordering::Relaxed);
        ws.ignore_pongs.store(false, Ordering::Relaxed);
        ws.outage.store(false, Ordering::Relaxed);
        ws.silent.store(false, Ordering::Relaxed);
    }

    /// The status (and any `Retry-After` override) to answer a request to `path` with,
    /// counting it down.
    pub fn take_http(&mut self, path: &str) -> Option<(u16, Option<u64>)> {
        let i = self
            .http
            .iter()
            .position(|(p, _, n, _)| *n > 0 && matches(p, path))?;
        let e = &mut self.http[i];
        e.2 -= 1;
        let got = (e.1, e.3);
        self.http.retain(|(_, _, n, _)| *n > 0);
        Some(got)
    }

    /// The delay before handling a request to `path`.
    pub fn take_delay(&mut self, path: &str) -> Option<u64> {
        let i = self
            .delays
            .iter()
            .position(|(p, _, n)| matches(p, path) && n.is_none_or(|n| n > 0))?;
        let e = &mut self.delays[i];
        if let Some(n) = &mut e.2 {
            *n -= 1;
        }
        let ms = e.1;
        self.delays.retain(|(_, _, n)| n.is_none_or(|n| n > 0));
        Some(ms)
    }

    /// What happens to the answer of an accepted new order.
    pub fn take_order_then(&mut self) -> Option<(OrderOutcome, u16)> {
        let (o, s, n) = self.order_then.as_mut()?;
        let out = (*o, *s);
        *n -= 1;
        if *n == 0 {
            self.order_then = None;
        }
        Some(out)
    }
}

/// WebSocket fault switches, read on every frame.
#[derive(Debug, Default)]
pub struct WsFaults {
    pub drop_after: AtomicU64,
    pub stop_pings: AtomicBool,
    pub ignore_pongs: AtomicBool,
    /// An outage: upgrades are refused.
    pub outage: AtomicBool,
    /// Market-data frames are withheld.
    pub silent: AtomicBool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out() {
        let ws = WsFaults::default();
        let mut f = Faults::default();
        let spec: FaultSpec = serde_json::from_str(
            r#"{"fault":"http_error","path":"/api/v3/order","status":503,"count":2}"#,
        )
        .unwrap();
        f.apply(spec, &ws);
        assert_eq!(f.take_http("/api/v3/time"), None);
        assert_eq!(f.take_http("/api/v3/order"), Some((503, None)));
        assert_eq!(f.take_http("/api/v3/order"), Some((503, None)));
        assert_eq!(f.take_http("/api/v3/order"), None);
        f.apply(
            FaultSpec::Delay {
                path: "*".into(),
                ms: 5,
                count: None,
            },
            &ws,
        );
        assert_eq!(f.take_delay("/x"), Some(5));
        assert_eq!(f.take_delay("/x"), Some(5));
        f.apply(
            FaultSpec::OrderThen {
                outcome: OrderOutcome::Drop,
                status: 503,
                count: 1,
            },
            &ws,
        );
        assert_eq!(f.take_order_then(), Some((OrderOutcome::Drop, 503)));
        assert_eq!(f.take_order_then(), None);
        assert_eq!(
            f.apply(FaultSpec::ClockSkew { ms: -5 }, &ws),
            Effect::SetSkew(-5)
        );
        let s: Scenario = serde_saphyr::from_str(
            "faults:\n  - {fault: stop_pings}\n  - {fault: ws_drop_after, messages: 3}\n",
        )
        .unwrap();
        assert_eq!(s.faults[0], FaultSpec::StopPings { on: true });
    }

    #[test]
    fn outage_and_silence_switch_on_off_and_clear() {
        let ws = WsFaults::default();
        let mut f = Faults::default();
        let on: FaultSpec = serde_json::from_str(r#"{"fault":"outage"}"#).unwrap();
        assert_eq!(
            on,
            FaultSpec::Outage {
                on: true,
                status: 503
            }
        );
        assert_eq!(f.apply(on, &ws), Effect::DropConnections);
        assert_eq!(f.outage, Some(503));
        assert!(ws.outage.load(Ordering::Relaxed));
        let off = FaultSpec::Outage {
            on: false,
            status: 503,
        };
        assert_eq!(f.apply(off, &ws), Effect::None);
        assert_eq!(f.outage, None);
        assert!(!ws.outage.load(Ordering::Relaxed));
        let s: Scenario = serde_saphyr::from_str(
            "faults:\n  - {fault: outage, status: 502}\n  - {fault: silence}\n",
        )
        .unwrap();
        for spec in s.faults {
            f.apply(spec, &ws);
        }
        assert_eq!(f.outage, Some(502));
        assert!(ws.silent.load(Ordering::Relaxed));
        f.apply(FaultSpec::Silence { on: false }, &ws);
        assert!(!ws.silent.load(Ordering::Relaxed));
        f.apply(FaultSpec::Silence { on: true }, &ws);
        f.clear(&ws);
        assert_eq!(f.outage, None);
        assert!(!ws.outage.load(Ordering::Relaxed) && !ws.silent.load(Ordering::Relaxed));
    }
}
