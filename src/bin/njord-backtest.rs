//! `njord-backtest`: the strategy, risk and paper cores over a tape. See `njord-backtest --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::backtest::run(njord::cli::backtest::Cli::parse()))
}
