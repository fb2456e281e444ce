//! What the stage runner tells telemetry: every input and output event, counted on the hot
//! path into plain integers and published to the shared metrics once per batch
//! ([`Observer::publish`]), so metrics cost a stage an array increment and a compare per line.
//!
//! Everything here is read off the events themselves (decisions, orders, fills, positions),
//! so the cores stay free of telemetry and every stage reports alike on stdio and on a bus.

use super::{
    CodeLabel, FloatGauge, Health, KindLabel, StateLabel, StreamLabel, on_refresh, register, usd,
};
use crate::config::Topics;
use crate::event::{Decision, Event, Kind, OrderStatus, Position};
use crate::prices::LastPrices;
use crate::reason::Reason;
use crate::risk::{Switch, switch_of, usd};
use crate::time::utc_day;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Unit;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const KINDS: usize = Kind::ALL.len();

/// Streams tracked at most: one per (market-data kind, symbol). Beyond it, new streams are
/// not tracked (logged once), so a runaway symbol list cannot blow up the series count.
const MAX_STREAMS: usize = 1_000;

/// Position and PnL gauges are recomputed at most this often (and at the end).
const GAUGE_EVERY_NS: i64 = 200_000_000;

/// The metrics every stage has, registered once.
struct StageMetrics {
    events_in: Family<KindLabel, Counter>,
    events_out: Family<KindLabel, Counter>,
    malformed: Counter,
    watermark: FloatGauge,
    stream_age: Family<StreamLabel, FloatGauge>,
    stream_lag: Family<StreamLabel, FloatGauge>,
    /// Every stream's last-seen wall time, for the ages computed at scrape time.
    seen: Arc<Mutex<Vec<SeenAt>>>,
}

/// A stream's last-seen wall time (ns) and the age gauge it sets at scrape time.
type SeenAt = (Arc<AtomicI64>, FloatGauge);

fn stage_metrics() -> &'static StageMetrics {
    static M: OnceLock<StageMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = StageMetrics {
            events_in: Family::default(),
            events_out: Family::default(),
            malformed: Counter::default(),
            watermark: FloatGauge::default(),
            stream_age: Family::default(),
            stream_lag: Family::default(),
            seen: Arc::default(),
        };
        register(
            "njord_events_in",
            "Events read (stdin lines or bus messages), by kind",
            None,
            m.events_in.clone(),
        );
        register(
            "njord_events_out",
            "Events this process caused and wrote, by kind",
            None,
            m.events_out.clone(),
        );
        register(
            "njord_malformed_lines",
            "Input lines or messages that did not decode, skipped",
            None,
            m.malformed.clone(),
        );
        register(
            "njord_event_time_watermark",
            "The latest event time read, in seconds since the epoch",
            Some(Unit::Seconds),
            m.watermark.clone(),
        );
        register(
            "njord_stream_last_event_age",
            "Wall time since the last event of a stream arrived",
            Some(Unit::Seconds),
            m.stream_age.clone(),
        );
        register(
            "njord_stream_event_lag",
            "Wall time of arrival minus event time, for the last event of a stream",
            Some(Unit::Seconds),
            m.stream_lag.clone(),
        );
        let seen = m.seen.clone();
        on_refresh(move |now| {
            for (at, age) in seen.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                // 0: created, not yet published (within one batch).
                let at = at.load(Ordering::Relaxed);
                if at > 0 {
                    age.set((now - at) as f64 / 1e9);
                }
            }
        });
        m
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    allowed: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

/// Risk decisions and the trading state they show.
struct TradingMetrics {
    decisions: Family<DecisionLabels, Counter>,
    state: Family<StateLabel, FloatGauge>,
    trips: Family<SourceLabel, Counter>,
}

