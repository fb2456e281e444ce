//! `njord-audit`: verify, anchor, replay, trace and report on the audit trail. See
//! `njord-audit --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    njord::app::exit(njord::cli::audit::run(njord::cli::audit::Cli::parse()))
}
