//! `njord-bus`: publish stdin to Redis, print Redis to stdout, validate event streams. See
//! `njord-bus --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::bus::run(njord::cli::bus::Cli::parse()))
}
