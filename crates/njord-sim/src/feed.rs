//! The market feed: the player that paces the tape into the venue core, and the hub that
//! fans the resulting frames (and user-data events) out to WebSocket connections.
//!
//! Frames are sent with backpressure: a slow subscriber slows the tape instead of losing
//! frames, so what a client receives is exactly the tape, in order (unless a fault says
//! otherwise).

use super::matching::{Levels, PubTrade, UserEvent, synthetic_book};
use super::tape::{Tape, TapeSymbol};
use super::{Sim, Speed, wire};
use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// One frame for a connection: the stream it belongs to and its raw payload.
#[derive(Debug, Clone)]
pub struct Out {
    pub stream: Arc<str>,
    /// Shared by every connection that gets it: cloning is a reference count.
    pub payload: Utf8Bytes,
}

pub type Batch = Vec<Out>;

/// A market stream's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Trade,
    AggTrade,
    BookTicker,
    Diff,
    Partial(usize),
}

/// What a stream name designates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Market { m: usize, kind: Kind },
    User { key: String },
}

#[derive(Debug, Clone)]
pub struct Sub {
    pub name: Arc<str>,
    pub target: Target,
}

/// Parses `atomusdt@trade`, `@aggTrade`, `@bookTicker`, `@depth`, `@depth@100ms`,
/// `@depth5|10|20[@100ms]`; a name without `@` is a listen key.
pub fn parse_stream(name: &str, symbols: &[TapeSymbol]) -> Option<Target> {
    let Some((sym, rest)) = name.split_once('@') else {
        return (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Target::User { key: name.into() });
    };
    let m = symbols
        .iter()
        .position(|s| s.name.to_ascii_lowercase() == sym)?;
    let rest = rest
        .strip_suffix("@100ms")
        .or_else(|| rest.strip_suffix("@1000ms"))
        .unwrap_or(rest);
    let kind = match rest {
        "trade" => Kind::Trade,
        "aggTrade" => Kind::AggTrade,
        "bookTicker" => Kind::BookTicker,
        "depth" => Kind::Diff,
        "depth5" => Kind::Partial(5),
        "depth10" => Kind::Partial(10),
        "depth20" => Kind::Partial(20),
        _ => return None,
    };
    Some(Target::Market { m, kind })
}

/// One WebSocket connection as the hub sees it.
pub struct Conn {
    pub id: u64,
    pub subs: Mutex<Vec<Sub>>,
    pub tx: mpsc::Sender<Batch>,
    /// Tells the connection task to drop the connection.
    pub kill: Notify,
}

