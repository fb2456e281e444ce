//! Protective orders the venue cannot hold, kept by the broker until they trigger.
//!
//! Binance.US has no stop-market order (no `STOP_LOSS` in any symbol's `orderTypes`) and no
//! trailing stop, and a symbol may lack `STOP_LOSS_LIMIT` or `TAKE_PROFIT_LIMIT`. The broker
//! arms such an order here and follows the trades of its input in event time with
//! njord-paper's rule: a stop triggers on the first trade at or through its stop price, a
//! trailing stop trails the best trade since it was armed. A triggered order goes to the
//! venue as what it becomes ([`triggered`]): a stop-market as a market order, a stop-limit
//! or take-profit-limit as a limit at its limit price. This module sends nothing.

use crate::event::{Order, OrderType, Trail};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
struct Armed {
    order: Order<'static>,
    /// A trailing stop's best trade since it was armed; `None` before the first.
    best: Option<Decimal>,
}

/// An armed order a trade reached, with a trailing stop's best price (to arm it again as it
/// was, should the send be refused).
#[derive(Debug, Clone)]
pub struct Fired {
    pub order: Order<'static>,
    pub best: Option<Decimal>,
}

/// What one trade did to the armed orders.
#[derive(Debug, Default)]
pub struct TradeOutcome {
    /// Reached, oldest first, and taken out to be sent.
    pub fired: Vec<Fired>,
    /// Trailing stops whose best price the trade improved: (intent, new best), to journal.
    pub trailed: Vec<(String, Decimal)>,
}

/// The armed orders, in the order they were armed.
#[derive(Debug, Default)]
pub struct ArmedBook {
    by_seq: BTreeMap<u64, Armed>,
    seq_of: HashMap<String, u64>,
    next: u64,
}

impl ArmedBook {
    /// Arms an order (a trailing stop from `best`, the best price it has seen, when known);
    /// `false` (and nothing changes) when its intent is armed already.
    pub fn arm(&mut self, order: Order<'static>, best: Option<Decimal>) -> bool {
        if self.seq_of.contains_key(order.intent_id.as_ref()) {
            return false;
        }
        self.next += 1;
        self.seq_of.insert(order.intent_id.to_string(), self.next);
        self.by_seq.insert(self.next, Armed { order, best });
        true
    }

    /// Takes an armed order out without sending it (cancel, kill switch, its group).
    pub fn disarm(&mut self, intent_id: &str) -> Option<Order<'static>> {
        let seq = self.seq_of.remove(intent_id)?;
        self.by_seq.remove(&seq).map(|a| a.order)
    }

    pub fn contains(&self, intent_id: &str) -> bool {
        self.seq_of.contains_key(intent_id)
    }

    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    /// The armed intents, oldest first.
    pub fn intents(&self) -> Vec<String> {
        self.by_seq
            .values()
            .map(|a| a.order.intent_id.to_string())
            .collect()
    }

    /// Follows a trade of `symbol` at `price`: trailing stops trail it, and the orders it
    /// reaches come out, oldest first, to be sent.
    pub fn on_trade(&mut self, symbol: &str, price: Decimal) -> TradeOutcome {
        let mut out = TradeOutcome::default();
        let mut fired = Vec::new();
        for (seq, a) in self.by_seq.iter_mut() {
            let o = &a.order;
            if o.symbol != symbol {
                continue;
            }
            if o.trail.is_some() {
                let best = Trail::follow(o.side, a.best, price);
                if a.best != Some(best) {
                    a.best = Some(best);
                    out.trailed.push((o.intent_id.to_string(), best));
                }
            }
            if o.stop_at(a.best)
                .is_some_and(|stop| o.order_type.triggers(o.side, stop, price))
            {
                fired.push(*seq);
            }
        }
        for seq in fired {
            if let Some(a) = self.by_seq.remove(&seq) {
                self.seq_of.remove(a.order.intent_id.as_ref());
                out.fired.push(Fired {
                    order: a.order,
                    best: a.best,
                });
            }
        }
        out
    }
}

