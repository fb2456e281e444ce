//! The last price of a symbol over the signed client: the broker's reference price for the
//! notional cap when its input carried none.

use super::rest_client::{Auth, RestClient};
use super::wire::dec;
use crate::broker::BrokerError;
use crate::event::compact_symbol;
use rust_decimal::Decimal;

impl RestClient {
    /// The last price of a symbol (`GET /api/v3/ticker/price`).
    pub async fn ticker_price(&self, symbol: &str) -> Result<Decimal, BrokerError> {
        let s = compact_symbol(symbol);
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/ticker/price",
                &[("symbol", &s)],
                Auth::None,
                true,
            )
            .await?;
        let p = dec(&v, "price");
        if p > Decimal::ZERO {
            Ok(p)
        } else {
            Err(BrokerError::Protocol {
                endpoint: "GET /api/v3/ticker/price".into(),
                msg: format!("no price for {s}"),
            })
        }
    }
}
