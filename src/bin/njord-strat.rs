//! `njord-strat`: strategies over market data, intents out. See `njord-strat --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::strat::run(njord::cli::strat::Cli::parse()))
}
