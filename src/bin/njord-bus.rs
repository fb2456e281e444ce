//! `njord-bus`: publish stdin to Redis, print Redis to stdout, validate event streams.

use clap::Parser;
use njord::bus::{Bus, Reconnect, RedisBus};
use njord::cli::bus::{Cli, Cmd};
use njord::config::Loaded;
use njord::event;
use njord::journal::JournalReader;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match cli.cmd {
        Cmd::Check { files, quiet_ok } => check(&files, quiet_ok),
        Cmd::Pub {
            redis,
            topic,
            strict,
        } => match connect(redis, &loaded) {
            Ok(bus) => publish(bus, &loaded, topic.as_deref(), strict),
            Err(code) => code,
        },
        Cmd::Sub {
            redis,
            count,
            patterns,
        } => match connect(redis, &loaded) {
            Ok(bus) => subscribe(bus, &loaded, &patterns, count),
            Err(code) => code,
        },
    }
}

fn connect(url: Option<String>, loaded: &Loaded) -> Result<RedisBus, ExitCode> {
    let Some(url) = url.or_else(|| loaded.config.redis.url.clone()) else {
        eprintln!(
            "error: no Redis URL: pass --redis redis://HOST:PORT/DB or set redis.url in the config"
        );
        return Err(ExitCode::from(njord::app::EXIT_USAGE));
    };
    RedisBus::connect(&url, Reconnect::from_config(&loaded.config.redis)).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

/// Validates every line; good lines go to stdout unchanged, bad ones to stderr as `file:line: reason`.
fn check(files: &[std::path::PathBuf], quiet_ok: bool) -> ExitCode {
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout);
    let (mut good, mut bad) = (0u64, 0u64);
    let mut readers = Vec::new();
    if files.is_empty() {
        match JournalReader::sniff("stdin", std::io::stdin()) {
            Ok(r) => readers.push(r),
            Err(e) => {
                eprintln!("error: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
        }
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
        njord::check::validate(&mut r, !quiet_ok, |block| {
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
    if bad > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Publishes each stdin event, unchanged, to its canonical topic (or `topic`).
fn publish(mut bus: RedisBus, loaded: &Loaded, topic: Option<&str>, strict: bool) -> ExitCode {
    let topics = &loaded.config.redis.topics;
    let mut reader = match JournalReader::sniff("stdin", std::io::stdin()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read stdin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut sent, mut bad) = (0u64, 0u64);
    while let Some(line) = reader.next_line() {
        let result = line.map_err(|e| e.to_string()).and_then(|l| {
            let ev = event::decode(l.text).map_err(|e| format!("stdin:{}: {e}", l.lineno))?;
            let t = topic
                .map(str::to_string)
                .unwrap_or_else(|| topics.for_event(&ev));
            bus.publish(&t, l.text.as_bytes())
                .map_err(|e| format!("error: {e}"))
        });
        match result {
            Ok(()) => sent += 1,
            Err(e) if e.starts_with("error:") => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
                if strict {
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    tracing::info!(sent, bad, "njord-bus pub: done");
    ExitCode::SUCCESS
}

/// Prints events from Redis as NDJSON; payloads without `kind` are read by their topic and
/// printed in canonical form.
fn subscribe(
    mut bus: RedisBus,
    loaded: &Loaded,
    patterns: &[String],
    count: Option<u64>,
) -> ExitCode {
    let topics = &loaded.config.redis.topics;
    let sub = match bus.subscribe(patterns) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signals = match njord::stage::Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut printed = 0u64;
    let mut line = Vec::new();
    while count.is_none_or(|c| printed < c) {
        if signals
            .receiver()
            .try_recv()
            .is_ok_and(|c| c == njord::stage::Control::Stop)
        {
            break;
        }
        let msg = match sub.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
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
    ExitCode::SUCCESS
}
