//! The broker: sends accepted orders to a venue, or echoes them in dry-run (DESIGN §9).
//!
//! Pure cores: [`guard`] (live toggle, kill switch, notional cap), [`client_id`] (venue client
//! order ids derived from intents), [`order_state`] (the order state machine),
//! [`reconcile`] (diffing venue snapshots against what was already reported) and [`book`]
//! (positions and the day's PnL from venue fills). [`venue`] is what the broker needs of a
//! venue, and [`placement`] the one-order-per-intent rule over it.
//! The shell is `njord::broker::service`; the Binance.US adapter lives in `venue::binanceus`.

pub mod armed;
pub mod book;
pub mod client_id;
pub mod guard;
pub mod order_state;
pub mod placement;
pub mod reconcile;
pub mod venue;

pub use venue::{StreamMsg, UserStream, Venue};

use crate::event::{OrderType, Side, TimeInForce};
use order_state::OrderStatus;
use rust_decimal::Decimal;

/// An order as the broker sends it: already carrying its derived client order id.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerOrderReq {
    pub intent_id: String,
    pub client_order_id: String,
    /// `BASE/QUOTE`.
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub qty: Decimal,
    /// Required for limit orders (and the limit of a stop-limit or take-profit-limit).
    pub limit_price: Option<Decimal>,
    /// The trigger of a stop-limit or take-profit-limit.
    pub stop_price: Option<Decimal>,
    /// Of a limit order, or of a triggered one once it works. `ioc` is how live market
    /// intents go out (a limit at the capped price that never rests).
    pub time_in_force: TimeInForce,
    /// A limit that must rest, never take: the venue's LIMIT_MAKER.
    pub post_only: bool,
    /// The quantity the venue shows at a time (`icebergQty`).
    pub iceberg_qty: Option<Decimal>,
}

impl BrokerOrderReq {
    /// The venue's name for the order's type (Binance's `type`), which the symbol's
    /// `exchangeInfo` `orderTypes` must list for the order to be placed natively.
    pub fn venue_type(&self) -> &'static str {
        match self.order_type {
            OrderType::Market => "MARKET",
            OrderType::Limit if self.post_only => "LIMIT_MAKER",
            OrderType::Limit => "LIMIT",
            OrderType::StopMarket => "STOP_LOSS",
            OrderType::StopLimit => "STOP_LOSS_LIMIT",
            OrderType::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
        }
    }
}

/// The venue accepted (or already had) the order.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerOrderAck {
    pub client_order_id: String,
    pub exchange_order_id: String,
    pub status: OrderStatus,
    /// Venue time of the acknowledgement (transactTime), in ns.
    pub ts_ns: i64,
}

/// The state of one venue order as the venue reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerOrderUpdate {
    pub symbol: String,
    pub exchange_order_id: String,
    pub client_order_id: String,
    pub side: Side,
    pub status: OrderStatus,
    pub orig_qty: Decimal,
    pub filled_qty: Decimal,
    /// Σ price × qty of the fills so far; the average price is this over `filled_qty`.
    pub cum_quote: Decimal,
    pub ts_ns: i64,
}

impl BrokerOrderUpdate {
    /// What the venue's acknowledgement of the order in this state says.
    pub fn to_ack(&self) -> BrokerOrderAck {
        BrokerOrderAck {
            client_order_id: self.client_order_id.clone(),
            exchange_order_id: self.exchange_order_id.clone(),
            status: self.status,
            ts_ns: self.ts_ns,
        }
    }

    /// Average fill price, 0 before the first fill.
    pub fn avg_price(&self) -> Decimal {
        if self.filled_qty.is_zero() {
            Decimal::ZERO
        } else {
            (self.cum_quote / self.filled_qty).normalize()
        }
    }
}

/// One asset's balance.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetBalance {
    pub asset: String,
    pub free: Decimal,
    pub locked: Decimal,
}

/// Every balance of the account at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceSnapshot {
    pub balances: Vec<AssetBalance>,
    pub ts_ns: i64,
}

/// Why a broker call failed. Messages never contain secrets: requests are described by
/// endpoint and client order id only.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrokerError {
    #[error("read-only mode (broker.read_only: true): {0} refused, nothing sent")]
    ReadOnly(&'static str),
    /// The venue's own word; [`placement`] looks the order up before reporting it.
    #[error("client order id {0} is already used at the venue")]
    ClientOrderIdInUse(String),
    #[error(
        "client order id {0} is already used at the venue by an order this broker cannot find \
         (DuplicateClientOrderIdError); not resent"
    )]
    DuplicateClientOrderId(String),
    #[error("order {client_order_id} rejected locally: {reason}")]
    Filter {
        client_order_id: String,
        reason: String,
    },
    #[error("{endpoint}: venue error {code}: {msg} (HTTP {status})")]
    Venue {
        endpoint: String,
        status: u16,
        code: i64,
        msg: String,
    },
    #[error(
        "{endpoint}: outcome unknown after {attempts} attempts ({last}); the order is looked up \
         by its client id before any resend"
    )]
    Unknown {
        endpoint: String,
        attempts: u32,
        last: String,
    },
    #[error("{endpoint}: {msg}")]
    Transport { endpoint: String, msg: String },
    /// Not sent (rate limit, ban or refused connection): may be sent after `wait`, once the
    /// kill switch has been read again.
    #[error("{endpoint}: not sent, rate limited; may be sent after {wait:?}")]
    Throttled {
        endpoint: String,
        wait: std::time::Duration,
    },
    /// The kill switch tripped while the order waited to be sent: dropped, never sent.
    #[error("kill switch tripped before the send: {}", .0.reason.as_str())]
    Halted(guard::Denial),
    #[error("{endpoint}: unexpected answer: {msg}")]
    Protocol { endpoint: String, msg: String },
    #[error(
        "no API key configured (api_keys.binanceus in config/secrets.yaml, or NJORD_BINANCEUS_API_KEY / NJORD_BINANCEUS_API_SECRET)"
    )]
    NoKeys,
}
