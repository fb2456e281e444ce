//! Binance's JSON, field letter for field letter: REST bodies and WebSocket payloads.
//! Decimals are strings with eight places (`"0.10264410"`), as Binance writes them.

use super::limits::LimitConfig;
use super::matching::{
    Exchange, ExecType, Fill, ICEBERG_PARTS, Levels, Market, OrdType, Order, OrderList, PubTrade,
    UserEvent, side_str,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// `d` with exactly eight decimals.
pub fn fmt8(d: Decimal) -> String {
    let mut x = d.round_dp(8);
    x.rescale(8);
    x.to_string()
}

fn levels(l: &Levels) -> Value {
    Value::Array(l.iter().map(|(p, q)| json!([fmt8(*p), fmt8(*q)])).collect())
}

/// How much of an order a response shows (`newOrderRespType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespType {
    Ack,
    Result,
    Full,
}

fn tif_str(o: &Order) -> &'static str {
    o.tif.as_str()
}

/// The `orderListId` of an order: -1 outside a list.
fn list_id(o: &Order) -> i64 {
    o.list_id.map_or(-1, |l| l as i64)
}

/// `POST /api/v3/order` response.
pub fn new_order(o: &Order, rt: RespType) -> Value {
    let mut v = json!({
        "symbol": o.symbol,
        "orderId": o.id,
        "orderListId": list_id(o),
        "clientOrderId": o.client_id,
        "transactTime": o.time,
    });
    if rt == RespType::Ack {
        return v;
    }
    let mut m = serde_json::Map::new();
    for (k, x) in [
        ("price", json!(fmt8(o.price))),
        ("origQty", json!(fmt8(o.orig_qty))),
        ("executedQty", json!(fmt8(o.executed))),
        ("origQuoteOrderQty", json!(fmt8(o.orig_quote_qty))),
        ("cummulativeQuoteQty", json!(fmt8(o.cum_quote))),
        ("status", json!(o.status.as_str())),
        ("timeInForce", json!(tif_str(o))),
        ("type", json!(o.ord_type.as_str())),
        ("side", json!(side_str(o.side))),
        ("workingTime", json!(if o.working { o.time } else { -1 })),
        ("selfTradePreventionMode", json!("NONE")),
    ] {
        m.insert(k.into(), x);
    }
    // Binance adds these only to the orders that have them.
    for (k, x) in [("stopPrice", o.stop_price), ("icebergQty", o.iceberg_qty)] {
        if !x.is_zero() {
            m.insert(k.into(), json!(fmt8(x)));
        }
    }
    if rt == RespType::Full {
        let fills: Vec<Value> = o
            .fills
            .iter()
            .map(|f| {
                json!({
                    "price": fmt8(f.price),
                    "qty": fmt8(f.qty),
                    "commission": fmt8(f.commission),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id,
                })
            })
            .collect();
        m.insert("fills".into(), Value::Array(fills));
    }
    if let Value::Object(head) = &mut v {
        head.append(&mut m);
    }
    v
}

/// `GET /api/v3/order`, `openOrders`, `allOrders` element.
pub fn query_order(o: &Order) -> Value {
    json!({
        "symbol": o.symbol,
        "orderId": o.id,
        "orderListId": list_id(o),
        "clientOrderId": o.client_id,
        "price": fmt8(o.price),
        "origQty": fmt8(o.orig_qty),
        "executedQty": fmt8(o.executed),
        "cummulativeQuoteQty": fmt8(o.cum_quote),
        "status": o.status.as_str(),
        "timeInForce": tif_str(o),
        "type": o.ord_type.as_str(),
        "side": side_str(o.side),
        "stopPrice": fmt8(o.stop_price),
        "icebergQty": fmt8(o.iceberg_qty),
        "time": o.time,
        "updateTime": o.update_time,
        "isWorking": o.working,
        "workingTime": if o.working { o.time } else { -1 },
        "origQuoteOrderQty": fmt8(o.orig_quote_qty),
        "selfTradePreventionMode": "NONE",
    })
}

/// `DELETE /api/v3/order` response; `client_id` is the cancel's own id.
pub fn canceled(o: &Order, client_id: &str, now: i64) -> Value {
    json!({
        "symbol": o.symbol,
        "origClientOrderId": o.client_id,
        "orderId": o.id,
        "orderListId": list_id(o),
        "clientOrderId": client_id,
        "transactTime": now,
        "price": fmt8(o.price),
        "origQty": fmt8(o.orig_qty),
        "executedQty": fmt8(o.executed),
        "origQuoteOrderQty": fmt8(o.orig_quote_qty),
        "cummulativeQuoteQty": fmt8(o.cum_quote),
        "status": o.status.as_str(),
        "timeInForce": tif_str(o),
        "type": o.ord_type.as_str(),
        "side": side_str(o.side),
        "selfTradePreventionMode": "NONE",
    })
}

