//! Property tests of the manager.

use super::super::testing::{manager, trade};
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

/// An entry per shipped class, with params that make it trade on short random tapes. The
/// look-ahead test below fails for a class missing here.
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
];

proptest! {
    /// What every shipped strategy emits up to time t is the same whether the tape ends at t
    /// or goes on: no strategy looks ahead.
    #[test]
    fn no_shipped_strategy_looks_ahead(
        tape in proptest::collection::vec((any::<bool>(), 900u32..1100), 2..150),
        cut in any::<proptest::sample::Index>(),
    ) {
        let names: Vec<&str> = Registry::builtin().classes().iter().map(|c| c.name).collect();
        for name in &names {
            prop_assert!(SHIPPED.iter().any(|(n, _)| n == name), "{} has no look-ahead entry", name);
        }
        let yaml: String = std::iter::once("strategies:\n".to_owned())
            .chain(SHIPPED.iter().map(|(class, params)| {
                format!("  - {{id: {class}, class: {class}, symbols: ['*'], events: [trade], params: {params}}}\n")
            }))
            .collect();
        let events: Vec<_> = tape
            .iter()
            .enumerate()
            .map(|(i, (b, p))| {
                let sym = if *b { "B/USDT" } else { "A/USDT" };
                trade(sym, &format!("{}.{:02}", p / 100, p % 100), i as i64)
            })
            .collect();
        let emit = |events: &[Event<'static>]| {
            let mut m = manager(Registry::builtin(), &yaml);
            let mut out = Vec::new();
            for ev in events {
                m.on_event(ev, &mut out);
            }
            out
        };
        let whole = emit(&events);
        let k = cut.index(events.len());
        let t = events[k].ts_ns();
        let upto: Vec<String> = whole.iter().filter(|e| e.ts_ns() <= t).map(|e| e.to_json()).collect();
        let cut_short: Vec<String> = emit(&events[..=k]).iter().map(|e| e.to_json()).collect();
        prop_assert_eq!(cut_short, upto);
    }
}

/// The look-ahead test compares something: each shipped entry trades on a swinging tape.
#[test]
fn every_shipped_entry_trades() {
    for (class, params) in SHIPPED {
        let yaml = format!(
            "strategies:\n  - {{id: s, class: {class}, symbols: ['*'], events: [trade], params: {params}}}\n"
        );
        let mut m = manager(Registry::builtin(), &yaml);
        let mut out = Vec::new();
        for i in 0..200 {
            let p = 1000.0 + 60.0 * (i as f64 / 7.0).sin() + 25.0 * (i as f64 / 2.0).cos();
            m.on_event(&trade("A/USDT", &format!("{:.2}", p / 100.0), i), &mut out);
        }
        assert!(!out.is_empty(), "{class} never trades");
    }
}
