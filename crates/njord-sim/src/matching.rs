//! The venue's pure core: symbols and their filters, a synthetic book around the last tape
//! price, orders, fills, commissions and balances. No I/O, no clock: every call takes the
//! time, so the same calls give the same results.

use super::ApiError;
use njord::event::Side;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A tradable symbol and its filters (PRICE_FILTER, LOT_SIZE, NOTIONAL).
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSpec {
    /// `ATOMUSDT`.
    pub name: String,
    pub base: String,
    pub quote: String,
    pub tick: Decimal,
    pub step: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub max_notional: Decimal,
}

/// Matching knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub maker_fee: Decimal,
    pub taker_fee: Decimal,
    /// Levels per side of the synthetic book.
    pub book_levels: usize,
    /// Quantity at each level of the synthetic book.
    pub book_qty: Decimal,
    /// A resting limit also fills when the tape trades exactly at its price, not only through.
    pub fill_at_touch: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            maker_fee: Decimal::new(1, 3),
            taker_fee: Decimal::new(1, 3),
            book_levels: 20,
            book_qty: Decimal::from(100),
            fill_at_touch: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdType {
    Limit,
    Market,
    LimitMaker,
}

impl OrdType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrdType::Limit => "LIMIT",
            OrdType::Market => "MARKET",
            OrdType::LimitMaker => "LIMIT_MAKER",
        }
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
    fn remaining(&self) -> Decimal {
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
    pub client_id: String,
}

/// What the user data stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Execution {
        order: Box<Order>,
        exec: ExecType,
        last: Option<Fill>,
        time: i64,
    },
    Account {
        time: i64,
        balances: Vec<(String, Balance)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

/// A public trade as the venue keeps it (`/api/v3/trades`).
#[derive(Debug, Clone, PartialEq)]
pub struct PubTrade {
    pub id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub time: i64,
    pub buyer_maker: bool,
}

/// Statistics since playback started (the sim's "24hr" window).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub volume: Decimal,
    pub quote_volume: Decimal,
    pub count: u64,
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
    pub open_time: i64,
    pub close_time: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub spec: SymbolSpec,
    pub last: Decimal,
    pub last_qty: Decimal,
    /// Increases whenever the synthetic book changes (Binance's `lastUpdateId` / `u`).
    pub update_id: u64,
    pub recent: VecDeque<PubTrade>,
    pub stats: Stats,
}

/// How many public trades each market keeps for `/trades` and `/aggTrades`.
pub const RECENT_TRADES: usize = 1000;

/// A side of the synthetic book: `(price, qty)` best first.
pub type Levels = Vec<(Decimal, Decimal)>;

/// How a tape trade changed a market.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeEffect {
    pub prev_last: Decimal,
    /// Whether the synthetic book moved (the price changed).
    pub moved: bool,
    /// The book's update id after the trade.
    pub update_id: u64,
}

/// Selects an order by exchange id or client id.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderRef {
    Id(u64),
    Client(String),
}

pub struct Exchange {
    knobs: Knobs,
    markets: Vec<Market>,
    index: HashMap<String, usize>,
    balances: BTreeMap<String, Balance>,
    orders: BTreeMap<u64, Order>,
    /// Open order ids per market.
    open: Vec<BTreeSet<u64>>,
    /// Live (non-terminal) orders by (market, client id): duplicates are refused.
    live_client: HashMap<(usize, String), u64>,
    /// The latest order with a client id, live or not, for queries.
    any_client: HashMap<(usize, String), u64>,
    my_trades: Vec<Fill>,
    next_order_id: u64,
    next_trade_id: u64,
    events: Vec<UserEvent>,
}

/// The synthetic book around `last`: a level every tick from one tick either side, each of
/// `knobs.book_qty`. It is a function of the last price only, so streams can rebuild it.
pub fn synthetic_book(
    knobs: &Knobs,
    tick: Decimal,
    last: Decimal,
    depth: usize,
) -> (Levels, Levels) {
    let n = depth.min(knobs.book_levels);
    let q = knobs.book_qty;
    let asks = (1..=n as i64)
        .map_while(|i| Some((last.checked_add(tick.checked_mul(Decimal::from(i))?)?, q)))
        .collect();
    let bids = (1..=n as i64)
        .map_while(|i| Some((last.checked_sub(tick.checked_mul(Decimal::from(i))?)?, q)))
        .take_while(|(p, _)| *p > Decimal::ZERO)
        .collect();
    (bids, asks)
}

