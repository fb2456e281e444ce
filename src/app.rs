//! What every binary does around its core: load the configuration, set up logging, pick the
//! transport, and turn outcomes into exit codes (0 clean, 1 runtime failure, 2 usage/config).

use crate::bus::{Reconnect, RedisBus};
use crate::cli::{CommonArgs, StageArgs};
use crate::config::{self, Loaded};
use crate::stage::{self, RunError, Stage, StdioOpts};
use std::process::ExitCode;
use std::time::Duration;

/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 2;

/// Loads the configuration and starts logging. `Err` carries the exit code: 2 after a config
/// error, 0 after `--print-config`.
pub fn start(common: &CommonArgs) -> Result<Loaded, ExitCode> {
    let loaded = config::load(common.config.as_deref()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    if common.print_config {
        print!("{}", loaded.to_yaml());
        return Err(ExitCode::SUCCESS);
    }
    crate::logging::init(common, &loaded.config.logging).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    Ok(loaded)
}

/// Runs a stage on stdio, or as a daemon on Redis with `--bus`, and reports how it ended.
pub fn run_stage(name: &str, stage: &mut dyn Stage, args: &StageArgs, loaded: &Loaded) -> ExitCode {
    let cfg = &loaded.config;
    let outcome = match &args.bus {
        Some(url) => match RedisBus::connect(url, Reconnect::from_config(&cfg.redis)) {
            Ok(mut bus) => {
                tracing::info!(url = %url, "{name} running on Redis");
                stage::run_bus(
                    stage,
                    &mut bus,
                    &cfg.redis.topics,
                    Duration::from_millis(250),
                )
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
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

/// Reports the end of a run and maps it to an exit code.
pub fn finish(name: &str, outcome: Result<stage::RunStats, RunError>) -> ExitCode {
    match outcome {
        Ok(stats) => {
            stats.report(name);
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
