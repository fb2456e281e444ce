//! The execution core (a pure core): parent orders that carry `exec` are worked through child
//! orders over time, the same in njord-exec, the backtester and live.
//!
//! - **twap**: `slices` children over `duration`, slice `i` due at `arrival + i × Δ` plus up
//!   to `jitter × Δ`, sized `1 ± jitter` of an equal share (ChaCha8 seeded with `seed` and the
//!   parent id: deterministic, but not the same pattern for every parent).
//! - **vwap**: `slices` children over `duration`, weighted by the volume the symbol's bars of
//!   `timeframe` traded at that time of day, averaged over the days seen (equal weights
//!   before any bar); a child is at most `max_participation` of the volume traded since the
//!   previous child (the first is not capped), what the cap holds back is carried to the
//!   next, and what is still held back at the end is not sent (state `expired`).
//! - **pov**: after each trade (or bar) of the symbol, if the quantity sent is below
//!   `min_rate` × the volume traded since arrival, a child brings it to `rate` × volume, never
//!   above `max_rate` × volume; when what would be left is below the minimum notional, the
//!   child takes it all.
//! - **peg**: one child of what is left, resting at the touch of its own side (best bid for a
//!   buy, best ask for a sell, from `book` and `ticker` events) `offset` behind it, never past
//!   the parent's limit. When that price moves by `min_move` or more, the child is cancelled
//!   and, once the cancel is confirmed (its `order_update`), replaced at the new price for
//!   what is still unfilled; at most `max_reprices` times, then it stays. Nothing is sent
//!   before the first quote.
//!
//! Children are multiples of the symbol's lot step summing exactly to the parent (remainders
//! into the last), each at least the minimum notional (a small one merges into its
//! neighbour); a parent whose quantity is not a multiple of the step is rejected with
//! `lot_step`. Children are paced at [`ExecEngine::with_rate_cap`] per minute and symbol
//! (risk's `orders_per_min_cap`): one that finds no token waits for one. A child is the parent's type (market, or limit at its limit price), with the
//! id `{parent id}-{n}` (n from 1) and `ts_accepted_ns` = the time it was sent. `exec_status`
//! events report each parent's progress: on arrival, after each child sent, each fill seen
//! and at its end. A cancel of the parent id, or the kill switch ([`ExecEngine::halt`]),
//! cancels every child not known to be filled and stops the parent. Parents with one
//! `group_id` (a pair's legs) are one trade: a leg refused or cancelled stops the others.

pub mod schedule;
pub mod spec;
pub mod tca;
#[cfg(test)]
mod tests;

use crate::broker::client_id;
use crate::config;
use crate::event::{Cancel, Event, ExecStatus, Fill, Order, OrderType};
use crate::reason::Reason;
use crate::risk::bucket::TokenBucket;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use schedule::Lot;
use spec::Spec;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What the market of a symbol has shown the engine.
#[derive(Debug, Default)]
struct Market {
    last: Option<Decimal>,
    /// Best bid and ask, from `book` and `ticker` events.
    bid: Option<Decimal>,
    ask: Option<Decimal>,
    /// Volume traded (trades; bars while the symbol has none), counted only while a POV or
    /// VWAP parent works: they read differences of it, and a trade costs no decimal sum
    /// otherwise.
    volume: Decimal,
    has_trades: bool,
}

impl Market {
    /// Adds traded volume (out of line: a decimal sum would widen the trade path's frame).
    #[cold]
    #[inline(never)]
    fn add_volume(&mut self, qty: Decimal) {
        self.volume = self.volume.checked_add(qty).unwrap_or(self.volume);
    }
}

/// Volume by time-of-day bucket of one symbol's bars of one timeframe.
#[derive(Debug, Default)]
struct Profile {
    /// Bucket start (ns into the UTC day) → (volume summed over days, bars).
    buckets: BTreeMap<i64, (f64, u32)>,
    width_ns: i64,
}

const NS_PER_DAY: i64 = crate::time::NS_PER_DAY;

impl Profile {
    fn add(&mut self, ts_open_ns: i64, width_ns: i64, volume: f64) {
        self.width_ns = width_ns;
        let e = self
            .buckets
            .entry(ts_open_ns.rem_euclid(NS_PER_DAY))
            .or_default();
        e.0 += volume;
        e.1 += 1;
    }

    /// The average volume expected in `[from, to)`, from the buckets it overlaps.
    fn expected(&self, from: i64, to: i64) -> f64 {
        if self.width_ns <= 0 || to <= from {
            return 0.0;
        }
        let mut total = 0.0;
        let mut t = from;
        while t < to {
            let day = t.rem_euclid(NS_PER_DAY);
            let bucket = day - day.rem_euclid(self.width_ns);
            let end = (t - day + bucket + self.width_ns).min(to);
            if let Some((v, n)) = self.buckets.get(&bucket) {
                let overlap = (end - t) as f64 / self.width_ns as f64;
                total += v / f64::from(*n) * overlap;
            }
            t = end.max(t + 1);
        }
        total
    }
}

/// A parent being worked.
#[derive(Debug)]
struct Parent {
    order: Order<'static>,
    spec: Spec,
    lot: Lot,
    /// (due time, qty) per child still to send, TWAP and VWAP.
    plan: Vec<(i64, Decimal)>,
    next: usize,
    /// VWAP: what the participation cap held back; POV: unused.
    carry: Decimal,
    /// The symbol's volume when the last child was sent (VWAP) or at arrival (POV).
    volume_mark: Decimal,
    sent: Decimal,
    filled: Decimal,
    /// Σ qty × price of the fills seen.
    cost: Decimal,
    children: u32,
    /// Per child id: (qty, filled).
    child_fills: BTreeMap<String, (Decimal, Decimal)>,
    peg: PegState,
}

/// A peg parent's resting child.
#[derive(Debug, Default)]
struct PegState {
    /// The child resting now (or being cancelled) and its price.
    child: Option<(String, Decimal)>,
    /// Its cancel was sent; the replacement waits for the confirmation.
    replacing: bool,
    reprices: u32,
}

impl Parent {
    fn id(&self) -> &str {
        &self.order.intent_id
    }

    fn unsent(&self) -> Decimal {
        self.order.qty - self.sent
    }

