//! `njord-bars`: trades in, OHLCV bars out. See `njord-bars --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::bars::run(njord::cli::bars::Cli::parse()))
}
