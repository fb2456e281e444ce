//! `njord-replay`: journals back into a pipeline or onto Redis.

use super::CommonArgs;
use crate::event::Kind;
use crate::replay::Speed;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-replay",
    version,
    about = "Replay journals merged by event time, to stdout or onto Redis",
    after_help = "Reads plain and .gz journals; a FILE may also be a directory or a journal stem (a \
whole rotated series). Several sources are merged by event time; ties keep the order given. Lines \
are written exactly as journaled. Bad lines are reported on stderr as file:line: reason and \
skipped.\n\nExamples:\n  \
    njord-replay var/log/njord/md.trades.ATOMUSDT | njord-strat | njord-risk | njord-paper\n  \
    njord-replay var/log/njord --kind trade --symbol ATOM/USDT --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z\n  \
    njord-replay md.trades.ATOMUSDT.20260101.ndjson.gz --speed 10x --bus redis://127.0.0.1:6379/0"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Journal files, directories or stems
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only events at or after this time (RFC 3339 or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub from: Option<i64>,
    /// Only events before this time (RFC 3339 or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub to: Option<i64>,
    /// Only events of these symbols (ATOM/USDT; repeat or separate with commas)
    #[arg(long, value_name = "SYMBOL", value_delimiter = ',')]
    pub symbol: Vec<String>,
    /// Only events of these kinds (trade,bar,…)
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_kind)]
    pub kind: Vec<Kind>,
    /// max (never sleeps), or Nx: event-time gaps divided by N (1x real time, 10x, 0.5x)
    #[arg(long, value_name = "SPEED", default_value = "max", value_parser = Speed::parse)]
    pub speed: Speed,
    /// Publish to the canonical topics on this Redis (redis://HOST:PORT/DB) instead of stdout
    #[arg(long, value_name = "URL")]
    pub bus: Option<String>,
    /// No progress bar, even when stderr is a terminal
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{s}` (use {})", all.join(", "))
    })
}
