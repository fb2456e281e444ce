//! Market-data ingest (issue 5): the pure cores and the shell that runs them.
//!
//! - [`TradeDedup`]: the last 512 trade ids per symbol, so a frame sent twice is emitted once.
//! - [`TradeSeq`]: gap detection on trade ids. Binance's trade ids are consecutive per
//!   symbol, so a jump means frames were reordered or lost; the trades after the hole wait
//!   (briefly) for it to fill from the stream or from REST, and come out in id order. A hole
//!   REST cannot fill is reported with its id range and the stream moves on.
//! - [`ControlRate`]: at most 5 control messages a second (Binance drops faster clients).
//! - [`Ingest`]: frames in, `trade` / `ticker` / `book` events out, plus notes telling the
//!   shell what to fetch and what to report.
//!
//! Cores take time as arguments: `local_ns` (wall clock, stamped on events) and `mono_ns`
//! (a monotonic clock, for timeouts). Only [`stream`] reads clocks.

pub mod stream;

use crate::event::{Book, Event, Side, Ticker, Trade};
use crate::venue::VenueSymbol;
use crate::venue::binanceus::book::{BookSync, Snapshot, SnapshotStep, Step, Update};
use crate::venue::binanceus::rest::RestTrade;
use crate::venue::binanceus::ws::{self, Frame, FrameError, StreamKind};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Trade ids remembered per symbol for de-duplication.
pub const DEDUP_WINDOW: usize = 512;

/// The last `window` trade ids seen. Ids mostly arrive in increasing order, so a new id above
/// the largest one is known fresh without a search; only late ids scan the window.
#[derive(Debug, Clone)]
pub struct TradeDedup {
    ring: Vec<u64>,
    next: usize,
    max: Option<u64>,
}

impl TradeDedup {
    pub fn new(window: usize) -> Self {
        TradeDedup {
            ring: Vec::with_capacity(window.max(1)),
            next: 0,
            max: None,
        }
    }

    /// Whether `id` is among the last ids inserted.
    pub fn contains(&self, id: u64) -> bool {
        match self.max {
            Some(m) if id <= m => self.ring.contains(&id),
            _ => false,
        }
    }

    /// Remembers `id`, forgetting the oldest once the window is full.
    pub fn insert(&mut self, id: u64) {
        if self.ring.len() < self.ring.capacity() {
            self.ring.push(id);
        } else {
            self.ring[self.next] = id;
            self.next = (self.next + 1) % self.ring.len();
        }
        self.max = Some(self.max.map_or(id, |m| m.max(id)));
    }
}

/// A trade as the sequencer keeps it: plain values, no strings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeRec {
    pub id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub side: Side,
    pub ts_ns: i64,
    pub ts_local_ns: i64,
}

/// What became of an offered trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Emitted (with any held trades it unblocked).
    Emitted,
    /// After a hole: held until the hole fills or is given up.
    Held,
    /// Seen before.
    Duplicate,
    /// Older than what was already emitted (a hole given up on): dropped to keep id order.
    Late,
}

/// An id range `[from, to]` that could not be recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hole {
    pub from: u64,
    pub to: u64,
}

impl Hole {
    /// How many ids are missing.
    pub fn count(&self) -> u64 {
        self.to - self.from + 1
    }
}

/// What a recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Trades REST supplied that the stream had not.
    pub filled: u64,
    /// Holes left, in id order.
    pub holes: Vec<Hole>,
}

/// Per-symbol trade sequencing: dedup, gap detection, hold and recovery.
#[derive(Debug, Clone)]
pub struct TradeSeq {
    dedup: TradeDedup,
    last: Option<u64>,
    held: BTreeMap<u64, TradeRec>,
    hole_since_ns: Option<i64>,
}

impl Default for TradeSeq {
    fn default() -> Self {
        Self::new()
    }
}

impl TradeSeq {
    pub fn new() -> Self {
        TradeSeq {
            dedup: TradeDedup::new(DEDUP_WINDOW),
            last: None,
            held: BTreeMap::new(),
            hole_since_ns: None,
        }
    }

    /// The last id emitted.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// The open hole: ids missing before the first held trade.
    pub fn hole(&self) -> Option<Hole> {
        let first = *self.held.keys().next()?;
        let last = self.last?;
        Some(Hole {
            from: last + 1,
            to: first - 1,
        })
    }

    /// Trades waiting behind the hole.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Whether the hole has waited `hold_ns` or more trades than `max_held` are waiting: time
    /// to ask REST.
    pub fn hole_due(&self, mono_ns: i64, hold_ns: i64, max_held: usize) -> bool {
        self.hole_since_ns
            .is_some_and(|t| mono_ns.saturating_sub(t) >= hold_ns || self.held.len() >= max_held)
    }

