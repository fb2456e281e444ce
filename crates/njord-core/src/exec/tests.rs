//! Golden schedules of each algorithm on fixed tapes, the parent's life (fills, cancel, kill)
//! and properties of the children.

use super::*;
use crate::event::decode;
use proptest::prelude::*;
use std::str::FromStr;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const MIN: i64 = 60_000_000_000;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn engine(step: &str, min_notional: &str) -> ExecEngine {
    ExecEngine::new(&config::Exec {
        default_lot_step: d(step),
        default_min_notional: d(min_notional),
        ..config::Exec::default()
    })
}

fn ev(line: String) -> Event<'static> {
    decode(&line).unwrap().into_owned()
}

fn trade(price: &str, qty: &str, ts: i64) -> Event<'static> {
    trade_of("A/USDT", price, qty, ts)
}

fn trade_of(symbol: &str, price: &str, qty: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"trade","symbol":"{symbol}","trade_id":"{ts}","price":{price},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
    ))
}

fn bar(open_ns: i64, width: i64, volume: &str) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"bar","symbol":"A/USDT","timeframe":"5m","ts_open_ns":{open_ns},"ts_close_ns":{},"open":10,"high":10,"low":10,"close":10,"volume":{volume},"trades":1}}"#,
        open_ns + width
    ))
}

fn parent(id: &str, qty: &str, exec: &str, ts: i64) -> Event<'static> {
    parent_of("A/USDT", id, qty, exec, ts)
}

fn parent_of(symbol: &str, id: &str, qty: &str, exec: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"{symbol}","side":"buy","type":"market","qty":{qty},"limit_price":null,"exec":{exec},"ts_accepted_ns":{ts}}}"#
    ))
}

fn fill(id: &str, qty: &str, price: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"fill","order_id":"x","intent_id":"{id}","strategy_id":"s","symbol":"A/USDT","side":"buy","qty":{qty},"price":{price},"fee":0,"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":{ts}}}"#
    ))
}

