//! The portfolio core behind `njord-portfolio` and `njord-backtest --portfolio`: it sizes each
//! strategy's intents to that strategy's capital, nets opposite intents of one event, books
//! every fill into exact per-strategy ledgers, samples the strategies' returns, reallocates
//! and rebalances on schedule, and enforces the portfolio's drawdown limits. Pure: event time
//! only, no I/O; every intent it emits still goes through njord-risk.

use super::ledger::Ledger;
use super::settings::{self, Intervals, MethodName, PortfolioConfig, SizingMode};
use super::{AllocCode, AllocError, AllocInput, Bound, Group, Method, VolTarget, allocate};
use crate::event::{
    Allocation, AllocationRejected, Decision, Event, Fill, Intent, Map, Out, ReconcileBreak, Side,
};
use crate::num::to_json;
use crate::reason::Reason;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

/// The largest notional (quantity × price) of one intent, fill or balance the engine
/// books: far beyond any market, and small enough that sums of them never overflow a
/// `Decimal` (whose arithmetic panics on overflow).
const MAX_NOTIONAL: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

/// `a × b` when it is at most [`MAX_NOTIONAL`] in size.
fn bounded_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b).filter(|n| n.abs() <= MAX_NOTIONAL)
}

/// Whether `a × b` is at most [`MAX_NOTIONAL`] in size. Every intent and fill asks, so the
/// usual case is answered from the mantissas (|a × b| ≤ |mantissa(a) × mantissa(b)|, scales
/// being ≥ 0) without a `Decimal` multiplication.
fn within_notional(a: Decimal, b: Decimal) -> bool {
    const BOUND: u128 = 1_000_000_000_000_000_000;
    match a
        .mantissa()
        .unsigned_abs()
        .checked_mul(b.mantissa().unsigned_abs())
    {
        Some(m) if m <= BOUND => true,
        _ => bounded_mul(a, b).is_some(),
    }
}

/// One strategy's share of the account.
#[derive(Debug, Clone)]
struct Sleeve {
    ledger: Ledger,
    /// Equity and cumulative transfers at the last return sample.
    last_equity: Decimal,
    last_transferred: Decimal,
    /// Time-weighted value of 1 invested at the start, and its peak (drawdowns).
    nav: f64,
    nav_peak: f64,
    /// Past its own drawdown limit: weight 0 and only reducing intents, until cleared.
    halted: bool,
    /// Cash set aside for intents sent but not yet filled: intent id → (notional, expiry).
    reserved: BTreeMap<String, (Decimal, i64)>,
    /// Sells sent but not yet filled: intent id → (symbol, quantity, expiry), so two sells
    /// cannot sell the same holding.
    selling: BTreeMap<String, (String, Decimal, i64)>,
}

impl Sleeve {
    /// Forgets what an intent set aside (it filled, was denied or expired).
    fn release(&mut self, id: &str) {
        self.reserved.remove(id);
        self.selling.remove(id);
    }

    fn expire(&mut self, ts: i64) {
        self.reserved.retain(|_, (_, expiry)| *expiry > ts);
        self.selling.retain(|_, (_, _, expiry)| *expiry > ts);
    }
}

/// How the fills of a netted or rebalance intent are attributed: each strategy's part
/// crossed inside the portfolio, and what the venue still owes it. (A single strategy's
/// intent needs nothing: its fills carry its strategy id.)
#[derive(Debug, Clone)]
struct Legs {
    legs: Vec<Leg>,
    crossing_booked: bool,
    /// The strategies' intents merged into it, whose reservations it holds until it is
    /// done, denied or expired.
    components: Vec<(usize, String)>,
    expires: i64,
    symbol: String,
    /// A rebalance: its cash moves were booked when it was sent.
    rebalance: bool,
}

/// What sizing made of an intent.
enum Sized {
    /// Passed on unchanged: risk judges it (malformed, no id, no price).
    AsIs(Intent<'static>),
    /// Sized to its strategy's capital.
    Sized {
        sleeve: usize,
        intent: Intent<'static>,
    },
}

/// The intent that carries several strategies' legs.
struct NetOrder<'a> {
    id: &'a str,
    symbol: &'a str,
    ts: i64,
    /// `meta.source`: `netting` or `rebalance`.
    source: &'static str,
}

#[derive(Debug, Clone)]
struct Leg {
    sleeve: usize,
    crossed: Decimal,
    venue_left: Decimal,
}

/// Counters reported at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub intents_in: u64,
    pub intents_out: u64,
    pub capped: u64,
    pub refused: u64,
    /// Intents merged into a netted one, and the quantity kept off the venue.
    pub netted: u64,
    #[serde(with = "crate::num")]
    pub netted_qty_offset: Decimal,
    pub rebalances: u64,
    pub rebalance_orders_dropped: u64,
    pub reallocations_rejected: u64,
    /// Fills no strategy asked for: of no known strategy (booked nowhere), or beyond what a
    /// netted or rebalance intent's legs asked for (booked to one of its strategies, so the
    /// books add up).
    pub fills_unattributed: u64,
}

/// A strategy's line in the summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StrategyReport {
    #[serde(rename = "strategy_id")]
    pub id: String,
    #[serde(with = "crate::num")]
    pub weight: Decimal,
    #[serde(with = "crate::num")]
    pub equity: Decimal,
    /// Equity less the capital moved in: the initial allocation and every reallocation.
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    #[serde(with = "crate::num")]
    pub realized: Decimal,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    pub halted: bool,
}

pub struct PortfolioEngine {
    cfg: PortfolioConfig,
    iv: Intervals,
    ids: Vec<String>,
    index: HashMap<String, usize>,
    sleeves: Vec<Sleeve>,
    /// Capital no strategy holds (the volatility target's cash, rounding).
    reserve: Decimal,
    account: Ledger,
    marks: HashMap<String, Decimal>,
    targets: Vec<Decimal>,
    returns: VecDeque<Vec<f64>>,
    started: bool,
    next_sample_ns: i64,
    next_rebalance_ns: i64,
    last_rebalance_ns: Option<i64>,
    batch: Vec<Intent<'static>>,
    /// `flush`'s sized intents and output, kept empty between calls.
    scratch: (Vec<(usize, Intent<'static>)>, Vec<Event<'static>>),
    /// Netted and rebalance intents whose fills are not all in, by intent id.
    routes: HashMap<String, Legs>,
    peak_equity: Decimal,
    /// The peak and the equity below which the portfolio turns reduce-only.
    drawdown_floor: (Decimal, Decimal),
    reduce_only: bool,
    /// Venue quantity not booked by the portfolio, per asset (read at the first balance).
    baseline: HashMap<String, Decimal>,
    /// Book each emitted intent as filled at its reference price (no fills can come back).
    assume_fills: bool,
    /// The latest event time seen: what a clear between events is dated with.
    last_ts: i64,
    /// 1 + `sizing.fee_bps` / 10000: what a unit bought costs per unit of price.
    fee_factor: Decimal,
    counts: Counts,
}

impl PortfolioEngine {
    /// Builds the engine; the configuration must pass [`PortfolioConfig::check`].
    pub fn new(cfg: PortfolioConfig) -> Result<Self, settings::SettingError> {
        let iv = cfg.check()?;
        let fee_factor = Decimal::ONE + cfg.sizing.fee_bps.0 / Decimal::from(10_000);
        let mut ids: Vec<String> = cfg.strategies.iter().map(|s| s.id.clone()).collect();
        ids.sort();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let n = ids.len();
        let sleeve = Sleeve {
            ledger: Ledger::default(),
            last_equity: Decimal::ZERO,
            last_transferred: Decimal::ZERO,
            nav: 1.0,
            nav_peak: 1.0,
            halted: false,
            reserved: BTreeMap::new(),
            selling: BTreeMap::new(),
        };
        Ok(PortfolioEngine {
            account: Ledger::with_cash(cfg.capital.0),
            reserve: cfg.capital.0,
            peak_equity: cfg.capital.0,
            drawdown_floor: (Decimal::ZERO, Decimal::ZERO),
            cfg,
            iv,
            ids,
            index,
            sleeves: vec![sleeve; n],
            marks: HashMap::default(),
            targets: vec![Decimal::ZERO; n],
            returns: VecDeque::new(),
            started: false,
            next_sample_ns: i64::MIN,
            next_rebalance_ns: i64::MIN,
            last_rebalance_ns: None,
            batch: Vec::new(),
            scratch: Default::default(),
            routes: HashMap::default(),
            reduce_only: false,
            baseline: HashMap::default(),
            assume_fills: false,
            last_ts: i64::MIN,
            fee_factor,
            counts: Counts::default(),
        })
    }

