//! Orders: their types, time in force and status, what a request asks for, and their fills.

use njord::event::Side;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdType {
    Limit,
    Market,
    LimitMaker,
    StopLossLimit,
    TakeProfitLimit,
}

impl OrdType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrdType::Limit => "LIMIT",
            OrdType::Market => "MARKET",
            OrdType::LimitMaker => "LIMIT_MAKER",
            OrdType::StopLossLimit => "STOP_LOSS_LIMIT",
            OrdType::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
        }
    }

    /// Njord's name for a conditional type, whose trigger rule it shares.
    fn conditional(self) -> Option<njord::event::OrderType> {
        match self {
            OrdType::StopLossLimit => Some(njord::event::OrderType::StopLimit),
            OrdType::TakeProfitLimit => Some(njord::event::OrderType::TakeProfitLimit),
            _ => None,
        }
    }

    /// Waits for its `stopPrice` before it works.
    pub fn is_conditional(self) -> bool {
        self.conditional().is_some()
    }

    /// Whether a trade at `last` triggers an order of this type, as Binance rules (and
    /// njord-paper): a stop-loss buys once the price has risen to its stop and sells once it
    /// has fallen to it; a take-profit the other way round.
    pub fn triggers(self, side: Side, stop: Decimal, last: Decimal) -> bool {
        self.conditional()
            .is_some_and(|t| t.triggers(side, stop, last))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    Gtc,
    Ioc,
    Fok,
}

impl Tif {
    pub fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Fok => "FOK",
        }
    }
    pub fn parse(s: &str) -> Option<Tif> {
        Some(match s {
            "GTC" => Tif::Gtc,
            "IOC" => Tif::Ioc,
            "FOK" => Tif::Fok,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::PartiallyFilled => "PARTIALLY_FILLED",
            Status::Filled => "FILLED",
            Status::Canceled => "CANCELED",
            Status::Expired => "EXPIRED",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Filled | Status::Canceled | Status::Expired)
    }
}

/// Why an execution report is sent (Binance's `x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecType {
    New,
    Trade,
    Canceled,
    Expired,
}

impl ExecType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecType::New => "NEW",
            ExecType::Trade => "TRADE",
            ExecType::Canceled => "CANCELED",
            ExecType::Expired => "EXPIRED",
        }
    }
}

/// Binance's upper-case side.
pub fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// One execution of one of our orders.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub trade_id: u64,
    pub order_id: u64,
    pub symbol: String,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub maker: bool,
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: u64,
    pub symbol: String,
    pub client_id: String,
    pub side: Side,
    pub ord_type: OrdType,
    pub tif: Tif,
    /// Zero for market orders.
    pub price: Decimal,
    /// The trigger of a conditional order; zero for the others.
    pub stop_price: Decimal,
    /// In the book (or filled): false for a conditional order until its stop triggers.
    pub working: bool,
    /// The one-cancels-other list the order is a leg of.
    pub list_id: Option<u64>,
    /// The quantity the book shows at a time (`icebergQty`); zero for a plain order.
    pub iceberg_qty: Decimal,
    pub orig_qty: Decimal,
    pub orig_quote_qty: Decimal,
    pub executed: Decimal,
    pub cum_quote: Decimal,
    pub status: Status,
    pub time: i64,
    pub update_time: i64,
    /// Quote (buy) or base (sell) still locked by this order.
    pub locked: Decimal,
    /// Fills of this order, oldest first.
    pub fills: Vec<Fill>,
}

impl Order {
    /// The order `req` asks for, before any fill: what `order/test` answers (id 0, nothing
    /// locked) and what a placed order starts as, built in one place so the two agree.
    pub(super) fn new(
        id: u64,
        symbol: String,
        req: &NewOrder,
        fill_qty: Decimal,
        locked: Decimal,
        now: i64,
    ) -> Order {
        Order {
            id,
            symbol,
            client_id: req.client_id.clone(),
            side: req.side,
            ord_type: req.ord_type,
            tif: req.tif.unwrap_or(Tif::Gtc),
            price: req.price.unwrap_or_default(),
            stop_price: req.stop_price.unwrap_or_default(),
            working: !req.ord_type.is_conditional(),
            list_id: None,
            iceberg_qty: req.iceberg_qty.unwrap_or_default(),
            // A quote-quantity market order is as big as what it can buy.
            orig_qty: req.qty.unwrap_or(fill_qty),
            orig_quote_qty: req.quote_qty.unwrap_or_default(),
            executed: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            status: Status::New,
            time: now,
            update_time: now,
            locked,
            fills: Vec::new(),
        }
    }

    pub(super) fn remaining(&self) -> Decimal {
        self.orig_qty - self.executed
    }
}

/// An order request after parameter parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub ord_type: OrdType,
    pub tif: Option<Tif>,
    pub qty: Option<Decimal>,
    pub quote_qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub iceberg_qty: Option<Decimal>,
    pub client_id: String,
}

/// An OCO request after parameter parsing (`POST /api/v3/order/oco`): a LIMIT_MAKER leg at
/// `price` and a STOP_LOSS_LIMIT leg at `stop_price` / `stop_limit_price`, same side and size.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOco {
    pub symbol: String,
    pub side: Side,
    pub qty: Decimal,
    pub list_client_id: String,
    pub limit_client_id: String,
    pub price: Decimal,
    pub stop_client_id: String,
    pub stop_price: Decimal,
    pub stop_limit_price: Decimal,
    pub stop_tif: Tif,
}

/// A one-cancels-other list: its two legs, limit first.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderList {
    pub id: u64,
    pub client_id: String,
    pub symbol: String,
    pub legs: [u64; 2],
    pub time: i64,
}

/// Selects an order by exchange id or client id.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderRef {
    Id(u64),
    Client(String),
}