/// `id qty @minutes` per child, `state sent/filled` per status, `cancel id` per cancel.
fn story(out: &[Event<'_>]) -> Vec<String> {
    out.iter()
        .map(|e| match e {
            Event::Order(o) => {
                let at = o.ts_accepted_ns - T0;
                let m = at / MIN;
                let s = (at % MIN) / 1_000_000_000;
                format!("{} {} @{m}m{s:02}", o.intent_id, o.qty)
            }
            Event::ExecStatus(s) => {
                let why = s
                    .reason
                    .map_or(String::new(), |r| format!(" {}", r.as_str()));
                format!(
                    "{} {}/{}/{} avg {}{why}",
                    s.state, s.sent, s.filled, s.qty, s.avg_price
                )
            }
            Event::Cancel(c) => format!("cancel {}", c.intent_id),
            other => format!("{other:?}"),
        })
        .collect()
}

fn run(e: &mut ExecEngine, evs: &[Event<'_>]) -> Vec<String> {
    let mut out = vec![];
    for x in evs {
        e.on_event(x, &mut out);
    }
    story(&out)
}

/// A trade every 30 s from `T0` for `minutes`, qty `q` each.
fn tape(minutes: i64, q: &str) -> Vec<Event<'static>> {
    (0..minutes * 2)
        .map(|i| trade("10", q, T0 + i * MIN / 2))
        .collect()
}

#[test]
fn twap_golden_equal_slices_then_fills_finish_it() {
    let mut e = engine("0.1", "0");
    let mut evs = vec![trade("10", "1", T0 - 1)];
    evs.push(parent(
        "p",
        "10",
        r#"{"algo":"twap","duration":"10m","slices":4}"#,
        T0,
    ));
    evs.extend(tape(11, "1"));
    assert_eq!(
        run(&mut e, &evs),
        [
            "working 0/0/10 avg 0",
            "p-1 2.5 @0m00",
            "working 2.5/0/10 avg 0",
            "p-2 2.5 @2m30",
            "working 5/0/10 avg 0",
            "p-3 2.5 @5m00",
            "working 7.5/0/10 avg 0",
            "p-4 2.5 @7m30",
            "sent 10/0/10 avg 0",
        ]
    );
    let t = T0 + 11 * MIN;
    let fills = [
        fill("p-1", "2.5", "10", t),
        fill("p-2", "2.5", "10.2", t),
        fill("p-3", "2.5", "10.1", t),
        fill("p-4", "2.5", "10.3", t),
        fill("p-4", "1", "10", t),
    ];
    let got = run(&mut e, &fills);
    assert_eq!(
        got,
        [
            "sent 10/2.5/10 avg 10",
            "sent 10/5/10 avg 10.1",
            "sent 10/7.5/10 avg 10.1",
            "done 10/10/10 avg 10.15",
        ]
    );
    assert_eq!(e.working(), 0);
}

#[test]
fn twap_golden_with_jitter_and_a_lot_and_minimum_notional() {
    let mut e = engine("0.01", "12");
    let mut evs = vec![trade("10", "1", T0 - 1)];
    let spec = r#"{"algo":"twap","duration":"10m","slices":5,"jitter":0.3,"seed":42}"#;
    evs.push(parent("j", "7.77", spec, T0));
    evs.extend((0..600).map(|s| trade("10", "1", T0 + s * 1_000_000_000)));
    let got = run(&mut e, &evs);
    let children: Vec<&String> = got.iter().filter(|l| l.starts_with("j-")).collect();
    // Seeded: the same every run. Multiples of 0.01 summing to 7.77, each due within the
    // first 30 % of its 2-minute slice; the second slice drew less than 1.2 (12 USDT at 10),
    // so it merged into the third.
    assert_eq!(
        children,
        [
            "j-1 1.51 @0m12",
            "j-2 2.9 @4m17",
            "j-3 1.7 @6m33",
            "j-4 1.66 @8m28"
        ]
    );
}

#[test]
fn vwap_golden_follows_the_volume_profile_and_its_participation_cap() {
    // Day 1: 00:00-00:05 traded 100, 00:05-00:10 traded 300.
    let day = 24 * 60 * MIN;
    let history = [
        bar(T0 - day, 5 * MIN, "100"),
        bar(T0 - day + 5 * MIN, 5 * MIN, "300"),
    ];
    let mut e = engine("1", "0");
    let mut evs = history.to_vec();
    evs.push(trade("10", "1", T0 - 1));
    evs.push(parent(
        "v",
        "8",
        r#"{"algo":"vwap","duration":"10m","slices":2,"timeframe":"5m"}"#,
        T0,
    ));
    evs.extend(tape(11, "1"));
    assert_eq!(
        run(&mut e, &evs),
        [
            "working 0/0/8 avg 0",
            "v-1 2 @0m00",
            "working 2/0/8 avg 0",
            "v-2 6 @5m00",
            "sent 8/0/8 avg 0",
        ]
    );
    // At most half the volume traded since the previous child: 11 trades of 0.5 by minute 5
    // allow 2 of the 6 (2.75 rounded down to the lot); the rest is never sent.
    let mut e = engine("1", "0");
    let mut evs = history.to_vec();
    evs.push(trade("10", "1", T0 - 1));
    let spec =
        r#"{"algo":"vwap","duration":"10m","slices":2,"timeframe":"5m","max_participation":0.5}"#;
    evs.push(parent("v", "8", spec, T0));
    evs.extend(tape(11, "0.5"));
    assert_eq!(
        run(&mut e, &evs),
        [
            "working 0/0/8 avg 0",
            "v-1 2 @0m00",
            "working 2/0/8 avg 0",
            "v-2 2 @5m00",
            "expired 4/0/8 avg 0",
        ]
    );
}

#[test]
fn pov_golden_keeps_pace_with_the_market_and_takes_a_small_rest_at_once() {
    let mut e = engine("0.1", "5");
    let mut evs = vec![trade("10", "1", T0 - 1)];
    evs.push(parent("q", "2.6", r#"{"algo":"pov","rate":0.1}"#, T0));
    for (i, q) in ["4", "6", "3", "8", "20"].iter().enumerate() {
        evs.push(trade("10", q, T0 + (i as i64 + 1) * MIN));
    }
    // Volume 4 → 0.4 is below 0.5 (5 USDT): wait; 10 → 1; 13 → 0.3: wait; 21 → 1.1, which
    // would leave 0.5 (5 USDT, enough); 41 → the last 0.5.
    assert_eq!(
        run(&mut e, &evs),
        [
            "working 0/0/2.6 avg 0",
            "q-1 1 @2m00",
            "working 1/0/2.6 avg 0",
            "q-2 1.1 @4m00",
            "working 2.1/0/2.6 avg 0",
            "q-3 0.5 @5m00",
            "sent 2.6/0/2.6 avg 0",
        ]
    );
}

#[test]
fn bad_parents_are_rejected_with_a_code() {
    let mut e = engine("0.1", "0");
    let got = run(
        &mut e,
        &[
            parent("a", "1.05", r#"{"algo":"twap","duration":"1m"}"#, T0),
            parent("b", "1", r#"{"algo":"twap"}"#, T0),
            parent("c", "1", r#"{"algo":"iceberg"}"#, T0),
        ],
    );
    assert_eq!(
        got,
        [
            "rejected 0/0/1.05 avg 0 lot_step",
            "rejected 0/0/1 avg 0 invalid_order",
            "rejected 0/0/1 avg 0 invalid_order",
        ]
    );
}

#[test]
fn cancel_and_kill_cancel_every_open_child_and_stop() {
    let spec = r#"{"algo":"twap","duration":"10m","slices":5}"#;
    let mut e = engine("1", "0");
    let mut evs = vec![trade("10", "1", T0 - 1), parent("p", "10", spec, T0)];
    evs.extend(tape(3, "1"));
    evs.push(fill("p-1", "2", "10", T0 + 3 * MIN));
    evs.push(ev(format!(
        r#"{{"kind":"cancel","intent_id":"p","ts_ns":{}}}"#,
        T0 + 3 * MIN
    )));
    evs.extend((6..12).map(|m| trade("10", "1", T0 + m * MIN)));
    let got = run(&mut e, &evs);
    assert_eq!(
        got[got.len() - 3..],
        [
            "working 4/2/10 avg 10",
            "cancel p-2",
            "cancelled 4/2/10 avg 10"
        ]
    );
    assert_eq!(e.working(), 0);

    let mut e = engine("1", "0");
    let mut evs = vec![trade("10", "1", T0 - 1), parent("k", "10", spec, T0)];
    evs.extend(tape(3, "1"));
    let mut out = vec![];
    for x in &evs {
        e.on_event(x, &mut out);
    }
    out.clear();
    e.halt(T0 + 3 * MIN, &mut out);
    assert_eq!(
        story(&out),
        ["cancel k-1", "cancel k-2", "halted 4/0/10 avg 0 halted"]
    );
    assert_eq!(e.working(), 0);
}

/// The parent of a leg of `group`.
fn leg(symbol: &str, id: &str, qty: &str, exec: &str, group: &str) -> Event<'static> {
    let Event::Order(mut o) = parent_of(symbol, id, qty, exec, T0) else {
        unreachable!()
    };
    o.group_id = Some(group.to_owned().into());
    Event::Order(o)
}

/// A pair's legs are worked as one trade: a leg refused stops the legs already worked and
/// refuses the rest; a leg cancelled stops the others; another group goes on.
#[test]
fn a_refused_or_cancelled_leg_stops_its_group() {
    let spec = r#"{"algo":"twap","duration":"10m","slices":5}"#;
    let mut e = engine("1", "0");
    let got = run(
        &mut e,
        &[
            trade("10", "1", T0 - 1),
            trade_of("B/USDT", "10", "1", T0 - 1),
            leg("A/USDT", "y", "10", spec, "g1"),
            leg("B/USDT", "x", "10.5", spec, "g1"),
            leg("B/USDT", "z", "10", spec, "g1"),
        ],
    );
    assert_eq!(
        got,
        [
            "working 0/0/10 avg 0",
            "y-1 2 @0m00",
            "working 2/0/10 avg 0",
            "rejected 0/0/10.5 avg 0 lot_step",
            "cancel y-1",
            "cancelled 2/0/10 avg 0 group_leg_denied",
            "rejected 0/0/10 avg 0 group_leg_denied",
        ]
    );
    assert_eq!(e.working(), 0);
    // Both legs worked, then one cancelled: the other stops too; another group goes on.
    let got = run(
        &mut e,
        &[
            leg("A/USDT", "y2", "10", spec, "g2"),
            leg("B/USDT", "x2", "10", spec, "g2"),
            leg("B/USDT", "w", "10", spec, "g3"),
            fill("y2-1", "2", "10", T0),
            ev(format!(
                r#"{{"kind":"cancel","intent_id":"x2","ts_ns":{T0}}}"#
            )),
        ],
    );
    assert_eq!(
        got[got.len() - 4..],
        [
            "working 2/2/10 avg 10",
            "cancel x2-1",
            "cancelled 2/0/10 avg 0",
            "cancelled 2/2/10 avg 10 group_leg_denied",
        ]
    );
    assert_eq!(e.working(), 1, "g3's leg works on");
    // The kill switch halts g3's leg; g3's other leg, arriving later, is never worked alone.
    let mut out = vec![];
    e.halt(T0, &mut out);
    assert_eq!(story(&out).last().unwrap(), "halted 2/0/10 avg 0 halted");
    let got = run(&mut e, &[leg("A/USDT", "v", "10", spec, "g3")]);
    assert_eq!(got, ["rejected 0/0/10 avg 0 group_leg_denied"]);
}

proptest! {
    /// Whatever the tape and the algorithm, children are multiples of the step with unique
    /// ids, never sum above the parent, and sum exactly to it for a TWAP, for a VWAP without a
    /// cap, and for a POV once the market traded ten times its quantity.
    #[test]
    fn children_never_exceed_the_parent_and_complete_when_they_must(
        steps in 1u32..5_000,
        algo in 0u8..4,
        slices in 1u32..30,
        jitter in 0.0f64..0.5,
        trades in prop::collection::vec((1u32..2_000, 1u32..400), 1..200),
    ) {
        let step = d("0.01");
        let qty = step * Decimal::from(steps);
        let spec = match algo {
            0 => format!(r#"{{"algo":"twap","duration":"10m","slices":{slices},"jitter":{jitter}}}"#),
            1 => format!(r#"{{"algo":"vwap","duration":"10m","slices":{slices}}}"#),
            2 => format!(r#"{{"algo":"vwap","duration":"10m","slices":{slices},"max_participation":0.2}}"#),
            _ => r#"{"algo":"pov","rate":0.1}"#.to_string(),
        };
        let mut e = engine("0.01", "1");
        let mut out = vec![];
        e.on_event(&trade("10", "1", T0 - 1), &mut out);
        e.on_event(&parent("p", &qty.to_string(), &spec, T0), &mut out);
        let mut ts = T0;
        let mut volume = Decimal::ZERO;
        for (dt_ms, q_cents) in &trades {
            ts += i64::from(*dt_ms) * 1_000_000;
            let q = Decimal::new(i64::from(*q_cents), 2);
            volume += q;
            e.on_event(&trade("10", &q.to_string(), ts), &mut out);
        }
        e.on_event(&trade("10", "1", T0 + 11 * MIN), &mut out);
        let mut ids = std::collections::HashSet::new();
        let mut sum = Decimal::ZERO;
        for c in out.iter().filter_map(|x| match x { Event::Order(o) => Some(o), _ => None }) {
            prop_assert!(ids.insert(c.intent_id.to_string()));
            prop_assert!(c.qty > Decimal::ZERO && (c.qty % step).is_zero(), "{}", c.qty);
            sum += c.qty;
        }
        prop_assert!(sum <= qty);
        let must_complete = match algo {
            0 | 1 => true,
            3 => volume >= qty * Decimal::from(10) + Decimal::from(1),
            _ => false,
        };
        if must_complete {
            prop_assert_eq!(sum, qty);
        }
    }
}

/// Children are paced at the rate cap per symbol (risk's orders_per_min_cap): a child that
/// finds no token waits for one, in event time, and none is dropped.
#[test]
fn children_wait_for_the_rate_cap_and_none_is_dropped() {
    let mut e = engine("1", "0").with_rate_cap(2);
    let mut evs = vec![trade("10", "1", T0 - 1)];
    evs.push(parent(
        "r",
        "4",
        r#"{"algo":"twap","duration":"1m","slices":4}"#,
        T0,
    ));
    // A trade every 10 s for two minutes.
    evs.extend((0..12).map(|i| trade("10", "1", T0 + i * MIN / 6)));
    let got = run(&mut e, &evs);
    let children: Vec<&String> = got.iter().filter(|l| l.starts_with("r-")).collect();
    // Two tokens at once (0 s and 15 s due); then one every 30 s: the 30 s child waits to
    // 30 s, the 45 s child to 60 s.
    assert_eq!(
        children,
        ["r-1 1 @0m00", "r-2 1 @0m20", "r-3 1 @0m30", "r-4 1 @1m00"]
    );
}

/// A backlog of paced parents on two symbols drains per symbol in arrival order at the rate
/// cap, none dropped; children of both symbols due at one event go out in arrival order.
#[test]
fn paced_backlogs_drain_per_symbol_in_arrival_order() {
    let mut e = engine("1", "0").with_rate_cap(1);
    let twap = r#"{"algo":"twap","duration":"1m","slices":2}"#;
    let mut evs = vec![
        trade("10", "1", T0 - 1),
        trade_of("B/USDT", "10", "1", T0 - 1),
    ];
    for (id, symbol) in [
        ("a1", "A/USDT"),
        ("b1", "B/USDT"),
        ("a2", "A/USDT"),
        ("b2", "B/USDT"),
    ] {
        evs.push(parent_of(symbol, id, "2", twap, T0));
    }
    // One event every 20 s for eight minutes, a trade of A (B's children wait for it too).
    evs.extend((1..=24).map(|i| trade("10", "1", T0 + i * MIN / 3)));
    let got = run(&mut e, &evs);
    let children: Vec<&String> = got
        .iter()
        .filter(|l| l.starts_with('a') || l.starts_with('b'))
        .collect();
    // One token a minute per symbol: the first parent's second slice (due at 30 s) goes
    // before the second parent's first (due at 0 s but later in arrival), and A's child
    // before B's when both go at one event.
    assert_eq!(
        children,
        [
            "a1-1 1 @0m00",
            "b1-1 1 @0m00",
            "a1-2 1 @1m00",
            "b1-2 1 @1m00",
            "a2-1 1 @2m00",
            "b2-1 1 @2m00",
            "a2-2 1 @3m00",
            "b2-2 1 @3m00"
        ]
    );
    assert_eq!(e.working(), 0, "every parent drained");
}

/// Parents resumed with nothing left to send are kept for their fills, at most
/// `max_parents`: the oldest go at once.
#[test]
fn resumed_settled_parents_keep_at_most_max_parents() {
    let mut e = ExecEngine::new(&config::Exec {
        default_lot_step: d("1"),
        default_min_notional: d("0"),
        max_parents: 2,
        ..config::Exec::default()
    });
    let twap = r#"{"algo":"twap","duration":"1m","slices":1}"#;
    for id in ["r1", "r2", "r3"] {
        let Event::Order(o) = parent(id, "5", twap, T0) else {
            unreachable!()
        };
        e.resume(&o, &[(format!("{id}-1"), d("5"))], &[], T0);
    }
    assert!(
        !e.is_ours("r1") && !e.is_ours("r1-1"),
        "the oldest is forgotten"
    );
    assert!(e.is_ours("r2-1") && e.is_ours("r3-1"));
    let got = run(
        &mut e,
        &[
            fill("r1-1", "5", "10", T0 + 1),
            fill("r3-1", "5", "10", T0 + 2),
        ],
    );
    assert_eq!(got, ["done 5/5/5 avg 10"]);
}

fn limit_parent(id: &str, qty: &str, limit: &str, exec: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"A/USDT","side":"buy","type":"limit","qty":{qty},"limit_price":{limit},"exec":{exec},"ts_accepted_ns":{ts}}}"#
    ))
}

/// An iceberg shows one slice at a time at the parent's limit; the next goes out when the one
/// before has filled, the last takes the rest; a market parent is refused.
#[test]
fn iceberg_golden_shows_one_slice_at_a_time() {
    let mut e = engine("1", "0");
    let spec = r#"{"algo":"iceberg","visible":3}"#;
    let got = run(
        &mut e,
        &[
            trade("10", "1", T0 - 1),
            limit_parent("i", "10", "9.9", spec, T0),
            trade("10", "1", T0 + MIN),
            fill("i-1", "3", "9.9", T0 + 2 * MIN),
            fill("i-2", "1", "9.9", T0 + 3 * MIN),
            fill("i-2", "2", "9.9", T0 + 4 * MIN),
            fill("i-3", "3", "9.9", T0 + 5 * MIN),
            fill("i-4", "1", "9.9", T0 + 6 * MIN),
            parent("m", "5", spec, T0 + 7 * MIN),
        ],
    );
    assert_eq!(
        got,
        [
            "working 0/0/10 avg 0",
            "i-1 3 @0m00",
            "working 3/0/10 avg 0",
            "working 3/3/10 avg 9.9",
            "i-2 3 @2m00",
            "working 6/3/10 avg 9.9",
            "working 6/4/10 avg 9.9",
            "working 6/6/10 avg 9.9",
            "i-3 3 @4m00",
            "working 9/6/10 avg 9.9",
            "working 9/9/10 avg 9.9",
            "i-4 1 @5m00",
            "sent 10/9/10 avg 9.9",
            "done 10/10/10 avg 9.9",
            "rejected 0/0/5 avg 0 invalid_order",
        ]
    );
    // With variance, sizes are drawn per slice (seeded) and still sum to the parent.
    let mut e = engine("0.1", "0");
    let spec = r#"{"algo":"iceberg","visible":3,"variance":0.3,"seed":5}"#;
    let evs = vec![
        trade("10", "1", T0 - 1),
        limit_parent("v", "10", "9.9", spec, T0),
    ];
    let mut out = vec![];
    for x in &evs {
        e.on_event(x, &mut out);
    }
    let mut sum = Decimal::ZERO;
    for n in 1..20 {
        let Some(Event::Order(o)) = out
            .iter()
            .rev()
            .find(|x| matches!(x, Event::Order(_)))
            .cloned()
        else {
            break;
        };
        if o.intent_id != format!("v-{n}") {
            break;
        }
        sum += o.qty;
        let f = fill(&o.intent_id, &o.qty.to_string(), "9.9", T0 + n * MIN);
        e.on_event(&f, &mut out);
    }
    assert_eq!(sum, d("10"));
}

fn ticker(bid: &str, ask: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"ticker","venue":"v","symbol":"A/USDT","bid":{bid},"ask":{ask},"ts_ns":{ts}}}"#
    ))
}

