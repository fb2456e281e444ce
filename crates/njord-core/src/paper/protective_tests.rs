//! Stops, take-profits, trailing stops, one-cancels-other groups and time in force in the
//! paper trader, on trades and on bars. Prices hand-checked; fees 10/20 bps, no slippage.

use super::*;
use crate::event::decode;
use proptest::prelude::*;

fn engine() -> PaperEngine {
    PaperEngine::new(PaperConfig {
        maker_fee_bps: Decimal::from(10),
        taker_fee_bps: Decimal::from(20),
        partial_fills: false,
        max_open_orders: 1_000,
    })
}

fn ev(line: String) -> Event<'static> {
    decode(&line).unwrap().into_owned()
}

fn trade(price: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{ts}","price":{price},"qty":1,"side":"buy","ts_ns":{ts}}}"#
    ))
}

/// An order with extra fields (`"stop_price":95,…`) after the usual ones.
fn order(id: &str, side: &str, ty: &str, extra: &str, ts: i64) -> Event<'static> {
    ev(format!(
        r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"A/USDT","side":"{side}","type":"{ty}","qty":2,{extra}"ts_accepted_ns":{ts}}}"#
    ))
}

/// A closed 1m bar opening at minute `m`.
fn bar(m: i64, o: &str, h: &str, l: &str, c: &str) -> Event<'static> {
    let (open, close) = (m * 60_000_000_000, (m + 1) * 60_000_000_000);
    ev(format!(
        r#"{{"kind":"bar","symbol":"A/USDT","timeframe":"1m","ts_open_ns":{open},"ts_close_ns":{close},"open":{o},"high":{h},"low":{l},"close":{c},"volume":5,"trades":3}}"#
    ))
}

/// Feeds the events; returns each one's outcome and everything emitted.
fn run(e: &mut PaperEngine, evs: &[Event<'_>]) -> (Vec<Outcome>, Vec<Event<'static>>) {
    let mut out = vec![];
    let outcomes = evs.iter().map(|x| e.on_event(x, &mut out)).collect();
    (outcomes, out)
}

/// `id qty@price liquidity` per fill and `id status` per order update, in order.
fn story(out: &[Event<'_>]) -> Vec<String> {
    out.iter()
        .filter_map(|e| match e {
            Event::Fill(f) => Some(format!(
                "{} {}@{} {:?} t{}",
                f.intent_id, f.qty, f.price, f.liquidity, f.ts_fill_ns
            )),
            Event::OrderUpdate(u) => Some(format!("{} {}", u.client_order_id, u.status.as_str())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stop_market_fills_at_the_first_trade_through_it_never_at_the_stop_after_a_gap() {
    let mut e = engine();
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("sl", "sell", "stop_market", r#""stop_price":95,"#, 2),
            trade("96", 3),
            trade("93", 4),
            trade("90", 5),
        ],
    );
    assert_eq!(outcomes[1], Outcome::Armed);
    assert_eq!(story(&out), ["sl 2@93 Taker t4"]);
    assert_eq!(e.open_orders(), 0);
    // A buy stop triggers on the way up, at or above its stop.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("bs", "buy", "stop_market", r#""stop_price":105,"#, 2),
            trade("104.9", 3),
            trade("105", 4),
        ],
    );
    assert_eq!(story(&out), ["bs 2@105 Taker t4"]);
}

#[test]
fn a_stop_on_the_wrong_side_of_the_market_is_refused() {
    let mut e = engine();
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("a", "sell", "stop_market", r#""stop_price":101,"#, 2),
            order(
                "b",
                "buy",
                "take_profit_limit",
                r#""stop_price":101,"limit_price":101,"#,
                3,
            ),
            order("c", "sell", "stop_market", "", 4),
            order(
                "d",
                "sell",
                "take_profit_limit",
                r#""trail":{"bps":50},"limit_price":99,"#,
                5,
            ),
        ],
    );
    for o in &outcomes[1..] {
        assert_eq!(*o, Outcome::Rejected(Reason::InvalidOrder));
    }
    assert_eq!(
        story(&out),
        ["a rejected", "b rejected", "c rejected", "d rejected"]
    );
    assert_eq!(e.open_orders(), 0);
}

#[test]
fn a_stop_limit_takes_when_its_limit_allows_and_rests_when_the_market_gapped_past_it() {
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "x",
                "sell",
                "stop_limit",
                r#""stop_price":95,"limit_price":94,"#,
                2,
            ),
            order(
                "y",
                "sell",
                "stop_limit",
                r#""stop_price":95,"limit_price":94,"#,
                2,
            ),
            trade("94.5", 3),
        ],
    );
    assert_eq!(story(&out), ["x 2@94.5 Taker t3", "y 2@94.5 Taker t3"]);
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "x",
                "sell",
                "stop_limit",
                r#""stop_price":95,"limit_price":94,"#,
                2,
            ),
            trade("93", 3),
            trade("93.5", 4),
            trade("94.2", 5),
        ],
    );
    // Triggered at 93, below its limit: it rests (`new`) and fills at 94 as maker.
    assert_eq!(story(&out), ["x new", "x 2@94 Maker t5"]);
}

