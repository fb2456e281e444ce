//! Where a taker fill lands (`paper.slippage_model`): the price a market order (or a marketable
//! limit) pays is the reference price moved against it by
//! - `fixed`: `slippage_bps` (the default, 0 unless configured);
//! - `linear`: `slippage_bps × q / V`, V the symbol's volume traded in the last
//!   `impact_window_ms` (as if q = V while nothing traded);
//! - `sqrt`: `impact_k × σ × √(q / V)` (the square-root law), σ the standard deviation (T−1)
//!   of the simple returns between the window's trades times √(their count), the window's
//!   volatility;
//! - `book`: the walk of the symbol's last `book` event: the average price of the levels the
//!   quantity takes, the rest beyond the shown depth at the last level's price; `fixed` while
//!   the symbol has no book.
//!
//! A pure core: the state is what trades and books have shown, in event time.

use crate::event::{Book, Level, Side};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The model of `paper.slippage_model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    #[default]
    Fixed,
    Linear,
    Sqrt,
    Book,
}

/// Trades kept per symbol at most, whatever the window: memory stays bounded.
const MAX_TRADES: usize = 100_000;

#[derive(Debug, Default)]
struct Market {
    /// (time, qty, price) of the trades in the window.
    trades: VecDeque<(i64, Decimal, f64)>,
    volume: Decimal,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

/// The slippage model and what it has seen.
#[derive(Debug)]
pub struct Impact {
    model: Model,
    bps: Decimal,
    k: f64,
    window_ns: i64,
    markets: FxHashMap<String, Market>,
}

impl Impact {
    pub fn new(model: Model, bps: Decimal, k: f64, window_ms: u64) -> Self {
        Impact {
            model,
            bps,
            k,
            window_ns: i64::try_from(window_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            markets: FxHashMap::default(),
        }
    }

    /// Whether the model needs the trades and books (all but `fixed`).
    pub fn watches(&self) -> bool {
        self.model != Model::Fixed
    }

    /// Whether the model walks `book` events.
    pub fn walks_books(&self) -> bool {
        self.model == Model::Book
    }

    /// Updates a symbol's market: one lookup once it exists (the entry API would allocate
    /// the key on every trade).
    fn with_market(&mut self, symbol: &str, f: impl FnOnce(&mut Market)) {
        match self.markets.get_mut(symbol) {
            Some(m) => f(m),
            None => {
                let mut m = Market::default();
                f(&mut m);
                self.markets.insert(symbol.to_string(), m);
            }
        }
    }

    pub fn on_trade(&mut self, symbol: &str, ts_ns: i64, price: Decimal, qty: Decimal) {
        if !matches!(self.model, Model::Linear | Model::Sqrt) {
            return;
        }
        let window = self.window_ns;
        self.with_market(symbol, |m| {
            m.trades
                .push_back((ts_ns, qty, price.to_f64().unwrap_or(0.0)));
            m.volume = m.volume.checked_add(qty).unwrap_or(m.volume);
            while let Some(&(t, q, _)) = m.trades.front() {
                if ts_ns.saturating_sub(t) <= window && m.trades.len() <= MAX_TRADES {
                    break;
                }
                m.trades.pop_front();
                m.volume = m.volume.checked_sub(q).unwrap_or(m.volume);
            }
        });
    }

    pub fn on_book(&mut self, b: &Book<'_>) {
        if self.model != Model::Book {
            return;
        }
        self.with_market(&b.symbol, |m| {
            m.bids.clone_from(&b.bids);
            m.asks.clone_from(&b.asks);
        });
    }

    /// The taker price of `qty` on `side` against `price` (the reference: last trade, or a
    /// bar's open).
    pub fn taker_price(&self, symbol: &str, side: Side, qty: Decimal, price: Decimal) -> Decimal {
        let fraction = match self.model {
            Model::Fixed => self.bps / Decimal::from(10_000),
            Model::Book => {
                if let Some(p) = self.walk(symbol, side, qty) {
                    return p;
                }
                self.bps / Decimal::from(10_000)
            }
            Model::Linear => {
                let v = self.markets.get(symbol).map_or(Decimal::ZERO, |m| m.volume);
                let share = if v > Decimal::ZERO {
                    qty.checked_div(v).unwrap_or(Decimal::ONE)
                } else {
                    Decimal::ONE
                };
                (self.bps / Decimal::from(10_000))
                    .checked_mul(share)
                    .unwrap_or(Decimal::ONE)
            }
            Model::Sqrt => {
                let Some(m) = self.markets.get(symbol) else {
                    return price;
                };
                let v = m.volume.to_f64().unwrap_or(0.0);
                let q = qty.to_f64().unwrap_or(0.0);
                let sigma = window_volatility(&m.trades);
                let f = if v > 0.0 {
                    self.k * sigma * (q / v).sqrt()
                } else {
                    0.0
                };
                Decimal::from_f64(f).unwrap_or(Decimal::ZERO)
            }
        };
        if fraction.is_zero() {
            return price;
        }
        let factor = match side {
            Side::Buy => Decimal::ONE.checked_add(fraction).unwrap_or(Decimal::MAX),
            Side::Sell => Decimal::ONE
                .checked_sub(fraction)
                .unwrap_or(Decimal::ZERO)
                .max(Decimal::ZERO),
        };
        price.checked_mul(factor).unwrap_or(price).normalize()
    }

    /// The average price of walking the shown levels for `qty`; `None` without a book.
    fn walk(&self, symbol: &str, side: Side, qty: Decimal) -> Option<Decimal> {
        let m = self.markets.get(symbol)?;
        let levels = match side {
            Side::Buy => &m.asks,
            Side::Sell => &m.bids,
        };
        let last = levels.iter().rev().find(|l| l.qty > Decimal::ZERO)?.price;
        let mut left = qty;
        let mut cost = Decimal::ZERO;
        for l in levels.iter().filter(|l| l.qty > Decimal::ZERO) {
            let take = left.min(l.qty);
            cost = cost.checked_add(take.checked_mul(l.price)?)?;
            left -= take;
            if left.is_zero() {
                break;
            }
        }
        cost = cost.checked_add(left.checked_mul(last)?)?;
        Some(cost.checked_div(qty)?.round_dp(12).normalize())
    }
}

/// σ of the window: the sample standard deviation of the simple returns between its trades
/// times √(their count).
fn window_volatility(trades: &VecDeque<(i64, Decimal, f64)>) -> f64 {
    let returns: Vec<f64> = trades
        .iter()
        .zip(trades.iter().skip(1))
        .filter(|((_, _, a), _)| *a > 0.0)
        .map(|((_, _, a), (_, _, b))| b / a - 1.0)
        .collect();
    let n = returns.len();
    if n < 2 {
        return 0.0;
    }
    let mean = returns.iter().sum::<f64>() / n as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    var.sqrt() * (n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn fixed_and_linear_in_size_over_the_window_volume() {
        let fixed = Impact::new(Model::Fixed, d("50"), 0.0, 0);
        assert_eq!(
            fixed.taker_price("A/USDT", Side::Buy, d("1"), d("100")),
            d("100.5")
        );
        assert_eq!(
            fixed.taker_price("A/USDT", Side::Sell, d("1"), d("100")),
            d("99.5")
        );
        // 100 bps at q = V; the window (1 s) holds 4 + 6 once the first trade has aged out.
        let mut lin = Impact::new(Model::Linear, d("100"), 0.0, 1_000);
        lin.on_trade("A/USDT", 0, d("100"), d("100"));
        lin.on_trade("A/USDT", 1_500_000_000, d("100"), d("4"));
        lin.on_trade("A/USDT", 1_600_000_000, d("100"), d("6"));
        assert_eq!(
            lin.taker_price("A/USDT", Side::Buy, d("5"), d("100")),
            d("100.5")
        );
        assert_eq!(
            lin.taker_price("A/USDT", Side::Sell, d("10"), d("100")),
            d("99")
        );
        // Nothing traded: as if the order were the whole volume.
        assert_eq!(
            lin.taker_price("B/USDT", Side::Buy, d("5"), d("100")),
            d("101")
        );
    }

    #[test]
    fn square_root_law_on_the_window_volatility() {
        let mut sq = Impact::new(Model::Sqrt, d("0"), 0.5, 60_000);
        for (i, p) in ["100", "101", "100", "102"].iter().enumerate() {
            sq.on_trade("A/USDT", i as i64, d(p), d("2.5"));
        }
        let r = [0.01, 100.0 / 101.0 - 1.0, 0.02];
        let mean = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        let want = 0.5 * sd * 3f64.sqrt() * (1.0f64 / 10.0).sqrt();
        let got = sq.taker_price("A/USDT", Side::Buy, d("1"), d("100"));
        assert!(
            (crate::num::nearest_f64(got) / 100.0 - 1.0 - want).abs() < 1e-12,
            "{got} {want}"
        );
        // No trades yet: no impact.
        assert_eq!(
            sq.taker_price("B/USDT", Side::Buy, d("1"), d("100")),
            d("100")
        );
    }

    #[test]
    fn a_book_walk_averages_the_levels_taken_and_prices_the_rest_at_the_last() {
        let mut b = Impact::new(Model::Book, d("10"), 0.0, 0);
        let book = decode(r#"{"kind":"book","symbol":"A/USDT","bids":[[9.9,1],[9.8,0],[9.7,3]],"asks":[[10,1],[11,2]],"ts_ns":1}"#).unwrap();
        let Event::Book(book) = book else { panic!() };
        b.on_book(&book);
        assert_eq!(
            b.taker_price("A/USDT", Side::Buy, d("2"), d("10")),
            d("10.5")
        );
        assert_eq!(
            b.taker_price("A/USDT", Side::Buy, d("5"), d("10")),
            d("10.8")
        );
        assert_eq!(
            b.taker_price("A/USDT", Side::Sell, d("2"), d("10")),
            d("9.8")
        );
        // No book for the symbol: the fixed bps.
        assert_eq!(
            b.taker_price("B/USDT", Side::Buy, d("1"), d("100")),
            d("100.1")
        );
    }

    use crate::event::Event;
}
