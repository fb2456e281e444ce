//! Regression tests from a review of the engine: each failed before its fix.

use super::tests::{TWO, d, engine, feed, intent, intent_s, intents, trade};
use super::*;

fn fill(intent_id: &str, strategy: &str, side: &str, qty: &str, price: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"fill","order_id":"o-{intent_id}","intent_id":"{intent_id}","strategy_id":"{strategy}","symbol":"X/USDT","side":"{side}","qty":{qty},"price":{price},"fee":0,"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":{ts}}}"#
    )
}
fn deny(intent_id: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"decision","intent_id":"{intent_id}","allowed":false,"reason":"per_order_usd_cap","caps":{{}},"ts_ns":{ts}}}"#
    )
}
fn qty_of(e: &PortfolioEngine, id: &str, sym: &str) -> Decimal {
    e.ledgers().find(|(x, _)| *x == id).unwrap().1.qty(sym)
}

/// R1: a denied netted intent stays in `routes` forever.
#[test]
fn r1_denied_netted_intent_route_leaks() {
    let mut e = engine(TWO);
    feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "4", 2)]);
    feed(&mut e, &[fill("b0", "b", "buy", "4", "10", 3)]);
    for k in 0..100i64 {
        let ts = 10 + 3 * k;
        let out = feed(
            &mut e,
            &[
                trade("10", ts),
                intent(&format!("a{k}"), "a", "buy", "1", ts + 1),
                intent(&format!("b{k}"), "b", "sell", "2", ts + 1),
            ],
        );
        let ids = intents(&out);
        assert_eq!(ids.len(), 1);
        feed(&mut e, &[deny(&ids[0].0, ts + 2)]);
    }
    assert_eq!(
        e.routes.len(),
        0,
        "routes kept for denied intents: {}",
        e.routes.len()
    );
}

/// R2: a netted buy reserves no cash, so the same cash is spent twice.
#[test]
fn r2_netted_buy_reserves_nothing() {
    let mut e = engine(TWO);
    feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "1", 2)]);
    feed(&mut e, &[fill("b0", "b", "buy", "1", "10", 3)]);
    // a: 500 cash. Netted: a buys 50 (all its cash), b sells 1 -> net buy 49, not yet filled.
    let out1 = feed(
        &mut e,
        &[
            trade("10", 4),
            intent("a1", "a", "buy", "50", 5),
            intent("b1", "b", "sell", "1", 5),
        ],
    );
    // a asks again for 50 before the first fill: it should get nothing.
    let out2 = feed(&mut e, &[trade("10", 6), intent("a2", "a", "buy", "50", 7)]);
    let i1 = intents(&out1);
    let i2 = intents(&out2);
    feed(
        &mut e,
        &[fill(
            &i1[0].0,
            "portfolio:main",
            "buy",
            &i1[0].2.to_string(),
            "10",
            8,
        )],
    );
    if let Some(x) = i2.first() {
        feed(&mut e, &[fill(&x.0, "a", "buy", &x.2.to_string(), "10", 9)]);
    }
    let a_cash = e.ledgers().find(|(x, _)| *x == "a").unwrap().1.cash;
    assert!(
        a_cash >= Decimal::ZERO,
        "a overspent: cash {a_cash}, second intent {:?}",
        i2
    );
}

/// R3: two sells of the whole position before the first fills: the strategy goes short
/// although allow_short is false.
#[test]
fn r3_pending_sells_not_counted() {
    let mut e = engine(TWO);
    feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "10", 2)]);
    feed(&mut e, &[fill("a0", "a", "buy", "10", "10", 3)]);
    let o1 = feed(
        &mut e,
        &[trade("10", 4), intent("a1", "a", "sell", "10", 5)],
    );
    let o2 = feed(
        &mut e,
        &[trade("10", 6), intent("a2", "a", "sell", "10", 7)],
    );
    let (i1, i2) = (intents(&o1), intents(&o2));
    feed(&mut e, &[fill("a1", "a", "sell", "10", "10", 8)]);
    if !i2.is_empty() {
        feed(
            &mut e,
            &[fill("a2", "a", "sell", &i2[0].2.to_string(), "10", 9)],
        );
    }
    assert!(
        qty_of(&e, "a", "X/USDT") >= Decimal::ZERO,
        "a short {} with allow_short false: {i1:?} {i2:?}",
        qty_of(&e, "a", "X/USDT")
    );
}