    fn status(&self, state: &'static str, reason: Option<Reason>, ts_ns: i64) -> Event<'static> {
        let avg = if self.filled.is_zero() {
            Decimal::ZERO
        } else {
            self.cost
                .checked_div(self.filled)
                .unwrap_or_default()
                .round_dp(12)
                .normalize()
        };
        Event::ExecStatus(ExecStatus {
            parent_id: Cow::Owned(self.id().to_string()),
            strategy_id: self.order.strategy_id.clone(),
            symbol: self.order.symbol.clone(),
            side: self.order.side,
            algo: Cow::Borrowed(self.spec.algo()),
            state: Cow::Borrowed(state),
            qty: self.order.qty,
            sent: self.sent.normalize(),
            filled: self.filled.normalize(),
            avg_price: avg,
            remaining: (self.order.qty - self.filled).normalize(),
            children: self.children,
            reason,
            ts_ns,
        })
    }

    /// The state once nothing more will be sent: `done` when all filled, `expired` when a
    /// cap held some back, else `sent` (children out, fills not all seen).
    fn settled_state(&self) -> &'static str {
        if self.filled >= self.order.qty {
            "done"
        } else if self.sent < self.order.qty {
            "expired"
        } else {
            "sent"
        }
    }
}

/// The execution engine. Feed it every event with [`ExecEngine::on_event`].
#[derive(Debug)]
pub struct ExecEngine {
    cfg: config::Exec,
    /// Working parents by arrival.
    parents: BTreeMap<u64, Parent>,
    /// Parents with nothing left to send, kept for the fills still to come (at most
    /// `max_parents`, the oldest dropped first).
    settled: BTreeMap<u64, Parent>,
    /// Parent arrival number of each parent id and child id.
    index: FxHashMap<String, u64>,
    markets: FxHashMap<String, Market>,
    /// The symbol of the last trade and its market, so that a tape repeating a symbol costs
    /// a comparison instead of a lookup.
    recent: Option<(String, Market)>,
    profiles: FxHashMap<(String, String), Profile>,
    seq: u64,
    /// TWAP and VWAP parents waiting for their next child, by its due time.
    timeline: BTreeSet<(i64, u64)>,
    /// Per symbol, the parents with a child due now (planned ones whose time has come,
    /// icebergs with nothing shown), by arrival: they wait only for a token. A tick visits
    /// these, never the whole book of parents, so a backlog of paced parents costs nothing
    /// while its symbol has no token.
    ready: FxHashMap<String, BTreeSet<u64>>,
    /// POV parents by arrival (they act on their symbol's trades, not at due times).
    pov: BTreeSet<u64>,
    /// Peg parents by arrival (they follow their symbol's quotes).
    pegs: BTreeSet<u64>,
    /// The last `exec` object parsed and its spec: a strategy's parents share one.
    specs: spec::Memo,
    /// Working POV and VWAP parents: while there are none, volume is not counted.
    volume_readers: usize,
    /// When the next tick has something to do: the earliest due time, or the time a token
    /// refills for a symbol with parents ready (i64::MAX when none).
    next_due: i64,
    /// Children per minute and symbol (`risk.orders_per_min_cap`; 0: none), in event time:
    /// a child that finds no token waits for one.
    rate_cap: u32,
    buckets: FxHashMap<String, TokenBucket>,
    /// The parents of each `group_id` (a pair's legs), working or settled: one trade, so a
    /// leg refused or cancelled stops the others.
    groups: FxHashMap<String, Vec<u64>>,
    /// The latest groups with a refused or cancelled leg: their later legs are refused.
    broken_groups: std::collections::VecDeque<String>,
}

/// How many broken groups are remembered: a group's legs come one after another.
const BROKEN_GROUPS: usize = 64;

/// Takes a token of the symbol's children bucket at `ts`; always granted without a cap.
fn token(buckets: &mut FxHashMap<String, TokenBucket>, symbol: &str, cap: u32, ts: i64) -> bool {
    if cap == 0 {
        return true;
    }
    let bucket = match buckets.get_mut(symbol) {
        Some(b) => b,
        None => buckets
            .entry(symbol.to_string())
            .or_insert_with(|| TokenBucket::full(cap, ts)),
    };
    if !bucket.has_token(cap, ts) {
        return false;
    }
    bucket.spend();
    true
}

/// A symbol's market: the recent one, or from the map.
fn market_in<'m>(
    recent: &'m Option<(String, Market)>,
    markets: &'m FxHashMap<String, Market>,
    symbol: &str,
) -> Option<&'m Market> {
    match recent {
        Some((s, m)) if s == symbol => Some(m),
        _ => markets.get(symbol),
    }
}

