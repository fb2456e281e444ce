//! `njord-bus`: move NDJSON events between stdio and Redis, and validate event streams.

use super::CommonArgs;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
        #[arg(long, value_name = "URL")]
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
        #[arg(long, value_name = "URL")]
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