    /// Offers a trade from the stream; what may be emitted now is appended to `out` in id
    /// order.
    pub fn offer(&mut self, t: TradeRec, mono_ns: i64, out: &mut Vec<TradeRec>) -> Offer {
        if self.dedup.contains(t.id) || self.held.contains_key(&t.id) {
            return Offer::Duplicate;
        }
        let Some(last) = self.last else {
            self.emit(t, out);
            return Offer::Emitted;
        };
        if t.id <= last {
            return Offer::Late;
        }
        if t.id == last + 1 {
            self.emit(t, out);
            self.drain(out);
            return Offer::Emitted;
        }
        self.held.insert(t.id, t);
        self.hole_since_ns.get_or_insert(mono_ns);
        Offer::Held
    }

    /// Takes trades fetched from REST (any order, any overlap), then gives up on what is still
    /// missing: every held trade is emitted in id order and the holes left are returned.
    pub fn recover(&mut self, trades: &[TradeRec], out: &mut Vec<TradeRec>) -> Recovery {
        let mut filled = 0;
        for t in trades {
            if self.last.is_some_and(|l| t.id <= l) || self.dedup.contains(t.id) {
                continue;
            }
            if self.held.insert(t.id, *t).is_none() {
                filled += 1;
            }
        }
        let mut holes = Vec::new();
        while let Some((id, t)) = self.held.pop_first() {
            if let Some(l) = self.last
                && id > l + 1
            {
                holes.push(Hole {
                    from: l + 1,
                    to: id - 1,
                });
            }
            self.emit(t, out);
        }
        self.hole_since_ns = None;
        Recovery { filled, holes }
    }

    fn emit(&mut self, t: TradeRec, out: &mut Vec<TradeRec>) {
        self.dedup.insert(t.id);
        self.last = Some(t.id);
        out.push(t);
    }

    fn drain(&mut self, out: &mut Vec<TradeRec>) {
        if self.held.is_empty() {
            return;
        }
        while let Some(entry) = self.held.first_entry() {
            if Some(*entry.key()) != self.last.and_then(|l| l.checked_add(1)) {
                break;
            }
            let t = entry.remove();
            self.emit(t, out);
        }
        if self.held.is_empty() {
            self.hole_since_ns = None;
        }
    }
}

/// A token bucket for outgoing control messages: `per_sec` a second, bursts of `per_sec`.
#[derive(Debug, Clone)]
pub struct ControlRate {
    per_sec: u32,
    tokens: f64,
    at_ns: Option<i64>,
}

impl ControlRate {
    pub fn new(per_sec: u32) -> Self {
        ControlRate {
            per_sec: per_sec.max(1),
            tokens: f64::from(per_sec.max(1)),
            at_ns: None,
        }
    }

    fn refill(&mut self, mono_ns: i64) {
        if let Some(at) = self.at_ns {
            let dt = mono_ns.saturating_sub(at).max(0) as f64 / 1e9;
            self.tokens = (self.tokens + dt * f64::from(self.per_sec)).min(f64::from(self.per_sec));
        }
        self.at_ns = Some(mono_ns);
    }

    /// Takes a token if one is there.
    pub fn try_take(&mut self, mono_ns: i64) -> bool {
        self.refill(mono_ns);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Nanoseconds until a token is there.
    pub fn wait_ns(&mut self, mono_ns: i64) -> i64 {
        self.refill(mono_ns);
        if self.tokens >= 1.0 {
            0
        } else {
            ((1.0 - self.tokens) / f64::from(self.per_sec) * 1e9).ceil() as i64
        }
    }
}

/// Which streams to ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    pub trades: bool,
    pub ticker: bool,
    pub book: bool,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            trades: true,
            ticker: true,
            book: true,
        }
    }
}

impl std::str::FromStr for Streams {
    type Err = String;
    /// `trades,ticker,book` (any non-empty subset).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Streams {
            trades: false,
            ticker: false,
            book: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "trades" | "trade" => out.trades = true,
                "ticker" => out.ticker = true,
                "book" => out.book = true,
                other => {
                    return Err(format!(
                        "unknown stream `{other}`; use trades, ticker and/or book"
                    ));
                }
            }
        }
        if out
            == (Streams {
                trades: false,
                ticker: false,
                book: false,
            })
        {
            return Err("no stream selected; use trades, ticker and/or book".into());
        }
        Ok(out)
    }
}

