//! Symbol mapping through `GET /api/v3/exchangeInfo`: `ATOM/USDT` ⇄ `ATOMUSDT`.
//!
//! Never guessed from the string: `ATOMUSDT` could split several ways, and a delisted symbol
//! must be refused at start rather than produce a silent, empty stream.

use crate::venue::VenueSymbol;
use serde::Deserialize;

/// The part of `exchangeInfo` the mapping needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ExchangeInfo {
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    pub symbol: String,
    pub base_asset: String,
    pub quote_asset: String,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SymbolError {
    #[error("symbol `{0}` must be written BASE/QUOTE, e.g. ATOM/USDT")]
    Malformed(String),
    #[error(
        "symbol {pair} is not listed by the venue (exchangeInfo has no {base}/{quote} pair){hint}"
    )]
    Unknown {
        pair: String,
        base: String,
        quote: String,
        hint: String,
    },
    #[error("symbol {pair} ({venue}) is not trading (status {status})")]
    NotTrading {
        pair: String,
        venue: String,
        status: String,
    },
}

impl ExchangeInfo {
    /// Maps each requested `BASE/QUOTE` to the venue's symbol, in the order given.
    pub fn resolve(&self, pairs: &[String]) -> Result<Vec<VenueSymbol>, SymbolError> {
        pairs.iter().map(|p| self.resolve_one(p)).collect()
    }

    fn resolve_one(&self, pair: &str) -> Result<VenueSymbol, SymbolError> {
        let (base, quote) = pair
            .split_once('/')
            .filter(|(b, q)| !b.is_empty() && !q.is_empty() && !q.contains('/'))
            .ok_or_else(|| SymbolError::Malformed(pair.to_string()))?;
        let found = self.symbols.iter().find(|s| {
            s.base_asset.eq_ignore_ascii_case(base) && s.quote_asset.eq_ignore_ascii_case(quote)
        });
        let Some(s) = found else {
            let same_base: Vec<String> = self
                .symbols
                .iter()
                .filter(|s| s.base_asset.eq_ignore_ascii_case(base))
                .map(|s| format!("{}/{}", s.base_asset, s.quote_asset))
                .take(5)
                .collect();
            return Err(SymbolError::Unknown {
                pair: pair.to_string(),
                base: base.to_string(),
                quote: quote.to_string(),
                hint: if same_base.is_empty() {
                    String::new()
                } else {
                    format!("; listed with {base}: {}", same_base.join(", "))
                },
            });
        };
        if let Some(st) = s.status.as_deref().filter(|st| *st != "TRADING") {
            return Err(SymbolError::NotTrading {
                pair: pair.to_string(),
                venue: s.symbol.clone(),
                status: st.to_string(),
            });
        }
        Ok(VenueSymbol {
            pair: format!("{}/{}", s.base_asset, s.quote_asset),
            venue: s.symbol.clone(),
            stream: s.symbol.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ExchangeInfo {
        serde_json::from_str(
            r#"{"timezone":"UTC","symbols":[
              {"symbol":"ATOMUSDT","status":"TRADING","baseAsset":"ATOM","quoteAsset":"USDT","filters":[]},
              {"symbol":"ATOMUSD","status":"BREAK","baseAsset":"ATOM","quoteAsset":"USD"},
              {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn maps_pairs_through_exchange_info() {
        let got = info()
            .resolve(&["BTC/USDT".into(), "atom/usdt".into()])
            .unwrap();
        assert_eq!(got[0].venue, "BTCUSDT");
        assert_eq!(got[1].pair, "ATOM/USDT");
        assert_eq!(got[1].stream, "atomusdt");
    }

    #[test]
    fn unknown_malformed_and_halted_symbols_are_errors() {
        let e = info().resolve(&["ATOM/EUR".into()]).unwrap_err();
        assert!(e.to_string().contains("ATOM/EUR") && e.to_string().contains("ATOM/USDT"));
        assert!(matches!(
            info().resolve(&["ATOMUSDT".into()]),
            Err(SymbolError::Malformed(_))
        ));
        assert!(matches!(
            info().resolve(&["ATOM/USD".into()]),
            Err(SymbolError::NotTrading { .. })
        ));
    }
}
