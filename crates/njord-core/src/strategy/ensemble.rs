//! `ensemble`: one position from the votes of member strategies, optionally switched on and
//! off by a market regime.
//!
//! Each member is a built-in class run on the same events, for the same symbol. A member's
//! vote is the side of its latest intent (+1 buy, −1 sell, 0 before its first); its own
//! intents go nowhere else. The votes of the members active in the current regime combine by
//! `mode`:
//! - `weighted`: score = Σ weight·vote / Σ weight; +1 at score ≥ `min_agreement`, −1 at
//!   score ≤ −`min_agreement`;
//! - `majority`: the share of members voting one way, which must be above one half and at
//!   least `min_agreement`;
//! - `unanimous`: every active member votes the same way (and at least one is active).
//!
//! A +1 buys `qty` (twice from short), a −1 sells the position (and, without `long_only`,
//! `qty` more to go short). The intent's `meta` has the `score`, the `regime` and every
//! member's `votes` (`class#index`). At a close the return of the trade, at the events'
//! prices, is attributed to the members that voted for it, by weight ([`Strategy::summary`]).
//!
//! The regime (`regime:` in params) is computed with hysteresis, so it does not flicker:
//! - `{kind: volatility, window, lookback, enter, exit}`: the close-to-close volatility over
//!   `window` prices, ranked among its last `lookback` values (ties count half; no regime
//!   change before `lookback` values); `volatile` from percentile `enter` up, `calm` again
//!   at `exit` and below;
//! - `{kind: trend, fast, slow, enter, exit}`: |EMA fast / EMA slow − 1|; `trending` from
//!   `enter`, `ranging` again at `exit` and below.
//!
//! A member with `regime: volatile` (or any regime name) votes only in that regime. Every
//! switch is a `regime` event (before the ensemble's own intents of the event that caused
//! it), logged and counted in the summary.

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, Scope};
use super::{Context, Strategy, StrategyError};
use crate::event::{Event, Intent, Map, Side};
use crate::features::CloseToCloseVol;
use crate::indicators::{Ema, EmaSeed};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::VecDeque;

pub const CLASS: Class = Class {
    name: "ensemble",
    about: "One position from member strategies' votes (params mode, members and an optional \
            regime; see docs/advanced-strategies.md)",
    params: &[
        ParamSpec {
            name: "min_agreement",
            kind: ParamKind::Float { min: 0.0, max: 1.0 },
            default: Some(ParamValue::Float(0.5)),
            help: "weighted score or share of members needed to act",
        },
        QTY,
        ParamSpec {
            name: "long_only",
            kind: ParamKind::Bool,
            default: Some(ParamValue::Bool(true)),
            help: "a -1 closes a long instead of going short",
        },
    ],
    build,
    scope: Scope::PerSymbol,
    open: true,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Weighted,
    Majority,
    Unanimous,
}

struct Member {
    label: String,
    weight: f64,
    /// The regime it votes in; `None`: all.
    regime: Option<&'static str>,
    strategy: Box<dyn Strategy>,
    vote: i8,
    /// Trades it voted for, and the return attributed to it.
    agreed: u64,
    attributed: f64,
}

