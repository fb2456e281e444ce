//! The stage abstraction: one shell drives a core over stdio or a bus (DESIGN §5).
//!
//! On stdio a stage forwards every input line unchanged and in order and writes the events
//! it causes right after the line that caused them (`--emit-only` drops the forwarded lines).
//! A malformed line is reported with its number and skipped (`--strict`: the first one ends
//! the run). Output is flushed whenever the input has nothing more waiting, so a pipeline is
//! both batched under load and prompt when idle. SIGINT/SIGTERM end the run cleanly after
//! flushing; SIGHUP asks the stage to reload. On a bus, a stage subscribes to its input topics
//! and publishes what it emits on the canonical topics.
//!
//! Journal first: no byte leaves the process (stdout written, or a message published) before
//! the stage's journals have been flushed per `journal.fsync` ([`Stage::flush`]). A stage
//! killed at any moment has journaled everything the next stage has received, so `--resume`
//! never forgets an event that was acted on downstream.

use crate::bus::{Bus, BusError};
use crate::config::Topics;
use crate::event::{self, Event};
use crate::journal::JournalError;
use crate::telemetry::Observer;
use crossbeam_channel::{Receiver, select};
use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::event::Out;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{0}")]
    Fatal(String),
}

/// A core plus the I/O its shell needs (journals, kill-switch reads). Trading logic belongs in
/// the core; the stage only feeds it.
pub trait Stage {
    /// Channels or patterns to subscribe to when run on a bus.
    fn inputs(&self, topics: &Topics) -> Vec<String>;
    /// Whether the stage reads the kill switch before it decides, so its decisions show the
    /// trading state (`njord_trading_state`, `njord_kill_switch_trips_total`).
    fn reads_kill_switch(&self) -> bool {
        false
    }
    /// Whether the stage replaces this input instead of forwarding it on stdio
    /// (njord-portfolio replaces intents by their sized version, so risk never sees both).
    fn consumes(&self, _ev: &Event<'_>) -> bool {
        false
    }
    /// Handles one input event, pushing the events it causes.
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError>;
    /// [`Stage::on_event`] with the line the event came in as, for a stage that records its
    /// inputs as received (njord-risk's audit trail). The runners call this one.
    fn on_input(&mut self, ev: &Event<'_>, _line: &[u8], out: &mut Out) -> Result<(), StageError> {
        self.on_event(ev, out)
    }
    /// Wall-clock tick (daemons only), for work that is due by time rather than by events.
    fn on_tick(&mut self, _now_ns: i64, _out: &mut Out) -> Result<(), StageError> {
        Ok(())
    }
    /// SIGHUP: re-read whatever the stage can reload. The default keeps running unchanged.
    fn on_reload(&mut self) -> Result<(), StageError> {
        tracing::info!("SIGHUP received; this stage has nothing to reload");
        Ok(())
    }
    /// End of input or shutdown: emit what is still pending.
    fn on_end(&mut self, _out: &mut Out) -> Result<(), StageError> {
        Ok(())
    }
    /// Output is about to leave the process: make every journaled line durable per the
    /// `journal.fsync` policy (to the OS at least), so a journal is never behind the output.
    fn flush(&mut self) -> Result<(), StageError> {
        Ok(())
    }
}

/// How a run ends badly. Exit code 1 for all of them.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("line {line}: {reason} (--strict)")]
    Strict { line: u64, reason: String },
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Counts reported at exit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    pub lines: u64,
    pub bad: u64,
    pub emitted: u64,
}

