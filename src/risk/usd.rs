//! Quote assets and USD conversion, shared by the risk engine and the paper trader so that
//! both value a symbol the same way.

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// Quote currencies counted as USD one for one.
pub const USD_QUOTES: [&str; 4] = ["USD", "USDT", "USDC", "BUSD"];

/// The quote asset of `BASE/QUOTE`; for an exchange-style name without a slash only a
/// USD-family suffix can be told apart (`ATOMUSDT` → `USDT`).
pub fn quote_of(symbol: &str) -> Option<&str> {
    if let Some((base, quote)) = symbol.split_once('/') {
        return (!base.is_empty() && !quote.is_empty()).then_some(quote);
    }
    ["USDT", "USDC", "BUSD", "USD"]
        .into_iter()
        .find(|q| symbol.len() > q.len() && symbol.ends_with(q))
        .map(|q| &symbol[symbol.len() - q.len()..])
}

/// Whether a quote asset counts as USD.
pub fn is_usd(quote: &str) -> bool {
    USD_QUOTES.contains(&quote)
}

/// The last trade price of every symbol seen, set on every trade. The symbol of the previous
/// trade is checked first: feeds and tapes repeat a symbol, and comparing it costs less
/// than hashing it. Interleaved symbols cost one hash lookup, as a plain map would.
#[derive(Debug, Default)]
pub struct LastPrices {
    prices: Vec<(String, Decimal)>,
    index: FxHashMap<String, usize>,
    recent: usize,
}

impl LastPrices {
    fn position(&self, symbol: &str) -> Option<usize> {
        match self.prices.get(self.recent) {
            Some((s, _)) if s == symbol => Some(self.recent),
            _ => self.index.get(symbol).copied(),
        }
    }

    /// Records a trade price; allocates only for a symbol seen for the first time.
    pub fn set(&mut self, symbol: &str, price: Decimal) {
        let i = match self.position(symbol) {
            Some(i) => i,
            None => {
                self.index.insert(symbol.to_string(), self.prices.len());
                self.prices.push((symbol.to_string(), price));
                self.prices.len() - 1
            }
        };
        self.prices[i].1 = price;
        self.recent = i;
    }

    pub fn get(&self, symbol: &str) -> Option<Decimal> {
        self.position(symbol).map(|i| self.prices[i].1)
    }
}

/// USD value of one unit of `quote`, and the symbol whose last price gave it (`None` when
/// the quote is USD-like). Prefers `QUOTE/USDT`, then `QUOTE/USD`.
pub fn usd_rate(quote: &str, last: &LastPrices) -> Option<(Decimal, Option<String>)> {
    if is_usd(quote) {
        return Some((Decimal::ONE, None));
    }
    ["USDT", "USD"].into_iter().find_map(|usd| {
        let sym = format!("{quote}/{usd}");
        last.get(&sym).map(|p| (p, Some(sym)))
    })
}

/// `a × b`, pinned to the extreme of its sign instead of overflowing: positions read from
/// input may carry any number, and no input may panic the engine.
pub fn saturating_mul(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b)
        .unwrap_or(if a.is_sign_negative() != b.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
}

/// `a + b`, pinned to the extreme of its sign instead of overflowing.
pub fn saturating_add(a: Decimal, b: Decimal) -> Decimal {
    a.checked_add(b).unwrap_or(if b.is_sign_negative() {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_rates() {
        assert_eq!(quote_of("ATOM/USDT"), Some("USDT"));
        assert_eq!(quote_of("ETH/BTC"), Some("BTC"));
        assert_eq!(quote_of("ATOMUSDT"), Some("USDT"));
        assert_eq!(quote_of("BTCUSD"), Some("USD"));
        assert_eq!(quote_of("ETHBTC"), None);
        assert_eq!(quote_of("/USDT"), None);
        let mut last = LastPrices::default();
        assert_eq!(usd_rate("USDC", &last), Some((Decimal::ONE, None)));
        assert_eq!(usd_rate("BTC", &last), None);
        last.set("BTC/USD", Decimal::from(50_000));
        assert_eq!(
            usd_rate("BTC", &last),
            Some((Decimal::from(50_000), Some("BTC/USD".into())))
        );
        last.set("BTC/USDT", Decimal::from(50_001));
        assert_eq!(usd_rate("BTC", &last).unwrap().0, Decimal::from(50_001));
        assert_eq!(
            saturating_mul(Decimal::MAX, Decimal::NEGATIVE_ONE * Decimal::TWO),
            Decimal::MIN
        );
        assert_eq!(saturating_add(Decimal::MAX, Decimal::ONE), Decimal::MAX);
    }

    #[test]
    fn last_prices_follow_interleaved_symbols() {
        let mut last = LastPrices::default();
        assert_eq!(last.get("A/USDT"), None);
        for (i, sym) in ["A/USDT", "A/USDT", "B/USDT", "A/USDT", "C/USD", "B/USDT"]
            .into_iter()
            .enumerate()
        {
            last.set(sym, Decimal::from(i));
            assert_eq!(last.get(sym), Some(Decimal::from(i)));
        }
        assert_eq!(last.get("A/USDT"), Some(Decimal::from(3)));
        assert_eq!(last.get("B/USDT"), Some(Decimal::from(5)));
        assert_eq!(last.get("C/USD"), Some(Decimal::from(4)));
        assert_eq!(last.get("D/USD"), None);
    }
}
