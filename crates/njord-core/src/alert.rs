//! The alert rules of `njord-alert`, pure: events and the clock in, notices out.
//!
//! A rule's condition is true or false per key (a dedupe key: a symbol, a stream, or the
//! rule itself). A condition true for the rule's `for` duration fires a notice; while it
//! stays true the notice is repeated every `repeat`; when it turns false a resolved notice
//! follows (unless the rule says not to). Windows and staleness are measured in event time,
//! `for`, `repeat` and the heartbeat in the wall time the shell passes in, so a replayed
//! input with the same clock gives the same notices.
//!
//! Besides events, the shell polls the daemons' own endpoints and passes in what it found
//! ([`Probe`]): the daemon rules (down, alive but not ready, reconnect storms, venue errors)
//! read those, in wall time.

use crate::event::{Event, Kind, Side};
use crate::prices::LastPrices;
use crate::risk::{Switch, switch_of, usd};
use crate::time::utc_day;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Reference prices of recent decisions kept for slippage, at most.
const MAX_REFS: usize = 10_000;

/// How a rule compares an event field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `count` events of `kind` whose `field` compares to `value` within `window_ns` of event
    /// time, keyed by the value of `dedupe` (a field) when given.
    Field {
        kind: Kind,
        field: String,
        op: Op,
        value: serde_json::Value,
        window_ns: i64,
        count: usize,
        dedupe: Option<String>,
    },
    /// The latest decision found trading halted (resolved by the next one that did not).
    KillSwitch,
    /// A market-data stream whose last event is `after_ns` of event time behind the
    /// watermark (the latest event time of any stream), keyed by stream.
    StaleStream { after_ns: i64 },
    /// No event at all for `after_ns` of wall time: the dead-man's switch.
    Heartbeat { after_ns: i64 },
    /// The day's realized loss (the latest `realized_pnl_day` of every position of the
    /// watermark's UTC day, valued in USD as the risk engine does) at or above `fraction` of
    /// `cap` (risk.daily_loss_usd_cap).
    DailyLoss { cap: Decimal, fraction: Decimal },
    /// The latest fill of a symbol more than `max_bps` worse than the reference price its
    /// risk decision priced it at (`caps.ref_price`), keyed by symbol.
    Slippage { max_bps: Decimal },
    /// A daemon whose `/livez` has not answered 200 for `after_ns` (its heartbeat, polled),
    /// keyed by daemon.
    DaemonDown { after_ns: i64 },
    /// A daemon alive but not ready (`/readyz` not 200: start-up unfinished or its event time
    /// stuck) for `after_ns`, keyed by daemon.
    DaemonNotReady { after_ns: i64 },
    /// A daemon's reconnects (WebSocket and Redis) rose by `count` within `window_ns`.
    ReconnectStorm { count: u32, window_ns: i64 },
    /// A daemon's venue errors (HTTP 5xx, 429, 418, or no answer) rose by `count` within
    /// `window_ns`.
    VenueErrors { count: u32, window_ns: i64 },
}

/// What one poll of a daemon's `/livez`, `/readyz` and `/metrics` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    /// `/livez` answered 200.
    pub live: bool,
    /// Why `/readyz` did not answer 200 (its body, or the error); `None` when it did.
    pub not_ready: Option<String>,
    /// Counters read off `/metrics`, when it could be read.
    pub reconnects: Option<f64>,
    pub venue_errors: Option<f64>,
}

/// Samples of one counter in wall time, for its increase over a window.
#[derive(Debug, Default)]
struct Samples(VecDeque<(i64, f64)>);

impl Samples {
    /// Adds a sample and forgets those `keep_ns` older, but the latest of them: it is the
    /// base of the window's increase.
    fn add(&mut self, t: i64, v: f64, keep_ns: i64) {
        self.0.push_back((t, v));
        while self.0.len() > 1 && self.0[1].0 <= t.saturating_sub(keep_ns) {
            self.0.pop_front();
        }
    }

    /// How much the counter rose within `window_ns` before `now`; a drop is a restart of the
    /// daemon, which counts its new value, as Prometheus's `increase` does.
    fn increase(&self, now: i64, window_ns: i64) -> f64 {
        let from = now.saturating_sub(window_ns);
        let start = self.0.iter().rposition(|(t, _)| *t <= from).unwrap_or(0);
        let mut prev = None;
        let mut sum = 0.0;
        for &(_, v) in self.0.iter().skip(start) {
            if let Some(p) = prev {
                sum += if v >= p { v - p } else { v };
            }
            prev = Some(v);
        }
        sum
    }
}

