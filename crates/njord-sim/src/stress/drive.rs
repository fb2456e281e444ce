//! Driving a scenario: the tape is stepped (`/control/step`) up to each timed action, the
//! action is done (a fault, a clear, a wall-time hold, an operator halt, an intent), and
//! after each step and action a barrier waits until the stack has caught up. The barrier
//! reads the stages' Prometheus counters and the venue's journal; it never sleeps a fixed time.

use super::evidence::Journal;
use super::stack::{Ctl, SimProc, now_ns};
use crate::faults::FaultSpec;
use njord::bus::{Bus, Reconnect, RedisBus};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long every counter must stay still before the stack counts as settled: longer than
/// the broker's retry backoff in the scenarios (`retry_base_ms` 100).
const QUIET: Duration = Duration::from_millis(250);
const SCRAPE_EVERY: Duration = Duration::from_millis(25);

/// One thing the runner does at a trade index.
#[derive(Debug, Clone)]
pub enum Action {
    Fault(FaultSpec),
    /// The end of the fault of event `n`: clear all, apply again the ones still running.
    Until(usize),
    Clear,
    Hold(Duration),
    Kill(String),
    Intent(Value),
}

/// Counters by "stage metric kind".
type Scrape = BTreeMap<String, f64>;

pub struct Driver<'a> {
    sim: &'a SimProc,
    ctl: &'a Ctl,
    pub journal: Journal,
    bus: RedisBus,
    settle_timeout: Duration,
    /// Trades the feed delivered (stepped while no outage or silence held it back).
    delivered: u64,
    /// Open WebSockets before an outage, to wait for after it.
    reconnect_to: Option<i64>,
    feed_down: bool,
    /// Trades each stage had read fewer than ingest sent when the drive began (it started
    /// after ingest).
    lag: BTreeMap<String, i64>,
    /// Whether `lag` is known (after [`Driver::warm_up`]).
    warm: bool,
    /// For each causal flow (see [`Driver::flows`]), what the consumer had not read of what
    /// the producer wrote when the drive began (published before it subscribed).
    flow_lag: BTreeMap<&'static str, i64>,
    /// Faults applied and not yet ended: (event number, spec).
    active: Vec<(usize, FaultSpec)>,
    pub intents: Vec<String>,
    pub marks: BTreeMap<String, i64>,
    pub timeline: Vec<Value>,
    pub barriers: u64,
    pub barrier_max_ms: u64,
    /// The stages with a metrics endpoint.
    stages: Vec<String>,
}