fn err(key: &'static str, msg: String) -> ParamError {
    ParamError { key, msg }
}

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    let extra = p.extra();
    if let Some(k) = extra
        .keys()
        .find(|k| !matches!(k.as_str(), "mode" | "members" | "regime"))
    {
        return Err(err(
            "",
            format!("unknown parameter `{k}` for class `ensemble`"),
        ));
    }
    let mode = match extra.get("mode") {
        None => Mode::Weighted,
        Some(Value::String(s)) if s == "weighted" => Mode::Weighted,
        Some(Value::String(s)) if s == "majority" => Mode::Majority,
        Some(Value::String(s)) if s == "unanimous" => Mode::Unanimous,
        Some(v) => {
            return Err(err(
                "mode",
                format!("expected weighted, majority or unanimous, found `{v}`"),
            ));
        }
    };
    let regime = extra.get("regime").map(Regime::parse).transpose()?;
    let names = regime.as_ref().map(Regime::names);
    let Some(Value::Array(list)) = extra.get("members") else {
        return Err(err(
            "members",
            "required: a list of {class, params, weight, regime}".into(),
        ));
    };
    if list.is_empty() {
        return Err(err("members", "the list is empty".into()));
    }
    let registry = super::Registry::builtin();
    let mut members = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let bad = |msg: String| err("members", format!("[{i}]: {msg}"));
        let Value::Object(m) = m else {
            return Err(bad(format!("expected a mapping, found `{m}`")));
        };
        if let Some(k) = m
            .keys()
            .find(|k| !matches!(k.as_str(), "class" | "params" | "weight" | "regime"))
        {
            return Err(bad(format!(
                "unknown key `{k}` (known: class, params, weight, regime)"
            )));
        }
        let class = match m.get("class") {
            Some(Value::String(c)) => registry
                .get(c)
                .filter(|c| c.scope == Scope::PerSymbol && c.name != "ensemble")
                .ok_or_else(|| bad(format!("`{c}` is not a class of one symbol")))?,
            _ => return Err(bad("class: required".into())),
        };
        let empty = serde_json::Map::new();
        let raw = match m.get("params") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(p)) => p,
            Some(v) => return Err(bad(format!("params: expected a mapping, found `{v}`"))),
        };
        let params = class
            .params(raw)
            .map_err(|e| bad(format!("params.{}: {}", e.key, e.msg)))?;
        let weight = match m.get("weight") {
            None => 1.0,
            Some(v) => v
                .as_f64()
                .filter(|w| w.is_finite() && *w > 0.0)
                .ok_or_else(|| bad(format!("weight: expected a number > 0, found `{v}`")))?,
        };
        let regime = match (m.get("regime"), names) {
            (None, _) => None,
            (Some(Value::String(r)), Some(names)) => Some(
                names
                    .into_iter()
                    .find(|n| n == r)
                    .ok_or_else(|| bad(format!("regime `{r}` is not one of {names:?}")))?,
            ),
            (Some(v), _) => {
                return Err(bad(format!(
                    "regime `{v}` needs a `regime` in the ensemble's params"
                )));
            }
        };
        members.push(Member {
            label: format!("{}#{i}", class.name),
            weight,
            regime,
            strategy: (class.build)(&params)
                .map_err(|e| bad(format!("params.{}: {}", e.key, e.msg)))?,
            vote: 0,
            agreed: 0,
            attributed: 0.0,
        });
    }
    Ok(Box::new(Ensemble {
        mode,
        min_agreement: p.float("min_agreement")?,
        qty: p.decimal("qty")?,
        long_only: p.bool("long_only")?,
        members,
        regime,
        position: 0,
        entry: None,
        scratch: Vec::new(),
        switches: 0,
        events: Vec::new(),
    }))
}

/// A market regime with hysteresis: `on` from `enter` up, off again at `exit` and below.
struct Regime {
    measure: Measure,
    enter: f64,
    exit: f64,
    on: bool,
}

enum Measure {
    Volatility {
        vol: CloseToCloseVol,
        recent: VecDeque<f64>,
        lookback: usize,
    },
    Trend {
        fast: Ema,
        slow: Ema,
    },
}

