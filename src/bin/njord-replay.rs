//! `njord-replay`: journals back into a pipeline or onto Redis. See `njord-replay --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::replay::run(njord::cli::replay::Cli::parse()))
}
