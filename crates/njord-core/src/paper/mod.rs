//! The paper trader (a pure core): accepted orders fill against the trade tape in event time.
//!
//! - Market: fills at the symbol's last trade price as taker, or waits for its next trade.
//! - Limit: marketable on arrival (buy: last ≤ limit; sell: last ≥ limit) fills at once at the
//!   last price as taker; otherwise it rests and fills at its limit as maker when a later trade
//!   crosses it (buy: trade ≤ limit; sell: trade ≥ limit). With `partial_fills`, a resting fill
//!   is capped at the crossing trade's quantity, shared in price-then-arrival order.
//! - Fees are exact: `qty × price × bps / 10 000`, in the quote asset.
//! - Slippage moves taker fill prices against the order, by the model of
//!   `paper.slippage_model` (see [`impact`]); the default, `fixed`, by `paper.slippage_bps`
//!   (default 0): `price × (1 + bps / 10 000)` for a buy, `price × (1 − bps / 10 000)` for a
//!   sell.
//! - On a tape of bars (a symbol with closed `bar`s and no trades yet), no order fills inside
//!   the bar that produced it (no look-ahead): every order waits for a bar that opened at or
//!   after it was accepted. A market order fills at that bar's open (taker, with slippage); a
//!   limit fills when the bar's range reaches it: at the open when the bar gapped through it
//!   (taker, the slippage never past the limit), else at the limit (maker).
//! - Optional spot balances (`paper.initial_balances`, see [`balances`]): an order they cannot
//!   pay for is rejected with an `order_update` of status `rejected` and its reason code.
//!
//! Every fill is followed by the `position` it leaves (FIFO lots, see [`position`]).

pub mod balances;
pub mod impact;
pub mod position;

use crate::config;
use crate::event::{
    Bar, Cancel, Event, Fill, Level, Liquidity, Order, OrderStatus, OrderType, OrderUpdate, Side,
    TimeInForce, Trade, Trail,
};
use crate::reason::Reason;
use crate::risk::usd;
use balances::Balances;
use impact::Impact;
use position::Positions;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Fee rates and matching options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperConfig {
    pub maker_fee_bps: Decimal,
    pub taker_fee_bps: Decimal,
    pub partial_fills: bool,
    /// Orders that may rest or wait at once (`paper.max_open_orders`); one more is rejected
    /// with `open_orders_cap`, so a flood of orders cannot exhaust memory.
    pub max_open_orders: usize,
}

impl PaperConfig {
    pub fn new(p: &config::Paper, partial_fills: bool) -> Self {
        PaperConfig {
            maker_fee_bps: p.maker_fee_bps,
            taker_fee_bps: p.taker_fee_bps,
            partial_fills,
            max_open_orders: p.max_open_orders,
        }
    }
}

/// What an order or a cancel did, for the shell to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Filled,
    Resting,
    /// A market order waiting for the symbol's first trade.
    Waiting,
    /// A stop or take-profit waiting for its trigger.
    Armed,
    /// An order or cancel on its way to the venue (`paper.latency_ms`).
    InFlight,
    /// An `ioc` or `fok` order that could not fill at once (an `order_update` `expired` says
    /// so).
    Expired,
    Cancelled,
    /// A cancel for an order that is not open (filled, cancelled or never seen).
    NotOpen,
    /// An order whose intent id is already open here.
    Duplicate,
    /// An order this engine cannot fill (an `order_update` `rejected` with the code says so).
    Rejected(Reason),
    /// An order the spot balances cannot pay for (an `order_update` `rejected` says so).
    Unfunded,
    Ignored,
}

/// An open order and what is left of it.
#[derive(Debug, Clone)]
struct Open {
    order: Order<'static>,
    remaining: Decimal,
    /// The earliest bar open it may fill in: its acceptance, or just after the open of the bar
    /// that triggered it (a stop never fills in a bar twice).
    live_from_ns: i64,
    /// Displayed size ahead of it at its price (`paper.queue_position`), which trades there
    /// must take before it fills.
    ahead: Decimal,
}

impl Open {
    fn new(order: Order<'static>, remaining: Decimal) -> Self {
        let live_from_ns = order.ts_accepted_ns;
        Open {
            order,
            remaining,
            live_from_ns,
            ahead: Decimal::ZERO,
        }
    }

    /// Whether it must fill at once or expire (`ioc`, `fok`).
    fn immediate(&self) -> bool {
        matches!(
            self.order.time_in_force,
            Some(TimeInForce::Ioc | TimeInForce::Fok)
        )
    }
}

/// A stop or take-profit waiting for its trigger.
#[derive(Debug, Clone)]
struct Armed {
    open: Open,
    /// A trailing stop's best price since acceptance (highest for a sell, lowest for a buy);
    /// `None` until the symbol has a price.
    best: Option<Decimal>,
}

impl Armed {
    /// The stop price now: fixed, or trailing `best`.
    fn stop(&self) -> Option<Decimal> {
        self.open.order.stop_at(self.best)
    }

    /// Moves a trailing stop's best price with the market.
    fn follow(&mut self, price: Decimal) {
        if self.open.order.trail.is_none() {
            return;
        }
        self.best = Some(Trail::follow(self.open.order.side, self.best, price));
    }
}

/// Book key: (sort price, arrival). Bids sort by the negated limit so the best comes first.
type Key = (Decimal, u64);

#[derive(Debug, Default)]
struct SymbolBook {
    bids: BTreeMap<Key, Open>,
    asks: BTreeMap<Key, Open>,
    /// Market orders waiting for a first price, by arrival.
    waiting: BTreeMap<u64, Open>,
    /// Stops and take-profits waiting for their trigger, by arrival.
    armed: BTreeMap<u64, Armed>,
}

impl SymbolBook {
    fn is_empty(&self) -> bool {
        self.bids.is_empty()
            && self.asks.is_empty()
            && self.waiting.is_empty()
            && self.armed.is_empty()
    }
}

/// Where an open order sits, by intent id.
#[derive(Debug, Clone)]
enum Slot {
    Bid(Key),
    Ask(Key),
    Waiting(u64),
    Armed(u64),
}

/// A stop a bar triggered: at what price, whether at the open, and its arrival.
struct Fired {
    open: Open,
    price: Decimal,
    at_open: bool,
    seq: u64,
}

/// The arrival number of an order's place on the book.
fn slot_seq(slot: &Slot) -> u64 {
    match slot {
        Slot::Bid((_, s)) | Slot::Ask((_, s)) => *s,
        Slot::Waiting(s) | Slot::Armed(s) => *s,
    }
}

/// How an order goes on the book.
enum Rest {
    /// A limit on its side, a market in the waiting line.
    Book,
    /// A stop waiting for its trigger, trailing from this price when it trails.
    Arm(Option<Decimal>),
}

/// The paper trader. Feed it every event with [`PaperEngine::on_event`].
#[derive(Debug)]
pub struct PaperEngine {
    cfg: PaperConfig,
    /// Last trade price per symbol, set on every trade.
    last: crate::prices::LastPrices,
    /// Last bar close per symbol: the reference of a tape of bars, where orders wait for the
    /// next bar.
    closes: crate::prices::LastPrices,
    /// Looked up on every trade while an order is open: FxHash (symbols come from the feed,
    /// DoS resistance buys nothing).
    books: FxHashMap<String, SymbolBook>,
    open: HashMap<String, (String, Slot)>,
    positions: Positions,
    seq: u64,
    fills: u64,
    /// Where taker fills land (`paper.slippage_model`).
    impact: Impact,
    balances: Option<Balances>,
    /// Orders refused because `max_open_orders` were open.
    refused: u64,
    /// One-cancels-other groups: the group key of each open member, and the members of each
    /// group (a key is strategy, symbol and `oco`).
    oco_of: HashMap<String, String>,
    groups: HashMap<String, Vec<String>>,
    /// Grouped orders (id, group key) triggered by the event being handled, whose siblings
    /// are cancelled.
    triggered: Vec<(String, String)>,
    /// Groups one of whose orders filled or triggered: a leg arriving later is cancelled.
    /// The last `max_open_orders` are kept.
    acted: std::collections::HashSet<String>,
    acted_order: std::collections::VecDeque<String>,
    /// `paper.latency_ms` and its seeded jitter; `None` without latency.
    latency: Option<Latency>,
    /// The last book per symbol, when resting limits queue behind its displayed size
    /// (`paper.queue_position`); `None` when off.
    queue_books: Option<FxHashMap<String, BookSides>>,
    /// Orders and cancels on their way, by (arrival time, sequence).
    in_flight: BTreeMap<(i64, u64), Event<'static>>,
    flight_seq: u64,
    /// The latest arrival time given, so that arrivals keep the order messages were sent in.
    last_arrival: i64,
    delivered: Vec<Outcome>,
}

/// A book's (bids, asks).
type BookSides = (Vec<Level>, Vec<Level>);

