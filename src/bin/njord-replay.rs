//! `njord-replay`: journals back into a pipeline or onto Redis. See `njord-replay --help`.

use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use njord::bus::{Bus, Reconnect, RedisBus};
use njord::cli::replay::Cli;
use njord::replay::{Clock, Filter, Pacer, Replay, SystemClock};
use njord::stage::{Control, Signals};
use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

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
    Bus(Box<(RedisBus, njord::config::Topics)>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let filter = Filter {
        from: cli.from,
        to: cli.to,
        symbols: cli.symbol.clone(),
        kinds: cli.kind.clone(),
    };
    let mut replay = match Replay::open(&cli.files, filter) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(njord::app::EXIT_USAGE);
        }
    };
    let mut sink = match &cli.bus {
        Some(url) => match RedisBus::connect(url, Reconnect::from_config(&loaded.config.redis)) {
            Ok(b) => Sink::Bus(Box::new((b, loaded.config.redis.topics.clone()))),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Sink::Stdout(BufWriter::with_capacity(
            256 * 1024,
            std::io::stdout().lock(),
        )),
    };
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let progress = (!cli.no_progress && !cli.common.quiet && std::io::stderr().is_terminal())
        .then(|| progress_bar(replay.progress().1));
    let mut clock = SignalClock {
        clock: SystemClock::default(),
        signals: signals.receiver(),
        stopped: false,
    };
    let mut pacer = Pacer::new(cli.speed);
    let paced = cli.speed != njord::replay::Speed::Max;
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
    let stats = replay.stats();
    match outcome {
        Err((e, false)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        _ => {
            if stats.bad > 0 {
                tracing::warn!(
                    events = stats.events,
                    bad = stats.bad,
                    "njord-replay: {} bad lines skipped",
                    stats.bad
                );
            } else {
                tracing::info!(
                    events = stats.events,
                    filtered = stats.filtered,
                    "njord-replay: done"
                );
            }
            ExitCode::SUCCESS
        }
    }
}

fn io_outcome(e: std::io::Error) -> (String, bool) {
    let closed = e.kind() == std::io::ErrorKind::BrokenPipe;
    (format!("writing stdout: {e}"), closed)
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:20} {bytes}/{total_bytes} {msg} ETA {eta}")
    {
        pb.set_style(style);
    }
    pb
}