impl Streams {
    pub fn kinds(&self) -> impl Iterator<Item = StreamKind> + '_ {
        [
            (self.trades, StreamKind::Trade),
            (self.ticker, StreamKind::BookTicker),
            (self.book, StreamKind::Depth),
        ]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
    }
}

/// Counts logged periodically and at exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    pub trades: u64,
    pub duplicates: u64,
    pub late: u64,
    pub recovered: u64,
    pub gaps: u64,
    /// Holes that REST filled completely.
    pub gaps_recovered: u64,
    pub missing_ids: u64,
    pub tickers: u64,
    /// bookTicker frames with an empty side (bid or ask 0), not sent.
    pub empty_tickers: u64,
    pub books: u64,
    pub book_resyncs: u64,
    pub bad_frames: u64,
    pub reconnects: u64,
}

/// Something the shell must do or report.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Fetch a depth snapshot for symbol `i` and hand it to [`Ingest::on_snapshot`].
    FetchSnapshot(usize),
    /// Fetch recent trades for symbol `i` and hand them to [`Ingest::on_recovered`].
    Recover(usize),
    /// Trades that could not be recovered.
    Gap { symbol: String, hole: Hole },
    /// The depth stream skipped update ids; the book is being rebuilt.
    BookGap {
        symbol: String,
        expected: u64,
        got: u64,
    },
    /// A frame was skipped.
    BadFrame(FrameError),
    /// A control message was refused.
    Refused { id: Option<u64>, error: String },
    /// A control message was answered.
    Reply(Option<u64>),
    /// The server announced it is shutting down: reconnect now.
    ServerShutdown,
}

/// Tunables of the core.
#[derive(Debug, Clone, Copy)]
pub struct CoreConfig {
    /// How long trades wait behind a hole before REST is asked.
    pub hold_ns: i64,
    /// How many trades may wait behind a hole before REST is asked at once.
    pub max_held: usize,
    /// Levels a side in `book` events.
    pub book_levels: usize,
    /// Depth events kept while a snapshot is on its way.
    pub max_book_buffer: usize,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            hold_ns: 200_000_000,
            max_held: 5_000,
            book_levels: 20,
            max_book_buffer: 10_000,
        }
    }
}

struct Sym {
    vs: VenueSymbol,
    seq: TradeSeq,
    book: BookSync,
    recovering: bool,
}

/// The ingest core: venue frames in, Njord events out.
pub struct Ingest {
    venue: String,
    syms: Vec<Sym>,
    streams: Streams,
    cfg: CoreConfig,
    pub counters: Counters,
    scratch: Vec<TradeRec>,
}

impl Ingest {
    pub fn new(venue: &str, symbols: Vec<VenueSymbol>, streams: Streams, cfg: CoreConfig) -> Self {
        Ingest {
            venue: venue.to_string(),
            syms: symbols
                .into_iter()
                .map(|vs| Sym {
                    vs,
                    seq: TradeSeq::new(),
                    book: BookSync::new(cfg.max_book_buffer),
                    recovering: false,
                })
                .collect(),
            streams,
            cfg,
            counters: Counters::default(),
            scratch: Vec::with_capacity(64),
        }
    }

    pub fn symbol(&self, i: usize) -> &VenueSymbol {
        &self.syms[i].vs
    }

    pub fn symbols(&self) -> impl Iterator<Item = &VenueSymbol> {
        self.syms.iter().map(|s| &s.vs)
    }

    /// Every stream name to subscribe to.
    pub fn stream_names(&self) -> Vec<String> {
        self.syms
            .iter()
            .flat_map(|s| {
                self.streams
                    .kinds()
                    .map(|k| ws::stream_name(&s.vs.stream, k))
            })
            .collect()
    }

    fn find(&self, venue_symbol: &str) -> Option<usize> {
        self.syms.iter().position(|s| s.vs.venue == venue_symbol)
    }

