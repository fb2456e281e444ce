//! `njord-exec`: execution algorithms between risk and paper or the broker.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::exec::stage::ExecStage;
use crate::exec::tca::Tca;
use crate::replay::{Filter, Replay};
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
it), max_rate (= rate: never above)\n  \
iceberg  visible (required: the quantity shown), variance (0: up to 0.5 of it, seeded per slice), \
seed (0), native (false: true sends one child carrying iceberg_qty, the venue's icebergQty, which \
the venue refreshes); a limit parent, one child at a time: the next goes out when the one before has filled, so \
it needs the fills (on a bus, fills.new; on a stdio pipe only the first slice goes out)\n  \
peg   offset (0: how far behind the touch), min_move (0: any move re-prices), max_reprices (100); a \
limit parent worked as one child resting at the best bid (buy) or ask (sell) of `book` and `ticker` \
events, never past the parent's limit; when that price moves by min_move, the child is cancelled \
and replaced once its order_update confirms the cancel, so it needs the order updates (a bus, or \
the backtester). Nothing goes out before the first quote; --resume leaves a peg's child where it \
rests\n\n\
Children are multiples of exec.lot_steps (default exec.default_lot_step) summing exactly to the \
parent, each at least exec.min_notionals (a smaller one merges into its neighbour); a parent whose \
qty is not a multiple of the lot step is rejected (reason lot_step). A child has the parent's type \
(market, or limit at its limit price) and the id {parent id}-{n}. Risk checks the parent once for \
its full notional; children are paced at risk.orders_per_min_cap per symbol (a child that finds no \
token waits for one) and the broker checks each child (live cap, kill switch). A cancel of the parent id \
cancels its open children; the kill switch (risk.kill_switch_file, and the Redis key on a bus) \
halts every parent and cancels its open children. Journal: {journal_dir}/exec.orders.ndjson; \
--resume works the parents still open again.\n\n\
Examples:\n  \
    njord-replay tape.ndjson | njord-strat | njord-risk | njord-exec | njord-paper --summary\n  \
    njord-exec report paper.ndjson var/log/njord/exec.orders.ndjson   # execution costs\n  \
    njord-exec --bus redis://127.0.0.1:6379/0 --resume   # daemon on Redis\n\n\
As a daemon it reads orders.parent (where njord-risk publishes parents), orders.cancel, fills.new, \
order updates, md.trades.*, md.ohlcv.*, md.ticker.* and md.book.*, and publishes children on orders.accepted and progress on exec.status."
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
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Transaction-cost analysis of the parents in FILEs (merged by event time): implementation
    /// shortfall split into delay, impact, fees and opportunity cost, in bps of each parent's
    /// decision notional, by algorithm, strategy and symbol
    #[command(
        after_help = "FILEs must hold the market prices (trades or bars), the parents (njord-exec's \
journal exec.orders.ndjson keeps them), their children's fills and the exec_status events: for a \
pipeline, its output and the exec journal; files are merged by event time, ties in the order given, \
so give the one with the trades first. Decision price: the symbol's last price at the parent's \
time; arrival: the same where the executor runs in event time (delay 0); a cost is positive when \
it hurts (a buy above, a sell below); opportunity = unfilled × (end price − decision price).\n\n\
Example:\n  njord-exec report paper.ndjson var/log/njord/exec.orders.ndjson --json"
    )]
    Report {
        /// Files, directories or journal stems
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Every parent and the totals as JSON instead of the table
        #[arg(long)]
        json: bool,
    },
}

/// Works parent orders on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    if let Some(Command::Report { files, json }) = &cli.command {
        return report(files, *json);
    }
    let mut stage = ExecStage::new(&loaded, cli.kill_file, cli.stage.bus.clone());
    if cli.resume {
        let n = stage
            .resume()
            .map_err(|e| Error::Failed(format!("--resume: {e}")))?;
        tracing::info!("resumed: {n} parents worked again");
    }
    app::run_stage("njord-exec", &mut stage, &cli.stage, &loaded)
}

/// `njord-exec report`.
fn report(files: &[PathBuf], json: bool) -> Result<(), Error> {
    let mut replay = Replay::open(files, Filter::default()).map_err(Error::usage)?;
    let mut tca = Tca::default();
    let mut bad = 0u64;
    replay.for_each(
        |item| tca.on_event(&item.event),
        |e| {
            bad += 1;
            tracing::warn!("{e}; skipped");
        },
    );
    if bad > 0 {
        tracing::warn!("{bad} bad lines skipped");
    }
    if tca.is_empty() {
        return Err(Error::Failed(
            "no parent orders (orders with exec) in these files: give njord-exec's journal \
             exec.orders.ndjson too"
                .into(),
        ));
    }
    let r = tca.report();
    let text = if json {
        serde_json::to_string_pretty(&r).unwrap_or_default() + "\n"
    } else {
        r.table()
    };
    app::print_out(&text)
}
