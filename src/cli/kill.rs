//! `njord-kill`: trip, clear and inspect the kill switch.

use super::CommonArgs;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-kill",
    version,
    about = "Trip, clear or inspect the trading kill switch (file and Redis key)",
    after_help = "Once `njord-kill trip` returns, every later intent is denied `halted` and the live \
broker sends nothing.\n\nExamples:\n  \
    njord-kill trip --reason 'runaway strategy'\n  \
    njord-kill status --redis redis://127.0.0.1:6379/0 || echo 'trading is halted'\n  \
    njord-kill clear\n\n\
status exits 0 when trading is allowed, 1 when tripped, 2 when a source cannot be read."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Kill file (default: risk.kill_switch_file from the config)
    #[arg(long, value_name = "PATH", global = true)]
    pub file: Option<PathBuf>,
    /// Also act on the Redis key risk.kill_switch_key at this URL (default: redis.url when set)
    #[arg(long, value_name = "URL", global = true)]
    pub redis: Option<String>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Halt trading: write the kill file (who, when, why) and set the Redis key to "1"
    Trip {
        /// Why trading is halted; kept in the kill file
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Allow trading again: remove the kill file and the Redis key
    Clear,
    /// Print one line per source; exit 0 allowed, 1 tripped, 2 unreadable
    Status,
}
