//! `njord-stress`: stress scenarios. See `njord-stress --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord_sim::stress::run(njord_sim::stress::Cli::parse()))
}
