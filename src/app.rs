//! What every binary does around its core: load the configuration, set up logging, pick the
//! transport, and turn outcomes into exit codes (0 clean, 1 runtime failure, 2 usage/config)
//! in one place, [`exit`].

use crate::bus::{Reconnect, RedisBus};
use crate::cli::{CommonArgs, MetricsArgs, StageArgs};
use crate::config::{self, Loaded};
use crate::stage::{self, RunError, RunStats, Stage, StdioOpts};
use crate::telemetry::{self, Health, MetricsAddr, Observer, ServeError, Textfile};
use secrecy::ExposeSecret;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How a binary's run ends other than cleanly. [`exit`] prints it and maps it to the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad arguments or configuration, found before any work: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The run failed: exit 1.
    #[error("{0}")]
    Failed(String),
    /// The command has already said what it found (bad lines, a tripped switch): exit with
    /// this code and no further message. `Exit(0)` ends early on success (`--print-config`).
    #[error("exit status {0}")]
    Exit(u8),
}

impl Error {
    pub fn usage(e: impl Display) -> Error {
        Error::Usage(e.to_string())
    }

    pub fn failed(e: impl Display) -> Error {
        Error::Failed(e.to_string())
    }

    /// 2 for usage, 1 for a failure, or the code an [`Error::Exit`] carries.
    pub fn code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Failed(_) => 1,
            Error::Exit(code) => *code,
        }
    }
}

/// The one place a binary's outcome becomes its exit code. Errors are printed once: through
/// the log (stderr and the JSON file) once logging runs, as `error: …` on stderr before that.
pub fn exit(outcome: Result<(), Error>) -> ExitCode {
    let e = match outcome {
        Ok(()) => return ExitCode::SUCCESS,
        Err(e) => e,
    };
    match &e {
        Error::Exit(_) => {}
        _ if tracing::dispatcher::has_been_set() => tracing::error!("{e}"),
        _ => eprintln!("error: {e}"),
    }
    ExitCode::from(e.code())
}

/// Ends with exit status `code` when it is not 0, with no further message: the command has
/// reported each problem as it met it.
pub fn exit_status(code: u8) -> Result<(), Error> {
    match code {
        0 => Ok(()),
        c => Err(Error::Exit(c)),
    }
}