/// The `exec_status` `rejected` of a parent, whatever its `exec` holds (the algorithm as
/// written, even one that did not parse).
fn rejection(o: &Order<'_>, why: Reason, text: &str) -> Event<'static> {
    tracing::warn!(intent_id = %o.intent_id, reason = why.as_str(), "parent {} rejected: {text}", o.intent_id);
    let algo = o
        .exec
        .as_ref()
        .and_then(|m| m.get("algo"))
        .and_then(|a| a.as_str())
        .unwrap_or("");
    // A known algorithm's name is not copied.
    let algo = match spec::ALGOS.iter().find(|a| **a == algo) {
        Some(a) => Cow::Borrowed(*a),
        None => Cow::Owned(algo.to_string()),
    };
    Event::ExecStatus(ExecStatus {
        parent_id: Cow::Owned(o.intent_id.to_string()),
        strategy_id: o.strategy_id.as_ref().map(|s| Cow::Owned(s.to_string())),
        symbol: Cow::Owned(o.symbol.to_string()),
        side: o.side,
        algo,
        state: Cow::Borrowed("rejected"),
        qty: o.qty,
        sent: Decimal::ZERO,
        filled: Decimal::ZERO,
        avg_price: Decimal::ZERO,
        remaining: o.qty,
        children: 0,
        reason: Some(why),
        ts_ns: o.ts_accepted_ns,
    })
}

/// Indexes a child by its id and, when the broker's venue id differs (an id too long or
/// not venue-valid is hashed), by that too: order updates from the broker carry it.
fn index_child(index: &mut FxHashMap<String, u64>, id: String, seq: u64) {
    if let Some(venue_id) = client_id::hashed(&id) {
        index.insert(venue_id, seq);
    }
    index.insert(id, seq);
}

/// Files a parent as ready in its symbol's set.
fn mark_ready(ready: &mut FxHashMap<String, BTreeSet<u64>>, symbol: &str, seq: u64) {
    match ready.get_mut(symbol) {
        Some(set) => {
            set.insert(seq);
        }
        None => {
            ready.insert(symbol.to_string(), BTreeSet::from([seq]));
        }
    }
}

/// FNV-1a of the parent id, so parents with the same seed still jitter differently.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl ExecEngine {
    pub fn new(cfg: &config::Exec) -> Self {
        ExecEngine {
            cfg: cfg.clone(),
            parents: BTreeMap::new(),
            settled: BTreeMap::new(),
            index: FxHashMap::default(),
            markets: FxHashMap::default(),
            recent: None,
            profiles: FxHashMap::default(),
            seq: 0,
            timeline: BTreeSet::new(),
            ready: FxHashMap::default(),
            pov: BTreeSet::new(),
            pegs: BTreeSet::new(),
            specs: spec::Memo::default(),
            volume_readers: 0,
            next_due: i64::MAX,
            rate_cap: 0,
            buckets: FxHashMap::default(),
            groups: FxHashMap::default(),
            broken_groups: std::collections::VecDeque::new(),
        }
    }

    /// Paces children at `cap` per minute and symbol (risk's `orders_per_min_cap`), as risk
    /// would each order: a child that finds no token waits until one has refilled.
    pub fn with_rate_cap(mut self, cap: u32) -> Self {
        self.rate_cap = cap;
        self
    }

    /// The lot rules of a symbol.
    pub fn lot(&self, symbol: &str) -> Lot {
        let get =
            |m: &BTreeMap<String, crate::num::Dec>, d: Decimal| m.get(symbol).map_or(d, |x| x.0);
        Lot {
            step: get(&self.cfg.lot_steps, self.cfg.default_lot_step),
            min_notional: get(&self.cfg.min_notionals, self.cfg.default_min_notional),
        }
    }

    /// Parents still sending children.
    pub fn working(&self) -> usize {
        self.parents.len()
    }

    /// Whether any parent may still have a child resting: one still sending, or one that
    /// sent everything and waits for fills. The kill switch must be watched until none.
    pub fn watching(&self) -> bool {
        !self.parents.is_empty() || !self.settled.is_empty()
    }

    /// Whether an intent id is one of the parents or children it works (or keeps for fills).
    pub fn is_ours(&self, intent_id: &str) -> bool {
        self.index.contains_key(intent_id)
    }

    /// The `exec_status` `rejected` of a parent refused before the engine saw it (the
    /// shell's kill switch).
    pub fn refused(&self, o: &Order<'_>, why: Reason, text: &str) -> Event<'static> {
        rejection(o, why, text)
    }

    /// Handles one event, pushing child orders, cancels and `exec_status` events.
    pub fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Event<'static>>) {
        // The hot path, a trade with nothing due, stays a few instructions; the rest is out
        // of line.
        if let Event::Trade(t) = ev {
            let count = self.volume_readers > 0;
            let m = self.market_mut(&t.symbol);
            m.last = Some(t.price);
            m.has_trades = true;
            if count {
                m.add_volume(t.qty);
            }
            if t.ts_ns >= self.next_due || !self.pov.is_empty() {
                self.tick(t.ts_ns, Some(&t.symbol), out);
            }
            return;
        }
        self.on_other(ev, out);
    }

    #[inline(never)]
    fn on_other(&mut self, ev: &Event<'_>, out: &mut Vec<Event<'static>>) {
        match ev {
            Event::Bar(b) => {
                let width = b.ts_close_ns - b.ts_open_ns;
                if width > 0 && width <= NS_PER_DAY {
                    let key = (b.symbol.to_string(), b.timeframe.to_string());
                    let v = crate::num::nearest_f64(b.volume);
                    self.profiles
                        .entry(key)
                        .or_default()
                        .add(b.ts_open_ns, width, v);
                }
                let count = self.volume_readers > 0;
                let m = self.market_mut(&b.symbol);
                if !m.has_trades {
                    m.last = Some(b.close);
                    if count {
                        m.add_volume(b.volume);
                    }
                }
                if b.ts_close_ns >= self.next_due || !self.pov.is_empty() {
                    self.tick(b.ts_close_ns, Some(&b.symbol), out);
                }
            }
            Event::Book(b) => {
                let (bid, ask) = (b.bids.first(), b.asks.first());
                self.on_quote(
                    &b.symbol,
                    bid.map(|l| l.price),
                    ask.map(|l| l.price),
                    b.ts_ns,
                    out,
                );
            }
            Event::Ticker(t) => {
                self.on_quote(&t.symbol, Some(t.bid), Some(t.ask), t.ts_ns, out);
            }
            Event::Order(o) if o.exec.is_some() => self.arrive(o, out),
            Event::Fill(f) => self.on_fill(f, out),
            Event::OrderUpdate(u)
                if u.status.is_terminal() && u.status != crate::event::OrderStatus::Filled =>
            {
                // An iceberg shows its next slice only after a fill: a slice that ended
                // unfilled (rejected, expired, cancelled) ends the parent. A peg child whose
                // cancel was asked for is replaced; one that ended otherwise ends the parent.
                let Some(&seq) = self.index.get(u.client_order_id.as_ref()) else {
                    return;
                };
                let Some(p) = self.parents.get_mut(&seq) else {
                    return;
                };
                match p.spec {
                    Spec::Iceberg { .. } => self.stop(seq, "expired", Some(u.ts_ns), out),
                    Spec::Peg { .. } => match p.peg_child_ended(&u.client_order_id, u.filled_qty) {
                        Some(true) => self.repeg(seq, u.ts_ns, out),
                        Some(false) => self.stop(seq, "expired", Some(u.ts_ns), out),
                        None => {}
                    },
                    _ => {}
                }
            }
            Event::Cancel(c) => self.on_cancel(c, out),
            other => {
                if !self.parents.is_empty() && other.ts_ns() >= self.next_due {
                    self.tick(other.ts_ns(), None, out);
                }
            }
        }
    }

    /// A quote of a symbol: its touch, then peg parents follow it.
    fn on_quote(
        &mut self,
        symbol: &str,
        bid: Option<Decimal>,
        ask: Option<Decimal>,
        ts: i64,
        out: &mut Vec<Event<'static>>,
    ) {
        let m = self.market_mut(symbol);
        m.bid = bid.or(m.bid);
        m.ask = ask.or(m.ask);
        if self.parents.is_empty() {
            return;
        }
        if ts >= self.next_due {
            self.tick(ts, None, out);
        }
        if self.pegs.is_empty() {
            return;
        }
        let parents = &self.parents;
        let pegs: Vec<u64> = self
            .pegs
            .iter()
            .copied()
            .filter(|seq| parents.get(seq).is_some_and(|p| p.order.symbol == symbol))
            .collect();
        for seq in pegs {
            self.repeg(seq, ts, out);
        }
    }

    /// Moves a peg parent's child to the price it should rest at: sends one when none rests,
    /// or cancels the one resting when that price moved by `min_move` or more (its
    /// replacement goes out once the cancel is confirmed).
    fn repeg(&mut self, seq: u64, ts: i64, out: &mut Vec<Event<'static>>) {
        let Some(p) = self.parents.get_mut(&seq) else {
            return;
        };
        let Spec::Peg {
            offset,
            min_move,
            max_reprices,
        } = p.spec
        else {
            return;
        };
        let market = market_in(&self.recent, &self.markets, &p.order.symbol);
        let target = match (p.order.side, p.order.limit_price) {
            (crate::event::Side::Buy, Some(limit)) => market
                .and_then(|m| m.bid)
                .and_then(|b| b.checked_sub(offset))
                .map(|x| x.min(limit)),
            (crate::event::Side::Sell, Some(limit)) => market
                .and_then(|m| m.ask)
                .and_then(|a| a.checked_add(offset))
                .map(|x| x.max(limit)),
            (_, None) => None,
        };
        let Some(target) = target.filter(|t| *t > Decimal::ZERO) else {
            return;
        };
        if p.peg.replacing {
            return;
        }
        match &p.peg.child {
            Some((id, price)) => {
                let moved = (target - *price).abs();
                if !moved.is_zero() && moved >= min_move && p.peg.reprices < max_reprices {
                    out.push(Event::Cancel(Cancel {
                        intent_id: Cow::Owned(id.clone()),
                        ts_ns: ts,
                    }));
                    p.peg.replacing = true;
                    p.peg.reprices += 1;
                }
            }
            None => {
                let size = p.lot.floor(p.unsent());
                if size <= Decimal::ZERO
                    || !token(&mut self.buckets, &p.order.symbol, self.rate_cap, ts)
                {
                    return;
                }
                let id = send(p, size, Some(target), None, ts, out);
                p.peg.child = Some((id.clone(), target));
                index_child(&mut self.index, id, seq);
                out.push(p.status("working", None, ts));
            }
        }
    }

    /// A symbol's market, to update: a compare on the hot path (the entry API would
    /// allocate the key on every trade).
    #[inline]
    fn market_mut(&mut self, symbol: &str) -> &mut Market {
        if !matches!(&self.recent, Some((s, _)) if crate::swar::same_short(s, symbol)) {
            return self.switch_market(symbol);
        }
        // Present: just compared.
        &mut self
            .recent
            .get_or_insert_with(|| (symbol.to_string(), Market::default()))
            .1
    }

    /// Another symbol: the recent one goes back to the map, this one comes out of it.
    #[inline(never)]
    fn switch_market(&mut self, symbol: &str) -> &mut Market {
        if let Some((s, m)) = self.recent.take() {
            self.markets.insert(s, m);
        }
        let entry = self
            .markets
            .remove_entry(symbol)
            .unwrap_or_else(|| (symbol.to_string(), Market::default()));
        &mut self.recent.insert(entry).1
    }

    /// A symbol's market, wherever it is kept.
    fn market_of(&self, symbol: &str) -> Option<&Market> {
        market_in(&self.recent, &self.markets, symbol)
    }

    /// The last price the engine saw of a symbol.
    pub fn last_price(&self, symbol: &str) -> Option<Decimal> {
        self.market_of(symbol).and_then(|m| m.last)
    }

    /// A parent arrives. The leg of a group (`group_id`) is refused when another leg was
    /// refused or cancelled; when it is refused itself, the legs already worked stop
    /// (`cancelled`, `group_leg_denied`): a pair is worked whole or not at all, as far as
    /// fills already made allow.
    fn arrive(&mut self, o: &Order<'_>, out: &mut Vec<Event<'static>>) {
        let Some(group) = o.group_id.as_deref().filter(|g| !g.is_empty()) else {
            return self.accept(o, out);
        };
        if self.broken_groups.iter().any(|g| g == group) {
            let text = format!("another leg of group {group} was refused or cancelled");
            out.push(rejection(o, Reason::GroupLegDenied, &text));
            return;
        }
        let start = out.len();
        self.accept(o, out);
        let refused = matches!(out.get(start),
            Some(Event::ExecStatus(s)) if s.state == "rejected" && s.parent_id == o.intent_id);
        match self.index.get(o.intent_id.as_ref()) {
            Some(&seq) if !refused => self.join_group(group, seq),
            _ if refused => self.break_group(group, o.ts_accepted_ns, out),
            _ => {}
        }
    }

    fn join_group(&mut self, group: &str, seq: u64) {
        let legs = self.groups.entry(group.to_owned()).or_default();
        if !legs.contains(&seq) {
            legs.push(seq);
        }
    }

    /// Refuses the later legs of `group`.
    fn mark_broken(&mut self, group: &str) {
        if !self.broken_groups.iter().any(|g| g == group) {
            if self.broken_groups.len() == BROKEN_GROUPS {
                self.broken_groups.pop_front();
            }
            self.broken_groups.push_back(group.to_owned());
        }
    }

    /// Stops the worked legs of `group` and refuses its later ones.
    fn break_group(&mut self, group: &str, ts: i64, out: &mut Vec<Event<'static>>) {
        self.mark_broken(group);
        for seq in self.groups.remove(group).unwrap_or_default() {
            let done = (self.parents.get(&seq))
                .or(self.settled.get(&seq))
                .is_some_and(|p| p.filled >= p.order.qty);
            if !done {
                self.stop_with(
                    seq,
                    "cancelled",
                    Some(Reason::GroupLegDenied),
                    Some(ts),
                    out,
                );
            }
        }
    }

    /// Takes a parent: checks it, plans its children and sends those due at once.
    fn accept(&mut self, o: &Order<'_>, out: &mut Vec<Event<'static>>) {
        // Checked on the borrowed order: a refused parent is never copied.
        let lot = self.lot(&o.symbol);
        let spec = o.exec.as_ref().map(|m| self.specs.parse(m));
        let refuse = |why: Reason, text: &str, out: &mut Vec<Event<'static>>| {
            out.push(rejection(o, why, text));
        };
        let spec = match spec {
            Some(Ok(s)) => s,
            Some(Err((key, msg))) => {
                return refuse(Reason::InvalidOrder, &format!("{key}: {msg}"), out);
            }
            None => return,
        };
        if !matches!(o.order_type, OrderType::Market | OrderType::Limit) {
            let text = "exec works market and limit parents only";
            return refuse(Reason::InvalidOrder, text, out);
        }
        if matches!(spec, Spec::Iceberg { .. } | Spec::Peg { .. })
            && (o.order_type != OrderType::Limit
                || matches!(
                    o.time_in_force,
                    Some(crate::event::TimeInForce::Ioc | crate::event::TimeInForce::Fok)
                ))
        {
            let text = format!("{} works a resting (gtc) limit parent", spec.algo());
            return refuse(Reason::InvalidOrder, &text, out);
        }
        if self.index.contains_key(o.intent_id.as_ref()) {
            tracing::warn!(intent_id = %o.intent_id, "parent {} is already worked; ignored", o.intent_id);
            return;
        }
        if !lot.fits(o.qty) {
            let text = format!(
                "qty {} is not a multiple of the lot step {}",
                o.qty, lot.step
            );
            return refuse(Reason::LotStep, &text, out);
        }
        if self.working() >= self.cfg.max_parents {
            let text = format!(
                "{} parents are worked already (exec.max_parents)",
                self.working()
            );
            return refuse(Reason::OpenOrdersCap, &text, out);
        }
        let order = o.to_static();
        let ts = order.ts_accepted_ns;
        let market = self.market_of(&order.symbol);
        let price = order.limit_price.or(market.and_then(|m| m.last));
        let volume = market.map_or(Decimal::ZERO, |m| m.volume);
        // Without a price the minimum notional cannot be checked here; the venue will.
        let sizing = match price {
            Some(_) => lot,
            None => Lot {
                min_notional: Decimal::ZERO,
                ..lot
            },
        };
        let price = price.unwrap_or(Decimal::ONE);
        let plan = match &spec {
            Spec::Twap {
                duration_ns,
                slices,
                jitter,
                seed,
            } => {
                let seed = seed ^ id_hash(&order.intent_id);
                let (times, weights) = schedule::twap(ts, *duration_ns, *slices, *jitter, seed);
                schedule::split(order.qty, &weights, sizing, price)
                    .into_iter()
                    .map(|(i, q)| (times[i], q))
                    .collect()
            }
            Spec::Vwap {
                duration_ns,
                slices,
                timeframe,
                ..
            } => {
                let n = i64::from(*slices);
                let step = duration_ns / n;
                let profile = self
                    .profiles
                    .get(&(order.symbol.to_string(), timeframe.clone()));
                let weights: Vec<f64> = (0..n)
                    .map(|i| {
                        let from = ts + i * step;
                        profile.map_or(0.0, |p| p.expected(from, from + step))
                    })
                    .collect();
                schedule::split(order.qty, &weights, sizing, price)
                    .into_iter()
                    .map(|(i, q)| (ts + i as i64 * step, q))
                    .collect()
            }
            Spec::Pov { .. } | Spec::Iceberg { .. } | Spec::Peg { .. } => Vec::new(),
        };
        self.seq += 1;
        let seq = self.seq;
        let mut parent = Parent::new(order, spec, sizing);
        parent.plan = plan;
        parent.volume_mark = volume;
        out.push(parent.status("working", None, ts));
        self.index.insert(parent.id().to_string(), seq);
        self.add_working(seq, parent);
        self.refresh_due();
        self.tick(ts, None, out);
        self.repeg(seq, ts, out);
    }

    /// Rebuilds a parent from the journal (`--resume`): the children it sent (id, qty) and the
    /// fills seen (child id, qty, price) are taken as journaled; what is left is planned again
    /// over the time left (TWAP: its slices due after `last_sent_ns`, with their seeded weights;
    /// VWAP: those slices, equal weights; POV: paced as if `sent / rate` had traded since
    /// arrival). Slices that fell due while it was down go out at the next event.
    pub fn resume(
        &mut self,
        order: &Order<'_>,
        children: &[(String, Decimal)],
        fills: &[(String, Decimal, Decimal)],
        last_sent_ns: i64,
    ) {
        let order = order.to_static();
        let Some(Ok(spec)) = order.exec.as_deref().map(Spec::parse) else {
            return;
        };
        if self.index.contains_key(order.intent_id.as_ref()) {
            return;
        }
        let lot = self.lot(&order.symbol);
        let ts = order.ts_accepted_ns;
        let mut p = Parent::new(order, spec, lot);
        for (id, qty) in children {
            p.children += 1;
            p.sent = p.sent.checked_add(*qty).unwrap_or(p.sent);
            p.child_fills.insert(id.clone(), (*qty, Decimal::ZERO));
        }
        for (id, qty, price) in fills {
            if let Some(c) = p.child_fills.get_mut(id) {
                c.1 = c.1.checked_add(*qty).unwrap_or(c.1);
                p.filled = p.filled.checked_add(*qty).unwrap_or(p.filled);
                p.cost = qty
                    .checked_mul(*price)
                    .and_then(|x| p.cost.checked_add(x))
                    .unwrap_or(p.cost);
            }
        }
        let unsent = p.unsent();
        let sizing = Lot {
            min_notional: Decimal::ZERO,
            ..lot
        };
        let left = |times: Vec<i64>, weights: Vec<f64>| -> Vec<(i64, Decimal)> {
            let (t, w): (Vec<i64>, Vec<f64>) = times
                .into_iter()
                .zip(weights)
                .filter(|(t, _)| *t > last_sent_ns)
                .unzip();
            if unsent <= Decimal::ZERO {
                return Vec::new();
            }
            if t.is_empty() {
                // Its slices were all due before it went down (paced, or late): the rest goes
                // out at once.
                return vec![(last_sent_ns, unsent)];
            }
            schedule::split(unsent, &w, sizing, Decimal::ONE)
                .into_iter()
                .map(|(i, q)| (t[i], q))
                .collect()
        };
        p.plan = match p.spec.clone() {
            Spec::Twap {
                duration_ns,
                slices,
                jitter,
                seed,
            } => {
                let seed = seed ^ id_hash(p.id());
                let (times, weights) = schedule::twap(ts, duration_ns, slices, jitter, seed);
                left(times, weights)
            }
            Spec::Vwap {
                duration_ns,
                slices,
                ..
            } => {
                let n = i64::from(slices);
                let step = duration_ns / n;
                left(
                    (0..n).map(|i| ts + i * step).collect(),
                    vec![1.0; n as usize],
                )
            }
            Spec::Iceberg { .. } | Spec::Peg { .. } => Vec::new(),
            Spec::Pov { rate, .. } => {
                let volume = self
                    .market_of(&p.order.symbol)
                    .map_or(Decimal::ZERO, |m| m.volume);
                let done_share = p.sent.checked_div(rate).unwrap_or_default();
                p.volume_mark = volume - done_share;
                Vec::new()
            }
        };
        let planned = matches!(p.spec, Spec::Twap { .. } | Spec::Vwap { .. });
        // A peg is not re-pegged after a restart: its child rests where it is.
        let peg = matches!(p.spec, Spec::Peg { .. });
        let settled = p.plan.is_empty() && planned || peg || p.unsent().is_zero();
        self.seq += 1;
        let seq = self.seq;
        self.index.insert(p.id().to_string(), seq);
        for c in p.child_fills.keys() {
            index_child(&mut self.index, c.clone(), seq);
        }
        if let Some(g) = p.order.group_id.clone().filter(|g| !g.is_empty()) {
            self.join_group(&g, seq);
        }
        if settled {
            self.settled.insert(seq, p);
            // A journal can hold more than are kept: the oldest go now, not at whichever
            // tick comes first.
            self.evict_settled();
        } else {
            self.add_working(seq, p);
        }
        self.refresh_due();
    }

    /// Sends what is due at `ts`: planned children whose time has come, and POV children of
    /// `symbol` when its volume moved.
    #[inline(never)]
    fn tick(&mut self, ts: i64, symbol: Option<&str>, out: &mut Vec<Event<'static>>) {
        let pov_here = symbol.is_some() && !self.pov.is_empty();
        if ts < self.next_due && !pov_here {
            return;
        }
        while let Some(&(due, seq)) = self.timeline.first() {
            if due > ts {
                break;
            }
            self.timeline.pop_first();
            if let Some(p) = self.parents.get(&seq) {
                mark_ready(&mut self.ready, &p.order.symbol, seq);
            }
        }
        let ExecEngine {
            parents,
            ready,
            pov,
            buckets,
            recent,
            markets,
            rate_cap,
            ..
        } = self;
        let rate_cap = *rate_cap;
        let pov_of_symbol: Vec<u64> = match symbol {
            Some(s) if pov_here => pov
                .iter()
                .copied()
                .filter(|seq| parents.get(seq).is_some_and(|p| p.order.symbol == s))
                .collect(),
            _ => Vec::new(),
        };
        // The parents are visited by arrival, merging each symbol's ready ones and the
        // trade's symbol's POV parents. A symbol whose paced children find no token is
        // dropped from the merge: its other ready parents cannot send either.
        let mut sources: Vec<std::iter::Peekable<std::collections::btree_set::Iter<'_, u64>>> =
            ready
                .values()
                .filter(|set| !set.is_empty())
                .map(|set| set.iter().peekable())
                .collect();
        let mut povs = pov_of_symbol.iter().peekable();
        let mut settled = Vec::new();
        let mut children = Vec::new();
        // Parents that go back to wait: for their next due time, or for a fill (icebergs).
        let mut later: Vec<(Option<i64>, u64)> = Vec::new();
        loop {
            let mut next: Option<(u64, Option<usize>)> = povs.peek().map(|&&seq| (seq, None));
            for (i, source) in sources.iter_mut().enumerate() {
                if let Some(&&seq) = source.peek()
                    && next.is_none_or(|(best, _)| seq < best)
                {
                    next = Some((seq, Some(i)));
                }
            }
            let Some((seq, from)) = next else {
                break;
            };
            match from {
                Some(i) => {
                    sources[i].next();
                }
                None => {
                    povs.next();
                }
            }
            let Some(p) = parents.get_mut(&seq) else {
                continue;
            };
            if let Some(i) = from
                && rate_cap > 0
                && buckets
                    .get(p.order.symbol.as_ref())
                    .is_some_and(|b| b.ready_at(rate_cap) > ts)
            {
                let _ = sources.swap_remove(i);
                continue;
            }
            let market = market_in(recent, markets, &p.order.symbol);
            let volume = market.map_or(Decimal::ZERO, |m| m.volume);
            let price = market.and_then(|m| m.last);
            let before = p.children;
            let mut send = |p: &mut Parent, qty: Decimal, shown: Option<Decimal>| {
                children.push((send(p, qty, None, shown, ts, out), seq));
            };
            if let Spec::Iceberg {
                visible,
                variance,
                seed,
                native,
            } = p.spec
            {
                if p.iceberg_due() && token(buckets, &p.order.symbol, rate_cap, ts) {
                    if native {
                        // One order for all; the venue shows `visible` of it at a time.
                        let unsent = p.unsent();
                        let shown = p.lot.floor(visible).max(p.lot.step);
                        send(p, unsent, (shown < unsent).then_some(shown));
                    } else {
                        let size = p.iceberg_slice(visible, variance, seed, price);
                        send(p, size, None);
                    }
                }
                if p.unsent().is_zero() {
                    settled.push(seq);
                } else {
                    if p.children != before {
                        out.push(p.status("working", None, ts));
                    }
                    if !p.iceberg_due() {
                        // Shown: the next slice waits for this one to fill.
                        later.push((None, seq));
                    }
                }
                continue;
            }
            let pov = match &p.spec {
                Spec::Pov {
                    rate,
                    min_rate,
                    max_rate,
                } => Some((*rate, *min_rate, *max_rate)),
                _ => None,
            };
            let all_sent = match pov {
                None => {
                    let cap = match &p.spec {
                        Spec::Vwap {
                            max_participation, ..
                        } if *max_participation < Decimal::ONE => Some(*max_participation),
                        _ => None,
                    };
                    while let Some(&(due, planned)) = p.plan.get(p.next) {
                        if due > ts {
                            break;
                        }
                        let want = planned + p.carry;
                        let size = match cap {
                            Some(c) if p.next > 0 => {
                                let traded = volume - p.volume_mark;
                                want.min(p.lot.floor(traded.checked_mul(c).unwrap_or(want)))
                            }
                            _ => want,
                        };
                        if size > Decimal::ZERO && !token(buckets, &p.order.symbol, rate_cap, ts) {
                            // Paced: it goes out once a token has refilled.
                            break;
                        }
                        p.carry = want - size;
                        p.volume_mark = volume;
                        p.next += 1;
                        if size > Decimal::ZERO {
                            send(p, size, None);
                        }
                    }
                    p.next >= p.plan.len()
                }
                Some((rate, min_rate, max_rate)) => {
                    if symbol == Some(p.order.symbol.as_ref()) {
                        let traded = volume - p.volume_mark;
                        let unsent = p.unsent();
                        let below = min_rate.checked_mul(traded).is_some_and(|m| p.sent < m);
                        if below && unsent > Decimal::ZERO {
                            let target = rate.checked_mul(traded).unwrap_or(Decimal::ZERO);
                            let ceiling = max_rate.checked_mul(traded).unwrap_or(Decimal::ZERO);
                            let mut size = p.lot.floor((target.min(ceiling) - p.sent).min(unsent));
                            let px = p.order.limit_price.or(price).unwrap_or(Decimal::ONE);
                            let rest = unsent - size;
                            if size > Decimal::ZERO
                                && rest > Decimal::ZERO
                                && !p.lot.big_enough(rest, px)
                            {
                                size = unsent;
                            }
                            if size > Decimal::ZERO
                                && (size == unsent || p.lot.big_enough(size, px))
                                && token(buckets, &p.order.symbol, rate_cap, ts)
                            {
                                send(p, size, None);
                            }
                        }
                    }
                    p.unsent().is_zero()
                }
            };
            if all_sent {
                settled.push(seq);
                continue;
            }
            if p.children != before {
                out.push(p.status("working", None, ts));
            }
            if let Some(&(due, _)) = p.plan.get(p.next)
                && due > ts
            {
                later.push((Some(due), seq));
            }
        }
        for (id, seq) in children {
            index_child(&mut self.index, id, seq);
        }
        for (due, seq) in later {
            if let Some(p) = self.parents.get(&seq)
                && let Some(set) = self.ready.get_mut(p.order.symbol.as_ref())
            {
                set.remove(&seq);
            }
            if let Some(due) = due {
                self.timeline.insert((due, seq));
            }
        }
        for seq in settled {
            let Some(p) = self.take_working(seq) else {
                continue;
            };
            let state = p.settled_state();
            out.push(p.status(state, None, ts));
            if state == "done" {
                self.forget(&p);
            } else {
                self.settled.insert(seq, p);
            }
        }
        self.evict_settled();
        self.refresh_due();
    }

    /// Files a working parent where [`tick`](Self::tick) looks for it: by its next child's
    /// due time (TWAP, VWAP), as ready (an iceberg with nothing shown), or with the POV or
    /// peg parents.
    fn add_working(&mut self, seq: u64, p: Parent) {
        self.volume_readers += usize::from(p.reads_volume());
        match p.spec {
            Spec::Pov { .. } => {
                self.pov.insert(seq);
            }
            Spec::Peg { .. } => {
                self.pegs.insert(seq);
            }
            Spec::Iceberg { .. } => {
                if p.iceberg_due() {
                    mark_ready(&mut self.ready, &p.order.symbol, seq);
                }
            }
            Spec::Twap { .. } | Spec::Vwap { .. } => {
                if let Some(&(due, _)) = p.plan.get(p.next) {
                    self.timeline.insert((due, seq));
                }
            }
        }
        self.parents.insert(seq, p);
    }

    /// Takes a working parent out, and out of where [`add_working`](Self::add_working)
    /// filed it.
    fn take_working(&mut self, seq: u64) -> Option<Parent> {
        let p = self.parents.remove(&seq)?;
        self.volume_readers -= usize::from(p.reads_volume());
        if let Some(&(due, _)) = p.plan.get(p.next) {
            self.timeline.remove(&(due, seq));
        }
        if let Some(set) = self.ready.get_mut(p.order.symbol.as_ref()) {
            set.remove(&seq);
        }
        self.pov.remove(&seq);
        self.pegs.remove(&seq);
        Some(p)
    }

    /// Keeps at most `max_parents` settled parents for the fills still to come; the oldest
    /// go first.
    fn evict_settled(&mut self) {
        while self.settled.len() > self.cfg.max_parents {
            if let Some((_, p)) = self.settled.pop_first() {
                self.forget(&p);
            }
        }
    }

    /// The earliest time a parent can send: the first due time, or, for a symbol with parents
    /// ready, the time its next token refills (now when it has one). Without the second, a
    /// backlog of paced parents would be visited on every trade.
    fn refresh_due(&mut self) {
        let (buckets, cap) = (&self.buckets, self.rate_cap);
        let mut next_due = self.timeline.first().map_or(i64::MAX, |&(due, _)| due);
        for (symbol, set) in &self.ready {
            if !set.is_empty() {
                let token = buckets.get(symbol).map_or(i64::MIN, |b| b.ready_at(cap));
                next_due = next_due.min(token);
            }
        }
        self.next_due = next_due;
    }

    /// Takes a parent out, working or settled.
    fn remove(&mut self, seq: u64) -> Option<Parent> {
        let p = self
            .take_working(seq)
            .or_else(|| self.settled.remove(&seq))?;
        self.forget(&p);
        Some(p)
    }

    fn forget(&mut self, p: &Parent) {
        if let (Some(g), Some(&seq)) = (&p.order.group_id, self.index.get(p.id()))
            && let Some(legs) = self.groups.get_mut(g.as_ref())
        {
            legs.retain(|&s| s != seq);
            if legs.is_empty() {
                self.groups.remove(g.as_ref());
            }
        }
        self.index.remove(p.id());
        for c in p.child_fills.keys() {
            self.index.remove(c);
            if let Some(venue_id) = client_id::hashed(c) {
                self.index.remove(&venue_id);
            }
        }
    }

    /// A fill of a child: the parent's progress.
    fn on_fill(&mut self, f: &Fill<'_>, out: &mut Vec<Event<'static>>) {
        let Some(&seq) = self.index.get(f.intent_id.as_ref()) else {
            return;
        };
        let working = self.parents.contains_key(&seq);
        let Some(p) = self.parents.get_mut(&seq).or(self.settled.get_mut(&seq)) else {
            return;
        };
        let Some(child) = p.child_fills.get_mut(f.intent_id.as_ref()) else {
            return;
        };
        child.1 = child.1.checked_add(f.qty).unwrap_or(child.1);
        p.filled = p.filled.checked_add(f.qty).unwrap_or(p.filled);
        p.cost = f
            .qty
            .checked_mul(f.price)
            .and_then(|c| p.cost.checked_add(c))
            .unwrap_or(p.cost);
        let peg_filled = matches!(p.spec, Spec::Peg { .. }) && p.filled >= p.order.qty;
        let state = if working && !peg_filled {
            "working"
        } else {
            p.settled_state()
        };
        let iceberg = p.iceberg_due();
        out.push(p.status(state, None, f.ts_fill_ns));
        if state == "done" {
            self.remove(seq);
        } else if iceberg && working {
            // The shown slice filled: the next one goes out now.
            mark_ready(&mut self.ready, &p.order.symbol, seq);
            self.refresh_due();
            self.tick(f.ts_fill_ns, None, out);
        }
    }

    /// A cancel of a parent: its children not known to be filled are cancelled.
    fn on_cancel(&mut self, c: &Cancel<'_>, out: &mut Vec<Event<'static>>) {
        let Some(&seq) = self.index.get(c.intent_id.as_ref()) else {
            return;
        };
        let parent = self.parents.get(&seq).or(self.settled.get(&seq));
        if parent.is_none_or(|p| p.id() != c.intent_id) {
            // A child's own cancel goes on to paper or the broker untouched.
            return;
        }
        let group = parent.and_then(|p| p.order.group_id.clone());
        self.stop(seq, "cancelled", Some(c.ts_ns), out);
        if let Some(g) = group.filter(|g| !g.is_empty()) {
            self.break_group(&g, c.ts_ns, out);
        }
    }

    /// The kill switch: every parent cancels its open children and stops.
    /// The groups of the parents it stops are broken: a leg of one arriving once the switch
    /// is cleared is refused, never worked alone.
    pub fn halt(&mut self, ts_ns: i64, out: &mut Vec<Event<'static>>) {
        let all: Vec<u64> = self
            .parents
            .keys()
            .chain(self.settled.keys())
            .copied()
            .collect();
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        for g in groups {
            self.mark_broken(&g);
        }
        for seq in all {
            self.stop(seq, "halted", Some(ts_ns), out);
        }
    }

    fn stop(
        &mut self,
        seq: u64,
        state: &'static str,
        ts: Option<i64>,
        out: &mut Vec<Event<'static>>,
    ) {
        let reason = (state == "halted").then_some(Reason::Halted);
        self.stop_with(seq, state, reason, ts, out);
    }

    /// Stops a parent: its children not known to be filled are cancelled.
    fn stop_with(
        &mut self,
        seq: u64,
        state: &'static str,
        reason: Option<Reason>,
        ts: Option<i64>,
        out: &mut Vec<Event<'static>>,
    ) {
        let Some(p) = self.remove(seq) else {
            return;
        };
        let ts = ts.unwrap_or(p.order.ts_accepted_ns);
        for (id, (qty, filled)) in &p.child_fills {
            if filled < qty {
                out.push(Event::Cancel(Cancel {
                    intent_id: Cow::Owned(id.clone()),
                    ts_ns: ts,
                }));
            }
        }
        out.push(p.status(state, reason, ts));
        self.refresh_due();
    }
}

