//! A market: its symbol's filters, the public trades and statistics it keeps, and the
//! synthetic book around its last price.

use super::Knobs;
use rust_decimal::Decimal;
use std::collections::VecDeque;

/// A tradable symbol and its filters (PRICE_FILTER, LOT_SIZE, NOTIONAL).
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSpec {
    /// `ATOMUSDT`.
    pub name: String,
    pub base: String,
    pub quote: String,
    pub tick: Decimal,
    pub step: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub max_notional: Decimal,
}

/// A public trade as the venue keeps it (`/api/v3/trades`).
#[derive(Debug, Clone, PartialEq)]
pub struct PubTrade {
    pub id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub time: i64,
    pub buyer_maker: bool,
}

/// Statistics since playback started (the sim's "24hr" window).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub volume: Decimal,
    pub quote_volume: Decimal,
    pub count: u64,
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
    pub open_time: i64,
    pub close_time: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub spec: SymbolSpec,
    pub last: Decimal,
    pub last_qty: Decimal,
    /// Increases whenever the synthetic book changes (Binance's `lastUpdateId` / `u`).
    pub update_id: u64,
    pub recent: VecDeque<PubTrade>,
    pub stats: Stats,
}

/// How many public trades each market keeps for `/trades` and `/aggTrades`.
pub const RECENT_TRADES: usize = 1000;

/// A side of the synthetic book: `(price, qty)` best first.
pub type Levels = Vec<(Decimal, Decimal)>;

/// How a tape trade changed a market.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeEffect {
    pub prev_last: Decimal,
    /// Whether the synthetic book moved (the price changed).
    pub moved: bool,
    /// The book's update id after the trade.
    pub update_id: u64,
}

/// The synthetic book around `last`: a level every tick from one tick either side, each of
/// `knobs.book_qty`. It is a function of the last price only, so streams can rebuild it.
pub fn synthetic_book(
    knobs: &Knobs,
    tick: Decimal,
    last: Decimal,
    depth: usize,
) -> (Levels, Levels) {
    let n = depth.min(knobs.book_levels);
    let q = knobs.book_qty;
    let asks = (1..=n as i64)
        .map_while(|i| Some((last.checked_add(tick.checked_mul(Decimal::from(i))?)?, q)))
        .collect();
    let bids = (1..=n as i64)
        .map_while(|i| Some((last.checked_sub(tick.checked_mul(Decimal::from(i))?)?, q)))
        .take_while(|(p, _)| *p > Decimal::ZERO)
        .collect();
    (bids, asks)
}
