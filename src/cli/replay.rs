//! `njord-replay`: journals back into a pipeline or onto Redis.

use super::{CommonArgs, FilterArgs};
use crate::app::{self, Error};
use crate::bus::{Bus, RedisBus};
use crate::replay::Speed;
use crate::replay::{Clock, Pacer, Replay, SystemClock};
use crate::stage::{Control, RunStats, Signals};
use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "njord-replay",
    version,
    about = "Replay journals merged by event time, to stdout or onto Redis",
    after_help = "Reads plain and .gz journals; a FILE may also be a directory or a journal stem (a \
whole rotated series). Several sources are merged by event time; ties keep the order given. Lines \
are written exactly as journaled. Bad lines are reported on stderr as file:line: reason and \
skipped.\n\nExamples:\n  \
    njord-replay var/log/njord/md.trades.ATOMUSDT | njord-strat | njord-risk | njord-paper\n  \
    njord-replay var/log/njord --kind trade --symbol ATOM/USDT --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z\n  \
    njord-replay md.trades.ATOMUSDT.20260101.ndjson.gz --speed 10x --bus redis://127.0.0.1:6379/0"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Journal files, directories or stems
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// max (never sleeps), or Nx: event-time gaps divided by N (1x real time, 10x, 0.5x)
    #[arg(long, value_name = "SPEED", default_value = "max", value_parser = Speed::parse)]
    pub speed: Speed,
    /// Publish to the canonical topics on this Redis (redis://HOST:PORT/DB) instead of stdout
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
    pub bus: Option<String>,
    /// No progress bar, even when stderr is a terminal
    #[arg(long)]
    pub no_progress: bool,
}

/// The real clock, whose sleep a stop signal cuts short.
struct SignalClock<'a> {
    clock: SystemClock,
    signals: &'a Receiver<Control>,
    stopped: bool,
}

impl Clock for SignalClock<'_> {
    fn now_ns(&mut self) -> i64 {
        self.clock.now_ns()
    }
    fn sleep_until(&mut self, ns: i64) {
        // SIGHUP means nothing to a replay: keep waiting until the deadline or a stop.
        while !self.stopped {
            let wait = ns.saturating_sub(self.now_ns());
            if wait <= 0 {
                return;
            }
            match self.signals.recv_timeout(Duration::from_nanos(wait as u64)) {
                Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => self.stopped = true,
                Ok(Control::Reload) => {}
                Err(RecvTimeoutError::Timeout) => return,
            }
        }
    }
}

enum Sink {
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    Bus(Box<(RedisBus, crate::config::Topics)>),
}

/// Replays the journals to stdout or Redis, paced by event time.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let mut replay = Replay::open(&cli.files, cli.filter.filter()).map_err(Error::usage)?;
    let mut sink = match &cli.bus {
        Some(url) => Sink::Bus(Box::new((
            app::connect(url, &loaded)?,
            loaded.config.redis.topics.clone(),
        ))),
        None => Sink::Stdout(BufWriter::with_capacity(
            256 * 1024,
            std::io::stdout().lock(),
        )),
    };
    let signals = Signals::install()
        .map_err(|e| Error::Failed(format!("cannot install signal handlers: {e}")))?;
    let progress =
        (!cli.no_progress && !cli.common.quiet && std::io::stderr().is_terminal()).then(|| {
            super::progress_bar(
                replay.progress().1,
                "{bar:20} {bytes}/{total_bytes} {msg} ETA {eta}",
            )
        });
    let mut clock = SignalClock {
        clock: SystemClock::default(),
        signals: signals.receiver(),
        stopped: false,
    };
    let mut pacer = Pacer::new(cli.speed);
    let paced = cli.speed != Speed::Max;
    // An error, and whether it was only the reader going away (`| head`).
    let mut outcome: Result<(), (String, bool)> = Ok(());
    let mut n = 0u64;
    while let Some(item) = replay.next() {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("{e}; skipped");
                continue;
            }
        };
        pacer.pace(item.event.ts_ns(), &mut clock);
        if clock.stopped {
            break;
        }
        let sent = match &mut sink {
            Sink::Stdout(out) => out
                .write_all(item.line.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .and_then(|_| if paced { out.flush() } else { Ok(()) })
                .map_err(io_outcome),
            Sink::Bus(b) => {
                b.0.publish(&b.1.for_event(&item.event), item.line.as_bytes())
                    .map_err(|e| (e.to_string(), false))
            }
        };
        if let Err(e) = sent {
            outcome = Err(e);
            break;
        }
        n += 1;
        // Paced replays are slow enough to update on every event.
        if paced || n.is_multiple_of(8192) {
            if let Some(pb) = &progress {
                pb.set_position(replay.progress().0);
                let secs = pb.elapsed().as_secs_f64().max(1e-3);
                pb.set_message(format!("{n} events {:.0}/s", n as f64 / secs));
            }
            if let Ok(Control::Stop) = signals.receiver().try_recv() {
                break;
            }
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if let (Ok(()), Sink::Stdout(out)) = (&outcome, &mut sink) {
        outcome = out.flush().map_err(io_outcome);
    }
    if let Err((e, false)) = outcome {
        return Err(Error::Failed(e));
    }
    let stats = replay.stats();
    RunStats {
        lines: stats.lines,
        bad: stats.bad,
        emitted: stats.events,
    }
    .report("njord-replay");
    Ok(())
}

fn io_outcome(e: std::io::Error) -> (String, bool) {
    let closed = e.kind() == std::io::ErrorKind::BrokenPipe;
    (format!("writing stdout: {e}"), closed)
}