impl Parent {
    /// A peg child ended unfilled (cancelled, expired, rejected) having filled `filled` in
    /// all, by its final report, whose fills may still be on their way: only what it did not
    /// fill goes back to be sent, so a replacement never overfills. `Some(true)` when it was
    /// the child being replaced (its replacement is due), `Some(false)` when the resting
    /// child ended by itself, `None` for another order. `client_order_id` is the child's id
    /// or the venue id derived from it.
    fn peg_child_ended(&mut self, client_order_id: &str, filled: Decimal) -> Option<bool> {
        let id = match &self.peg.child {
            Some((c, _))
                if c == client_order_id || client_id::client_order_id(c) == client_order_id =>
            {
                c.clone()
            }
            _ => return None,
        };
        if let Some(c) = self.child_fills.get_mut(&id) {
            let done = c.1.max(filled).min(c.0);
            self.sent = self.sent.checked_sub(c.0 - done).unwrap_or(self.sent);
            c.0 = done;
        }
        self.peg.child = None;
        Some(std::mem::take(&mut self.peg.replacing))
    }

    /// Whether it reads the volume traded: POV, and VWAP (its participation cap).
    fn reads_volume(&self) -> bool {
        matches!(self.spec, Spec::Pov { .. } | Spec::Vwap { .. })
    }

