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
        stop_price: None,
        iceberg_qty: None,
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
                stop_price: None,
                iceberg_qty: None,
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

fn trade(v: &mut Exchange, id: u64, price: &str, qty: &str) {
    let t = PubTrade {
        id,
        price: d(price),
        qty: d(qty),
        time: id as i64,
        buyer_maker: true,
    };
    v.on_tape_trade(0, &t, id as i64);
}

fn stop(ty: OrdType, side: Side, qty: &str, stop: &str, price: &str, cid: &str) -> NewOrder {
    NewOrder {
        ord_type: ty,
        stop_price: Some(d(stop)),
        ..limit(side, qty, price, Tif::Gtc, cid)
    }
}

fn order(v: &Exchange, id: u64) -> Order {
    v.query("ATOMUSDT", &OrderRef::Id(id)).unwrap().clone()
}

#[test]
fn a_stop_loss_limit_waits_out_of_the_book_and_fills_after_the_gap_not_at_its_stop() {
    let mut v = venue();
    let e = v
        .new_order(
            stop(OrdType::StopLossLimit, Side::Sell, "5", "10.5", "10", "now"),
            1,
            false,
        )
        .unwrap_err();
    assert_eq!(e.msg, "Order would trigger immediately.");
    let o = v
        .new_order(
            stop(OrdType::StopLossLimit, Side::Sell, "5", "9.5", "9", "s"),
            1,
            false,
        )
        .unwrap();
    assert_eq!((o.status, o.working), (Status::New, false));
    assert_eq!(v.balances()["ATOM"].locked, d("5"));
    // Above its limit and stop: a plain sell limit at 9 would have filled here; the stop waits.
    trade(&mut v, 1, "9.8", "50");
    assert_eq!(order(&v, o.id).executed, d("0"));
    // The market gaps from 9.8 to 9.2: the stop triggers and sells into the book there.
    trade(&mut v, 2, "9.2", "50");
    let o = order(&v, o.id);
    check(&o);
    assert_eq!((o.status, o.working), (Status::Filled, true));
    assert_eq!(o.fills[0].price, d("9.199"));
    assert!(!o.fills[0].maker);
    assert_eq!(v.balances()["ATOM"].locked, d("0"));
}

#[test]
fn a_triggered_stop_limit_beyond_the_book_rests_and_a_take_profit_triggers_the_other_way() {
    let mut v = venue();
    let sl = v
        .new_order(
            stop(OrdType::StopLossLimit, Side::Sell, "5", "9.5", "9.45", "s"),
            1,
            false,
        )
        .unwrap();
    let tp = v
        .new_order(
            stop(OrdType::TakeProfitLimit, Side::Buy, "2", "9.6", "9.7", "t"),
            1,
            false,
        )
        .unwrap();
    assert_eq!(v.balances()["USDT"].locked, d("19.4"));
    trade(&mut v, 1, "9.3", "1");
    // The stop sells at 9.45 at best, bids are below 9.3: it rests as an ask at 9.45.
    let s = order(&v, sl.id);
    assert_eq!(
        (s.status, s.working, s.executed),
        (Status::New, true, d("0"))
    );
    // The take-profit buys once the price is down to 9.6, up to 9.7: asks from 9.301.
    let t = order(&v, tp.id);
    assert_eq!(
        (t.status, t.executed, t.fills[0].price),
        (Status::Filled, d("2"), d("9.301"))
    );
    trade(&mut v, 2, "9.46", "3");
    assert_eq!(order(&v, sl.id).executed, d("3"));
}

fn oco(side: Side, price: &str, stop: &str, stop_limit: &str) -> NewOco {
    NewOco {
        symbol: "ATOMUSDT".into(),
        side,
        qty: d("5"),
        list_client_id: "L".into(),
        limit_client_id: "L-tp".into(),
        price: d(price),
        stop_client_id: "L-sl".into(),
        stop_price: d(stop),
        stop_limit_price: d(stop_limit),
        stop_tif: Tif::Gtc,
    }
}

