//! The in-memory venue of the service's tests: scripted order answers, a book of orders,
//! the account's trades, balances and prices (its quotes have no spread), a user stream the test feeds, and a record of
//! every request it received.

use super::dec;
use crate::broker::client_id::client_order_id;
use crate::broker::guard::Quote;
use crate::broker::order_state::OrderStatus;
use crate::broker::reconcile::VenueFill;
use crate::broker::{
    AssetBalance, BalanceSnapshot, BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate,
    StreamMsg, UserStream, Venue,
};
use rust_decimal::Decimal;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The only symbol the in-memory venue lists.
pub(super) const LISTED: &str = "ATOM/USDT";

/// How the venue treats the next order request it receives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Answer {
    Accept,
    /// The order is booked but the answer is lost on the way back (a timeout, a 5xx).
    BookButTimeOut,
    /// The request is lost before the venue: nothing is booked, no answer comes.
    LoseRequest,
    /// A venue error (insufficient balance).
    Reject,
    /// "Duplicate order sent." though the venue has no order with that client id.
    ClaimInUse,
}

/// Everything the in-memory venue holds and everything it was asked.
#[derive(Debug, Default)]
pub(super) struct Account {
    /// Answers to the next order requests, in order; `Accept` once they run out.
    pub(super) answers: VecDeque<Answer>,
    pub(super) lookups_fail: bool,
    pub(super) orders: Vec<BrokerOrderUpdate>,
    pub(super) fills: Vec<VenueFill>,
    pub(super) balances: Vec<AssetBalance>,
    pub(super) prices: HashMap<String, Decimal>,
    pub(super) stream: VecDeque<StreamMsg>,
    pub(super) stream_closed: bool,
    /// Client order ids of every order request, validation, lookup and cancel received.
    pub(super) place_requests: Vec<String>,
    pub(super) validate_requests: Vec<String>,
    pub(super) lookups: Vec<String>,
    pub(super) cancels: Vec<String>,
}

impl Account {
    fn book(&mut self, req: &BrokerOrderReq) -> BrokerOrderUpdate {
        let order = BrokerOrderUpdate {
            symbol: req.symbol.clone(),
            exchange_order_id: format!("x{}", self.orders.len() + 1),
            client_order_id: req.client_order_id.clone(),
            side: req.side,
            status: OrderStatus::New,
            orig_qty: req.qty,
            filled_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            ts_ns: 0,
        };
        self.orders.push(order.clone());
        order
    }

    pub(super) fn order_mut(&mut self, client_order_id: &str) -> Option<&mut BrokerOrderUpdate> {
        self.orders
            .iter_mut()
            .find(|o| o.client_order_id == client_order_id)
    }
}

/// The venue handed to the service; the test keeps a clone to script and inspect it.
#[derive(Debug, Clone, Default)]
pub(super) struct MemVenue(Arc<Mutex<Account>>);

impl MemVenue {
    pub(super) fn account(&self) -> MutexGuard<'_, Account> {
        self.0.lock().unwrap()
    }

    pub(super) fn answering(answers: &[Answer]) -> MemVenue {
        let venue = MemVenue::default();
        venue.account().answers = answers.iter().copied().collect();
        venue
    }

    /// Books an order as someone else (or an earlier run) placed it.
    pub(super) fn booked(&self, intent_id: &str, qty: &str) -> BrokerOrderUpdate {
        let req = BrokerOrderReq {
            intent_id: intent_id.into(),
            client_order_id: client_order_id(intent_id),
            symbol: LISTED.into(),
            side: crate::event::Side::Buy,
            order_type: crate::event::OrderType::Limit,
            qty: dec(qty),
            limit_price: Some(dec("5")),
            stop_price: None,
            time_in_force: crate::event::TimeInForce::Gtc,
            post_only: false,
            iceberg_qty: None,
        };
        self.account().book(&req)
    }

    /// A trade of the account; its time is its id, so tests can tell fills apart.
    pub(super) fn fill(&self, trade_id: u64, exchange_order_id: &str) {
        self.account().fills.push(VenueFill {
            symbol: LISTED.into(),
            exchange_order_id: exchange_order_id.into(),
            trade_id,
            side: crate::event::Side::Buy,
            qty: dec("0.5"),
            price: dec("5"),
            fee: dec("0.0005"),
            fee_asset: "ATOM".into(),
            maker: false,
            ts_ns: trade_id as i64,
        });
    }

    pub(super) fn place_requests(&self) -> usize {
        self.account().place_requests.len()
    }

    pub(super) fn booked_orders(&self) -> usize {
        self.account().orders.len()
    }
}

fn lost() -> BrokerError {
    BrokerError::Unknown {
        endpoint: "place".into(),
        attempts: 1,
        last: "timed out".into(),
    }
}

impl Venue for MemVenue {
    type UserStream = MemStream;

