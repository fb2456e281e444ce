//! `njord-broker`: dry-run echo or live Binance.US execution. See `njord-broker --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::broker::run(njord::cli::broker::Cli::parse()))
}
