//! `njord-backtest`: the strategy, risk and paper cores over a tape, in one process.

use super::CommonArgs;
use crate::event::Kind;
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-backtest",
    version,
    about = "Backtest: the strategy, risk and paper cores over a tape in one process, with equity, metrics, report and sweeps",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Reads tapes through the replay library (trades or bars, plain or .gz, rotated \
series, several merged by event time) and runs the same cores as `njord-replay … | njord-strat | \
njord-risk | njord-paper`, with the same fills, line for line. Writes {out}/fills.ndjson, \
{out}/equity.ndjson and {out}/metrics.json and prints a summary table (or the metrics as JSON).\n\n\
Fill model: the paper core's rules; fees paper.maker_fee_bps / paper.taker_fee_bps; \
--slippage-bps moves taker fills against the order; the capital is the spot balance of the quote \
asset, and an order it cannot pay for (or a sell of more than is held, without --allow-short) is \
rejected and counted.\n\n\
Equity E = cash + Σ position × last price, sampled at the first event (the capital), at the end \
of every --equity-interval bucket of event time (aligned to the epoch) and at the last event. \
With rᵢ = Eᵢ/Eᵢ₋₁ − 1 and P = 365 d / interval: total return = E_end/capital − 1; CAGR = \
(E_end/capital)^(365 d / duration) − 1; annual volatility = stdev(r)·√P; Sharpe = (mean(r) − \
rf/P)/stdev(r)·√P; Sortino = (mean(r) − rf/P)/√mean(min(r − rf/P, 0)²)·√P; max drawdown = max \
(peak − E)/peak, the peak starting at the capital; its duration = longest time from the last \
sample at a peak until equity first gets back to it (or the end); Calmar = CAGR / max drawdown; \
round trips by FIFO matching of fills, PnL net of fees: win rate, profit factor = gross wins / \
|gross losses|, average and largest win and loss; exposure = share of samples with a position; \
turnover = Σ |fill notional| / capital.\n\n\
Examples:\n  \
    njord-backtest --tape var/log/njord/md.trades.ATOMUSDT --capital 10000 --report out/report.html\n  \
    njord-backtest --tape a.ndjson.gz --tape b.ndjson.gz --from 2026-01-01T00:00:00Z --equity-interval 1d --json\n  \
    njord-backtest sweep --tape tape.ndjson --param rsi_period=10,14,20 --param bb_std=1.5,2,2.5 --sort sharpe"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Write the metrics as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report (inline SVG charts, no network)
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run every combination of parameters in parallel and rank them by one metric
    #[command(
        after_help = "A parameter applies to every strategy whose class has it, or to one strategy \
when written ID.KEY=…. The first --param varies slowest. Results are the same whatever the number \
of threads (RAYON_NUM_THREADS).\n\nExample:\n  \
    njord-backtest sweep --tape tape.ndjson --param rsi_period=10,14,20 --param bb_std=1.5,2,2.5 --sort sharpe --out var/sweep"
    )]
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// A parameter and its values: KEY=V1,V2,… or STRATEGY_ID.KEY=V1,… (repeatable)
    #[arg(long = "param", value_name = "KEY=V1,V2", required = true, value_parser = crate::backtest::sweep::parse_axis)]
    pub params: Vec<crate::backtest::sweep::Axis>,
    /// Metric to rank by (sharpe, sortino, calmar, total_return, cagr, annual_volatility, max_drawdown, …)
    #[arg(long, value_name = "METRIC", default_value = "sharpe", value_parser = crate::backtest::sweep::parse_sort)]
    pub sort: String,
}

/// What every run takes.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Tape files, directories or journal stems (repeatable; merged by event time)
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub tape: Vec<PathBuf>,
    /// Strategies file
    #[arg(
        long,
        value_name = "FILE",
        env = "NJORD_STRATEGIES",
        default_value = "config/strategies.yaml"
    )]
    pub strategies: PathBuf,
    /// Only events at or after this time (RFC 3339 or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub from: Option<i64>,
    /// Only events before this time (RFC 3339 or ns since the epoch)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_time)]
    pub to: Option<i64>,
    /// Only events of these symbols (ATOM/USDT; repeat or separate with commas)
    #[arg(long, value_name = "SYMBOL", value_delimiter = ',')]
    pub symbol: Vec<String>,
    /// Only events of these kinds (e.g. trade,bar)
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_kind)]
    pub kind: Vec<Kind>,
    /// Starting capital: the spot balance of the quote asset
    #[arg(long, value_name = "AMOUNT", default_value = "10000", value_parser = parse_capital)]
    pub capital: Decimal,
    /// Quote asset of the capital (default: the quote of the first exchange.symbols entry)
    #[arg(long, value_name = "ASSET")]
    pub quote: Option<String>,
    /// Equity sampling interval (30s, 15m, 1h, 1d, 1w)
    #[arg(long, value_name = "INTERVAL", default_value = "1h", value_parser = crate::backtest::metrics::parse_interval)]
    pub equity_interval: i64,
    /// Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub risk_free: f64,
    /// Move taker fills this many basis points against the order (default: paper.slippage_bps)
    #[arg(long, value_name = "BPS", value_parser = parse_bps)]
    pub slippage_bps: Option<Decimal>,
    /// Allow selling more than is held (short selling)
    #[arg(long)]
    pub allow_short: bool,
    /// Cap each resting (maker) fill at the quantity of the trade that crosses it
    #[arg(long)]
    pub partial_fills: bool,
    /// Output directory of fills.ndjson, equity.ndjson, metrics.json (and sweep.csv)
    #[arg(long, value_name = "DIR", default_value = "var/backtest")]
    pub out: PathBuf,
    /// No progress bar, even when stderr is a terminal
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{s}` (use {})", all.join(", "))
    })
}

fn parse_capital(s: &str) -> Result<Decimal, String> {
    let d = crate::num::parse_decimal(s)?;
    if d > Decimal::ZERO && d < Decimal::from(1_000_000_000_000_000u64) {
        Ok(d)
    } else {
        Err(format!("capital `{s}` must be positive and below 10^18"))
    }
}

fn parse_bps(s: &str) -> Result<Decimal, String> {
    let d = crate::num::parse_decimal(s)?;
    if d >= Decimal::ZERO && d < Decimal::from(10_000) {
        Ok(d)
    } else {
        Err(format!("slippage `{s}` must be between 0 and 10000 bps"))
    }
}