#[test]
fn a_take_profit_limit_triggers_when_the_market_moves_its_way() {
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "tp",
                "sell",
                "take_profit_limit",
                r#""stop_price":110,"limit_price":109.5,"#,
                2,
            ),
            trade("109", 3),
            trade("111", 4),
        ],
    );
    assert_eq!(story(&out), ["tp 2@111 Taker t4"]);
}

#[test]
fn a_trailing_stop_follows_the_best_price_and_triggers_off_it() {
    // 1 % below the highest trade since acceptance.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("t", "sell", "stop_market", r#""trail":{"bps":100},"#, 2),
            trade("99.5", 3),
            trade("105", 4),
            trade("104", 5),
            trade("103.95", 6),
        ],
    );
    assert_eq!(story(&out), ["t 2@103.95 Taker t6"]);
    // A buy trails 2 (quote) above the lowest trade.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("t", "buy", "stop_market", r#""trail":{"amount":2},"#, 2),
            trade("101.9", 3),
            trade("95", 4),
            trade("96.9", 5),
            trade("97.5", 6),
        ],
    );
    assert_eq!(story(&out), ["t 2@97.5 Taker t6"]);
}

#[test]
fn one_cancels_other_on_trades_and_a_cancel_takes_the_whole_group() {
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "tp",
                "sell",
                "limit",
                r#""limit_price":110,"oco":"exit","#,
                2,
            ),
            order(
                "sl",
                "sell",
                "stop_market",
                r#""stop_price":95,"oco":"exit","#,
                2,
            ),
            trade("111", 3),
            trade("90", 4),
        ],
    );
    assert_eq!(story(&out), ["tp 2@110 Maker t3", "sl canceled"]);
    assert_eq!(e.open_orders(), 0);

    let mut e = engine();
    let cancel = ev(r#"{"kind":"cancel","intent_id":"sl","ts_ns":3}"#.to_string());
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "tp",
                "sell",
                "limit",
                r#""limit_price":110,"oco":"exit","#,
                2,
            ),
            order(
                "sl",
                "sell",
                "stop_market",
                r#""stop_price":95,"oco":"exit","#,
                2,
            ),
            cancel,
            trade("111", 4),
        ],
    );
    assert_eq!(outcomes[3], Outcome::Cancelled);
    assert_eq!(story(&out), ["tp canceled"]);
    assert_eq!(e.open_orders(), 0);
}

#[test]
fn on_bars_a_stop_fills_at_the_open_after_a_gap_else_at_its_stop() {
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            bar(0, "100", "101", "99", "100"),
            order(
                "g",
                "sell",
                "stop_market",
                r#""stop_price":95,"#,
                60_000_000_000,
            ),
            order(
                "s",
                "sell",
                "stop_market",
                r#""stop_price":89,"#,
                60_000_000_000,
            ),
            bar(1, "90", "91", "85", "88"),
        ],
    );
    assert_eq!(
        story(&out),
        ["g 2@90 Taker t60000000000", "s 2@89 Taker t60000000000"]
    );
}

