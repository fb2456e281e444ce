//! What the broker service needs of a venue: orders, queries and the news it pushes about the
//! account. Binance.US's signed REST client and user stream are one implementation; the
//! service's tests script an in-memory one, so its decisions are tested without sockets.

use super::guard::Quote;
use super::reconcile::VenueFill;
use super::{BalanceSnapshot, BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate};
use rust_decimal::Decimal;
use std::future::Future;

/// What the user stream tells the service.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMsg {
    Order(BrokerOrderUpdate),
    Fill(VenueFill),
    Balances(BalanceSnapshot),
    /// Connected; `reconnect` after the first time, when news may have been missed and REST
    /// reconciliation is due.
    Connected {
        reconnect: bool,
    },
    /// Disconnected, for this reason; the stream reconnects by itself.
    Down(String),
}

/// The account's news as the venue pushes it, read without waiting: the service drains it
/// on its tick.
pub trait UserStream {
    /// The next message already received; `None` when nothing is waiting.
    fn try_next(&mut self) -> Option<StreamMsg>;
    /// Stops the stream; nothing more arrives.
    fn close(&mut self);
}

/// A venue as the broker service drives it. Every call is one exchange with the venue: the
/// retry of an order whose outcome is unknown is the service's decision ([`super::placement`]).
pub trait Venue {
    type UserStream: UserStream;

    /// Gets ready to trade: the venue's clock and its symbol rules.
    fn connect(&self) -> impl Future<Output = Result<(), BrokerError>> + Send;
    /// Starts the user stream, on the executor that runs this future.
    fn open_user_stream(&self) -> impl Future<Output = Self::UserStream> + Send;
    /// The order rounded to the symbol's rules, or why the venue would refuse it.
    fn prepare(
        &self,
        req: &BrokerOrderReq,
        market_price: Option<Decimal>,
    ) -> Result<BrokerOrderReq, BrokerError>;
    /// Has the venue check an order without placing it.
    fn validate(
        &self,
        req: &BrokerOrderReq,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send;
    /// Whether the venue holds orders of this type on the symbol: a
    /// [`BrokerOrderReq::venue_type`], or `OCO` for one-cancels-other lists.
    fn supports(&self, symbol: &str, venue_type: &str) -> bool;
    /// Sends the order once. A lost answer is [`BrokerError::Unknown`]; a client order id the
    /// venue already has is [`BrokerError::ClientOrderIdInUse`].
    fn place(
        &self,
        req: &BrokerOrderReq,
    ) -> impl Future<Output = Result<BrokerOrderAck, BrokerError>> + Send;
    /// Sends a one-cancels-other list once: a LIMIT_MAKER leg at `limit`'s price and a
    /// STOP_LOSS_LIMIT leg, same symbol, side and quantity. The acknowledgements of both legs,
    /// limit first; errors as [`Venue::place`].
    fn place_oco(
        &self,
        limit: &BrokerOrderReq,
        stop: &BrokerOrderReq,
    ) -> impl Future<Output = Result<Vec<BrokerOrderAck>, BrokerError>> + Send;
    /// Cancels by client order id; `false` when the venue no longer has it open.
    fn cancel(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> impl Future<Output = Result<bool, BrokerError>> + Send;
    /// The order with this client order id, open or not; `None` when the venue has none.
    fn lookup(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> impl Future<Output = Result<Option<BrokerOrderUpdate>, BrokerError>> + Send;
    /// Open orders, of one symbol or of all.
    fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> impl Future<Output = Result<Vec<BrokerOrderUpdate>, BrokerError>> + Send;
    /// The account's trades on a symbol with trade ids from `from_id`, oldest first.
    fn fetch_fills(
        &self,
        symbol: &str,
        from_id: Option<u64>,
    ) -> impl Future<Output = Result<Vec<VenueFill>, BrokerError>> + Send;
    fn fetch_balances(&self) -> impl Future<Output = Result<BalanceSnapshot, BrokerError>> + Send;
    /// Measures the venue's clock against ours again: the offset in milliseconds.
    fn sync_clock(&self) -> impl Future<Output = Result<i64, BrokerError>> + Send;
    /// The venue's top of book for a symbol: what live orders are priced against.
    fn fetch_quote(&self, symbol: &str) -> impl Future<Output = Result<Quote, BrokerError>> + Send;
    /// Every order of a symbol placed since `since_ms` (venue time), open or not, so a
    /// broker with an empty or lost journal still knows which client order ids were used.
    fn fetch_recent_orders(
        &self,
        symbol: &str,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<BrokerOrderUpdate>, BrokerError>> + Send;
}