/// Writes `text` to stdout now. A reader that has gone away (`| head -1`) is not an error:
/// the rest of the output is dropped quietly and the command keeps its own exit status
/// (DESIGN §5). `print!` would panic there instead.
pub fn print_out(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Failed(format!("writing stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Loads the configuration and starts logging. `--print-config` prints it and ends the run
/// with [`Error::Exit`]`(0)`.
pub fn start(common: &CommonArgs) -> Result<Loaded, Error> {
    let loaded = config::load(common.config.as_deref()).map_err(Error::usage)?;
    if common.print_config {
        print_out(&loaded.to_yaml())?;
        return Err(Error::Exit(0));
    }
    crate::logging::init(common, &loaded.config.logging).map_err(Error::Usage)?;
    Ok(loaded)
}

/// Connects to Redis with the configured reconnect policy.
pub fn connect(url: &str, loaded: &Loaded) -> Result<RedisBus, Error> {
    RedisBus::connect(url, Reconnect::from_config(&loaded.config.redis)).map_err(Error::failed)
}

/// A run's telemetry: the health its endpoints report, the observer its runner feeds, and
/// the `--metrics-file` writer.
pub struct Telemetry {
    pub health: Option<Arc<Health>>,
    pub obs: Option<Observer>,
    file: Option<Textfile>,
}

impl Telemetry {
    /// Starts what `args` and `telemetry.*` ask for, with an observer for an event loop.
    /// `daemon`: serve the endpoints at `telemetry.addr` unless `--metrics-addr` says
    /// otherwise; other runs serve only when `--metrics-addr` is given.
    pub fn start(
        binary: &'static str,
        args: &MetricsArgs,
        loaded: &Loaded,
        daemon: bool,
    ) -> Result<Telemetry, Error> {
        let mut t = Self::endpoints(binary, args, loaded, daemon)?;
        if let Some(h) = &t.health {
            t.obs = Some(Observer::new(&loaded.config.redis.topics, h.clone()));
        }
        Ok(t)
    }

    /// [`Telemetry::start`] without the observer: for a process that reports its health and
    /// its own metrics only (njord-sim).
    pub fn endpoints(
        binary: &'static str,
        args: &MetricsArgs,
        loaded: &Loaded,
        daemon: bool,
    ) -> Result<Telemetry, Error> {
        let cfg = &loaded.config.telemetry;
        let addr = match (&args.metrics_addr, daemon) {
            (Some(a), _) => *a,
            (None, true) => MetricsAddr::parse(&cfg.addr).map_err(Error::usage)?,
            (None, false) => MetricsAddr::Off,
        };
        if addr == MetricsAddr::Off && args.metrics_file.is_none() {
            return Ok(Telemetry {
                health: None,
                obs: None,
                file: None,
            });
        }
        telemetry::init(binary);
        let health = Arc::new(Health::new(cfg.stale_after_ms));
        telemetry::health_gauges(health.clone());
        if let MetricsAddr::At(at) = addr {
            let token = loaded.config.api_keys.metrics.token.as_ref();
            telemetry::serve(at, token.map(|t| t.expose_secret()), health.clone()).map_err(
                |e| match e {
                    ServeError::NeedsToken(_) => Error::usage(e),
                    ServeError::Start(_) => Error::failed(e),
                },
            )?;
        }
        let file = match &args.metrics_file {
            Some(p) => Some(
                Textfile::start(p, Duration::from_millis(cfg.file_interval_ms.max(1)))
                    .map_err(Error::Usage)?,
            ),
            None => None,
        };
        Ok(Telemetry {
            health: Some(health),
            obs: None,
            file,
        })
    }

    pub fn observer(&mut self) -> Option<&mut Observer> {
        self.obs.as_mut()
    }

    /// Writes the metrics file a last time, with the run's final figures.
    pub fn finish(self) -> Result<(), Error> {
        match self.file {
            Some(f) => f.finish().map_err(Error::Failed),
            None => Ok(()),
        }
    }
}

/// Runs a stage on stdio, or as a daemon on Redis with `--bus`, and reports how it ended.
pub fn run_stage(
    name: &'static str,
    stage: &mut dyn Stage,
    args: &StageArgs,
    loaded: &Loaded,
) -> Result<(), Error> {
    run_stage_ticking(name, stage, args, loaded, None)
}

/// [`run_stage`] with `on_tick` every `tick` on stdio too (on a bus it ticks anyway).
pub fn run_stage_ticking(
    name: &'static str,
    stage: &mut dyn Stage,
    args: &StageArgs,
    loaded: &Loaded,
    tick: Option<Duration>,
) -> Result<(), Error> {
    let cfg = &loaded.config;
    let mut tele = Telemetry::start(name, &args.metrics, loaded, args.bus.is_some())?;
    audit_start(name, loaded)?;
    let outcome = match &args.bus {
        Some(url) => {
            let mut bus = connect(url, loaded)?;
            tracing::info!(url = %url, "{name} running on Redis");
            stage::run_bus(
                stage,
                &mut bus,
                &cfg.redis.topics,
                Duration::from_millis(250),
                tele.observer(),
            )
        }
        None => {
            let opts = StdioOpts {
                emit_only: args.emit_only,
                strict: args.strict,
                tick,
            };
            stage::run_stdio(
                stage,
                std::io::stdin(),
                std::io::stdout().lock(),
                opts,
                tele.observer(),
            )
        }
    };
    let ended = finish(name, outcome);
    audit_stop(&ended)?;
    tele.finish()?;
    ended
}

/// Opens the process's audit chain `name` when `audit.enabled` (its start and configuration
/// recorded).
pub fn audit_start(name: &str, loaded: &Loaded) -> Result<(), Error> {
    crate::audit::open(loaded, name)
        .map(|_| ())
        .map_err(|e| Error::Failed(format!("audit trail: {e}")))
}

/// Records how the run ended and closes the audit chain.
pub fn audit_stop(ended: &Result<(), Error>) -> Result<(), Error> {
    let how = match ended {
        Ok(()) => "done".to_string(),
        Err(e) => e.to_string(),
    };
    crate::audit::close(&how).map_err(|e| Error::Failed(format!("audit trail: {e}")))
}

/// Reports the end of a run: its summary, or the error that ended it.
pub fn finish(name: &str, outcome: Result<RunStats, RunError>) -> Result<(), Error> {
    let stats = outcome.map_err(|e| Error::Failed(format!("{name}: {e}")))?;
    stats.report(name);
    Ok(())
}
