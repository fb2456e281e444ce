//! The account over signed REST: balances and the account's own trades (the fills the user
//! stream may have missed).

use super::rest_client::{Auth, RestClient};
use super::wire::{parse_balances, parse_trades};
use crate::broker::reconcile::VenueFill;
use crate::broker::{BalanceSnapshot, BrokerError};
use crate::event::compact_symbol;

impl RestClient {
    /// Every balance of the account (`GET /api/v3/account`).
    pub async fn fetch_balances(&self) -> Result<BalanceSnapshot, BrokerError> {
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/account",
                &[],
                Auth::Signed,
                true,
            )
            .await?;
        Ok(parse_balances(&v))
    }

    /// Recent trades of the account on a symbol with ids from `from_id` (`GET myTrades`).
    pub async fn my_trades(
        &self,
        symbol: &str,
        from_id: Option<u64>,
    ) -> Result<Vec<VenueFill>, BrokerError> {
        let s = compact_symbol(symbol);
        let from = from_id.map(|f| f.to_string());
        let mut params = vec![("symbol", s.as_str()), ("limit", "1000")];
        if let Some(f) = &from {
            params.push(("fromId", f));
        }
        let v = self
            .request(
                reqwest::Method::GET,
                "/api/v3/myTrades",
                &params,
                Auth::Signed,
                true,
            )
            .await?;
        Ok(parse_trades(&v, symbol))
    }
}