/// A daemon as the polls saw it.
#[derive(Debug)]
struct Daemon {
    /// The last poll's answer to `/livez`.
    live: bool,
    /// When `/livez` last answered 200, or when the daemon was first polled.
    live_at: i64,
    /// Since when, and why, `/readyz` has not answered 200.
    not_ready: Option<(i64, String)>,
    reconnects: Samples,
    venue_errors: Samples,
}

/// A rule: its condition and how its notices behave.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub severity: String,
    pub condition: Condition,
    /// How long the condition must hold before the rule fires.
    pub for_ns: i64,
    /// While firing, the notice is sent again this often (0: once).
    pub repeat_ns: i64,
    /// Send a resolved notice when the condition ends.
    pub resolve: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Firing,
    Resolved,
}

/// One message to send. `id` is its idempotency key: the same notice always has the same id,
/// so a receiver can drop a repeat delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub rule: String,
    pub key: String,
    pub severity: String,
    pub state: State,
    pub summary: String,
    /// Wall time the condition began to hold (ns).
    pub starts_at_ns: i64,
    /// Wall time of this notice (ns).
    pub at_ns: i64,
}

/// A key's life under one rule.
#[derive(Debug, Clone, Default)]
struct Track {
    /// Wall time the condition became true, while it holds.
    since: Option<i64>,
    /// Whether a firing notice went out for this spell, and when last.
    fired_at: Option<i64>,
    /// Firing notices sent in this spell (for distinct ids of repeats).
    sent: u32,
    /// The text of the latest firing notice.
    summary: String,
}