fn trading_metrics() -> &'static TradingMetrics {
    static M: OnceLock<TradingMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = TradingMetrics {
            decisions: Family::default(),
            state: Family::default(),
            trips: Family::default(),
        };
        register(
            "njord_decisions",
            "Pre-trade decisions (risk, portfolio, live broker), by whether allowed and by reason code (none when allowed)",
            None,
            m.decisions.clone(),
        );
        register(
            "njord_trading_state",
            "1 for the trading state the latest decision showed (active or halted), else 0",
            None,
            m.state.clone(),
        );
        register(
            "njord_kill_switch_trips",
            "Times trading went from active to halted, by where the halt was read (file, redis, unreadable)",
            None,
            m.trips.clone(),
        );
        m
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SideLabel {
    side: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FillLabels {
    side: &'static str,
    liquidity: &'static str,
}

/// Orders, rejections and fills.
struct OrderMetrics {
    orders: Family<SideLabel, Counter>,
    rejects: Family<CodeLabel, Counter>,
    fills: Family<FillLabels, Counter>,
}

fn order_metrics() -> &'static OrderMetrics {
    static M: OnceLock<OrderMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = OrderMetrics {
            orders: Family::default(),
            rejects: Family::default(),
            fills: Family::default(),
        };
        register(
            "njord_orders",
            "Orders this process emitted, by side",
            None,
            m.orders.clone(),
        );
        register(
            "njord_rejects",
            "Orders rejected (order updates with status rejected), by reason code",
            None,
            m.rejects.clone(),
        );
        register(
            "njord_fills",
            "Fills, by side and liquidity (maker or taker)",
            None,
            m.fills.clone(),
        );
        m
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StrategyLabel {
    strategy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SymbolLabel {
    symbol: String,
}

/// Positions and PnL: per strategy and per symbol (never their product, which would multiply
/// the series), and the account's totals.
struct PnlMetrics {
    qty: Family<SymbolLabel, FloatGauge>,
    realized: Family<StrategyLabel, FloatGauge>,
    unrealized: Family<StrategyLabel, FloatGauge>,
    today: Family<StrategyLabel, FloatGauge>,
    equity: FloatGauge,
    drawdown: FloatGauge,
}

fn pnl_metrics() -> &'static PnlMetrics {
    static M: OnceLock<PnlMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = PnlMetrics {
            qty: Family::default(),
            realized: Family::default(),
            unrealized: Family::default(),
            today: Family::default(),
            equity: FloatGauge::default(),
            drawdown: FloatGauge::default(),
        };
        register(
            "njord_position_qty",
            "Net position in base units, all strategies together, by symbol",
            None,
            m.qty.clone(),
        );
        register(
            "njord_pnl_realized",
            "Realized PnL since the positions began, by strategy",
            Some(usd()),
            m.realized.clone(),
        );
        register(
            "njord_pnl_unrealized",
            "Unrealized PnL at the last trade price, by strategy",
            Some(usd()),
            m.unrealized.clone(),
        );
        register(
            "njord_pnl_today",
            "Realized PnL of the current UTC day, by strategy",
            Some(usd()),
            m.today.clone(),
        );
        register(
            "njord_equity",
            "Realized plus unrealized PnL of all strategies: equity above its starting value",
            Some(usd()),
            m.equity.clone(),
        );
        register(
            "njord_drawdown",
            "How far equity is below its highest value seen",
            Some(usd()),
            m.drawdown.clone(),
        );
        m
    })
}

/// One market-data stream: a kind of one symbol.
struct Stream {
    last_ts_ns: i64,
    dirty: bool,
    seen_ns: Arc<AtomicI64>,
    lag: FloatGauge,
}

/// The streams, found by symbol and then kind (trade, book, ticker, bar).
struct Streams {
    index: FxHashMap<Box<str>, [u32; 4]>,
    all: Vec<Stream>,
    dirty: Vec<u32>,
    /// The streams seen last, most often a tape's few symbols, with the latest event time
    /// each saw since it was last folded into its stream: a hit is a few compares and a
    /// store, with no hash, no bounds check and no dirty list.
    recent: [Recent; RECENT],
    /// Where the next stream found by hash goes in `recent`.
    next_recent: usize,
    /// The latest event time folded in from any stream.
    watermark_ns: i64,
    full_warned: bool,
}

#[derive(Clone, Copy)]
struct Recent {
    key: StreamKey,
    stream: u32,
    /// The latest event time seen since the last fold (`i64::MIN`: none; an event at that
    /// time, which no valid feed has, would not mark its stream as seen).
    ts_ns: i64,
}

const NONE: u32 = u32::MAX;
const RECENT: usize = 4;

/// The market-data kinds by stream slot.
const SLOT_KINDS: [Kind; 4] = [Kind::Trade, Kind::Book, Kind::Ticker, Kind::Bar];

/// A stream's identity in three words: its slot and a symbol of at most 16 bytes (its length
/// and two overlapping words, or smaller loads below eight bytes), so finding a recent stream
/// is a few integer compares, with no string compare and no hash.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StreamKey(u64, u64, u64);