/// The order a triggered protective order becomes at the venue: a market order, or a limit
/// at its limit price, with the same intent (so the same client order id).
pub fn triggered(o: &Order<'_>) -> Order<'static> {
    let mut t = o.to_static();
    t.order_type = match o.order_type {
        OrderType::StopMarket | OrderType::Market => OrderType::Market,
        OrderType::StopLimit | OrderType::TakeProfitLimit | OrderType::Limit => OrderType::Limit,
    };
    t.stop_price = None;
    t.trail = None;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Side;
    use std::borrow::Cow;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn stop(id: &str, side: Side, ty: OrderType, stop: Option<&str>) -> Order<'static> {
        Order {
            intent_id: Cow::Owned(id.into()),
            strategy_id: None,
            venue: Cow::Borrowed("binanceus"),
            symbol: Cow::Borrowed("ATOM/USDT"),
            side,
            order_type: ty,
            qty: d("1"),
            limit_price: (ty != OrderType::StopMarket).then(|| d("9")),
            stop_price: stop.map(d),
            trail: None,
            time_in_force: None,
            post_only: false,
            oco: None,
            exec: None,
            iceberg_qty: None,
            group_id: None,
            ts_accepted_ns: 0,
        }
    }

    #[test]
    fn stops_fire_on_the_first_trade_through_them_oldest_first_once() {
        let mut b = ArmedBook::default();
        let arm = |b: &mut ArmedBook, id, side, ty, s| b.arm(stop(id, side, ty, Some(s)), None);
        assert!(arm(&mut b, "a", Side::Sell, OrderType::StopMarket, "9.5"));
        assert!(!arm(&mut b, "a", Side::Sell, OrderType::StopMarket, "9"));
        assert!(arm(
            &mut b,
            "b",
            Side::Buy,
            OrderType::TakeProfitLimit,
            "9.4"
        ));
        assert!(arm(&mut b, "c", Side::Buy, OrderType::StopLimit, "11"));
        assert!(b.on_trade("ATOM/USDT", d("10")).fired.is_empty());
        assert!(
            b.on_trade("BTC/USDT", d("1")).fired.is_empty(),
            "another symbol"
        );
        let fired = b.on_trade("ATOM/USDT", d("9.2")).fired;
        let ids: Vec<&str> = fired.iter().map(|f| f.order.intent_id.as_ref()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(triggered(&fired[0].order).order_type, OrderType::Market);
        let b2 = triggered(&fired[1].order);
        let got = (b2.order_type, b2.limit_price, b2.stop_price);
        assert_eq!(got, (OrderType::Limit, Some(d("9")), None));
        assert!(
            b.on_trade("ATOM/USDT", d("9")).fired.is_empty(),
            "fired once"
        );
        assert_eq!(b.intents(), ["c"]);
        assert!(b.disarm("c").is_some() && b.is_empty());
    }

    #[test]
    fn a_trailing_stop_trails_the_best_trade_since_it_was_armed() {
        let mut b = ArmedBook::default();
        let mut t = stop("t", Side::Sell, OrderType::StopMarket, None);
        t.trail = Some(Trail {
            bps: None,
            amount: Some(d("0.5")),
        });
        b.arm(t.clone(), None);
        let mut trailed = Vec::new();
        for p in ["10", "10.8", "10.4"] {
            let got = b.on_trade("ATOM/USDT", d(p));
            assert!(got.fired.is_empty(), "{p}");
            trailed.extend(got.trailed.into_iter().map(|(_, best)| best));
        }
        assert_eq!(trailed, [d("10"), d("10.8")], "each new best, once");
        // Best 10.8, stop 10.3.
        let fired = b.on_trade("ATOM/USDT", d("10.3")).fired;
        assert_eq!((fired.len(), fired[0].best), (1, Some(d("10.8"))));
        // Armed again from a best it had seen (a restart): it trails from there.
        let mut b = ArmedBook::default();
        b.arm(t, Some(d("10.8")));
        assert_eq!(b.on_trade("ATOM/USDT", d("10.3")).fired.len(), 1);
    }
}
