//! Exact virtual ledgers: one per strategy (its sleeve of the account) and the account's own,
//! booked from the venue's fills. Each strategy books its own side at the fill price, so
//! the strategies' positions add up to the account's at every event.

use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A position and its cost basis (Σ qty × price of what is open, signed like `qty`), so
/// adding to it needs no division.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holding {
    /// Signed: short < 0.
    pub qty: Decimal,
    pub cost: Decimal,
}

impl Holding {
    /// The average price of what is open (0 when flat).
    pub fn avg_price(&self) -> Decimal {
        if self.qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cost / self.qty
        }
    }
}

/// One strategy's (or the account's) cash, positions, realized PnL and fees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub cash: Decimal,
    /// Every symbol ever held; a flat one stays at 0, so trading it again allocates nothing.
    pub holdings: BTreeMap<String, Holding>,
    /// Realized PnL before fees.
    pub realized: Decimal,
    pub fees: Decimal,
    /// Cash moved in (+) or out (−) by reallocations, since the start.
    pub transferred: Decimal,
}

impl Ledger {
    pub fn with_cash(cash: Decimal) -> Ledger {
        Ledger {
            cash,
            ..Ledger::default()
        }
    }

    /// Books a trade: `qty` signed (buy > 0), at `price`, paying `fee` in the quote asset.
    /// Average cost moves only when the position grows; a reduction realizes PnL.
    pub fn book(&mut self, symbol: &str, qty: Decimal, price: Decimal, fee: Decimal) {
        self.book_notional(symbol, qty, price, qty * price, fee);
    }

    /// [`Ledger::book`] with `notional = qty × price` already computed by the caller.
    pub fn book_notional(
        &mut self,
        symbol: &str,
        qty: Decimal,
        price: Decimal,
        notional: Decimal,
        fee: Decimal,
    ) {
        // One lookup for a symbol held before; the key is only allocated for a new one.
        let h = match self.holdings.get_mut(symbol) {
            Some(h) => h,
            None => self.holdings.entry(symbol.to_owned()).or_default(),
        };
        let old = h.qty;
        let new = old + qty;
        if old.is_zero() || old.is_sign_positive() == qty.is_sign_positive() {
            // Opening or adding.
            h.cost += notional;
        } else if new.is_zero() {
            // Closed out: the PnL (old × price − cost, and −notional = old × price) is
            // exact and needs no average price.
            self.realized -= notional + h.cost;
            h.cost = Decimal::ZERO;
        } else {
            let avg = h.avg_price();
            let closed = qty.abs().min(old.abs());
            let per_unit = if old.is_sign_positive() {
                price - avg
            } else {
                avg - price
            };
            self.realized += per_unit * closed;
            h.cost = if new.is_sign_positive() != old.is_sign_positive() {
                // Flipped through zero: the rest opens at this price.
                new * price
            } else {
                avg * new
            };
        }
        h.qty = new;
        self.cash -= notional + fee;
        self.fees += fee;
    }

    pub fn qty(&self, symbol: &str) -> Decimal {
        self.holdings.get(symbol).map(|h| h.qty).unwrap_or_default()
    }

    /// Cash plus every holding at its mark (its cost where no mark is known). Saturating:
    /// a bogus mark must not panic the valuation.
    pub fn equity(&self, mark: impl Fn(&str) -> Option<Decimal>) -> Decimal {
        self.holdings.iter().fold(self.cash, |e, (s, h)| {
            e.saturating_add(mark(s).map_or(h.cost, |p| h.qty.saturating_mul(p)))
        })
    }

    /// Σ |holding| at its mark.
    pub fn gross_exposure(&self, mark: impl Fn(&str) -> Option<Decimal>) -> Decimal {
        self.holdings
            .iter()
            .map(|(s, h)| mark(s).map_or(h.cost, |p| h.qty.saturating_mul(p)).abs())
            .fold(Decimal::ZERO, Decimal::saturating_add)
    }

    pub fn transfer(&mut self, amount: Decimal) {
        self.cash += amount;
        self.transferred += amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_round_trip_realizes_its_pnl_and_pays_its_fees() {
        let mut l = Ledger::with_cash(d("1000"));
        l.book("ATOM/USDT", d("10"), d("10"), d("0.1"));
        l.book("ATOM/USDT", d("5"), d("13"), d("0.065"));
        assert_eq!(l.holdings["ATOM/USDT"].avg_price(), d("11"));
        l.book("ATOM/USDT", d("-15"), d("12"), d("0.18"));
        assert_eq!(l.qty("ATOM/USDT"), d("0"));
        assert_eq!(l.realized, d("15"));
        assert_eq!(l.fees, d("0.345"));
        assert_eq!(l.cash, d("1000") + d("15") - d("0.345"));
    }

    #[test]
    fn closing_a_short_realizes_what_the_average_price_says() {
        let mut l = Ledger::with_cash(d("0"));
        l.book("X/USDT", d("-2"), d("5"), d("0"));
        l.book("X/USDT", d("-1"), d("8"), d("0"));
        l.book("X/USDT", d("1"), d("4"), d("0"));
        // Average 6: the partial cover realizes 2, the close at 7 loses 2.
        assert_eq!(l.realized, d("2"));
        l.book("X/USDT", d("2"), d("7"), d("0"));
        assert_eq!(l.realized, d("0"));
        assert_eq!(l.holdings["X/USDT"], Holding::default());
        assert_eq!(l.cash, d("10") + d("8") - d("4") - d("14"));
    }

    #[test]
    fn a_flip_opens_the_rest_at_the_fill_price() {
        let mut l = Ledger::with_cash(d("0"));
        l.book("X/USDT", d("2"), d("5"), d("0"));
        l.book("X/USDT", d("-3"), d("6"), d("0"));
        assert_eq!(l.realized, d("2"));
        assert_eq!(l.holdings["X/USDT"].qty, d("-1"));
        assert_eq!(l.holdings["X/USDT"].avg_price(), d("6"));
        assert_eq!(l.equity(|_| Some(d("4"))), d("-10") + d("18") - d("4"));
    }
}
