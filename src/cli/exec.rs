//! `njord-exec`: execution algorithms between risk and paper or the broker.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::exec::stage::ExecStage;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-exec",
    version,
    about = "Execution algorithms: works parent orders (`exec` in the intent) through child orders over time",
    after_help = "Reads orders, trades, bars, fills and cancels; writes every input line except the parent \
orders (those that carry `exec`), then the child orders, cancels and `exec_status` events they cause. \
Put it between njord-risk and njord-paper or njord-broker; orders without `exec` pass through untouched.\n\n\
Algorithms (the intent's `exec` object; durations such as \"30s\", \"10m\", \"2h\"):\n  \
twap  duration (required), slices (10), jitter (0: 0 to 0.5 of a slice, times and sizes), seed (0)\n  \
vwap  duration (required), slices (10), timeframe (\"1m\": the bars whose volume by time of day \
weights the slices; equal weights before any bar), max_participation (1: a child is at most this \
share of the volume traded since the previous one; what it holds back is carried, and not sent \
at the end)\n  \
pov   rate (required: share of the volume traded since arrival), min_rate (= rate: send when below \
it), max_rate (= rate: never above)\n\n\
Children are multiples of exec.lot_steps (default exec.default_lot_step) summing exactly to the \
parent, each at least exec.min_notionals (a smaller one merges into its neighbour); a parent whose \
qty is not a multiple of the lot step is rejected (reason lot_step). A child has the parent's type \
(market, or limit at its limit price) and the id {parent id}-{n}. Risk checks the parent once for \
its full notional; the broker checks each child (live cap, kill switch). A cancel of the parent id \
cancels its open children; the kill switch (risk.kill_switch_file, and the Redis key on a bus) \
halts every parent and cancels its open children. Journal: {journal_dir}/exec.orders.ndjson; \
--resume works the parents still open again.\n\n\
Examples:\n  \
    njord-replay tape.ndjson | njord-strat | njord-risk | njord-exec | njord-paper --summary\n  \
    njord-exec --bus redis://127.0.0.1:6379/0 --resume   # daemon on Redis\n\n\
As a daemon it reads orders.parent (where njord-risk publishes parents), orders.cancel, fills.new, \
md.trades.* and md.ohlcv.*, and publishes children on orders.accepted and progress on exec.status."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Kill file (default: risk.kill_switch_file from the config)
    #[arg(long, value_name = "PATH")]
    pub kill_file: Option<PathBuf>,
    /// Work the parents still open in the journal again before reading input
    #[arg(long)]
    pub resume: bool,
}

/// Works parent orders on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let mut stage = ExecStage::new(&loaded, cli.kill_file, cli.stage.bus.clone());
    if cli.resume {
        let n = stage
            .resume()
            .map_err(|e| Error::Failed(format!("--resume: {e}")))?;
        tracing::info!("resumed: {n} parents worked again");
    }
    app::run_stage("njord-exec", &mut stage, &cli.stage, &loaded)
}
