//! `njord-strat`: run strategies over market data and emit intents.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::bars::Timeframe;
use crate::research::features::{self, FeaturesError};
use crate::strategy::stage::StratStage;
use clap::{Args, Parser, Subcommand};
use njord_core::features::set::Label;
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
    njord-strat --bus redis://127.0.0.1:6379/0 & kill -HUP $!   # reload the file\n  \
    njord-strat features --tape ohlcv.1m.ATOMUSDT --symbol ATOM/USDT --features examples/features.yaml --horizon 5 --out rows.parquet\n\n\
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
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write feature rows with forward labels to Parquet, for training: one row per bar once
    /// every feature is ready, labelled with what happens over the next --horizon bars (the
    /// last rows, which have no label yet, are dropped); refused when a label column equals a
    /// feature column
    Features(FeaturesArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Bars are the tapes' `bar` events of --timeframe; a tape without any is \
aggregated from its trades (as njord-bars does; gaps stay gaps). Columns: ts_ns (the bar's close \
time, timestamp[ns, UTC]), symbol, one Float64 per feature in the file's order, then the labels: \
fwd_ret_H = close[t+H]/close[t] - 1, fwd_logret_H = ln(close[t+H]/close[t]), fwd_dir_H = its sign \
(-1, 0, 1). The same input gives the same bytes. The features file is a YAML list under \
`features` of {name, feature, window} (docs/features.md).\n\nExamples:\n  \
    njord-strat features --tape ohlcv.1m.ATOMUSDT --symbol ATOM/USDT --features examples/features.yaml --horizon 5 --out rows.parquet\n  \
    njord-strat features --tape md.trades.ATOMUSDT --symbol ATOM/USDT --timeframe 5m --features examples/features.yaml --horizon 12 --label forward_return,forward_direction --out rows.parquet"
)]
pub struct FeaturesArgs {
    /// Tapes: journal files (gzip too), directories, stems, or Parquet and Arrow exports
    #[arg(long = "tape", value_name = "FILE", required = true, num_args = 1..)]
    pub tapes: Vec<PathBuf>,
    /// The symbol, as events write it (ATOM/USDT)
    #[arg(long, value_name = "SYMBOL")]
    pub symbol: String,
    /// The bars' timeframe (1m, 5m, 1h, 1d, …)
    #[arg(long, value_name = "TF", default_value = "1m", value_parser = Timeframe::parse)]
    pub timeframe: Timeframe,
    /// Features file: `features:` a list of {name, feature, window}
    #[arg(long, value_name = "FILE")]
    pub features: PathBuf,
    /// Bars between a row and the close its labels look at
    #[arg(long, value_name = "BARS", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub horizon: u32,
    /// Labels, comma-separated: forward_return, forward_log_return, forward_direction
    #[arg(long, value_name = "LABEL", value_delimiter = ',', default_value = "forward_return", value_parser = Label::parse)]
    pub label: Vec<Label>,
    /// The Parquet file to write (replaced whole: written beside, then renamed)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Writes training rows (`features`), lists the built-in classes, or runs the strategies file
/// on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    if let Some(Cmd::Features(args)) = cli.cmd {
        app::start(&cli.common)?;
        return write_features(args);
    }
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

/// `njord-strat features`: the rows, then a one-line summary on stderr.
fn write_features(args: FeaturesArgs) -> Result<(), Error> {
    let mut labels: Vec<Label> = Vec::new();
    for l in args.label {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    let opts = features::Options {
        symbol: args.symbol,
        timeframe: args.timeframe,
        features: args.features,
        horizon: args.horizon as usize,
        labels,
        out: args.out,
    };
    let summary = features::features(&args.tapes, &opts, &mut |bad| eprintln!("{bad}")).map_err(
        |e| match e {
            FeaturesError::Usage(m) => Error::Usage(m),
            FeaturesError::Data(m) => Error::Failed(m),
        },
    )?;
    eprintln!("njord-strat features: {}: {summary}", opts.out.display());
    Ok(())
}
