//! `njord-bars`: trades in, OHLCV bars out.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::bars::{BarAggregator, BarsStage, Timeframe};
use crate::journal::Journals;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "njord-bars",
    version,
    about = "Aggregate trades into OHLCV bars per symbol and timeframe",
    after_help = "Buckets are aligned to the Unix epoch in UTC on each trade's ts_ns. A bar is emitted \
when the first trade of a later bucket arrives and at end of input; with --bus also once event \
time (the latest trade time seen) has passed the bucket's end plus the grace period. While no \
trade arrives, the time the stream has been quiet is added to that event time, so a quiet market \
still gets its bars; the wall clock never closes a bar of a stream whose trades come less than \
the grace apart. Trades older than an open or closed bucket are late: \
counted and reported, never merged. Bars are journaled to {journal.dir}/ohlcv.{tf}.{SYMBOL}.ndjson \
and published on md.ohlcv.{tf}.{symbol}.\n\nExamples:\n  \
    njord-replay var/log/njord/md.trades.ATOMUSDT | njord-bars --timeframes 1m,5m,1h --emit-only\n  \
    njord-bars --timeframes 1m,1h --fill-gaps < trades.ndjson > trades-and-bars.ndjson\n  \
    njord-bars --timeframes 1m --bus redis://127.0.0.1:6379/0 --grace-ms 2000"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Timeframes, comma-separated, from: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d
    #[arg(long, value_name = "LIST", default_value = "1m")]
    pub timeframes: String,
    /// Emit flat bars (previous close, zero volume, 0 trades) for empty buckets between bars
    #[arg(long)]
    pub fill_gaps: bool,
    /// With --bus: close a bar once event time is this many ms past its end (default: bars.grace_ms)
    #[arg(long, value_name = "MS")]
    pub grace_ms: Option<u64>,
    /// Do not journal the bars
    #[arg(long)]
    pub no_journal: bool,
}

/// Aggregates trades into bars on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let tfs = Timeframe::parse_list(&cli.timeframes)
        .map_err(|e| Error::Usage(format!("--timeframes: {e}")))?;
    let cfg = &loaded.config;
    let journals = (!cli.no_journal).then(|| Journals::from_config(&cfg.journal));
    let grace_ms = cli.grace_ms.unwrap_or(cfg.bars.grace_ms);
    let grace_ns = i64::try_from(grace_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let agg = BarAggregator::new(tfs, cli.fill_gaps).with_max_symbols(cfg.bars.max_symbols);
    let mut stage = BarsStage::new(agg, journals, grace_ns, cli.stage.bus.is_some());
    app::run_stage("njord-bars", &mut stage, &cli.stage, &loaded)
}