    /// Where fills cannot reach the allocator (a stdio pipeline), book each intent it emits
    /// as filled in full at its reference price (its limit, or the last price), without fee.
    pub fn assume_fills(&mut self, on: bool) {
        self.assume_fills = on;
    }

    pub fn config(&self) -> &PortfolioConfig {
        &self.cfg
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub fn reduce_only(&self) -> bool {
        self.reduce_only
    }

    /// The strategies' ledgers, in id order.
    pub fn ledgers(&self) -> impl Iterator<Item = (&str, &Ledger)> {
        self.ids
            .iter()
            .map(String::as_str)
            .zip(self.sleeves.iter().map(|s| &s.ledger))
    }

    /// The account's ledger, booked from the venue's fills only.
    pub fn account(&self) -> &Ledger {
        &self.account
    }

    /// Total equity at the latest marks: every strategy plus the unallocated reserve.
    pub fn equity(&self) -> Decimal {
        self.sleeves
            .iter()
            .map(|s| s.ledger.equity(|sym| self.marks.get(sym).copied()))
            .sum::<Decimal>()
            + self.reserve
    }

    /// Per strategy: weight, equity, PnL (attribution), realized, fees.
    pub fn report(&self) -> Vec<StrategyReport> {
        self.report_with(&|sym| self.marks.get(sym).copied())
    }

    /// [`PortfolioEngine::report`] at the given prices (the backtester keeps its own).
    pub fn report_with(&self, mark: &dyn Fn(&str) -> Option<Decimal>) -> Vec<StrategyReport> {
        self.ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let l = &self.sleeves[i].ledger;
                let equity = l.equity(mark);
                StrategyReport {
                    id: id.clone(),
                    weight: self.targets[i],
                    equity,
                    pnl: equity - l.transferred,
                    realized: l.realized,
                    fees: l.fees,
                    halted: self.sleeves[i].halted,
                }
            })
            .collect()
    }

    /// The drawdown latches: portfolio reduce-only, and the strategies at weight 0.
    pub fn latches(&self) -> (bool, Vec<String>) {
        let halted = self
            .ids
            .iter()
            .zip(&self.sleeves)
            .filter(|(_, s)| s.halted)
            .map(|(id, _)| id.clone())
            .collect();
        (self.reduce_only, halted)
    }

    /// Restores latches kept across a restart.
    pub fn restore_latches(&mut self, reduce_only: bool, halted: &[String]) {
        self.reduce_only = reduce_only;
        for id in halted {
            if let Some(&i) = self.index.get(id) {
                self.sleeves[i].halted = true;
                self.targets[i] = Decimal::ZERO;
            }
        }
    }

    /// Lifts the drawdown latches (portfolio reduce-only, strategies at weight 0); their peaks
    /// restart from now. Returns whether anything was latched.
    pub fn clear(&mut self, out: &mut Out) -> bool {
        let ts_ns = self.last_ts;
        let latched = self.reduce_only || self.sleeves.iter().any(|s| s.halted);
        self.reduce_only = false;
        self.peak_equity = self.equity();
        for s in &mut self.sleeves {
            s.halted = false;
            s.nav_peak = s.nav;
        }
        if latched && self.started && ts_ns > i64::MIN {
            tracing::warn!("portfolio {}: drawdown latches cleared", self.cfg.name);
            self.reallocate(ts_ns, "cleared", out);
        }
        latched
    }

