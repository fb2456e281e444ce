//! `njord-alert`: alert rules over events, delivered through an outbox. See `njord-alert --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::alert::run(njord::cli::alert::Cli::parse()))
}