impl Regime {
    fn parse(v: &Value) -> Result<Regime, ParamError> {
        let bad = |msg: String| err("regime", msg);
        let Value::Object(m) = v else {
            return Err(bad(format!("expected a mapping, found `{v}`")));
        };
        let num = |k: &str, default: f64| -> Result<f64, ParamError> {
            match m.get(k) {
                None => Ok(default),
                Some(v) => v
                    .as_f64()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| bad(format!("{k}: expected a number >= 0, found `{v}`"))),
            }
        };
        let count = |k: &str, default: f64| -> Result<usize, ParamError> {
            let n = num(k, default)?;
            if n < 2.0 || n.fract() != 0.0 {
                return Err(bad(format!("{k}: expected an integer >= 2, found {n}")));
            }
            Ok(n as usize)
        };
        let (measure, keys, enter, exit) = match m.get("kind").and_then(Value::as_str) {
            Some("volatility") => (
                Measure::Volatility {
                    vol: CloseToCloseVol::new(count("window", 20.0)?),
                    recent: VecDeque::new(),
                    lookback: count("lookback", 200.0)?,
                },
                ["kind", "window", "lookback", "enter", "exit"],
                num("enter", 0.8)?,
                num("exit", 0.6)?,
            ),
            Some("trend") => {
                let (fast, slow) = (count("fast", 20.0)?, count("slow", 50.0)?);
                if fast >= slow {
                    return Err(bad(format!(
                        "fast ({fast}) must be less than slow ({slow})"
                    )));
                }
                (
                    Measure::Trend {
                        fast: Ema::new(fast, EmaSeed::FirstPrice),
                        slow: Ema::new(slow, EmaSeed::FirstPrice),
                    },
                    ["kind", "fast", "slow", "enter", "exit"],
                    num("enter", 0.02)?,
                    num("exit", 0.01)?,
                )
            }
            _ => return Err(bad("kind: expected volatility or trend".into())),
        };
        if let Some(k) = m.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(bad(format!(
                "unknown key `{k}` (known: {})",
                keys.join(", ")
            )));
        }
        if exit > enter {
            return Err(bad(format!(
                "exit ({exit}) must not be above enter ({enter})"
            )));
        }
        Ok(Regime {
            measure,
            enter,
            exit,
            on: false,
        })
    }

    /// The names of the regime when off and on.
    fn names(&self) -> [&'static str; 2] {
        match self.measure {
            Measure::Volatility { .. } => ["calm", "volatile"],
            Measure::Trend { .. } => ["ranging", "trending"],
        }
    }

    fn name(&self) -> &'static str {
        self.names()[usize::from(self.on)]
    }

    /// Feeds a price; the level that switched the regime, if it did.
    fn update(&mut self, price: f64) -> Option<f64> {
        let level = match &mut self.measure {
            Measure::Volatility {
                vol,
                recent,
                lookback,
            } => {
                let v = vol.update(price)?;
                if recent.len() == *lookback {
                    recent.pop_front();
                }
                recent.push_back(v);
                if recent.len() < *lookback {
                    return None;
                }
                // The percentile rank of this volatility among the recent ones (ties count
                // half, so a flat stretch ranks in the middle).
                let below = recent.iter().filter(|x| **x < v).count() as f64;
                let equal = recent.iter().filter(|x| **x == v).count() as f64;
                (below + 0.5 * equal) / recent.len() as f64
            }
            Measure::Trend { fast, slow } => match (fast.update(price), slow.update(price)) {
                (Some(f), Some(s)) if s != 0.0 => (f / s - 1.0).abs(),
                _ => return None,
            },
        };
        let on = if self.on {
            level > self.exit
        } else {
            level >= self.enter
        };
        let switched = on != self.on;
        self.on = on;
        switched.then_some(level)
    }
}

pub struct Ensemble {
    mode: Mode,
    min_agreement: f64,
    qty: Decimal,
    long_only: bool,
    members: Vec<Member>,
    regime: Option<Regime>,
    /// −1, 0 or +1.
    position: i8,
    /// The open trade's entry price and the members that voted for it.
    entry: Option<(f64, Vec<usize>)>,
    scratch: Vec<Intent<'static>>,
    switches: u64,
    /// Regime switches not yet taken by the manager.
    events: crate::event::Out,
}

impl Ensemble {
    fn active(&self, m: &Member) -> bool {
        match (m.regime, &self.regime) {
            (Some(r), Some(regime)) => regime.name() == r,
            _ => true,
        }
    }

    /// The combined vote of the active members and the weighted score behind it.
    fn decide(&self) -> (i8, f64) {
        let active: Vec<&Member> = self.members.iter().filter(|m| self.active(m)).collect();
        let total: f64 = active.iter().map(|m| m.weight).sum();
        if active.is_empty() || total <= 0.0 {
            return (0, 0.0);
        }
        let score = active
            .iter()
            .map(|m| m.weight * f64::from(m.vote))
            .sum::<f64>()
            / total;
        let share = |side: i8| {
            active.iter().filter(|m| m.vote == side).count() as f64 / active.len() as f64
        };
        let call = match self.mode {
            Mode::Weighted if score >= self.min_agreement && score > 0.0 => 1,
            Mode::Weighted if score <= -self.min_agreement && score < 0.0 => -1,
            Mode::Majority if share(1) > 0.5 && share(1) >= self.min_agreement => 1,
            Mode::Majority if share(-1) > 0.5 && share(-1) >= self.min_agreement => -1,
            Mode::Unanimous if share(1) == 1.0 => 1,
            Mode::Unanimous if share(-1) == 1.0 => -1,
            _ => 0,
        };
        (call, score)
    }

