//! The ingest shell: one combined-stream WebSocket for every symbol, REST for symbols,
//! snapshots and gap recovery, and the output (stdout or Redis, plus the trade journals).
//!
//! Everything runs on one thread: frames are decoded and written as they arrive, and the
//! output is flushed whenever the socket has nothing more ready (or a burst has run for
//! [`MAX_BATCH_AGE`]), so lines leave promptly when idle and in batches under load. REST calls run as tasks and report back over a channel,
//! so a slow snapshot never holds up trades.

use super::{ControlRate, CoreConfig, Counters, Ingest, Note, Streams};
use crate::app::Error;
use crate::backoff::Backoff;
use crate::bus::{Bus, Reconnect, RedisBus};
use crate::config::{self, Topics};
use crate::event::{Event, Kind, compact_symbol};
use crate::journal::JournalWriter;
use crate::telemetry::Observer;
use crate::venue::binanceus::book::Snapshot;
use crate::venue::binanceus::rest::{Rest, RestError, RestTrade};
use crate::venue::binanceus::ws::subscribe_message;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_tungstenite::tungstenite::Message;

/// Binance's limit on messages a client sends per second.
const CONTROL_MSGS_PER_SEC: u32 = 5;
/// Streams per `SUBSCRIBE` message.
const STREAMS_PER_SUBSCRIBE: usize = 200;
/// How often held trades are checked for their hold time.
const TICK: Duration = Duration::from_millis(20);
/// A burst of frames is written out at least this often, so the first line of a long burst
/// does not wait for the last one to be decoded.
const MAX_BATCH_AGE: Duration = Duration::from_micros(20);
/// `exchangeInfo` attempts at start before giving up.
const START_ATTEMPTS: u32 = 5;

/// Everything a run needs, resolved from flags and configuration.
#[derive(Debug, Clone)]
pub struct Options {
    pub venue: String,
    pub rest_url: String,
    pub ws_url: String,
    pub pairs: Vec<String>,
    pub streams: Streams,
    /// Publish on this Redis instead of writing stdout.
    pub bus: Option<String>,
    pub redis_reconnect: Reconnect,
    pub topics: Topics,
    /// Where and how trades are journaled (`journal` in the config).
    pub journal: config::Journal,
    pub cfg: config::Ingest,
}

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Where events go. Both hold what they are given until the trade journals are flushed
/// ([`Output::send`]): a reader never receives a trade the journal lacks.
enum Sink {
    Stdout {
        out: io::StdoutLock<'static>,
        buf: Vec<u8>,
    },
    Bus {
        bus: Box<RedisBus>,
        pending: Vec<(String, Vec<u8>)>,
    },
}

/// Bytes of stdout, or messages to publish, held before they are sent within a burst.
const SINK_BYTES: usize = 64 * 1024;
const SINK_MESSAGES: usize = 512;

/// The output: one serialization per event, written to the sink and, for trades, to the
/// journal with the very same bytes, so replaying a journal reproduces the stream exactly.
struct Output {
    sink: Sink,
    /// Per symbol: trade journal, and topics of trades, tickers and books.
    journals: Vec<Option<JournalWriter>>,
    topics: Vec<[String; 3]>,
    line: Vec<u8>,
    /// The first write error; the run ends on it.
    error: Option<io::Error>,
    latency: OutLatency,
    obs: Option<Observer>,
    /// The counters as last added to the metrics.
    reported: Counters,
}

/// Frame-to-output latency: from a frame's receipt (its `ts_local_ns`) to its line leaving the
/// process (stdout written, or published), per line, in microseconds. Logged with the counters.
struct OutLatency {
    /// Receipt time of the frame being handled; its lines are stamped with it.
    receipt_ns: i64,
    /// Receipt times of the lines written since the last flush.
    pending: Vec<i64>,
    micros: hdrhistogram::Histogram<u64>,
}

impl OutLatency {
    fn new() -> Self {
        OutLatency {
            receipt_ns: 0,
            pending: Vec::with_capacity(1024),
            // 1 µs to 1 h at three significant digits; anything longer is counted as 1 h.
            micros: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant bounds are valid"),
        }
    }

