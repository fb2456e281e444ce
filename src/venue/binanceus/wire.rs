//! The signed REST API's JSON answers read into Njord's types. Lenient by field (a missing or
//! malformed number reads as zero), strict where a guess would mislead (an order without a
//! known status, a trade without an id or side, is dropped).

use super::status;
use crate::broker::reconcile::VenueFill;
use crate::broker::{AssetBalance, BalanceSnapshot, BrokerOrderUpdate};
use crate::event::Side;
use crate::num::parse_decimal;
use rust_decimal::Decimal;
use serde_json::Value;

pub(super) fn dec(v: &Value, k: &str) -> Decimal {
    match v.get(k) {
        Some(Value::String(s)) => parse_decimal(s).unwrap_or_default(),
        Some(Value::Number(n)) => parse_decimal(&n.to_string()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

pub(super) fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub(super) fn int(v: &Value, k: &str) -> i64 {
    match v.get(k) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn side_of(s: &str) -> Side {
    if s == "SELL" { Side::Sell } else { Side::Buy }
}

fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

/// An order JSON (`order`, `openOrders`, a new order's RESULT) as an update; `pair_of` names
/// the venue symbol the Njord way.
pub fn parse_order(v: &Value, pair_of: impl Fn(&str) -> String) -> Option<BrokerOrderUpdate> {
    let status = status::order_status(v.get("status")?.as_str()?)?;
    let ts = [int(v, "updateTime"), int(v, "transactTime"), int(v, "time")]
        .into_iter()
        .max()
        .unwrap_or(0);
    Some(BrokerOrderUpdate {
        symbol: pair_of(v.get("symbol")?.as_str()?),
        exchange_order_id: text(v, "orderId"),
        client_order_id: text(v, "clientOrderId"),
        side: side_of(&text(v, "side")),
        status,
        orig_qty: dec(v, "origQty"),
        filled_qty: dec(v, "executedQty"),
        cum_quote: dec(v, "cummulativeQuoteQty"),
        ts_ns: ms_to_ns(ts),
    })
}

/// A `myTrades` answer for `symbol` (Njord's name) as fills, by trade id.
pub fn parse_trades(v: &Value, symbol: &str) -> Vec<VenueFill> {
    let mut fills: Vec<VenueFill> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(VenueFill {
                symbol: symbol.to_string(),
                exchange_order_id: text(t, "orderId"),
                trade_id: u64::try_from(int(t, "id")).ok()?,
                side: if t.get("isBuyer").and_then(Value::as_bool)? {
                    Side::Buy
                } else {
                    Side::Sell
                },
                qty: dec(t, "qty"),
                price: dec(t, "price"),
                fee: dec(t, "commission"),
                fee_asset: text(t, "commissionAsset"),
                maker: t.get("isMaker").and_then(Value::as_bool).unwrap_or(false),
                ts_ns: ms_to_ns(int(t, "time")),
            })
        })
        .collect();
    fills.sort_by_key(|f| f.trade_id);
    fills
}

/// An `account` answer as the account's balances.
pub fn parse_balances(v: &Value) -> BalanceSnapshot {
    let balances = v
        .get("balances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|b| AssetBalance {
            asset: text(b, "asset"),
            free: dec(b, "free"),
            locked: dec(b, "locked"),
        })
        .collect();
    BalanceSnapshot {
        balances,
        ts_ns: ms_to_ns(int(v, "updateTime")),
    }
}