impl StreamKey {
    /// Matches no stream: its length word has bits no real key sets.
    const NONE: StreamKey = StreamKey(0, 0, u64::MAX);

    #[inline(always)]
    fn of(slot: usize, symbol: &str) -> Option<StreamKey> {
        let b = symbol.as_bytes();
        let n = b.len();
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let half = |at: usize| {
            u64::from(u32::from_le_bytes(
                b[at..at + 4].try_into().unwrap_or([0; 4]),
            ))
        };
        let (w0, w1) = match n {
            8..=16 => (word(0), word(n - 8)),
            4..=7 => (half(0) | half(n - 4) << 32, 0),
            1..=3 => (
                u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
                0,
            ),
            _ => return None,
        };
        Some(StreamKey(w0, w1, (n as u64) << 8 | slot as u64))
    }
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            index: FxHashMap::default(),
            all: Vec::new(),
            dirty: Vec::new(),
            recent: [Recent {
                key: StreamKey::NONE,
                stream: NONE,
                ts_ns: i64::MIN,
            }; RECENT],
            next_recent: 0,
            watermark_ns: i64::MIN,
            full_warned: false,
        }
    }
}

impl Streams {
    #[inline(always)]
    fn see(&mut self, slot: usize, symbol: &str, ts_ns: i64, topics: &Topics) {
        if let Some(k) = StreamKey::of(slot, symbol) {
            for r in &mut self.recent {
                if r.key == k {
                    r.ts_ns = r.ts_ns.max(ts_ns);
                    return;
                }
            }
        }
        self.find(slot, symbol, ts_ns, topics);
    }

    /// A stream not in `recent`: found by hash (created on first sight), given `ts_ns`, and
    /// put in `recent` in place of the oldest entry, whose time is folded in first.
    #[cold]
    #[inline(never)]
    fn find(&mut self, slot: usize, symbol: &str, ts_ns: i64, topics: &Topics) {
        let kind = SLOT_KINDS[slot];
        let mut i = self.index.get(symbol).map_or(NONE, |slots| slots[slot]);
        if i == NONE {
            if self.all.len() >= MAX_STREAMS {
                if !std::mem::replace(&mut self.full_warned, true) {
                    tracing::warn!(
                        "more than {MAX_STREAMS} streams: {} {symbol} and later ones get no stream metrics",
                        kind.as_str()
                    );
                }
                self.watermark_ns = self.watermark_ns.max(ts_ns);
                return;
            }
            i = self.all.len() as u32;
            let m = stage_metrics();
            let label = StreamLabel {
                stream: topics.for_symbol(kind, symbol),
            };
            let seen_ns = Arc::new(AtomicI64::new(0));
            let age = m.stream_age.get_or_create_owned(&label);
            m.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((seen_ns.clone(), age));
            self.all.push(Stream {
                last_ts_ns: i64::MIN,
                dirty: false,
                seen_ns,
                lag: m.stream_lag.get_or_create_owned(&label),
            });
            self.index.entry(symbol.into()).or_insert([NONE; 4])[slot] = i;
        }
        match StreamKey::of(slot, symbol) {
            Some(key) => {
                let old = std::mem::replace(
                    &mut self.recent[self.next_recent],
                    Recent {
                        key,
                        stream: i,
                        ts_ns,
                    },
                );
                self.next_recent = (self.next_recent + 1) % RECENT;
                self.fold(old);
            }
            None => self.fold(Recent {
                key: StreamKey::NONE,
                stream: i,
                ts_ns,
            }),
        }
    }

