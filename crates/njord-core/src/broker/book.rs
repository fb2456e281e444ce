//! Positions from venue fills (a pure core). Live, the broker is the only stage that sees
//! real fills, so it books them the way the paper trader books its own: FIFO lots per
//! (strategy, symbol) and the day's realized PnL net of fees. Its `position` events and the
//! shared `njord:pnl:day` are what risk's daily-loss cap and the kill-switch trip read, so a
//! live loss is seen as a paper loss is.

use crate::event::{Fill, Position};
use crate::paper::position::Positions;
use crate::prices::LastPrices;
use rust_decimal::Decimal;

/// The positions of a live account's fills, and the last trade prices that value fees paid
/// in a third asset and quotes that are not USD.
#[derive(Debug, Default)]
pub struct FillBook {
    positions: Positions,
    last: LastPrices,
}

impl FillBook {
    /// Records a trade price of the input.
    pub fn on_trade(&mut self, symbol: &str, price: Decimal, ts_ns: i64) {
        self.last.set(symbol, price, ts_ns);
    }

    /// The fill's fee in its symbol's quote asset: as is when paid in the quote, at the fill
    /// price when paid in the base (Binance takes a buyer's commission in the base asset),
    /// at the last `ASSET/QUOTE` price otherwise (BNB). `None` when no price is known.
    pub fn fee_in_quote(&self, f: &Fill<'_>) -> Option<Decimal> {
        if f.fee.is_zero() {
            return Some(Decimal::ZERO);
        }
        let (base, quote) = f.symbol.split_once('/')?;
        let asset = f.fee_asset.as_ref();
        if asset == quote || asset.is_empty() {
            Some(f.fee)
        } else if asset == base {
            f.fee.checked_mul(f.price)
        } else {
            let rate = self.last.get(&format!("{asset}/{quote}"))?;
            f.fee.checked_mul(rate)
        }
    }

    /// Books a fill whose fee in the quote is `fee_quote` and returns its `position` event.
    pub fn book(&mut self, f: &Fill<'_>, fee_quote: Decimal) -> Position<'static> {
        self.positions.apply(
            f.strategy_id.as_deref(),
            &f.symbol,
            f.side,
            f.qty,
            f.price,
            fee_quote,
            f.ts_fill_ns,
        )
    }

    /// Realized PnL net of fees on the UTC day of `ts_ns`, over every position, in USD.
    pub fn pnl_day_usd(&self, ts_ns: i64) -> Decimal {
        self.positions.pnl_day_usd(ts_ns, &self.last)
    }

    /// Positions booked, one per (strategy, symbol).
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Liquidity, Side};
    use std::borrow::Cow;

    const DAY: i64 = 86_400_000_000_000;

    fn fill(side: Side, qty: &str, price: &str, fee: &str, asset: &str, ts: i64) -> Fill<'static> {
        Fill {
            order_id: Cow::Borrowed("1"),
            intent_id: Cow::Borrowed("i"),
            strategy_id: Some(Cow::Borrowed("s")),
            symbol: Cow::Borrowed("ATOM/USDT"),
            side,
            qty: qty.parse().unwrap(),
            price: price.parse().unwrap(),
            fee: fee.parse().unwrap(),
            fee_asset: Cow::Owned(asset.to_string()),
            liquidity: Liquidity::Taker,
            ts_fill_ns: ts,
        }
    }

    fn booked(b: &mut FillBook, f: &Fill<'_>) -> Position<'static> {
        let fee = b.fee_in_quote(f).unwrap();
        b.book(f, fee)
    }

    #[test]
    fn a_round_trip_loses_the_price_move_and_both_fees() {
        let mut b = FillBook::default();
        // Bought 2 at 10 (fee 0.002 ATOM = 0.02 USDT), sold 2 at 9 (fee 0.018 USDT).
        let p = booked(
            &mut b,
            &fill(Side::Buy, "2", "10", "0.002", "ATOM", DAY + 1),
        );
        assert_eq!(
            (p.qty.to_string(), p.avg_price.to_string()),
            ("2".into(), "10".into())
        );
        assert_eq!(p.realized_pnl_day.to_string(), "-0.02");
        let p = booked(
            &mut b,
            &fill(Side::Sell, "2", "9", "0.018", "USDT", DAY + 2),
        );
        assert_eq!(p.qty.to_string(), "0");
        assert_eq!(p.realized_pnl.to_string(), "-2");
        assert_eq!(p.fees.to_string(), "0.038");
        assert_eq!(p.realized_pnl_day.to_string(), "-2.038");
        assert_eq!(b.pnl_day_usd(DAY + 3).to_string(), "-2.038");
        // The next UTC day starts at zero.
        assert_eq!(b.pnl_day_usd(2 * DAY).to_string(), "0");
    }

    #[test]
    fn a_fee_in_a_third_asset_is_valued_at_its_last_price_or_not_at_all() {
        let mut b = FillBook::default();
        let f = fill(Side::Buy, "1", "10", "0.001", "BNB", DAY);
        assert_eq!(b.fee_in_quote(&f), None);
        b.on_trade("BNB/USDT", "600".parse().unwrap(), DAY);
        assert_eq!(b.fee_in_quote(&f).unwrap().to_string(), "0.600");
        let free = fill(Side::Buy, "1", "10", "0", "", DAY);
        assert_eq!(b.fee_in_quote(&free), Some(Decimal::ZERO));
    }

    #[test]
    fn strategies_and_symbols_are_booked_apart_and_summed_in_usd() {
        let mut b = FillBook::default();
        booked(&mut b, &fill(Side::Buy, "1", "10", "0", "USDT", DAY));
        let mut other = fill(Side::Sell, "1", "12", "0", "USDT", DAY);
        other.strategy_id = Some(Cow::Borrowed("t"));
        booked(&mut b, &other);
        booked(&mut b, &fill(Side::Sell, "1", "11", "0.1", "USDT", DAY));
        assert_eq!(b.len(), 2);
        assert_eq!(b.pnl_day_usd(DAY).to_string(), "0.9");
    }
}