pub fn my_trade(f: &Fill) -> Value {
    json!({
        "symbol": f.symbol,
        "id": f.trade_id,
        "orderId": f.order_id,
        "orderListId": -1,
        "price": fmt8(f.price),
        "qty": fmt8(f.qty),
        "quoteQty": fmt8(f.price * f.qty),
        "commission": fmt8(f.commission),
        "commissionAsset": f.commission_asset,
        "time": f.time,
        "isBuyer": f.side == njord::event::Side::Buy,
        "isMaker": f.maker,
        "isBestMatch": true,
    })
}

/// Commission in Binance's basis points-of-a-percent integer (0.001 → 10).
fn bips(rate: Decimal) -> i64 {
    (rate * Decimal::from(10_000))
        .trunc()
        .try_into()
        .unwrap_or(0)
}

pub fn account(ex: &Exchange, now: i64) -> Value {
    let k = ex.knobs();
    let balances: Vec<Value> = ex
        .balances()
        .iter()
        .map(|(a, b)| json!({"asset": a, "free": fmt8(b.free), "locked": fmt8(b.locked)}))
        .collect();
    json!({
        "makerCommission": bips(k.maker_fee),
        "takerCommission": bips(k.taker_fee),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt8(k.maker_fee),
            "taker": fmt8(k.taker_fee),
            "buyer": fmt8(Decimal::ZERO),
            "seller": fmt8(Decimal::ZERO),
        },
        "canTrade": true,
        "canWithdraw": true,
        "canDeposit": true,
        "brokered": false,
        "requireSelfTradePrevention": false,
        "preventSor": false,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
    })
}

pub fn rate_limits(l: &LimitConfig) -> Value {
    json!([
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": l.weight_per_min},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": l.orders_per_10s},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": l.orders_per_day},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 6100},
    ])
}

pub fn symbol_info(m: &Market) -> Value {
    let s = &m.spec;
    json!({
        "symbol": s.name,
        "status": "TRADING",
        "baseAsset": s.base,
        "baseAssetPrecision": 8,
        "quoteAsset": s.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": true,
        "ocoAllowed": true,
        "otoAllowed": false,
        "quoteOrderQtyMarketAllowed": true,
        "allowTrailingStop": false,
        "cancelReplaceAllowed": false,
        "isSpotTradingAllowed": true,
        "isMarginTradingAllowed": false,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt8(s.min_price), "maxPrice": fmt8(s.max_price), "tickSize": fmt8(s.tick)},
            {"filterType": "LOT_SIZE", "minQty": fmt8(s.min_qty), "maxQty": fmt8(s.max_qty), "stepSize": fmt8(s.step)},
            {"filterType": "NOTIONAL", "minNotional": fmt8(s.min_notional), "applyMinToMarket": true,
             "maxNotional": fmt8(s.max_notional), "applyMaxToMarket": false, "avgPriceMins": 5},
            {"filterType": "ICEBERG_PARTS", "limit": ICEBERG_PARTS},
        ],
        "permissions": ["SPOT"],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    })
}

pub fn depth(update_id: u64, bids: &Levels, asks: &Levels) -> Value {
    json!({"lastUpdateId": update_id, "bids": levels(bids), "asks": levels(asks)})
}

pub fn ticker_price(m: &Market) -> Value {
    json!({"symbol": m.spec.name, "price": fmt8(m.last)})
}

pub fn book_ticker(m: &Market, bids: &Levels, asks: &Levels) -> Value {
    let top = |l: &Levels| l.first().copied().unwrap_or_default();
    let (b, a) = (top(bids), top(asks));
    json!({
        "symbol": m.spec.name,
        "bidPrice": fmt8(b.0), "bidQty": fmt8(b.1),
        "askPrice": fmt8(a.0), "askQty": fmt8(a.1),
    })
}

