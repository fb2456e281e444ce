//! `njord-paper`: paper trading against the trade tape. See `njord-paper --help`.

use clap::Parser;
use njord::bus::{Reconnect, RedisBus};
use njord::cli::paper::Cli;
use njord::paper::stage::PaperStage;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let redis = match cli.redis.as_ref().or(cli.stage.bus.as_ref()) {
        Some(url) => match RedisBus::connect(url, Reconnect::from_config(&loaded.config.redis)) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let mut stage = PaperStage::new(&loaded, cli.partial_fills, cli.summary, redis);
    if cli.resume {
        match stage.resume() {
            Ok((fills, open)) => {
                tracing::info!("resumed: {fills} fills replayed, {open} orders open again")
            }
            Err(e) => {
                eprintln!("error: --resume: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    njord::app::run_stage("njord-paper", &mut stage, &cli.stage, &loaded)
}
