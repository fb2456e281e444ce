//! The venue's top of book over REST: what the live broker prices orders and checks its
//! input's reference price against (DESIGN §9.3).

use super::rest_client::{Auth, RestClient};
use super::wire::dec;
use crate::broker::BrokerError;
use crate::broker::guard::Quote;
use crate::event::compact_symbol;

impl RestClient {
    /// Best bid and ask of a symbol (`GET /api/v3/ticker/bookTicker`, weight 2).
    pub async fn book_ticker(&self, symbol: &str) -> Result<Quote, BrokerError> {
        let s = compact_symbol(symbol);
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/ticker/bookTicker",
                &[("symbol", &s)],
                Auth::None,
                true,
            )
            .await?;
        Ok(Quote {
            bid: dec(&v, "bidPrice"),
            ask: dec(&v, "askPrice"),
        })
    }
}
