//! Binance.US as the broker service's [`Venue`]: the signed REST client for orders and
//! queries, the user data stream for news.

use super::rest_client::{RestClient, RestSettings};
use super::user_stream::{StreamSettings, Subscription};
use crate::broker::guard::Quote;
use crate::broker::reconcile::VenueFill;
use crate::broker::{
    BalanceSnapshot, BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate, Venue,
};
use crate::config::Config;
use rust_decimal::Decimal;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct BinanceUs {
    pub rest: RestClient,
    /// Where and how the user stream connects; it shares `rest`'s keys and limits.
    pub stream: StreamSettings,
}

impl BinanceUs {
    /// The venue the configuration names, with its API keys (required: every call the broker
    /// makes is signed or keyed). `read_only` refuses places and cancels before sending.
    pub fn from_config(cfg: &Config, read_only: bool) -> Result<Self, BrokerError> {
        let keys = cfg.api_keys.binanceus.pair().ok_or(BrokerError::NoKeys)?;
        let rest = RestClient::new(RestSettings::from_config(cfg), Some(keys), read_only)?;
        let b = &cfg.broker;
        let stream = StreamSettings {
            ws_url: cfg.exchange.ws_url.clone(),
            keepalive: Duration::from_millis(b.keepalive_interval_ms.max(1_000)),
            reconnect_base: Duration::from_millis(b.reconnect_base_ms),
            reconnect_max: Duration::from_millis(b.reconnect_max_ms),
        };
        Ok(BinanceUs { rest, stream })
    }
}

impl Venue for BinanceUs {
    type UserStream = Subscription;

    async fn connect(&self) -> Result<(), BrokerError> {
        self.rest.sync_time().await?;
        self.rest.load_exchange_info().await
    }

    async fn sync_clock(&self) -> Result<i64, BrokerError> {
        self.rest.sync_time().await
    }

    async fn open_user_stream(&self) -> Subscription {
        Subscription::start(self.rest.clone(), self.stream.clone())
    }

    fn prepare(
        &self,
        req: &BrokerOrderReq,
        market_price: Option<Decimal>,
    ) -> Result<BrokerOrderReq, BrokerError> {
        self.rest.prepare(req, market_price)
    }

    async fn validate(&self, req: &BrokerOrderReq) -> Result<(), BrokerError> {
        self.rest.test_order(req).await
    }

    fn supports(&self, symbol: &str, venue_type: &str) -> bool {
        self.rest.supports(symbol, venue_type)
    }

    async fn place(&self, req: &BrokerOrderReq) -> Result<BrokerOrderAck, BrokerError> {
        self.rest.place(req).await
    }

    async fn place_oco(
        &self,
        limit: &BrokerOrderReq,
        stop: &BrokerOrderReq,
    ) -> Result<Vec<BrokerOrderAck>, BrokerError> {
        self.rest.place_oco(limit, stop).await
    }

    async fn cancel(&self, symbol: &str, client_order_id: &str) -> Result<bool, BrokerError> {
        self.rest.cancel(symbol, client_order_id).await
    }

    async fn lookup(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<BrokerOrderUpdate>, BrokerError> {
        self.rest.lookup(symbol, client_order_id).await
    }

    async fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        self.rest.fetch_open_orders(symbol).await
    }

    async fn fetch_fills(
        &self,
        symbol: &str,
        from_id: Option<u64>,
    ) -> Result<Vec<VenueFill>, BrokerError> {
        self.rest.my_trades(symbol, from_id).await
    }

    async fn fetch_balances(&self) -> Result<BalanceSnapshot, BrokerError> {
        self.rest.fetch_balances().await
    }

    async fn fetch_quote(&self, symbol: &str) -> Result<Quote, BrokerError> {
        self.rest.book_ticker(symbol).await
    }

    async fn fetch_recent_orders(
        &self,
        symbol: &str,
        since_ms: i64,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        self.rest.recent_orders(symbol, since_ms).await
    }
}