impl Conn {
    pub fn new(id: u64, subs: Vec<Sub>, tx: mpsc::Sender<Batch>) -> Self {
        Conn {
            id,
            subs: Mutex::new(subs),
            tx,
            kill: Notify::new(),
        }
    }
    pub fn subs(&self) -> std::sync::MutexGuard<'_, Vec<Sub>> {
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Hub {
    conns: Mutex<Vec<Arc<Conn>>>,
    market_subs: AtomicUsize,
    subscribed: Notify,
    user_tx: mpsc::UnboundedSender<Vec<UserEvent>>,
    user_rx: Mutex<Option<mpsc::UnboundedReceiver<Vec<UserEvent>>>>,
    pub ws_faults: super::faults::WsFaults,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (user_tx, user_rx) = mpsc::unbounded_channel();
        Hub {
            conns: Mutex::new(Vec::new()),
            market_subs: AtomicUsize::new(0),
            subscribed: Notify::new(),
            user_tx,
            user_rx: Mutex::new(Some(user_rx)),
            ws_faults: Default::default(),
        }
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn register(&self, c: Arc<Conn>) {
        self.conns().push(c);
        self.subscriptions_changed();
    }

    pub fn unregister(&self, id: u64) {
        self.conns().retain(|c| c.id != id);
        self.subscriptions_changed();
    }

    /// Recounts market subscriptions; wakes a player waiting for the first one.
    pub fn subscriptions_changed(&self) {
        let n: usize = self
            .conns()
            .iter()
            .map(|c| {
                c.subs()
                    .iter()
                    .filter(|s| matches!(s.target, Target::Market { .. }))
                    .count()
            })
            .sum();
        self.market_subs.store(n, Ordering::Relaxed);
        if n > 0 {
            self.subscribed.notify_waiters();
        }
    }

    pub fn snapshot(&self) -> Vec<Arc<Conn>> {
        self.conns().clone()
    }

    /// Queues user-data events; called with the venue lock held, so order is core order.
    pub fn push_user(&self, evs: Vec<UserEvent>) {
        let _ = self.user_tx.send(evs);
    }

    /// Sends `notice` (if any) to the streams of listen key `key`, then drops them.
    pub async fn close_user(&self, key: &str, notice: Option<String>) {
        let payload: Option<Utf8Bytes> = notice.map(Utf8Bytes::from);
        for c in self.snapshot() {
            let sub = c
                .subs()
                .iter()
                .find(|s| s.target == Target::User { key: key.into() })
                .cloned();
            if let Some(sub) = sub {
                if let Some(p) = &payload {
                    let _ =
                        c.tx.send(vec![Out {
                            stream: sub.name.clone(),
                            payload: p.clone(),
                        }])
                        .await;
                }
                // An empty batch tells the connection to close once what came before is out.
                let _ = c.tx.send(Vec::new()).await;
            }
        }
    }

    /// Drops every connection (an outage).
    pub fn drop_all(&self) {
        for c in self.snapshot() {
            c.kill.notify_one();
        }
    }

    pub async fn expire_listen_key(&self, key: &str, now: i64) {
        self.close_user(key, Some(wire::listen_key_expired(now, key)))
            .await;
    }

    async fn wait_for_subscriber(&self) {
        loop {
            let notified = self.subscribed.notified();
            if self.market_subs.load(Ordering::Relaxed) > 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Forwards user-data events, in order, to every connection subscribed to a listen key.
async fn user_pump(sim: Arc<Sim>, mut rx: mpsc::UnboundedReceiver<Vec<UserEvent>>) {
    while let Some(evs) = rx.recv().await {
        let payloads: Vec<Utf8Bytes> = evs
            .iter()
            .map(|e| Utf8Bytes::from(wire::user_event(e)))
            .collect();
        for c in sim.hub.snapshot() {
            let names: Vec<Arc<str>> = c
                .subs()
                .iter()
                .filter(|s| matches!(s.target, Target::User { .. }))
                .map(|s| s.name.clone())
                .collect();
            if names.is_empty() {
                continue;
            }
            let batch: Batch = payloads
                .iter()
                .flat_map(|p| {
                    names.iter().map(move |n| Out {
                        stream: n.clone(),
                        payload: p.clone(),
                    })
                })
                .collect();
            let _ = c.tx.send(batch).await;
        }
    }
}

/// `POST /control/step`: play `n` trades and say how many were played.
pub struct StepCmd {
    pub n: u64,
    pub reply: oneshot::Sender<u64>,
}

/// Trades played per lock and per batch of frames.
const BATCH: usize = 512;

/// Starts the player and the user-data pump; the sender drives `--speed step`.
pub fn spawn_player(sim: Arc<Sim>, tape: Tape) -> mpsc::Sender<StepCmd> {
    let (tx, rx) = mpsc::channel(16);
    if let Some(urx) = sim.hub.user_rx.lock().ok().and_then(|mut g| g.take()) {
        tokio::spawn(user_pump(sim.clone(), urx));
    }
    tokio::spawn(play(sim, tape, rx));
    tx
}

/// Where the player is on the tape: position and lap (a looping tape shifts ids and times).
#[derive(Clone, Copy)]
struct Cursor {
    pos: usize,
    lap: u64,
    span_ms: i64,
    id_span: u64,
}

impl Cursor {
    fn new(tape: &Tape) -> Self {
        let first = tape.trades.first().map(|t| t.ts_ms).unwrap_or(0);
        let last = tape.trades.last().map(|t| t.ts_ms).unwrap_or(0);
        Cursor {
            pos: 0,
            lap: 0,
            span_ms: last - first + 1000,
            id_span: tape.trades.iter().map(|t| t.id).max().unwrap_or(0),
        }
    }

    /// The next trade, or `None` at the end of a tape that does not loop.
    fn next(&mut self, tape: &Tape, looping: bool) -> Option<(usize, PubTrade)> {
        if self.pos == tape.trades.len() {
            if !looping {
                return None;
            }
            self.pos = 0;
            self.lap += 1;
        }
        let t = &tape.trades[self.pos];
        self.pos += 1;
        let lap = self.lap as i64;
        Some((
            t.sym,
            PubTrade {
                id: t.id.saturating_add(self.lap.saturating_mul(self.id_span)),
                price: t.price,
                qty: t.qty,
                time: t.ts_ms + lap * self.span_ms,
                buyer_maker: t.buyer_maker,
            },
        ))
    }

    /// Tape time of the next trade; `None` at the end of a tape that does not loop.
    fn peek_ms(&self, tape: &Tape, looping: bool) -> Option<i64> {
        if self.pos == tape.trades.len() && !looping {
            return None;
        }
        let i = if self.pos == tape.trades.len() {
            0
        } else {
            self.pos
        };
        let lap = self.lap as i64 + i64::from(self.pos == tape.trades.len());
        tape.trades.get(i).map(|t| t.ts_ms + lap * self.span_ms)
    }
}

/// Duplicates and reorders trade frames as the faults say.
#[derive(Default)]
struct Mangler {
    count: u64,
    held: Vec<Item>,
}

async fn play(sim: Arc<Sim>, tape: Tape, mut steps: mpsc::Receiver<StepCmd>) {
    let settings = sim.settings.clone();
    if settings.start_on_subscribe {
        sim.hub.wait_for_subscriber().await;
    }
    let mut cur = Cursor::new(&tape);
    let mut mangler = Mangler::default();
    let t0 = cur.peek_ms(&tape, settings.loop_tape).unwrap_or(0);
    let start = tokio::time::Instant::now();
    loop {
        let n = match settings.speed {
            Speed::Step => {
                let Some(cmd) = steps.recv().await else {
                    return;
                };
                let played = play_some(&sim, &tape, &mut cur, cmd.n as usize, &mut mangler).await;
                let _ = cmd.reply.send(played as u64);
                continue;
            }
            Speed::Max => BATCH,
            Speed::Times(f) => {
                let Some(next) = cur.peek_ms(&tape, settings.loop_tape) else {
                    return;
                };
                let due = start + Duration::from_secs_f64(((next - t0).max(0) as f64 / 1000.0) / f);
                tokio::time::sleep_until(due).await;
                // Everything due by now goes in one batch.
                let elapsed_tape = t0 + (start.elapsed().as_secs_f64() * 1000.0 * f) as i64;
                let mut n = 0;
                let mut probe = cur;
                while n < BATCH {
                    match probe.peek_ms(&tape, settings.loop_tape) {
                        Some(ts) if ts <= elapsed_tape => {
                            probe.next(&tape, settings.loop_tape);
                            n += 1;
                        }
                        _ => break,
                    }
                }
                n.max(1)
            }
        };
        if play_some(&sim, &tape, &mut cur, n, &mut mangler).await == 0 {
            return;
        }
        if settings.speed == Speed::Max {
            tokio::task::yield_now().await;
        }
    }
}

/// Plays up to `n` trades through the core and sends their frames; returns how many.
async fn play_some(
    sim: &Arc<Sim>,
    tape: &Tape,
    cur: &mut Cursor,
    n: usize,
    mangler: &mut Mangler,
) -> usize {
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(BATCH);
        let now = sim.now_ms();
        let mut played = Vec::with_capacity(chunk);
        let (dup, reorder) = {
            let mut st = sim.lock();
            for _ in 0..chunk {
                let Some((m, t)) = cur.next(tape, sim.settings.loop_tape) else {
                    break;
                };
                let eff = st.ex.on_tape_trade(m, &t, now);
                played.push((m, t, eff));
            }
            sim.flush_user_events(&mut st);
            (st.faults.dup_every, st.faults.reorder_every)
        };
        if played.is_empty() {
            return done;
        }
        done += played.len();
        crate::metrics::played(played.len(), now);
        fan_out(sim, &played, now, dup, reorder, mangler).await;
    }
    done
}

type Played = (usize, PubTrade, super::matching::TapeEffect);

/// A payload for one market's stream kind.
type Item = (usize, Kind, Utf8Bytes);
/// A connection's market subscription: market, kind, stream name.
type SubItem = (usize, Kind, Arc<str>);

async fn fan_out(
    sim: &Arc<Sim>,
    played: &[Played],
    now: i64,
    dup: u64,
    reorder: u64,
    mangler: &mut Mangler,
) {
    // A silent feed: the venue trades on, nothing reaches the market-data streams.
    if sim.hub.ws_faults.silent.load(Ordering::Relaxed) {
        return;
    }
    let conns = sim.hub.snapshot();
    let mut per_conn: Vec<(Arc<Conn>, Vec<SubItem>)> = Vec::new();
    let mut wanted: HashSet<(usize, Kind)> = HashSet::new();
    for c in conns {
        let subs: Vec<SubItem> = c
            .subs()
            .iter()
            .filter_map(|s| match s.target {
                Target::Market { m, kind } => Some((m, kind, s.name.clone())),
                Target::User { .. } => None,
            })
            .collect();
        if !subs.is_empty() {
            wanted.extend(subs.iter().map(|(m, k, _)| (*m, *k)));
            per_conn.push((c, subs));
        }
    }
    if per_conn.is_empty() {
        return;
    }
    let knobs = &sim.settings.knobs;
    let partials: BTreeSet<usize> = wanted
        .iter()
        .filter_map(|(_, k)| match k {
            Kind::Partial(n) => Some(*n),
            _ => None,
        })
        .collect();
    let mut items: Vec<Item> = Vec::with_capacity(played.len() * 2);
    let mut buf = String::with_capacity(256);
    for (m, t, eff) in played {
        let m = *m;
        let sym = &sim.symbols[m].name;
        let mut trade_items = Vec::with_capacity(2);
        if wanted.contains(&(m, Kind::Trade)) {
            buf.clear();
            wire::ws_trade(&mut buf, sym, t, now);
            trade_items.push((m, Kind::Trade, Utf8Bytes::from(buf.as_str())));
        }
        if wanted.contains(&(m, Kind::AggTrade)) {
            buf.clear();
            wire::ws_agg_trade(&mut buf, sym, t, now);
            trade_items.push((m, Kind::AggTrade, Utf8Bytes::from(buf.as_str())));
        }
        mangler.count += 1;
        if dup > 0 && mangler.count.is_multiple_of(dup) {
            let again = trade_items.clone();
            trade_items.extend(again);
        }
        if reorder > 0 && mangler.count.is_multiple_of(reorder) && mangler.held.is_empty() {
            mangler.held = trade_items;
        } else {
            items.extend(trade_items);
            items.append(&mut mangler.held);
        }
        if eff.moved {
            let tick = sim.symbols[m].tick;
            let depth = knobs.book_levels;
            let book: (Levels, Levels) = synthetic_book(knobs, tick, t.price, depth);
            if wanted.contains(&(m, Kind::BookTicker)) {
                let p = wire::ws_book_ticker(eff.update_id, sym, &book.0, &book.1);
                items.push((m, Kind::BookTicker, p.into()));
            }
            if wanted.contains(&(m, Kind::Diff)) {
                let old = synthetic_book(knobs, tick, eff.prev_last, depth);
                let p = wire::ws_depth_update(now, sym, eff.update_id, eff.update_id, &old, &book);
                items.push((m, Kind::Diff, p.into()));
            }
            for n in &partials {
                if wanted.contains(&(m, Kind::Partial(*n))) {
                    let (b, a) = synthetic_book(knobs, tick, t.price, *n);
                    let p = wire::ws_partial_depth(eff.update_id, &b, &a);
                    items.push((m, Kind::Partial(*n), p.into()));
                }
            }
        }
    }
    for (c, subs) in per_conn {
        let batch: Batch = items
            .iter()
            .flat_map(|(m, k, p)| {
                subs.iter()
                    .filter(move |(sm, sk, _)| sm == m && sk == k)
                    .map(move |(_, _, name)| Out {
                        stream: name.clone(),
                        payload: p.clone(),
                    })
            })
            .collect();
        if !batch.is_empty() {
            let _ = c.tx.send(batch).await;
        }
    }
}