    /// Handles one event, pushing what it causes. Intents of one event time are held until
    /// the next event (or [`PortfolioEngine::flush`]) so opposite ones can be netted.
    pub fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) {
        if let Event::Intent(_) = ev {
            if let Event::Intent(owned) = ev.clone().into_owned() {
                self.push_intent(owned, out);
            }
            return;
        }
        self.flush(out);
        match ev {
            Event::Trade(t) => self.set_mark(&t.symbol, t.price),
            Event::Bar(b) => self.set_mark(&b.symbol, b.close),
            _ => {}
        }
        // Market data moves the clock; fills and the rest come from other clocks.
        if matches!(ev, Event::Trade(_) | Event::Bar(_)) {
            self.advance(ev.ts_ns(), out);
        }
        match ev {
            Event::Fill(f) => self.on_fill(f),
            Event::Decision(d) if !d.allowed => {
                // Denied downstream: what it set aside is free again.
                for s in &mut self.sleeves {
                    s.release(d.intent_id.as_ref());
                }
                if let Some(legs) = self.routes.remove(d.intent_id.as_ref()) {
                    self.unsent(legs);
                }
            }
            Event::Balance(b) => {
                self.reconcile(&b.asset, b.free.saturating_add(b.locked), b.ts_ns, out)
            }
            _ => {}
        }
    }

    /// Holds a strategy's intent until its event time is over (see [`PortfolioEngine::on_event`]);
    /// a caller that owns the intent (the backtester) hands it over without a copy.
    pub fn push_intent(&mut self, intent: Intent<'static>, out: &mut Out) {
        if self.batch.first().is_some_and(|b| b.ts_ns != intent.ts_ns) {
            self.flush(out);
        }
        self.counts.intents_in += 1;
        self.batch.push(intent);
    }

    /// The last price of a symbol: one lookup, an allocation only for a new symbol.
    pub fn set_mark(&mut self, symbol: &str, price: Decimal) {
        match self.marks.get_mut(symbol) {
            Some(p) => *p = price,
            None => {
                self.marks.insert(symbol.to_owned(), price);
            }
        }
    }

    /// The event time from which the schedule has work (a return sample, a reallocation):
    /// a caller that keeps the marks itself (the backtester) only needs to call
    /// [`PortfolioEngine::on_time`] then, or when intents arrive.
    #[inline]
    pub fn next_due_ns(&self) -> i64 {
        // Both start at i64::MIN: before the first event everything is due.
        self.next_sample_ns.min(self.next_rebalance_ns)
    }

    /// Runs the schedule up to `ts_ns` with the marks as set: what a trade or bar does
    /// without its mark.
    pub fn on_time(&mut self, ts_ns: i64, out: &mut Out) {
        self.flush(out);
        self.advance(ts_ns, out);
    }

    /// Sizes, nets and emits the held intents (sells first).
    pub fn flush(&mut self, out: &mut Out) {
        if self.batch.is_empty() {
            return;
        }
        // The buffers are kept between calls: a backtest flushes once per intent.
        let mut batch = std::mem::take(&mut self.batch);
        let (mut sized, mut emitted) = std::mem::take(&mut self.scratch);
        let ts = batch[0].ts_ns;
        self.advance(ts, out);
        for intent in batch.drain(..) {
            match self.size(intent, ts) {
                Ok(Sized::Sized { sleeve, intent }) => sized.push((sleeve, intent)),
                Ok(Sized::AsIs(i)) => emitted.push(Event::Intent(i)),
                Err(d) => emitted.push(Event::Decision(d)),
            }
        }
        self.batch = batch;
        self.net(&mut sized, ts, &mut emitted);
        // Sells before buys within one time, so a sale's cash is there for the buy.
        emitted.sort_by_key(|e| match e {
            Event::Intent(i) => i.side() != Some(Side::Sell),
            _ => false,
        });
        self.counts.intents_out += emitted
            .iter()
            .filter(|e| matches!(e, Event::Intent(_)))
            .count() as u64;
        self.assume_filled(&emitted, ts);
        out.append(&mut emitted);
        self.scratch = (sized, emitted);
    }

    fn assume_filled(&mut self, emitted: &[Event<'static>], ts: i64) {
        if !self.assume_fills {
            return;
        }
        for e in emitted {
            let Event::Intent(i) = e else { continue };
            let (Some(side), Some(id)) = (i.side(), i.id.as_deref()) else {
                continue;
            };
            let price = i
                .limit_price
                .or_else(|| self.marks.get(i.symbol.as_ref()).copied());
            if let Some(price) = price.filter(|p| *p > Decimal::ZERO) {
                self.on_fill(&Fill {
                    order_id: Cow::Borrowed(id),
                    intent_id: Cow::Borrowed(id),
                    strategy_id: Some(Cow::Borrowed(&i.strategy_id)),
                    symbol: Cow::Borrowed(&i.symbol),
                    side,
                    qty: i.qty,
                    price,
                    fee: Decimal::ZERO,
                    fee_asset: Cow::Borrowed(""),
                    liquidity: crate::event::Liquidity::Taker,
                    ts_fill_ns: ts,
                });
            }
        }
    }

    /// The first allocation: fixed weights, or equal weights within the bounds.
    fn start(&mut self, ts: i64, out: &mut Out) {
        self.started = true;
        let method = match self.cfg.method {
            MethodName::Fixed => self.method(),
            _ => Method::EqualWeight,
        };
        let total = self.cfg.capital.0;
        match allocate(&self.input(method, total, Vec::new())) {
            Ok(a) => {
                for (i, c) in a.capital.iter().enumerate() {
                    self.sleeves[i].ledger.transfer(*c);
                    self.sleeves[i].last_equity = *c;
                    self.sleeves[i].last_transferred = self.sleeves[i].ledger.transferred;
                }
                self.reserve = total - a.capital.iter().sum::<Decimal>();
                self.targets = a.weights.clone();
                self.emit_allocation(ts, "initial", &a.weights, &a.capital, Map::new(), out);
            }
            Err(e) => self.reject(ts, &e, out),
        }
    }

    fn method(&self) -> Method {
        match self.cfg.method {
            MethodName::Fixed => Method::Fixed(
                self.ids
                    .iter()
                    .map(|id| {
                        self.slot(id)
                            .and_then(|s| s.weight)
                            .and_then(|w| w.0.to_f64())
                            .unwrap_or(0.0)
                    })
                    .collect(),
            ),
            MethodName::EqualWeight => Method::EqualWeight,
            MethodName::InverseVolatility => Method::InverseVol,
            MethodName::Erc => Method::Erc,
            MethodName::Hrp => Method::Hrp,
            MethodName::MinVariance => Method::MinVariance,
        }
    }

    fn slot(&self, id: &str) -> Option<&settings::StrategySlot> {
        self.cfg.strategies.iter().find(|s| s.id == id)
    }

    fn input(&self, method: Method, total: Decimal, returns: Vec<Vec<f64>>) -> AllocInput {
        let mut input =
            AllocInput::new(self.ids.clone(), returns, method, total, self.cfg.precision);
        input.estimator = match self.cfg.covariance {
            settings::Estimator::Sample => super::Estimator::Sample,
            settings::Estimator::LedoitWolf => super::Estimator::LedoitWolf,
        };
        input.min_history = self.cfg.min_history;
        input.bounds = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let s = self.slot(id).expect("every id has its slot");
                if self.sleeves[i].halted {
                    Bound {
                        min: Decimal::ZERO,
                        max: Decimal::ZERO,
                    }
                } else {
                    Bound {
                        min: s.min.0,
                        max: s.max.0,
                    }
                }
            })
            .collect();
        input.groups = self
            .cfg
            .groups
            .iter()
            .map(|(g, cap)| Group {
                members: self
                    .cfg
                    .strategies
                    .iter()
                    .filter(|s| s.group.as_deref() == Some(g))
                    .map(|s| s.id.clone())
                    .collect(),
                cap: cap.0,
            })
            .collect();
        input.vol_target = self.cfg.vol_target.as_ref().map(|v| VolTarget {
            target: v.annual,
            periods_per_year: v.periods_per_year,
            max_gross: v.max_gross.0,
        });
        input
    }

    /// Samples returns and runs the schedule up to `ts`.
    fn advance(&mut self, ts: i64, out: &mut Out) {
        self.last_ts = self.last_ts.max(ts);
        if !self.started {
            self.start(ts, out);
            self.next_sample_ns = next_boundary(ts, self.iv.returns_ns);
            self.next_rebalance_ns = next_boundary(ts, self.iv.rebalance_ns);
            return;
        }
        if ts >= self.next_sample_ns {
            self.sample(ts, out);
            self.expire_routes(ts);
            self.next_sample_ns = next_boundary(ts, self.iv.returns_ns);
        }
        if ts >= self.next_rebalance_ns {
            let at = self.next_rebalance_ns;
            self.next_rebalance_ns = next_boundary(ts, self.iv.rebalance_ns);
            self.reallocate(at, "rebalance", out);
        }
    }

    /// One return per strategy since the last sample, net of transfers; drawdown latches.
    fn sample(&mut self, ts: i64, out: &mut Out) {
        let marks = &self.marks;
        let mut row = Vec::with_capacity(self.sleeves.len());
        let mut newly_halted = Vec::new();
        for (i, s) in self.sleeves.iter_mut().enumerate() {
            let equity = s.ledger.equity(|sym| marks.get(sym).copied());
            let flows = s.ledger.transferred - s.last_transferred;
            let r = if s.last_equity > Decimal::ZERO {
                ((equity - flows) / s.last_equity - Decimal::ONE)
                    .to_f64()
                    .unwrap_or(0.0)
            } else {
                0.0
            };
            row.push(r);
            s.last_equity = equity;
            s.last_transferred = s.ledger.transferred;
            s.nav *= 1.0 + r;
            s.nav_peak = s.nav_peak.max(s.nav);
            let limit = self.cfg.strategies.iter().find(|x| x.id == self.ids[i]);
            if let Some(dd) = limit
                .and_then(|x| x.max_drawdown)
                .and_then(|d| d.0.to_f64())
                && !s.halted
                && s.nav < s.nav_peak * (1.0 - dd)
            {
                s.halted = true;
                newly_halted.push(i);
            }
        }
        // The portfolio's peak is followed at every sample too, not only when an intent asks.
        let equity = self.equity();
        if equity > self.peak_equity {
            self.peak_equity = equity;
        }
        self.returns.push_back(row);
        while self.returns.len() > self.cfg.lookback {
            self.returns.pop_front();
        }
        for i in newly_halted {
            tracing::warn!(
                strategy_id = %self.ids[i],
                "portfolio {}: strategy {} is past its drawdown limit: weight 0 until cleared",
                self.cfg.name,
                self.ids[i]
            );
            self.targets[i] = Decimal::ZERO;
            let mut meta = Map::new();
            meta.insert("nav".into(), json!(self.sleeves[i].nav));
            meta.insert("nav_peak".into(), json!(self.sleeves[i].nav_peak));
            out.push(Event::Allocation(Allocation {
                portfolio: Cow::Owned(self.cfg.name.clone()),
                strategy_id: Cow::Owned(self.ids[i].clone()),
                weight: Decimal::ZERO,
                capital: Decimal::ZERO,
                method: Cow::Borrowed(self.cfg.method.as_str()),
                reason: Cow::Borrowed("strategy_drawdown"),
                meta,
                ts_ns: ts,
            }));
        }
    }

    fn check_portfolio_drawdown(&mut self) {
        let Some(limit) = self.cfg.risk.max_drawdown else {
            return;
        };
        if self.reduce_only {
            // Latched until cleared, which restarts the peak.
            return;
        }
        let equity = self.equity();
        if equity > self.peak_equity {
            self.peak_equity = equity;
        }
        if self.drawdown_floor.0 != self.peak_equity {
            // Asked at every intent that adds exposure; the peak seldom moves.
            self.drawdown_floor = (
                self.peak_equity,
                self.peak_equity * (Decimal::ONE - limit.0),
            );
        }
        if equity < self.drawdown_floor.1 {
            self.reduce_only = true;
            tracing::warn!(
                %equity,
                peak = %self.peak_equity,
                "portfolio {}: drawdown beyond {}: reduce-only until cleared",
                self.cfg.name,
                limit.0
            );
        }
    }

    /// New weights from the latest returns, then a rebalance when they drifted.
    fn reallocate(&mut self, ts: i64, why: &str, out: &mut Out) {
        self.check_portfolio_drawdown();
        let equity = self
            .equity()
            .round_dp_with_strategy(self.cfg.precision, rust_decimal::RoundingStrategy::ToZero);
        if equity <= Decimal::ZERO {
            return;
        }
        let returns: Vec<Vec<f64>> = self.returns.iter().cloned().collect();
        let a = match allocate(&self.input(self.method(), equity, returns)) {
            Ok(a) => a,
            Err(e) => {
                self.reject(ts, &e, out);
                return;
            }
        };
        let mut meta = Map::new();
        if let Some(c) = a.diagnostics.condition_number {
            meta.insert("condition_number".into(), json!(c));
        }
        if let Some(s) = a.diagnostics.shrinkage {
            meta.insert("shrinkage".into(), json!(s));
        }
        let changed = a.weights != self.targets;
        self.targets = a.weights.clone();
        let due = self
            .last_rebalance_ns
            .is_none_or(|last| ts - last >= self.iv.min_rebalance_ns);
        let marks = &self.marks;
        let drift = self.sleeves.iter().zip(&a.weights).any(|(s, w)| {
            (s.ledger.equity(|sym| marks.get(sym).copied()) / equity - w).abs()
                > self.cfg.rebalance.drift_band.0
        });
        if drift && due {
            self.rebalance(ts, &a.capital, equity, why, meta, out);
        } else if changed {
            self.emit_allocation(ts, why, &a.weights, &a.capital, meta, out);
        }
    }

    /// Moves each strategy toward its target capital: cash between the ledgers, and each
    /// strategy's positions scaled by the same factor, as netted orders per symbol.
    fn rebalance(
        &mut self,
        ts: i64,
        target_capital: &[Decimal],
        equity: Decimal,
        why: &str,
        mut meta: Map,
        out: &mut Out,
    ) {
        let marks = self.marks.clone();
        let mark = |s: &str| marks.get(s).copied();
        let current: Vec<Decimal> = self.sleeves.iter().map(|s| s.ledger.equity(mark)).collect();
        let moves: Vec<Decimal> = target_capital
            .iter()
            .zip(&current)
            .map(|(t, c)| t - c)
            .collect();
        let l1 = moves.iter().map(|m| m.abs()).sum::<Decimal>() / equity;
        let cap = self.cfg.rebalance.max_turnover.0;
        let scale = if l1 > cap { cap / l1 } else { Decimal::ONE };
        let dp = self.cfg.precision;
        let mut legs: BTreeMap<String, Vec<(usize, Decimal)>> = BTreeMap::new();
        for (i, s) in self.sleeves.iter_mut().enumerate() {
            let moved = (moves[i] * scale)
                .round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::ToZero);
            if current[i] > Decimal::ZERO {
                let factor = moved / current[i];
                for (sym, h) in &s.ledger.holdings {
                    let step = self.cfg.lot_step(sym);
                    let q = h
                        .qty
                        .checked_mul(factor)
                        .map_or(Decimal::ZERO, |q| floor_to_step(q, step));
                    if !q.is_zero() {
                        legs.entry(sym.clone()).or_default().push((i, q));
                    }
                }
            }
            s.ledger.transfer(moved);
            self.reserve -= moved;
        }
        let mut dropped = 0u64;
        let mut traded = Decimal::ZERO;
        let mut emitted = Vec::new();
        for (sym, l) in legs {
            let net: Decimal = l.iter().map(|(_, q)| *q).sum();
            let price = mark(&sym).unwrap_or_default();
            if !net.is_zero() && net.abs().saturating_mul(price) < self.cfg.rebalance.min_notional.0
            {
                // Too small for the venue: what the strategies trade among themselves is
                // still booked, at the mark; the rest stays as it is.
                dropped += 1;
                let order = NetOrder {
                    id: "",
                    symbol: &sym,
                    ts,
                    source: "rebalance",
                };
                let plan = self.emit_legs(order, l, Decimal::ZERO, Vec::new(), &mut Vec::new());
                // A sale the venue will not see was paid for by the transfer: the seller gets
                // that cash back from the reserve, so its cash never goes below zero.
                for leg in plan.iter().filter(|l| l.venue_left < Decimal::ZERO) {
                    self.repay(leg.sleeve, -leg.venue_left * price);
                }
                continue;
            }
            traded = l.iter().fold(traded, |t, (_, q)| {
                t.saturating_add(q.abs().saturating_mul(price))
            });
            let id = format!("rebalance:{}:{ts}:{sym}", self.cfg.name);
            let order = NetOrder {
                id: &id,
                symbol: &sym,
                ts,
                source: "rebalance",
            };
            self.emit_legs(order, l, net, Vec::new(), &mut emitted);
        }
        let bps = self.cfg.rebalance.fee_bps.0 + self.cfg.rebalance.slippage_bps.0;
        meta.insert("turnover".into(), to_json(l1 * scale));
        meta.insert("turnover_scale".into(), to_json(scale));
        meta.insert(
            "estimated_cost".into(),
            to_json(traded * bps / Decimal::from(10_000)),
        );
        meta.insert("orders_dropped".into(), json!(dropped));
        self.counts.rebalances += 1;
        self.counts.rebalance_orders_dropped += dropped;
        self.last_rebalance_ns = Some(ts);
        let capital: Vec<Decimal> = self.sleeves.iter().map(|s| s.ledger.equity(mark)).collect();
        let weights = self.targets.clone();
        self.emit_allocation(ts, why, &weights, &capital, meta, out);
        emitted.sort_by_key(|e| match e {
            Event::Intent(i) => i.side() != Some(Side::Sell),
            _ => false,
        });
        self.counts.intents_out += emitted.len() as u64;
        self.assume_filled(&emitted, ts);
        out.extend(emitted);
    }

    fn emit_allocation(
        &self,
        ts: i64,
        why: &str,
        weights: &[Decimal],
        capital: &[Decimal],
        meta: Map,
        out: &mut Out,
    ) {
        for (i, id) in self.ids.iter().enumerate() {
            out.push(Event::Allocation(Allocation {
                portfolio: Cow::Owned(self.cfg.name.clone()),
                strategy_id: Cow::Owned(id.clone()),
                weight: weights[i],
                capital: capital[i],
                method: Cow::Borrowed(self.cfg.method.as_str()),
                reason: Cow::Owned(why.to_owned()),
                meta: meta.clone(),
                ts_ns: ts,
            }));
        }
    }

    fn reject(&mut self, ts: i64, e: &AllocError, out: &mut Out) {
        self.counts.reallocations_rejected += 1;
        let reason = match e.code() {
            AllocCode::InfeasibleBounds => Reason::InfeasibleBounds,
            AllocCode::SingularCovariance => Reason::SingularCovariance,
            AllocCode::InsufficientHistory => Reason::InsufficientHistory,
            AllocCode::SolverFailed | AllocCode::InvalidInput => Reason::SolverFailed,
        };
        out.push(Event::AllocationRejected(AllocationRejected {
            portfolio: Cow::Owned(self.cfg.name.clone()),
            method: Cow::Borrowed(self.cfg.method.as_str()),
            reason,
            detail: Cow::Owned(e.to_string()),
            ts_ns: ts,
        }));
    }

    /// Sizes one strategy intent to its strategy's capital: cut to its free cash (less what
    /// its unfilled buys set aside, fees included) or to what it holds (less its unfilled
    /// sells); `AsIs` when it cannot be sized (malformed, no id, no price: risk denies it).
    fn size(&mut self, mut intent: Intent<'static>, ts: i64) -> Result<Sized, Decision<'static>> {
        let Some(&i) = self.index.get(intent.strategy_id.as_ref()) else {
            let id = intent.id.as_deref().unwrap_or("").to_owned();
            return Err(self.deny(
                &id,
                Reason::StrategyCapital,
                json!({"strategy_id": intent.strategy_id, "why": "not in the portfolio"}),
                ts,
            ));
        };
        let (Some(side), Some(_)) = (intent.side(), intent.order_type()) else {
            // Malformed: risk denies it as invalid_intent.
            return Ok(Sized::AsIs(intent));
        };
        let price = intent
            .limit_price
            .or_else(|| self.marks.get(intent.symbol.as_ref()).copied());
        let Some(price) = price.filter(|p| *p > Decimal::ZERO) else {
            // No price to size with: risk denies it as no_ref_price.
            return Ok(Sized::AsIs(intent));
        };
        let id = match intent.id.as_deref() {
            Some(id) if !id.is_empty() && intent.qty > Decimal::ZERO => id.to_owned(),
            _ => return Ok(Sized::AsIs(intent)),
        };
        if !within_notional(intent.qty, price) {
            return Err(self.deny(
                &id,
                Reason::StrategyCapital,
                json!({"why": "notional beyond 1e18", "qty": to_json(intent.qty), "price": to_json(price)}),
                ts,
            ));
        }
        let held = self.sleeves[i].ledger.qty(&intent.symbol);
        let increases = match side {
            Side::Buy => held >= Decimal::ZERO,
            Side::Sell => held <= Decimal::ZERO,
        };
        if increases {
            // Only an intent that adds exposure needs today's drawdown.
            self.check_portfolio_drawdown();
        }
        let latched = self.reduce_only || self.sleeves[i].halted;
        if increases && self.reduce_only {
            return Err(self.deny(&id, Reason::PortfolioReduceOnly, json!({}), ts));
        }
        if increases && self.sleeves[i].halted {
            return Err(self.deny(&id, Reason::StrategyDrawdown, json!({}), ts));
        }
        let requested = intent.qty;
        let step = self.cfg.lot_step(&intent.symbol);
        // What a unit costs with the fee, so the cash never goes below zero.
        let unit_cost = price * self.fee_factor;
        let sleeve = &mut self.sleeves[i];
        sleeve.expire(ts);
        let mut qty = match side {
            Side::Buy => {
                let wanted = match self.cfg.sizing.mode {
                    SizingMode::Cap => requested,
                    SizingMode::Fraction => {
                        let marks = &self.marks;
                        let equity = sleeve
                            .ledger
                            .equity(|s| marks.get(s).copied().or(Some(price)));
                        floor_to_step(self.cfg.sizing.fraction.0 * equity / unit_cost, step)
                    }
                };
                let reserved: Decimal = sleeve.reserved.values().map(|(n, _)| *n).sum();
                let free = (sleeve.ledger.cash - reserved).max(Decimal::ZERO);
                if wanted * unit_cost <= free {
                    // Affordable as asked: no division on the common path.
                    wanted
                } else {
                    wanted.min(floor_to_step(free / unit_cost, step))
                }
            }
            Side::Sell => {
                let selling: Decimal = sleeve
                    .selling
                    .values()
                    .filter(|(sym, _, _)| sym == intent.symbol.as_ref())
                    .map(|(_, q, _)| *q)
                    .sum();
                let sellable = (held - selling).max(Decimal::ZERO);
                if self.cfg.sizing.allow_short && !latched {
                    requested
                } else {
                    // Long only, or latched: never through zero into a short.
                    requested.min(sellable)
                }
            }
        };
        if latched && side == Side::Buy && held < Decimal::ZERO {
            // Latched: covering a short, never through zero into a long.
            qty = qty.min(-held);
        }
        if qty <= Decimal::ZERO {
            let cash = sleeve.ledger.cash;
            return Err(self.deny(
                &id,
                Reason::StrategyCapital,
                json!({"cash": to_json(cash), "held": to_json(held), "price": to_json(price), "qty": to_json(requested)}),
                ts,
            ));
        }
        if qty != requested {
            self.counts.capped += 1;
            intent
                .meta
                .insert("requested_qty".into(), to_json(requested));
        }
        intent.qty = qty;
        let expiry = ts.saturating_add(self.iv.pending_ttl_ns);
        let sleeve = &mut self.sleeves[i];
        match side {
            Side::Buy => {
                sleeve.reserved.insert(id, (qty * unit_cost, expiry));
            }
            Side::Sell => {
                sleeve
                    .selling
                    .insert(id, (intent.symbol.to_string(), qty, expiry));
            }
        }
        Ok(Sized::Sized { sleeve: i, intent })
    }

    fn deny(&mut self, id: &str, reason: Reason, caps: Value, ts: i64) -> Decision<'static> {
        self.counts.refused += 1;
        Decision {
            intent_id: Cow::Owned(id.to_owned()),
            allowed: false,
            reason: Some(reason),
            caps: match caps {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            ts_ns: ts,
        }
    }

    /// Opposite market intents of different strategies on one symbol become one intent of
    /// the net quantity; the rest pass as they are.
    fn net(
        &mut self,
        sized: &mut Vec<(usize, Intent<'static>)>,
        ts: i64,
        emitted: &mut Vec<Event<'static>>,
    ) {
        if sized.len() < 2 {
            emitted.extend(sized.drain(..).map(|(_, i)| Event::Intent(i)));
            return;
        }
        let mut by_symbol: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (k, (_, i)) in sized.iter().enumerate() {
            if i.order_type.as_ref() == "market" && i.side().is_some() && i.qty > Decimal::ZERO {
                by_symbol.entry(i.symbol.to_string()).or_default().push(k);
            }
        }
        let mut merged = vec![false; sized.len()];
        for (sym, ks) in by_symbol {
            let sides: Vec<Side> = ks.iter().filter_map(|k| sized[*k].1.side()).collect();
            if !(sides.contains(&Side::Buy) && sides.contains(&Side::Sell)) {
                continue;
            }
            let legs: Vec<(usize, Decimal)> = ks
                .iter()
                .map(|k| {
                    let (s, i) = &sized[*k];
                    let q = if i.side() == Some(Side::Buy) {
                        i.qty
                    } else {
                        -i.qty
                    };
                    (*s, q)
                })
                .collect();
            // Each leg's notional is bounded (see `size`), so these sums cannot overflow.
            let net: Decimal = legs.iter().map(|(_, q)| *q).sum();
            let gross: Decimal = legs.iter().map(|(_, q)| q.abs()).sum();
            self.counts.netted += ks.len() as u64;
            self.counts.netted_qty_offset += gross - net.abs();
            // The components keep what they set aside until the netted intent is done.
            let mut components = Vec::with_capacity(ks.len());
            for k in &ks {
                merged[*k] = true;
                let (s, i) = &sized[*k];
                components.push((*s, i.id.as_deref().unwrap_or("").to_owned()));
            }
            let id = format!("net:{}", components[0].1);
            let order = NetOrder {
                id: &id,
                symbol: &sym,
                ts,
                source: "netting",
            };
            self.emit_legs(order, legs, net, components, emitted);
        }
        for (k, (_, i)) in sized.drain(..).enumerate() {
            if !merged[k] {
                emitted.push(Event::Intent(i));
            }
        }
    }

    /// Emits one market intent for `net` (or books the legs against each other when it is 0)
    /// and remembers how to attribute its fills. Returns the plan: each leg's crossed part
    /// and what was left for the venue.
    fn emit_legs(
        &mut self,
        order: NetOrder<'_>,
        mut legs: Vec<(usize, Decimal)>,
        net: Decimal,
        components: Vec<(usize, String)>,
        emitted: &mut Vec<Event<'static>>,
    ) -> Vec<Leg> {
        let NetOrder {
            id,
            symbol,
            ts,
            source,
        } = order;
        legs.sort_by(|a, b| self.ids[a.0].cmp(&self.ids[b.0]));
        // What crosses inside the portfolio: min(Σ buys, Σ sells), handed out in id order
        // on each side; the rest of each leg is the venue's to fill.
        let buys: Decimal = legs
            .iter()
            .filter(|l| l.1 > Decimal::ZERO)
            .map(|l| l.1)
            .sum();
        let sells: Decimal = -legs
            .iter()
            .filter(|l| l.1 < Decimal::ZERO)
            .map(|l| l.1)
            .sum::<Decimal>();
        let mut cross_buy = buys.min(sells);
        let mut cross_sell = cross_buy;
        let plan: Vec<Leg> = legs
            .iter()
            .map(|&(sleeve, q)| {
                let left = if q > Decimal::ZERO {
                    &mut cross_buy
                } else {
                    &mut cross_sell
                };
                let c = q.abs().min(*left);
                *left -= c;
                let crossed = if q > Decimal::ZERO { c } else { -c };
                Leg {
                    sleeve,
                    crossed,
                    venue_left: q - crossed,
                }
            })
            .collect();
        let meta_legs: Vec<Value> = legs
            .iter()
            .map(|(s, q)| json!({"strategy_id": self.ids[*s], "qty": to_json(*q)}))
            .collect();
        if net.is_zero() {
            // Sized intents have a price, so the mark is there.
            let price = self.marks.get(symbol).copied().unwrap_or_default();
            for l in &plan {
                self.sleeves[l.sleeve]
                    .ledger
                    .book(symbol, l.crossed, price, Decimal::ZERO);
            }
            for (s, id) in &components {
                self.sleeves[*s].release(id);
            }
            return plan;
        }
        let mut meta = Map::new();
        meta.insert("source".into(), Value::String(source.to_owned()));
        meta.insert("legs".into(), Value::Array(meta_legs));
        meta.insert("portfolio".into(), Value::String(self.cfg.name.clone()));
        self.routes.insert(
            id.to_owned(),
            Legs {
                legs: plan.clone(),
                crossing_booked: false,
                components,
                expires: ts.saturating_add(self.iv.pending_ttl_ns),
                symbol: symbol.to_owned(),
                rebalance: source == "rebalance",
            },
        );
        emitted.push(Event::Intent(Intent {
            id: Some(Cow::Owned(id.to_owned())),
            ts_ns: ts,
            strategy_id: Cow::Owned(format!("portfolio:{}", self.cfg.name)),
            symbol: Cow::Owned(symbol.to_owned()),
            side: Cow::Borrowed(if net > Decimal::ZERO { "buy" } else { "sell" }),
            order_type: Cow::Borrowed("market"),
            qty: net.abs(),
            limit_price: None,
            stop_price: None,
            trail: None,
            time_in_force: None,
            post_only: false,
            oco: None,
            exec: None,
            group_id: None,
            group_size: None,
            meta,
        }));
        plan
    }

    /// Books a fill into the account and the strategies it belongs to.
    fn on_fill(&mut self, f: &Fill<'_>) {
        if !within_notional(f.qty, f.price) || f.fee.abs() > MAX_NOTIONAL {
            tracing::warn!(intent_id = %f.intent_id, "a fill of notional beyond 1e18 is not booked");
            self.counts.fills_unattributed += 1;
            return;
        }
        let signed = match f.side {
            Side::Buy => f.qty,
            Side::Sell => -f.qty,
        };
        if let Some(legs) = self.routes.remove(f.intent_id.as_ref()) {
            self.account.book(&f.symbol, signed, f.price, f.fee);
            let legs = self.book_legs(f, signed, legs);
            if legs.legs.iter().any(|l| !l.venue_left.is_zero()) {
                self.routes.insert(f.intent_id.to_string(), legs);
            } else {
                self.release_components(&legs);
            }
            return;
        }
        let Some(&sleeve) = f.strategy_id.as_deref().and_then(|s| self.index.get(s)) else {
            self.counts.fills_unattributed += 1;
            return;
        };
        // One multiplication for both books and the reservation.
        let notional = signed * f.price;
        self.account
            .book_notional(&f.symbol, signed, f.price, notional, f.fee);
        let s = &mut self.sleeves[sleeve];
        s.ledger
            .book_notional(&f.symbol, signed, f.price, notional, f.fee);
        match f.side {
            Side::Buy => {
                if let Some((n, _)) = s.reserved.get_mut(f.intent_id.as_ref()) {
                    *n = (*n - notional - f.fee).max(Decimal::ZERO);
                }
            }
            Side::Sell => {
                if let Some((_, q, _)) = s.selling.get_mut(f.intent_id.as_ref()) {
                    *q = (*q - f.qty).max(Decimal::ZERO);
                }
            }
        }
    }

    /// Frees what the intents merged into a netted one set aside.
    fn release_components(&mut self, legs: &Legs) {
        for (s, id) in &legs.components {
            self.sleeves[*s].release(id);
        }
    }

    /// Forgets netted and rebalance intents whose fills never came (denied or rejected
    /// where this stage cannot see it, cancelled, or partly filled), so a daemon's memory
    /// stays bounded.
    fn expire_routes(&mut self, ts: i64) {
        let expired: Vec<String> = self
            .routes
            .iter()
            .filter(|(_, l)| l.expires <= ts)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(legs) = self.routes.remove(&id) {
                self.unsent(legs);
            }
        }
    }

    /// A netted or rebalance intent that will not fill (any further): its strategies'
    /// reservations are freed, and for a rebalance the crossing is booked at the mark (if no
    /// fill did it) and each seller gets back from the reserve the cash its unsold part was
    /// moved out for, so no strategy's cash goes below zero.
    fn unsent(&mut self, legs: Legs) {
        self.release_components(&legs);
        if !legs.rebalance {
            return;
        }
        let Some(price) = self.marks.get(&legs.symbol).copied() else {
            return;
        };
        for l in &legs.legs {
            if !legs.crossing_booked && !l.crossed.is_zero() {
                self.sleeves[l.sleeve]
                    .ledger
                    .book(&legs.symbol, l.crossed, price, Decimal::ZERO);
            }
            if l.venue_left < Decimal::ZERO {
                self.repay(l.sleeve, -l.venue_left * price);
            }
        }
    }

    /// Cash back from the reserve, rounded up to the quote's precision.
    fn repay(&mut self, sleeve: usize, amount: Decimal) {
        let back = amount.round_dp_with_strategy(
            self.cfg.precision,
            rust_decimal::RoundingStrategy::AwayFromZero,
        );
        self.sleeves[sleeve].ledger.transfer(back);
        self.reserve -= back;
    }

    /// Books one fill of a netted or rebalance intent into its strategies.
    fn book_legs(&mut self, f: &Fill<'_>, signed: Decimal, mut legs: Legs) -> Legs {
        if !legs.crossing_booked {
            for l in &legs.legs {
                if !l.crossed.is_zero() {
                    self.sleeves[l.sleeve].ledger.book(
                        &f.symbol,
                        l.crossed,
                        f.price,
                        Decimal::ZERO,
                    );
                }
            }
            legs.crossing_booked = true;
        }
        // The venue's quantity goes to the legs in id order; its fee pro rata, the last
        // share taking the rounding so the parts sum to the fee exactly.
        let mut left = f.qty;
        let mut parts: Vec<(usize, Decimal)> = Vec::new();
        for l in &mut legs.legs {
            if left.is_zero() {
                break;
            }
            let take = l.venue_left.abs().min(left);
            if take.is_zero() || (l.venue_left > Decimal::ZERO) != (signed > Decimal::ZERO) {
                continue;
            }
            left -= take;
            l.venue_left -= if signed > Decimal::ZERO { take } else { -take };
            parts.push((l.sleeve, take));
        }
        let unasked = !left.is_zero() || parts.is_empty();
        if !left.is_zero() {
            // More than the legs asked for (an overfill, or a fill of the other side): the
            // account books all of it, so a strategy must too, or their positions no longer
            // add up. It goes to the last leg this fill served, else to the first leg still
            // waiting for the venue; no leg's `venue_left` changes.
            match parts.last_mut() {
                Some((_, take)) => *take += left,
                None => {
                    let l = legs.legs.iter().find(|l| !l.venue_left.is_zero());
                    let sleeve = l.or(legs.legs.first()).map(|l| l.sleeve);
                    parts.extend(sleeve.map(|s| (s, left)));
                }
            }
        }
        let mut fee_left = f.fee;
        let n_parts = parts.len();
        for (k, (sleeve, take)) in parts.into_iter().enumerate() {
            let fee = if k + 1 == n_parts {
                fee_left
            } else {
                (f.fee * take / f.qty).round_dp(18)
            };
            fee_left -= fee;
            let q = if signed > Decimal::ZERO { take } else { -take };
            self.sleeves[sleeve].ledger.book(&f.symbol, q, f.price, fee);
        }
        if unasked {
            // Counted: no leg asked for it (booked to a strategy all the same, see above).
            self.counts.fills_unattributed += 1;
        }
        legs
    }

    /// Compares the account's booked quantity of `asset` with the venue's balance. The
    /// first balance of an asset sets the baseline the portfolio did not book (holdings it
    /// does not manage); a later difference beyond one lot step is a break.
    fn reconcile(&mut self, asset: &str, venue_qty: Decimal, ts: i64, out: &mut Out) {
        if asset == self.cfg.quote || venue_qty.abs() > MAX_NOTIONAL {
            return;
        }
        let mut ledger_qty = Decimal::ZERO;
        let mut step = Decimal::ZERO;
        for (sym, h) in &self.account.holdings {
            if sym.split_once('/').map(|(b, _)| b) == Some(asset) {
                ledger_qty += h.qty;
                step = step.max(self.cfg.lot_step(sym));
            }
        }
        if step.is_zero() {
            step = Decimal::new(1, 8);
        }
        let base = *self
            .baseline
            .entry(asset.to_owned())
            .or_insert(venue_qty - ledger_qty);
        let diff = venue_qty - base - ledger_qty;
        if diff.abs() > step {
            out.push(Event::ReconcileBreak(ReconcileBreak {
                portfolio: Cow::Owned(self.cfg.name.clone()),
                asset: Cow::Owned(asset.to_owned()),
                ledger_qty,
                venue_qty: venue_qty - base,
                diff,
                ts_ns: ts,
            }));
        }
    }
}

