//! Property tests of the event codec: decode(encode(e)) == e with exact decimals, and no input
//! (garbage, truncated lines) makes the decoder panic.

use njord::event::{self, Event, Fill, Liquidity, Side, Trade};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::borrow::Cow;

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=18).prop_map(|(m, s)| Decimal::new(m, s))
}

/// Prices and quantities of trades and fills are positive.
fn positive() -> impl Strategy<Value = Decimal> {
    (1..=i64::MAX, 0u32..=18).prop_map(|(m, s)| Decimal::new(m, s))
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9/_\\-\"\\\\ é]{0,12}"
}

fn trade() -> impl Strategy<Value = Event<'static>> {
    (
        text(),
        text(),
        text(),
        positive(),
        positive(),
        any::<bool>(),
        any::<i64>(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(venue, symbol, id, price, qty, buy, ts, local)| {
            Event::Trade(Trade {
                venue: Cow::Owned(venue),
                symbol: Cow::Owned(symbol),
                trade_id: Cow::Owned(id),
                price,
                qty,
                side: if buy { Side::Buy } else { Side::Sell },
                ts_ns: ts,
                ts_local_ns: local,
            })
        })
}

fn fill() -> impl Strategy<Value = Event<'static>> {
    (
        text(),
        proptest::option::of(text()),
        positive(),
        positive(),
        decimal(),
        any::<bool>(),
        any::<i64>(),
    )
        .prop_map(|(id, strat, qty, price, fee, maker, ts)| {
            Event::Fill(Fill {
                order_id: Cow::Owned(id.clone()),
                intent_id: Cow::Owned(id),
                strategy_id: strat.map(Cow::Owned),
                symbol: Cow::Borrowed("ATOM/USDT"),
                side: Side::Sell,
                qty,
                price,
                fee,
                fee_asset: Cow::Borrowed("USDT"),
                liquidity: if maker {
                    Liquidity::Maker
                } else {
                    Liquidity::Taker
                },
                ts_fill_ns: ts,
            })
        })
}

proptest! {
    #[test]
    fn round_trip(ev in prop_oneof![trade(), fill()]) {
        let line = ev.to_json();
        prop_assert!(!line.contains('\n'));
        let back = event::decode(&line).unwrap();
        prop_assert_eq!(back, ev);
    }

    #[test]
    fn sums_are_exact(a in decimal(), b in decimal()) {
        if let Some(sum) = a.checked_add(b).map(|s| s.abs()) {
            let line = format!(r#"{{"kind":"balance","asset":"USDT","free":{},"locked":0,"ts_ns":1}}"#, njord::num::to_plain_string(&sum));
            let Event::Balance(bal) = event::decode(&line).unwrap() else { unreachable!() };
            prop_assert_eq!(bal.free, sum);
        }
    }

    #[test]
    fn garbage_never_panics(s in ".{0,200}") {
        let _ = event::decode(&s);
        let _ = event::decode_as(&s, event::Kind::Trade);
    }

    #[test]
    fn truncated_lines_are_errors(ev in trade(), cut in 0usize..200) {
        let line = ev.to_json();
        let cut = cut.min(line.len().saturating_sub(1));
        if line.is_char_boundary(cut) {
            prop_assert!(event::decode(&line[..cut]).is_err());
        }
    }
}

#[test]
fn point_one_plus_point_two_is_written_point_three() {
    let a: Decimal = "0.1".parse().unwrap();
    let b: Decimal = "0.2".parse().unwrap();
    let line = format!(
        r#"{{"kind":"balance","asset":"USDT","free":"{}","locked":0,"ts_ns":1}}"#,
        a + b
    );
    let ev = event::decode(&line).unwrap();
    assert_eq!(
        ev.to_json(),
        r#"{"kind":"balance","asset":"USDT","free":0.3,"locked":0,"ts_ns":1}"#
    );
}
