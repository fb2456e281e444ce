//! `njord-kill`: trip, clear or inspect the kill switch. See `njord-kill --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::kill::run(njord::cli::kill::Cli::parse()))
}
