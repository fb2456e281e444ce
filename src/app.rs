//! What every binary does around its core: load the configuration, set up logging, pick the
//! transport, and turn outcomes into exit codes (0 clean, 1 runtime failure, 2 usage/config)
//! in one place, [`exit`].

use crate::bus::{Reconnect, RedisBus};
use crate::cli::{CommonArgs, StageArgs};
use crate::config::{self, Loaded};
use crate::stage::{self, RunError, RunStats, Stage, StdioOpts};
use std::fmt::Display;
use std::process::ExitCode;
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

/// Runs a stage on stdio, or as a daemon on Redis with `--bus`, and reports how it ended.
pub fn run_stage(
    name: &str,
    stage: &mut dyn Stage,
    args: &StageArgs,
    loaded: &Loaded,
) -> Result<(), Error> {
    let cfg = &loaded.config;
    let outcome = match &args.bus {
        Some(url) => {
            let mut bus = connect(url, loaded)?;
            tracing::info!(url = %url, "{name} running on Redis");
            stage::run_bus(
                stage,
                &mut bus,
                &cfg.redis.topics,
                Duration::from_millis(250),
            )
        }
        None => {
            let opts = StdioOpts {
                emit_only: args.emit_only,
                strict: args.strict,
                tick: None,
            };
            stage::run_stdio(stage, std::io::stdin(), std::io::stdout().lock(), opts)
        }
    };
    finish(name, outcome)
}

/// Reports the end of a run: its summary, or the error that ended it.
pub fn finish(name: &str, outcome: Result<RunStats, RunError>) -> Result<(), Error> {
    let stats = outcome.map_err(|e| Error::Failed(format!("{name}: {e}")))?;
    stats.report(name);
    Ok(())
}
