//! `njord-journal`: compress, verify, print and import journals.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::journal::{self, JournalReader, Journals, Skipped};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use std::time::SystemTime;

#[derive(Debug, Parser)]
#[command(
    name = "njord-journal",
    version,
    about = "Compress, verify, print and import Njord journals",
    after_help = "Journals rotate by UTC day and size to {stem}.{YYYYMMDD}[.{n}].ndjson and are \
gzipped when closed; the open file is always {stem}.ndjson. A FILE argument may be a file, a \
directory (every journal in it) or a stem (every file of one rotated series).\n\nExamples:\n  \
    njord-journal compress --older-than 24h\n  \
    njord-journal verify var/log/njord/md.trades.ATOMUSDT.20260101.ndjson.gz\n  \
    njord-journal cat var/log/njord/md.trades.ATOMUSDT | njord-bars --emit-only\n  \
    njord-journal import binance-trades ATOMUSDT-trades-2026-01-01.csv --symbol ATOM/USDT > atom.ndjson\n  \
    njord-journal import binance-trades ATOMUSDT-trades-2026-01-02.csv --symbol ATOM/USDT --journal"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Gzip closed journals (rotated files, and open files whose writer has exited); a file a
    /// writer holds open is never touched
    Compress {
        /// Only files last modified longer ago than this (90s, 30m, 24h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Option<Duration>,
        /// Journal files or directories (default: journal.dir from the config)
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Check every line of journals (JSON events, torn lines, gzip integrity); exit 1 on any
    /// problem
    Verify {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print journals line by line, each rotated series in order, gzip decompressed
    Cat {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Convert downloaded history into Njord events (stdout, or a journal with --journal)
    #[command(subcommand)]
    Import(Import),
}

#[derive(Debug, Subcommand)]
pub enum Import {
    /// Binance public trade dumps (id, price, qty, quote_qty, time, is_buyer_maker[,
    /// is_best_match]; ms or µs times; plain or gzipped CSV) to `trade` events
    BinanceTrades {
        /// The CSV file
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// Symbol written in the events, as BASE/QUOTE
        #[arg(long, value_name = "SYMBOL")]
        symbol: String,
        /// Venue written in the events
        #[arg(long, value_name = "NAME", default_value = "binance")]
        venue: String,
        /// Append to the trade journal {journal.dir}/md.trades.{SYMBOL} (rotated by UTC day and
        /// gzipped) instead of writing to stdout
        #[arg(long)]
        journal: bool,
    },
}

/// Parses `90s`, `30m`, `24h`, `7d` (or plain seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{s}` (use 90s, 30m, 24h, 7d)"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration `{s}` (use 90s, 30m, 24h, 7d)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Compresses, verifies, prints or imports journals.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    match cli.cmd {
        Cmd::Compress { older_than, paths } => {
            let paths = if paths.is_empty() {
                let dir = loaded.config.journal.dir.clone();
                if !dir.exists() {
                    tracing::info!("{}: no journals yet; nothing to compress", dir.display());
                    return Ok(());
                }
                vec![dir]
            } else {
                paths
            };
            compress(&paths, older_than.unwrap_or_default())
        }
        Cmd::Verify { files } => verify(&files),
        Cmd::Cat { files } => cat(&files),
        Cmd::Import(Import::BinanceTrades {
            file,
            symbol,
            venue,
            journal,
        }) => {
            let journals = journal.then(|| Journals::from_config(&loaded.config.journal));
            import(&file, &symbol, &venue, journals)
        }
    }
}

fn series(paths: &[PathBuf]) -> Result<Vec<journal::Series>, Error> {
    journal::resolve(paths).map_err(Error::usage)
}

/// Journal files under `paths` that are not compressed yet.
fn candidates(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for s in journal::list_dir(p).map_err(|e| e.to_string())? {
                out.extend(s.files.into_iter().filter(|f| !is_gz(f)));
            }
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "gz")
}