    /// Closes the open trade's books at `price`: its return goes to the members that voted
    /// for it, by weight.
    fn attribute(&mut self, price: f64) {
        let Some((entry, agreed)) = self.entry.take() else {
            return;
        };
        let r = (price / entry - 1.0) * f64::from(self.position);
        let total: f64 = agreed.iter().map(|&i| self.members[i].weight).sum();
        for &i in &agreed {
            let m = &mut self.members[i];
            m.agreed += 1;
            if total > 0.0 && r.is_finite() {
                m.attributed += r * m.weight / total;
            }
        }
    }
}

impl Strategy for Ensemble {
    fn on_event(
        &mut self,
        ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let price = ctx.price_f64();
        if let Some(regime) = &mut self.regime
            && let Some(level) = regime.update(price)
        {
            self.switches += 1;
            let previous = regime.names()[usize::from(!regime.on)];
            self.events.push(Event::Regime(crate::event::Regime {
                strategy_id: ctx.strategy_id().to_owned().into(),
                symbol: ctx.symbol().to_owned().into(),
                regime: regime.name().into(),
                previous: previous.into(),
                level: Decimal::from_f64_retain(level)
                    .unwrap_or_default()
                    .round_dp(8),
                ts_ns: ctx.ts_ns(),
            }));
            tracing::info!(
                strategy = ctx.strategy_id(),
                symbol = ctx.symbol(),
                ts_ns = ctx.ts_ns(),
                regime = regime.name(),
                "strategy `{}` on {}: the regime is now {}",
                ctx.strategy_id(),
                ctx.symbol(),
                regime.name()
            );
        }
        for m in &mut self.members {
            self.scratch.clear();
            m.strategy.on_event(ev, ctx, &mut self.scratch)?;
            if let Some(last) = self.scratch.last().and_then(Intent::side) {
                m.vote = if last == Side::Buy { 1 } else { -1 };
            }
        }
        let (call, score) = self.decide();
        let target = if call < 0 && self.long_only { 0 } else { call };
        if call == 0 {
            return Ok(());
        }
        let Some((side, qty)) = super::toward(self.position, target, self.qty) else {
            return Ok(());
        };
        self.attribute(price);
        let votes: Map = self
            .members
            .iter()
            .map(|m| {
                let v = if self.active(m) {
                    Value::from(m.vote)
                } else {
                    Value::Null
                };
                (m.label.clone(), v)
            })
            .collect();
        let regime = self.regime.as_ref().map(Regime::name);
        out.push(ctx.intent(side, qty, || {
            let mut meta = super::meta([("score", score)]);
            meta.insert("votes".into(), Value::Object(votes));
            if let Some(r) = regime {
                meta.insert("regime".into(), Value::from(r));
            }
            meta
        }));
        self.position = target;
        if target != 0 {
            let agreed = (0..self.members.len())
                .filter(|&i| self.active(&self.members[i]) && self.members[i].vote == target)
                .collect();
            self.entry = Some((price, agreed));
        }
        Ok(())
    }

    fn take_events(&mut self, out: &mut crate::event::Out) {
        out.append(&mut self.events);
    }

