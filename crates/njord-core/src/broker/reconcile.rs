//! Reconciliation, pure: what the venue says (user-stream reports, REST polls, answers to
//! orders) is diffed against what was already reported, so each change and each fill is
//! emitted exactly once whichever path brings it first.
//!
//! Fills are de-duplicated by a per-symbol watermark, the highest venue trade id emitted
//! (Binance trade ids grow per symbol). The shell persists it, so a restart neither repeats
//! nor misses a fill: after a reconnect it asks `myTrades` for ids above the watermark.

use super::order_state::{OrderStatus, Step, on_report};
use super::{BrokerOrderReq, BrokerOrderUpdate};
use crate::event::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// An execution as the venue reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueFill {
    pub symbol: String,
    pub exchange_order_id: String,
    pub trade_id: u64,
    pub side: Side,
    pub qty: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
    pub fee_asset: String,
    pub maker: bool,
    pub ts_ns: i64,
}

/// The highest trade id emitted, per symbol (`BASE/QUOTE`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    pub trade_id: BTreeMap<String, u64>,
}

/// An order the broker follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub intent_id: String,
    pub strategy_id: Option<String>,
    pub last: BrokerOrderUpdate,
}

/// A fill attributed to the intent of its order (empty when the order is not ours).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributedFill {
    pub fill: VenueFill,
    pub intent_id: String,
    pub strategy_id: Option<String>,
}

/// What an order report did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A change to report.
    Changed(BrokerOrderUpdate),
    /// Nothing new.
    Same,
    /// A transition no venue makes; the state is kept.
    Invalid { from: OrderStatus, to: OrderStatus },
}

#[derive(Debug, Default)]
pub struct Reconciler {
    orders: HashMap<String, Tracked>,
    by_exchange_id: HashMap<String, String>,
    watermark: Watermark,
    watermark_dirty: bool,
}

impl Reconciler {
    pub fn new(watermark: Watermark) -> Self {
        Reconciler {
            watermark,
            ..Default::default()
        }
    }

    /// Starts following an order about to be sent (status PENDING_NEW).
    pub fn track(&mut self, req: &BrokerOrderReq, strategy_id: Option<String>, ts_ns: i64) {
        self.orders
            .entry(req.client_order_id.clone())
            .or_insert_with(|| Tracked {
                intent_id: req.intent_id.clone(),
                strategy_id,
                last: BrokerOrderUpdate {
                    symbol: req.symbol.clone(),
                    exchange_order_id: String::new(),
                    client_order_id: req.client_order_id.clone(),
                    side: req.side,
                    status: OrderStatus::PendingNew,
                    orig_qty: req.qty,
                    filled_qty: Decimal::ZERO,
                    cum_quote: Decimal::ZERO,
                    ts_ns,
                },
            });
    }

    /// Forgets an order that was never placed (rejected locally or by the venue, or sent
    /// without an answer and then proven absent).
    pub fn untrack(&mut self, client_order_id: &str) {
        if let Some(t) = self.orders.get(client_order_id)
            && matches!(
                t.last.status,
                OrderStatus::PendingNew | OrderStatus::Unknown
            )
        {
            self.orders.remove(client_order_id);
        }
    }

    /// Records the venue's id of an acknowledged order; its state comes from reports.
    pub fn acked(&mut self, client_order_id: &str, exchange_order_id: &str) {
        if exchange_order_id.is_empty() {
            return;
        }
        self.by_exchange_id
            .insert(exchange_order_id.to_string(), client_order_id.to_string());
        if let Some(t) = self.orders.get_mut(client_order_id)
            && t.last.exchange_order_id.is_empty()
        {
            t.last.exchange_order_id = exchange_order_id.to_string();
        }
    }

    pub fn get(&self, client_order_id: &str) -> Option<&Tracked> {
        self.orders.get(client_order_id)
    }

    /// Applies a venue report. Orders not yet followed (placed by an earlier run) are adopted.
    pub fn apply(&mut self, upd: &BrokerOrderUpdate) -> Outcome {
        if !upd.exchange_order_id.is_empty() {
            self.by_exchange_id
                .insert(upd.exchange_order_id.clone(), upd.client_order_id.clone());
        }
        let Some(t) = self.orders.get_mut(&upd.client_order_id) else {
            self.orders.insert(
                upd.client_order_id.clone(),
                Tracked {
                    intent_id: String::new(),
                    strategy_id: None,
                    last: upd.clone(),
                },
            );
            return Outcome::Changed(upd.clone());
        };
        let from = t.last.status;
        match on_report(from, upd.status) {
            Step::Ignore => Outcome::Same,
            Step::Invalid => Outcome::Invalid {
                from,
                to: upd.status,
            },
            // Fills only grow: a report with fewer is stale, one with as many and the same
            // status is a repeat.
            Step::Apply if upd.filled_qty < t.last.filled_qty => Outcome::Same,
            Step::Apply if upd.status == from && upd.filled_qty == t.last.filled_qty => {
                Outcome::Same
            }
            Step::Apply => {
                let mut next = upd.clone();
                if next.exchange_order_id.is_empty() {
                    next.exchange_order_id = t.last.exchange_order_id.clone();
                }
                t.last = next.clone();
                Outcome::Changed(next)
            }
        }
    }

    /// Accepts a fill unless its trade id is at or below the symbol's watermark.
    pub fn on_fill(&mut self, fill: VenueFill) -> Option<AttributedFill> {
        let mark = self.watermark.trade_id.get(&fill.symbol).copied();
        if mark.is_some_and(|m| fill.trade_id <= m) {
            return None;
        }
        self.watermark
            .trade_id
            .insert(fill.symbol.clone(), fill.trade_id);
        self.watermark_dirty = true;
        let owner = self
            .by_exchange_id
            .get(&fill.exchange_order_id)
            .and_then(|c| self.orders.get(c));
        Some(AttributedFill {
            intent_id: owner.map(|t| t.intent_id.clone()).unwrap_or_default(),
            strategy_id: owner.and_then(|t| t.strategy_id.clone()),
            fill,
        })
    }