    /// The lines written since the last flush have left the process.
    fn flushed(&mut self, metered: bool) {
        let now = wall_ns();
        for r in self.pending.drain(..) {
            self.micros
                .saturating_record(u64::try_from((now - r) / 1000).unwrap_or(0));
            if metered {
                crate::telemetry::ws()
                    .frame_latency
                    .observe((now - r) as f64 / 1e9);
            }
        }
    }

    /// `(p50, p99, max)` in microseconds, once anything was written.
    fn summary(&self) -> Option<(u64, u64, u64)> {
        let h = &self.micros;
        (!h.is_empty()).then(|| (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()))
    }
}

impl Output {
    fn emit(&mut self, i: usize, ev: &Event<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Some(o) = &mut self.obs {
            o.output(ev);
        }
        self.line.clear();
        ev.write_line(&mut self.line);
        let body = &self.line[..self.line.len() - 1];
        let kind = ev.kind();
        if kind == Kind::Trade
            && let Some(Some(j)) = self.journals.get_mut(i)
            && let Err(e) = j.append(ev.ts_ns(), body)
        {
            self.error = Some(io::Error::other(e.to_string()));
            return;
        }
        let full = match &mut self.sink {
            Sink::Stdout { buf, .. } => {
                buf.extend_from_slice(&self.line);
                buf.len() >= SINK_BYTES
            }
            Sink::Bus { pending, .. } => {
                let t = match kind {
                    Kind::Trade => 0,
                    Kind::Ticker => 1,
                    _ => 2,
                };
                pending.push((self.topics[i][t].clone(), body.to_vec()));
                pending.len() >= SINK_MESSAGES
            }
        };
        self.latency.pending.push(self.latency.receipt_ns);
        if full && let Err(e) = self.send() {
            self.error = Some(e);
        }
    }

    /// Sends what the sink holds, after the journals: to the OS (or disk, per
    /// `journal.fsync`) first, so the journal is never behind the output.
    fn send(&mut self) -> io::Result<()> {
        for j in self.journals.iter_mut().flatten() {
            j.flush().map_err(|e| io::Error::other(e.to_string()))?;
        }
        match &mut self.sink {
            Sink::Stdout { out, buf } => {
                out.write_all(buf)?;
                buf.clear();
                out.flush()?;
            }
            Sink::Bus { bus, pending } => {
                bus.publish_all(pending)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                if let Some(o) = &mut self.obs {
                    for (topic, _) in pending.iter() {
                        o.published(topic);
                    }
                }
                pending.clear();
            }
        }
        self.latency.flushed(self.obs.is_some());
        Ok(())
    }

    /// Ends a batch: journals, then the output.
    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.send()
    }
}

/// A REST answer coming back to the loop.
enum RestDone {
    Snapshot(usize, Option<Snapshot>),
    Trades(usize, Vec<RestTrade>),
}

/// Why a connection ended.
enum End {
    Stop,
    Lost(String),
    /// A planned reconnect, without backoff.
    Renew(&'static str),
}

struct Shell {
    core: Ingest,
    out: Output,
    rest: Rest,
    cfg: config::Ingest,
    tx: mpsc::UnboundedSender<RestDone>,
    rx: mpsc::UnboundedReceiver<RestDone>,
    notes: Vec<Note>,
    epoch: Instant,
    rate: ControlRate,
    next_id: u64,
    /// Ids of `SUBSCRIBE` messages not yet answered.
    awaiting: Vec<u64>,
    bad_logged: u64,
    /// Every subscription of a connection was answered at least once.
    subscribed: bool,
    stop: watch::Receiver<bool>,
}

/// Runs until SIGINT/SIGTERM or a closed stdout, telling `obs` what it does; returns the
/// counters.
pub fn run(opts: Options, obs: Option<Observer>) -> Result<Counters, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the runtime: {e}")))?;
    rt.block_on(run_async(opts, obs))
}