impl<'a> Driver<'a> {
    pub fn new(
        sim: &'a SimProc,
        ctl: &'a Ctl,
        journal: Journal,
        settle_timeout: Duration,
    ) -> Result<Driver<'a>, String> {
        let url = ctl.bus().ok_or("the session has no bus")?;
        let bus = RedisBus::connect(&url, Reconnect::default()).map_err(|e| e.to_string())?;
        let mut d = Driver {
            sim,
            ctl,
            journal,
            bus,
            settle_timeout,
            delivered: 0,
            reconnect_to: None,
            feed_down: false,
            active: Vec::new(),
            intents: Vec::new(),
            marks: BTreeMap::new(),
            timeline: Vec::new(),
            barriers: 0,
            barrier_max_ms: 0,
            lag: BTreeMap::new(),
            warm: false,
            flow_lag: BTreeMap::new(),
            stages: ctl.metrics().into_iter().map(|(n, _)| n).collect(),
        };
        d.settle()?;
        Ok(d)
    }

    /// Steps the tape one trade at a time until every stage reads the trades ingest sends
    /// (a stage subscribes to Redis a moment after it reports ready, and what was published
    /// before is not its), then notes how many each missed. Returns the trades played: at
    /// most `room` (the trades before the first action) and 60.
    pub fn warm_up(&mut self, stages: usize, room: u64) -> Result<u64, String> {
        let mut played = 0;
        let mut prev: Option<BTreeMap<String, i64>> = None;
        let most = room.min(60);
        for _ in 0..most {
            played += self.step(1)?;
            let s = self.scrape()?;
            let out = self.ingest_out(&s) as i64;
            let lag: BTreeMap<String, i64> = s
                .iter()
                .filter(|(k, _)| k.ends_with(" njord_events_in_total trade"))
                .map(|(k, v)| (k.clone(), out - *v as i64))
                .collect();
            if lag.len() >= stages && prev.as_ref() == Some(&lag) {
                self.lag = lag;
                self.flow_lag = self
                    .flows(&s)
                    .into_iter()
                    .map(|(name, produced, consumed)| (name, produced - consumed))
                    .collect();
                self.delivered = out as u64;
                self.warm = true;
                return Ok(played);
            }
            prev = Some(lag);
        }
        Err(format!(
            "not every stage read trades after {most} of them (the trades before the first action, at most 60; start it later): {prev:?}"
        ))
    }

    /// Steps `n` trades and waits for the stack.
    pub fn step(&mut self, n: u64) -> Result<u64, String> {
        if n == 0 {
            return Ok(0);
        }
        let played = self.sim.control("step", &json!({"trades": n}))?["played"]
            .as_u64()
            .unwrap_or(0);
        if !self.feed_down {
            self.delivered += played;
        }
        self.settle()?;
        Ok(played)
    }

    /// Does one action at tape time `tape_ts_ns` (the last trade played), then waits.
    pub fn act(
        &mut self,
        n: usize,
        action: &Action,
        tape_ts_ns: i64,
        offset: &str,
    ) -> Result<(), String> {
        let wall = now_ns();
        let detail = match action {
            Action::Fault(spec) => {
                self.apply(spec)?;
                self.active.push((n, spec.clone()));
                serde_json::to_value(spec).unwrap_or_default()
            }
            Action::Until(of) => {
                self.active.retain(|(i, _)| i != of);
                self.clear()?;
                for (_, spec) in self.active.clone() {
                    self.apply(&spec)?;
                }
                json!({"ends_event": of})
            }
            Action::Clear => {
                self.active.clear();
                self.clear()?;
                json!({})
            }
            Action::Hold(d) => {
                std::thread::sleep(*d);
                json!({"ms": d.as_millis() as u64})
            }
            Action::Kill(reason) => {
                self.ctl.kill(reason)?;
                self.marks.entry("kill".into()).or_insert(wall);
                json!({"reason": reason})
            }
            Action::Intent(v) => {
                let mut v = v.clone();
                v["ts_ns"] = json!(tape_ts_ns);
                let id = v["id"].as_str().unwrap_or_default().to_string();
                self.bus
                    .publish("strat.intent", v.to_string().as_bytes())
                    .map_err(|e| format!("publishing intent {id}: {e}"))?;
                self.intents.push(id);
                v
            }
        };
        self.timeline.push(
            json!({"wall_ns": wall, "tape_ts_ns": tape_ts_ns, "offset": offset,
            "action": action_name(action), "detail": detail}),
        );
        self.settle()
    }

    fn apply(&mut self, spec: &FaultSpec) -> Result<(), String> {
        let v = serde_json::to_value(spec).map_err(|e| e.to_string())?;
        let kind = v["fault"].as_str().unwrap_or("fault").to_string();
        let on = v["on"] != false;
        match spec {
            FaultSpec::Outage { on: true, .. } => {
                self.journal.refresh()?;
                self.reconnect_to.get_or_insert(self.journal.ws_open);
                self.feed_down = true;
            }
            FaultSpec::Silence { on: true } => self.feed_down = true,
            FaultSpec::Silence { on: false } => self.feed_down = false,
            _ => {}
        }
        self.sim.control("fault", &v)?;
        if on {
            self.marks.entry(kind).or_insert(now_ns());
        }
        if let FaultSpec::Outage { on: false, .. } = spec {
            self.feed_back()?;
        }
        Ok(())
    }

    /// `/control/clear`.
    fn clear(&mut self) -> Result<(), String> {
        self.sim.control("clear", &json!({}))?;
        self.feed_back()
    }

    /// The feed flows again; after an outage, waits for the WebSockets to come back.
    fn feed_back(&mut self) -> Result<(), String> {
        self.feed_down = false;
        if let Some(want) = self.reconnect_to.take() {
            let deadline = Instant::now() + self.settle_timeout;
            loop {
                self.journal.refresh()?;
                if self.journal.ws_open >= want {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "after the outage {} of {want} WebSocket(s) came back within {:?}",
                        self.journal.ws_open, self.settle_timeout
                    ));
                }
                std::thread::sleep(SCRAPE_EVERY);
            }
            // What ingest missed meanwhile is its own business; count from here.
            self.settle_counters()?;
            self.delivered = self.delivered.min(self.ingest_out(&self.scrape()?));
        }
        Ok(())
    }

    /// Ends every fault before the evidence is read.
    pub fn finish(&mut self) -> Result<(), String> {
        self.active.clear();
        self.clear()?;
        self.settle()
    }

    fn scrape(&self) -> Result<Scrape, String> {
        let mut out = Scrape::new();
        for (stage, base) in self.ctl.metrics() {
            let (status, text) = self.sim.metrics(&base)?;
            if status != 200 {
                return Err(format!("{stage} /metrics: {status}"));
            }
            for (metric, kind, v) in counters(&text) {
                *out.entry(format!("{stage} {metric} {kind}")).or_default() += v;
            }
        }
        Ok(out)
    }

    fn ingest_out(&self, s: &Scrape) -> u64 {
        s.get("ingest njord_events_out_total trade")
            .copied()
            .unwrap_or(0.0) as u64
    }

    /// Waits until ingest has passed on every delivered trade, every stage has read as many
    /// trades as ingest sent, risk has read every intent, no request is in flight at the
    /// venue and no counter moved for [`QUIET`].
    fn settle(&mut self) -> Result<(), String> {
        let started = Instant::now();
        self.settle_counters()?;
        self.barriers += 1;
        self.barrier_max_ms = self
            .barrier_max_ms
            .max(started.elapsed().as_millis() as u64);
        Ok(())
    }

    fn settle_counters(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.settle_timeout;
        let mut last: Option<(Scrape, Instant)> = None;
        loop {
            self.journal.refresh()?;
            let s = self.scrape()?;
            let why = self.behind(&s);
            let now = Instant::now();
            match (&why, &last) {
                (None, Some((prev, since))) if *prev == s => {
                    if now.duration_since(*since) >= QUIET {
                        return Ok(());
                    }
                }
                _ => last = Some((s.clone(), now)),
            }
            if now > deadline {
                return Err(format!(
                    "the stack did not settle within {:?}: {}",
                    self.settle_timeout,
                    why.unwrap_or_else(|| "counters kept moving".into())
                ));
            }
            std::thread::sleep(SCRAPE_EVERY);
        }
    }

    /// Why the stack is not caught up yet, if it is not.
    fn behind(&self, s: &Scrape) -> Option<String> {
        let out = self.ingest_out(s);
        if self.warm && out < self.delivered {
            return Some(format!("ingest sent {out} of {} trades", self.delivered));
        }
        for (k, v) in s.iter().filter(|_| self.warm) {
            let lag = self.lag.get(k).copied().unwrap_or(0);
            if k.ends_with(" njord_events_in_total trade") && (*v as i64) + lag != out as i64 {
                return Some(format!(
                    "{k} = {v} (+{lag} before the drive), ingest sent {out}"
                ));
            }
        }
        let intents = s
            .get("risk njord_events_in_total intent")
            .copied()
            .unwrap_or(0.0) as usize;
        if intents < self.intents.len() {
            return Some(format!(
                "risk read {intents} of {} intents",
                self.intents.len()
            ));
        }
        for (name, produced, consumed) in self.flows(s).into_iter().filter(|_| self.warm) {
            let lag = self.flow_lag.get(name).copied().unwrap_or(0);
            if consumed + lag < produced {
                return Some(format!(
                    "{name}: {consumed} (+{lag} before the drive) of {produced}"
                ));
            }
        }
        let n = self.journal.in_flight();
        (n > 0).then(|| format!("{n} request(s) in flight at the venue"))
    }

    /// The causal flows the barrier checks besides trades and intents, as (name, what the
    /// producer wrote, what the consumer read): the broker has read every order risk
    /// published (else the next fault could come before the broker saw the order), risk every
    /// position the broker published (its loss cap), and njord-alert, which reads every
    /// topic, every event the stages and the runner published.
    fn flows(&self, s: &Scrape) -> Vec<(&'static str, i64, i64)> {
        let get = |k: &str| s.get(k).copied().unwrap_or(0.0) as i64;
        let has = |stage: &str| self.stages.iter().any(|n| n == stage);
        let mut out = Vec::new();
        if has("risk") && has("broker") {
            out.push((
                "broker njord_events_in_total order vs risk njord_events_out_total order",
                get("risk njord_events_out_total order"),
                get("broker njord_events_in_total order"),
            ));
            out.push((
                "risk njord_events_in_total position vs broker njord_events_out_total position",
                get("broker njord_events_out_total position"),
                get("risk njord_events_in_total position"),
            ));
        }
        if has("alert") {
            let sum = |stage_is_alert: bool, metric: &str| -> i64 {
                s.iter()
                    .filter(|(k, _)| {
                        let mut w = k.split(' ');
                        let (stage, m) = (w.next(), w.next());
                        (stage == Some("alert")) == stage_is_alert && m == Some(metric)
                    })
                    .map(|(_, v)| *v as i64)
                    .sum()
            };
            out.push((
                "alert njord_events_in_total vs every stage's njord_events_out_total and the intents",
                sum(false, "njord_events_out_total") + self.intents.len() as i64,
                sum(true, "njord_events_in_total"),
            ));
        }
        out
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Fault(_) => "fault",
        Action::Until(_) => "until",
        Action::Clear => "clear",
        Action::Hold(_) => "hold",
        Action::Kill(_) => "kill",
        Action::Intent(_) => "intent",
    }
}

/// `njord_events_in_total` and `njord_events_out_total` samples: (metric, kind, value).
/// The event counters of a `/metrics` text: (metric, `kind` label, value).
fn counters(text: &str) -> impl Iterator<Item = (&str, &str, f64)> {
    njord::telemetry::scrape::samples(text)
        .filter(|s| s.name == "njord_events_in_total" || s.name == "njord_events_out_total")
        .filter_map(|s| Some((s.name, s.label("kind")?, s.value)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_read_the_kind_label() {
        let text = "# HELP x\nnjord_events_in_total{kind=\"trade\"} 12\nnjord_events_out_total{stream=\"a\",kind=\"intent\"} 3\nother_total 1\n";
        assert_eq!(
            super::counters(text).collect::<Vec<_>>(),
            [
                ("njord_events_in_total", "trade", 12.0),
                ("njord_events_out_total", "intent", 3.0)
            ]
        );
    }
}
