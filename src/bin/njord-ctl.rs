//! `njord-ctl`: plans, starts, supervises and stops a whole trading session. See
//! `njord-ctl --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::ctl::run(njord::cli::ctl::Cli::parse()))
}
