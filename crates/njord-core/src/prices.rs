//! The last trade price of every symbol seen, with its event time, kept the same way by the
//! strategy manager, the risk core and the paper trader (the time tells a stale price).

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// Last trade price per symbol. A symbol gets a slot on first sight, which a caller may keep
/// to update it without any lookup (the strategy manager's routes do). By name, the symbol of
/// the previous update is checked first: feeds and tapes repeat a symbol, and comparing it
/// costs less than hashing it; interleaved symbols cost one hash lookup, as a plain map would.
#[derive(Debug, Default)]
pub struct LastPrices {
    slots: Vec<(String, Option<(Decimal, i64)>)>,
    index: FxHashMap<String, usize>,
    recent: usize,
}

impl LastPrices {
    fn position(&self, symbol: &str) -> Option<usize> {
        match self.slots.get(self.recent) {
            Some((s, _)) if crate::swar::same_short(s, symbol) => Some(self.recent),
            _ => self.index.get(symbol).copied(),
        }
    }

    /// The slot of `symbol`, created without a price on first sight (the only allocation).
    pub fn slot(&mut self, symbol: &str) -> usize {
        if let Some(i) = self.position(symbol) {
            return i;
        }
        self.index.insert(symbol.to_string(), self.slots.len());
        self.slots.push((symbol.to_string(), None));
        self.slots.len() - 1
    }

    /// Records a price, traded at `ts_ns`, in a slot from [`LastPrices::slot`].
    pub fn set_slot(&mut self, slot: usize, price: Decimal, ts_ns: i64) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.1 = Some((price, ts_ns));
            self.recent = slot;
        }
    }

    /// Records a trade price and its event time.
    pub fn set(&mut self, symbol: &str, price: Decimal, ts_ns: i64) {
        let slot = self.slot(symbol);
        self.set_slot(slot, price, ts_ns);
    }

    pub fn get(&self, symbol: &str) -> Option<Decimal> {
        self.get_with_time(symbol).map(|(p, _)| p)
    }

    /// Every symbol with its last price and time, in order of first sight.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<(Decimal, i64)>)> {
        self.slots.iter().map(|(s, p)| (s.as_str(), *p))
    }

    /// The last price and the event time it traded at.
    pub fn get_with_time(&self, symbol: &str) -> Option<(Decimal, i64)> {
        self.position(symbol).and_then(|i| self.slots[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_prices_follow_interleaved_symbols() {
        let mut last = LastPrices::default();
        assert_eq!(last.get("A/USDT"), None);
        for (i, sym) in ["A/USDT", "A/USDT", "B/USDT", "A/USDT", "C/USD", "B/USDT"]
            .into_iter()
            .enumerate()
        {
            last.set(sym, Decimal::from(i), i as i64);
            assert_eq!(last.get(sym), Some(Decimal::from(i)));
        }
        assert_eq!(last.get("A/USDT"), Some(Decimal::from(3)));
        assert_eq!(last.get("B/USDT"), Some(Decimal::from(5)));
        assert_eq!(last.get("C/USD"), Some(Decimal::from(4)));
        assert_eq!(last.get("D/USD"), None);
        // A slot taken before any price reads as no price.
        let d = last.slot("D/USD");
        assert_eq!(last.get("D/USD"), None);
        last.set_slot(d, Decimal::ONE, 7);
        assert_eq!(last.get_with_time("D/USD"), Some((Decimal::ONE, 7)));
    }
}
