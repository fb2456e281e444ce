//! `njord-bus`: move NDJSON events between stdio and Redis, and validate event streams.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::bus::{Bus, RedisBus};
use crate::config::Loaded;
use crate::event;
use crate::journal::JournalReader;
use crate::stage::{Control, Signals};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "njord-bus",
    version,
    about = "Publish, subscribe to and validate Njord event streams",
    after_help = "Examples:\n  \
    njord-bus check var/log/njord/md.trades.ATOMUSDT.ndjson.gz   # report every bad line\n  \
    njord-sim gen --symbol ATOM/USDT --count 1000 --seed 1 | njord-bus pub --redis redis://127.0.0.1:6379/0\n  \
    njord-bus sub --redis redis://127.0.0.1:6379/0 'md.trades.*' risk.decisions"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Publish events read from stdin to their canonical topics (or --topic)
    Pub {
        /// Redis URL (default: redis.url from the config)
        #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
        redis: Option<String>,
        /// Publish every event to this topic instead of its canonical one
        #[arg(long, value_name = "TOPIC")]
        topic: Option<String>,
        /// Exit non-zero at the first malformed line instead of skipping it
        #[arg(long)]
        strict: bool,
    },
    /// Print events published on Redis as NDJSON (patterns such as 'md.trades.*' allowed)
    Sub {
        /// Redis URL (default: redis.url from the config)
        #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
        redis: Option<String>,
        /// Stop after this many events
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Topics or patterns to subscribe to
        #[arg(required = true, value_name = "PATTERN")]
        patterns: Vec<String>,
    },
    /// Validate an event stream or journal: report every bad line, forward the good ones,
    /// exit 1 if any was bad
    Check {
        /// Files to check (plain or .gz); stdin when none
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Do not forward the good lines
        #[arg(long)]
        quiet_ok: bool,
    },
}

/// Validates event streams, or moves events between stdio and Redis.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    match cli.cmd {
        Cmd::Check { files, quiet_ok } => check(&files, quiet_ok),
        Cmd::Pub {
            redis,
            topic,
            strict,
        } => publish(connect(redis, &loaded)?, &loaded, topic.as_deref(), strict),
        Cmd::Sub {
            redis,
            count,
            patterns,
        } => subscribe(connect(redis, &loaded)?, &loaded, &patterns, count),
    }
}

fn connect(url: Option<String>, loaded: &Loaded) -> Result<RedisBus, Error> {
    let url = url
        .or_else(|| loaded.config.redis.url.clone())
        .ok_or_else(|| {
            Error::usage(
                "no Redis URL: pass --redis redis://HOST:PORT/DB or set redis.url in the config",
            )
        })?;
    app::connect(&url, loaded)
}

/// Validates every line; good lines go to stdout unchanged, bad ones to stderr as `file:line: reason`.
fn check(files: &[std::path::PathBuf], quiet_ok: bool) -> Result<(), Error> {
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout);
    let (mut good, mut bad) = (0u64, 0u64);
    let mut readers = Vec::new();
    if files.is_empty() {
        let stdin = stdin_events()?;
        readers.push(stdin);
    }
    for f in files {
        match JournalReader::open(f) {
            Ok(r) => readers.push(r),
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    let mut closed = false;
    let stderr = std::io::stderr();
    for mut r in readers {
        crate::check::validate(&mut r, !quiet_ok, |block| {
            good += block.good;
            bad += block.bad;
            if !closed && !block.forwarded.is_empty() {
                closed = out.write_all(&block.forwarded).is_err();
            }
            let mut err = stderr.lock();
            for e in &block.errors {
                let _ = writeln!(err, "{e}");
            }
        });
    }
    let _ = out.flush();
    eprintln!("njord-bus check: {good} good, {bad} bad");
    app::exit_status(u8::from(bad > 0))
}

/// Publishes each stdin event, unchanged, to its canonical topic (or `topic`).
fn publish(
    mut bus: RedisBus,
    loaded: &Loaded,
    topic: Option<&str>,
    strict: bool,
) -> Result<(), Error> {
    let topics = &loaded.config.redis.topics;
    let mut reader = stdin_events()?;
    let (mut sent, mut bad) = (0u64, 0u64);
    while let Some(line) = reader.next_line() {
        let result = line.map_err(|e| e.to_string()).and_then(|l| {
            let (_, ev) = event::judge_line(l.text.as_bytes())
                .unwrap_or_else(|| Err("blank line".into()))
                .map_err(|e| format!("stdin:{}: {e}", l.lineno))?;
            let t = topic
                .map(str::to_string)
                .unwrap_or_else(|| topics.for_event(&ev));
            Ok((t, l.text))
        });
        match result {
            Ok((t, text)) => {
                bus.publish(&t, text.as_bytes()).map_err(Error::failed)?;
                sent += 1;
            }
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
                if strict {
                    return Err(Error::Exit(1));
                }
            }
        }
    }
    tracing::info!(sent, bad, "njord-bus pub: done");
    Ok(())
}

/// Prints events from Redis as NDJSON; payloads without `kind` are read by their topic and
/// printed in canonical form.
fn subscribe(
    mut bus: RedisBus,
    loaded: &Loaded,
    patterns: &[String],
    count: Option<u64>,
) -> Result<(), Error> {
    let topics = &loaded.config.redis.topics;
    let sub = bus.subscribe(patterns).map_err(Error::failed)?;
    let signals = Signals::install().map_err(Error::failed)?;
    let mut out = std::io::stdout().lock();
    let mut printed = 0u64;
    let mut line = Vec::new();
    while count.is_none_or(|c| printed < c) {
        if signals
            .receiver()
            .try_recv()
            .is_ok_and(|c| c == Control::Stop)
        {
            break;
        }
        let Some(msg) = sub
            .recv_timeout(Duration::from_millis(50))
            .map_err(Error::failed)?
        else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&msg.payload) else {
            eprintln!("{}: payload is not UTF-8; skipped", msg.topic);
            continue;
        };
        let decoded = match topics.kind_of(&msg.topic) {
            Some(k) => event::decode_as(text, k),
            None => event::decode(text),
        };
        line.clear();
        match decoded {
            Ok(_) if text.contains("\"kind\"") => line.extend_from_slice(text.as_bytes()),
            Ok(ev) => {
                ev.write_line(&mut line);
                line.pop();
            }
            Err(e) => {
                eprintln!("{}: {e}; skipped", msg.topic);
                continue;
            }
        }
        line.push(b'\n');
        if out.write_all(&line).and_then(|_| out.flush()).is_err() {
            break;
        }
        printed += 1;
    }
    Ok(())
}

/// Standard input as event lines (plain or gzip).
fn stdin_events() -> Result<JournalReader, Error> {
    JournalReader::sniff("stdin", std::io::stdin())
        .map_err(|e| Error::Failed(format!("cannot read stdin: {e}")))
}
