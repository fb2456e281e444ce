//! `njord-risk`: the pre-trade risk engine.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::audit;
use crate::risk::stage::{RiskStage, SharedState};
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-risk",
    version,
    about = "Pre-trade risk checks: one decision per intent, an order for each allowed one",
    after_help = "Reads intents, trades (last price per symbol) and positions; writes every input line, \
then for each intent a `decision` and, when allowed, an `order`. Checks, in order: invalid_intent, \
duplicate_intent, halted, no_ref_price, per_order_usd_cap, daily_loss_usd_cap, orders_per_min_cap. \
Decisions are journaled to {journal_dir}/risk.decisions.ndjson; SIGHUP reloads the caps from the config.\n\n\
Daily loss: with Redis (--bus or --redis) the day's PnL is the key njord:pnl:day that njord-paper keeps \
(njord-broker live); \
on stdio it is the sum of the latest realized_pnl_day of each (strategy, symbol) `position` seen today in \
the input. A plain `njord-risk | njord-paper` pipe feeds no positions back, so there the daily loss rule \
never trips.\n\n\
Examples:\n  \
    njord-risk < examples/demo_intents.ndjson | njord-paper --summary\n  \
    njord-replay var/log/njord/md.trades.ATOMUSDT.ndjson.gz | njord-strat | njord-risk --emit-only\n  \
    njord-risk --bus redis://127.0.0.1:6379/0   # daemon on Redis\n  \
    kill -HUP $(pidof njord-risk)                # reload the risk.* caps\n\n\
As a daemon it reads strat.intent, md.trades.* and positions.snapshot and publishes on \
risk.decisions and orders.accepted."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Read the kill key, njord:pnl:day and shared intent ids from this Redis on stdio too
    /// (default: the --bus URL)
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
    pub redis: Option<String>,
    /// Kill file (default: risk.kill_switch_file from the config)
    #[arg(long, value_name = "PATH")]
    pub kill_file: Option<PathBuf>,
    /// Remember the intent ids allowed in the decisions journal, to keep denying duplicates
    /// after a restart
    #[arg(long)]
    pub resume: bool,
}

/// Runs the pre-trade checks on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let shared = match cli.redis.as_ref().or(cli.stage.bus.as_ref()) {
        Some(url) => Some(SharedState {
            redis: app::connect(url, &loaded)?,
            halt_key: loaded.config.risk.kill_switch_key.clone(),
            seen_ttl_s: loaded.config.risk.dedup_ttl_s,
            halt_key_seen: false,
        }),
        None => None,
    };
    let mut stage = RiskStage::new(&loaded, cli.common.config.clone(), cli.kill_file, shared);
    app::audit_start("njord-risk", &loaded)?;
    if cli.resume {
        let n = stage
            .resume()
            .map_err(|e| Error::Failed(format!("--resume: {e}")))?;
        tracing::info!("resumed: {n} allowed intent ids remembered");
        let remembered = audit::fields(serde_json::json!({"remembered": n}));
        audit::record(crate::stage::wall_clock_ns(), "resume", remembered)
            .map_err(|e| Error::Failed(format!("audit trail: {e}")))?;
    }
    app::run_stage("njord-risk", &mut stage, &cli.stage, &loaded)
}
