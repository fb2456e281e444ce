//! `njord-risk`: pre-trade risk checks. See `njord-risk --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::risk::run(njord::cli::risk::Cli::parse()))
}