/// R4: a huge quantity panics (Decimal overflow in `wanted * price`).
#[test]
fn r4_huge_qty_does_not_panic() {
    let mut e = engine(TWO);
    feed(
        &mut e,
        &[
            trade("100", 1),
            intent("a0", "a", "buy", "1000000000000000000000000000", 2),
        ],
    );
}

/// R5: reduce-only is bypassed by a sell larger than the long (allow_short).
#[test]
fn r5_reduce_only_bypassed_by_flip() {
    let mut e = engine(&format!(
        "{TWO}  sizing:\n    allow_short: true\n  risk:\n    max_drawdown: 0.1\n"
    ));
    feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "50", 2)]);
    feed(&mut e, &[fill("a0", "a", "buy", "50", "10", 3)]);
    // b's buy trips the latch (measured for intents that add exposure) and is denied.
    feed(&mut e, &[trade("7", 4), intent("b1", "b", "buy", "1", 5)]);
    assert!(e.reduce_only());
    let out = feed(
        &mut e,
        &[trade("7", 6), intent("a1", "a", "sell", "500", 7)],
    );
    let i = intents(&out);
    assert!(
        i.is_empty() || i[0].2 <= d("50"),
        "reduce-only passed {:?}",
        i
    );
}

/// R6: opposite intents on a symbol without a price are not netted (nor booked at 0): they
/// pass unsized, for risk to deny `no_ref_price`.
#[test]
fn r6_unpriced_intents_pass_unnetted() {
    let mut e = engine(TWO);
    let out = feed(
        &mut e,
        &[
            trade("10", 1),
            intent_s("Y/USDT", "a1", "a", "buy", "5", 2),
            intent_s("Y/USDT", "b1", "b", "sell", "5", 2),
        ],
    );
    assert_eq!(intents(&out).len(), 2);
    assert_eq!(
        (qty_of(&e, "a", "Y/USDT"), qty_of(&e, "b", "Y/USDT")),
        (Decimal::ZERO, Decimal::ZERO)
    );
}

/// R7: an intent without id passes unsized and, netted, escapes the cash cap.
#[test]
fn r7_idless_intent_netted_unsized() {
    let mut e = engine(TWO);
    feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "1", 2)]);
    feed(&mut e, &[fill("b0", "b", "buy", "1", "10", 3)]);
    let noid = r#"{"kind":"intent","ts_ns":5,"strategy_id":"a","symbol":"X/USDT","side":"buy","type":"market","qty":100000,"limit_price":null}"#.to_string();
    let out = feed(
        &mut e,
        &[trade("10", 4), intent("b1", "b", "sell", "1", 5), noid],
    );
    let i = intents(&out);
    assert!(
        i.iter().all(|x| !x.0.starts_with("net:") || x.2 <= d("50")),
        "{:?}",
        i
    );
}

/// R8: rebalance with a small net drops the internal crossing too.
#[test]
fn r8_rebalance_drops_crossing_with_small_net() {
    let day = 86_400_000_000_000i64;
    let mut e = engine(
        "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  rebalance:\n    interval: 1d\n    min_interval: 1d\n    drift_band: 0.05\n    min_notional: 100\n",
    );
    // a: 40 X (all its cash), b: 10 X; X at 10.
    feed(
        &mut e,
        &[
            trade("10", 1),
            intent("a0", "a", "buy", "50", 2),
            intent("b0", "b", "buy", "20", 2),
        ],
    );
    feed(
        &mut e,
        &[
            fill("a0", "a", "buy", "50", "10", 3),
            fill("b0", "b", "buy", "20", "10", 3),
        ],
    );
    let out = feed(&mut e, &[trade("20", 4), trade("20", day + 1)]);
    let reb = intents(&out);
    let a = e.report();
    eprintln!("intents {reb:?} counts {:?}", e.counts());
    for (id, l) in e.ledgers() {
        eprintln!("{id}: cash {} qty {}", l.cash, l.qty("X/USDT"));
    }
    eprintln!("{a:?}");
    assert!(
        e.counts().rebalance_orders_dropped == 0
            || e.ledgers().all(|(_, l)| l.cash >= Decimal::ZERO)
    );
}