/// The rules and what each has seen.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    tracks: Vec<BTreeMap<String, Track>>,
    /// Per field rule and key: event times of the matching events in the window.
    windows: Vec<BTreeMap<String, VecDeque<i64>>>,
    /// Last event time per market-data stream (symbol, then kind), and the watermark.
    streams: BTreeMap<String, BTreeMap<Kind, i64>>,
    watermark_ns: i64,
    /// Wall time of the last event.
    last_event_ns: Option<i64>,
    /// The kill switch as the latest decision that read it showed.
    switch: Option<Switch>,
    /// The day's realized PnL from positions, and the last trade prices to value it in USD.
    positions: usd::DayPnl,
    last: LastPrices,
    /// Reference price per intent id from its decision, oldest first for eviction.
    refs: BTreeMap<String, Decimal>,
    ref_order: VecDeque<String>,
    /// Slippage in bps of the latest fill per symbol.
    slippage: BTreeMap<String, Decimal>,
    /// The polled daemons by name, and how long their counters' samples are kept.
    daemons: BTreeMap<String, Daemon>,
    keep_ns: i64,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        let n = rules.len();
        let keep_ns = rules
            .iter()
            .filter_map(|r| match r.condition {
                Condition::ReconnectStorm { window_ns, .. }
                | Condition::VenueErrors { window_ns, .. } => Some(window_ns),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Engine {
            rules,
            tracks: vec![BTreeMap::new(); n],
            windows: vec![BTreeMap::new(); n],
            streams: BTreeMap::new(),
            watermark_ns: i64::MIN,
            last_event_ns: None,
            switch: None,
            positions: usd::DayPnl::default(),
            last: LastPrices::default(),
            refs: BTreeMap::new(),
            ref_order: VecDeque::new(),
            slippage: BTreeMap::new(),
            daemons: BTreeMap::new(),
            keep_ns,
        }
    }

    /// What a poll of `daemon` found at wall time `now_ns`.
    pub fn on_probe(&mut self, daemon: &str, probe: Probe, now_ns: i64, out: &mut Vec<Notice>) {
        let keep_ns = self.keep_ns;
        let d = match self.daemons.get_mut(daemon) {
            Some(d) => d,
            None => self.daemons.entry(daemon.to_string()).or_insert(Daemon {
                live: false,
                live_at: now_ns,
                not_ready: None,
                reconnects: Samples::default(),
                venue_errors: Samples::default(),
            }),
        };
        d.live = probe.live;
        if probe.live {
            d.live_at = now_ns;
        }
        d.not_ready = match (probe.not_ready, d.not_ready.take()) {
            (None, _) => None,
            (Some(why), Some((since, _))) => Some((since, why)),
            (Some(why), None) => Some((now_ns, why)),
        };
        if let Some(v) = probe.reconnects {
            d.reconnects.add(now_ns, v, keep_ns);
        }
        if let Some(v) = probe.venue_errors {
            d.venue_errors.add(now_ns, v, keep_ns);
        }
        self.evaluate(now_ns, out);
    }

    /// What the money rules need from an event: prices, positions, reference prices, fills.
    fn follow(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Trade(t) => self.last.set(&t.symbol, t.price, t.ts_ns),
            Event::Position(p) => self.positions.on_position(p),
            Event::Decision(d) if d.allowed => {
                let price = d.caps.get("ref_price").and_then(crate::num::decimal_of);
                if let Some(p) = price.filter(|p| *p > Decimal::ZERO)
                    && self.refs.insert(d.intent_id.to_string(), p).is_none()
                {
                    self.ref_order.push_back(d.intent_id.to_string());
                    if self.ref_order.len() > MAX_REFS
                        && let Some(old) = self.ref_order.pop_front()
                    {
                        self.refs.remove(&old);
                    }
                }
            }
            Event::Fill(f) => {
                // Checked: a fill from input may carry any price, and no input may panic.
                let bps = self.refs.get(f.intent_id.as_ref()).and_then(|r| {
                    match f.side {
                        Side::Buy => f.price.checked_sub(*r),
                        Side::Sell => r.checked_sub(f.price),
                    }?
                    .checked_mul(Decimal::from(10_000))?
                    .checked_div(*r)
                });
                if let Some(bps) = bps {
                    self.slippage.insert(f.symbol.to_string(), bps.round_dp(2));
                }
            }
            _ => {}
        }
    }

    /// An event, received at wall time `now_ns`.
    pub fn on_event(&mut self, ev: &Event<'_>, now_ns: i64, out: &mut Vec<Notice>) {
        self.last_event_ns = Some(now_ns);
        let ts = ev.ts_ns();
        self.watermark_ns = self.watermark_ns.max(ts);
        self.follow(ev);
        if matches!(
            ev.kind(),
            Kind::Trade | Kind::Book | Kind::Ticker | Kind::Bar
        ) && let Some(sym) = ev.symbol()
        {
            // The symbol is copied only for a stream's first event.
            let kinds = match self.streams.get_mut(sym) {
                Some(k) => k,
                None => self.streams.entry(sym.to_string()).or_default(),
            };
            let t = kinds.entry(ev.kind()).or_insert(ts);
            *t = (*t).max(ts);
        }
        if let Event::Decision(d) = ev
            && let Some(s) = switch_of(d)
        {
            self.switch = Some(s);
        }
        let mut json = None;
        for r in 0..self.rules.len() {
            if let Condition::Field {
                kind,
                field,
                op,
                value,
                window_ns,
                dedupe,
                ..
            } = &self.rules[r].condition
                && *kind == ev.kind()
            {
                let v: &serde_json::Value =
                    json.get_or_insert_with(|| serde_json::to_value(ev).unwrap_or_default());
                if compare(&v[field.as_str()], *op, value) {
                    let key = match dedupe {
                        Some(f) => text_of(&v[f.as_str()]),
                        None => String::new(),
                    };
                    let w = self.windows[r].entry(key).or_default();
                    w.push_back(ts);
                    let from = ts.saturating_sub(*window_ns);
                    while w.front().is_some_and(|t| *t <= from) {
                        w.pop_front();
                    }
                }
            }
        }
        self.evaluate(now_ns, out);
    }

    /// The wall clock moved to `now_ns` (every second or so, events or not).
    pub fn on_tick(&mut self, now_ns: i64, out: &mut Vec<Notice>) {
        self.evaluate(now_ns, out);
    }

    /// Steps every rule's keys at wall time `now_ns`. A key whose condition does not hold and
    /// that has no spell going costs nothing; a notice's text is made only when one goes out.
    fn evaluate(&mut self, now_ns: i64, out: &mut Vec<Notice>) {
        let Engine {
            rules,
            tracks,
            windows,
            streams,
            watermark_ns,
            last_event_ns,
            switch,
            positions,
            last,
            slippage,
            daemons,
            ..
        } = self;
        let mut key = String::new();
        for ((rule, tracks), windows) in rules.iter().zip(tracks).zip(windows) {
            let name = &rule.name;
            let mut see = |key: &str, holds: bool, summary: &dyn Fn() -> String| {
                step(rule, tracks, key, holds, summary, now_ns, out)
            };
            match &rule.condition {
                Condition::Field {
                    kind,
                    field,
                    op,
                    value,
                    window_ns,
                    count,
                    ..
                } => {
                    let from = watermark_ns.saturating_sub(*window_ns);
                    for (k, w) in windows.iter_mut() {
                        while w.front().is_some_and(|t| *t <= from) {
                            w.pop_front();
                        }
                        let n = w.len();
                        see(k, n >= *count, &|| {
                            format!(
                                "{name}: {n} {} events with {field} {} {value} within {} s{}",
                                kind.as_str(),
                                op_text(*op),
                                window_ns / 1_000_000_000,
                                if k.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({k})")
                                }
                            )
                        });
                    }
                }
                Condition::KillSwitch => {
                    if let Some(s) = *switch {
                        let source = match s {
                            Switch::Halted(source) => source,
                            Switch::Clear => "",
                        };
                        see("", s != Switch::Clear, &|| {
                            format!("{name}: trading is halted (kill switch read from {source})")
                        });
                    }
                }
                Condition::StaleStream { after_ns } => {
                    for (symbol, kinds) in streams.iter() {
                        for (kind, t) in kinds {
                            use std::fmt::Write;
                            key.clear();
                            let _ = write!(key, "{} {symbol}", kind.as_str());
                            let behind = *watermark_ns - t;
                            let stream = key.as_str();
                            see(stream, behind > *after_ns, &|| {
                                format!(
                                    "{name}: {stream} is {:.1} s of event time behind the other streams",
                                    behind as f64 / 1e9
                                )
                            });
                        }
                    }
                }
                Condition::DailyLoss { cap, fraction } => {
                    let loss = -positions.usd(utc_day(*watermark_ns), last);
                    let holds = *cap > Decimal::ZERO && loss >= *cap * *fraction;
                    see("", holds, &|| {
                        format!(
                            "{name}: the day's loss is {} USD, at or above {} of the {} USD daily cap",
                            loss.round_dp(2).normalize(),
                            fraction.normalize(),
                            cap.normalize()
                        )
                    });
                }
                Condition::Slippage { max_bps } => {
                    for (symbol, bps) in slippage.iter() {
                        see(symbol, bps > max_bps, &|| {
                            format!(
                                "{name}: the last {symbol} fill was {} bps worse than its reference price (bound {} bps)",
                                bps.normalize(),
                                max_bps.normalize()
                            )
                        });
                    }
                }
                Condition::Heartbeat { after_ns } => {
                    let quiet = last_event_ns.map_or(0, |t| now_ns - t);
                    see("", last_event_ns.is_some() && quiet > *after_ns, &|| {
                        format!("{name}: no event for {:.1} s", quiet as f64 / 1e9)
                    });
                }
                Condition::DaemonDown { after_ns } => {
                    for (daemon, d) in daemons.iter() {
                        let quiet = now_ns - d.live_at;
                        see(daemon, !d.live && quiet > *after_ns, &|| {
                            format!(
                                "{name}: {daemon} has not answered /livez for {:.1} s",
                                quiet as f64 / 1e9
                            )
                        });
                    }
                }
                Condition::DaemonNotReady { after_ns } => {
                    for (daemon, d) in daemons.iter() {
                        let spell = d.not_ready.as_ref().filter(|_| d.live);
                        let holds = spell.is_some_and(|(since, _)| now_ns - since > *after_ns);
                        see(daemon, holds, &|| {
                            let (since, why) = spell.map_or((now_ns, ""), |(t, w)| (*t, w));
                            format!(
                                "{name}: {daemon} is alive but not ready for {:.1} s: {why}",
                                (now_ns - since) as f64 / 1e9
                            )
                        });
                    }
                }
                Condition::ReconnectStorm { count, window_ns }
                | Condition::VenueErrors { count, window_ns } => {
                    let storm = matches!(rule.condition, Condition::ReconnectStorm { .. });
                    for (daemon, d) in daemons.iter() {
                        let samples = if storm {
                            &d.reconnects
                        } else {
                            &d.venue_errors
                        };
                        let n = samples.increase(now_ns, *window_ns);
                        see(daemon, n >= f64::from(*count), &|| {
                            let what = if storm {
                                "reconnects (WebSocket and Redis)"
                            } else {
                                "venue errors (HTTP 5xx, 429, 418 or no answer)"
                            };
                            format!(
                                "{name}: {daemon} had {n} {what} within {} s",
                                window_ns / 1_000_000_000
                            )
                        });
                    }
                }
            }
        }
    }
}

