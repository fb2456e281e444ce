//! `njord-ingest`: live market data as NDJSON events. See `njord-ingest --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::ingest::run(njord::cli::ingest::Cli::parse()))
}
