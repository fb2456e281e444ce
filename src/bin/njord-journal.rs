//! `njord-journal`: compress, verify, print and import journals. See `njord-journal --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::journal::run(njord::cli::journal::Cli::parse()))
}