/// One key of `rule` at wall time `now_ns`: fires once the condition has held for `for`,
/// repeats every `repeat`, resolves when it stops holding.
fn step(
    rule: &Rule,
    tracks: &mut BTreeMap<String, Track>,
    key: &str,
    holds: bool,
    summary: &dyn Fn() -> String,
    now_ns: i64,
    out: &mut Vec<Notice>,
) {
    let t = match tracks.get_mut(key) {
        Some(t) => t,
        None if holds => tracks.entry(key.to_string()).or_default(),
        None => return,
    };
    let notice = |state, n: u32, starts: i64, summary: String| Notice {
        id: format!(
            "{}/{key}/{starts}/{}{}",
            rule.name,
            match state {
                State::Firing => "firing",
                State::Resolved => "resolved",
            },
            if n > 0 {
                format!("/{n}")
            } else {
                String::new()
            }
        ),
        rule: rule.name.clone(),
        key: key.to_string(),
        severity: rule.severity.clone(),
        state,
        summary,
        starts_at_ns: starts,
        at_ns: now_ns,
    };
    if holds {
        let since = *t.since.get_or_insert(now_ns);
        let due = match t.fired_at {
            None => now_ns - since >= rule.for_ns,
            Some(at) => rule.repeat_ns > 0 && now_ns - at >= rule.repeat_ns,
        };
        if due {
            t.summary = summary();
            out.push(notice(State::Firing, t.sent, since, t.summary.clone()));
            t.fired_at = Some(now_ns);
            t.sent += 1;
        }
    } else if let Some(since) = t.since.take() {
        if t.fired_at.take().is_some() && rule.resolve {
            out.push(notice(
                State::Resolved,
                0,
                since,
                format!("resolved: {}", t.summary),
            ));
        }
        t.sent = 0;
    }
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    }
}