/// How long an order or cancel takes to reach the simulated venue, in event time.
#[derive(Debug)]
struct Latency {
    base_ns: i64,
    jitter_ns: i64,
    rng: rand_chacha::ChaCha8Rng,
}

/// The next delay: the base plus a seeded draw up to the jitter.
fn l_draw(l: &mut Option<Latency>) -> i64 {
    use rand::RngExt;
    match l {
        Some(l) if l.jitter_ns > 0 => l
            .base_ns
            .saturating_add(l.rng.random_range(0..=l.jitter_ns)),
        Some(l) => l.base_ns,
        None => 0,
    }
}

/// A quantity and price whose notional (and fee) stays far inside `Decimal`'s range, so no
/// arithmetic on it can overflow.
fn sane(qty: Decimal, price: Decimal) -> bool {
    qty.checked_mul(price)
        .and_then(|n| n.checked_mul(Decimal::from(1_000_000_000u64)))
        .is_some()
}

/// Refuses an order with an explicit `order_update` `rejected` carrying the stable code; the
/// log line says what exactly was wrong.
fn reject(o: &Order<'_>, reason: Reason, why: &str, out: &mut Vec<Event<'static>>) {
    tracing::warn!(intent_id = %o.intent_id, reason = reason.as_str(), "order {} rejected: {why}", o.intent_id);
    let mut update = closed(o, OrderStatus::Rejected, Decimal::ZERO, o.ts_accepted_ns);
    if let Event::OrderUpdate(u) = &mut update {
        u.reason = Some(reason);
    }
    out.push(update);
}