    /// Handles one text frame received at `local_ns`.
    pub fn on_frame<F: FnMut(usize, &Event<'_>)>(
        &mut self,
        text: &str,
        local_ns: i64,
        mono_ns: i64,
        emit: &mut F,
        notes: &mut Vec<Note>,
    ) {
        self.counters.frames += 1;
        let frame = match ws::decode(text) {
            Ok(f) => f,
            Err(e) => {
                self.counters.bad_frames += 1;
                notes.push(Note::BadFrame(e));
                return;
            }
        };
        let sym = match &frame {
            Frame::Trade(t) => t.symbol,
            Frame::BookTicker(b) => b.symbol,
            Frame::Depth(d) => d.symbol,
            Frame::ServerShutdown => {
                notes.push(Note::ServerShutdown);
                return;
            }
            Frame::Reply { id, error } => {
                notes.push(match error {
                    Some(e) => Note::Refused {
                        id: *id,
                        error: e.clone(),
                    },
                    None => Note::Reply(*id),
                });
                return;
            }
        };
        let Some(i) = self.find(sym) else {
            self.counters.bad_frames += 1;
            notes.push(Note::BadFrame(FrameError::UnknownStream(format!(
                "symbol {}",
                sym.chars().take(30).collect::<String>()
            ))));
            return;
        };
        match frame {
            Frame::Trade(t) if self.streams.trades => {
                let Some(ts_ns) = t.time_ms.checked_mul(1_000_000) else {
                    self.counters.bad_frames += 1;
                    notes.push(Note::BadFrame(FrameError::Invalid {
                        stream: "trade".into(),
                        msg: format!("trade time {} out of range", t.time_ms),
                    }));
                    return;
                };
                let rec = TradeRec {
                    id: t.id,
                    price: t.price,
                    qty: t.qty,
                    side: if t.buyer_maker { Side::Sell } else { Side::Buy },
                    ts_ns,
                    ts_local_ns: local_ns,
                };
                self.offer(i, rec, mono_ns, emit, notes);
            }
            // `@bookTicker` carries no time: the ticker is stamped at receipt.
            // A side of the book that is empty (price 0) is no quote: such a ticker would be
            // a bad line for every reader downstream, so it is counted, not sent.
            Frame::BookTicker(b)
                if self.streams.ticker && !(b.bid > Decimal::ZERO && b.ask > Decimal::ZERO) =>
            {
                self.counters.empty_tickers += 1;
            }
            Frame::BookTicker(b) if self.streams.ticker => {
                self.counters.tickers += 1;
                let ev = Event::Ticker(Ticker {
                    venue: Cow::Borrowed(&self.venue),
                    symbol: Cow::Borrowed(&self.syms[i].vs.pair),
                    last: None,
                    bid: b.bid,
                    ask: b.ask,
                    bid_qty: Some(b.bid_qty),
                    ask_qty: Some(b.ask_qty),
                    volume: None,
                    ts_ns: local_ns,
                });
                emit(i, &ev);
            }
            Frame::Depth(d) if self.streams.book => {
                let step = self.syms[i].book.on_update(Update {
                    first: d.first,
                    last: d.last,
                    time_ms: d.time_ms,
                    bids: d.bids,
                    asks: d.asks,
                });
                let ts_ns = d.time_ms.saturating_mul(1_000_000);
                match step {
                    Step::Applied => self.emit_book(i, ts_ns, emit),
                    Step::Stale => {}
                    Step::Buffered { fetch } => {
                        if fetch {
                            notes.push(Note::FetchSnapshot(i));
                        }
                    }
                    Step::Gap { expected, got } => {
                        self.book_gap(i, expected, got, notes);
                        notes.push(Note::FetchSnapshot(i));
                    }
                }
            }
            _ => {}
        }
    }

    fn offer<F: FnMut(usize, &Event<'_>)>(
        &mut self,
        i: usize,
        rec: TradeRec,
        mono_ns: i64,
        emit: &mut F,
        notes: &mut Vec<Note>,
    ) {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        match self.syms[i].seq.offer(rec, mono_ns, &mut out) {
            Offer::Duplicate => self.counters.duplicates += 1,
            Offer::Late => self.counters.late += 1,
            Offer::Held => self.check_hole(i, mono_ns, notes),
            Offer::Emitted => {}
        }
        self.emit_trades(i, &out, emit);
        self.scratch = out;
    }

    fn emit_trades<F: FnMut(usize, &Event<'_>)>(
        &mut self,
        i: usize,
        out: &[TradeRec],
        emit: &mut F,
    ) {
        let s = &self.syms[i];
        let mut idbuf = itoa::Buffer::new();
        for t in out {
            let ev = Event::Trade(Trade {
                venue: Cow::Borrowed(&self.venue),
                symbol: Cow::Borrowed(&s.vs.pair),
                trade_id: Cow::Borrowed(idbuf.format(t.id)),
                price: t.price,
                qty: t.qty,
                side: t.side,
                ts_ns: t.ts_ns,
                ts_local_ns: Some(t.ts_local_ns),
            });
            emit(i, &ev);
        }
        self.counters.trades += out.len() as u64;
    }

    /// A `book` event of the top levels. `ts_ns` is the depth event's exchange time, or the
    /// receipt time for a book rebuilt from a snapshot (snapshots carry no time).
    fn emit_book<F: FnMut(usize, &Event<'_>)>(&mut self, i: usize, ts_ns: i64, emit: &mut F) {
        self.counters.books += 1;
        let s = &self.syms[i];
        let (bids, asks) = s.book.top(self.cfg.book_levels);
        let ev = Event::Book(Book {
            venue: Cow::Borrowed(&self.venue),
            symbol: Cow::Borrowed(&s.vs.pair),
            bids,
            asks,
            checksum: None,
            ts_ns,
        });
        emit(i, &ev);
    }

