//! Positions by FIFO lots (a pure core): long, short and reversals, realized PnL before fees,
//! cumulative fees, and today's realized PnL net of fees by the UTC day of each fill.

use crate::event::{Position, Side};
use crate::prices::LastPrices;
use crate::risk::usd;
use crate::time::utc_day;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

/// Open quantity bought or sold at one price. `qty` is positive; the side is the position's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub qty: Decimal,
    pub price: Decimal,
}

/// One (strategy, symbol) position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PositionState {
    /// Open lots, oldest first, all on the side of `long`.
    lots: VecDeque<Lot>,
    long: bool,
    /// Σ lot qty and Σ lot qty × price, kept exactly as lots come and go so that quantity
    /// and average price cost O(1) however many lots are open.
    open_qty: Decimal,
    open_cost: Decimal,
    realized: Decimal,
    fees: Decimal,
    /// UTC day of the last fill and the realized PnL net of fees on that day.
    day: i64,
    day_net: Decimal,
    fills: u64,
}

impl PositionState {
    /// Applies a fill and returns the PnL it realized (before fees). Closing quantity is
    /// matched against the oldest lots first; what is left over opens the other side.
    pub fn apply(
        &mut self,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        ts_ns: i64,
    ) -> Decimal {
        let buying = side == Side::Buy;
        let mut left = qty;
        let mut realized = Decimal::ZERO;
        if !self.lots.is_empty() && self.long != buying {
            while left > Decimal::ZERO {
                let Some(lot) = self.lots.front_mut() else {
                    break;
                };
                let m = left.min(lot.qty);
                realized += if self.long {
                    m * (price - lot.price)
                } else {
                    m * (lot.price - price)
                };
                lot.qty -= m;
                left -= m;
                self.open_qty -= m;
                self.open_cost -= m * lot.price;
                if lot.qty.is_zero() {
                    self.lots.pop_front();
                }
            }
        }
        if left > Decimal::ZERO {
            if self.lots.is_empty() {
                self.long = buying;
            }
            self.lots.push_back(Lot { qty: left, price });
            self.open_qty += left;
            self.open_cost += left * price;
        }
        let day = utc_day(ts_ns);
        if day != self.day || self.fills == 0 {
            self.day = day;
            self.day_net = Decimal::ZERO;
        }
        self.realized += realized;
        self.fees += fee;
        self.day_net += realized - fee;
        self.fills += 1;
        realized
    }

    /// Signed quantity: short below zero.
    pub fn qty(&self) -> Decimal {
        if self.long {
            self.open_qty
        } else {
            -self.open_qty
        }
    }

    /// Average price of the open lots; zero when flat.
    pub fn avg_price(&self) -> Decimal {
        if self.open_qty.is_zero() {
            return Decimal::ZERO;
        }
        (self.open_cost / self.open_qty).normalize()
    }

    /// Cumulative realized PnL before fees.
    pub fn realized(&self) -> Decimal {
        self.realized
    }

    pub fn fees(&self) -> Decimal {
        self.fees
    }

    pub fn fills(&self) -> u64 {
        self.fills
    }

    /// Realized PnL net of fees on UTC day `day` (zero if the last fill was another day).
    pub fn pnl_day(&self, day: i64) -> Decimal {
        if self.fills > 0 && self.day == day {
            self.day_net
        } else {
            Decimal::ZERO
        }
    }

    /// PnL of the open lots marked at `mark`.
    pub fn unrealized(&self, mark: Decimal) -> Decimal {
        let pnl = self.open_qty * mark - self.open_cost;
        if self.long { pnl } else { -pnl }
    }

    pub fn lots(&self) -> impl Iterator<Item = &Lot> {
        self.lots.iter()
    }
}

/// Position key: (strategy_id, symbol). `None` when orders carry no strategy.
pub type PositionKey = (Option<String>, String);

/// Every position, in key order so summaries and sums are deterministic.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    map: BTreeMap<PositionKey, PositionState>,
}