fn ended(id: &str, status: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"order_update","symbol":"A/USDT","exchange_order_id":"","client_order_id":"{id}","status":"{status}","filled_qty":0,"avg_price":0,"ts_ns":{ts}}}"#
    ))
}

#[test]
fn peg_golden_follows_the_touch_within_its_limit_replacing_only_after_a_confirmed_cancel() {
    let mut e = engine("1", "0");
    let spec = r#"{"algo":"peg","offset":0.01,"min_move":0.02,"max_reprices":2}"#;
    let s = 1_000_000_000;
    let evs = [
        limit_parent("p", "10", "10.05", spec, T0),
        ticker("9.98", "10.00", T0 + s),
        ticker("9.99", "10.01", T0 + 2 * s),
        ticker("10.02", "10.04", T0 + 3 * s),
        fill("p-1", "3", "9.97", T0 + 4 * s),
        ticker("10.03", "10.05", T0 + 5 * s),
        ended("p-1", "canceled", T0 + 6 * s),
        ticker("10.10", "10.12", T0 + 7 * s),
        ended("p-2", "canceled", T0 + 8 * s),
        ticker("10.30", "10.32", T0 + 9 * s),
        fill("p-3", "7", "10.05", T0 + 10 * s),
    ];
    let mut out = vec![];
    for x in &evs {
        e.on_event(x, &mut out);
    }
    let got: Vec<String> = out
        .iter()
        .map(|e| match e {
            Event::Order(o) => format!(
                "{} {} at {}",
                o.intent_id,
                o.qty,
                o.limit_price.unwrap_or_default()
            ),
            Event::ExecStatus(s) => format!("{} {}/{}/{}", s.state, s.sent, s.filled, s.qty),
            Event::Cancel(c) => format!("cancel {}", c.intent_id),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            "working 0/0/10",
            // The first quote: 0.01 behind the best bid.
            "p-1 10 at 9.97",
            "working 10/0/10",
            // A move of 0.01 is below min_move; 0.04 is not: cancel, then wait.
            "cancel p-1",
            "working 10/3/10",
            // Confirmed: what p-1 did not fill goes again at the touch of now.
            "p-2 7 at 10.02",
            "working 10/3/10",
            // Never past the parent's limit of 10.05.
            "cancel p-2",
            "p-3 7 at 10.05",
            "working 10/3/10",
            // max_reprices (2) reached: it stays.
            "done 10/10/10",
        ]
    );
    // A sell pegs to the ask; a child that ends by itself ends the parent; a market parent
    // cannot be pegged.
    let mut e = engine("1", "0");
    let mut sell = limit_parent("q", "5", "9", spec, T0);
    if let Event::Order(o) = &mut sell {
        o.side = crate::event::Side::Sell;
    }
    let got = run(
        &mut e,
        &[
            ticker("10", "10.02", T0),
            sell,
            ended("q-1", "expired", T0 + s),
            parent("m", "5", spec, T0 + 2 * s),
        ],
    );
    assert_eq!(
        got,
        [
            "working 0/0/5 avg 0",
            "q-1 5 @0m00",
            "working 5/0/5 avg 0",
            "expired 0/0/5 avg 0",
            "rejected 0/0/5 avg 0 invalid_order",
        ]
    );
}