    /// An iceberg with nothing shown (its children so far all filled) and more to show.
    fn iceberg_due(&self) -> bool {
        matches!(self.spec, Spec::Iceberg { .. })
            && self.filled >= self.sent
            && self.sent < self.order.qty
    }

    /// The next iceberg slice: `visible` ± `variance` of it (seeded per parent and slice),
    /// to the lot step; all the rest when the rest, or what it would leave, is below the
    /// minimum notional at the limit price.
    fn iceberg_slice(
        &self,
        visible: Decimal,
        variance: f64,
        seed: u64,
        price: Option<Decimal>,
    ) -> Decimal {
        use rand::{RngExt, SeedableRng};
        let unsent = self.unsent();
        let seed = seed ^ id_hash(self.id()) ^ u64::from(self.children);
        let u: f64 = rand_chacha::ChaCha8Rng::seed_from_u64(seed).random();
        let factor =
            rust_decimal::prelude::FromPrimitive::from_f64(1.0 + variance * (2.0 * u - 1.0))
                .unwrap_or(Decimal::ONE);
        let size = self
            .lot
            .floor(visible.checked_mul(factor).unwrap_or(visible))
            .max(self.lot.step)
            .min(unsent);
        let px = self.order.limit_price.or(price).unwrap_or(Decimal::ONE);
        let rest = unsent - size;
        if !self.lot.big_enough(size, px)
            || (rest > Decimal::ZERO && !self.lot.big_enough(rest, px))
        {
            unsent
        } else {
            size
        }
    }

