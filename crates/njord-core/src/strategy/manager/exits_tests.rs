//! The manager's exits and stakes on a scripted strategy: hand-checked prices, one event a
//! minute.

use super::super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, Scope};
use super::super::testing::{T0, manager, trade};
use super::super::{Context, Strategy, StrategyError};
use super::*;
use crate::event::{Event, Intent, Side};

/// Buys at the events numbered `buy_at` and `rebuy_at`, sells at `sell_at` (from 0), `qty`
/// each.
struct Script {
    seen: i64,
    buy_at: i64,
    rebuy_at: i64,
    sell_at: i64,
    qty: Decimal,
}

impl Strategy for Script {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let n = self.seen;
        self.seen += 1;
        let plan = [
            (self.buy_at, Side::Buy),
            (self.rebuy_at, Side::Buy),
            (self.sell_at, Side::Sell),
        ];
        for (at, side) in plan {
            if at == n {
                out.push(ctx.intent(side, self.qty, Map::new));
            }
        }
        Ok(())
    }
}

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    Ok(Box::new(Script {
        seen: 0,
        buy_at: p.int("buy_at")?,
        rebuy_at: p.int("rebuy_at")?,
        sell_at: p.int("sell_at")?,
        qty: p.decimal("qty")?,
    }))
}

const fn int(name: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Int { min: -1 },
        default: Some(ParamValue::Int(-1)),
        help: "event number",
    }
}

const SCRIPT: Class = Class {
    name: "script",
    about: "test script",
    params: &[
        int("buy_at"),
        int("rebuy_at"),
        int("sell_at"),
        super::super::registry::QTY,
    ],
    build,
    scope: Scope::PerSymbol,
    open: false,
};

use crate::event::Map;

/// Runs the script with `params` and `rules` (YAML flow entries after the params) over
/// prices, one a minute; returns `minute side qty [exit return]` per intent.
fn run(params: &str, rules: &str, prices: &[&str]) -> Vec<String> {
    let mut registry = super::super::registry::Registry::builtin();
    registry.register(SCRIPT).unwrap();
    let yaml = format!(
        "strategies:\n  - {{id: s, class: script, symbols: [A/USDT], events: [trade], params: {params}{rules}}}\n"
    );
    let mut m = manager(registry, &yaml);
    let mut out = Vec::new();
    for (i, p) in prices.iter().enumerate() {
        m.on_event(&trade("A/USDT", p, i as i64 * 60), &mut out);
    }
    out.iter()
        .map(|e| {
            let Event::Intent(i) = e else { unreachable!() };
            let minute = (i.ts_ns - T0) / 60_000_000_000;
            let mut s = format!("{minute} {} {}", i.side, i.qty);
            if let Some(exit) = i.meta.get("exit") {
                s += &format!(" {} {}", exit.as_str().unwrap(), i.meta["return"]);
            }
            s
        })
        .collect()
}

#[test]
fn stop_loss_take_profit_and_trailing_stop_exit_the_whole_position() {
    let p = "{buy_at: 0, sell_at: 9, qty: 2}";
    let prices = [
        "100", "98", "95.5", "94.9", "90", "100", "100", "100", "100", "100",
    ];
    // Out at −5.1 %; the script's own sell at minute 9 is dropped: the exit closed it.
    assert_eq!(
        run(p, ", exits: {stop_loss: 0.05}", &prices),
        ["0 buy 2", "3 sell 2 stop_loss -0.051"]
    );
    let prices = [
        "100", "105", "109.99", "110", "100", "100", "100", "100", "100", "100",
    ];
    assert_eq!(
        run(p, ", exits: {take_profit: 0.1}", &prices),
        ["0 buy 2", "3 sell 2 take_profit 0.1"]
    );
    // 5 % off the best price since entry (120): 114.1 is 4.92 % off, 113.9 is 5.08 %.
    let prices = [
        "100", "120", "114.1", "113.9", "100", "100", "100", "100", "100", "100",
    ];
    assert_eq!(
        run(p, ", exits: {trailing_stop: 0.05}", &prices),
        ["0 buy 2", "3 sell 2 trailing_stop 0.139"]
    );
    // Without exits the script trades as written.
    assert_eq!(run(p, "", &prices), ["0 buy 2", "9 sell 2"]);
}

#[test]
fn a_short_exits_when_the_price_rises() {
    let p = "{sell_at: 0, buy_at: 9, qty: 1}";
    let prices = [
        "100", "103", "105", "100", "100", "100", "100", "100", "100", "100",
    ];
    assert_eq!(
        run(p, ", exits: {stop_loss: 0.05}", &prices),
        ["0 sell 1", "2 buy 1 stop_loss -0.05"]
    );
}

#[test]
fn the_roi_table_lowers_the_bar_with_time_and_the_time_stop_ends_it() {
    let p = "{buy_at: 0, sell_at: 9, qty: 1}";
    // 20 % at once, 5 % after 2 minutes, anything after 4: 106 at minute 2 is enough.
    let roi = r#", exits: {roi: {"0": 0.2, "2": 0.05, "4": 0}}"#;
    let prices = [
        "100", "106", "106", "100", "100", "100", "100", "100", "100", "100",
    ];
    assert_eq!(run(p, roi, &prices), ["0 buy 1", "2 sell 1 roi 0.06"]);
    let prices = [
        "100", "104", "104", "99", "100", "100", "100", "100", "100", "100",
    ];
    assert_eq!(run(p, roi, &prices), ["0 buy 1", "4 sell 1 roi 0"]);
    let prices = [
        "100", "99", "98", "97", "96", "100", "100", "100", "100", "100",
    ];
    assert_eq!(
        run(p, ", exits: {time_stop: 3}", &prices),
        ["0 buy 1", "3 sell 1 time_stop -0.03"]
    );
}