#[test]
fn on_bars_a_triggered_stop_limit_waits_for_the_next_bar_to_rest() {
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            bar(0, "100", "101", "99", "100"),
            order(
                "x",
                "sell",
                "stop_limit",
                r#""stop_price":95,"limit_price":96,"#,
                60_000_000_000,
            ),
            bar(1, "99", "100", "94", "95"),
            bar(2, "95", "97", "94", "96"),
        ],
    );
    // Triggered at 95 in bar 1, whose range also reached 96: it fills in bar 2, at its limit.
    assert_eq!(story(&out), ["x new", "x 2@96 Maker t120000000000"]);
}

#[test]
fn on_bars_a_bar_that_touches_both_legs_fills_the_stop_unless_the_open_reached_the_other() {
    let legs = |e: &mut PaperEngine| {
        run(
            e,
            &[
                bar(0, "100", "101", "99", "100"),
                order(
                    "tp",
                    "sell",
                    "limit",
                    r#""limit_price":110,"oco":"x","#,
                    60_000_000_000,
                ),
                order(
                    "sl",
                    "sell",
                    "stop_market",
                    r#""stop_price":95,"oco":"x","#,
                    60_000_000_000,
                ),
            ],
        );
    };
    let mut e = engine();
    legs(&mut e);
    let (_, out) = run(&mut e, &[bar(1, "100", "112", "90", "100")]);
    assert_eq!(story(&out), ["sl 2@95 Taker t60000000000", "tp canceled"]);
    assert_eq!(e.open_orders(), 0);

    let mut e = engine();
    legs(&mut e);
    let (_, out) = run(&mut e, &[bar(1, "111", "112", "90", "100")]);
    assert_eq!(story(&out), ["sl canceled", "tp 2@111 Taker t60000000000"]);
    assert_eq!(e.open_orders(), 0);

    // A take-profit against a stop: the stop again, unless the open reached the take-profit.
    let mut e = engine();
    run(
        &mut e,
        &[
            bar(0, "100", "101", "99", "100"),
            order(
                "tp",
                "sell",
                "take_profit_limit",
                r#""stop_price":110,"limit_price":110,"oco":"x","#,
                60_000_000_000,
            ),
            order(
                "sl",
                "sell",
                "stop_market",
                r#""stop_price":95,"oco":"x","#,
                60_000_000_000,
            ),
        ],
    );
    let (_, out) = run(&mut e, &[bar(1, "100", "112", "90", "100")]);
    assert_eq!(story(&out), ["tp canceled", "sl 2@95 Taker t60000000000"]);
}

#[test]
fn time_in_force_and_post_only() {
    let mut e = engine();
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "i",
                "buy",
                "limit",
                r#""limit_price":99,"time_in_force":"ioc","#,
                2,
            ),
            order(
                "f",
                "buy",
                "limit",
                r#""limit_price":99,"time_in_force":"FOK","#,
                2,
            ),
            order(
                "t",
                "buy",
                "limit",
                r#""limit_price":101,"time_in_force":"ioc","#,
                2,
            ),
            order(
                "p",
                "buy",
                "limit",
                r#""limit_price":101,"post_only":true,"#,
                2,
            ),
            order(
                "m",
                "buy",
                "limit",
                r#""limit_price":99,"post_only":true,"#,
                2,
            ),
            trade("98", 3),
        ],
    );
    assert_eq!(
        outcomes[1..6],
        [
            Outcome::Expired,
            Outcome::Expired,
            Outcome::Filled,
            Outcome::Rejected(Reason::InvalidOrder),
            Outcome::Resting
        ]
    );
    assert_eq!(
        story(&out),
        [
            "i expired",
            "f expired",
            "t 2@100 Taker t2",
            "p rejected",
            "m 2@99 Maker t3"
        ]
    );
    // On bars: ioc gets the next bar's open only; post_only expires if the open gaps through.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            bar(0, "100", "101", "99", "100"),
            order(
                "i",
                "buy",
                "limit",
                r#""limit_price":99,"time_in_force":"ioc","#,
                60_000_000_000,
            ),
            order(
                "p",
                "buy",
                "limit",
                r#""limit_price":99,"post_only":true,"#,
                60_000_000_000,
            ),
            order(
                "q",
                "buy",
                "limit",
                r#""limit_price":97,"post_only":true,"#,
                60_000_000_000,
            ),
            bar(1, "98", "99", "96", "97"),
        ],
    );
    assert_eq!(
        story(&out),
        [
            "i 2@98 Taker t60000000000",
            "p expired",
            "q 2@97 Maker t60000000000"
        ]
    );
}