fn bad(code: i64, msg: &str) -> ApiError {
    ApiError::bad(code, msg)
}

fn filter(name: &str) -> ApiError {
    bad(-1013, &format!("Filter failure: {name}"))
}

fn on_grid(x: Decimal, origin: Decimal, step: Decimal) -> bool {
    step.is_zero() || ((x - origin) % step).is_zero()
}

fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        x
    } else {
        (x / step).floor() * step
    }
}

impl Exchange {
    /// A venue with the given markets (each at its first tape price) and balances.
    pub fn new(
        specs: Vec<(SymbolSpec, Decimal)>,
        balances: BTreeMap<String, Decimal>,
        knobs: Knobs,
    ) -> Self {
        let mut index = HashMap::new();
        let markets: Vec<Market> = specs
            .into_iter()
            .enumerate()
            .map(|(i, (spec, last))| {
                index.insert(spec.name.clone(), i);
                Market {
                    spec,
                    last,
                    last_qty: Decimal::ZERO,
                    update_id: 1,
                    recent: VecDeque::new(),
                    stats: Stats::default(),
                }
            })
            .collect();
        let mut bal: BTreeMap<String, Balance> = BTreeMap::new();
        for m in &markets {
            bal.entry(m.spec.base.clone()).or_default();
            bal.entry(m.spec.quote.clone()).or_default();
        }
        for (asset, free) in balances {
            bal.entry(asset).or_default().free = free;
        }
        Exchange {
            knobs,
            open: vec![BTreeSet::new(); markets.len()],
            markets,
            index,
            balances: bal,
            orders: BTreeMap::new(),
            live_client: HashMap::new(),
            any_client: HashMap::new(),
            my_trades: Vec::new(),
            next_order_id: 1,
            next_trade_id: 1,
            events: Vec::new(),
        }
    }

    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }

    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// The market index of `ATOMUSDT`, or -1121.
    pub fn market(&self, symbol: &str) -> Result<usize, ApiError> {
        self.index
            .get(symbol)
            .copied()
            .ok_or_else(|| bad(-1121, "Invalid symbol."))
    }

    pub fn balances(&self) -> &BTreeMap<String, Balance> {
        &self.balances
    }

    /// Takes the user-data events caused since the last call, in order.
    pub fn drain_events(&mut self) -> Vec<UserEvent> {
        std::mem::take(&mut self.events)
    }

    /// The current synthetic book of market `m`, `depth` levels a side at most.
    pub fn book(&self, m: usize, depth: usize) -> (Levels, Levels) {
        let mk = &self.markets[m];
        synthetic_book(&self.knobs, mk.spec.tick, mk.last, depth)
    }

    /// Checks an order against the symbol's filters and the venue rules, without effects.
    fn validate(&self, m: usize, req: &NewOrder) -> Result<(), ApiError> {
        let spec = &self.markets[m].spec;
        if let Some(p) = req.price {
            if p <= Decimal::ZERO {
                return Err(bad(-1013, "Invalid price."));
            }
            if p < spec.min_price || p > spec.max_price || !on_grid(p, spec.min_price, spec.tick) {
                return Err(filter("PRICE_FILTER"));
            }
        }
        if let Some(q) = req.qty {
            if q <= Decimal::ZERO {
                return Err(bad(-1013, "Invalid quantity."));
            }
            if q < spec.min_qty || q > spec.max_qty || !on_grid(q, spec.min_qty, spec.step) {
                return Err(filter("LOT_SIZE"));
            }
        }
        if let Some(qq) = req.quote_qty
            && qq <= Decimal::ZERO
        {
            return Err(bad(-1013, "Invalid quantity."));
        }
        let px = req.price.unwrap_or(self.markets[m].last);
        let notional = match (req.qty, req.quote_qty) {
            (Some(q), _) => q * px,
            (None, Some(qq)) => qq,
            (None, None) => Decimal::ZERO,
        };
        if notional < spec.min_notional || notional > spec.max_notional {
            return Err(filter("NOTIONAL"));
        }
        if self.live_client.contains_key(&(m, req.client_id.clone())) {
            return Err(bad(-2010, "Duplicate order sent."));
        }
        Ok(())
    }

    /// The taker fills an order would get from the book now: `(price, qty)` per level.
    fn taker_fills(&self, m: usize, req: &NewOrder) -> Levels {
        let (bids, asks) = self.book(m, usize::MAX);
        let levels = match req.side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        let step = self.markets[m].spec.step;
        let mut out = Vec::new();
        let mut left_qty = req.qty;
        let mut left_quote = req.quote_qty;
        for (p, lq) in levels {
            let acceptable = match (req.price, req.side) {
                (None, _) => true,
                (Some(lim), Side::Buy) => p <= lim,
                (Some(lim), Side::Sell) => p >= lim,
            };
            if !acceptable {
                break;
            }
            let q = match (left_qty, left_quote) {
                (Some(l), _) => l.min(lq),
                (None, Some(lq2)) => floor_to(lq2 / p, step).min(lq),
                (None, None) => Decimal::ZERO,
            };
            if q <= Decimal::ZERO {
                break;
            }
            out.push((p, q));
            if let Some(l) = &mut left_qty {
                *l -= q;
                if l.is_zero() {
                    break;
                }
            }
            if let Some(l) = &mut left_quote {
                *l -= p * q;
            }
        }
        out
    }

    /// Places an order. `test_only` validates everything and changes nothing (`order/test`).
    pub fn new_order(
        &mut self,
        req: NewOrder,
        now: i64,
        test_only: bool,
    ) -> Result<Order, ApiError> {
        let m = self.market(&req.symbol)?;
        self.validate(m, &req)?;
        let fills = self.taker_fills(m, &req);
        let fill_qty: Decimal = fills.iter().map(|(_, q)| *q).sum();
        let fill_cost: Decimal = fills.iter().map(|(p, q)| p * q).sum();
        if req.ord_type == OrdType::LimitMaker && !fills.is_empty() {
            return Err(bad(-2010, "Order would immediately match and take."));
        }
        let fok_fails = req.tif == Some(Tif::Fok) && req.qty.is_some_and(|q| fill_qty < q);
        let spec = self.markets[m].spec.clone();
        let rests = req.ord_type != OrdType::Market && req.tif.unwrap_or(Tif::Gtc) == Tif::Gtc;
        // What the order locks while it lives: limit buys lock the whole qty at the limit.
        let lock = match (req.side, req.price) {
            (Side::Buy, Some(p)) if rests => p * req.qty.unwrap_or_default(),
            (Side::Buy, _) => fill_cost,
            (Side::Sell, _) if rests => req.qty.unwrap_or_default(),
            (Side::Sell, _) => fill_qty,
        };
        let lock = if fok_fails { Decimal::ZERO } else { lock };
        let asset = match req.side {
            Side::Buy => &spec.quote,
            Side::Sell => &spec.base,
        };
        if self.balances.get(asset).map(|b| b.free).unwrap_or_default() < lock {
            return Err(bad(
                -2010,
                "Account has insufficient balance for requested action.",
            ));
        }
        if req.ord_type == OrdType::Market && fills.is_empty() && !fok_fails {
            // Nothing in the book on that side (a price near zero): Binance refuses too.
            return Err(bad(
                -2010,
                "Order book liquidity is less than LOT_SIZE filter minimum quantity.",
            ));
        }
        if test_only {
            return Ok(Order {
                id: 0,
                symbol: spec.name,
                client_id: req.client_id,
                side: req.side,
                ord_type: req.ord_type,
                tif: req.tif.unwrap_or(Tif::Gtc),
                price: req.price.unwrap_or_default(),
                orig_qty: req.qty.unwrap_or(fill_qty),
                orig_quote_qty: req.quote_qty.unwrap_or_default(),
                executed: Decimal::ZERO,
                cum_quote: Decimal::ZERO,
                status: Status::New,
                time: now,
                update_time: now,
                locked: Decimal::ZERO,
                fills: Vec::new(),
            });
        }
        let id = self.next_order_id;
        self.next_order_id += 1;
        let order = Order {
            id,
            symbol: spec.name.clone(),
            client_id: req.client_id.clone(),
            side: req.side,
            ord_type: req.ord_type,
            tif: req.tif.unwrap_or(Tif::Gtc),
            price: req.price.unwrap_or_default(),
            // A quote-quantity market order is as big as what it can buy.
            orig_qty: req.qty.unwrap_or(fill_qty),
            orig_quote_qty: req.quote_qty.unwrap_or_default(),
            executed: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            status: Status::New,
            time: now,
            update_time: now,
            locked: lock,
            fills: Vec::new(),
        };
        if let Some(b) = self.balances.get_mut(asset) {
            b.free -= lock;
            b.locked += lock;
        }
        self.orders.insert(id, order);
        self.live_client.insert((m, req.client_id.clone()), id);
        self.any_client.insert((m, req.client_id), id);
        self.open[m].insert(id);
        self.report(id, ExecType::New, None, now);
        if !fok_fails {
            for (p, q) in fills {
                self.apply_fill(m, id, p, q, false, now);
            }
        }
        let left = self.orders.get(&id).map(|o| o.status);
        if !rests && matches!(left, Some(Status::New | Status::PartiallyFilled)) {
            self.close(m, id, Status::Expired, now);
        }
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        self.orders.get(&id).cloned().ok_or_else(|| {
            bad(
                -1000,
                "An unknown error occurred while processing the request.",
            )
        })
    }

    fn report(&mut self, id: u64, exec: ExecType, last: Option<Fill>, now: i64) {
        if let Some(o) = self.orders.get(&id) {
            let mut snapshot = o.clone();
            snapshot.fills.clear();
            self.events.push(UserEvent::Execution {
                order: Box::new(snapshot),
                exec,
                last,
                time: now,
            });
        }
    }

    fn account_event(&mut self, assets: &[&str], now: i64) {
        let balances = assets
            .iter()
            .map(|a| {
                (
                    a.to_string(),
                    self.balances.get(*a).copied().unwrap_or_default(),
                )
            })
            .collect();
        self.events.push(UserEvent::Account {
            time: now,
            balances,
        });
    }

    /// Executes `q` of order `id` at `p`, moving balances and commission.
    fn apply_fill(&mut self, m: usize, id: u64, p: Decimal, q: Decimal, maker: bool, now: i64) {
        let spec = &self.markets[m].spec;
        let (base, quote) = (spec.base.clone(), spec.quote.clone());
        let rate = if maker {
            self.knobs.maker_fee
        } else {
            self.knobs.taker_fee
        };
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        if o.status.is_terminal() || q <= Decimal::ZERO {
            return;
        }
        let (commission, commission_asset) = match o.side {
            Side::Buy => ((q * rate).round_dp(8), base.clone()),
            Side::Sell => ((p * q * rate).round_dp(8), quote.clone()),
        };
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let fill = Fill {
            trade_id,
            order_id: id,
            symbol: o.symbol.clone(),
            side: o.side,
            price: p,
            qty: q,
            commission,
            commission_asset,
            maker,
            time: now,
        };
        o.executed += q;
        o.cum_quote += p * q;
        o.update_time = now;
        o.fills.push(fill.clone());
        o.status = if o.remaining().is_zero() {
            Status::Filled
        } else {
            Status::PartiallyFilled
        };
        let released = match o.side {
            Side::Buy if o.ord_type != OrdType::Market => o.price * q,
            Side::Buy => p * q,
            Side::Sell => q,
        };
        let released = released.min(o.locked);
        o.locked -= released;
        let (side, done) = (o.side, o.status == Status::Filled);
        let bal = &mut self.balances;
        match side {
            Side::Buy => {
                let qb = bal.entry(quote).or_default();
                qb.locked -= released;
                qb.free += released - p * q;
                bal.entry(base).or_default().free += q - commission;
            }
            Side::Sell => {
                bal.entry(base).or_default().locked -= released;
                bal.entry(quote).or_default().free += p * q - commission;
            }
        }
        self.my_trades.push(fill.clone());
        self.report(id, ExecType::Trade, Some(fill), now);
        if done {
            self.retire(m, id);
        }
    }

    /// Forgets a terminal order's live indexes and gives back what it still locks.
    fn retire(&mut self, m: usize, id: u64) {
        self.open[m].remove(&id);
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        let key = (m, o.client_id.clone());
        if self.live_client.get(&key) == Some(&id) {
            self.live_client.remove(&key);
        }
        let left = std::mem::take(&mut o.locked);
        let spec = &self.markets[m].spec;
        let asset = match o.side {
            Side::Buy => &spec.quote,
            Side::Sell => &spec.base,
        };
        if let Some(b) = self.balances.get_mut(asset) {
            b.locked -= left;
            b.free += left;
        }
    }

    /// Ends a live order as canceled or expired.
    fn close(&mut self, m: usize, id: u64, status: Status, now: i64) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        if o.status.is_terminal() {
            return;
        }
        o.status = status;
        o.update_time = now;
        self.retire(m, id);
        let exec = if status == Status::Canceled {
            ExecType::Canceled
        } else {
            ExecType::Expired
        };
        self.report(id, exec, None, now);
    }

    fn find(&self, m: usize, r: &OrderRef) -> Option<u64> {
        match r {
            OrderRef::Id(id) => self
                .orders
                .get(id)
                .filter(|o| o.symbol == self.markets[m].spec.name)
                .map(|o| o.id),
            OrderRef::Client(c) => self.any_client.get(&(m, c.clone())).copied(),
        }
    }

    /// `GET /api/v3/order`: -2013 when there is no such order.
    pub fn query(&self, symbol: &str, r: &OrderRef) -> Result<&Order, ApiError> {
        let m = self.market(symbol)?;
        self.find(m, r)
            .and_then(|id| self.orders.get(&id))
            .ok_or_else(|| bad(-2013, "Order does not exist."))
    }

    /// `DELETE /api/v3/order`: -2011 when the order is unknown or already done.
    pub fn cancel(&mut self, symbol: &str, r: &OrderRef, now: i64) -> Result<Order, ApiError> {
        let m = self.market(symbol)?;
        let id = self
            .find(m, r)
            .filter(|id| self.open[m].contains(id))
            .ok_or_else(|| bad(-2011, "Unknown order sent."))?;
        self.close(m, id, Status::Canceled, now);
        let spec = self.markets[m].spec.clone();
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        self.orders
            .get(&id)
            .cloned()
            .ok_or_else(|| bad(-2011, "Unknown order sent."))
    }

    /// `DELETE /api/v3/openOrders`.
    pub fn cancel_all(&mut self, symbol: &str, now: i64) -> Result<Vec<Order>, ApiError> {
        let m = self.market(symbol)?;
        let ids: Vec<u64> = self.open[m].iter().copied().collect();
        if ids.is_empty() {
            return Err(bad(-2011, "Unknown order sent."));
        }
        for id in &ids {
            self.close(m, *id, Status::Canceled, now);
        }
        let spec = self.markets[m].spec.clone();
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        Ok(ids
            .iter()
            .filter_map(|id| self.orders.get(id).cloned())
            .collect())
    }

    /// Open orders, of one market or all.
    pub fn open_orders(&self, symbol: Option<&str>) -> Result<Vec<&Order>, ApiError> {
        let ms: Vec<usize> = match symbol {
            Some(s) => vec![self.market(s)?],
            None => (0..self.markets.len()).collect(),
        };
        Ok(ms
            .into_iter()
            .flat_map(|m| self.open[m].iter())
            .filter_map(|id| self.orders.get(id))
            .collect())
    }

    /// Every order of a market, oldest first.
    pub fn all_orders(&self, symbol: &str) -> Result<Vec<&Order>, ApiError> {
        let m = self.market(symbol)?;
        let name = &self.markets[m].spec.name;
        Ok(self.orders.values().filter(|o| &o.symbol == name).collect())
    }

    pub fn my_trades(&self, symbol: &str) -> Result<Vec<&Fill>, ApiError> {
        let m = self.market(symbol)?;
        let name = &self.markets[m].spec.name;
        Ok(self
            .my_trades
            .iter()
            .filter(|f| &f.symbol == name)
            .collect())
    }

    /// Plays one tape trade: the market moves, and resting limits it trades through (or
    /// touches, with the knob) fill as makers at their limit, best price then oldest first,
    /// sharing the trade's quantity.
    pub fn on_tape_trade(&mut self, m: usize, t: &PubTrade, now: i64) -> TapeEffect {
        let mk = &mut self.markets[m];
        let prev_last = mk.last;
        mk.last = t.price;
        mk.last_qty = t.qty;
        let st = &mut mk.stats;
        if st.count == 0 {
            st.open = t.price;
            st.high = t.price;
            st.low = t.price;
            st.open_time = t.time;
            st.first_id = Some(t.id);
        }
        st.high = st.high.max(t.price);
        st.low = st.low.min(t.price);
        st.volume = st.volume.saturating_add(t.qty);
        st.quote_volume = st
            .quote_volume
            .saturating_add(t.price.saturating_mul(t.qty));
        st.count += 1;
        st.last_id = Some(t.id);
        st.close_time = t.time;
        if mk.recent.len() == RECENT_TRADES {
            mk.recent.pop_front();
        }
        mk.recent.push_back(t.clone());
        let moved = prev_last != t.price;
        if moved {
            mk.update_id += 1;
        }
        let update_id = mk.update_id;
        let step = mk.spec.step;
        let at_touch = self.knobs.fill_at_touch;
        let mut crossing: Vec<(Decimal, u64, Side)> = self.open[m]
            .iter()
            .filter_map(|id| self.orders.get(id))
            .filter(|o| match o.side {
                Side::Buy => t.price < o.price || (at_touch && t.price == o.price),
                Side::Sell => t.price > o.price || (at_touch && t.price == o.price),
            })
            .map(|o| (o.price, o.id, o.side))
            .collect();
        // Best price first: highest bids, lowest asks; then time priority.
        crossing.sort_by(|a, b| {
            let by_price = match a.2 {
                Side::Buy => b.0.cmp(&a.0),
                Side::Sell => a.0.cmp(&b.0),
            };
            by_price.then(a.1.cmp(&b.1))
        });
        let mut avail = t.qty;
        let mut touched = false;
        for (price, id, _) in crossing {
            let rem = self
                .orders
                .get(&id)
                .map(|o| o.remaining())
                .unwrap_or_default();
            let q = floor_to(rem.min(avail), step);
            if q <= Decimal::ZERO {
                continue;
            }
            avail -= q;
            self.apply_fill(m, id, price, q, true, now);
            touched = true;
        }
        if touched {
            let spec = self.markets[m].spec.clone();
            self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        }
        TapeEffect {
            prev_last,
            moved,
            update_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn venue() -> Exchange {
        let spec = SymbolSpec {
            name: "ATOMUSDT".into(),
            base: "ATOM".into(),
            quote: "USDT".into(),
            tick: d("0.001"),
            step: d("0.01"),
            min_price: d("0.001"),
            max_price: d("100000"),
            min_qty: d("0.01"),
            max_qty: d("90000"),
            min_notional: d("1"),
            max_notional: d("9000000"),
        };
        let bal = [
            ("USDT".to_string(), d("100000")),
            ("ATOM".to_string(), d("1000")),
        ]
        .into_iter()
        .collect();
        Exchange::new(vec![(spec, d("10"))], bal, Knobs::default())
    }

    fn limit(side: Side, qty: &str, price: &str, tif: Tif, cid: &str) -> NewOrder {
        NewOrder {
            symbol: "ATOMUSDT".into(),
            side,
            ord_type: OrdType::Limit,
            tif: Some(tif),
            qty: Some(d(qty)),
            quote_qty: None,
            price: Some(d(price)),
            client_id: cid.into(),
        }
    }

    fn check(o: &Order) {
        let sum: Decimal = o.fills.iter().map(|f| f.qty).sum();
        assert_eq!(o.executed, sum, "cumulative qty = sum of fills");
        assert!(o.executed <= o.orig_qty);
    }

    #[test]
    fn marketable_limit_walks_the_book_then_rests_and_fills_as_maker() {
        let mut v = venue();
        // Asks at 10.001, 10.002, ... 100 each; the limit reaches three levels.
        let o = v
            .new_order(limit(Side::Buy, "400", "10.003", Tif::Gtc, "a"), 1, false)
            .unwrap();
        check(&o);
        assert_eq!(o.status, Status::PartiallyFilled);
        assert_eq!(o.executed, d("300"));
        assert_eq!(o.fills.len(), 3);
        let usdt = v.balances()["USDT"];
        assert_eq!(usdt.locked, d("1000.3"));
        // The tape trades through the limit: maker fills, sharing the trade's qty.
        let t = PubTrade {
            id: 1,
            price: d("10.002"),
            qty: d("60"),
            time: 2,
            buyer_maker: true,
        };
        v.on_tape_trade(0, &t, 2);
        let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().clone();
        check(&o);
        assert_eq!(o.executed, d("360"));
        assert!(o.fills[3].maker);
        let t2 = PubTrade {
            id: 2,
            qty: d("1000"),
            ..t
        };
        v.on_tape_trade(0, &t2, 3);
        let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().clone();
        check(&o);
        assert_eq!(o.status, Status::Filled);
        assert_eq!(v.balances()["USDT"].locked, Decimal::ZERO);
        // Terminal: cancel is refused and the status stays.
        assert_eq!(
            v.cancel("ATOMUSDT", &OrderRef::Id(o.id), 4)
                .unwrap_err()
                .code,
            -2011
        );
        assert_eq!(
            v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap().status,
            Status::Filled
        );
    }

    #[test]
    fn at_touch_knob() {
        for (touch, filled) in [(false, "0"), (true, "5")] {
            let mut v = venue();
            v.knobs.fill_at_touch = touch;
            let o = v
                .new_order(limit(Side::Buy, "10", "9.99", Tif::Gtc, "t"), 1, false)
                .unwrap();
            let t = PubTrade {
                id: 1,
                price: d("9.99"),
                qty: d("5"),
                time: 2,
                buyer_maker: true,
            };
            v.on_tape_trade(0, &t, 2);
            let o = v.query("ATOMUSDT", &OrderRef::Id(o.id)).unwrap();
            assert_eq!(o.executed, d(filled), "at touch: {touch}");
        }
    }

    #[test]
    fn market_orders_by_quote_quantity() {
        let mut v = venue();
        let o = v
            .new_order(
                NewOrder {
                    symbol: "ATOMUSDT".into(),
                    side: Side::Buy,
                    ord_type: OrdType::Market,
                    tif: None,
                    qty: None,
                    quote_qty: Some(d("1500.2")),
                    price: None,
                    client_id: "q".into(),
                },
                1,
                false,
            )
            .unwrap();
        check(&o);
        assert_eq!(o.status, Status::Filled);
        assert!(o.cum_quote <= d("1500.2"));
        assert_eq!((o.executed, o.cum_quote), (d("150"), d("1500.2")));
    }

    #[test]
    fn ioc_fok_and_duplicates() {
        let mut v = venue();
        let o = v
            .new_order(limit(Side::Sell, "250", "9.998", Tif::Ioc, "i"), 1, false)
            .unwrap();
        assert_eq!((o.status, o.executed), (Status::Expired, d("200")));
        let o = v
            .new_order(limit(Side::Sell, "250", "9.998", Tif::Fok, "f"), 1, false)
            .unwrap();
        assert_eq!((o.status, o.executed), (Status::Expired, d("0")));
        assert_eq!(
            v.balances()["ATOM"],
            Balance {
                free: d("800"),
                locked: d("0")
            }
        );
        v.new_order(limit(Side::Buy, "1", "9", Tif::Gtc, "dup"), 1, false)
            .unwrap();
        let e = v
            .new_order(limit(Side::Buy, "1", "9", Tif::Gtc, "dup"), 1, false)
            .unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (-2010, "Duplicate order sent."));
        let e = v
            .new_order(limit(Side::Buy, "1", "9.0005", Tif::Gtc, "x"), 1, false)
            .unwrap_err();
        assert_eq!(e.msg, "Filter failure: PRICE_FILTER");
        let e = v
            .new_order(limit(Side::Buy, "0.001", "9", Tif::Gtc, "y"), 1, false)
            .unwrap_err();
        assert_eq!(e.msg, "Filter failure: LOT_SIZE");
        let e = v
            .new_order(limit(Side::Buy, "0.01", "9", Tif::Gtc, "z"), 1, false)
            .unwrap_err();
        assert_eq!(e.msg, "Filter failure: NOTIONAL");
    }
}