impl Positions {
    /// Applies a fill to its position and returns the `position` event to emit.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        strategy_id: Option<&str>,
        symbol: &str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        ts_ns: i64,
    ) -> Position<'static> {
        let key = (strategy_id.map(str::to_string), symbol.to_string());
        let p = self.map.entry(key).or_default();
        p.apply(side, qty, price, fee, ts_ns);
        Position {
            symbol: Cow::Owned(symbol.to_string()),
            strategy_id: strategy_id.map(|s| Cow::Owned(s.to_string())),
            qty: p.qty().normalize(),
            avg_price: p.avg_price(),
            realized_pnl: p.realized.normalize(),
            fees: p.fees.normalize(),
            realized_pnl_day: p.day_net.normalize(),
            ts_ns,
        }
    }

    /// Realized PnL net of fees on the UTC day of `ts_ns`, over every position, in USD
    /// (non-USD quotes at their last USD price when known, else at face value).
    pub fn pnl_day_usd(&self, ts_ns: i64, last: &LastPrices) -> Decimal {
        let day = utc_day(ts_ns);
        self.map
            .iter()
            .map(|((_, symbol), p)| {
                usd::saturating_mul(p.pnl_day(day), usd::quote_rate(symbol, last))
            })
            .fold(Decimal::ZERO, usd::saturating_add)
            .normalize()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PositionKey, &PositionState)> {
        self.map.iter()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn run(fills: &[(Side, &str, &str)]) -> PositionState {
        let mut p = PositionState::default();
        for (side, q, px) in fills {
            p.apply(*side, d(q), d(px), Decimal::ZERO, 0);
        }
        p
    }

    #[test]
    fn issue_examples() {
        use Side::*;
        let p = run(&[(Buy, "1", "10"), (Buy, "1", "12"), (Sell, "1", "13")]);
        assert_eq!(
            (p.qty(), p.avg_price(), p.realized()),
            (d("1"), d("12"), d("3"))
        );
        let p = run(&[(Buy, "4", "10"), (Sell, "1", "11"), (Sell, "5", "9")]);
        assert_eq!(
            (p.qty(), p.avg_price(), p.realized()),
            (d("-2"), d("9"), d("-2"))
        );
    }

    #[test]
    fn short_then_cover_and_flat() {
        use Side::*;
        let p = run(&[(Sell, "2", "10"), (Sell, "1", "7"), (Buy, "3", "8")]);
        assert_eq!(
            (p.qty(), p.avg_price(), p.realized()),
            (d("0"), d("0"), d("3"))
        );
        let p = run(&[(Sell, "2", "10"), (Buy, "5", "11")]);
        assert_eq!(
            (p.qty(), p.avg_price(), p.realized()),
            (d("3"), d("11"), d("-2"))
        );
    }

    #[test]
    fn day_pnl_is_net_of_fees_and_resets_at_utc_midnight() {
        use crate::time::NS_PER_DAY;
        let mut p = PositionState::default();
        p.apply(Side::Buy, d("2"), d("10"), d("0.02"), NS_PER_DAY - 1);
        p.apply(Side::Sell, d("1"), d("12"), d("0.012"), NS_PER_DAY - 1);
        assert_eq!(p.pnl_day(0), d("1.968"));
        p.apply(Side::Sell, d("1"), d("9"), d("0.009"), NS_PER_DAY);
        assert_eq!(p.pnl_day(1), d("-1.009"));
        assert_eq!(p.pnl_day(0), Decimal::ZERO);
        assert_eq!((p.realized(), p.fees()), (d("1"), d("0.041")));
    }

    fn fill() -> impl Strategy<Value = (bool, Decimal, Decimal)> {
        (any::<bool>(), 1u32..1000, 1u32..100_000)
            .prop_map(|(b, q, px)| (b, Decimal::new(q as i64, 2), Decimal::new(px as i64, 2)))
    }

    proptest! {
        /// Realized plus unrealized equals the mark-to-market PnL of all cash flows, and the
        /// quantity equals the signed sum of fills, through any sequence of reversals.
        #[test]
        fn fifo_accounting_is_conserved(fills in prop::collection::vec(fill(), 1..40), mark in 1u32..100_000) {
            let mark = Decimal::new(mark as i64, 2);
            let mut p = PositionState::default();
            let (mut qty, mut cash) = (Decimal::ZERO, Decimal::ZERO);
            for (buy, q, px) in fills {
                let side = if buy { Side::Buy } else { Side::Sell };
                p.apply(side, q, px, Decimal::ZERO, 0);
                if buy { qty += q; cash -= q * px; } else { qty -= q; cash += q * px; }
                prop_assert_eq!(p.qty(), qty);
                let lots_side_ok = p.lots().all(|l| l.qty > Decimal::ZERO);
                prop_assert!(lots_side_ok);
                let cost: Decimal = p.lots().map(|l| l.qty * l.price).sum();
                prop_assert_eq!(cost, p.open_cost);
            }
            prop_assert_eq!(p.realized() + p.unrealized(mark), cash + qty * mark);
            if qty.is_zero() {
                prop_assert_eq!(p.avg_price(), Decimal::ZERO);
            }
        }
    }
}