impl RunStats {
    /// Logs the one-line summary every stage prints at exit.
    pub fn report(&self, name: &str) {
        if self.bad > 0 {
            tracing::warn!(
                lines = self.lines,
                bad = self.bad,
                emitted = self.emitted,
                "{name}: {} bad lines skipped",
                self.bad
            );
        } else {
            tracing::info!(
                lines = self.lines,
                bad = self.bad,
                emitted = self.emitted,
                "{name}: done"
            );
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct StdioOpts {
    pub emit_only: bool,
    pub strict: bool,
    /// Call `on_tick` this often by the wall clock (daemon-like pipelines).
    pub tick: Option<Duration>,
}

/// Process signals a runner reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Stop,
    Reload,
}

/// Forwards SIGINT/SIGTERM (stop) and SIGHUP (reload) to a channel.
pub struct Signals {
    rx: Receiver<Control>,
    handle: signal_hook::iterator::Handle,
}

impl Signals {
    pub fn install() -> io::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for s in signals.forever() {
                    let c = if s == SIGHUP {
                        Control::Reload
                    } else {
                        Control::Stop
                    };
                    if tx.send(c).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Signals { rx, handle })
    }

    pub fn receiver(&self) -> &Receiver<Control> {
        &self.rx
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// The wall clock in ns; shells only (DESIGN §6).
pub fn wall_clock_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// How often an idle stdio run with telemetry tells it that its loop turns.
const BEAT: Duration = Duration::from_secs(1);

/// Reads `input` on a thread in large chunks, so the runner can wait on input and signals at
/// once.
fn spawn_reader(mut input: impl Read + Send + 'static) -> Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = crossbeam_channel::bounded(8);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            loop {
                let mut buf = vec![0u8; 256 * 1024];
                match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        })
        .expect("spawning the input thread");
    rx
}

/// True when writing failed because the reader went away (`| head`): end quietly.
fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Output buffered before it is written to stdout; a full buffer is written, journals first.
/// Under `journal.fsync: batch` each write costs an fsync: 1 MiB rather than 256 KiB tripled
/// njord-risk's and njord-paper's throughput there (`scripts/bench-risk-paper.sh`).
const OUT_BUFFER: usize = 1024 * 1024;

struct StdioRun<'a, W: Write> {
    stage: &'a mut dyn Stage,
    obs: Option<&'a mut Observer>,
    out: W,
    /// Output not yet written: held back until the journals are flushed ([`StdioRun::spill`]).
    buf: Vec<u8>,
    opts: StdioOpts,
    stats: RunStats,
    emitted: Out,
    decoder: event::Decoder,
    /// The number of the line being read, blank lines included.
    lineno: u64,
}