fn compress(paths: &[PathBuf], older_than: Duration) -> Result<(), Error> {
    let files = candidates(paths).map_err(Error::Usage)?;
    let now = SystemTime::now();
    let mut failed = false;
    for f in files {
        let old_enough = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .map(|m| now.duration_since(m).unwrap_or_default() >= older_than)
            .unwrap_or(false);
        if !old_enough {
            continue;
        }
        match journal::compress_closed(&f) {
            Ok(Ok(c)) => app::print_out(&format!(
                "{} -> {} ({} lines)\n",
                c.src.display(),
                c.dst.display(),
                c.lines
            ))?,
            Ok(Err(Skipped::InUse)) => {
                tracing::info!("{}: open by a writer; left alone", f.display())
            }
            Ok(Err(Skipped::Empty | Skipped::Gone)) => {}
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    app::exit_status(u8::from(failed))
}

fn verify(paths: &[PathBuf]) -> Result<(), Error> {
    let all = series(paths)?;
    let mut problems = 0u64;
    for f in all.iter().flat_map(|s| &s.files) {
        let mut r = match JournalReader::open(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                problems += 1;
                continue;
            }
        };
        let (mut good, mut bad) = (0u64, 0u64);
        r.for_each_event(
            |_| good += 1,
            |e| {
                eprintln!("{e}");
                bad += 1;
            },
        );
        problems += bad;
        let verdict = if bad == 0 { "ok" } else { "BAD" };
        app::print_out(&format!(
            "{verdict} {}: {good} events, {bad} problems\n",
            f.display()
        ))?;
    }
    app::exit_status(u8::from(problems > 0))
}

fn cat(paths: &[PathBuf]) -> Result<(), Error> {
    let all = series(paths)?;
    let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
    let mut failed = false;
    for f in all.iter().flat_map(|s| &s.files) {
        let mut r = match JournalReader::open(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        while let Some(line) = r.next_line() {
            let written = match line {
                Ok(l)
                    if !l.terminated
                        && matches!(crate::event::judge_line(l.text.as_bytes()), Some(Err(_))) =>
                {
                    eprintln!(
                        "{}:{}: torn last line (no newline at end of file), skipped",
                        f.display(),
                        l.lineno
                    );
                    continue;
                }
                Ok(l) => out
                    .write_all(l.text.as_bytes())
                    .and_then(|_| out.write_all(b"\n")),
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                    continue;
                }
            };
            if let Err(e) = written {
                return closed_or_failed(e);
            }
        }
    }
    if let Err(e) = out.flush() {
        return closed_or_failed(e);
    }
    app::exit_status(u8::from(failed))
}

/// A reader that went away (`| head`) ends the command quietly.
fn closed_or_failed(e: std::io::Error) -> Result<(), Error> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::Failed(format!("writing stdout: {e}")))
    }
}

fn import(file: &Path, symbol: &str, venue: &str, journals: Option<Journals>) -> Result<(), Error> {
    let mut r = JournalReader::open(file).map_err(Error::usage)?;
    let on_bad = |e: String| eprintln!("{e}; skipped");
    let stats = match journals {
        Some(mut j) => {
            let stem = format!("md.trades.{}", crate::event::compact_symbol(symbol));
            crate::import::binance_trades(
                &mut r,
                symbol,
                venue,
                |ev| j.append_event(&stem, ev).map_err(std::io::Error::other),
                on_bad,
            )
            .and_then(|s| j.flush().map(|_| s).map_err(std::io::Error::other))
        }
        None => {
            let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
            let mut buf = Vec::with_capacity(256);
            crate::import::binance_trades(
                &mut r,
                symbol,
                venue,
                |ev| {
                    buf.clear();
                    ev.write_line(&mut buf);
                    out.write_all(&buf)
                },
                on_bad,
            )
            .and_then(|s| out.flush().map(|_| s))
        }
    };
    match stats {
        Ok(s) => {
            tracing::info!(
                events = s.events,
                bad = s.bad,
                "imported {} trades",
                s.events
            );
            if s.bad > 0 {
                eprintln!("{} bad rows skipped", s.bad);
            }
            app::exit_status(u8::from(s.bad > 0))
        }
        Err(e) => closed_or_failed(e),
    }
}
