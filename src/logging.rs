//! Logging: readable lines on stderr, JSON lines in `{log_dir}/app.ndjson`.
//!
//! stdout carries data only (DESIGN §5), so nothing here ever writes to it. Every stderr line
//! starts with its UTC time, and is coloured only when stderr is a terminal (a log file or a
//! pipe gets no escape codes). Several binaries share one `app.ndjson`, so each of its lines
//! names the binary (`bin`) and process (`pid`) that wrote it.

use crate::cli::CommonArgs;
use crate::config::Logging;
use serde_json::{Map, Value};
use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// The structured log's file name in `logging.log_dir`. It is not a journal: listings of a
/// journal directory (which is the log directory by default) leave it out.
pub const APP_LOG: &str = "app.ndjson";

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
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(UtcTime::new(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        )))
        .with_filter(filter);

    let file_layer = if cfg.json_file {
        let path = cfg.log_dir.join(APP_LOG);
        let opened = std::fs::create_dir_all(&cfg.log_dir)
            .and_then(|_| OpenOptions::new().create(true).append(true).open(&path));
        match opened {
            Ok(file) => Some(
                fmt::layer()
                    .event_format(JsonLine::new())
                    .with_ansi(false)
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

/// One `app.ndjson` record: `timestamp` (RFC 3339, UTC), `level`, `target`, `bin`, `pid`,
/// `message` and the event's fields, as one JSON object.
struct JsonLine {
    bin: String,
    pid: u32,
}

impl JsonLine {
    fn new() -> JsonLine {
        let bin = std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "njord".into());
        JsonLine {
            bin,
            pid: std::process::id(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut m = Map::new();
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        m.insert("timestamp".into(), now.into());
        m.insert("level".into(), meta.level().as_str().into());
        m.insert("target".into(), meta.target().into());
        m.insert("bin".into(), self.bin.as_str().into());
        m.insert("pid".into(), self.pid.into());
        event.record(&mut Fields(&mut m));
        writeln!(w, "{}", Value::Object(m))
    }
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().into(), format!("{v:?}").into());
    }
}
