//! Quote assets and USD conversion, shared by the risk engine and the paper trader so that
//! both value a symbol the same way.

use crate::event::Position;
use crate::prices::LastPrices;
use crate::time::utc_day;
use rust_decimal::Decimal;
use std::collections::HashMap;

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

/// The USD rate of `symbol`'s quote: 1 for a USD-like quote, and also while a quote has no
/// USD price yet (its amounts then count at their quote value).
pub fn quote_rate(symbol: &str, last: &LastPrices) -> Decimal {
    quote_of(symbol)
        .and_then(|q| usd_rate(q, last))
        .map_or(Decimal::ONE, |(r, _)| r)
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

/// The day's realized PnL from positions: the latest `realized_pnl_day` of each (strategy,
/// symbol), kept with its UTC day (the risk engine's daily loss, njord-alert's rule on it).
#[derive(Debug, Default, Clone)]
pub struct DayPnl {
    positions: HashMap<(Option<String>, String), (i64, Decimal)>,
}

impl DayPnl {
    pub fn on_position(&mut self, p: &Position<'_>) {
        let key = (
            p.strategy_id.as_deref().map(str::to_string),
            p.symbol.to_string(),
        );
        self.positions
            .insert(key, (utc_day(p.ts_ns), p.realized_pnl_day));
    }

    /// The sum over the positions of UTC day `day`, in USD at `last`'s prices (a quote with
    /// no USD price yet counts at its quote value).
    pub fn usd(&self, day: i64, last: &LastPrices) -> Decimal {
        let mut keys: Vec<_> = self
            .positions
            .iter()
            .filter(|(_, (d, _))| *d == day)
            .collect();
        // Summing in key order keeps the result independent of hash order.
        keys.sort_by(|a, b| a.0.cmp(b.0));
        keys.into_iter()
            .map(|((_, symbol), (_, pnl))| saturating_mul(*pnl, quote_rate(symbol, last)))
            .fold(Decimal::ZERO, saturating_add)
    }
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
        last.set("BTC/USD", Decimal::from(50_000), 0);
        assert_eq!(
            usd_rate("BTC", &last),
            Some((Decimal::from(50_000), Some("BTC/USD".into())))
        );
        last.set("BTC/USDT", Decimal::from(50_001), 0);
        assert_eq!(usd_rate("BTC", &last).unwrap().0, Decimal::from(50_001));
        assert_eq!(
            saturating_mul(Decimal::MAX, Decimal::NEGATIVE_ONE * Decimal::TWO),
            Decimal::MIN
        );
        assert_eq!(saturating_add(Decimal::MAX, Decimal::ONE), Decimal::MAX);
    }
}
