//! `njord-alert`: rules over events, delivered to webhooks, chats and email through an
//! outbox that never loses an alert.

use super::{CommonArgs, StageArgs};
use crate::alert::{self, stage::AlertStage};
use crate::app::{self, Error};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "njord-alert",
    version,
    about = "Alert rules over events, delivered to webhooks, Slack, Discord, Telegram and email through an outbox on disk",
    after_help = "Reads every event (stdin, or every topic with --bus) and evaluates the rules of \
config/alerts.yaml: kill_switch (a decision found trading halted), {stale_stream: 2m} (a market-data \
stream behind the others in event time), {heartbeat: 1m} (no event at all: a dead-man's switch), \
{daily_loss: 0.8} (the day's realized loss at 80 % of risk.daily_loss_usd_cap), {slippage_bps: 50} (a fill \
that much worse than its decision's reference price), and field rules (kind, field, op, value, window, count, dedupe). \
It also polls the daemons the file lists under `daemons` (their /livez, /readyz and /metrics, every \
poll_every): {daemon_down: 30s}, {daemon_not_ready: 2m}, {reconnect_storm: {count: 5, window: 5m}} and \
{venue_errors: {count: 10, window: 5m}}, per daemon. Each rule has a severity, channels, `for`, \
`repeat` and a resolved notice.\n\n\
Every message is written to {journal_dir}/alert.outbox.ndjson (synced) before it is sent, retried \
with backoff until its channel answers 2xx, across restarts, and carries an Idempotency-Key header \
(and idempotencyKey in webhook bodies) so a receiver can drop a repeat. Webhook URLs and bot tokens \
can live in the secrets file (api_keys.alerts.NAME, named by url_secret or token_secret) and are \
never logged. Email goes over SMTP (tls: starttls, tls or none; username and password_secret when \
the server wants a login) with a Message-ID made from the idempotency key.\n\n\
Examples:\n  \
    njord-risk < intents.ndjson | njord-alert --alerts config/alerts.yaml > /dev/null\n  \
    njord-alert --bus redis://127.0.0.1:6379/0       # daemon on every topic"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Rules and channels
    #[arg(long, value_name = "FILE", default_value = alert::DEFAULT_PATH)]
    pub alerts: PathBuf,
}

/// Evaluates the rules over stdio or a bus and delivers their notices.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let cfg = &loaded.config;
    let alerts = alert::load(
        &cli.alerts,
        &cfg.api_keys.alerts,
        cfg.risk.daily_loss_usd_cap,
    )
    .map_err(Error::Usage)?;
    let outbox = cfg.journal.dir.join("alert.outbox.ndjson");
    let token = cfg.api_keys.metrics.token.clone();
    let mut stage = AlertStage::open(alerts, &outbox, token).map_err(Error::Failed)?;
    app::run_stage_ticking(
        "njord-alert",
        &mut stage,
        &cli.stage,
        &loaded,
        Some(Duration::from_secs(1)),
    )
}