/// Numbers compare as numbers (decimals as written, through f64), anything else by equality.
fn compare(got: &serde_json::Value, op: Op, want: &serde_json::Value) -> bool {
    let num = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.to_string().parse::<f64>().ok(),
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (num(got), num(want))
        && !(want.is_string() && got.is_string())
    {
        return match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        };
    }
    match op {
        Op::Eq => got == want,
        Op::Ne => got != want,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    const S: i64 = 1_000_000_000;

    fn rule(name: &str, condition: Condition, for_ns: i64, repeat_ns: i64) -> Rule {
        Rule {
            name: name.into(),
            severity: "critical".into(),
            condition,
            for_ns,
            repeat_ns,
            resolve: true,
        }
    }

    fn decision(id: &str, reason: &str, ts: i64) -> String {
        let allowed = reason == "null";
        format!(
            r#"{{"kind":"decision","intent_id":"{id}","allowed":{allowed},"reason":{reason},"caps":{{"source":"file"}},"ts_ns":{ts}}}"#
        )
    }

    fn feed(e: &mut Engine, line: &str, now: i64) -> Vec<Notice> {
        let mut out = Vec::new();
        e.on_event(&decode(line).unwrap(), now, &mut out);
        out
    }

    #[test]
    fn the_kill_switch_fires_repeats_and_resolves_with_stable_ids() {
        let mut e = Engine::new(vec![rule("halted", Condition::KillSwitch, 0, 60 * S)]);
        assert!(feed(&mut e, &decision("a", "null", 1), 10 * S).is_empty());
        let fired = feed(&mut e, &decision("b", r#""halted""#, 2), 20 * S);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].state, State::Firing);
        assert_eq!(fired[0].id, format!("halted//{}/firing", 20 * S));
        assert!(fired[0].summary.contains("from file"), "{:?}", fired[0]);
        // Still halted: nothing new until the repeat interval.
        assert!(feed(&mut e, &decision("c", r#""halted""#, 3), 30 * S).is_empty());
        let mut out = Vec::new();
        e.on_tick(81 * S, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, format!("halted//{}/firing/1", 20 * S));
        // A duplicate is refused before the switch is read: no change.
        assert!(feed(&mut e, &decision("d", r#""duplicate_intent""#, 4), 82 * S).is_empty());
        let resolved = feed(&mut e, &decision("e", "null", 5), 90 * S);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].state, State::Resolved);
        assert_eq!(resolved[0].starts_at_ns, 20 * S);
    }

    #[test]
    fn a_field_rule_counts_matches_in_an_event_time_window_per_key() {
        let cond = Condition::Field {
            kind: Kind::Decision,
            field: "allowed".into(),
            op: Op::Eq,
            value: serde_json::json!(false),
            window_ns: 60 * S,
            count: 3,
            dedupe: Some("reason".into()),
        };
        let mut e = Engine::new(vec![rule("denials", cond, 0, 0)]);
        let cap = r#""per_order_usd_cap""#;
        assert!(feed(&mut e, &decision("1", cap, S), 1).is_empty());
        assert!(feed(&mut e, &decision("2", cap, 2 * S), 2).is_empty());
        // Another reason is another key.
        assert!(feed(&mut e, &decision("3", r#""no_ref_price""#, 3 * S), 3).is_empty());
        let out = feed(&mut e, &decision("4", cap, 4 * S), 4);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, "per_order_usd_cap");
        assert!(
            out[0].summary.contains("3 decision events"),
            "{}",
            out[0].summary
        );
        // A minute of event time later the window is empty: resolved.
        let out = feed(&mut e, &decision("5", "null", 70 * S), 5);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, State::Resolved);
    }

    #[test]
    fn for_holds_a_notice_back_and_a_stale_stream_and_silence_fire() {
        let trade = |sym: &str, ts: i64| {
            format!(
                r#"{{"kind":"trade","symbol":"{sym}","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":{ts}}}"#
            )
        };
        let mut e = Engine::new(vec![
            rule(
                "stale",
                Condition::StaleStream { after_ns: 30 * S },
                5 * S,
                0,
            ),
            rule("silence", Condition::Heartbeat { after_ns: 10 * S }, 0, 0),
        ]);
        assert!(feed(&mut e, &trade("A/USDT", 0), 0).is_empty());
        assert!(feed(&mut e, &trade("B/USDT", 40 * S), S).is_empty());
        // A is 40 s behind, but `for` is 5 s of wall time.
        let out = feed(&mut e, &trade("B/USDT", 41 * S), 6 * S);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].key, "trade A/USDT");
        let mut out = Vec::new();
        e.on_tick(17 * S, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, "silence");
        let out = feed(&mut e, &trade("A/USDT", 42 * S), 18 * S);
        let states: Vec<(&str, State)> = out.iter().map(|n| (n.rule.as_str(), n.state)).collect();
        assert_eq!(
            states,
            vec![("stale", State::Resolved), ("silence", State::Resolved)]
        );
    }

    #[test]
    fn the_days_loss_near_its_cap_and_slippage_above_a_bound_fire() {
        let mut e = Engine::new(vec![
            rule(
                "loss",
                Condition::DailyLoss {
                    cap: Decimal::from(100),
                    fraction: Decimal::new(8, 1),
                },
                0,
                0,
            ),
            rule(
                "slippage",
                Condition::Slippage {
                    max_bps: Decimal::from(50),
                },
                0,
                0,
            ),
        ]);
        let day = 1_767_571_200 * S;
        let position = |strategy: &str, pnl: &str, ts: i64| {
            format!(
                r#"{{"kind":"position","symbol":"A/USDT","strategy_id":"{strategy}","qty":0,"avg_price":0,"realized_pnl":{pnl},"realized_pnl_day":{pnl},"ts_ns":{ts}}}"#
            )
        };
        assert!(feed(&mut e, &position("a", "-50", day + S), 1).is_empty());
        let out = feed(&mut e, &position("b", "-31", day + 2 * S), 2);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].summary.contains("the day's loss is 81 USD"),
            "{}",
            out[0].summary
        );
        // The next UTC day starts flat: resolved.
        let out = feed(&mut e, &position("a", "0", day + 86_400 * S), 3);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, State::Resolved);

        let allowed = r#"{"kind":"decision","intent_id":"i1","allowed":true,"reason":null,"caps":{"ref_price":10},"ts_ns":1}"#;
        let fill = |price: &str| {
            format!(
                r#"{{"kind":"fill","order_id":"o","intent_id":"i1","symbol":"A/USDT","side":"buy","qty":1,"price":{price},"ts_fill_ns":2}}"#
            )
        };
        assert!(feed(&mut e, allowed, 4).is_empty());
        assert!(feed(&mut e, &fill("10.04"), 5).is_empty(), "40 bps: within");
        let out = feed(&mut e, &fill("10.06"), 6);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].key, "A/USDT");
        assert!(
            out[0].summary.contains("60 bps worse"),
            "{}",
            out[0].summary
        );
        // A fill at the largest decimal against a tiny reference: no panic, no figure.
        let tiny = allowed
            .replace(r#""i1""#, r#""i2""#)
            .replace(":10}", ":0.0000001}");
        assert!(feed(&mut e, &tiny, 7).is_empty());
        let huge = fill("79228162514264337593543950335").replace(r#""i1""#, r#""i2""#);
        feed(&mut e, &huge, 8);
    }

    #[test]
    fn daemons_down_not_ready_reconnecting_or_failing_at_the_venue_fire_per_daemon() {
        let mut e = Engine::new(vec![
            rule("down", Condition::DaemonDown { after_ns: 10 * S }, 0, 0),
            rule(
                "unready",
                Condition::DaemonNotReady { after_ns: 5 * S },
                0,
                0,
            ),
            rule(
                "storm",
                Condition::ReconnectStorm {
                    count: 3,
                    window_ns: 60 * S,
                },
                0,
                0,
            ),
            rule(
                "venue",
                Condition::VenueErrors {
                    count: 2,
                    window_ns: 60 * S,
                },
                0,
                0,
            ),
        ]);
        let up = |reconnects: f64, errors: f64| Probe {
            live: true,
            not_ready: None,
            reconnects: Some(reconnects),
            venue_errors: Some(errors),
        };
        let probe = |e: &mut Engine, d: &str, p: Probe, now: i64| {
            let mut out = Vec::new();
            e.on_probe(d, p, now, &mut out);
            out.into_iter()
                .map(|n| (n.rule, n.key, n.state))
                .collect::<Vec<_>>()
        };
        // Never answered: down once 10 s have passed since the first poll.
        assert!(probe(&mut e, "gone", Probe::default(), 0).is_empty());
        let fired = probe(&mut e, "gone", Probe::default(), 11 * S);
        assert_eq!(fired, [("down".into(), "gone".into(), State::Firing)]);
        // Counters: a rise of 2 reconnects is no storm; a third within the minute is.
        assert!(probe(&mut e, "ingest", up(5.0, 5.0), 11 * S).is_empty());
        assert!(probe(&mut e, "ingest", up(7.0, 5.0), 20 * S).is_empty());
        let fired = probe(&mut e, "ingest", up(8.0, 6.0), 30 * S);
        assert_eq!(fired, [("storm".into(), "ingest".into(), State::Firing)]);
        // A restart: the counters drop, and the new values count (1 + 1 venue errors).
        let fired = probe(&mut e, "ingest", up(0.0, 1.0), 31 * S);
        assert_eq!(fired, [("venue".into(), "ingest".into(), State::Firing)]);
        // A minute later the rises are out of the window: both resolve.
        let resolved = probe(&mut e, "ingest", up(0.0, 1.0), 95 * S);
        assert_eq!(
            resolved,
            [
                ("storm".into(), "ingest".into(), State::Resolved),
                ("venue".into(), "ingest".into(), State::Resolved)
            ]
        );
        // Alive but not ready for more than 5 s, with the daemon's reason.
        let unready = Probe {
            not_ready: Some("event time stuck for 30 s".into()),
            ..up(0.0, 1.0)
        };
        assert!(probe(&mut e, "ingest", unready.clone(), 96 * S).is_empty());
        let mut out = Vec::new();
        e.on_tick(102 * S, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, "unready");
        assert!(
            out[0].summary.contains("event time stuck"),
            "{}",
            out[0].summary
        );
        // It answers /livez again: down resolves.
        let resolved = probe(&mut e, "gone", up(0.0, 0.0), 103 * S);
        assert_eq!(resolved, [("down".into(), "gone".into(), State::Resolved)]);
    }
}
