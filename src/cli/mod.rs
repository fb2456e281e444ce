//! Command-line definitions of every binary, in the library so that man pages and shell
//! completions are generated from the very same clap definitions (`tests/it/docs.rs` checks that
//! the committed ones in `man/` and `completions/` are current).

use clap::{Args, CommandFactory};
use std::path::PathBuf;

pub mod backtest;
pub mod bars;
pub mod broker;
pub mod bus;
pub mod ingest;
pub mod journal;
pub mod kill;
pub mod paper;
pub mod replay;
pub mod risk;
pub mod strat;

/// Flags every binary takes: configuration and logging.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonArgs {
    /// Configuration file (default: config/base.yaml; missing means built-in defaults)
    #[arg(long, value_name = "FILE", env = "NJORD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (secrets redacted) and exit
    #[arg(long, global = true)]
    pub print_config: bool,
    /// More log output on stderr (-v debug, -vv trace)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log level for stderr (error, warn, info, debug, trace); overrides -v/-q
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
}

/// Flags of every stage that reads events and writes the events it causes (DESIGN §5).
#[derive(Debug, Clone, Args, Default)]
pub struct StageArgs {
    /// Run as a daemon on a Redis bus (redis://HOST:PORT/DB) instead of stdin/stdout
    #[arg(long, value_name = "URL")]
    pub bus: Option<String>,
    /// On stdio, write only the events this stage causes, not the forwarded input
    #[arg(long)]
    pub emit_only: bool,
    /// Exit non-zero at the first malformed input line instead of skipping it
    #[arg(long)]
    pub strict: bool,
}

/// Every binary's clap command, named as installed. Used to generate man pages and completions.
pub fn commands() -> Vec<clap::Command> {
    vec![
        backtest::Cli::command(),
        bars::Cli::command(),
        broker::Cli::command(),
        bus::Cli::command(),
        ingest::Cli::command(),
        journal::Cli::command(),
        kill::Cli::command(),
        paper::Cli::command(),
        replay::Cli::command(),
        risk::Cli::command(),
        strat::Cli::command(),
    ]
}
