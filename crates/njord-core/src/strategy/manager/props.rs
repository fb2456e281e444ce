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
