//! Command-line definitions of every binary, in the library so that man pages and shell
//! completions are generated from the very same clap definitions (`tests/it/docs.rs` checks that
//! the committed ones in `man/` and `completions/` are current).

use crate::event::Kind;
use crate::replay::Filter;
use clap::{Args, CommandFactory};
use std::path::PathBuf;

pub mod alert;
pub mod audit;
pub mod backtest;
pub mod bars;
pub mod broker;
pub mod bus;
pub mod ctl;
pub mod exec;
pub mod ingest;
pub mod journal;
pub mod kill;
pub mod paper;
pub mod portfolio;
pub mod progress;
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
    /// Run as a daemon on a Redis bus (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT,…/MASTER/DB to follow a Sentinel failover) instead of stdin/stdout
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
    pub bus: Option<String>,
    /// On stdio, write only the events this stage causes, not the forwarded input
    #[arg(long)]
    pub emit_only: bool,
    /// Exit non-zero at the first malformed input line instead of skipping it
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Where a process's metrics go (docs/metrics.md).
#[derive(Debug, Clone, Args, Default)]
pub struct MetricsArgs {
    /// Serve GET /metrics, /livez and /readyz here: HOST:PORT, a port (on 127.0.0.1), or off
    /// (default for daemons: telemetry.addr; on stdio: none)
    #[arg(long, value_name = "ADDR", value_parser = crate::telemetry::MetricsAddr::parse)]
    pub metrics_addr: Option<crate::telemetry::MetricsAddr>,
    /// Rewrite the metrics to this file periodically and at exit, in the Prometheus text
    /// format of node_exporter's textfile collector
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// Which events of a tape to read: the filter of `njord-replay` and `njord-backtest`.
#[derive(Debug, Clone, Args, Default)]
pub struct FilterArgs {
    /// Only events at or after this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub from: Option<i64>,
    /// Only events before this time (2023-01-10 = UTC midnight, RFC 3339, or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub to: Option<i64>,
    /// Only events of these symbols (ATOM/USDT; repeat or separate with commas)
    #[arg(long, value_name = "SYMBOL", value_delimiter = ',')]
    pub symbol: Vec<String>,
    /// Only events of these kinds (trade,bar,…)
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_kind)]
    pub kind: Vec<Kind>,
}

impl FilterArgs {
    pub fn filter(&self) -> Filter {
        Filter {
            from: self.from,
            to: self.to,
            symbols: self.symbol.clone(),
            kinds: self.kind.clone(),
        }
    }
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{s}` (use {})", all.join(", "))
    })
}

/// A byte-counting progress bar on stderr (shown only when stderr is a terminal; callers
/// decide), in `template`'s style.
pub fn progress_bar(total: u64, template: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb
}

/// Every binary's clap command, named as installed. Used to generate man pages and completions.
pub fn commands() -> Vec<clap::Command> {
    vec![
        alert::Cli::command(),
        audit::Cli::command(),
        backtest::Cli::command(),
        bars::Cli::command(),
        broker::Cli::command(),
        bus::Cli::command(),
        ctl::Cli::command(),
        exec::Cli::command(),
        ingest::Cli::command(),
        journal::Cli::command(),
        kill::Cli::command(),
        paper::Cli::command(),
        portfolio::Cli::command(),
        replay::Cli::command(),
        risk::Cli::command(),
        strat::Cli::command(),
    ]
}
