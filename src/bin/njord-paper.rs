//! `njord-paper`: paper trading against the trade tape. See `njord-paper --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::paper::run(njord::cli::paper::Cli::parse()))
}