    fn check_hole(&mut self, i: usize, mono_ns: i64, notes: &mut Vec<Note>) {
        let s = &mut self.syms[i];
        if !s.recovering && s.seq.hole_due(mono_ns, self.cfg.hold_ns, self.cfg.max_held) {
            s.recovering = true;
            notes.push(Note::Recover(i));
        }
    }

    /// Time passes: holes that waited long enough go to REST.
    pub fn on_tick(&mut self, mono_ns: i64, notes: &mut Vec<Note>) {
        for i in 0..self.syms.len() {
            self.check_hole(i, mono_ns, notes);
        }
    }

    /// Whether every book has been built from its snapshot (true without book streams).
    pub fn books_synced(&self) -> bool {
        !self.streams.book || self.syms.iter().all(|s| s.book.is_synced())
    }

    /// A (new) connection's subscriptions are live: trades missed while it was down are
    /// fetched for every symbol that had trades before, and live books are checked against
    /// a snapshot.
    pub fn on_subscribed(&mut self, notes: &mut Vec<Note>) {
        for (i, s) in self.syms.iter_mut().enumerate() {
            if self.streams.book && s.book.is_synced() {
                notes.push(Note::FetchSnapshot(i));
            }
            if self.streams.trades && s.seq.last().is_some() && !s.recovering {
                s.recovering = true;
                notes.push(Note::Recover(i));
            }
        }
    }

    /// Recent trades from REST for symbol `i` (empty when the request failed), received at
    /// `local_ns`: fills what it can, emits everything held, reports what stays missing.
    pub fn on_recovered<F: FnMut(usize, &Event<'_>)>(
        &mut self,
        i: usize,
        trades: &[RestTrade],
        local_ns: i64,
        emit: &mut F,
        notes: &mut Vec<Note>,
    ) {
        let recs: Vec<TradeRec> = trades
            .iter()
            .map(|t| TradeRec {
                id: t.id,
                price: t.price,
                qty: t.qty,
                side: if t.is_buyer_maker {
                    Side::Sell
                } else {
                    Side::Buy
                },
                ts_ns: t.time.saturating_mul(1_000_000),
                ts_local_ns: local_ns,
            })
            .collect();
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let s = &mut self.syms[i];
        s.recovering = false;
        let r = s.seq.recover(&recs, &mut out);
        self.counters.recovered += r.filled;
        if r.filled > 0 && r.holes.is_empty() {
            self.counters.gaps_recovered += 1;
        }
        for h in r.holes {
            self.counters.gaps += 1;
            self.counters.missing_ids += h.count();
            notes.push(Note::Gap {
                symbol: s.vs.pair.clone(),
                hole: h,
            });
        }
        self.emit_trades(i, &out, emit);
        self.scratch = out;
    }

    /// A depth snapshot for symbol `i` received at `local_ns`, or `None` when the request
    /// failed (the next depth event asks again).
    pub fn on_snapshot<F: FnMut(usize, &Event<'_>)>(
        &mut self,
        i: usize,
        snap: Option<Snapshot>,
        local_ns: i64,
        emit: &mut F,
        notes: &mut Vec<Note>,
    ) {
        let Some(snap) = snap else {
            self.syms[i].book.snapshot_failed();
            return;
        };
        match self.syms[i].book.on_snapshot(snap) {
            SnapshotStep::Synced { .. } => self.emit_book(i, local_ns, emit),
            SnapshotStep::Current => {}
            SnapshotStep::CaughtUp { had, now } => {
                self.book_gap(i, had.saturating_add(1), now, notes);
                self.emit_book(i, local_ns, emit);
            }
            SnapshotStep::TooOld { .. } => notes.push(Note::FetchSnapshot(i)),
            SnapshotStep::Gap { expected, got } => {
                self.book_gap(i, expected, got, notes);
                notes.push(Note::FetchSnapshot(i));
            }
        }
    }

    /// Updates `expected..got` of symbol `i`'s book were missed: counted and reported.
    fn book_gap(&mut self, i: usize, expected: u64, got: u64, notes: &mut Vec<Note>) {
        self.counters.book_resyncs += 1;
        notes.push(Note::BookGap {
            symbol: self.syms[i].vs.pair.clone(),
            expected,
            got,
        });
    }
}

#[cfg(test)]
mod tests;