impl<W: Write> StdioRun<'_, W> {
    fn line(&mut self, raw: &[u8]) -> Result<(), RunError> {
        // Physical line numbers: blank lines count, as an editor counts them.
        self.lineno += 1;
        let n = self.lineno;
        let (text, ev) = match self.decoder.line(raw) {
            None => return Ok(()),
            Some(Ok(good)) => good,
            Some(Err(reason)) => {
                self.stats.lines += 1;
                self.stats.bad += 1;
                if let Some(o) = self.obs.as_deref_mut() {
                    o.malformed(1);
                }
                if self.opts.strict {
                    return Err(RunError::Strict { line: n, reason });
                }
                tracing::warn!("line {n}: {reason}; skipped");
                return Ok(());
            }
        };
        self.stats.lines += 1;
        if let Some(o) = self.obs.as_deref_mut() {
            o.input(&ev);
        }
        if !self.opts.emit_only && !self.stage.consumes(&ev) {
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.push(b'\n');
        }
        self.stage
            .on_input(&ev, text.as_bytes(), &mut self.emitted)?;
        self.write_emitted()
    }

    fn write_emitted(&mut self) -> Result<(), RunError> {
        for ev in self.emitted.drain(..) {
            if let Some(o) = self.obs.as_deref_mut() {
                o.output(&ev);
            }
            ev.write_line(&mut self.buf);
            self.stats.emitted += 1;
        }
        if self.buf.len() >= OUT_BUFFER {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the buffered output, after making the journals durable: what a reader has
    /// received is always in the journals.
    fn spill(&mut self) -> Result<(), RunError> {
        self.stage.flush()?;
        crate::audit::flush().map_err(StageError::from)?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.spill()?;
        self.out.flush()?;
        Ok(())
    }

    fn end(&mut self) -> Result<(), RunError> {
        self.stage.on_end(&mut self.emitted)?;
        self.write_emitted()?;
        self.flush()
    }

    /// Hands the counts so far to telemetry.
    fn publish(&mut self, end: bool) {
        if let Some(o) = self.obs.as_deref_mut() {
            o.publish(wall_clock_ns(), end);
        }
    }
}

/// Runs `stage` over NDJSON from `input` to `output` until EOF or a stop signal, telling
/// `obs` (when given) what it reads and writes.
pub fn run_stdio<W: Write>(
    stage: &mut dyn Stage,
    input: impl Read + Send + 'static,
    output: W,
    opts: StdioOpts,
    obs: Option<&mut Observer>,
) -> Result<RunStats, RunError> {
    let signals = Signals::install()?;
    let chunks = spawn_reader(input);
    let mut obs = obs;
    if let Some(o) = obs.as_deref_mut() {
        o.attach(stage.reads_kill_switch());
    }
    let mut run = StdioRun {
        stage,
        obs,
        out: output,
        buf: Vec::with_capacity(OUT_BUFFER + 64 * 1024),
        opts,
        stats: RunStats::default(),
        emitted: Vec::new(),
        decoder: event::Decoder::default(),
        lineno: 0,
    };
    let outcome = match drive_stdio(&mut run, &chunks, signals.receiver()) {
        Err(RunError::Io(e)) if is_closed_pipe(&e) => Ok(run.stats),
        Err(e) => {
            // Whatever was processed still reaches stdout and the journals.
            let _ = run.flush();
            Err(e)
        }
        Ok(()) => Ok(run.stats),
    };
    // However the run ended, telemetry gets the final counts.
    run.publish(true);
    outcome
}

fn drive_stdio<W: Write>(
    run: &mut StdioRun<'_, W>,
    chunks: &Receiver<io::Result<Vec<u8>>>,
    signals: &Receiver<Control>,
) -> Result<(), RunError> {
    let mut pending: Vec<u8> = Vec::new();
    let tick = run.opts.tick.unwrap_or(Duration::from_secs(3600));
    let ticker = crossbeam_channel::tick(tick);
    // With telemetry, an idle run still reports that its loop turns (`/livez`).
    let beat = match run.obs {
        Some(_) => crossbeam_channel::tick(BEAT),
        None => crossbeam_channel::never(),
    };
    loop {
        select! {
            recv(chunks) -> msg => match msg {
                Ok(chunk) => {
                    let chunk = chunk?;
                    let mut start = 0;
                    for nl in memchr::memchr_iter(b'\n', &chunk) {
                        if pending.is_empty() {
                            run.line(&chunk[start..nl])?;
                        } else {
                            pending.extend_from_slice(&chunk[start..nl]);
                            let line = std::mem::take(&mut pending);
                            run.line(&line)?;
                        }
                        start = nl + 1;
                    }
                    pending.extend_from_slice(&chunk[start..]);
                    if chunks.is_empty() {
                        run.flush()?;
                    }
                    run.publish(false);
                }
                Err(_) => {
                    if !pending.is_empty() {
                        let line = std::mem::take(&mut pending);
                        run.line(&line)?;
                    }
                    return run.end();
                }
            },
            recv(signals) -> sig => match sig {
                Ok(Control::Reload) => {
                    run.stage.on_reload()?;
                    // What the reload recorded (the audit trail) is on disk before more input.
                    run.flush()?;
                }
                Ok(Control::Stop) | Err(_) => {
                    tracing::info!("stop signal received; flushing and exiting");
                    return run.end();
                }
            },
            recv(ticker) -> _ => {
                if run.opts.tick.is_some() {
                    run.stage.on_tick(wall_clock_ns(), &mut run.emitted)?;
                    run.write_emitted()?;
                    run.flush()?;
                    run.publish(false);
                }
            }
            recv(beat) -> _ => run.publish(false),
        }
    }
}

/// Messages handled before their output is journaled and published, at most: bounds the
/// memory and the latency of a batch under load.
const BUS_BATCH: usize = 512;

/// Runs `stage` as a daemon on `bus` until a stop signal: subscribes to its inputs, decodes
/// each message (the topic tells the kind of payloads without one), publishes what it emits.
/// The messages waiting (up to [`BUS_BATCH`]) form a batch: its output is published once the
/// journals are flushed.
pub fn run_bus(
    stage: &mut dyn Stage,
    bus: &mut dyn Bus,
    topics: &Topics,
    tick: Duration,
    mut obs: Option<&mut Observer>,
) -> Result<RunStats, RunError> {
    let signals = Signals::install()?;
    let inputs = stage.inputs(topics);
    let sub = bus.subscribe(&inputs).map_err(StageError::from)?;
    tracing::info!(inputs = ?inputs, "subscribed");
    if let Some(o) = obs.as_deref_mut() {
        o.attach(stage.reads_kill_switch());
        o.publish(wall_clock_ns(), false);
    }
    let mut stats = RunStats::default();
    let mut out: Out = Vec::new();
    let mut last_tick = std::time::Instant::now();
    // Journals first, then the bus: a subscriber never sees an event the journal lacks.
    let publish = |stage: &mut dyn Stage,
                   bus: &mut dyn Bus,
                   out: &mut Out,
                   stats: &mut RunStats,
                   obs: &mut Option<&mut Observer>,
                   end: bool|
     -> Result<(), RunError> {
        stage.flush()?;
        crate::audit::flush().map_err(StageError::from)?;
        if !out.is_empty() {
            let msgs: Vec<(String, Vec<u8>)> = out
                .drain(..)
                .map(|ev| {
                    if let Some(o) = obs.as_deref_mut() {
                        o.output(&ev);
                    }
                    let mut line = Vec::with_capacity(256);
                    ev.write_line(&mut line);
                    line.pop();
                    (topics.for_event(&ev), line)
                })
                .collect();
            bus.publish_all(&msgs).map_err(StageError::from)?;
            stats.emitted += msgs.len() as u64;
            if let Some(o) = obs.as_deref_mut() {
                for (topic, _) in &msgs {
                    o.published(topic);
                }
            }
        }
        if let Some(o) = obs.as_deref_mut() {
            o.publish(wall_clock_ns(), end);
        }
        Ok(())
    };
    loop {
        match signals.receiver().try_recv() {
            Ok(Control::Reload) => stage.on_reload()?,
            Ok(Control::Stop) => {
                tracing::info!("stop signal received; flushing and exiting");
                stage.on_end(&mut out)?;
                publish(stage, bus, &mut out, &mut stats, &mut obs, true)?;
                return Ok(stats);
            }
            Err(_) => {}
        }
        let mut next = sub
            .recv_timeout(Duration::from_millis(20))
            .map_err(StageError::from)?;
        let mut handled = 0;
        while let Some(msg) = next {
            handled += 1;
            stats.lines += 1;
            let decoded = simdutf8::compat::from_utf8(&msg.payload)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|text| {
                    match topics.kind_of(&msg.topic) {
                        Some(k) => event::decode_as(text, k),
                        None => event::decode(text),
                    }
                    .map_err(|e| e.to_string())
                });
            match decoded {
                Ok(ev) => {
                    if let Some(o) = obs.as_deref_mut() {
                        o.input(&ev);
                    }
                    stage.on_input(&ev, &msg.payload, &mut out)?
                }
                Err(reason) => {
                    stats.bad += 1;
                    if let Some(o) = obs.as_deref_mut() {
                        o.malformed(1);
                    }
                    tracing::warn!(topic = %msg.topic, "bad message on {}: {reason}; skipped", msg.topic);
                }
            }
            next = if handled < BUS_BATCH {
                sub.try_recv()
            } else {
                None
            };
        }
        let ticked = last_tick.elapsed() >= tick;
        if ticked {
            last_tick = std::time::Instant::now();
            stage.on_tick(wall_clock_ns(), &mut out)?;
        }
        if handled > 0 || ticked {
            publish(stage, bus, &mut out, &mut stats, &mut obs, false)?;
        } else if let Some(o) = obs.as_deref_mut() {
            // Idle: the loop still turns, which /livez reports.
            o.health().beat(wall_clock_ns());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{MemoryBus, Subscription};
    use crate::event::{Cancel, Kind};
    use std::borrow::Cow;

    /// Emits a cancel for every trade, to see ordering.
    struct Echoer;
    impl Stage for Echoer {
        fn inputs(&self, topics: &Topics) -> Vec<String> {
            vec![topics.pattern(Kind::Trade)]
        }
        fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
            if let Event::Trade(t) = ev {
                out.push(Event::Cancel(Cancel {
                    intent_id: Cow::Owned(t.trade_id.to_string()),
                    ts_ns: t.ts_ns,
                }));
            }
            Ok(())
        }
    }

    const T1: &str = r#"{"kind":"trade","symbol":"A/USDT","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":5}"#;

    fn run(input: &str, opts: StdioOpts) -> (Result<RunStats, RunError>, String) {
        let mut out = Vec::new();
        let r = run_stdio(
            &mut Echoer,
            io::Cursor::new(input.as_bytes().to_vec()),
            &mut out,
            opts,
            None,
        );
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn forwards_then_emits_and_skips_bad_lines() {
        let input = format!("{T1}\nnot json\n\n{T1}");
        let (r, out) = run(&input, StdioOpts::default());
        let c = r#"{"kind":"cancel","intent_id":"1","ts_ns":5}"#;
        assert_eq!(out, format!("{T1}\n{c}\n{T1}\n{c}\n"));
        assert_eq!(
            r.unwrap(),
            RunStats {
                lines: 3,
                bad: 1,
                emitted: 2
            }
        );
        let (_, out) = run(
            &input,
            StdioOpts {
                emit_only: true,
                ..Default::default()
            },
        );
        assert_eq!(out, format!("{c}\n{c}\n"));
    }

    /// Lines a test stage has made durable.
    type Durable = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

    /// Journals every cancel it emits, durable only once flushed.
    #[derive(Default)]
    struct Journaling {
        pending: Vec<String>,
        durable: Durable,
    }
    impl Stage for Journaling {
        fn inputs(&self, topics: &Topics) -> Vec<String> {
            Echoer.inputs(topics)
        }
        fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
            Echoer.on_event(ev, out)?;
            if let Some(c) = out.last() {
                self.pending.push(c.to_json());
            }
            Ok(())
        }
        fn flush(&mut self) -> Result<(), StageError> {
            self.durable.lock().unwrap().extend(self.pending.drain(..));
            Ok(())
        }
    }

    #[test]
    fn output_never_gets_ahead_of_the_journal() {
        /// Checks, as each write arrives, that every cancel in it is journaled already.
        struct Checked {
            durable: Durable,
            cancels: usize,
        }
        impl Write for Checked {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                for l in String::from_utf8_lossy(buf).lines() {
                    if l.starts_with(r#"{"kind":"cancel""#) {
                        assert!(
                            self.durable.lock().unwrap().contains(l),
                            "{l} sent before journaled"
                        );
                        self.cancels += 1;
                    }
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut stage = Journaling::default();
        let mut out = Checked {
            durable: stage.durable.clone(),
            cancels: 0,
        };
        let input: String = (0..20_000)
            .map(|i| T1.replace(r#""trade_id":"1""#, &format!(r#""trade_id":"{i}""#)) + "\n")
            .collect();
        let r = run_stdio(
            &mut stage,
            io::Cursor::new(input.into_bytes()),
            &mut out,
            StdioOpts::default(),
            None,
        );
        assert_eq!(r.unwrap().emitted, 20_000);
        assert_eq!(out.cancels, 20_000);
    }

    #[test]
    fn bus_output_never_gets_ahead_of_the_journal() {
        /// Checks, as each cancel is published, that it is journaled already.
        struct Checked {
            inner: MemoryBus,
            durable: Durable,
        }
        impl Bus for Checked {
            fn publish(&mut self, topic: &str, payload: &[u8]) -> Result<(), BusError> {
                let line = String::from_utf8_lossy(payload);
                if topic == "orders.cancel" && !self.durable.lock().unwrap().contains(&*line) {
                    // Published unjournaled: the watcher below never sees it and fails.
                    return Ok(());
                }
                self.inner.publish(topic, payload)
            }
            fn subscribe(&mut self, patterns: &[String]) -> Result<Subscription, BusError> {
                self.inner.subscribe(patterns)
            }
        }
        let mut bus = MemoryBus::new();
        let watch = bus.subscribe(&["orders.cancel".into()]).unwrap();
        let stage = Journaling::default();
        let mut checked = Checked {
            inner: bus.clone(),
            durable: stage.durable.clone(),
        };
        let _runner = std::thread::spawn(move || {
            let mut s = stage;
            let _ = run_bus(
                &mut s,
                &mut checked,
                &Topics::default(),
                Duration::from_secs(1),
                None,
            );
        });
        let topic = Topics::default().for_symbol(Kind::Trade, "A/USDT");
        // Until the runner has subscribed, trades go unheard; then 1,000 more, all answered.
        let mut first = None;
        for _ in 0..200 {
            bus.publish(&topic, T1.as_bytes()).unwrap();
            if let Some(m) = watch.recv_timeout(Duration::from_millis(10)).unwrap() {
                first = Some(m);
                break;
            }
        }
        assert!(first.is_some(), "the runner never answered");
        for i in 0..1_000 {
            let t = T1.replace(r#""trade_id":"1""#, &format!(r#""trade_id":"n{i}""#));
            bus.publish(&topic, t.as_bytes()).unwrap();
        }
        let mut got = 0;
        while got < 1_000 {
            let m = watch
                .recv_timeout(Duration::from_secs(5))
                .unwrap()
                .expect("every cancel published, each journaled first");
            got += usize::from(m.payload.starts_with(br#"{"kind":"cancel","intent_id":"n"#));
        }
    }

    #[test]
    fn closed_stdout_ends_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let input = format!("{T1}\n").repeat(100_000);
        let r = run_stdio(
            &mut Echoer,
            io::Cursor::new(input.into_bytes()),
            Closed,
            StdioOpts::default(),
            None,
        );
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn strict_stops_at_first_bad_line() {
        let (r, out) = run(
            &format!("{T1}\n{{\"kind\":\"x\"}}\n{T1}\n"),
            StdioOpts {
                strict: true,
                ..Default::default()
            },
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("unknown kind"), "{e}");
        assert_eq!(
            out.lines().count(),
            2,
            "what came before the bad line is flushed"
        );
    }

    #[test]
    fn strict_names_the_physical_line_blank_lines_counted() {
        let (r, _) = run(
            &format!("\n{T1}\n\n  \r\n{{\"kind\":\"x\"}}\n"),
            StdioOpts {
                strict: true,
                ..Default::default()
            },
        );
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("line 5:"), "{e}");
    }

    #[test]
    fn bus_runner_publishes_on_canonical_topics() {
        let mut bus = MemoryBus::new();
        let topics = Topics::default();
        let watch = bus.subscribe(&["orders.cancel".into()]).unwrap();
        let mut b2 = bus.clone();
        let t = std::thread::spawn(move || {
            let mut s = Echoer;
            let _ = run_bus(
                &mut s,
                &mut b2,
                &Topics::default(),
                Duration::from_secs(1),
                None,
            );
        });
        // Give the runner time to subscribe, then publish a Python-style trade without kind.
        let legacy = r#"{"ts_local_ns":7,"symbol":"A/USDT","side":"buy","qty":1,"price":2}"#;
        let mut got = None;
        for _ in 0..200 {
            bus.publish(&topics.for_symbol(Kind::Trade, "A/USDT"), legacy.as_bytes())
                .unwrap();
            if let Some(m) = watch.recv_timeout(Duration::from_millis(10)).unwrap() {
                got = Some(m);
                break;
            }
        }
        let m = got.expect("a cancel published");
        assert_eq!(m.topic, "orders.cancel");
        assert_eq!(
            String::from_utf8(m.payload).unwrap(),
            r#"{"kind":"cancel","intent_id":"","ts_ns":7}"#
        );
        drop(t);
    }
}