#[test]
fn stakes_size_entries_and_closing_intents_close_it_all() {
    let p = "{buy_at: 0, sell_at: 2, qty: 1}";
    let prices = ["8", "9", "9"];
    assert_eq!(
        run(p, ", stake: {quote: 100}", &prices),
        ["0 buy 12.5", "2 sell 12.5"]
    );
    assert_eq!(
        run(p, ", stake: {quote: 100, step: 1}", &prices),
        ["0 buy 12", "2 sell 12"]
    );
    // Half of 1000 plus what was realized: after +0.25 × 50 the next entry has 506.25.
    let p = "{buy_at: 0, sell_at: 1, rebuy_at: 2, qty: 1}";
    assert_eq!(
        run(
            p,
            ", stake: {fraction: 0.5, capital: 1000}",
            &["10", "10.25", "10"]
        ),
        ["0 buy 50", "1 sell 50", "2 buy 50.625"]
    );
    // Volatility: returns +10 % and −10 %: σ = 0.1414…; 100 × 0.02 / σ = 14.14… at price 99.
    let p = "{buy_at: 2, sell_at: 3, qty: 1}";
    let vol = ", stake: {volatility: {quote: 100, target: 0.02, window: 2}, step: 0.001}";
    assert_eq!(
        run(p, vol, &["100", "110", "99", "99"]),
        ["2 buy 0.142", "3 sell 0.142"]
    );
    // Until the window is full, the plain quote; and never above max_quote (3 × quote).
    assert_eq!(
        run("{buy_at: 0, sell_at: 1, qty: 1}", vol, &["100", "100"]),
        ["0 buy 1", "1 sell 1"]
    );
    let calm = ["100", "100.1", "100", "100"];
    assert_eq!(run(p, vol, &calm), ["2 buy 3", "3 sell 3"]);
}

#[test]
fn bad_exits_and_stakes_name_their_key() {
    let registry = super::super::registry::Registry::builtin();
    let topics = crate::config::Topics::default();
    for (rules, key, says) in [
        ("exits: {stop_los: 0.1}", "exits.stop_los", "unknown key"),
        ("exits: {stop_loss: 1.5}", "exits.stop_loss", "below 1"),
        ("exits: {take_profit: -1}", "exits.take_profit", "positive"),
        (
            "exits: {roi: {soon: 0.1}}",
            "exits.roi.soon",
            "minutes held",
        ),
        ("exits: {time_stop: 0}", "exits.time_stop", "whole number"),
        ("stake: {quote: 100, fraction: 0.1}", "stake", "exactly one"),
        ("stake: {fraction: 0.1}", "stake.capital", "required"),
        (
            "stake: {quote: 10, capital: 5}",
            "stake.capital",
            "only with fraction",
        ),
        (
            "stake: {volatility: {quote: 10, target: 0.1}}",
            "stake.volatility.window",
            "required",
        ),
        ("stake: {quote: 0}", "stake.quote", "positive"),
        (
            "stake: {volatility: {quote: 30000000000000000000000000000, target: 0.01, window: 5}}",
            "stake.volatility.quote",
            "too large",
        ),
    ] {
        let yaml = format!(
            "strategies:\n  - {{id: s, class: ema_cross, symbols: [A/USDT], events: [trade], params: {{qty: 1}}, {rules}}}\n"
        );
        let err = parse(&yaml, "f.yaml", &registry, &topics)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("key `{key}`")) && err.contains(says),
            "{rules}: {err}"
        );
    }
}

/// Exits added by a reload start from the position the strategy already holds.
#[test]
fn a_reload_that_adds_exits_keeps_the_position() {
    let mut registry = super::super::registry::Registry::builtin();
    registry.register(SCRIPT).unwrap();
    let plain = "strategies:\n  - {id: s, class: script, symbols: [A/USDT], events: [trade], params: {buy_at: 0, sell_at: 9, qty: 2}}\n";
    let mut m = manager(registry, plain);
    let mut out = Vec::new();
    m.on_event(&trade("A/USDT", "100", 0), &mut out);
    let with = plain.replace("qty: 2}", "qty: 2}, exits: {stop_loss: 0.05}");
    let defs = parse(&with, "f.yaml", m.registry(), m.topics()).unwrap();
    m.apply(defs);
    for (i, p) in ["99", "94"].iter().enumerate() {
        m.on_event(&trade("A/USDT", p, (i as i64 + 1) * 60), &mut out);
    }
    let got: Vec<String> = out
        .iter()
        .map(|e| match e {
            Event::Intent(i) => format!(
                "{} {} {}",
                i.side,
                i.qty,
                i.meta.get("exit").map_or("", |v| v.as_str().unwrap_or(""))
            ),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(got, ["buy 2 ", "sell 2 stop_loss"]);
}