async fn run_async(opts: Options, obs: Option<Observer>) -> Result<Counters, Error> {
    let timeout = Duration::from_millis(opts.cfg.request_timeout_ms.max(1));
    let rest = Rest::new(&opts.rest_url, timeout).map_err(|e| Error::Failed(e.to_string()))?;
    let (stop_tx, stop) = watch::channel(false);
    let bus_stop = Arc::new(AtomicBool::new(false));
    spawn_signals(stop_tx, bus_stop.clone())?;

    let info = {
        let mut backoff = backoff(&opts.cfg);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match rest.exchange_info().await {
                Ok(i) => break i,
                Err(e) if attempt >= START_ATTEMPTS => {
                    return Err(Error::Failed(format!(
                        "cannot list the venue's symbols: {e} (check exchange.rest_url or --rest-url)"
                    )));
                }
                Err(e) => {
                    let d = backoff.next_delay(rand::random());
                    tracing::warn!("exchangeInfo failed: {e}; retrying in {} ms", d.as_millis());
                    sleep(d).await;
                }
            }
        }
    };
    let symbols = info
        .resolve(&opts.pairs)
        .map_err(|e| Error::Usage(format!("{e} (from --symbol or exchange.symbols)")))?;

    let sink = match &opts.bus {
        Some(url) => {
            let mut bus = RedisBus::connect(url, opts.redis_reconnect)
                .map_err(|e| Error::Failed(e.to_string()))?;
            bus.stop = bus_stop;
            Sink::Bus {
                bus: Box::new(bus),
                pending: Vec::with_capacity(SINK_MESSAGES),
            }
        }
        None => Sink::Stdout {
            out: io::stdout().lock(),
            buf: Vec::with_capacity(SINK_BYTES + 4096),
        },
    };
    let mut journals = Vec::new();
    let mut topics = Vec::new();
    for s in &symbols {
        journals.push(if opts.streams.trades {
            let stem = format!("md.trades.{}", compact_symbol(&s.pair));
            Some(
                JournalWriter::open_with(
                    &opts.journal.dir,
                    &stem,
                    opts.journal.fsync,
                    crate::journal::Rotation::from_config(&opts.journal),
                )
                .map_err(|e| Error::Failed(e.to_string()))?,
            )
        } else {
            None
        });
        let t = |k: Kind| opts.topics.for_symbol(k, &s.pair);
        topics.push([t(Kind::Trade), t(Kind::Ticker), t(Kind::Book)]);
    }
    tracing::info!(
        symbols = ?symbols.iter().map(|s| s.venue.as_str()).collect::<Vec<_>>(),
        ws = %opts.ws_url,
        "njord-ingest starting"
    );
    let core_cfg = CoreConfig {
        hold_ns: (opts.cfg.gap_hold_ms as i64).saturating_mul(1_000_000),
        book_levels: opts.cfg.book_levels,
        ..CoreConfig::default()
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut shell = Shell {
        core: Ingest::new(&opts.venue, symbols, opts.streams, core_cfg),
        out: Output {
            sink,
            journals,
            topics,
            line: Vec::with_capacity(1024),
            error: None,
            latency: OutLatency::new(),
            obs,
            reported: Counters::default(),
        },
        rest,
        cfg: opts.cfg.clone(),
        tx,
        rx,
        notes: Vec::new(),
        epoch: Instant::now(),
        rate: ControlRate::new(CONTROL_MSGS_PER_SEC),
        next_id: 0,
        awaiting: Vec::new(),
        bad_logged: 0,
        subscribed: false,
        stop,
    };
    let result = shell.connect_loop(&opts.ws_url).await;
    let flushed = shell.out.flush();
    shell.telemetry(true);
    let c = shell.core.counters;
    log_counters(&c, &shell.out.latency, "njord-ingest: done");
    match (result, flushed) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Failed(format!("cannot write output: {e}")))
        }
        _ => Ok(c),
    }
}

fn backoff(cfg: &config::Ingest) -> Backoff {
    Backoff::new(
        Duration::from_millis(cfg.reconnect_base_ms),
        Duration::from_millis(cfg.reconnect_max_ms),
    )
}

/// SIGINT/SIGTERM set `stop` and `also` (a Redis bus retrying a publish), from a thread of
/// their own: a publish blocked on an absent Redis must still hear them.
fn spawn_signals(stop: watch::Sender<bool>, also: Arc<AtomicBool>) -> Result<(), Error> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::Failed(format!("cannot install signal handlers: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                tracing::info!("stop signal received; flushing and exiting");
                also.store(true, Ordering::Relaxed);
                let _ = stop.send(true);
            }
        })
        .map_err(|e| Error::Failed(format!("cannot start the signal thread: {e}")))?;
    Ok(())
}

/// REST attempts per request before giving up.
const REST_ATTEMPTS: u32 = 3;

