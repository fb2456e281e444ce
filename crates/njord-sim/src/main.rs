//! `njord-sim`: a Binance.US-compatible venue on loopback. See `njord-sim --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord_sim::cli::run(njord_sim::cli::Cli::parse()))
}