    /// Moves what a recent entry saw into its stream and the watermark.
    fn fold(&mut self, r: Recent) {
        let ts = r.ts_ns;
        let Some(s) = self
            .all
            .get_mut(r.stream as usize)
            .filter(|_| ts > i64::MIN)
        else {
            return;
        };
        s.last_ts_ns = s.last_ts_ns.max(ts);
        self.watermark_ns = self.watermark_ns.max(ts);
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(r.stream);
        }
    }

    /// The streams that moved since the last call arrived at `now_ns`.
    fn publish(&mut self, now_ns: i64) {
        for n in 0..RECENT {
            let r = self.recent[n];
            self.recent[n].ts_ns = i64::MIN;
            self.fold(r);
        }
        for i in self.dirty.drain(..) {
            let s = &mut self.all[i as usize];
            s.dirty = false;
            s.seen_ns.store(now_ns, Ordering::Relaxed);
            s.lag.set((now_ns - s.last_ts_ns) as f64 / 1e9);
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Held {
    qty: Decimal,
    avg_price: Decimal,
    realized: Decimal,
    today: Decimal,
    /// UTC day of the position's time, to which `today` belongs.
    day: i64,
}

/// The latest position of each strategy and symbol, and the last trade price of every symbol
/// (for unrealized PnL and, as the risk engine does, to value other quotes in USD).
#[derive(Default)]
struct Ledger {
    held: FxHashMap<Box<str>, FxHashMap<Box<str>, Held>>,
    last: LastPrices,
    dirty: bool,
    peak: f64,
    computed_ns: i64,
}

impl Ledger {
    fn position(&mut self, p: &Position<'_>) {
        let held = Held {
            qty: p.qty,
            avg_price: p.avg_price,
            realized: p.realized_pnl,
            today: p.realized_pnl_day,
            day: utc_day(p.ts_ns),
        };
        let strategy = p.strategy_id.as_deref().unwrap_or("");
        let by_symbol = match self.held.get_mut(strategy) {
            Some(m) => m,
            None => self.held.entry(strategy.into()).or_default(),
        };
        match by_symbol.get_mut(p.symbol.as_ref()) {
            Some(h) => *h = held,
            None => {
                by_symbol.insert(p.symbol.as_ref().into(), held);
            }
        }
        self.dirty = true;
    }

    /// Sets the gauges from the positions at their symbols' last prices, in USD (a quote
    /// without a USD price yet counts at its quote value), `today` counting only positions of
    /// the UTC day `day`.
    fn compute(&mut self, m: &PnlMetrics, day: i64) {
        self.dirty = false;
        let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
        let mut by_symbol: FxHashMap<&str, f64> = FxHashMap::default();
        let mut equity = 0.0;
        for (strategy, positions) in &self.held {
            let (mut realized, mut unrealized, mut today) = (0.0, 0.0, 0.0);
            for (symbol, h) in positions {
                let rate = usd::quote_rate(symbol, &self.last);
                let last = self.last.get(symbol).unwrap_or(h.avg_price);
                realized += f(usd::saturating_mul(h.realized, rate));
                // Positions come from input: any number, and no input may panic.
                let change = usd::saturating_mul(
                    h.qty,
                    last.checked_sub(h.avg_price).unwrap_or(Decimal::ZERO),
                );
                unrealized += f(usd::saturating_mul(change, rate));
                if h.day == day {
                    today += f(usd::saturating_mul(h.today, rate));
                }
                *by_symbol.entry(symbol).or_default() += f(h.qty);
            }
            let l = StrategyLabel {
                strategy: strategy.to_string(),
            };
            m.realized.get_or_create(&l).set(realized);
            m.unrealized.get_or_create(&l).set(unrealized);
            m.today.get_or_create(&l).set(today);
            equity += realized + unrealized;
        }
        for (symbol, qty) in by_symbol {
            m.qty
                .get_or_create(&SymbolLabel {
                    symbol: symbol.to_string(),
                })
                .set(qty);
        }
        self.peak = self.peak.max(equity);
        m.equity.set(equity);
        m.drawdown.set(self.peak - equity);
    }
}

/// Counter handles, resolved from their families once per label set: after that an
/// increment is a small-map lookup and an atomic add, with no lock and no allocation.
#[derive(Default)]
struct Handles {
    ins: [Option<Counter>; KINDS],
    outs: [Option<Counter>; KINDS],
    orders: FxHashMap<&'static str, Counter>,
    rejects: FxHashMap<&'static str, Counter>,
    fills: FxHashMap<(&'static str, &'static str), Counter>,
    decisions: FxHashMap<DecisionLabels, Counter>,
    published: FxHashMap<String, Counter>,
}

/// The hot-path side of a stage's telemetry. Counts are local until [`Observer::publish`].
pub struct Observer {
    handles: Handles,
    topics: Topics,
    health: Arc<Health>,
    ins: [u64; KINDS],
    outs: [u64; KINDS],
    bad: u64,
    watermark_ns: i64,
    streams: Streams,
    /// Whether decisions show the kill switch's state (the stage reads it).
    reads_kill_switch: bool,
    /// Set once a decision was seen: whether the latest showed trading halted.
    halted: Option<bool>,
    ledger: Option<Ledger>,
}

impl Observer {
    pub fn new(topics: &Topics, health: Arc<Health>) -> Observer {
        stage_metrics();
        Observer {
            handles: Handles::default(),
            topics: topics.clone(),
            health,
            ins: [0; KINDS],
            outs: [0; KINDS],
            bad: 0,
            watermark_ns: i64::MIN,
            streams: Streams::default(),
            reads_kill_switch: false,
            halted: None,
            ledger: None,
        }
    }

    /// The runner has started its stage: ready as far as start-up goes. `reads_kill_switch`:
    /// the stage's decisions show the switch's state.
    pub fn attach(&mut self, reads_kill_switch: bool) {
        self.reads_kill_switch = reads_kill_switch;
        self.health.set_started();
    }

    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// An input event.
    #[inline(always)]
    pub fn input(&mut self, ev: &Event<'_>) {
        // The common case on its own path: a trade, with no ledger to keep.
        if let Event::Trade(t) = ev
            && self.ledger.is_none()
        {
            self.ins[Kind::Trade as usize] += 1;
            self.streams.see(0, &t.symbol, t.ts_ns, &self.topics);
            return;
        }
        self.ins[ev.kind() as usize] += 1;
        self.track(ev);
    }

    /// Moves the watermark or, for market data, the event's stream (which moves the
    /// watermark when [`Observer::publish`] folds it in).
    #[inline(always)]
    fn track(&mut self, ev: &Event<'_>) {
        let (slot, symbol, ts) = match ev {
            Event::Trade(t) => {
                if let Some(l) = &mut self.ledger {
                    l.last.set(t.symbol.as_ref(), t.price, t.ts_ns);
                    l.dirty = true;
                }
                (0, t.symbol.as_ref(), t.ts_ns)
            }
            Event::Book(b) => (1, b.symbol.as_ref(), b.ts_ns),
            Event::Ticker(t) => (2, t.symbol.as_ref(), t.ts_ns),
            Event::Bar(b) => (3, b.symbol.as_ref(), b.ts_close_ns),
            _ => {
                self.watermark_ns = self.watermark_ns.max(ev.ts_ns());
                return;
            }
        };
        self.streams.see(slot, symbol, ts, &self.topics);
    }

    /// `n` input lines, messages or frames that did not decode.
    pub fn malformed(&mut self, n: u64) {
        self.bad += n;
    }

    /// A message published on the bus on `topic`.
    pub fn published(&mut self, topic: &str) {
        if let Some(c) = self.handles.published.get(topic) {
            c.inc();
            return;
        }
        let label = super::TopicLabel {
            topic: topic.to_string(),
        };
        let c = super::bus().published.get_or_create_owned(&label);
        c.inc();
        self.handles.published.insert(label.topic, c);
    }

    /// An event this process caused. Market data it makes (ingest's events, bars) moves the
    /// watermark and its streams as input does.
    pub fn output(&mut self, ev: &Event<'_>) {
        self.outs[ev.kind() as usize] += 1;
        match ev {
            Event::Trade(_) | Event::Book(_) | Event::Ticker(_) | Event::Bar(_) => self.track(ev),
            Event::Decision(d) => self.decision(d),
            Event::Order(o) => {
                let side = o.side.as_str();
                self.handles
                    .orders
                    .entry(side)
                    .or_insert_with(|| {
                        order_metrics()
                            .orders
                            .get_or_create_owned(&SideLabel { side })
                    })
                    .inc();
            }
            Event::OrderUpdate(u) if u.status == OrderStatus::Rejected => {
                let code = u.reason.map_or("unknown", Reason::as_str);
                self.handles
                    .rejects
                    .entry(code)
                    .or_insert_with(|| {
                        order_metrics()
                            .rejects
                            .get_or_create_owned(&CodeLabel { code })
                    })
                    .inc();
            }
            Event::Fill(f) => {
                let (side, liquidity) = (f.side.as_str(), f.liquidity.as_str());
                self.handles
                    .fills
                    .entry((side, liquidity))
                    .or_insert_with(|| {
                        order_metrics()
                            .fills
                            .get_or_create_owned(&FillLabels { side, liquidity })
                    })
                    .inc();
            }
            Event::Position(p) => {
                pnl_metrics();
                self.ledger.get_or_insert_with(Ledger::default).position(p);
            }
            // The live broker reports only refusals as decisions: an acknowledged order
            // passed the kill switch.
            Event::Ack(_) if self.reads_kill_switch => self.trading_state(false),
            _ => {}
        }
    }

    fn decision(&mut self, d: &Decision<'_>) {
        let m = trading_metrics();
        let labels = DecisionLabels {
            allowed: if d.allowed { "true" } else { "false" },
            reason: d.reason.map_or("none", Reason::as_str),
        };
        self.handles
            .decisions
            .entry(labels.clone())
            .or_insert_with(|| m.decisions.get_or_create_owned(&labels))
            .inc();
        if !self.reads_kill_switch {
            return;
        }
        let halted = match switch_of(d) {
            None => return,
            Some(Switch::Clear) => false,
            Some(Switch::Halted(source)) => {
                if self.halted != Some(true) {
                    m.trips.get_or_create(&SourceLabel { source }).inc();
                }
                true
            }
        };
        self.trading_state(halted);
    }

    /// The latest decision, or an order sent, showed trading `halted` or not.
    fn trading_state(&mut self, halted: bool) {
        let m = trading_metrics();
        if self.halted != Some(halted) {
            self.halted = Some(halted);
            let set = |state, on: bool| {
                m.state
                    .get_or_create(&StateLabel { state })
                    .set(if on { 1.0 } else { 0.0 });
            };
            set("active", !halted);
            set("halted", halted);
        }
    }

    /// Adds the local counts to the shared metrics and updates health, at wall time `now_ns`.
    /// `end`: the last call of the run, which also recomputes the PnL gauges unthrottled.
    pub fn publish(&mut self, now_ns: i64, end: bool) {
        let m = stage_metrics();
        for (i, kind) in Kind::ALL.iter().enumerate() {
            let kind = kind.as_str();
            if self.ins[i] > 0 {
                let c = self.handles.ins[i]
                    .get_or_insert_with(|| m.events_in.get_or_create_owned(&KindLabel { kind }));
                c.inc_by(std::mem::take(&mut self.ins[i]));
            }
            if self.outs[i] > 0 {
                let c = self.handles.outs[i]
                    .get_or_insert_with(|| m.events_out.get_or_create_owned(&KindLabel { kind }));
                c.inc_by(std::mem::take(&mut self.outs[i]));
            }
        }
        m.malformed.inc_by(std::mem::take(&mut self.bad));
        self.streams.publish(now_ns);
        self.watermark_ns = self.watermark_ns.max(self.streams.watermark_ns);
        if self.watermark_ns > i64::MIN {
            m.watermark.set(self.watermark_ns as f64 / 1e9);
            self.health.watermark(self.watermark_ns, now_ns);
        }
        self.health.beat(now_ns);
        if let Some(l) = &mut self.ledger
            && l.dirty
            && (end || now_ns - l.computed_ns >= GAUGE_EVERY_NS)
        {
            l.computed_ns = now_ns;
            l.compute(pnl_metrics(), utc_day(self.watermark_ns));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Two symbols share a key exactly when they are the same symbol of the same slot.
        #[test]
        fn stream_keys_tell_symbols_apart(a in "[AB/]{0,17}", b in "[AB/]{0,17}", slot in 0usize..4) {
            let (ka, kb) = (StreamKey::of(slot, &a), StreamKey::of(slot, &b));
            if a.is_empty() || a.len() > 16 {
                prop_assert!(ka.is_none());
            } else if !b.is_empty() && b.len() <= 16 {
                prop_assert_eq!(ka == kb, a == b);
                prop_assert!(StreamKey::of((slot + 1) % 4, &a) != ka);
                prop_assert!(ka != Some(StreamKey::NONE));
            }
        }
    }

    #[test]
    fn interleaved_streams_beyond_the_recent_cache_stay_apart() {
        let mut streams = Streams::default();
        let topics = Topics::default();
        let symbols: Vec<String> = (0..7).map(|i| format!("S{i}/USDT")).collect();
        for round in 0..3i64 {
            for (i, s) in symbols.iter().enumerate() {
                streams.see(i % 2, s, round * 100 + i as i64, &topics);
            }
        }
        streams.publish(1);
        assert_eq!(streams.all.len(), 7);
        assert_eq!(streams.watermark_ns, 206);
        let last: Vec<i64> = streams.all.iter().map(|s| s.last_ts_ns).collect();
        assert_eq!(last, (0..7).map(|i| 200 + i).collect::<Vec<_>>());
    }
}
