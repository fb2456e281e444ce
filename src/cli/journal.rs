//! `njord-journal`: compress, verify, print and import journals.

use super::CommonArgs;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

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