    async fn connect(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn sync_clock(&self) -> Result<i64, BrokerError> {
        Ok(0)
    }

    async fn open_user_stream(&self) -> MemStream {
        MemStream(self.clone())
    }

    fn prepare(
        &self,
        req: &BrokerOrderReq,
        _market_price: Option<Decimal>,
    ) -> Result<BrokerOrderReq, BrokerError> {
        if req.symbol == LISTED {
            Ok(req.clone())
        } else {
            Err(BrokerError::Filter {
                client_order_id: req.client_order_id.clone(),
                reason: format!("symbol {} is not listed", req.symbol),
            })
        }
    }

    /// Binance.US's order types: no stop-market, OCO lists allowed.
    fn supports(&self, _symbol: &str, venue_type: &str) -> bool {
        venue_type != "STOP_LOSS"
    }

    /// Books both legs.
    async fn place_oco(
        &self,
        limit: &BrokerOrderReq,
        stop: &BrokerOrderReq,
    ) -> Result<Vec<BrokerOrderAck>, BrokerError> {
        let mut a = self.account();
        a.place_requests.push(limit.client_order_id.clone());
        a.place_requests.push(stop.client_order_id.clone());
        Ok(vec![a.book(limit).to_ack(), a.book(stop).to_ack()])
    }

    async fn validate(&self, req: &BrokerOrderReq) -> Result<(), BrokerError> {
        let mut a = self.account();
        a.validate_requests.push(req.client_order_id.clone());
        Ok(())
    }

    async fn place(&self, req: &BrokerOrderReq) -> Result<BrokerOrderAck, BrokerError> {
        let mut a = self.account();
        let cid = req.client_order_id.clone();
        a.place_requests.push(cid.clone());
        let open_with_this_id = a
            .orders
            .iter()
            .any(|o| o.client_order_id == cid && !o.status.is_terminal());
        if open_with_this_id {
            return Err(BrokerError::ClientOrderIdInUse(cid));
        }
        match a.answers.pop_front().unwrap_or(Answer::Accept) {
            Answer::Accept => Ok(a.book(req).to_ack()),
            Answer::BookButTimeOut => {
                a.book(req);
                Err(lost())
            }
            Answer::LoseRequest => Err(lost()),
            Answer::Reject => Err(BrokerError::Venue {
                endpoint: "place".into(),
                status: 400,
                code: -2010,
                msg: "Account has insufficient balance for requested action.".into(),
            }),
            Answer::ClaimInUse => Err(BrokerError::ClientOrderIdInUse(cid)),
        }
    }

    async fn cancel(&self, _symbol: &str, client_order_id: &str) -> Result<bool, BrokerError> {
        let mut a = self.account();
        a.cancels.push(client_order_id.into());
        match a.order_mut(client_order_id) {
            Some(o) if !o.status.is_terminal() => {
                o.status = OrderStatus::Canceled;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn lookup(
        &self,
        _symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<BrokerOrderUpdate>, BrokerError> {
        let mut a = self.account();
        a.lookups.push(client_order_id.into());
        if a.lookups_fail {
            return Err(BrokerError::Transport {
                endpoint: "lookup".into(),
                msg: "connection reset".into(),
            });
        }
        Ok(a.order_mut(client_order_id).map(|o| o.clone()))
    }

    async fn fetch_open_orders(
        &self,
        symbol: Option<&str>,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        let a = self.account();
        Ok(a.orders
            .iter()
            .filter(|o| !o.status.is_terminal() && symbol.is_none_or(|s| o.symbol == s))
            .cloned()
            .collect())
    }

    async fn fetch_fills(
        &self,
        symbol: &str,
        from_id: Option<u64>,
    ) -> Result<Vec<VenueFill>, BrokerError> {
        let a = self.account();
        Ok(a.fills
            .iter()
            .filter(|f| f.symbol == symbol && from_id.is_none_or(|from| f.trade_id >= from))
            .cloned()
            .collect())
    }

    async fn fetch_balances(&self) -> Result<BalanceSnapshot, BrokerError> {
        Ok(BalanceSnapshot {
            balances: self.account().balances.clone(),
            ts_ns: 0,
        })
    }

    /// A book without spread at the scripted price.
    async fn fetch_quote(&self, symbol: &str) -> Result<Quote, BrokerError> {
        self.account()
            .prices
            .get(symbol)
            .map(|&p| Quote { bid: p, ask: p })
            .ok_or_else(|| BrokerError::Protocol {
                endpoint: "bookTicker".into(),
                msg: format!("no price for {symbol}"),
            })
    }

    async fn fetch_recent_orders(
        &self,
        symbol: &str,
        _since_ms: i64,
    ) -> Result<Vec<BrokerOrderUpdate>, BrokerError> {
        let a = self.account();
        Ok(a.orders
            .iter()
            .filter(|o| o.symbol == symbol)
            .cloned()
            .collect())
    }
}

/// The in-memory venue's user stream: what the test pushed, until closed.
#[derive(Debug)]
pub(super) struct MemStream(MemVenue);

impl UserStream for MemStream {
    fn try_next(&mut self) -> Option<StreamMsg> {
        let mut a = self.0.account();
        if a.stream_closed {
            return None;
        }
        a.stream.pop_front()
    }

    fn close(&mut self) {
        self.0.account().stream_closed = true;
    }
}
