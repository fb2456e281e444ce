//! `njord-paper`: the paper trader.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::paper::stage::PaperStage;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "njord-paper",
    version,
    about = "Paper trading: fills accepted orders against the trade tape, keeps FIFO positions",
    after_help = "Reads orders, cancels and trades; writes every input line, then a `fill` and the \
`position` it leaves for each execution. Market orders fill at the last trade price (or the next trade) \
as taker; limit orders fill at once at the last price when marketable (taker), else rest and fill at \
their limit as maker when a later trade crosses them. Fees: paper.maker_fee_bps / paper.taker_fee_bps, \
in the quote asset. Only event time is used. Journals: fills.SYM, positions.SYM and paper.orders under \
journal.dir; with Redis, njord:pnl:day holds today's realized PnL net of fees.\n\n\
Examples:\n  \
    njord-risk < examples/demo_intents.ndjson | njord-paper --summary --emit-only\n  \
    njord-paper --bus redis://127.0.0.1:6379/0 --resume   # daemon on Redis\n\n\
As a daemon it reads orders.accepted, orders.cancel and md.trades.* and publishes on fills.new \
and positions.snapshot."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Cap each resting (maker) fill at the quantity of the trade that crosses it
    #[arg(long)]
    pub partial_fills: bool,
    /// Print positions, realized PnL, fees, fills and orders resting on stderr at exit
    #[arg(long)]
    pub summary: bool,
    /// Rebuild positions and open orders from the journals before reading input
    #[arg(long)]
    pub resume: bool,
    /// Keep njord:pnl:day on this Redis on stdio too (default: the --bus URL)
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
    pub redis: Option<String>,
}

/// Paper-trades accepted orders against the tape on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let redis = match cli.redis.as_ref().or(cli.stage.bus.as_ref()) {
        Some(url) => Some(app::connect(url, &loaded)?),
        None => None,
    };
    let mut stage = PaperStage::new(&loaded, cli.partial_fills, cli.summary, redis);
    if cli.resume {
        let (fills, open) = stage
            .resume()
            .map_err(|e| Error::Failed(format!("--resume: {e}")))?;
        tracing::info!("resumed: {fills} fills replayed, {open} orders open again");
    }
    app::run_stage("njord-paper", &mut stage, &cli.stage, &loaded)
}
