//! Table tests of the matching core: book walks, maker fills, time in force, filters.

use super::*;
use njord::event::Side;
use njord::venue::binanceus::errors;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn venue() -> Exchange {
    let spec = SymbolSpec {
        name: "ATOMUSDT".into(),
        base: "ATOM".into(),
        quote: "USDT".into(),
        tick: d("0.001"),
        step: d("0.01"),
        min_price: d("0.001"),
        max_price: d("100000"),
        min_qty: d("0.01"),
        max_qty: d("90000"),
        min_notional: d("1"),
        max_notional: d("9000000"),
    };
    let bal = [
        ("USDT".to_string(), d("100000")),
        ("ATOM".to_string(), d("1000")),
    ]
    .into_iter()
    .collect();
    Exchange::new(vec![(spec, d("10"))], bal, Knobs::default())
}

fn limit(side: Side, qty: &str, price: &str, tif: Tif, cid: &str) -> NewOrder {
    NewOrder {
        symbol: "ATOMUSDT".into(),
        side,
        ord_type: OrdType::Limit,
        tif: Some(tif),
        qty: Some(d(qty)),
        quote_qty: None,
        price: Some(d(price)),
        client_id: cid.into(),
    }
}

fn check(o: &Order) {
    let sum: Decimal = o.fills.iter().map(|f| f.qty).sum();
    assert_eq!(o.executed, sum, "cumulative qty = sum of fills");
    assert!(o.executed <= o.orig_qty);
}

#[test]
fn marketable_limit_walks_the_book_then_rests_and_fills_as_maker() {
    let mut v = venue();
    // Asks at 10.001, 10.002, ... 100 each; the limit reaches three levels.
    let o = v
        .new_order(limit(Side::Buy, "400", "10.003", Tif::Gtc, "a"), 1, false)
        .unwrap();
    check(&o);
    assert_eq!(o.status, Status::PartiallyFilled);
    assert_eq!(o.executed, d("300"));
    assert_eq!(o.fills.len(), 3);
    let usdt = v.balances()["USDT"];
    assert_eq!(usdt.locked, d("1000.3"));
    // The tape trades through the limit: maker fills, sharing the trade's qty.
    let t = PubTrade {
        id: 1,
        price: d("10.002"),
        qty: d("60"),
        time: 2,
        buyer_maker: true,
    };
    v.on_tape_trade(0, &t, 2);
    let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().clone();
    check(&o);
    assert_eq!(o.executed, d("360"));
    assert!(o.fills[3].maker);
    let t2 = PubTrade {
        id: 2,
        qty: d("1000"),
        ..t
    };
    v.on_tape_trade(0, &t2, 3);
    let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().clone();
    check(&o);
    assert_eq!(o.status, Status::Filled);
    assert_eq!(v.balances()["USDT"].locked, Decimal::ZERO);
    // Terminal: cancel is refused and the status stays.
    assert_eq!(
        v.cancel("ATOMUSDT", &OrderRef::Id(o.id), 4)
            .unwrap_err()
            .code,
        errors::CANCEL_REJECTED
    );
    assert_eq!(
        v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().status,
        Status::Filled
    );
}

#[test]
fn at_touch_knob() {
    for (touch, filled) in [(false, "0"), (true, "5")] {
        let mut v = venue();
        v.knobs.fill_at_touch = touch;
        let o = v
            .new_order(limit(Side::Buy, "10", "9.99", Tif::Gtc, "t"), 1, false)
            .unwrap();
        let t = PubTrade {
            id: 1,
            price: d("9.99"),
            qty: d("5"),
            time: 2,
            buyer_maker: true,
        };
        v.on_tape_trade(0, &t, 2);
        let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap();
        assert_eq!(o.executed, d(filled), "at touch: {touch}");
    }
}

#[test]
fn market_orders_by_quote_quantity() {
    let mut v = venue();
    let o = v
        .new_order(
            NewOrder {
                symbol: "ATOMUSDT".into(),
                side: Side::Buy,
                ord_type: OrdType::Market,
                tif: None,
                qty: None,
                quote_qty: Some(d("1500.2")),
                price: None,
                client_id: "q".into(),
            },
            1,
            false,
        )
        .unwrap();
    check(&o);
    assert_eq!(o.status, Status::Filled);
    assert!(o.cum_quote <= d("1500.2"));
    assert_eq!((o.executed, o.cum_quote), (d("150"), d("1500.2")));
}

#[test]
fn ioc_fok_and_duplicates() {
    let mut v = venue();
    let o = v
        .new_order(limit(Side::Sell, "250", "9.998", Tif::Ioc, "i"), 1, false)
        .unwrap();
    assert_eq!((o.status, o.executed), (Status::Expired, d("200")));
    let o = v
        .new_order(limit(Side::Sell, "250", "9.998", Tif::Fok, "f"), 1, false)
        .unwrap();
    assert_eq!((o.status, o.executed), (Status::Expired, d("0")));
    assert_eq!(
        v.balances()["ATOM"],
        Balance {
            free: d("800"),
            locked: d("0")
        }
    );
    v.new_order(limit(Side::Buy, "1", "9", Tif::Gtc, "dup"), 1, false)
        .unwrap();
    let e = v
        .new_order(limit(Side::Buy, "1", "9", Tif::Gtc, "dup"), 1, false)
        .unwrap_err();
    assert_eq!(
        (e.code, e.msg.as_str()),
        (errors::NEW_ORDER_REJECTED, "Duplicate order sent.")
    );
    let e = v
        .new_order(limit(Side::Buy, "1", "9.0005", Tif::Gtc, "x"), 1, false)
        .unwrap_err();
    assert_eq!(e.msg, "Filter failure: PRICE_FILTER");
    let e = v
        .new_order(limit(Side::Buy, "0.001", "9", Tif::Gtc, "y"), 1, false)
        .unwrap_err();
    assert_eq!(e.msg, "Filter failure: LOT_SIZE");
    let e = v
        .new_order(limit(Side::Buy, "0.01", "9", Tif::Gtc, "z"), 1, false)
        .unwrap_err();
    assert_eq!(e.msg, "Filter failure: NOTIONAL");
}