/// An order update of the engine's own: `rejected` (see [`reject`]), `canceled` (the other leg of its group acted),
/// `expired` (`ioc`/`fok` that could not fill at once, `post_only` that would have taken), or
/// `new` (a stop or take-profit triggered and now rests at its limit).
fn closed(o: &Order<'_>, status: OrderStatus, filled: Decimal, ts_ns: i64) -> Event<'static> {
    Event::OrderUpdate(OrderUpdate {
        symbol: Cow::Owned(o.symbol.to_string()),
        exchange_order_id: Cow::Owned(order_id(&o.intent_id)),
        client_order_id: Cow::Owned(o.intent_id.to_string()),
        status,
        reason: None,
        filled_qty: filled.normalize(),
        avg_price: Decimal::ZERO,
        ts_ns,
    })
}

/// The order id of the paper fills of an intent: derived, never random.
pub fn order_id(intent_id: &str) -> String {
    format!("paper-{intent_id}")
}

/// Pushes a fill and the position it leaves.
#[allow(clippy::too_many_arguments)]
fn fill(
    cfg: &PaperConfig,
    positions: &mut Positions,
    fills: &mut u64,
    o: &Order<'_>,
    qty: Decimal,
    price: Decimal,
    liquidity: Liquidity,
    ts_ns: i64,
    out: &mut Vec<Event<'static>>,
) {
    let bps = match liquidity {
        Liquidity::Maker => cfg.maker_fee_bps,
        Liquidity::Taker => cfg.taker_fee_bps,
    };
    let fee = (qty * price * bps / Decimal::from(10_000)).normalize();
    let strategy = o.strategy_id.as_deref();
    out.push(Event::Fill(Fill {
        order_id: Cow::Owned(order_id(&o.intent_id)),
        intent_id: Cow::Owned(o.intent_id.to_string()),
        strategy_id: strategy.map(|s| Cow::Owned(s.to_string())),
        symbol: Cow::Owned(o.symbol.to_string()),
        side: o.side,
        qty: qty.normalize(),
        price: price.normalize(),
        fee,
        fee_asset: Cow::Owned(usd::quote_of(&o.symbol).unwrap_or("").to_string()),
        liquidity,
        ts_fill_ns: ts_ns,
    }));
    let p = positions.apply(strategy, &o.symbol, o.side, qty, price, fee, ts_ns);
    out.push(Event::Position(p));
    *fills += 1;
}

impl PaperEngine {
    pub fn new(cfg: PaperConfig) -> Self {
        PaperEngine {
            cfg,
            last: crate::prices::LastPrices::default(),
            closes: crate::prices::LastPrices::default(),
            books: FxHashMap::default(),
            open: HashMap::new(),
            positions: Positions::default(),
            seq: 0,
            fills: 0,
            impact: Impact::new(impact::Model::Fixed, Decimal::ZERO, 0.0, 0),
            balances: None,
            refused: 0,
            oco_of: HashMap::new(),
            groups: HashMap::new(),
            triggered: Vec::new(),
            acted: Default::default(),
            acted_order: Default::default(),
            latency: None,
            queue_books: None,
            in_flight: BTreeMap::new(),
            flight_seq: 0,
            last_arrival: i64::MIN,
            delivered: Vec::new(),
        }
    }

    /// The engine `paper` configures: fees, slippage and, when `initial_balances` is not
    /// empty, spot balances.
    pub fn from_config(p: &config::Paper, partial_fills: bool) -> Self {
        let mut e = PaperEngine::new(PaperConfig::new(p, partial_fills));
        e.impact = Impact::new(
            p.slippage_model,
            p.slippage_bps,
            p.impact_k,
            p.impact_window_ms,
        );
        if p.queue_position {
            e.queue_books = Some(FxHashMap::default());
        }
        if p.latency_ms > 0 || p.latency_jitter_ms > 0 {
            use rand::SeedableRng;
            let ns = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
            e.latency = Some(Latency {
                base_ns: ns(p.latency_ms),
                jitter_ns: ns(p.latency_jitter_ms),
                rng: rand_chacha::ChaCha8Rng::seed_from_u64(p.latency_seed),
            });
        }
        if !p.initial_balances.is_empty() {
            let initial = p.initial_balances.iter().map(|(a, d)| (a.clone(), d.0));
            e.balances = Some(Balances::new(initial.collect(), p.allow_short));
        }
        e
    }

    /// Whether fills use the order book (the `book` slippage model, queue positions): a bus
    /// stage then subscribes to the book topics.
    pub fn walks_books(&self) -> bool {
        self.impact.walks_books() || self.queue_books.is_some()
    }

    /// Spot balances, when configured.
    pub fn balances(&self) -> Option<&Balances> {
        self.balances.as_ref()
    }

    /// Handles one event; trades may fill open orders, orders may fill at once. With a
    /// latency, an order or cancel is in flight until its arrival time: it reaches the book
    /// just before the first event at or after it (at the market as it stood then).
    pub fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Event<'static>>) -> Outcome {
        if self.latency.is_some() {
            let ts = ev.ts_ns();
            self.deliver(ts, out);
            if let Event::Order(o) = ev
                && self.in_flight.len() >= self.cfg.max_open_orders
            {
                let n = self.in_flight.len();
                return self.too_many(o, "orders are in flight already", n, out);
            }
            if let Event::Order(_) | Event::Cancel(_) = ev {
                let delay = l_draw(&mut self.latency);
                self.flight_seq += 1;
                // First sent, first arrived: a cancel never overtakes its order.
                let arrival = ts.saturating_add(delay).max(self.last_arrival);
                self.last_arrival = arrival;
                self.in_flight
                    .insert((arrival, self.flight_seq), ev.clone().into_owned());
                return Outcome::InFlight;
            }
        }
        self.handle(ev, out)
    }

    /// Delivers the orders and cancels in flight that arrive by `ts`, each at its arrival
    /// time; their outcomes wait in [`PaperEngine::take_delivered`].
    fn deliver(&mut self, ts: i64, out: &mut Vec<Event<'static>>) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > ts {
                break;
            }
            let ((arrival, _), mut ev) = entry.remove_entry();
            match &mut ev {
                Event::Order(o) => o.ts_accepted_ns = arrival,
                Event::Cancel(c) => c.ts_ns = arrival,
                _ => {}
            }
            let outcome = self.handle(&ev, out);
            self.delivered.push(outcome);
        }
    }

    /// The outcomes of the orders and cancels delivered after their latency since the last
    /// call (the shell and the backtester count them as they count the others).
    pub fn take_delivered(&mut self) -> Vec<Outcome> {
        std::mem::take(&mut self.delivered)
    }

    fn handle(&mut self, ev: &Event<'_>, out: &mut Vec<Event<'static>>) -> Outcome {
        let start = out.len();
        let outcome = match ev {
            Event::Trade(t) => {
                self.on_trade(t, out);
                Outcome::Ignored
            }
            Event::Bar(b) => {
                self.on_bar(b, out);
                Outcome::Ignored
            }
            Event::Order(o) => self.on_order(o, out),
            Event::Cancel(c) => self.on_cancel_group(c, out),
            Event::Book(b) => {
                self.impact.on_book(b);
                if let Some(books) = self.queue_books.as_mut() {
                    books.insert(b.symbol.to_string(), (b.bids.clone(), b.asks.clone()));
                }
                Outcome::Ignored
            }
            _ => Outcome::Ignored,
        };
        if !self.oco_of.is_empty() {
            self.settle_groups(start, ev.ts_ns(), out);
        }
        if let Some(b) = self.balances.as_mut() {
            for e in &out[start..] {
                match e {
                    Event::Fill(f) => b.settle(f),
                    Event::OrderUpdate(u)
                        if matches!(
                            u.status,
                            OrderStatus::Canceled | OrderStatus::Expired | OrderStatus::Rejected
                        ) =>
                    {
                        b.release(&u.client_order_id)
                    }
                    _ => {}
                }
            }
        }
        outcome
    }

    /// Records the price and fills what the trade reaches: waiting market orders at the trade
    /// price (taker), then crossed resting limits at their limit (maker).
    pub fn on_trade(&mut self, t: &Trade<'_>, out: &mut Vec<Event<'static>>) {
        self.last.set(&t.symbol, t.price, t.ts_ns);
        if self.impact.watches() {
            self.impact.on_trade(&t.symbol, t.ts_ns, t.price, t.qty);
        }
        // Every resting or waiting order is in `open`: with none, there is nothing to fill
        // (the common case between a strategy's orders) and no book to look up.
        if self.open.is_empty() {
            return;
        }
        self.trigger_on_trade(t, out);
        let PaperEngine {
            cfg,
            books,
            open,
            positions,
            fills,
            impact,
            oco_of,
            ..
        } = self;
        let Some(book) = books.get_mut(t.symbol.as_ref()) else {
            return;
        };
        if book.is_empty() {
            return;
        }
        while let Some(entry) = book.waiting.first_entry() {
            if !sane(entry.get().remaining, t.price) {
                break;
            }
            let w = entry.remove();
            open.remove(w.order.intent_id.as_ref());
            let p = impact.taker_price(&w.order.symbol, w.order.side, w.remaining, t.price);
            let (q, ts) = (w.remaining, t.ts_ns);
            fill(
                cfg,
                positions,
                fills,
                &w.order,
                q,
                p,
                Liquidity::Taker,
                ts,
                out,
            );
        }
        // Of one group, only the first order the trade reaches fills; settling the groups
        // cancels the others.
        let mut acted: Vec<&str> = Vec::new();
        let mut cross = |side: &mut BTreeMap<Key, Open>, crosses: &dyn Fn(Decimal) -> bool| {
            let mut avail = t.qty;
            let mut after: Option<Key> = None;
            loop {
                let next = match after {
                    None => side.keys().next(),
                    Some(k) => side
                        .range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                        .next()
                        .map(|(k, _)| k),
                };
                let Some(k) = next.copied() else { break };
                after = Some(k);
                let Some(o) = side.get_mut(&k) else { break };
                let limit = o.order.limit_price.unwrap_or_default();
                if !crosses(limit) || (cfg.partial_fills && avail <= Decimal::ZERO) {
                    break;
                }
                if o.ahead > Decimal::ZERO {
                    if t.price == limit {
                        // The trade takes the displayed size ahead of it first.
                        let used = o.ahead.min(avail.max(Decimal::ZERO));
                        o.ahead -= used;
                        avail -= used;
                        if o.ahead > Decimal::ZERO || avail <= Decimal::ZERO {
                            continue;
                        }
                    } else {
                        // Traded through its price: the queue there is gone.
                        o.ahead = Decimal::ZERO;
                    }
                }
                if let Some(g) = oco_of.get(o.order.intent_id.as_ref()) {
                    if acted.contains(&g.as_str()) {
                        continue;
                    }
                    acted.push(g);
                }
                let q = if cfg.partial_fills {
                    o.remaining.min(avail)
                } else {
                    o.remaining
                };
                if q <= Decimal::ZERO {
                    continue;
                }
                fill(
                    cfg,
                    positions,
                    fills,
                    &o.order,
                    q,
                    limit,
                    Liquidity::Maker,
                    t.ts_ns,
                    out,
                );
                o.remaining -= q;
                avail -= q;
                if o.remaining <= Decimal::ZERO
                    && let Some(o) = side.remove(&k)
                {
                    open.remove(o.order.intent_id.as_ref());
                }
            }
        };
        cross(&mut book.bids, &|limit| t.price <= limit);
        cross(&mut book.asks, &|limit| t.price >= limit);
    }

    /// Moves trailing stops with the trade and triggers the stops it reaches, in arrival
    /// order, at the trade's price (never at the stop when the market gapped through it).
    fn trigger_on_trade(&mut self, t: &Trade<'_>, out: &mut Vec<Event<'static>>) {
        let Some(book) = self.books.get_mut(t.symbol.as_ref()) else {
            return;
        };
        if book.armed.is_empty() {
            return;
        }
        let mut fired = Vec::new();
        for (k, a) in book.armed.iter_mut() {
            a.follow(t.price);
            let o = &a.open.order;
            if a.stop()
                .is_some_and(|stop| o.order_type.triggers(o.side, stop, t.price))
            {
                fired.push(*k);
            }
        }
        let fired: Vec<Open> = fired
            .into_iter()
            .filter_map(|k| book.armed.remove(&k))
            .map(|a| a.open)
            .collect();
        let mut acted: Vec<String> = Vec::new();
        for o in fired {
            if let Some(g) = o.order.oco_group() {
                if acted.contains(&g) {
                    // Another stop of its group triggered on this trade first.
                    self.forget(&o.order.intent_id);
                    let filled = o.order.qty - o.remaining;
                    out.push(closed(&o.order, OrderStatus::Canceled, filled, t.ts_ns));
                    continue;
                }
                acted.push(g);
            }
            self.activate(o, t.price, t.ts_ns, t.ts_ns, out);
        }
        self.settle_groups(out.len(), t.ts_ns, out);
    }

    /// Triggers the due stops a bar reaches. A stop triggers at the open when the bar gapped
    /// through it, else at its stop price. When a bar reaches two orders of one
    /// one-cancels-other group, the one the open reached wins; otherwise the stop (the worse
    /// exit) is assumed to have come first. Trailing stops then follow the bar's best price:
    /// a bar's own range never moves the stop it is checked against.
    fn trigger_on_bar(&mut self, b: &Bar<'_>, out: &mut Vec<Event<'static>>) {
        let Some(book) = self.books.get_mut(b.symbol.as_ref()) else {
            return;
        };
        if book.armed.is_empty() {
            return;
        }
        let due = |o: &Open| o.live_from_ns <= b.ts_open_ns;
        let mut fired: Vec<(u64, Decimal, bool)> = Vec::new();
        for (k, a) in book.armed.iter() {
            let o = &a.open.order;
            let Some(stop) = a.stop().filter(|_| due(&a.open)) else {
                continue;
            };
            let (reached, at_open, price) = if o.order_type.triggers_on_rise(o.side) {
                (b.high >= stop, b.open >= stop, b.open.max(stop))
            } else {
                (b.low <= stop, b.open <= stop, b.open.min(stop))
            };
            if reached {
                fired.push((*k, price, at_open));
            }
        }
        for a in book.armed.values_mut().filter(|a| due(&a.open)) {
            let best = match a.open.order.side {
                Side::Sell => b.high,
                Side::Buy => b.low,
            };
            a.follow(best);
        }
        let mut fired: Vec<Fired> = fired
            .into_iter()
            .filter_map(|(seq, price, at_open)| {
                let open = book.armed.remove(&seq)?.open;
                Some(Fired {
                    open,
                    price,
                    at_open,
                    seq,
                })
            })
            .collect();
        if fired.is_empty() {
            return;
        }
        if !self.oco_of.is_empty() {
            fired = self.contest_on_bar(b, fired, out);
        }
        let live_from = b.ts_open_ns.saturating_add(1);
        for f in fired {
            self.activate(f.open, f.price, b.ts_open_ns, live_from, out);
        }
        // Before the bar's range meets the resting legs of their groups.
        self.settle_groups(out.len(), b.ts_open_ns, out);
    }

    /// Of the orders of one group that a bar reaches (stops it triggered, resting limits its
    /// range crosses), keeps one: the one the open reached, else a stop-loss, else the first
    /// to arrive. The stops that lose are cancelled here; limits that lose are cancelled when
    /// the winner fills or triggers.
    fn contest_on_bar(
        &mut self,
        b: &Bar<'_>,
        fired: Vec<Fired>,
        out: &mut Vec<Event<'static>>,
    ) -> Vec<Fired> {
        let mut fired = fired;
        fired.sort_by_key(|f| {
            let take_profit = f.open.order.order_type == OrderType::TakeProfitLimit;
            (!f.at_open, take_profit, f.seq)
        });
        let mut kept = Vec::with_capacity(fired.len());
        let mut losers = Vec::new();
        for f in fired {
            let Some(key) = f.open.order.oco_group() else {
                kept.push(f);
                continue;
            };
            let stop_loss = f.open.order.order_type != OrderType::TakeProfitLimit;
            let mine = (!f.at_open, !stop_loss, f.seq);
            let best_rival = self
                .groups
                .get(&key)
                .into_iter()
                .flatten()
                .filter_map(|id| {
                    let (_, slot) = self.open.get(id)?;
                    let book = self.books.get(b.symbol.as_ref())?;
                    let o = match slot {
                        Slot::Bid(k) => book.bids.get(k)?,
                        Slot::Ask(k) => book.asks.get(k)?,
                        _ => return None,
                    };
                    let l = o.order.limit_price?;
                    let (reached, at_open) = match o.order.side {
                        Side::Buy => (b.low <= l, b.open <= l),
                        Side::Sell => (b.high >= l, b.open >= l),
                    };
                    let due = o.live_from_ns <= b.ts_open_ns;
                    // One that this bar expires (post_only gapped through, ioc not at the
                    // open) is no rival.
                    let expires = (at_open && o.order.post_only) || (!at_open && o.immediate());
                    (due && reached && !expires).then_some((!at_open, true, slot_seq(slot)))
                });
            let beaten = best_rival.into_iter().any(|r| r < mine)
                || kept
                    .iter()
                    .chain(losers.iter())
                    .any(|k: &Fired| k.open.order.oco_group().as_ref() == Some(&key));
            if beaten {
                losers.push(f);
            } else {
                kept.push(f);
            }
        }
        for f in losers {
            self.forget(&f.open.order.intent_id);
            out.push(closed(
                &f.open.order,
                OrderStatus::Canceled,
                f.open.order.qty - f.open.remaining,
                b.ts_open_ns,
            ));
        }
        kept.sort_by_key(|f| f.seq);
        kept
    }

    /// A triggered stop goes to market: a stop-market fills in full at `price` (the trade
    /// or the bar price that triggered it) as taker; a stop-limit or take-profit-limit fills
    /// there as taker if its limit allows, else rests at its limit from `live_from_ns` (or
    /// expires if `ioc`/`fok`).
    fn activate(
        &mut self,
        o: Open,
        price: Decimal,
        ts_ns: i64,
        live_from_ns: i64,
        out: &mut Vec<Event<'static>>,
    ) {
        let id = o.order.intent_id.to_string();
        self.open.remove(&id);
        if let Some(key) = self.oco_of.get(&id) {
            self.triggered.push((id.clone(), key.clone()));
        }
        let side = o.order.side;
        let taker = self
            .impact
            .taker_price(&o.order.symbol, side, o.remaining, price);
        let fill_at = match (o.order.order_type, o.order.limit_price) {
            (OrderType::StopMarket, _) => Some(taker),
            (_, Some(l))
                if (side == Side::Buy && price <= l) || (side == Side::Sell && price >= l) =>
            {
                Some(match side {
                    Side::Buy => taker.min(l),
                    Side::Sell => taker.max(l),
                })
            }
            _ => None,
        };
        if let Some(p) = fill_at {
            if !sane(o.remaining, p) {
                self.forget(&id);
                reject(&o.order, Reason::InvalidOrder, "notional out of range", out);
                return;
            }
            let (cfg, pos, fills) = (&self.cfg, &mut self.positions, &mut self.fills);
            fill(
                cfg,
                pos,
                fills,
                &o.order,
                o.remaining,
                p,
                Liquidity::Taker,
                ts_ns,
                out,
            );
            self.forget(&id);
        } else if o.immediate() {
            self.forget(&id);
            out.push(closed(&o.order, OrderStatus::Expired, Decimal::ZERO, ts_ns));
        } else {
            // Journaled as `new`: a restart restores it as the resting limit it now is.
            out.push(closed(&o.order, OrderStatus::New, Decimal::ZERO, ts_ns));
            let mut o = o;
            o.live_from_ns = live_from_ns;
            self.insert(o, Rest::Book);
        }
    }

    /// Drops an order that left the book from the open set and its group.
    fn forget(&mut self, id: &str) {
        self.open.remove(id);
        if let Some(key) = self.oco_of.remove(id)
            && let Some(members) = self.groups.get_mut(&key)
        {
            members.retain(|m| m != id);
            if members.is_empty() {
                self.groups.remove(&key);
            }
        }
    }

    /// Takes an open order off the book; `None` if it is not open.
    fn take(&mut self, id: &str) -> Option<Open> {
        let (symbol, slot) = self.open.get(id)?.clone();
        let book = self.books.get_mut(&symbol)?;
        let o = match slot {
            Slot::Bid(k) => book.bids.remove(&k),
            Slot::Ask(k) => book.asks.remove(&k),
            Slot::Waiting(s) => book.waiting.remove(&s),
            Slot::Armed(s) => book.armed.remove(&s).map(|a| a.open),
        };
        self.forget(id);
        o
    }

    /// Cancels the other members of the groups whose orders filled or triggered in
    /// `out[start..]`.
    fn settle_groups(&mut self, start: usize, ts_ns: i64, out: &mut Vec<Event<'static>>) {
        let mut acted = std::mem::take(&mut self.triggered);
        for e in &out[start..] {
            if let Event::Fill(f) = e
                && let Some(key) = self.oco_of.get(f.intent_id.as_ref())
            {
                acted.push((f.intent_id.to_string(), key.clone()));
            }
        }
        for (id, key) in acted {
            self.mark_acted(&key);
            self.cancel_group(&key, Some(&id), ts_ns, out);
        }
    }

    /// The open orders of a group.
    fn group_members(&self, key: Option<&str>) -> Vec<String> {
        key.and_then(|k| self.groups.get(k))
            .cloned()
            .unwrap_or_default()
    }

    /// Remembers that a group acted, so a leg arriving later is cancelled.
    fn mark_acted(&mut self, key: &str) {
        if self.acted.insert(key.to_string()) {
            self.acted_order.push_back(key.to_string());
            if self.acted_order.len() > self.cfg.max_open_orders.max(1)
                && let Some(old) = self.acted_order.pop_front()
            {
                self.acted.remove(&old);
            }
        }
    }

    /// Cancels every open member of a group but `except`, with a `canceled` order update each.
    fn cancel_group(
        &mut self,
        key: &str,
        except: Option<&str>,
        ts_ns: i64,
        out: &mut Vec<Event<'static>>,
    ) {
        let members = self.groups.remove(key).unwrap_or_default();
        for m in members {
            if Some(m.as_str()) == except {
                self.oco_of.remove(&m);
                continue;
            }
            if let Some(o) = self.take(&m) {
                let filled = o.order.qty - o.remaining;
                out.push(closed(&o.order, OrderStatus::Canceled, filled, ts_ns));
            }
        }
    }

    /// Records a closed bar's close and fills the orders accepted before the bar opened: waiting
    /// market orders at the open, resting limits its range reaches (see the module docs).
    pub fn on_bar(&mut self, b: &Bar<'_>, out: &mut Vec<Event<'static>>) {
        self.closes.set(&b.symbol, b.close, b.ts_close_ns);
        if self.open.is_empty() {
            return;
        }
        self.trigger_on_bar(b, out);
        let PaperEngine {
            cfg,
            books,
            open,
            positions,
            fills,
            impact,
            ..
        } = self;
        let Some(book) = books.get_mut(b.symbol.as_ref()) else {
            return;
        };
        // Only orders accepted before the bar opened: never one inside the bar that made it.
        let due = |o: &Open| o.live_from_ns <= b.ts_open_ns;
        let ts = b.ts_open_ns;
        let waiting: Vec<u64> = book
            .waiting
            .iter()
            .filter(|(_, w)| due(w) && sane(w.remaining, b.open))
            .map(|(k, _)| *k)
            .collect();
        for k in waiting {
            if let Some(w) = book.waiting.remove(&k) {
                open.remove(w.order.intent_id.as_ref());
                let p = impact.taker_price(&w.order.symbol, w.order.side, w.remaining, b.open);
                fill(
                    cfg,
                    positions,
                    fills,
                    &w.order,
                    w.remaining,
                    p,
                    Liquidity::Taker,
                    ts,
                    out,
                );
            }
        }
        // `ioc`/`fok` get the open only; `post_only` never takes: the open gapping through
        // it expires it.
        let mut expired = Vec::new();
        let mut cross = |side: &mut BTreeMap<Key, Open>, reached: &dyn Fn(Decimal) -> bool| {
            let keys: Vec<Key> = side
                .iter()
                .filter(|(_, o)| {
                    due(o)
                        && (o.immediate()
                            || o.order.post_only
                            || reached(o.order.limit_price.unwrap_or_default()))
                })
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                let Some(o) = side.get(&k) else { continue };
                let limit = o.order.limit_price.unwrap_or_default();
                let gapped = match o.order.side {
                    Side::Buy => b.open <= limit,
                    Side::Sell => b.open >= limit,
                };
                let expire = (gapped && o.order.post_only) || (!gapped && o.immediate());
                if !expire && !gapped && !reached(limit) {
                    // A post_only order the bar does not reach rests on.
                    continue;
                }
                let Some(o) = side.remove(&k) else { continue };
                open.remove(o.order.intent_id.as_ref());
                if expire {
                    out.push(closed(&o.order, OrderStatus::Expired, Decimal::ZERO, ts));
                    expired.push(o.order.intent_id.to_string());
                    continue;
                }
                let (price, liquidity) = if gapped {
                    let p = impact.taker_price(&o.order.symbol, o.order.side, o.remaining, b.open);
                    let p = match o.order.side {
                        Side::Buy => p.min(limit),
                        Side::Sell => p.max(limit),
                    };
                    (p, Liquidity::Taker)
                } else {
                    (limit, Liquidity::Maker)
                };
                fill(
                    cfg,
                    positions,
                    fills,
                    &o.order,
                    o.remaining,
                    price,
                    liquidity,
                    ts,
                    out,
                );
            }
        };
        cross(&mut book.bids, &|limit| b.low <= limit);
        cross(&mut book.asks, &|limit| b.high >= limit);
        for id in expired {
            self.forget(&id);
        }
    }

    /// Fills a marketable order at once, or leaves it open.
    pub fn on_order(&mut self, o: &Order<'_>, out: &mut Vec<Event<'static>>) -> Outcome {
        if o.qty <= Decimal::ZERO {
            return self.invalid(o, "qty must be positive", out);
        }
        if o.intent_id.is_empty() {
            return self.invalid(o, "missing intent_id", out);
        }
        if self.open.contains_key(o.intent_id.as_ref()) {
            return Outcome::Duplicate;
        }
        if o.exec.is_some() {
            let why = "an order with exec is a parent: run njord-exec between risk and paper";
            return self.invalid(o, why, out);
        }
        if let Some(g) = o.oco_group()
            && self.acted.contains(&g)
        {
            // Another order of its group filled or triggered already.
            out.push(closed(
                o,
                OrderStatus::Canceled,
                Decimal::ZERO,
                o.ts_accepted_ns,
            ));
            return Outcome::Cancelled;
        }
        let last = self.last.get(o.symbol.as_ref());
        // A tape of bars: nothing fills now; the order waits for the next bar, and the last
        // close prices the balance check.
        let close = last
            .is_none()
            .then(|| self.closes.get(o.symbol.as_ref()))
            .flatten();
        let limit = if o.order_type.has_limit() {
            match o.limit_price {
                Some(p) if p > Decimal::ZERO => Some(p),
                _ => return self.invalid(o, "a limit order needs a positive limit_price", out),
            }
        } else {
            None
        };
        if o.order_type.is_triggered() {
            return self.arm(o, limit, last.or(close), out);
        }
        let marketable = match (last, limit) {
            (Some(_), None) => true,
            (Some(p), Some(l)) => match o.side {
                Side::Buy => p <= l,
                Side::Sell => p >= l,
            },
            (None, _) => false,
        };
        if !marketable && self.open.len() >= self.cfg.max_open_orders {
            return self.too_many(o, "orders are open already", self.open.len(), out);
        }
        let group = o.oco_group();
        let immediate = matches!(o.time_in_force, Some(TimeInForce::Ioc | TimeInForce::Fok));
        if immediate && last.is_none() && close.is_none() {
            // Nothing to fill against now: it expires, as at the exchange.
            out.push(closed(
                o,
                OrderStatus::Expired,
                Decimal::ZERO,
                o.ts_accepted_ns,
            ));
            return Outcome::Expired;
        }
        if let Some(p) = last.filter(|_| limit.is_some()) {
            if marketable && o.post_only {
                let why = format!("post_only would take liquidity: the last trade is {p}");
                return self.invalid(o, &why, out);
            }
            if !marketable && immediate {
                out.push(closed(
                    o,
                    OrderStatus::Expired,
                    Decimal::ZERO,
                    o.ts_accepted_ns,
                ));
                return Outcome::Expired;
            }
        }
        if self.balances.is_some() {
            let (price, bps) = match (marketable, last, limit, close) {
                (true, Some(p), _, _) | (false, None, None, Some(p)) => (
                    self.impact.taker_price(&o.symbol, o.side, o.qty, p),
                    self.cfg.taker_fee_bps,
                ),
                (false, _, Some(l), _) => (l, self.cfg.maker_fee_bps),
                _ => {
                    let why = "no price yet to check the balance against";
                    return self.unfunded(o, Reason::NoRefPrice, why, out);
                }
            };
            if !sane(o.qty, price) {
                return self.invalid(o, "notional out of range", out);
            }
            let shared = self.group_members(group.as_deref());
            if let Some(b) = self.balances.as_mut()
                && let Err((reason, why)) =
                    b.reserve(&o.intent_id, &o.symbol, o.side, o.qty, price, bps, &shared)
            {
                return self.unfunded(o, reason, &why, out);
            }
        }
        if let (true, Some(p)) = (marketable, last) {
            let p = self.impact.taker_price(&o.symbol, o.side, o.qty, p);
            if !sane(o.qty, p) {
                return self.invalid(o, "notional out of range", out);
            }
            let (cfg, pos, fills) = (&self.cfg, &mut self.positions, &mut self.fills);
            fill(
                cfg,
                pos,
                fills,
                o,
                o.qty,
                p,
                Liquidity::Taker,
                o.ts_accepted_ns,
                out,
            );
            if let Some(g) = group {
                self.mark_acted(&g);
                self.cancel_group(&g, None, o.ts_accepted_ns, out);
            }
            return Outcome::Filled;
        }
        if let Some(l) = limit
            && !sane(o.qty, l)
        {
            return self.invalid(o, "notional out of range", out);
        }
        self.rest(o.to_static(), o.qty)
    }

    /// Checks a stop or take-profit and arms it: it needs a stop price or a trail, must not
    /// trigger at once against `price` (the last trade or bar close, which the exchange would
    /// refuse), and locks its balance at the price it trades at once triggered.
    fn arm(
        &mut self,
        o: &Order<'_>,
        limit: Option<Decimal>,
        price: Option<Decimal>,
        out: &mut Vec<Event<'static>>,
    ) -> Outcome {
        let name = o.order_type.as_str();
        let stop = match (o.stop_price, o.trail) {
            (Some(s), None) if s > Decimal::ZERO => Some(s),
            (None, Some(t))
                if o.order_type != OrderType::TakeProfitLimit
                    && t.stop(o.side, Decimal::ONE_HUNDRED).is_some() =>
            {
                None
            }
            _ => {
                let why = format!("a {name} order needs a positive stop_price or a valid trail");
                return self.invalid(o, &why, out);
            }
        };
        if let (Some(s), Some(p)) = (stop, price)
            && o.order_type.triggers(o.side, s, p)
        {
            let why = format!("a {name} at {s} would trigger at once: the last price is {p}");
            return self.invalid(o, &why, out);
        }
        if self.open.len() >= self.cfg.max_open_orders {
            return self.too_many(o, "orders are open already", self.open.len(), out);
        }
        // A buy trailing stop cannot trigger below its trail above the market.
        let trailed = o
            .trail
            .zip(price)
            .and_then(|(t, p)| t.stop(o.side, p).map(|s| s.max(p)));
        let Some(value) = limit.or(stop).or(trailed) else {
            if self.balances.is_some() {
                let why = "no price yet to check the balance against";
                return self.unfunded(o, Reason::NoRefPrice, why, out);
            }
            return self.insert(Open::new(o.to_static(), o.qty), Rest::Arm(None));
        };
        let value = match limit {
            Some(_) => value,
            None => self.impact.taker_price(&o.symbol, o.side, o.qty, value),
        };
        if !sane(o.qty, value) {
            return self.invalid(o, "notional out of range", out);
        }
        let bps = self.cfg.taker_fee_bps;
        let shared = self.group_members(o.oco_group().as_deref());
        if let Some(b) = self.balances.as_mut()
            && let Err((reason, why)) =
                b.reserve(&o.intent_id, &o.symbol, o.side, o.qty, value, bps, &shared)
        {
            return self.unfunded(o, reason, &why, out);
        }
        let best = o.trail.and(price);
        self.insert(Open::new(o.to_static(), o.qty), Rest::Arm(best))
    }

    /// Puts an order on the book: a stop waiting for its trigger, a limit at its price, a
    /// market in the waiting line.
    fn rest(&mut self, order: Order<'static>, remaining: Decimal) -> Outcome {
        let how = if order.order_type.is_triggered() {
            Rest::Arm(None)
        } else {
            Rest::Book
        };
        self.insert(Open::new(order, remaining), how)
    }

    fn insert(&mut self, mut open: Open, how: Rest) -> Outcome {
        if let (Rest::Book, Some(books), Some(l)) =
            (&how, &self.queue_books, open.order.limit_price)
            && let Some((bids, asks)) = books.get(open.order.symbol.as_ref())
        {
            let side = match open.order.side {
                Side::Buy => bids,
                Side::Sell => asks,
            };
            open.ahead = side
                .iter()
                .find(|lv| lv.price == l)
                .map_or(Decimal::ZERO, |lv| lv.qty);
        }
        self.seq += 1;
        let seq = self.seq;
        let book = self.books.entry(open.order.symbol.to_string()).or_default();
        let id = open.order.intent_id.to_string();
        let symbol = open.order.symbol.to_string();
        let group = open.order.oco_group();
        let limit = open
            .order
            .limit_price
            .filter(|_| open.order.order_type.has_limit());
        let (slot, outcome) = match (how, limit) {
            (Rest::Arm(best), _) => {
                book.armed.insert(seq, Armed { open, best });
                (Slot::Armed(seq), Outcome::Armed)
            }
            (Rest::Book, Some(l)) => {
                let slot = match open.order.side {
                    Side::Buy => {
                        book.bids.insert((-l, seq), open);
                        Slot::Bid((-l, seq))
                    }
                    Side::Sell => {
                        book.asks.insert((l, seq), open);
                        Slot::Ask((l, seq))
                    }
                };
                (slot, Outcome::Resting)
            }
            (Rest::Book, None) => {
                book.waiting.insert(seq, open);
                (Slot::Waiting(seq), Outcome::Waiting)
            }
        };
        if let Some(key) = group
            && !self.oco_of.contains_key(&id)
        {
            let members = self.groups.entry(key.clone()).or_default();
            members.push(id.clone());
            self.oco_of.insert(id.clone(), key);
        }
        self.open.insert(id, (symbol, slot));
        outcome
    }

    /// Refuses an order past `paper.max_open_orders` (`open_orders_cap`) and counts it.
    fn too_many(
        &mut self,
        o: &Order<'_>,
        what: &str,
        n: usize,
        out: &mut Vec<Event<'static>>,
    ) -> Outcome {
        self.refused += 1;
        let why = format!("{n} {what} (paper.max_open_orders)");
        reject(o, Reason::OpenOrdersCap, &why, out);
        Outcome::Rejected(Reason::OpenOrdersCap)
    }

    /// Rejects an order the balances cannot pay for.
    fn unfunded(
        &mut self,
        o: &Order<'_>,
        reason: Reason,
        why: &str,
        out: &mut Vec<Event<'static>>,
    ) -> Outcome {
        reject(o, reason, why, out);
        Outcome::Unfunded
    }

    /// Rejects an order this engine cannot fill as given.
    fn invalid(&mut self, o: &Order<'_>, why: &str, out: &mut Vec<Event<'static>>) -> Outcome {
        reject(o, Reason::InvalidOrder, why, out);
        Outcome::Rejected(Reason::InvalidOrder)
    }

    /// Removes an open order.
    pub fn on_cancel(&mut self, c: &Cancel<'_>) -> Outcome {
        if self.take(c.intent_id.as_ref()).is_none() {
            return Outcome::NotOpen;
        }
        if let Some(b) = self.balances.as_mut() {
            b.release(&c.intent_id);
        }
        Outcome::Cancelled
    }

    /// Removes an open order and, as the exchange does for an OCO list, the rest of its group
    /// (each with a `canceled` order update).
    fn on_cancel_group(&mut self, c: &Cancel<'_>, out: &mut Vec<Event<'static>>) -> Outcome {
        let group = self.oco_of.get(c.intent_id.as_ref()).cloned();
        let outcome = self.on_cancel(c);
        if let Some(key) = group {
            self.cancel_group(&key, None, c.ts_ns, out);
        }
        outcome
    }

    /// Reopens an order with what was left of it (`--resume`), in arrival order; past
    /// `max_open_orders` it is counted as refused instead.
    pub fn restore(&mut self, order: Order<'static>, remaining: Decimal) {
        if remaining > Decimal::ZERO && !self.open.contains_key(order.intent_id.as_ref()) {
            if self.open.len() >= self.cfg.max_open_orders {
                self.refused += 1;
            } else {
                self.rest(order, remaining);
            }
        }
    }

    /// Reopens a stop or take-profit that had triggered and rests at its limit (`--resume`),
    /// outside any group (its group acted when it triggered).
    pub fn restore_triggered(&mut self, mut order: Order<'static>, remaining: Decimal) {
        if remaining > Decimal::ZERO && !self.open.contains_key(order.intent_id.as_ref()) {
            if self.open.len() >= self.cfg.max_open_orders {
                self.refused += 1;
            } else {
                order.oco = None;
                self.insert(Open::new(order, remaining), Rest::Book);
            }
        }
    }

    /// Applies a journaled fill to the positions and balances (`--resume`), emitting nothing.
    /// Orders reopened by [`PaperEngine::restore`] lock no balance.
    pub fn replay_fill(&mut self, f: &Fill<'_>) {
        if let Some(b) = self.balances.as_mut() {
            b.settle(f);
        }
        self.positions.apply(
            f.strategy_id.as_deref(),
            &f.symbol,
            f.side,
            f.qty,
            f.price,
            f.fee,
            f.ts_fill_ns,
        );
        self.fills += 1;
    }

    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// Orders open (resting limits and waiting markets).
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    pub fn fills(&self) -> u64 {
        self.fills
    }

    /// Orders refused because `max_open_orders` were open (`open_orders_cap`).
    pub fn refused_open_orders(&self) -> u64 {
        self.refused
    }

    /// Realized PnL net of fees on the UTC day of `ts_ns`, over every position, in USD
    /// (non-USD quotes at their last USD price when known, else at face value).
    pub fn pnl_day_usd(&self, ts_ns: i64) -> Decimal {
        self.positions.pnl_day_usd(ts_ns, &self.last)
    }

    /// The exit summary: one row per position, then totals.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<12} {:<14} {:>14} {:>14} {:>14} {:>12} {:>7}",
            "symbol", "strategy", "qty", "avg_price", "realized_pnl", "fees", "fills"
        );
        let (mut realized, mut fees) = (Decimal::ZERO, Decimal::ZERO);
        for ((strategy, symbol), p) in self.positions.iter() {
            realized += p.realized();
            fees += p.fees();
            let _ = writeln!(
                s,
                "{:<12} {:<14} {:>14} {:>14} {:>14} {:>12} {:>7}",
                symbol,
                strategy.as_deref().unwrap_or("-"),
                p.qty().normalize(),
                p.avg_price(),
                p.realized().normalize(),
                p.fees().normalize(),
                p.fills()
            );
        }
        let _ = writeln!(
            s,
            "positions: {}  realized_pnl: {}  fees: {}  net: {}  fills: {}  orders resting: {}",
            self.positions.len(),
            realized.normalize(),
            fees.normalize(),
            (realized - fees).normalize(),
            self.fills,
            self.open.len()
        );
        if self.refused > 0 {
            let _ = writeln!(
                s,
                "orders refused (open_orders_cap, paper.max_open_orders): {}",
                self.refused
            );
        }
        s
    }
}