/// The first multiple of `every` after `ts`.
fn next_boundary(ts: i64, every: i64) -> i64 {
    (ts.div_euclid(every) * every).saturating_add(every)
}

/// `q` rounded toward zero to a multiple of `step`.
fn floor_to_step(q: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return q;
    }
    ((q / step).trunc() * step).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    pub(super) fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    pub(super) fn engine(yaml: &str) -> PortfolioEngine {
        let file: settings::PortfolioFile = serde_saphyr::from_str(yaml).unwrap();
        PortfolioEngine::new(file.portfolio).unwrap()
    }

    pub(super) const TWO: &str = "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  rebalance:\n    interval: 1w\n    min_interval: 1w\n";

    pub(super) fn feed(e: &mut PortfolioEngine, lines: &[String]) -> Vec<Event<'static>> {
        let mut out = Vec::new();
        for l in lines {
            e.on_event(&decode(l).unwrap(), &mut out);
        }
        e.flush(&mut out);
        out.into_iter().map(Event::into_owned).collect()
    }

    fn trade_s(symbol: &str, price: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"trade","symbol":"{symbol}","trade_id":"{ts}","price":{price},"qty":1,"side":"buy","ts_ns":{ts}}}"#
        )
    }

    pub(super) fn trade(price: &str, ts: i64) -> String {
        trade_s("X/USDT", price, ts)
    }

    pub(super) fn intent_s(
        sym: &str,
        id: &str,
        strategy: &str,
        side: &str,
        qty: &str,
        ts: i64,
    ) -> String {
        format!(
            r#"{{"kind":"intent","id":"{id}","ts_ns":{ts},"strategy_id":"{strategy}","symbol":"{sym}","side":"{side}","type":"market","qty":{qty},"limit_price":null}}"#
        )
    }

    pub(super) fn intent(id: &str, strategy: &str, side: &str, qty: &str, ts: i64) -> String {
        intent_s("X/USDT", id, strategy, side, qty, ts)
    }

    /// A fill as the paper trader writes it, with the strategy id of its order: the
    /// portfolio's for netted and rebalance intents, else the strategy of the intent id
    /// (`a1` is a's; the property test's `i{k}-{s}` is strategy number s's).
    fn fill(intent_id: &str, side: &str, qty: &str, price: &str, fee: &str, ts: i64) -> String {
        let strategy = if intent_id.starts_with("net:") || intent_id.starts_with("rebalance:") {
            "portfolio:main"
        } else if let Some((_, s)) = intent_id.split_once('-') {
            ["a", "b", "c"][s.parse::<usize>().unwrap()]
        } else {
            &intent_id[..1]
        };
        format!(
            r#"{{"kind":"fill","order_id":"o-{intent_id}","intent_id":"{intent_id}","strategy_id":"{strategy}","symbol":"X/USDT","side":"{side}","qty":{qty},"price":{price},"fee":{fee},"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":{ts}}}"#
        )
    }

    pub(super) fn intents(out: &[Event<'static>]) -> Vec<(String, String, Decimal)> {
        out.iter()
            .filter_map(|e| match e {
                Event::Intent(i) => Some((
                    i.id.as_deref().unwrap_or("").to_owned(),
                    i.side.to_string(),
                    i.qty,
                )),
                _ => None,
            })
            .collect()
    }

    fn assert_books_add_up(e: &PortfolioEngine) {
        let mut sum: BTreeMap<String, Decimal> = BTreeMap::new();
        for (_, l) in e.ledgers() {
            for (s, h) in &l.holdings {
                *sum.entry(s.clone()).or_default() += h.qty;
            }
        }
        sum.retain(|_, q| !q.is_zero());
        let account: BTreeMap<String, Decimal> = e
            .account()
            .holdings
            .iter()
            .filter(|(_, h)| !h.qty.is_zero())
            .map(|(s, h)| (s.clone(), h.qty))
            .collect();
        assert_eq!(
            sum, account,
            "strategy positions must add up to the account's"
        );
    }

    #[test]
    fn the_first_event_splits_the_capital_and_says_so() {
        let mut e = engine(TWO);
        let out = feed(&mut e, &[trade("10", 1)]);
        let allocs: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Event::Allocation(a) => Some((
                    a.strategy_id.to_string(),
                    a.weight,
                    a.capital,
                    a.reason.to_string(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            allocs,
            vec![
                ("a".into(), d("0.5"), d("500"), "initial".into()),
                ("b".into(), d("0.5"), d("500"), "initial".into())
            ]
        );
    }

    #[test]
    fn a_buy_is_cut_to_its_strategys_cash_and_a_sell_to_what_it_holds() {
        let mut e = engine(TWO);
        let out = feed(
            &mut e,
            &[
                trade("10", 1),
                intent("i1", "a", "buy", "80", 2),
                intent("i2", "b", "sell", "1", 3),
            ],
        );
        // 500 of cash pays 10 × 1.001 (the 10 bps fee) per unit: 49.95004995 at the 1e-8 step.
        assert_eq!(
            intents(&out),
            vec![("i1".into(), "buy".into(), d("49.95004995"))]
        );
        let denied: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Event::Decision(d) => Some((d.intent_id.to_string(), d.reason)),
                _ => None,
            })
            .collect();
        assert_eq!(denied, vec![("i2".into(), Some(Reason::StrategyCapital))]);
        // The cash of an unfilled buy stays reserved: a second buy gets nothing.
        let out = feed(&mut e, &[intent("i3", "a", "buy", "1", 4)]);
        assert!(intents(&out).is_empty());
    }

    #[test]
    fn opposite_intents_of_one_event_are_netted_and_each_strategy_books_its_side() {
        let mut e = engine(TWO);
        // b first buys 4 so it has something to sell.
        feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "4", 2)]);
        feed(&mut e, &[fill("b0", "buy", "4", "10", "0.04", 3)]);
        let out = feed(
            &mut e,
            &[
                trade("10", 4),
                intent("a1", "a", "buy", "3", 5),
                intent("b1", "b", "sell", "1", 5),
            ],
        );
        // Only the net goes on: the venue trades 3 − 1 = 2 instead of 3 + 1 = 4.
        assert_eq!(intents(&out), vec![("net:a1".into(), "buy".into(), d("2"))]);
        assert_eq!(e.counts().netted_qty_offset, d("2"));
        feed(&mut e, &[fill("net:a1", "buy", "2", "11", "0.022", 6)]);
        let books: BTreeMap<&str, Decimal> =
            e.ledgers().map(|(id, l)| (id, l.qty("X/USDT"))).collect();
        assert_eq!(books["a"], d("3"));
        assert_eq!(books["b"], d("3"));
        assert_eq!(e.account().qty("X/USDT"), d("6"));
        // Each side at the fill price; the venue fee goes to the strategy that used the venue.
        let a = e.ledgers().find(|(id, _)| *id == "a").unwrap().1;
        assert_eq!(a.cash, d("500") - d("33") - d("0.022"));
        let b = e.ledgers().find(|(id, _)| *id == "b").unwrap().1;
        assert_eq!(b.cash, d("500") - d("40") - d("0.04") + d("11"));
        assert_books_add_up(&e);
    }

    #[test]
    fn fully_offsetting_intents_send_nothing_and_book_at_the_mark() {
        let mut e = engine(TWO);
        feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "2", 2)]);
        feed(&mut e, &[fill("b0", "buy", "2", "10", "0", 3)]);
        let out = feed(
            &mut e,
            &[
                trade("12", 4),
                intent("a1", "a", "buy", "2", 5),
                intent("b1", "b", "sell", "2", 5),
            ],
        );
        assert!(intents(&out).is_empty());
        let books: BTreeMap<&str, Decimal> =
            e.ledgers().map(|(id, l)| (id, l.qty("X/USDT"))).collect();
        assert_eq!((books["a"], books["b"]), (d("2"), d("0")));
        assert_books_add_up(&e);
    }

    #[test]
    fn past_the_portfolio_drawdown_only_reducing_intents_pass_until_cleared() {
        let mut e = engine(&format!("{TWO}  risk:\n    max_drawdown: 0.1\n"));
        feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "50", 2)]);
        feed(&mut e, &[fill("a0", "buy", "50", "10", "0", 3)]);
        // 50 × (10 − 7) = 150 lost of 1000: 15 % down.
        let out = feed(
            &mut e,
            &[
                trade("7", 4),
                intent("b1", "b", "buy", "1", 5),
                intent("a1", "a", "sell", "10", 6),
            ],
        );
        assert!(e.reduce_only());
        assert_eq!(intents(&out), vec![("a1".into(), "sell".into(), d("10"))]);
        assert!(out.iter().any(
            |ev| matches!(ev, Event::Decision(d) if d.reason == Some(Reason::PortfolioReduceOnly))
        ));
        let mut out = Vec::new();
        assert!(e.clear(&mut out));
        let out = feed(&mut e, &[intent("b2", "b", "buy", "1", 8)]);
        assert_eq!(intents(&out), vec![("b2".into(), "buy".into(), d("1"))]);
    }

    #[test]
    fn strategy_pnl_adds_up_to_the_accounts() {
        let mut e = engine(TWO);
        feed(
            &mut e,
            &[
                trade("10", 1),
                intent("a0", "a", "buy", "20", 2),
                intent("b0", "b", "buy", "5", 3),
            ],
        );
        feed(
            &mut e,
            &[
                fill("a0", "buy", "20", "10", "0.2", 4),
                fill("b0", "buy", "5", "10.5", "0.05", 5),
            ],
        );
        feed(
            &mut e,
            &[trade("11", 6), intent("a1", "a", "sell", "20", 7)],
        );
        feed(
            &mut e,
            &[fill("a1", "sell", "20", "11", "0.22", 8), trade("12", 9)],
        );
        let total: Decimal = e.report().iter().map(|r| r.pnl).sum();
        let account = e.account().equity(|_| Some(d("12"))) - d("1000");
        assert_eq!(total, account);
        assert_eq!(total, d("20") - d("0.42") + d("7.5") - d("0.05"));
    }

    #[test]
    fn absurd_sizes_are_refused_or_left_unbooked_never_a_panic() {
        let mut e = engine(TWO);
        let huge = "79228162514264337593543950335";
        let out = feed(
            &mut e,
            &[
                trade("7922816251426433759354395033", 1),
                intent("a0", "a", "buy", huge, 2),
            ],
        );
        assert!(out.iter().any(
            |ev| matches!(ev, Event::Decision(d) if d.reason == Some(Reason::StrategyCapital))
        ));
        feed(
            &mut e,
            &[fill(
                "a0",
                "buy",
                huge,
                "7922816251426433759354395033",
                "0",
                3,
            )],
        );
        assert_eq!(e.counts().fills_unattributed, 1);
        let balance =
            format!(r#"{{"kind":"balance","asset":"X","free":{huge},"locked":{huge},"ts_ns":4}}"#);
        feed(&mut e, &[balance]);
        assert_eq!(e.report().len(), 2);
        assert_books_add_up(&e);
    }

    #[test]
    fn a_drifted_portfolio_is_rebalanced_by_scaling_each_strategys_positions() {
        let day = 86_400_000_000_000i64;
        let mut e = engine(
            "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  rebalance:\n    interval: 1d\n    min_interval: 1d\n    drift_band: 0.05\n    min_notional: 1\n",
        );
        feed(&mut e, &[trade("10", 1), intent("a0", "a", "buy", "50", 2)]);
        feed(&mut e, &[fill("a0", "buy", "50", "10", "0", 3)]);
        // X doubles: a holds 1000 of 1500 (two thirds), b 500; targets stay ½ each.
        let out = feed(&mut e, &[trade("20", 4), trade("20", day + 1)]);
        let reb: Vec<_> = intents(&out);
        // a's sleeve shrinks from 1000 to 750: its 50 X are scaled by 0.75 → sell 12.5.
        assert_eq!(reb.len(), 1);
        assert_eq!((reb[0].1.as_str(), reb[0].2), ("sell", d("12.5")));
        let allocs = out
            .iter()
            .filter(|e| matches!(e, Event::Allocation(a) if a.reason == "rebalance"))
            .count();
        assert_eq!(allocs, 2);
        feed(
            &mut e,
            &[fill(&reb[0].0, "sell", "12.5", "20", "0", day + 2)],
        );
        let eq: Vec<Decimal> = e.report().iter().map(|r| r.equity).collect();
        assert_eq!(eq, vec![d("750"), d("750")]);
        assert_books_add_up(&e);
    }

    #[test]
    fn a_netted_fill_beyond_its_legs_still_adds_up() {
        // The property test's case: the venue fills 0.0001 + 0.0001 of a netted buy of
        // 0.00019811; the account books the 0.00000189 no leg asked for, so a strategy must.
        let mut e = engine(TWO);
        feed(&mut e, &[trade("10", 1), intent("b0", "b", "buy", "4", 2)]);
        feed(&mut e, &[fill("b0", "buy", "4", "10", "0.04", 3)]);
        let out = feed(
            &mut e,
            &[
                trade("10", 4),
                intent("a1", "a", "buy", "1.00019811", 5),
                intent("b1", "b", "sell", "1", 5),
            ],
        );
        assert_eq!(
            intents(&out),
            vec![("net:a1".into(), "buy".into(), d("0.00019811"))]
        );
        feed(
            &mut e,
            &[
                fill("net:a1", "buy", "0.0001", "10", "0.01", 6),
                fill("net:a1", "buy", "0.0001", "10", "0.01", 6),
            ],
        );
        assert_eq!(e.account().qty("X/USDT"), d("4.0002"));
        assert_books_add_up(&e);
        let a = e.ledgers().find(|(id, _)| *id == "a").unwrap().1;
        assert_eq!(a.qty("X/USDT"), d("1.0002"));
        assert_eq!(e.counts().fills_unattributed, 1);
        // A fill of the other side of a route still open goes to its strategy too.
        let out = feed(
            &mut e,
            &[
                trade("10", 7),
                intent("a2", "a", "buy", "2", 8),
                intent("b2", "b", "sell", "1", 8),
            ],
        );
        assert_eq!(intents(&out), vec![("net:a2".into(), "buy".into(), d("1"))]);
        feed(&mut e, &[fill("net:a2", "sell", "0.5", "10", "0.01", 9)]);
        assert_books_add_up(&e);
        let pnl: Decimal = e.report().iter().map(|r| r.pnl).sum();
        assert_eq!(pnl, e.account().equity(|_| Some(d("10"))) - d("1000"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Whatever the strategies ask and however the venue fills (in parts, netted or
        /// not), their positions add up to the account's, and their PnL to its PnL.
        #[test]
        fn ledgers_always_add_up(
            steps in proptest::collection::vec((0u8..3, 0u8..3, 1u32..40, 1u32..4, 90u32..110), 1..40)
        ) {
            let mut e = engine("portfolio:\n  capital: 3000\n  strategies:\n    - id: a\n    - id: b\n    - id: c\n  sizing:\n    allow_short: true\n  rebalance:\n    interval: 1h\n    min_interval: 1h\n    min_notional: 1\n");
            let mut ts = 1i64;
            let mut open: Vec<(String, String, Decimal)> = Vec::new();
            feed(&mut e, &[trade("10", ts)]);
            for (k, (what, strat, qty, parts, price)) in steps.into_iter().enumerate() {
                ts += 600_000_000_000;
                let price = Decimal::from(price) / Decimal::TEN;
                let mut lines = vec![trade(&price.to_string(), ts)];
                if what < 2 {
                    // Two or three strategies at once, so some are netted.
                    for s in 0..=strat {
                        let side = if (k + s as usize).is_multiple_of(2) { "buy" } else { "sell" };
                        let id = format!("i{k}-{s}");
                        lines.push(intent(&id, ["a", "b", "c"][s as usize], side, &qty.to_string(), ts + 1));
                    }
                }
                let out = feed(&mut e, &lines);
                open.extend(intents(&out));
                if what >= 1 && !open.is_empty() {
                    let (id, side, q) = open.remove(0);
                    let part = (q / Decimal::from(parts)).round_dp(4);
                    let mut left = q;
                    let mut fills = Vec::new();
                    for p in 0..parts {
                        let f = if p + 1 == parts { left } else { part };
                        left -= f;
                        if f > Decimal::ZERO {
                            fills.push(fill(&id, &side, &f.to_string(), &price.to_string(), "0.01", ts + 2));
                        }
                    }
                    feed(&mut e, &fills);
                }
                assert_books_add_up(&e);
                let pnl: Decimal = e.report().iter().map(|r| r.pnl).sum();
                let account = e.account().equity(|_| Some(price)) - Decimal::from(3000);
                proptest::prop_assert_eq!(pnl, account);
            }
        }
    }
}

#[cfg(test)]
#[path = "engine_regressions.rs"]
mod regressions;