    fn new(order: Order<'static>, spec: Spec, lot: Lot) -> Self {
        Parent {
            order,
            spec,
            lot,
            plan: Vec::new(),
            next: 0,
            carry: Decimal::ZERO,
            volume_mark: Decimal::ZERO,
            sent: Decimal::ZERO,
            filled: Decimal::ZERO,
            cost: Decimal::ZERO,
            children: 0,
            child_fills: BTreeMap::new(),
            peg: PegState::default(),
        }
    }
}

/// Sends one child of `qty` (a limit at `limit`, else the parent's type and price; the
/// venue showing `shown` of it at a time, when given); returns its id.
fn send(
    p: &mut Parent,
    qty: Decimal,
    limit: Option<Decimal>,
    shown: Option<Decimal>,
    ts: i64,
    out: &mut Vec<Event<'static>>,
) -> String {
    p.children += 1;
    p.sent += qty;
    let id = format!("{}-{}", p.order.intent_id, p.children);
    p.child_fills.insert(id.clone(), (qty, Decimal::ZERO));
    out.push(Event::Order(Order {
        intent_id: Cow::Owned(id.clone()),
        strategy_id: p.order.strategy_id.clone(),
        venue: p.order.venue.clone(),
        symbol: p.order.symbol.clone(),
        side: p.order.side,
        order_type: p.order.order_type,
        qty: qty.normalize(),
        limit_price: limit.or(p.order.limit_price),
        stop_price: None,
        trail: None,
        time_in_force: p.order.time_in_force,
        post_only: p.order.post_only,
        oco: None,
        exec: None,
        iceberg_qty: shown,
        group_id: p.order.group_id.clone(),
        ts_accepted_ns: ts,
    }));
    id
}