pub fn ticker_24h(m: &Market, bids: &Levels, asks: &Levels, now: i64) -> Value {
    let st = &m.stats;
    let top = |l: &Levels| l.first().copied().unwrap_or_default();
    let (b, a) = (top(bids), top(asks));
    let open = if st.count == 0 { m.last } else { st.open };
    let change = m.last - open;
    let pct = if open.is_zero() {
        Decimal::ZERO
    } else {
        (change * Decimal::from(100) / open).round_dp(3)
    };
    let wavg = if st.volume.is_zero() {
        m.last
    } else {
        st.quote_volume / st.volume
    };
    json!({
        "symbol": m.spec.name,
        "priceChange": fmt8(change),
        "priceChangePercent": pct.to_string(),
        "weightedAvgPrice": fmt8(wavg),
        "prevClosePrice": fmt8(open),
        "lastPrice": fmt8(m.last),
        "lastQty": fmt8(m.last_qty),
        "bidPrice": fmt8(b.0), "bidQty": fmt8(b.1),
        "askPrice": fmt8(a.0), "askQty": fmt8(a.1),
        "openPrice": fmt8(open),
        "highPrice": fmt8(if st.count == 0 { m.last } else { st.high }),
        "lowPrice": fmt8(if st.count == 0 { m.last } else { st.low }),
        "volume": fmt8(st.volume),
        "quoteVolume": fmt8(st.quote_volume),
        "openTime": if st.count == 0 { now - 86_400_000 } else { st.open_time },
        "closeTime": if st.count == 0 { now } else { st.close_time },
        "firstId": st.first_id.map(|x| x as i64).unwrap_or(-1),
        "lastId": st.last_id.map(|x| x as i64).unwrap_or(-1),
        "count": st.count,
    })
}

pub fn trade(t: &PubTrade) -> Value {
    json!({
        "id": t.id,
        "price": fmt8(t.price),
        "qty": fmt8(t.qty),
        "quoteQty": fmt8(t.price * t.qty),
        "time": t.time,
        "isBuyerMaker": t.buyer_maker,
        "isBestMatch": true,
    })
}

pub fn agg_trade(t: &PubTrade) -> Value {
    json!({
        "a": t.id, "p": fmt8(t.price), "q": fmt8(t.qty),
        "f": t.id, "l": t.id, "T": t.time, "m": t.buyer_maker, "M": true,
    })
}

/// One `/klines` row: `[openTime, "open", "high", "low", "close", "volume", closeTime,
/// "quoteVolume", trades, "takerBuyBase", "takerBuyQuote", "0"]`.
pub fn kline(k: &crate::klines::Kline) -> Value {
    json!([
        k.open_time,
        fmt8(k.open),
        fmt8(k.high),
        fmt8(k.low),
        fmt8(k.close),
        fmt8(k.volume),
        k.close_time,
        fmt8(k.quote_volume),
        k.trades,
        fmt8(k.taker_buy_volume),
        fmt8(k.taker_buy_quote),
        "0",
    ])
}

// WebSocket payloads: written by hand, they are the hot path.

/// `<symbol>@trade`. Buyer and seller order ids are synthetic, derived from the trade id.
pub fn ws_trade(out: &mut String, sym: &str, t: &PubTrade, event_time: i64) {
    let _ = write!(
        out,
        "{{\"e\":\"trade\",\"E\":{event_time},\"s\":\"{sym}\",\"t\":{},\"p\":\"{}\",\"q\":\"{}\",\"b\":{},\"a\":{},\"T\":{},\"m\":{},\"M\":true}}",
        t.id,
        fmt8(t.price),
        fmt8(t.qty),
        t.id * 2,
        t.id * 2 + 1,
        t.time,
        t.buyer_maker
    );
}

/// `<symbol>@aggTrade`: one aggregate per tape trade.
pub fn ws_agg_trade(out: &mut String, sym: &str, t: &PubTrade, event_time: i64) {
    let _ = write!(
        out,
        "{{\"e\":\"aggTrade\",\"E\":{event_time},\"s\":\"{sym}\",\"a\":{},\"p\":\"{}\",\"q\":\"{}\",\"f\":{},\"l\":{},\"T\":{},\"m\":{},\"M\":true}}",
        t.id,
        fmt8(t.price),
        fmt8(t.qty),
        t.id,
        t.id,
        t.time,
        t.buyer_maker
    );
}

/// `<symbol>@bookTicker`.
pub fn ws_book_ticker(update_id: u64, sym: &str, bids: &Levels, asks: &Levels) -> String {
    let top = |l: &Levels| l.first().copied().unwrap_or_default();
    let (b, a) = (top(bids), top(asks));
    format!(
        "{{\"u\":{update_id},\"s\":\"{sym}\",\"b\":\"{}\",\"B\":\"{}\",\"a\":\"{}\",\"A\":\"{}\"}}",
        fmt8(b.0),
        fmt8(b.1),
        fmt8(a.0),
        fmt8(a.1)
    )
}

/// `<symbol>@depth<N>`.
pub fn ws_partial_depth(update_id: u64, bids: &Levels, asks: &Levels) -> String {
    depth(update_id, bids, asks).to_string()
}

