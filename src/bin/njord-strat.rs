//! `njord-strat`: strategies over market data, intents out. See `njord-strat --help`.

use clap::Parser;
use njord::app;
use njord::cli::strat::Cli;
use njord::strategy::Registry;
use njord::strategy::stage::StratStage;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = Registry::builtin();
    if cli.list {
        print!("{}", registry.describe());
        return ExitCode::SUCCESS;
    }
    let loaded = match app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let topics = loaded.config.redis.topics.clone();
    let mut stage = match StratStage::open(&cli.strategies, registry, topics) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(app::EXIT_USAGE);
        }
    };
    app::run_stage("njord-strat", &mut stage, &cli.stage, &loaded)
}