#[test]
fn an_oco_locks_once_and_the_first_leg_to_fill_expires_the_other() {
    let mut v = venue();
    let e = v
        .new_oco(oco(Side::Sell, "9.9", "9.5", "9.4"), 1)
        .unwrap_err();
    assert_eq!(
        e.msg,
        "The relationship of the prices for the orders is not correct."
    );
    let l = v.new_oco(oco(Side::Sell, "11", "9.5", "9.4"), 1).unwrap();
    assert_eq!(v.balances()["ATOM"].locked, d("5"));
    let [tp, sl] = l.legs;
    assert_eq!(order(&v, tp).ord_type, OrdType::LimitMaker);
    assert_eq!(order(&v, sl).list_id, Some(l.id));
    // A trade through the take-profit fills part of it: the stop leg expires at once.
    trade(&mut v, 1, "11.01", "2");
    assert_eq!(order(&v, tp).executed, d("2"));
    assert_eq!(order(&v, sl).status, Status::Expired);
    assert_eq!(v.balances()["ATOM"].locked, d("3"));
    trade(&mut v, 2, "9", "50");
    assert_eq!(
        order(&v, sl).executed,
        d("0"),
        "an expired leg never triggers"
    );
}

#[test]
fn an_oco_stop_leg_that_triggers_takes_the_lock_and_cancelling_a_leg_cancels_the_list() {
    let mut v = venue();
    let l = v.new_oco(oco(Side::Sell, "11", "9.5", "9.4"), 1).unwrap();
    let [tp, sl] = l.legs;
    // A gap below the stop-limit price: it triggers and rests as an ask at 9.4.
    trade(&mut v, 1, "9.35", "1");
    assert_eq!(order(&v, tp).status, Status::Expired);
    let s = order(&v, sl);
    assert_eq!((s.status, s.working, s.locked), (Status::New, true, d("5")));
    assert_eq!(v.balances()["ATOM"].locked, d("5"));
    trade(&mut v, 2, "9.41", "5");
    assert_eq!(order(&v, sl).status, Status::Filled);
    assert_eq!(v.balances()["ATOM"].locked, d("0"));

    let mut v = venue();
    let l = v.new_oco(oco(Side::Buy, "9", "10.5", "10.6"), 1).unwrap();
    assert_eq!(v.balances()["USDT"].locked, d("53"));
    v.cancel("ATOMUSDT", &OrderRef::Id(l.legs[1]), 2).unwrap();
    for id in l.legs {
        assert_eq!(order(&v, id).status, Status::Canceled);
    }
    assert_eq!(v.balances()["USDT"].locked, d("0"));
    let e = v
        .cancel_list("ATOMUSDT", &ListRef::Id(l.id), 3)
        .unwrap_err();
    assert_eq!(e.code, errors::CANCEL_REJECTED);
}

#[test]
fn a_fok_stop_locks_its_funds_until_it_triggers() {
    let mut v = venue();
    let mut req = stop(OrdType::StopLossLimit, Side::Sell, "5", "9.5", "9", "f");
    req.tif = Some(Tif::Fok);
    v.new_order(req, 1, false).unwrap();
    assert_eq!(v.balances()["ATOM"].locked, d("5"));
    let mut req = stop(OrdType::StopLossLimit, Side::Buy, "2", "11", "11.5", "g");
    req.tif = Some(Tif::Fok);
    v.new_order(req, 1, false).unwrap();
    assert_eq!(v.balances()["USDT"].locked, d("23"));
    trade(&mut v, 1, "9.2", "1");
    assert_eq!(
        v.balances()["ATOM"],
        Balance {
            free: d("995"),
            locked: d("0")
        }
    );
}

#[test]
fn an_iceberg_shows_part_of_a_gtc_limit_within_the_parts_filter() {
    let mut v = venue();
    let iceberg = |qty: &str, shown: &str, tif: Tif, cid: &str| NewOrder {
        iceberg_qty: Some(d(shown)),
        ..limit(Side::Buy, qty, "9", tif, cid)
    };
    let o = v
        .new_order(iceberg("10", "2", Tif::Gtc, "a"), 1, false)
        .unwrap();
    assert_eq!((o.iceberg_qty, o.status), (d("2"), Status::New));
    let e = v
        .new_order(iceberg("10", "2", Tif::Ioc, "b"), 1, false)
        .unwrap_err();
    assert_eq!(e.msg, "Iceberg orders must be GTC.");
    for (qty, shown) in [("10", "0.5"), ("10", "10"), ("10", "1.005"), ("10", "0")] {
        let e = v
            .new_order(iceberg(qty, shown, Tif::Gtc, "c"), 1, false)
            .unwrap_err();
        assert_eq!(
            e.msg, "Filter failure: ICEBERG_PARTS",
            "{qty} shown {shown}"
        );
    }
}
