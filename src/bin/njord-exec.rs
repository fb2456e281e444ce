//! `njord-exec`: execution algorithms. See `njord-exec --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::exec::run(njord::cli::exec::Cli::parse()))
}
