//! `njord-risk`: pre-trade risk checks. See `njord-risk --help`.

use clap::Parser;
use njord::bus::{Reconnect, RedisBus};
use njord::cli::risk::Cli;
use njord::risk::stage::{RiskStage, SharedState};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let shared = match cli.redis.as_ref().or(cli.stage.bus.as_ref()) {
        Some(url) => match RedisBus::connect(url, Reconnect::from_config(&loaded.config.redis)) {
            Ok(redis) => Some(SharedState {
                redis,
                halt_key: loaded.config.risk.kill_switch_key.clone(),
                seen_ttl_s: loaded.config.risk.dedup_ttl_s,
            }),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let mut stage = RiskStage::new(&loaded, cli.common.config.clone(), cli.kill_file, shared);
    if cli.resume {
        match stage.resume() {
            Ok(n) => tracing::info!("resumed: {n} allowed intent ids remembered"),
            Err(e) => {
                eprintln!("error: --resume: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    njord::app::run_stage("njord-risk", &mut stage, &cli.stage, &loaded)
}
