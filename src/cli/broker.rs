//! `njord-broker`: send accepted orders to Binance.US, or echo them (dry-run, the default).

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::broker::service::{BrokerStage, Options};
use crate::stage::{self, StdioOpts};
use clap::Parser;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "njord-broker",
    version,
    about = "Send accepted orders to Binance.US, or echo them in dry-run (the default)",
    after_help = "Dry-run unless app.env is `live` AND NJORD_ENABLE_LIVE=1: every order is echoed as an \
`echo` event and journaled to {journal_dir}/broker.orders.ndjson; no order endpoint is called.\n\n\
Live, immediately before each order: the kill switch (file, then Redis; unreadable counts as \
tripped) → `decision` denial `halted`; notional above min(10 USD, broker.live_max_notional_usd) → \
denial `live_micro_cap`; else the order is placed once per intent → `ack`, then `order_update`, \
`fill` and `balance` events from the user stream and REST polls.\n\n\
Live, each venue fill is booked into its (strategy, symbol) position: a `position` event \
({journal_dir}/broker.positions.ndjson) and the day's realized PnL net of fees in \
njord:pnl:day on Redis (--bus, else redis.url), which risk's daily_loss_usd_cap and trip_on_daily_loss read. Positions are \
rebuilt from broker.fills at start. Do not run njord-paper on the same bus as a live broker: \
both would publish positions.\n\n\
Protective orders: STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT, LIMIT_MAKER (post_only) and OCO lists (a \
limit and a stop_limit of one oco group, back to back) are placed natively where the symbol's \
orderTypes allow; stop_market, trailing stops and unlisted types are armed by the broker \
({journal_dir}/broker.armed.ndjson, kept across restarts) and sent when a trade on the input \
reaches them.\n\n\
Examples:\n  \
    njord-risk | njord-broker                          # dry-run echo\n  \
    njord-broker --validate < orders.ndjson            # dry-run, venue validates via order/test\n  \
    NJORD_ENABLE_LIVE=1 NJORD__APP__ENV=live njord-broker --bus redis://127.0.0.1:6379/0\n\n\
Keys: config/secrets.yaml (chmod 600, required live) or NJORD_BINANCEUS_API_KEY / \
NJORD_BINANCEUS_API_SECRET; never on the command line."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// In dry-run, send each order to POST /api/v3/order/test so the venue validates it
    #[arg(long)]
    pub validate: bool,
}

/// How often venue news is written out.
const TICK: Duration = Duration::from_millis(100);

/// Echoes orders (dry-run) or sends them to the venue, on stdio or a bus.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let cfg = &loaded.config;
    let opts = Options {
        enable_live: std::env::var("NJORD_ENABLE_LIVE").ok(),
        validate: cli.validate,
        redis_url: cli.stage.bus.clone().or_else(|| cfg.redis.url.clone()),
    };
    app::audit_start("njord-broker", &loaded)?;
    let mut broker = BrokerStage::new(&loaded, &opts)?;
    if broker.is_live()
        && let Some(url) = &opts.redis_url
    {
        broker.publish_pnl_to(app::connect(url, &loaded)?);
    }
    // The broker serves its endpoints on stdio too: it is a daemon either way.
    let mut tele = app::Telemetry::start("njord-broker", &cli.stage.metrics, &loaded, true)?;
    let outcome = match &cli.stage.bus {
        Some(url) => {
            let mut bus = app::connect(url, &loaded)?;
            stage::run_bus(
                &mut broker,
                &mut bus,
                &cfg.redis.topics,
                TICK,
                tele.observer(),
            )
        }
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
                tele.observer(),
            )
        }
    };
    let ended = app::finish("njord-broker", outcome);
    app::audit_stop(&ended)?;
    tele.finish()?;
    ended
}