    /// The watermark of `symbol`, if any fill of it was ever emitted.
    pub fn watermark_of(&self, symbol: &str) -> Option<u64> {
        self.watermark.trade_id.get(symbol).copied()
    }

    /// Sets a symbol's starting point without emitting anything (first run: earlier trades
    /// on the account are not this broker's to report).
    pub fn baseline(&mut self, symbol: &str, trade_id: u64) {
        if self.watermark_of(symbol).is_none() {
            self.watermark.trade_id.insert(symbol.to_string(), trade_id);
            self.watermark_dirty = true;
        }
    }

    /// The watermark, when it changed since the last call (to persist it).
    pub fn take_dirty_watermark(&mut self) -> Option<&Watermark> {
        std::mem::take(&mut self.watermark_dirty).then_some(&self.watermark)
    }

    /// Followed orders that are still live, as (symbol, client order id).
    pub fn in_flight(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .orders
            .values()
            .filter(|t| !t.last.status.is_terminal())
            .map(|t| (t.last.symbol.clone(), t.last.client_order_id.clone()))
            .collect();
        v.sort();
        v
    }

    /// Live orders missing from a full open-orders snapshot of `symbols`: they ended while
    /// nobody was looking, and their real final status must be queried (never assumed).
    pub fn vanished(
        &self,
        symbols: &[String],
        open: &[BrokerOrderUpdate],
    ) -> Vec<(String, String)> {
        self.in_flight()
            .into_iter()
            .filter(|(sym, id)| {
                symbols.contains(sym) && !open.iter().any(|o| &o.client_order_id == id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::OrderType;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn req() -> BrokerOrderReq {
        BrokerOrderReq {
            intent_id: "i1".into(),
            client_order_id: "i1".into(),
            symbol: "ATOM/USDT".into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            qty: d("2"),
            limit_price: Some(d("5")),
            stop_price: None,
            time_in_force: crate::event::TimeInForce::Gtc,
            post_only: false,
            iceberg_qty: None,
        }
    }

    fn upd(status: OrderStatus, filled: &str, quote: &str) -> BrokerOrderUpdate {
        BrokerOrderUpdate {
            symbol: "ATOM/USDT".into(),
            exchange_order_id: "77".into(),
            client_order_id: "i1".into(),
            side: Side::Buy,
            status,
            orig_qty: d("2"),
            filled_qty: d(filled),
            cum_quote: d(quote),
            ts_ns: 1,
        }
    }

    fn fill(id: u64) -> VenueFill {
        VenueFill {
            symbol: "ATOM/USDT".into(),
            exchange_order_id: "77".into(),
            trade_id: id,
            side: Side::Buy,
            qty: d("1"),
            price: d("5"),
            fee: d("0.005"),
            fee_asset: "USDT".into(),
            maker: true,
            ts_ns: 2,
        }
    }

    #[test]
    fn each_change_once_and_filled_never_canceled() {
        use OrderStatus::*;
        let mut r = Reconciler::default();
        r.track(&req(), Some("s".into()), 0);
        assert!(matches!(r.apply(&upd(New, "0", "0")), Outcome::Changed(_)));
        assert_eq!(r.apply(&upd(New, "0", "0")), Outcome::Same);
        let Outcome::Changed(p) = r.apply(&upd(PartiallyFilled, "1", "5")) else {
            panic!()
        };
        assert_eq!(p.avg_price(), d("5"));
        assert_eq!(r.apply(&upd(PartiallyFilled, "1", "5")), Outcome::Same);
        assert_eq!(r.apply(&upd(New, "0", "0")), Outcome::Same, "stale");
        assert!(matches!(
            r.apply(&upd(Filled, "2", "9")),
            Outcome::Changed(_)
        ));
        assert_eq!(r.apply(&upd(Canceled, "2", "9")), Outcome::Same);
        assert!(r.in_flight().is_empty());
    }

    #[test]
    fn fills_once_by_watermark_and_attributed() {
        let mut r = Reconciler::new(Watermark::default());
        r.track(&req(), Some("s".into()), 0);
        r.apply(&upd(OrderStatus::New, "0", "0"));
        let f = r.on_fill(fill(10)).unwrap();
        assert_eq!(
            (f.intent_id.as_str(), f.strategy_id.as_deref()),
            ("i1", Some("s"))
        );
        assert!(r.on_fill(fill(10)).is_none());
        assert!(r.on_fill(fill(9)).is_none());
        assert!(r.on_fill(fill(11)).is_some());
        assert_eq!(r.take_dirty_watermark().unwrap().trade_id["ATOM/USDT"], 11);
        assert!(r.take_dirty_watermark().is_none());
        r.baseline("ATOM/USDT", 3);
        assert_eq!(
            r.watermark_of("ATOM/USDT"),
            Some(11),
            "baseline never lowers"
        );
    }

    #[test]
    fn vanished_orders_are_queried_not_assumed() {
        let mut r = Reconciler::default();
        r.track(&req(), None, 0);
        r.apply(&upd(OrderStatus::New, "0", "0"));
        let syms = vec!["ATOM/USDT".to_string()];
        assert_eq!(
            r.vanished(&syms, &[upd(OrderStatus::New, "0", "0")]),
            vec![]
        );
        assert_eq!(
            r.vanished(&syms, &[]),
            vec![("ATOM/USDT".to_string(), "i1".to_string())]
        );
        assert_eq!(r.vanished(&["BTC/USDT".to_string()], &[]), vec![]);
    }
}
