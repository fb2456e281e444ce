//! `njord-strat`: run strategies over market data and emit intents.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::strategy::stage::StratStage;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-strat",
    version,
    about = "Run the configured strategies over trades and bars, emitting intents",
    after_help = "On stdio every input line is forwarded and the intents it causes follow it; with \
--bus the strategies' `events` topics are subscribed and intents are published on strat.intent. \
The strategies file is reloaded on SIGHUP and when it changes; an invalid file is reported and \
the running strategies are kept.\n\nExamples:\n  \
    njord-strat --list\n  \
    njord-replay md.trades.ATOMUSDT.ndjson.gz | njord-strat | njord-risk\n  \
    njord-strat --strategies my-strategies.yaml < tape.ndjson\n  \
    njord-strat --emit-only < tape.ndjson > intents.ndjson\n  \
    njord-strat --bus redis://127.0.0.1:6379/0 & kill -HUP $!   # reload the file\n\n\
Intent ids are `{fnv64(strategy id, symbol, class, params):016x}-{ts_ns base36:013}-{seq base36}` \
(32-36 characters of [0-9a-z-]): the same configuration on the same tape gives the same ids."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Strategies file (schema: id, class, enabled, symbols, events, params)
    #[arg(
        long,
        value_name = "FILE",
        env = "NJORD_STRATEGIES",
        default_value = "config/strategies.yaml"
    )]
    pub strategies: PathBuf,
    /// Print the built-in strategy classes with their parameters and defaults, and exit
    #[arg(long)]
    pub list: bool,
}

/// Lists the built-in classes, or runs the strategies file on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let registry = crate::strategy::registry();
    if cli.list {
        return app::print_out(&registry.describe());
    }
    let loaded = app::start(&cli.common)?;
    let topics = loaded.config.redis.topics.clone();
    let mut stage = StratStage::open(&cli.strategies, registry, topics, &loaded.config.strat)
        .map_err(Error::usage)?;
    app::run_stage("njord-strat", &mut stage, &cli.stage, &loaded)
}
