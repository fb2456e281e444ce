//! Property tests of the manager.

use super::super::testing::{bar, manager, trade};
use super::*;
use proptest::prelude::*;

const BOTH: &str = "strategies:
  - {id: tl, class: trendline_break, symbols: ['*'], events: [trade], params: {qty: 1, lookback_periods: 5, breakout_threshold: 0.005}}
  - {id: ec, class: ema_cross, symbols: ['*'], events: [trade], params: {qty: 1, fast: 2, slow: 4, long_only: false}}
";

fn run(events: &[Event<'static>]) -> Vec<String> {
    let mut m = manager(Registry::builtin(), BOTH);
    let mut out = Vec::new();
    for ev in events {
        m.on_event(ev, &mut out);
    }
    out.iter().map(|e| e.to_json()).collect()
}

proptest! {
    /// Each symbol's intents are the same whether its trades come alone or interleaved
    /// with another symbol's: state is per (strategy, symbol).
    #[test]
    fn symbols_never_share_state(
        tape in proptest::collection::vec((any::<bool>(), 900u32..1100), 1..200),
    ) {
        let events: Vec<_> = tape
            .iter()
            .enumerate()
            .map(|(i, (b, p))| {
                let sym = if *b { "B/USDT" } else { "A/USDT" };
                trade(sym, &format!("{}.{:02}", p / 100, p % 100), i as i64)
            })
            .collect();
        let mixed = run(&events);
        for sym in ["A/USDT", "B/USDT"] {
            let alone: Vec<_> = events.iter().filter(|e| e.symbol() == Some(sym)).cloned().collect();
            let want: Vec<_> = mixed.iter().filter(|l| l.contains(&format!("\"symbol\":\"{sym}\""))).cloned().collect();
            prop_assert_eq!(run(&alone), want);
        }
    }
}

/// An entry per shipped class, with params that make it trade on short random tapes of bars
/// of A/USDT and B/USDT. The look-ahead test below fails for a class missing here.
const SHIPPED: &[(&str, &str)] = &[
    (
        "trendline_break",
        "{qty: 1, lookback_periods: 5, breakout_threshold: 0.005}",
    ),
    (
        "rsi_tema_bb",
        "{qty: 1, rsi_period: 3, tema_period: 2, bb_period: 4, bb_std: 0.5, rsi_oversold: 45, rsi_overbought: 55}",
    ),
    ("ema_cross", "{qty: 1, fast: 2, slow: 4, long_only: false}"),
    (
        "pairs",
        "{qty: 1, y: A/USDT, x: B/USDT, window: 10, entry_z: 1, exit_z: 0.2, max_p: 1, adf_lags: 0}",
    ),
    ("xs_momentum", "{lookback: 3, top: 1, quote: 100}"),
    (
        "ensemble",
        "{qty: 1, mode: majority, regime: {kind: volatility, window: 3, lookback: 10, enter: 0.7, exit: 0.3}, members: [{class: ema_cross, params: {fast: 2, slow: 4, qty: 1}}, {class: trendline_break, regime: calm, params: {qty: 1, lookback_periods: 5, breakout_threshold: 0.005}}, {class: rsi_tema_bb, weight: 2, params: {qty: 1, rsi_period: 3, tema_period: 2, bb_period: 4, bb_std: 0.5, rsi_oversold: 45, rsi_overbought: 55}}]}",
    ),
];

/// Every shipped class in one strategies file.
fn shipped_yaml() -> String {
    std::iter::once("strategies:\n".to_owned())
        .chain(SHIPPED.iter().map(|(class, params)| {
            format!("  - {{id: {class}, class: {class}, symbols: ['*'], events: [bar], params: {params}}}\n")
        }))
        .collect()
}

/// A bar of A/USDT and one of B/USDT per (price of A, price of B), at 1-minute closes.
fn bars(prices: &[(f64, f64)]) -> Vec<Event<'static>> {
    prices
        .iter()
        .enumerate()
        .flat_map(|(i, (a, b))| {
            let i = i as i64;
            [
                bar("A/USDT", "1m", &format!("{a:.2}"), i),
                bar("B/USDT", "1m", &format!("{b:.2}"), i),
            ]
        })
        .collect()
}

fn emit(yaml: &str, events: &[Event<'static>]) -> Vec<Event<'static>> {
    let mut m = manager(Registry::builtin(), yaml);
    let mut out = Vec::new();
    for ev in events {
        m.on_event(ev, &mut out);
    }
    out
}

proptest! {
    /// What every shipped strategy emits up to time t is the same whether the tape ends at t
    /// or goes on: no strategy looks ahead.
    #[test]
    fn no_shipped_strategy_looks_ahead(
        tape in proptest::collection::vec((900u32..1100, 900u32..1100), 2..120),
        cut in any::<proptest::sample::Index>(),
    ) {
        for c in Registry::builtin().classes() {
            prop_assert!(SHIPPED.iter().any(|(n, _)| *n == c.name), "{} has no look-ahead entry", c.name);
        }
        let yaml = shipped_yaml();
        let prices: Vec<(f64, f64)> = tape.iter().map(|&(a, b)| (f64::from(a) / 100.0, f64::from(b) / 100.0)).collect();
        let events = bars(&prices);
        let whole = emit(&yaml, &events);
        let k = cut.index(events.len());
        let t = events[k].ts_ns();
        let upto: Vec<String> = whole.iter().filter(|e| e.ts_ns() <= t).map(|e| e.to_json()).collect();
        // The tape as it stands at t: both bars of that close.
        let known: Vec<_> = events.iter().filter(|e| e.ts_ns() <= t).cloned().collect();
        let cut_short: Vec<String> = emit(&yaml, &known).iter().map(|e| e.to_json()).collect();
        prop_assert_eq!(cut_short, upto);
    }
}

/// The look-ahead test compares something: each shipped entry trades on a swinging tape.
#[test]
fn every_shipped_entry_trades() {
    let prices: Vec<(f64, f64)> = (0..200)
        .map(|i| {
            let a = 10.0 + 0.6 * (f64::from(i) / 7.0).sin() + 0.25 * (f64::from(i) / 2.0).cos();
            (a, 0.5 * a + 0.2 * (f64::from(i) * 1.3).sin())
        })
        .collect();
    let events = bars(&prices);
    let yaml = shipped_yaml();
    let out = emit(&yaml, &events);
    for (class, _) in SHIPPED {
        let id = format!("\"strategy_id\":\"{class}\"");
        assert!(
            out.iter()
                .any(|e| matches!(e, Event::Intent(_)) && e.to_json().contains(&id)),
            "{class} never trades"
        );
    }
}
