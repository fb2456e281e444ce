//! `njord-portfolio`: the portfolio allocator. See `njord-portfolio --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::portfolio::run(
        njord::cli::portfolio::Cli::parse(),
    ))
}
