//! Binance.US as the broker's venue: the [`Broker`] operations on the signed REST client.

use super::rest_client::RestClient;
use crate::broker::{
    BalanceSnapshot, Broker, BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate,
};

impl Broker for RestClient {
    async fn place(&self, req: &BrokerOrderReq) -> Result<BrokerOrderAck, BrokerError> {
        RestClient::place(self, req).await
    }

    async fn cancel(&self, symbol: &str, client_order_id: &str) -> Result<bool, BrokerError> {
        RestClient::cancel(self, symbol, client_order_id).await
    }

    async fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        RestClient::fetch_open_orders(self, symbol).await
    }

    async fn fetch_balances(&self) -> Result<BalanceSnapshot, BrokerError> {
        RestClient::fetch_balances(self).await
    }

    async fn lookup(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<BrokerOrderUpdate>, BrokerError> {
        RestClient::lookup(self, symbol, client_order_id).await
    }
}