/// `<symbol>@depth`: the levels that changed between two books, removed ones at qty 0.
pub fn ws_depth_update(
    event_time: i64,
    sym: &str,
    first: u64,
    last: u64,
    old: &(Levels, Levels),
    new: &(Levels, Levels),
) -> String {
    fn diff(old: &Levels, new: &Levels) -> Levels {
        let mut out: Levels = new.iter().filter(|l| !old.contains(l)).copied().collect();
        for (p, _) in old {
            if !new.iter().any(|(np, _)| np == p) {
                out.push((*p, Decimal::ZERO));
            }
        }
        out
    }
    json!({
        "e": "depthUpdate", "E": event_time, "s": sym, "U": first, "u": last,
        "b": levels(&diff(&old.0, &new.0)), "a": levels(&diff(&old.1, &new.1)),
    })
    .to_string()
}

/// A user-data event as the stream sends it.
pub fn user_event(ev: &UserEvent) -> String {
    match ev {
        UserEvent::Execution {
            order: o,
            exec,
            last,
            time,
        } => {
            let (lq, lp, n, na, t, maker) = match last {
                Some(f) => (
                    f.qty,
                    f.price,
                    fmt8(f.commission),
                    Value::String(f.commission_asset.clone()),
                    f.trade_id as i64,
                    f.maker,
                ),
                None => (
                    Decimal::ZERO,
                    Decimal::ZERO,
                    "0".to_string(),
                    Value::Null,
                    -1,
                    false,
                ),
            };
            let working = o.working && !o.status.is_terminal() && o.ord_type != OrdType::Market;
            json!({
                "e": "executionReport", "E": time, "s": o.symbol, "c": o.client_id,
                "S": side_str(o.side), "o": o.ord_type.as_str(), "f": o.tif.as_str(),
                "q": fmt8(o.orig_qty), "p": fmt8(o.price), "P": fmt8(o.stop_price),
                "F": fmt8(o.iceberg_qty), "g": list_id(o), "C": "",
                "x": exec.as_str(), "X": o.status.as_str(), "r": "NONE", "i": o.id,
                "l": fmt8(lq), "z": fmt8(o.executed), "L": fmt8(lp), "n": n, "N": na,
                "T": time, "t": t, "I": o.id * 2 + u64::from(*exec == ExecType::Trade),
                "w": working, "m": maker, "M": false,
                "O": o.time, "Z": fmt8(o.cum_quote), "Y": fmt8(lp * lq),
                "Q": fmt8(o.orig_quote_qty), "W": o.time, "V": "NONE",
            })
            .to_string()
        }
        UserEvent::Account { time, balances } => {
            let b: Vec<Value> = balances
                .iter()
                .map(|(a, b)| json!({"a": a, "f": fmt8(b.free), "l": fmt8(b.locked)}))
                .collect();
            json!({"e": "outboundAccountPosition", "E": time, "u": time, "B": b}).to_string()
        }
        UserEvent::List {
            list,
            legs,
            done,
            time,
        } => {
            let (status_type, order_status) = list_status(*done);
            json!({
                "e": "listStatus", "E": time, "s": list.symbol, "g": list.id, "c": "OCO",
                "l": status_type, "L": order_status, "r": "NONE", "C": list.client_id,
                "T": time, "O": list_orders(legs),
            })
            .to_string()
        }
    }
}

/// `listStatusType` and `listOrderStatus` of a list.
fn list_status(done: bool) -> (&'static str, &'static str) {
    if done {
        ("ALL_DONE", "ALL_DONE")
    } else {
        ("EXEC_STARTED", "EXECUTING")
    }
}

fn list_orders(legs: &[Order]) -> Value {
    Value::Array(
        legs.iter()
            .map(|o| json!({"symbol": o.symbol, "orderId": o.id, "clientOrderId": o.client_id}))
            .collect(),
    )
}

/// An order list with its legs: the body of `POST /api/v3/order/oco` (`reports` set, the
/// legs as placed) and of `GET` / `DELETE /api/v3/orderList` (`reports` as each answers).
pub fn order_list(
    list: &OrderList,
    legs: &[Order],
    done: bool,
    reports: Option<&dyn Fn(&Order) -> Value>,
) -> Value {
    let (status_type, order_status) = list_status(done);
    let mut v = json!({
        "orderListId": list.id,
        "contingencyType": "OCO",
        "listStatusType": status_type,
        "listOrderStatus": order_status,
        "listClientOrderId": list.client_id,
        "transactionTime": list.time,
        "symbol": list.symbol,
        "orders": list_orders(legs),
    });
    if let (Some(r), Value::Object(m)) = (reports, &mut v) {
        m.insert(
            "orderReports".into(),
            Value::Array(legs.iter().map(r).collect()),
        );
    }
    v
}

pub fn listen_key_expired(time: i64, key: &str) -> String {
    json!({"e": "listenKeyExpired", "E": time, "listenKey": key}).to_string()
}
