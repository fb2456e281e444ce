//! The venue's pure core: symbols and their filters, a synthetic book around the last tape
//! price, orders, fills, commissions and balances. No I/O, no clock: every call takes the
//! time, so the same calls give the same results.

mod cancel;
mod conditional;
mod market;
mod order;
mod place;
mod query;
mod tape_trade;
#[cfg(test)]
mod tests;
mod user_event;

pub use conditional::ListRef;
pub use market::{
    Levels, Market, PubTrade, RECENT_TRADES, Stats, SymbolSpec, TapeEffect, synthetic_book,
};
pub use order::{
    ExecType, Fill, NewOco, NewOrder, OrdType, Order, OrderList, OrderRef, Status, Tif, side_str,
};
pub use user_event::UserEvent;

use super::ApiError;
use njord::venue::binanceus::errors;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// At most this many parts (`quantity / icebergQty`, rounded up) in an iceberg, as
/// Binance.US's ICEBERG_PARTS filter.
pub const ICEBERG_PARTS: u32 = 10;

/// Matching knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub maker_fee: Decimal,
    pub taker_fee: Decimal,
    /// Levels per side of the synthetic book.
    pub book_levels: usize,
    /// Quantity at each level of the synthetic book.
    pub book_qty: Decimal,
    /// A resting limit also fills when the tape trades exactly at its price, not only through.
    pub fill_at_touch: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            maker_fee: Decimal::new(1, 3),
            taker_fee: Decimal::new(1, 3),
            book_levels: 20,
            book_qty: Decimal::from(100),
            fill_at_touch: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

pub struct Exchange {
    knobs: Knobs,
    markets: Vec<Market>,
    index: HashMap<String, usize>,
    balances: BTreeMap<String, Balance>,
    orders: BTreeMap<u64, Order>,
    /// Open order ids per market.
    open: Vec<BTreeSet<u64>>,
    /// Live (non-terminal) orders by (market, client id): duplicates are refused.
    live_client: HashMap<(usize, String), u64>,
    /// The latest order with a client id, live or not, for queries.
    any_client: HashMap<(usize, String), u64>,
    my_trades: Vec<Fill>,
    /// One-cancels-other lists by id, and by (market, list client id).
    lists: BTreeMap<u64, OrderList>,
    list_client: HashMap<(usize, String), u64>,
    next_list_id: u64,
    next_order_id: u64,
    next_trade_id: u64,
    events: Vec<UserEvent>,
}

fn bad(code: i64, msg: &str) -> ApiError {
    ApiError::bad(code, msg)
}

fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        x
    } else {
        (x / step).floor() * step
    }
}

impl Exchange {
    /// A venue with the given markets (each at its first tape price) and balances.
    pub fn new(
        specs: Vec<(SymbolSpec, Decimal)>,
        balances: BTreeMap<String, Decimal>,
        knobs: Knobs,
    ) -> Self {
        let mut index = HashMap::new();
        let markets: Vec<Market> = specs
            .into_iter()
            .enumerate()
            .map(|(i, (spec, last))| {
                index.insert(spec.name.clone(), i);
                Market {
                    spec,
                    last,
                    last_qty: Decimal::ZERO,
                    update_id: 1,
                    recent: VecDeque::new(),
                    stats: Stats::default(),
                }
            })
            .collect();
        let mut bal: BTreeMap<String, Balance> = BTreeMap::new();
        for m in &markets {
            bal.entry(m.spec.base.clone()).or_default();
            bal.entry(m.spec.quote.clone()).or_default();
        }
        for (asset, free) in balances {
            bal.entry(asset).or_default().free = free;
        }
        Exchange {
            knobs,
            open: vec![BTreeSet::new(); markets.len()],
            markets,
            index,
            balances: bal,
            orders: BTreeMap::new(),
            live_client: HashMap::new(),
            any_client: HashMap::new(),
            my_trades: Vec::new(),
            lists: BTreeMap::new(),
            list_client: HashMap::new(),
            next_list_id: 1,
            next_order_id: 1,
            next_trade_id: 1,
            events: Vec::new(),
        }
    }

    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }

    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// The market index of `ATOMUSDT`, or -1121.
    pub fn market(&self, symbol: &str) -> Result<usize, ApiError> {
        self.index
            .get(symbol)
            .copied()
            .ok_or_else(|| bad(errors::INVALID_SYMBOL, "Invalid symbol."))
    }

    pub fn balances(&self) -> &BTreeMap<String, Balance> {
        &self.balances
    }

    /// Takes the user-data events caused since the last call, in order.
    pub fn drain_events(&mut self) -> Vec<UserEvent> {
        std::mem::take(&mut self.events)
    }

    /// The current synthetic book of market `m`, `depth` levels a side at most.
    pub fn book(&self, m: usize, depth: usize) -> (Levels, Levels) {
        let mk = &self.markets[m];
        synthetic_book(&self.knobs, mk.spec.tick, mk.last, depth)
    }
}