#[cfg(test)]
mod protective_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    fn cfg(partial: bool) -> PaperConfig {
        PaperConfig {
            maker_fee_bps: Decimal::from(10),
            taker_fee_bps: Decimal::from(20),
            partial_fills: partial,
            max_open_orders: 1_000,
        }
    }

    fn trade(price: &str, qty: &str, ts: i64) -> Event<'static> {
        decode(&format!(
            r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{ts}","price":{price},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
        ))
        .unwrap()
        .into_owned()
    }

    fn order(id: &str, side: &str, ty: &str, qty: &str, limit: &str, ts: i64) -> Event<'static> {
        decode(&format!(
            r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"A/USDT","side":"{side}","type":"{ty}","qty":{qty},"limit_price":{limit},"ts_accepted_ns":{ts}}}"#
        ))
        .unwrap()
        .into_owned()
    }

    /// (intent_id, qty, price, liquidity, ts) of each fill.
    fn fills(out: &[Event<'_>]) -> Vec<(String, String, String, Liquidity, i64)> {
        out.iter()
            .filter_map(|e| match e {
                Event::Fill(f) => Some((
                    f.intent_id.to_string(),
                    f.qty.to_string(),
                    f.price.to_string(),
                    f.liquidity,
                    f.ts_fill_ns,
                )),
                _ => None,
            })
            .collect()
    }

    fn run(e: &mut PaperEngine, evs: &[Event<'_>]) -> Vec<Event<'static>> {
        let mut out = vec![];
        for ev in evs {
            e.on_event(ev, &mut out);
        }
        out
    }

    use Liquidity::{Maker, Taker};

    /// A closed 1m bar opening at minute `m`.
    fn bar(m: i64, o: &str, h: &str, l: &str, c: &str) -> Event<'static> {
        let (open, close) = (m * 60_000_000_000, (m + 1) * 60_000_000_000);
        decode(&format!(
            r#"{{"kind":"bar","symbol":"A/USDT","timeframe":"1m","ts_open_ns":{open},"ts_close_ns":{close},"open":{o},"high":{h},"low":{l},"close":{c},"volume":5,"trades":3}}"#
        ))
        .unwrap()
        .into_owned()
    }

    /// Hand-checked cases of the bar fill model (fees 10/20 bps, slippage 50 bps).
    #[test]
    fn bars_fill_at_the_next_open_or_the_limit_never_inside_their_own_bar() {
        let m = 60_000_000_000;
        let mut e = PaperEngine::new(cfg(false));
        e.impact = Impact::new(impact::Model::Fixed, Decimal::from(50), 0.0, 0);
        let out = run(
            &mut e,
            &[
                bar(0, "10", "11", "9", "10.5"),
                // Orders at the close of bar 0 (the bar that produced them).
                order("mkt", "buy", "market", "2", "null", m),
                order("lim-buy", "buy", "limit", "1", "9.5", m),
                order("gap-sell", "sell", "limit", "1", "10", m),
                order("far", "sell", "limit", "1", "20", m),
            ],
        );
        assert_eq!(fills(&out), vec![], "nothing inside bar 0");
        // Bar 1 opens at 10.8, ranges 9.4..11: the market buy at the open + 50 bps = 10.854;
        // the buy limit 9.5 is reached (low 9.4) at its limit; the sell limit 10 was gapped
        // through (open 10.8 ≥ 10) so it fills at the open less 50 bps = 10.746 (taker).
        let out = run(&mut e, &[bar(1, "10.8", "11", "9.4", "10")]);
        assert_eq!(
            fills(&out),
            vec![
                ("mkt".into(), "2".into(), "10.854".into(), Taker, m),
                ("lim-buy".into(), "1".into(), "9.5".into(), Maker, m),
                ("gap-sell".into(), "1".into(), "10.746".into(), Taker, m),
            ]
        );
        // A gap never fills past the limit: a sell limit at 10.79 gapped at 10.8 with 50 bps
        // of slippage gets its limit, not 10.746.
        let out = run(
            &mut e,
            &[
                order("gap-2", "sell", "limit", "1", "10.79", 2 * m),
                bar(2, "10.8", "10.9", "10.7", "10.8"),
            ],
        );
        assert_eq!(
            fills(&out),
            vec![("gap-2".into(), "1".into(), "10.79".into(), Taker, 2 * m)]
        );
        // An hour bar that opened before the order cannot fill it (no look-back either).
        let h = decode(&format!(
            r#"{{"kind":"bar","symbol":"A/USDT","timeframe":"1h","ts_open_ns":0,"ts_close_ns":{},"open":1,"high":100,"low":1,"close":50,"volume":5,"trades":3}}"#,
            60 * m
        ))
        .unwrap()
        .into_owned();
        assert_eq!(fills(&run(&mut e, &[h])), vec![], "far stays open");
        // A trade tape keeps its own rules: once a trade is seen, orders fill against trades.
        let out = run(&mut e, &[trade("21", "1", 61 * m)]);
        assert_eq!(
            fills(&out),
            vec![("far".into(), "1".into(), "20".into(), Maker, 61 * m)]
        );
    }

    fn f(
        id: &str,
        q: &str,
        p: &str,
        l: Liquidity,
        ts: i64,
    ) -> (String, String, String, Liquidity, i64) {
        (id.into(), q.into(), p.into(), l, ts)
    }

    #[test]
    fn market_fills_at_last_or_waits_for_next_trade() {
        let mut e = PaperEngine::new(cfg(false));
        let out = run(
            &mut e,
            &[
                order("m1", "buy", "market", "2", "null", 1),
                trade("10", "0.5", 2),
                order("m2", "sell", "market", "1", "null", 3),
            ],
        );
        assert_eq!(
            fills(&out),
            vec![f("m1", "2", "10", Taker, 2), f("m2", "1", "10", Taker, 3)]
        );
        // A fill is always followed by its position.
        assert!(matches!(out[1], Event::Position(_)) && matches!(out[3], Event::Position(_)));
        let Event::Fill(fl) = &out[0] else { panic!() };
        assert_eq!(
            (
                fl.fee.to_string(),
                fl.fee_asset.as_ref(),
                fl.order_id.as_ref()
            ),
            ("0.04".into(), "USDT", "paper-m1")
        );
    }

    #[test]
    fn limit_marketable_on_arrival_is_taker_at_last() {
        let mut e = PaperEngine::new(cfg(false));
        let out = run(
            &mut e,
            &[
                trade("10", "1", 1),
                order("b", "buy", "limit", "1", "10", 2),
                order("s", "sell", "limit", "1", "9.5", 3),
            ],
        );
        assert_eq!(
            fills(&out),
            vec![f("b", "1", "10", Taker, 2), f("s", "1", "10", Taker, 3)]
        );
        assert_eq!(e.open_orders(), 0);
    }

    #[test]
    fn resting_limits_fill_at_limit_as_maker_when_crossed() {
        let mut e = PaperEngine::new(cfg(false));
        let out = run(
            &mut e,
            &[
                trade("10", "1", 1),
                order("b", "buy", "limit", "1", "9", 2),
                order("s", "sell", "limit", "2", "11", 3),
                trade("9.5", "1", 4),
                trade("9", "0.1", 5),
                trade("11.5", "0.1", 6),
            ],
        );
        assert_eq!(
            fills(&out),
            vec![f("b", "1", "9", Maker, 5), f("s", "2", "11", Maker, 6)]
        );
        let Event::Fill(fl) = &out[0] else { panic!() };
        assert_eq!(fl.fee.to_string(), "0.009");
    }

    #[test]
    fn price_then_arrival_priority_and_partial_fills() {
        let evs = [
            trade("10", "1", 1),
            order("b1", "buy", "limit", "1", "9", 2),
            order("b2", "buy", "limit", "1", "9.5", 3),
            order("b3", "buy", "limit", "1", "9.5", 4),
            trade("8", "1.5", 5),
            trade("8", "5", 6),
        ];
        let mut e = PaperEngine::new(cfg(true));
        let out = run(&mut e, &evs);
        assert_eq!(
            fills(&out),
            vec![
                f("b2", "1", "9.5", Maker, 5),
                f("b3", "0.5", "9.5", Maker, 5),
                f("b3", "0.5", "9.5", Maker, 6),
                f("b1", "1", "9", Maker, 6),
            ]
        );
        let mut e = PaperEngine::new(cfg(false));
        let out = run(&mut e, &evs);
        assert_eq!(
            fills(&out),
            vec![
                f("b2", "1", "9.5", Maker, 5),
                f("b3", "1", "9.5", Maker, 5),
                f("b1", "1", "9", Maker, 5)
            ]
        );
    }

    #[test]
    fn cancel_removes_an_open_order() {
        let mut e = PaperEngine::new(cfg(false));
        let c = decode(r#"{"kind":"cancel","intent_id":"b","ts_ns":3}"#).unwrap();
        let mut out = vec![];
        e.on_event(&trade("10", "1", 1), &mut out);
        assert_eq!(
            e.on_event(&order("b", "buy", "limit", "1", "9", 2), &mut out),
            Outcome::Resting
        );
        assert_eq!(e.on_event(&c, &mut out), Outcome::Cancelled);
        assert_eq!(e.on_event(&c, &mut out), Outcome::NotOpen);
        e.on_event(&trade("8", "1", 4), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn bad_and_duplicate_orders_are_rejected_not_panics() {
        let mut e = PaperEngine::new(cfg(false));
        let mut out = vec![];
        assert_eq!(
            e.on_event(&order("z", "buy", "market", "0", "null", 1), &mut out),
            Outcome::Rejected(Reason::InvalidOrder)
        );
        assert!(matches!(
            e.on_event(&order("l", "buy", "limit", "1", "null", 1), &mut out),
            Outcome::Rejected(_)
        ));
        assert_eq!(
            e.on_event(&order("w", "buy", "market", "1", "null", 1), &mut out),
            Outcome::Waiting
        );
        assert_eq!(
            e.on_event(&order("w", "buy", "market", "1", "null", 1), &mut out),
            Outcome::Duplicate
        );
        let huge = order(
            "h",
            "buy",
            "limit",
            "79228162514264337593543950335",
            "79228162514264337593543950335",
            1,
        );
        assert!(matches!(e.on_event(&huge, &mut out), Outcome::Rejected(_)));
        let rejected: Vec<(&str, OrderStatus, Option<Reason>)> = out
            .iter()
            .filter_map(|ev| match ev {
                Event::OrderUpdate(u) => Some((&*u.client_order_id, u.status, u.reason)),
                _ => None,
            })
            .collect();
        let invalid = (OrderStatus::Rejected, Some(Reason::InvalidOrder));
        assert_eq!(
            rejected,
            [
                ("z", invalid.0, invalid.1),
                ("l", invalid.0, invalid.1),
                ("h", invalid.0, invalid.1)
            ]
        );
        assert_eq!(out.len(), 3, "only the rejections: {out:?}");
    }

    use proptest::prelude::*;

    /// A random event: a trade, an order (market or limit, either side) or a cancel.
    fn event() -> impl Strategy<Value = (u8, bool, u32, u32, u8)> {
        (0u8..3, any::<bool>(), 1u32..50, 90u32..110, 0u8..20)
    }

    proptest! {
        /// Whatever the sequence: no order fills more than its quantity, with partial fills no
        /// trade gives one side more than its own quantity, every fill is followed by its
        /// position, and the position is the signed sum of the fills.
        #[test]
        fn matching_conserves_quantities(evs in prop::collection::vec(event(), 1..80), partial in any::<bool>()) {
            let mut e = PaperEngine::new(cfg(partial));
            let mut ordered: HashMap<String, Decimal> = HashMap::new();
            let mut filled: HashMap<String, Decimal> = HashMap::new();
            let mut net = Decimal::ZERO;
            for (n, (what, buy, q, px, id)) in evs.into_iter().enumerate() {
                let ts = n as i64;
                let (qty, price) = (Decimal::new(q as i64, 1), Decimal::new(px as i64, 1));
                let side = if buy { "buy" } else { "sell" };
                let id = format!("o{id}");
                let ev = match what {
                    0 => trade(&price.to_string(), &qty.to_string(), ts),
                    1 => {
                        let ty = if q % 3 == 0 { "market" } else { "limit" };
                        order(&id, side, ty, &qty.to_string(), &price.to_string(), ts)
                    }
                    _ => decode(&format!(r#"{{"kind":"cancel","intent_id":"{id}","ts_ns":{ts}}}"#)).unwrap().into_owned(),
                };
                let mut out = vec![];
                let outcome = e.on_event(&ev, &mut out);
                if let (Event::Order(o), Outcome::Filled | Outcome::Resting | Outcome::Waiting) = (&ev, outcome) {
                    *ordered.entry(o.intent_id.to_string()).or_default() += o.qty;
                }
                let mut maker = [Decimal::ZERO, Decimal::ZERO];
                for pair in out.chunks(2) {
                    let (Event::Fill(f), Event::Position(p)) = (&pair[0], &pair[1]) else {
                        return Err(TestCaseError::fail("a fill must be followed by its position"));
                    };
                    *filled.entry(f.intent_id.to_string()).or_default() += f.qty;
                    net += if f.side == Side::Buy { f.qty } else { -f.qty };
                    prop_assert_eq!(p.qty, net);
                    if f.liquidity == Liquidity::Maker {
                        maker[usize::from(f.side == Side::Sell)] += f.qty;
                    }
                }
                if let (true, Event::Trade(t)) = (partial, &ev) {
                    prop_assert!(maker[0] <= t.qty && maker[1] <= t.qty);
                }
                for (id, f) in &filled {
                    prop_assert!(*f <= ordered.get(id).copied().unwrap_or_default(), "{} overfilled", id);
                }
            }
        }
    }

    #[test]
    fn pnl_day_sums_positions_net_of_fees() {
        let mut e = PaperEngine::new(cfg(false));
        run(
            &mut e,
            &[
                trade("10", "1", 1),
                order("a", "buy", "market", "1", "null", 2),
                trade("12", "1", 3),
                order("b", "sell", "market", "1", "null", 4),
            ],
        );
        // realized 2, fees 0.02 + 0.024
        assert_eq!(e.pnl_day_usd(4).to_string(), "1.956");
        assert!(e.summary().contains("orders resting: 0"));
    }

    fn funded(balances: &str, allow_short: bool, slippage: &str) -> PaperEngine {
        let mut p = config::Paper {
            maker_fee_bps: Decimal::from(10),
            taker_fee_bps: Decimal::from(20),
            slippage_bps: slippage.parse().unwrap(),
            allow_short,
            ..config::Paper::default()
        };
        for kv in balances.split(',').filter(|s| !s.is_empty()) {
            let (a, v) = kv.split_once('=').unwrap();
            p.initial_balances
                .insert(a.into(), crate::num::Dec(v.parse().unwrap()));
        }
        PaperEngine::from_config(&p, false)
    }

    #[test]
    fn balances_pay_for_orders_and_lock_resting_ones() {
        let mut e = funded("USDT=100", false, "0");
        let out = run(
            &mut e,
            &[
                trade("10", "1", 1),
                // 9 × 10 + 0.18 fee = 90.18 ≤ 100: fills.
                order("a", "buy", "market", "9", "null", 2),
                // 1 × 10 + 0.02 > 9.82 free: rejected.
                order("b", "buy", "market", "1", "null", 3),
                // Selling 10 with 9 held: rejected.
                order("c", "sell", "market", "10", "null", 4),
                // Resting buy at 9 locks 0.9 + 0.0009 of the 9.82.
                order("d", "buy", "limit", "0.1", "9", 5),
                order("e", "buy", "limit", "1", "9", 6),
            ],
        );
        let rejected: Vec<(&str, Option<Reason>)> = out
            .iter()
            .filter_map(|ev| match ev {
                Event::OrderUpdate(u) if u.status == OrderStatus::Rejected => {
                    Some((&*u.client_order_id, u.reason))
                }
                _ => None,
            })
            .collect();
        let unfunded = Some(Reason::InsufficientBalance);
        assert_eq!(
            rejected,
            [("b", unfunded), ("c", unfunded), ("e", unfunded)]
        );
        let b = e.balances().unwrap();
        assert_eq!(b.rejected(), 3);
        assert_eq!(b.totals()["USDT"], Decimal::from_str_exact("9.82").unwrap());
        assert_eq!(b.totals()["A"], Decimal::from(9));
        let mut out = vec![];
        e.on_event(&trade("8.5", "5", 7), &mut out);
        let b = e.balances().unwrap();
        assert_eq!(b.totals()["USDT"].normalize().to_string(), "8.9191");
        assert_eq!(b.totals()["A"].normalize().to_string(), "9.1");
    }

    #[test]
    fn shorts_when_allowed_and_slippage_against_the_taker() {
        let mut e = funded("USDT=100", true, "50");
        let out = run(
            &mut e,
            &[
                trade("10", "1", 1),
                order("a", "sell", "market", "2", "null", 2),
                order("b", "buy", "market", "1", "null", 3),
            ],
        );
        let f = fills(&out);
        assert_eq!(f[0], ("a".into(), "2".into(), "9.95".into(), Taker, 2));
        assert_eq!(f[1], ("b".into(), "1".into(), "10.05".into(), Taker, 3));
        assert_eq!(e.balances().unwrap().totals()["A"], Decimal::from(-1));
    }

    #[test]
    fn open_orders_beyond_the_cap_are_rejected_and_counted() {
        let mut e = PaperEngine::new(PaperConfig {
            max_open_orders: 2,
            ..cfg(false)
        });
        let mut out = Vec::new();
        e.on_event(&trade("10", "1", 1), &mut out);
        let limit = |id: &str| {
            decode(&format!(
                r#"{{"kind":"order","intent_id":"{id}","venue":"paper","symbol":"A/USDT","side":"buy","type":"limit","qty":1,"limit_price":5,"ts_accepted_ns":2}}"#
            ))
            .unwrap()
            .into_owned()
        };
        assert_eq!(e.on_event(&limit("a"), &mut out), Outcome::Resting);
        assert_eq!(e.on_event(&limit("b"), &mut out), Outcome::Resting);
        out.clear();
        assert_eq!(
            e.on_event(&limit("c"), &mut out),
            Outcome::Rejected(Reason::OpenOrdersCap)
        );
        assert!(
            matches!(&out[..], [Event::OrderUpdate(u)] if u.reason == Some(Reason::OpenOrdersCap))
        );
        // A marketable order fills at once, whatever rests.
        let market = decode(r#"{"kind":"order","intent_id":"m","venue":"paper","symbol":"A/USDT","side":"buy","type":"market","qty":1,"ts_accepted_ns":3}"#).unwrap();
        assert_eq!(e.on_event(&market, &mut out), Outcome::Filled);
        e.on_cancel(&Cancel {
            intent_id: "a".into(),
            ts_ns: 4,
        });
        assert_eq!(e.on_event(&limit("c"), &mut out), Outcome::Resting);
        assert_eq!((e.refused_open_orders(), e.open_orders()), (1, 2));
        assert!(e.summary().contains("orders refused (open_orders_cap"));
    }
}
