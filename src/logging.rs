//! Logging: readable lines on stderr, JSON lines in `{log_dir}/app.ndjson`.
//!
//! stdout carries data only (DESIGN §5), so nothing here ever writes to it.

use crate::cli::CommonArgs;
use crate::config::Logging;
use std::fs::OpenOptions;
use std::sync::Mutex;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// The stderr level chosen by flags, then config: `--log-level`, else `-q`/`-v`, else config.
pub fn stderr_level(args: &CommonArgs, cfg: &Logging) -> String {
    if let Some(l) = &args.log_level {
        return l.clone();
    }
    match (args.quiet, args.verbose) {
        (true, _) => "error".into(),
        (false, 0) => cfg.level.clone(),
        (false, 1) => "debug".into(),
        (false, _) => "trace".into(),
    }
}

/// Installs the global subscriber. A log file that cannot be opened is reported on stderr and
/// logging continues without it; a bad level is a usage error.
pub fn init(args: &CommonArgs, cfg: &Logging) -> Result<(), String> {
    let level = stderr_level(args, cfg);
    let filter = EnvFilter::try_new(&level).map_err(|e| {
        format!("invalid log level `{level}`: {e} (use error, warn, info, debug or trace)")
    })?;
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_filter(filter);

    let file_layer = if cfg.json_file {
        let path = cfg.log_dir.join("app.ndjson");
        let opened = std::fs::create_dir_all(&cfg.log_dir)
            .and_then(|_| OpenOptions::new().create(true).append(true).open(&path));
        match opened {
            Ok(file) => Some(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_timer(UtcTime::rfc_3339())
                    .with_current_span(false)
                    .with_writer(Mutex::new(file))
                    .with_filter(EnvFilter::new(level_at_least_info(&level))),
            ),
            Err(e) => {
                eprintln!(
                    "warning: cannot open log file {}: {e}; logging to stderr only",
                    path.display()
                );
                None
            }
        }
    } else {
        None
    };
    // A second init (tests calling main twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    Ok(())
}

/// The structured log keeps at least info, even when stderr is quiet.
fn level_at_least_info(level: &str) -> String {
    match level {
        "error" | "warn" => "info".into(),
        other => other.into(),
    }
}