#[test]
fn a_peg_replacement_counts_fills_the_cancel_reported_before_they_arrive() {
    let mut e = engine("1", "0");
    let spec = r#"{"algo":"peg"}"#;
    let s = 1_000_000_000;
    let mut ended = ended("p-1", "canceled", T0 + 3 * s);
    if let Event::OrderUpdate(u) = &mut ended {
        u.filled_qty = d("3");
    }
    let got = run(
        &mut e,
        &[
            ticker("9.98", "10", T0),
            limit_parent("p", "10", "10.05", spec, T0 + s),
            ticker("9.99", "10.01", T0 + 2 * s),
            ended,
            fill("p-1", "3", "9.98", T0 + 4 * s),
            fill("p-2", "7", "9.99", T0 + 5 * s),
        ],
    );
    assert_eq!(
        got,
        [
            "working 0/0/10 avg 0",
            "p-1 10 @0m01",
            "working 10/0/10 avg 0",
            "cancel p-1",
            // Replaced for the 7 the cancel says were not filled, not for 10.
            "p-2 7 @0m03",
            "working 10/0/10 avg 0",
            "working 10/3/10 avg 9.98",
            "done 10/10/10 avg 9.987",
        ]
    );
}

#[test]
fn a_native_iceberg_is_one_child_carrying_the_venues_iceberg_qty() {
    let mut e = engine("0.01", "0");
    let spec = r#"{"algo":"iceberg","visible":2,"native":true}"#;
    let mut out = vec![];
    e.on_event(&limit_parent("n", "10", "9.9", spec, T0), &mut out);
    let children: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            Event::Order(o) => Some((o.intent_id.to_string(), o.qty, o.iceberg_qty)),
            _ => None,
        })
        .collect();
    assert_eq!(children, [("n-1".to_string(), d("10"), Some(d("2")))]);
    e.on_event(&fill("n-1", "10", "9.9", T0 + MIN), &mut out);
    assert!(matches!(out.last(), Some(Event::ExecStatus(s)) if s.state == "done"));
    // Shown at least the whole order: a plain limit.
    let mut out = vec![];
    e.on_event(&limit_parent("w", "1", "9.9", spec, T0), &mut out);
    assert!(
        out.iter()
            .any(|x| matches!(x, Event::Order(o) if o.iceberg_qty.is_none()))
    );
    let bad = Spec::parse(
        serde_json::from_str(r#"{"algo":"iceberg","visible":2,"native":true,"variance":0.2}"#)
            .as_ref()
            .unwrap(),
    );
    assert_eq!(bad.unwrap_err().0, "exec.variance");
}