#[test]
fn a_group_locks_its_largest_leg_once_and_a_cancelled_leg_frees_it() {
    let p = config::Paper {
        initial_balances: [("USDT".to_string(), crate::num::Dec(Decimal::from(1_000)))]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let mut e = PaperEngine::from_config(&p, false);
    run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "b1",
                "buy",
                "stop_market",
                r#""stop_price":105,"oco":"g","#,
                2,
            ),
            order("b2", "buy", "limit", r#""limit_price":90,"oco":"g","#, 2),
        ],
    );
    // Only one leg can trade: the group locks the larger, 2 × 105 + 0.1 % fee.
    assert_eq!(e.balances().unwrap().locked("USDT"), Decimal::new(21021, 2));
    let (_, out) = run(&mut e, &[trade("89", 3)]);
    assert_eq!(story(&out), ["b2 2@90 Maker t3", "b1 canceled"]);
    assert_eq!(e.balances().unwrap().locked("USDT"), Decimal::ZERO);
}

#[test]
fn a_group_acts_once_whatever_the_order_of_arrival_or_the_event() {
    // A leg that fills on arrival cancels the one resting, and one arriving later.
    let mut e = engine();
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "sl",
                "sell",
                "stop_market",
                r#""stop_price":95,"oco":"g","#,
                2,
            ),
            order("tp", "sell", "limit", r#""limit_price":99,"oco":"g","#, 3),
            order(
                "late",
                "sell",
                "stop_market",
                r#""stop_price":90,"oco":"g","#,
                4,
            ),
            trade("94", 5),
        ],
    );
    assert_eq!(outcomes[3], Outcome::Cancelled);
    assert_eq!(
        story(&out),
        ["tp 2@100 Taker t3", "sl canceled", "late canceled"]
    );
    // Two stops of one group triggered by one trade: the first only.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order(
                "a",
                "sell",
                "stop_market",
                r#""stop_price":95,"oco":"g","#,
                2,
            ),
            order(
                "b",
                "sell",
                "stop_market",
                r#""trail":{"amount":3},"oco":"g","#,
                2,
            ),
            trade("90", 3),
        ],
    );
    assert_eq!(story(&out), ["a 2@90 Taker t3", "b canceled"]);
    // Two resting sells of one group crossed by one trade: the better placed only.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("l2", "sell", "limit", r#""limit_price":102,"oco":"g","#, 2),
            order("l1", "sell", "limit", r#""limit_price":101,"oco":"g","#, 2),
            trade("103", 3),
        ],
    );
    assert_eq!(story(&out), ["l1 2@101 Maker t3", "l2 canceled"]);
}

#[test]
fn on_bars_a_leg_the_bar_expires_does_not_win_its_group() {
    // The take-profit is post_only and the open gaps through it: it expires, so the stop,
    // reached in the same bar, stays the exit.
    let mut e = engine();
    let (_, out) = run(
        &mut e,
        &[
            bar(0, "10", "10", "10", "10"),
            order(
                "tp",
                "sell",
                "limit",
                r#""limit_price":12,"post_only":true,"oco":"g","#,
                60_000_000_000,
            ),
            order(
                "sl",
                "sell",
                "stop_market",
                r#""stop_price":9,"oco":"g","#,
                60_000_000_000,
            ),
            bar(1, "12.5", "12.6", "8.5", "9"),
        ],
    );
    assert_eq!(story(&out), ["sl 2@9 Taker t60000000000", "tp canceled"]);
}

