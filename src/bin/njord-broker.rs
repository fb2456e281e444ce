//! `njord-broker`: dry-run echo or live Binance.US execution. See `njord-broker --help`.

use clap::Parser;
use njord::app::{self, EXIT_USAGE};
use njord::broker::service::{BrokerStage, Options, StartError};
use njord::bus::{Reconnect, RedisBus};
use njord::cli::broker::Cli;
use njord::stage::{self, StdioOpts};
use std::process::ExitCode;
use std::time::Duration;

/// How often venue news is written out.
const TICK: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let cfg = &loaded.config;
    let opts = Options {
        enable_live: std::env::var("NJORD_ENABLE_LIVE").ok(),
        validate: cli.validate,
        redis_url: cli.stage.bus.clone().or_else(|| cfg.redis.url.clone()),
    };
    let mut broker = match BrokerStage::new(&loaded, &opts) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return match e {
                StartError::Config(_) => ExitCode::from(EXIT_USAGE),
                StartError::Venue(_) => ExitCode::FAILURE,
            };
        }
    };
    let outcome = match &cli.stage.bus {
        Some(url) => match RedisBus::connect(url, Reconnect::from_config(&cfg.redis)) {
            Ok(mut bus) => stage::run_bus(&mut broker, &mut bus, &cfg.redis.topics, TICK),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => {
            let opts = StdioOpts {
                emit_only: cli.stage.emit_only,
                strict: cli.stage.strict,
                tick: broker.is_live().then_some(TICK),
            };
            stage::run_stdio(
                &mut broker,
                std::io::stdin(),
                std::io::stdout().lock(),
                opts,
            )
        }
    };
    app::finish("njord-broker", outcome)
}