/// A rebalance intent denied by risk: the seller's cash comes back, never below zero.
#[test]
fn a_denied_rebalance_repays_the_seller() {
    let day = 86_400_000_000_000i64;
    let mut e = engine(
        "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  sizing:\n    fee_bps: 0\n  rebalance:\n    interval: 1d\n    min_interval: 1d\n    drift_band: 0.05\n    min_notional: 1\n",
    );
    feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "50", 2)]);
    feed(&mut e, &[fill("a0", "a", "buy", "50", "10", 3)]);
    let out = feed(&mut e, &[trade("20", 4), trade("20", day + 1)]);
    let reb = intents(&out);
    assert_eq!(reb.len(), 1, "{reb:?}");
    feed(&mut e, &[deny(&reb[0].0, day + 2)]);
    for (id, l) in e.ledgers() {
        assert!(l.cash >= Decimal::ZERO, "{id}: cash {}", l.cash);
    }
}

/// R9: the portfolio's peak is followed at every return sample, so a run-up and fall
/// between intents is a drawdown.
#[test]
fn r9_peak_followed_at_samples() {
    let sec = 1_000_000_000i64;
    let mut e = engine(
        "portfolio:\n  capital: 1000\n  return_interval: 1s\n  strategies:\n    - id: a\n    - id: b\n  rebalance:\n    interval: 1w\n    min_interval: 1w\n  risk:\n    max_drawdown: 0.15\n",
    );
    feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "50", 2)]);
    feed(&mut e, &[fill("a0", "a", "buy", "50", "10", 3)]);
    // 1000 -> 1500 (X at 20) -> 1200 (X at 14): 20 % below the peak.
    feed(
        &mut e,
        &[
            trade("20", 4 * sec),
            trade("20", 5 * sec),
            trade("14", 6 * sec),
        ],
    );
    let out = feed(&mut e, &[intent("b1", "b", "buy", "1", 6 * sec + 1)]);
    assert!(
        e.reduce_only(),
        "equity {} peak {}; out {:?}",
        e.equity(),
        e.peak_equity,
        intents(&out)
    );
}

/// R10: the stage's tick clears with the wall clock; the engine then dates the rebalance with
/// it, and event-time rebalances stop (ts − last < min_interval) for a replayed tape.
#[test]
fn r10_clear_with_wall_clock_blocks_event_time_rebalances() {
    let day = 86_400_000_000_000i64;
    let wall = 1_780_000_000_000_000_000i64;
    let mut e = engine(
        "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  rebalance:\n    interval: 1d\n    min_interval: 1d\n    drift_band: 0.05\n    min_notional: 1\n",
    );
    let t0 = 1_700_000_000_000_000_000i64;
    feed(
        &mut e,
        &[trade("10", t0), intent("a0", "a", "buy", "50", t0 + 1)],
    );
    feed(&mut e, &[fill("a0", "a", "buy", "50", "10", t0 + 2)]);
    e.restore_latches(true, &[]);
    feed(&mut e, &[trade("20", t0 + 3)]);
    let mut out = Vec::new();
    e.clear(&mut out); // what PortfolioStage::on_tick does, between events
    let wall_intents: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            Event::Intent(i) => Some(i.ts_ns),
            _ => None,
        })
        .filter(|ts| *ts >= wall)
        .collect();
    // Prices move again; ten days of event time later: no rebalance at all.
    let mut lines = vec![trade("40", t0 + 4)];
    for k in 1..10 {
        lines.push(trade("40", t0 + k * day + 5));
    }
    let out2 = feed(&mut e, &lines);
    assert!(
        wall_intents.is_empty() && !intents(&out2).is_empty(),
        "rebalance intents dated {wall_intents:?} (wall clock); later event-time rebalances: {:?}; last_rebalance_ns {:?}",
        intents(&out2),
        e.last_rebalance_ns
    );
}