    fn summary(&self) -> Option<Map> {
        let members: Map = self
            .members
            .iter()
            .map(|m| {
                let v = serde_json::json!({
                    "weight": m.weight,
                    "trades_agreed": m.agreed,
                    "return_attributed": m.attributed,
                });
                (m.label.clone(), v)
            })
            .collect();
        let mut s = Map::new();
        s.insert("members".into(), Value::Object(members));
        if let Some(r) = &self.regime {
            s.insert("regime".into(), Value::from(r.name()));
            s.insert("regime_switches".into(), Value::from(self.switches));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::super::testing::{manager, trade};
    use super::*;

    fn entry(params: &str) -> String {
        format!(
            "strategies:\n  - {{id: e, class: ensemble, symbols: ['*'], events: [trade], params: {params}}}\n"
        )
    }

    const EMAS: &str = "members: [{class: ema_cross, params: {fast: 2, slow: 3, qty: 1, long_only: false}}, {class: ema_cross, weight: 2, params: {fast: 2, slow: 5, qty: 1, long_only: false}}, {class: ema_cross, params: {fast: 3, slow: 8, qty: 1, long_only: false}}]";

    /// Down, then up, then down: the faster members turn first.
    fn prices() -> Vec<String> {
        let mut p: Vec<f64> = (0..12).map(|i| 20.0 - f64::from(i) * 0.5).collect();
        p.extend((0..12).map(|i| 14.5 + f64::from(i) * 0.5));
        p.extend((0..12).map(|i| 20.0 - f64::from(i) * 0.5));
        p.iter().map(|x| format!("{x:.2}")).collect()
    }

    /// (index of the price, side, meta) of the ensemble's intents.
    fn run(params: &str) -> (Vec<(i64, String, Map)>, Manager) {
        let mut m = manager(Registry::builtin(), &entry(params));
        let mut out = Vec::new();
        for (i, p) in prices().iter().enumerate() {
            m.on_event(&trade("A/USDT", p, i as i64), &mut out);
        }
        let got = out
            .iter()
            .filter_map(|e| match e {
                Event::Intent(i) => Some((
                    (i.ts_ns - super::super::testing::T0) / 1_000_000_000,
                    i.side.to_string(),
                    i.meta.clone(),
                )),
                _ => None,
            })
            .collect();
        (got, m)
    }

    use super::super::Manager;

    #[test]
    fn unanimous_waits_for_every_member_and_majority_does_not() {
        let (all, _) = run(&format!("{{qty: 1, mode: unanimous, {EMAS}}}"));
        let (most, _) = run(&format!("{{qty: 1, mode: majority, {EMAS}}}"));
        assert_eq!(
            all.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["buy", "sell"]
        );
        assert_eq!(
            most.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["buy", "sell"]
        );
        assert!(
            most[0].0 < all[0].0,
            "two of three agree before all do: {most:?} {all:?}"
        );
        assert!(most[1].0 < all[1].0);
        // Every member's vote rides in the intent.
        let votes = all[0].2["votes"].as_object().unwrap();
        assert_eq!(votes.len(), 3);
        assert!(votes.values().all(|v| v == 1), "{votes:?}");
    }

    #[test]
    fn weighted_score_and_min_agreement() {
        // The weight-2 member and one other: score 3/4 at the first buy.
        let (w, _) = run(&format!("{{qty: 1, min_agreement: 0.7, {EMAS}}}"));
        let (all, _) = run(&format!("{{qty: 1, mode: unanimous, {EMAS}}}"));
        assert_eq!(w[0].1, "buy");
        assert_eq!(w[0].2["score"], 0.5 * 1.5);
        assert!(w[0].0 < all[0].0);
        // Not long-only: a sell goes short, twice the quantity from long.
        let (short, _) = run(&format!(
            "{{qty: 1, long_only: false, mode: unanimous, {EMAS}}}"
        ));
        assert_eq!(short.len(), 2);
    }

    #[test]
    fn attribution_goes_to_the_members_that_voted_for_the_trade() {
        let (trades, m) = run(&format!("{{qty: 1, mode: majority, {EMAS}}}"));
        assert_eq!(trades.len(), 2);
        let summaries = m.summaries();
        assert_eq!(summaries.len(), 1);
        let members = summaries[0].2["members"].as_object().unwrap();
        let agreed: u64 = members
            .values()
            .map(|v| v["trades_agreed"].as_u64().unwrap())
            .sum();
        assert!((2..=3).contains(&agreed), "{members:?}");
        let total: f64 = members
            .values()
            .map(|v| v["return_attributed"].as_f64().unwrap())
            .sum();
        let price = |i: i64| prices()[i as usize].parse::<f64>().unwrap();
        let r = price(trades[1].0) / price(trades[0].0) - 1.0;
        assert!((total - r).abs() < 1e-12, "{total} vs {r}");
    }

    #[test]
    fn a_regime_switches_with_hysteresis_and_gates_its_members() {
        let v = serde_json::json!({"kind": "volatility", "window": 3, "lookback": 20, "enter": 0.9, "exit": 0.5});
        let mut r = Regime::parse(&v).unwrap();
        let mut names = Vec::new();
        // Calm, then a burst, then calm again.
        let calm = (0..30).map(|i| 10.0 + 0.01 * f64::from(i % 2));
        let burst = (0..6).map(|i| if i % 2 == 0 { 11.0 } else { 9.0 });
        for p in calm.clone().chain(burst).chain(calm) {
            if r.update(p).is_some() {
                names.push(r.name());
            }
        }
        assert_eq!(names, ["volatile", "calm"]);
        // Through the manager, each switch is a `regime` event.
        let yaml = entry(
            "{qty: 1, regime: {kind: volatility, window: 3, lookback: 20, enter: 0.9, exit: 0.5}, members: [{class: ema_cross, params: {fast: 2, slow: 3, qty: 1}}]}",
        );
        let mut m = manager(Registry::builtin(), &yaml);
        let mut out = Vec::new();
        let calm = (0..30).map(|i| 10.0 + 0.01 * f64::from(i % 2));
        let burst = (0..6).map(|i| if i % 2 == 0 { 11.0 } else { 9.0 });
        for (i, p) in calm.clone().chain(burst).chain(calm).enumerate() {
            m.on_event(&trade("A/USDT", &format!("{p:.2}"), i as i64), &mut out);
        }
        let switches: Vec<(String, String, String)> = out
            .iter()
            .filter_map(|e| match e {
                Event::Regime(r) => Some((
                    r.strategy_id.to_string(),
                    r.previous.to_string(),
                    r.regime.to_string(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            switches,
            [
                ("e".into(), "calm".into(), "volatile".into()),
                ("e".into(), "volatile".into(), "calm".into())
            ]
        );
        let high = Decimal::new(9, 1);
        assert!(
            out.iter()
                .any(|e| matches!(e, Event::Regime(r) if r.level >= high))
        );
        // A member of a regime that never comes never votes: nothing is traded.
        let gated =
            "members: [{class: ema_cross, regime: volatile, params: {fast: 2, slow: 3, qty: 1}}]";
        let regime = "regime: {kind: volatility, window: 3, lookback: 50, enter: 1.01, exit: 0.5}";
        let (none, _) = run(&format!("{{qty: 1, {regime}, {gated}}}"));
        assert!(none.is_empty(), "{none:?}");
        let (some, _) = run(&format!(
            "{{qty: 1, {regime}, members: [{{class: ema_cross, regime: calm, params: {{fast: 2, slow: 3, qty: 1}}}}]}}"
        ));
        assert!(!some.is_empty());
        assert_eq!(some[0].2["regime"], "calm");
    }

    #[test]
    fn bad_params_name_their_key() {
        let reg = Registry::builtin();
        let topics = crate::config::Topics::default();
        let parse = |params: &str| {
            super::super::manager::parse(&entry(params), "t.yaml", &reg, &topics)
                .unwrap_err()
                .to_string()
        };
        let one = "members: [{class: ema_cross, params: {qty: 1}}]";
        for (params, said) in [
            (
                format!("{{qty: 1, mode: most, {one}}}"),
                "`params.mode`: expected weighted",
            ),
            ("{qty: 1}".to_owned(), "`params.members`: required"),
            (
                "{qty: 1, members: [{class: nope}]}".to_owned(),
                "[0]: `nope` is not a class",
            ),
            (
                "{qty: 1, members: [{class: pairs}]}".to_owned(),
                "[0]: `pairs` is not a class",
            ),
            (
                "{qty: 1, members: [{class: ema_cross, params: {fast: 0, qty: 1}}]}".to_owned(),
                "[0]: params.fast",
            ),
            (
                "{qty: 1, members: [{class: ema_cross, regime: calm, params: {qty: 1}}]}"
                    .to_owned(),
                "needs a `regime`",
            ),
            (
                format!("{{qty: 1, regime: {{kind: moon}}, {one}}}"),
                "`params.regime`: kind",
            ),
            (
                format!("{{qty: 1, regime: {{kind: trend, fast: 5, slow: 3}}, {one}}}"),
                "must be less than slow",
            ),
            (
                format!("{{qty: 1, extra: 1, {one}}}"),
                "unknown parameter `extra`",
            ),
        ] {
            let e = parse(&params);
            assert!(e.contains(said), "{said}: {e}");
        }
    }
}