#[test]
fn ioc_without_any_price_expires_and_a_rejected_trigger_frees_its_lock() {
    let mut e = engine();
    let (outcomes, out) = run(
        &mut e,
        &[
            order(
                "i",
                "buy",
                "limit",
                r#""limit_price":100,"time_in_force":"ioc","#,
                1,
            ),
            trade("99", 2),
        ],
    );
    assert_eq!(outcomes[0], Outcome::Expired);
    assert_eq!(story(&out), ["i expired"]);
    // A buy trailing stop locks (and risk values it) at its stop above the market.
    let p = config::Paper {
        initial_balances: [("USDT".to_string(), crate::num::Dec(Decimal::from(201)))]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let mut e = PaperEngine::from_config(&p, false);
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 1),
            order("t", "buy", "stop_market", r#""trail":{"amount":50},"#, 2),
        ],
    );
    assert_eq!(outcomes[1], Outcome::Unfunded);
    assert_eq!(story(&out), ["t rejected"]);
    assert_eq!(e.balances().unwrap().locked("USDT"), Decimal::ZERO);
}

proptest! {
    /// Whatever the path, a sell stop fills once, in full, at the first trade at or below its
    /// stop, and a trailing one at the first trade at or below the trail under the running
    /// high.
    #[test]
    fn stops_fill_at_the_first_trade_through_them(
        prices in prop::collection::vec(50u32..150, 1..60),
        stop in 60u32..100,
        trail_bps in 1u32..3_000,
    ) {
        let mut e = engine();
        let mut evs = vec![trade("100", 0)];
        evs.push(order("s", "sell", "stop_market", &format!(r#""stop_price":{stop},"#), 0));
        evs.push(order("t", "sell", "stop_market", &format!(r#""trail":{{"bps":{trail_bps}}},"#), 0));
        for (i, p) in prices.iter().enumerate() {
            evs.push(trade(&p.to_string(), i as i64 + 1));
        }
        let (_, out) = run(&mut e, &evs);
        let want_s = prices.iter().position(|p| *p <= stop);
        let mut high = Decimal::from(100);
        let mut want_t = None;
        for (i, p) in prices.iter().enumerate() {
            let p = Decimal::from(*p);
            high = high.max(p);
            let level = high - high * Decimal::from(trail_bps) / Decimal::from(10_000);
            if p <= level {
                want_t = Some(i);
                break;
            }
        }
        let got: Vec<String> = story(&out);
        let line = |id: &str, i: Option<usize>| {
            i.map(|i| format!("{id} 2@{} Taker t{}", prices[i], i + 1))
        };
        let mut want: Vec<(usize, String)> = [("s", want_s), ("t", want_t)]
            .into_iter()
            .filter_map(|(id, i)| Some((i?, line(id, i)?)))
            .collect();
        want.sort();
        let want: Vec<String> = want.into_iter().map(|(_, l)| l).collect();
        prop_assert_eq!(got, want);
    }
}

/// `paper.latency_ms`: an order reaches the book 100 ms after it was sent, at the market as it
/// stood then; a cancel too, so a fill can beat it.
#[test]
fn latency_delays_orders_and_cancels_in_event_time() {
    let p = config::Paper {
        latency_ms: 100,
        ..Default::default()
    };
    let ms = 1_000_000;
    let mut e = PaperEngine::from_config(&p, false);
    let (outcomes, out) = run(
        &mut e,
        &[
            trade("100", 0),
            order("m", "buy", "market", "", 10 * ms),
            trade("101", 50 * ms),
            trade("102", 200 * ms),
        ],
    );
    assert_eq!(outcomes[1], Outcome::InFlight);
    // Arrived at 110 ms, when the last trade was 101 (the one at 200 ms comes after it).
    assert_eq!(story(&out), ["m 2@101 Taker t110000000"]);
    let cancel = ev(format!(
        r#"{{"kind":"cancel","intent_id":"l","ts_ns":{}}}"#,
        300 * ms
    ));
    let (_, out) = run(
        &mut e,
        &[
            order("l", "sell", "limit", r#""limit_price":103,"#, 210 * ms),
            trade("102", 320 * ms),
            cancel,
            trade("103.5", 350 * ms),
            trade("104", 500 * ms),
        ],
    );
    // The cancel sent at 300 ms arrives at 400 ms: the trade at 350 ms fills the limit first.
    assert_eq!(story(&out), ["l 2@103 Maker t350000000"]);
    // Seeded jitter: the same draws every run.
    let p = config::Paper {
        latency_ms: 10,
        latency_jitter_ms: 90,
        latency_seed: 7,
        ..Default::default()
    };
    let times = || {
        let mut e = PaperEngine::from_config(&p, false);
        let mut evs = vec![trade("100", 0)];
        for i in 0..5 {
            evs.push(order(&format!("o{i}"), "buy", "market", "", i * 1_000 * ms));
        }
        evs.push(trade("100", 10_000 * ms));
        let (_, out) = run(&mut e, &evs);
        out.iter()
            .filter_map(|e| match e {
                Event::Fill(f) => Some(f.ts_fill_ns % (1_000 * ms) / ms),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let a = times();
    assert_eq!(a, times());
    assert!(a.iter().all(|d| (10..=100).contains(d)), "{a:?}");
    assert!(a.iter().any(|d| *d != a[0]), "{a:?}");
}

/// `paper.queue_position`: a resting buy at 99 joins behind the 5 the book shows there and
/// fills once that much has traded at 99; a trade through 99 fills it at once.
#[test]
fn a_resting_limit_waits_its_turn_behind_the_displayed_size() {
    let p = config::Paper {
        queue_position: true,
        ..Default::default()
    };
    let book = ev(
        r#"{"kind":"book","symbol":"A/USDT","bids":[[99,5],[98,7]],"asks":[[100,2]],"ts_ns":1}"#
            .to_string(),
    );
    let qty = |price: &str, q: &str, ts: i64| {
        ev(format!(
            r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{ts}","price":{price},"qty":{q},"side":"sell","ts_ns":{ts}}}"#
        ))
    };
    let mut e = PaperEngine::from_config(&p, false);
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 0),
            book.clone(),
            order("q", "buy", "limit", r#""limit_price":99,"#, 2),
            qty("99", "3", 3),
            qty("99", "2", 4),
            qty("99", "0.5", 5),
        ],
    );
    assert_eq!(story(&out), ["q 2@99 Maker t5"]);
    let mut e = PaperEngine::from_config(&p, false);
    let (_, out) = run(
        &mut e,
        &[
            trade("100", 0),
            book,
            order("q", "buy", "limit", r#""limit_price":99,"#, 2),
            qty("98.5", "1", 3),
        ],
    );
    assert_eq!(story(&out), ["q 2@99 Maker t3"]);
}

/// With jitter, arrivals keep the order messages were sent in: a cancel sent after its order
/// never overtakes it, whatever the draws.
#[test]
fn a_cancel_never_overtakes_its_order() {
    let ms = 1_000_000;
    for seed in 0..40 {
        let p = config::Paper {
            latency_jitter_ms: 100,
            latency_seed: seed,
            ..Default::default()
        };
        let mut e = PaperEngine::from_config(&p, false);
        let cancel = ev(format!(
            r#"{{"kind":"cancel","intent_id":"l","ts_ns":{}}}"#,
            11 * ms
        ));
        let (_, out) = run(
            &mut e,
            &[
                trade("100", 0),
                order("l", "buy", "limit", r#""limit_price":99,"#, 10 * ms),
                cancel,
                trade("98", 1_000 * ms),
            ],
        );
        assert_eq!(story(&out), Vec::<String>::new(), "seed {seed}");
        assert_eq!(e.open_orders(), 0, "seed {seed}");
    }
}