/// Runs a REST call up to [`REST_ATTEMPTS`] times, waiting between attempts as long as the
/// venue's `Retry-After` says (429/418) or a doubling 250 ms, so a failing endpoint is not
/// hammered into a ban.
async fn with_retries<T, F, Fut>(what: &str, mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RestError>>,
{
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=REST_ATTEMPTS {
        match call().await {
            Ok(v) => return Some(v),
            Err(e) => {
                let wait = match &e {
                    RestError::Status {
                        retry_after: Some(s),
                        ..
                    } => Duration::from_secs(*s),
                    _ => delay,
                };
                if attempt == REST_ATTEMPTS {
                    tracing::warn!("{what} failed: {e}; giving up after {attempt} attempts");
                } else {
                    tracing::warn!("{what} failed: {e}; retrying in {} ms", wait.as_millis());
                    sleep(wait).await;
                }
                delay *= 2;
            }
        }
    }
    None
}

fn log_counters(c: &Counters, latency: &OutLatency, msg: &str) {
    let (p50, p99, max) = latency.summary().unwrap_or_default();
    tracing::info!(
        frames = c.frames,
        trades = c.trades,
        duplicates = c.duplicates,
        late = c.late,
        recovered = c.recovered,
        gaps = c.gaps,
        missing_ids = c.missing_ids,
        tickers = c.tickers,
        empty_tickers = c.empty_tickers,
        books = c.books,
        book_resyncs = c.book_resyncs,
        bad_frames = c.bad_frames,
        reconnects = c.reconnects,
        out_latency_p50_us = p50,
        out_latency_p99_us = p99,
        out_latency_max_us = max,
        "{msg}"
    );
}

impl Shell {
    fn mono(&self) -> i64 {
        self.epoch.elapsed().as_nanos() as i64
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Connects, runs the connection, and reconnects with backoff until told to stop.
    async fn connect_loop(&mut self, ws_url: &str) -> Result<(), Error> {
        let url = format!("{}/stream", ws_url.trim_end_matches('/'));
        let mut backoff = backoff(&self.cfg);
        let timeout = Duration::from_millis(self.cfg.request_timeout_ms.max(1));
        let mut first = true;
        while !self.stopped() {
            if !first {
                self.core.counters.reconnects += 1;
            }
            first = false;
            let connected =
                tokio::time::timeout(timeout, tokio_tungstenite::connect_async(&url)).await;
            let end = match connected {
                Ok(Ok((ws, _))) => {
                    tracing::info!(url = %url, "connected");
                    self.session(ws, &mut backoff).await
                }
                Ok(Err(e)) => End::Lost(format!("cannot connect to {url}: {e}")),
                Err(_) => End::Lost(format!("cannot connect to {url}: timed out")),
            };
            self.flush_out()?;
            match end {
                End::Stop => break,
                End::Renew(why) => {
                    tracing::info!("reconnecting: {why}");
                    backoff.reset();
                }
                End::Lost(why) => {
                    let d = backoff.next_delay(rand::random());
                    tracing::warn!("stream lost: {why}; reconnecting in {} ms", d.as_millis());
                    let mut stop = self.stop.clone();
                    tokio::select! {
                        _ = sleep(d) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn flush_out(&mut self) -> Result<bool, Error> {
        match self.out.flush() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(Error::Failed(format!("cannot write output: {e}"))),
        }
    }

    /// One connection: subscribe, then frames, REST answers and timers until it ends.
    async fn session(
        &mut self,
        ws: tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        backoff: &mut Backoff,
    ) -> End {
        let (mut sink, mut stream) = ws.split();
        let names = self.core.stream_names();
        self.awaiting.clear();
        for chunk in names.chunks(STREAMS_PER_SUBSCRIBE) {
            loop {
                let wait = self.rate.wait_ns(self.mono());
                if wait == 0 {
                    break;
                }
                sleep(Duration::from_nanos(wait as u64)).await;
            }
            self.rate.try_take(self.mono());
            self.next_id += 1;
            self.awaiting.push(self.next_id);
            if let Err(e) = sink
                .send(Message::text(subscribe_message(chunk, self.next_id)))
                .await
            {
                return End::Lost(format!("cannot subscribe: {e}"));
            }
        }
        let connected_at = Instant::now();
        let max_age = Duration::from_secs(self.cfg.max_connection_secs.max(1));
        let liveness = Duration::from_millis(self.cfg.liveness_timeout_ms.max(1));
        let ping_idle = Duration::from_millis(self.cfg.ping_idle_ms);
        let mut last_frame = Instant::now();
        let mut pinged = false;
        let mut tick = tokio::time::interval(TICK);
        let stats_on = self.cfg.stats_interval_secs > 0;
        let stats_every = Duration::from_secs(self.cfg.stats_interval_secs.max(1));
        let mut stats = tokio::time::interval_at(Instant::now() + stats_every, stats_every);
        let mut stop = self.stop.clone();
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return End::Stop,
                msg = stream.next() => {
                    let mut msg = msg;
                    let mut batch_start = Instant::now();
                    loop {
                        match msg {
                            Some(Ok(m)) => {
                                last_frame = Instant::now();
                                pinged = false;
                                if let Some(end) = self.on_message(m, backoff) {
                                    return end;
                                }
                                if last_frame.duration_since(batch_start) >= MAX_BATCH_AGE {
                                    if let Some(end) = self.after_batch() {
                                        return end;
                                    }
                                    batch_start = Instant::now();
                                }
                            }
                            Some(Err(e)) => return End::Lost(e.to_string()),
                            None => return End::Lost("closed by the server".into()),
                        }
                        match stream.next().now_or_never() {
                            Some(m) => msg = m,
                            None => break,
                        }
                    }
                    if let Some(end) = self.after_batch() {
                        return end;
                    }
                }
                Some(done) = self.rx.recv() => {
                    self.on_rest(done);
                    if let Some(end) = self.after_batch() {
                        return end;
                    }
                }
                _ = tick.tick() => {
                    let mono = self.mono();
                    self.core.on_tick(mono, &mut self.notes);
                    if let Some(end) = self.after_batch() {
                        return end;
                    }
                }
                _ = sleep_until(last_frame + liveness) => {
                    return End::Lost(format!("no frame for {} ms", liveness.as_millis()));
                }
                _ = sleep_until(last_frame + ping_idle), if !ping_idle.is_zero() && !pinged => {
                    pinged = true;
                    if self.rate.try_take(self.mono())
                        && let Err(e) = sink.send(Message::Ping(Vec::new().into())).await
                    {
                        return End::Lost(format!("cannot ping: {e}"));
                    }
                }
                _ = sleep_until(connected_at + max_age) => {
                    return End::Renew("before the venue's 24 h limit");
                }
                _ = stats.tick(), if stats_on => {
                    log_counters(&self.core.counters, &self.out.latency, "njord-ingest: counters");
                }
            }
        }
    }

    /// Handles one WebSocket message; `Some` ends the connection.
    fn on_message(&mut self, m: Message, backoff: &mut Backoff) -> Option<End> {
        match m {
            Message::Text(t) => {
                let local = wall_ns();
                let mono = self.mono();
                self.out.latency.receipt_ns = local;
                let Shell {
                    core, out, notes, ..
                } = self;
                core.on_frame(t.as_str(), local, mono, &mut |i, ev| out.emit(i, ev), notes);
                self.take_replies(backoff);
                if let Some(at) = self.notes.iter().position(|n| *n == Note::ServerShutdown) {
                    self.notes.remove(at);
                    return Some(End::Renew("the server announced a shutdown"));
                }
                None
            }
            Message::Binary(b) => {
                self.core.counters.frames += 1;
                self.core.counters.bad_frames += 1;
                self.log_bad(&format!("binary frame of {} bytes", b.len()));
                None
            }
            Message::Close(c) => Some(End::Lost(match c {
                Some(c) => format!("closed by the server ({} {})", c.code, c.reason),
                None => "closed by the server".into(),
            })),
            // Pongs to the server's pings are sent by tungstenite on the next read.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        }
    }

    /// Control replies: once every `SUBSCRIBE` is answered, recover what was missed.
    fn take_replies(&mut self, backoff: &mut Backoff) {
        let mut i = 0;
        while i < self.notes.len() {
            match &self.notes[i] {
                Note::Reply(id) => {
                    let id = *id;
                    self.notes.remove(i);
                    let before = self.awaiting.len();
                    self.awaiting.retain(|a| Some(*a) != id);
                    if before > 0 && self.awaiting.is_empty() {
                        self.subscribed = true;
                        tracing::info!(streams = self.core.stream_names().len(), "subscribed");
                        backoff.reset();
                        self.core.on_subscribed(&mut self.notes);
                    }
                }
                _ => i += 1,
            }
        }
    }

    fn on_rest(&mut self, done: RestDone) {
        let local = wall_ns();
        self.out.latency.receipt_ns = local;
        let Shell {
            core, out, notes, ..
        } = self;
        let mut emit = |i, ev: &Event<'_>| out.emit(i, ev);
        match done {
            RestDone::Snapshot(i, s) => core.on_snapshot(i, s, local, &mut emit, notes),
            RestDone::Trades(i, t) => core.on_recovered(i, &t, local, &mut emit, notes),
        }
    }

    /// Hands the counters to telemetry; ready once subscribed with every book built.
    fn telemetry(&mut self, end: bool) {
        let Some(o) = &mut self.out.obs else {
            return;
        };
        let (c, was) = (self.core.counters, self.out.reported);
        let m = crate::telemetry::ws();
        m.frames.inc_by(c.frames - was.frames);
        m.reconnects.inc_by(c.reconnects - was.reconnects);
        m.book_resyncs.inc_by(c.book_resyncs - was.book_resyncs);
        m.gaps(true, c.gaps_recovered - was.gaps_recovered);
        m.gaps(false, c.gaps - was.gaps);
        o.malformed(c.bad_frames - was.bad_frames);
        self.out.reported = c;
        if self.subscribed && self.core.books_synced() {
            o.health().set_started();
        }
        o.publish(wall_ns(), end);
    }

    /// Acts on the notes of a batch and flushes the output; `Some` ends the run.
    fn after_batch(&mut self) -> Option<End> {
        let notes = std::mem::take(&mut self.notes);
        for n in notes {
            self.on_note(n);
        }
        self.telemetry(false);
        match self.flush_out() {
            Ok(true) => None,
            Ok(false) => Some(End::Stop),
            Err(e) => {
                tracing::error!("{e}");
                Some(End::Stop)
            }
        }
    }

    fn on_note(&mut self, n: Note) {
        match n {
            Note::FetchSnapshot(i) => {
                let rest = self.rest.clone();
                let tx = self.tx.clone();
                let venue = self.core.symbol(i).venue.clone();
                let limit = self.cfg.snapshot_levels;
                tokio::spawn(async move {
                    let s = with_retries(&format!("{venue}: depth snapshot"), || {
                        rest.depth(&venue, limit)
                    })
                    .await;
                    let _ = tx.send(RestDone::Snapshot(i, s));
                });
            }
            Note::Recover(i) => {
                let rest = self.rest.clone();
                let tx = self.tx.clone();
                let venue = self.core.symbol(i).venue.clone();
                let limit = self.cfg.recovery_trades;
                tokio::spawn(async move {
                    let t = with_retries(&format!("{venue}: recent trades"), || {
                        rest.recent_trades(&venue, limit)
                    })
                    .await
                    .unwrap_or_default();
                    let _ = tx.send(RestDone::Trades(i, t));
                });
            }
            Note::Gap { symbol, hole } => tracing::warn!(
                symbol = %symbol,
                from = hole.from,
                to = hole.to,
                "{symbol}: trade ids {}..={} ({} trades) were missed and could not be recovered",
                hole.from,
                hole.to,
                hole.count()
            ),
            Note::BookGap {
                symbol,
                expected,
                got,
            } => tracing::warn!(
                symbol = %symbol,
                expected,
                got,
                "{symbol}: depth update ids skipped (expected {expected}, got {got}); resyncing the book from a snapshot"
            ),
            Note::BadFrame(e) => self.log_bad(&e.to_string()),
            Note::Refused { id, error } => {
                tracing::error!(id = ?id, "the venue refused a control message: {error}")
            }
            Note::Reply(_) | Note::ServerShutdown => {}
        }
    }

    /// Skipped frames are logged, the first hundred each, then one in a thousand.
    fn log_bad(&mut self, why: &str) {
        self.bad_logged += 1;
        if self.bad_logged <= 100 || self.bad_logged.is_multiple_of(1000) {
            tracing::warn!(
                skipped = self.core.counters.bad_frames,
                "skipped a frame: {why}"
            );
        }
    }
}
