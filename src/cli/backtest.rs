//! `njord-backtest`: the strategy, risk and paper cores over a tape, in one process.

use super::progress::{Progress, ProgressMode};
use super::{CommonArgs, FilterArgs};
use crate::app::{self, Error};
use crate::backtest::engine::{Settings, paper_config};
use crate::backtest::report::{self, Chart, ReportInput};
use crate::backtest::run::{self, FileSink, Tape};
use crate::backtest::sweep;
use crate::config::Loaded;
use crate::strategy::manager;
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    njord-backtest sweep --tape tape.ndjson --param rsi_period=10,14,20 --param bb_std=1.5,2,2.5 --sort sharpe\n  \
    njord-backtest --tape tape.ndjson --portfolio config/portfolio.yaml\n\n\
With --portfolio the capital and quote asset are the portfolio's (--capital and --quote are \
refused), the strategies share them through njord-portfolio's core (see njord-portfolio --help), \
sells go before buys within one time, and each strategy's PnL (its equity less the capital moved \
in) sums exactly to the portfolio's."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Write the metrics as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Write no summary table on stdout (--json still prints the metrics): the results are in
    /// --out (scripts, the Python module)
    #[arg(long, global = true)]
    pub no_summary: bool,
    /// Also write a self-contained HTML report (inline SVG charts, no network)
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Run the strategies as one portfolio (config/portfolio.yaml): they share its capital,
    /// each intent is sized by the allocator before risk, and the summary, metrics.json and
    /// report attribute the PnL to each strategy
    #[arg(long, value_name = "FILE")]
    pub portfolio: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run every combination of parameters in parallel and rank them by one metric
    #[command(
        after_help = "A parameter applies to every strategy whose class has it, or to one strategy \
when written ID.KEY=…. The first --param (or the first in --grid's file) varies slowest. Results are \
the same whatever the number of threads (RAYON_NUM_THREADS), shards or queued workers: each trial is \
stored in {out}/trials, and the outputs are written from there.\n\nExamples:\n  \
    njord-backtest sweep --tape tape.ndjson --param rsi_period=10,14,20 --param bb_std=1.5,2,2.5 --sort sharpe --out var/sweep\n  \
    njord-backtest sweep --tape tape.ndjson --grid grid.yaml --samples 50 --seed 7 --queue redis://127.0.0.1:6379 --out /shared/sweep"
    )]
    Sweep(SweepArgs),
    /// Run the strategies over many resampled versions of the tape and report percentiles
    #[command(
        after_help = "Run i rebuilds the tape's prices from its own log returns, drawn by --method with a generator seeded from (--seed, i): the output is the same whatever the number of threads (RAYON_NUM_THREADS). The tape must hold one symbol's trades or bars.\n\nExample:\n  \
    njord-backtest mc --tape tape.ndjson --runs 500 --method block-bootstrap --block 200 --seed 7 --out var/mc"
    )]
    Mc(McArgs),
    /// Walk-forward: optimise the parameters on each training window, run the best on the
    /// test window that follows, and stitch the out-of-sample results
    #[command(
        after_help = "Windows start at the tape's first event; fold k trains on [start + k·step, + train) \
(--anchored: on [start, start + train + k·step)) and tests on the --test that follows. Indicators start \
cold at each window's start. A trial with fewer than --min-trades round trips in training is not \
chosen; a fold where none qualifies is refused.\n\nExample:\n  \
    njord-backtest wfo --tape tape.ndjson --train 30d --test 7d --step 7d --param ema.fast=5,8,13 --objective sharpe --out var/wfo"
    )]
    Wfo(WfoArgs),
}

#[derive(Debug, Args)]
pub struct WfoArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Length of a training window (30s, 15m, 1h, 1d, 1w)
    #[arg(long, value_name = "DURATION", value_parser = crate::backtest::metrics::parse_interval)]
    pub train: i64,
    /// Length of a test window
    #[arg(long, value_name = "DURATION", value_parser = crate::backtest::metrics::parse_interval)]
    pub test: i64,
    /// How far each fold moves on (default: --test)
    #[arg(long, value_name = "DURATION", value_parser = crate::backtest::metrics::parse_interval)]
    pub step: Option<i64>,
    /// Every training window starts at the tape's start and grows
    #[arg(long)]
    pub anchored: bool,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Metric the training windows are ranked by (as sweep --sort)
    #[arg(long, value_name = "METRIC", default_value = "sharpe", value_parser = crate::backtest::sweep::parse_sort)]
    pub objective: String,
    /// Fewest round trips a trial must make in a training window to be chosen
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_trades: u64,
}

#[derive(Debug, Args)]
pub struct McArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Number of resampled runs
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// How a run's returns are drawn from the tape's: shuffle, block-bootstrap or synthetic
    /// (a gbm with the returns' mean and standard deviation)
    #[arg(long, value_enum, default_value = "block-bootstrap")]
    pub method: McMethod,
    /// block-bootstrap: returns per block
    #[arg(long, default_value_t = 100)]
    pub block: usize,
    /// Seed of the runs; run i is seeded from (seed, i)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Ruin: equity strictly below this share of the capital at any equity sample
    #[arg(long, default_value_t = 0.5, value_name = "SHARE")]
    pub ruin: f64,
}

/// `njord-backtest mc --method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum McMethod {
    Shuffle,
    BlockBootstrap,
    Synthetic,
}

/// The parameters of a sweep or a walk-forward.
#[derive(Debug, Args)]
pub struct ParamArgs {
    /// A parameter and its values: KEY=V1,V2,… or STRATEGY_ID.KEY=V1,… (repeatable)
    #[arg(long = "param", value_name = "KEY=V1,V2", required_unless_present = "grid", value_parser = crate::backtest::sweep::parse_axis)]
    pub params: Vec<crate::backtest::sweep::Axis>,
    /// The parameters from a YAML file instead of --param: `params:` maps each name to a list
    /// of values or to {from, to, step}; the first varies slowest
    #[arg(long, value_name = "FILE", conflicts_with = "params")]
    pub grid: Option<PathBuf>,
}

impl ParamArgs {
    /// The parameters: from `--grid`'s file, else `--param`.
    fn axes(&self) -> Result<Vec<sweep::Axis>, Error> {
        match &self.grid {
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Usage(format!("cannot read {shown}: {e}")))?;
                crate::backtest::search::parse_grid(&text, &shown).map_err(Error::Usage)
            }
            None => Ok(self.params.clone()),
        }
    }
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Run N combinations of the grid drawn at random (seeded by --seed) instead of all; the
    /// first N of a seed are the same whatever N
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub samples: Option<u64>,
    /// Seed of --samples
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Take trials from a Redis Streams consumer group shared by every worker of this sweep
    /// (redis://HOST:PORT[/DB]); a dead worker's trials are taken over by the others. --out must
    /// be shared by the workers
    #[arg(long, value_name = "URL", conflicts_with_all = ["shard", "merge"])]
    pub queue: Option<String>,
    /// How long a queued trial may go without its worker's heartbeat before another worker
    /// takes it over
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_idle)]
    pub queue_idle: std::time::Duration,
    /// Metric to rank by (sharpe, sortino, calmar, total_return, cagr, annual_volatility, max_drawdown, …)
    #[arg(long, value_name = "METRIC", default_value = "sharpe", value_parser = crate::backtest::sweep::parse_sort)]
    pub sort: String,
    /// Blocks of the probability of backtest overfitting (CSCV): even, 2 to 24
    #[arg(long, value_name = "S", default_value_t = 16, value_parser = parse_blocks)]
    pub blocks: usize,
    /// Run only the trials k (from 0, in grid order) with k mod N = I, storing each in
    /// {out}/trials; the outputs are written once every trial is there (--merge)
    #[arg(long, value_name = "I/N", default_value = "0/1", value_parser = parse_shard)]
    pub shard: run::Shard,
    /// Run no trial: rank the trials the shards stored in {out}/trials and write the outputs
    #[arg(long, conflicts_with = "shard")]
    pub merge: bool,
}

fn parse_idle(s: &str) -> Result<std::time::Duration, String> {
    let ns = crate::backtest::metrics::parse_interval(s)?;
    if ns < 1_000_000_000 {
        return Err(format!("`{s}` is below 1s"));
    }
    Ok(std::time::Duration::from_nanos(ns as u64))
}

fn parse_shard(s: &str) -> Result<run::Shard, String> {
    let bad = || format!("`{s}` is not I/N with 0 ≤ I < N (e.g. 0/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(run::Shard { index, count })
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
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Starting capital: the spot balance of the quote asset
    #[arg(long, value_name = "AMOUNT", default_value = "10000", value_parser = parse_capital, allow_negative_numbers = true)]
    pub capital: Decimal,
    /// Quote asset of the capital (default: the quote of the first exchange.symbols entry)
    #[arg(long, value_name = "ASSET")]
    pub quote: Option<String>,
    /// Equity sampling interval (30s, 15m, 1h, 1d, 1w)
    #[arg(long, value_name = "INTERVAL", default_value = "1h", value_parser = crate::backtest::metrics::parse_interval)]
    pub equity_interval: i64,
    /// Annual risk-free rate for Sharpe and Sortino (0.04 = 4 %)
    #[arg(
        long,
        value_name = "RATE",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub risk_free: f64,
    /// Move taker fills this many basis points against the order (default: paper.slippage_bps)
    #[arg(long, value_name = "BPS", value_parser = parse_bps, allow_negative_numbers = true)]
    pub slippage_bps: Option<Decimal>,
    /// Allow selling more than is held (short selling)
    #[arg(long)]
    pub allow_short: bool,
    /// Cap each resting (maker) fill at the quantity of the trade that crosses it
    #[arg(long)]
    pub partial_fills: bool,
    /// Output directory of fills.ndjson, equity.ndjson, decisions.ndjson, metrics.json
    /// (sweep.csv, sweep.json, sweep.parquet, overfitting.json and sweep_returns.csv)
    #[arg(long, value_name = "DIR", default_value = "var/backtest")]
    pub out: PathBuf,
    /// Progress on stderr: auto (a bar with its ETA when stderr is a terminal), ndjson (one JSON
    /// line per update, for machines) or none
    #[arg(long, value_name = "MODE", value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// No progress bar (as --progress none)
    #[arg(long, conflicts_with = "progress")]
    pub no_progress: bool,
}

impl RunArgs {
    /// The progress of one job of this run, as --progress asks.
    fn progress(
        &self,
        quiet: bool,
        job: &'static str,
        unit: &'static str,
        total: Option<u64>,
        template: &str,
    ) -> Progress {
        let mode = if self.no_progress {
            ProgressMode::None
        } else {
            self.progress
        };
        Progress::new(mode, quiet, job, unit, total, template)
    }
}

fn parse_capital(s: &str) -> Result<Decimal, String> {
    let d = crate::num::parse_decimal(s)?;
    if d > Decimal::ZERO && d < Decimal::from(1_000_000_000_000_000u64) {
        Ok(d)
    } else {
        Err(format!("capital `{s}` must be positive and below 10^18"))
    }
}

fn parse_blocks(s: &str) -> Result<usize, String> {
    let max = njord_core::overfit::MAX_BLOCKS;
    match s.parse::<usize>() {
        Ok(n) if n >= 2 && n <= max && n % 2 == 0 => Ok(n),
        _ => Err(format!(
            "`{s}` is not an even number of blocks from 2 to {max}"
        )),
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

/// Runs one backtest (or a sweep) and writes its outputs.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let args = match &cli.cmd {
        Some(Cmd::Sweep(s)) => &s.run,
        Some(Cmd::Mc(m)) => &m.run,
        Some(Cmd::Wfo(w)) => &w.run,
        None => &cli.run,
    };
    let strategies_path = args.strategies.display().to_string();
    let strategies = std::fs::read_to_string(&args.strategies)
        .map_err(|e| Error::Usage(format!("cannot read {strategies_path}: {e}")))?;
    let portfolio = match &cli.portfolio {
        Some(path) => {
            if cli.cmd.is_some() {
                return Err(Error::Usage(
                    "--portfolio runs one backtest, not a sweep, a Monte Carlo or a walk-forward"
                        .into(),
                ));
            }
            Some(crate::portfolio::load(path).map_err(Error::Usage)?)
        }
        None => None,
    };
    let mut args = args.clone();
    if let Some(p) = &portfolio {
        if args.quote.is_some() || args.capital != Decimal::from(10_000) {
            return Err(Error::Usage(
                "--portfolio takes the capital and quote asset from the portfolio file; drop \
                 --capital and --quote"
                    .into(),
            ));
        }
        args.capital = p.config().capital.0;
        args.quote = Some(p.config().quote.clone());
    }
    let args = &args;
    let (run_loaded, settings, tape) = prepare(&loaded, args);
    let cfg = &run_loaded.config;
    let job = Job {
        cli: &cli,
        args,
        cfg,
        strategies: &strategies,
        strategies_path: &strategies_path,
        settings: &settings,
        tape: &tape,
    };
    match &cli.cmd {
        Some(Cmd::Sweep(s)) => sweep(&job, s),
        Some(Cmd::Wfo(w)) => walk_forward(&job, w),
        Some(Cmd::Mc(m)) => monte_carlo(&job, m),
        None => {
            let registry = crate::strategy::registry();
            let defs = manager::parse(&strategies, &strategies_path, &registry, &cfg.redis.topics)
                .map_err(Error::usage)?;
            if let Some(p) = &portfolio {
                check_portfolio(p, &defs, &strategies_path)?;
            }
            single(
                &cli,
                args,
                &run_loaded,
                &strategies,
                defs,
                &settings,
                &tape,
                portfolio,
            )
        }
    }
}

/// What a sweep, a walk-forward and a Monte Carlo run share.
#[derive(Clone, Copy)]
struct Job<'a> {
    cli: &'a Cli,
    args: &'a RunArgs,
    cfg: &'a crate::config::Config,
    strategies: &'a str,
    strategies_path: &'a str,
    settings: &'a Settings,
    tape: &'a Tape,
}

/// `njord-backtest sweep`: this worker's trials (all, a shard's or the queue's), then, once
/// every trial is stored, the table on stdout and the outputs.
fn sweep(job: &Job, s: &SweepArgs) -> Result<(), Error> {
    let Job {
        cli,
        args,
        cfg,
        strategies,
        strategies_path,
        settings,
        tape,
    } = *job;
    use crate::backtest::search;
    let axes = s.params.axes()?;
    let combos = match s.samples {
        Some(n) => search::sample(&axes, n as usize, s.seed).map_err(Error::Usage)?,
        None => {
            let total = search::size(&axes);
            if total > 10_000_000 {
                return Err(Error::Usage(format!(
                    "the grid has {total} combinations: draw some with --samples N"
                )));
            }
            sweep::grid(&axes)
        }
    };
    let store = run::TrialStore::open(&args.out, tape, cfg, settings).map_err(Error::Usage)?;
    let plan = run::Sweep::new(
        cfg,
        strategies,
        strategies_path,
        &axes,
        &combos,
        settings,
        tape,
        &store,
    )
    .map_err(Error::usage)?;
    // This worker's trials: a shard's (found stored or run), or, from a queue, those it runs.
    let ours = if s.merge {
        0
    } else {
        s.shard.len_of(plan.trial_count())
    };
    let progress = args.progress(
        cli.common.quiet,
        "sweep",
        "trials",
        s.queue.is_none().then_some(ours),
        "{bar:30} {pos}/{len} trials {per_sec} ETA {eta}",
    );
    let on_done = || progress.inc(1);
    let done = match &s.queue {
        Some(url) => {
            let q = crate::backtest::queue::Queue {
                url: url.clone(),
                idle: s.queue_idle,
            };
            let worked = crate::backtest::queue::work(&plan, &q, &on_done);
            progress.finish();
            let worked = worked.map_err(Error::Failed)?;
            if !cli.common.quiet {
                eprintln!(
                    "queue: {} trials run here, {} found done, {} taken over from a silent worker",
                    worked.done.ran, worked.done.skipped, worked.reclaimed
                );
            }
            if !worked.reports {
                if !cli.common.quiet {
                    eprintln!("every trial is done; another worker writes the outputs");
                }
                return Ok(());
            }
            worked.done
        }
        None => {
            let done = plan.run_shard(s.shard, s.merge, &on_done);
            progress.finish();
            let done = done.map_err(Error::usage)?;
            if s.shard.count > 1 && !s.merge {
                write_shard(&args.out, s.shard, &axes, &plan, &done.rows)?;
            }
            done
        }
    };
    if !cli.common.quiet && !s.merge && s.queue.is_none() && done.skipped > 0 {
        eprintln!(
            "note: {} trials already in {} were not run again",
            done.skipped,
            store.dir.display()
        );
    }
    if !done.missing.is_empty() {
        let shown: Vec<String> = done
            .missing
            .iter()
            .take(20)
            .map(|t| t.to_string())
            .collect();
        if s.merge || s.shard.count == 1 {
            return Err(Error::Failed(format!(
                "{} trials have no result in {} yet (trials {}{}): run their shards first",
                done.missing.len(),
                store.dir.display(),
                shown.join(", "),
                if done.missing.len() > 20 { ", …" } else { "" }
            )));
        }
        if !cli.common.quiet {
            eprintln!(
                "shard {}/{}: {} trials run, {} found done; {} are other shards' (merge with --merge once all have run)",
                s.shard.index,
                s.shard.count,
                done.ran,
                done.skipped,
                done.missing.len()
            );
        }
        return Ok(());
    }
    let mut rows = done.rows;
    sweep::sort(&mut rows, &s.sort);
    if !cli.no_summary {
        app::print_out(&sweep::table(&axes, &rows))?;
    }
    if !cli.common.quiet {
        for line in sweep::never_traded(&axes, &rows) {
            eprintln!("note: {line}");
        }
    }
    let overfitting = sweep::overfitting(&rows, s.blocks);
    if !cli.no_summary {
        app::print_out(&sweep::overfitting_text(&overfitting))?;
    }
    write_outputs(
        &args.out,
        &[
            ("sweep.json", &sweep::json(&axes, &rows)),
            ("overfitting.json", &overfitting),
        ],
        &[
            ("sweep.csv", &sweep::csv(&axes, &rows)),
            ("sweep_returns.csv", &sweep::returns_csv(&rows)),
        ],
    )?;
    crate::research::export::write_sweep(&args.out.join("sweep.parquet"), &axes, &rows)
        .map_err(|e| Error::Failed(e.to_string()))
}

/// Writes the outputs of a sweep, a walk-forward or a Monte Carlo run to `dir`: the JSON
/// values pretty, with a newline, and the texts as they are.
fn write_outputs(
    dir: &Path,
    json: &[(&str, &serde_json::Value)],
    text: &[(&str, &str)],
) -> Result<(), Error> {
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        json.iter()
            .try_for_each(|(name, v)| write_pretty(&dir.join(name), v))?;
        text.iter()
            .try_for_each(|(name, t)| std::fs::write(dir.join(name), t))
    });
    written.map_err(|e| Error::Failed(format!("cannot write to {}: {e}", dir.display())))
}

/// A shard's own results, in grid order: `{out}/shards/shard-I-of-N.csv` and `.parquet`, and a
/// manifest (`.json`) with the hashes of the tape, the configuration and each of its trials.
fn write_shard(
    out: &Path,
    shard: run::Shard,
    axes: &[sweep::Axis],
    plan: &run::Sweep,
    rows: &[sweep::Row],
) -> Result<(), Error> {
    let ours: Vec<sweep::Row> = rows
        .iter()
        .filter(|r| shard.owns(r.index))
        .cloned()
        .collect();
    let trials: Vec<serde_json::Value> = ours
        .iter()
        .map(|r| {
            let params: serde_json::Map<String, serde_json::Value> = axes
                .iter()
                .zip(&r.values)
                .map(|(a, v)| (a.label(), v.clone().into()))
                .collect();
            serde_json::json!({
                "trial": r.index + 1,
                "hash": plan.hash(r.index),
                "params": params,
            })
        })
        .collect();
    let manifest = serde_json::json!({
        "shard": format!("{}/{}", shard.index, shard.count),
        "tape_hash": plan.store.tape_hash,
        "config_hash": plan.store.config_hash,
        "trials": trials,
    });
    let dir = out.join("shards");
    let stem = format!("shard-{}-of-{}", shard.index, shard.count);
    write_outputs(
        &dir,
        &[(&format!("{stem}.json"), &manifest)],
        &[(&format!("{stem}.csv"), &sweep::csv(axes, &ours))],
    )?;
    crate::research::export::write_sweep(&dir.join(format!("{stem}.parquet")), axes, &ours)
        .map_err(|e| Error::Failed(format!("cannot write to {}: {e}", dir.display())))
}

/// The configuration a run uses (capital as the quote balance, slippage and short selling
/// from the flags), its settings and its tape.
fn prepare(loaded: &Loaded, args: &RunArgs) -> (Loaded, Settings, Tape) {
    let mut l = loaded.clone();
    let quote = args.quote.clone().unwrap_or_else(|| {
        l.config
            .exchange
            .symbols
            .first()
            .and_then(|s| s.split_once('/'))
            .map_or("USDT".into(), |(_, q)| q.to_string())
    });
    l.config.paper = paper_config(&l.config, args.capital, &quote);
    if let Some(bps) = args.slippage_bps {
        l.config.paper.slippage_bps = bps;
    }
    if args.allow_short {
        l.config.paper.allow_short = true;
    }
    let settings = Settings {
        capital: args.capital,
        interval_ns: args.equity_interval,
        risk_free: args.risk_free,
        partial_fills: args.partial_fills,
        min_returns: crate::backtest::metrics::MIN_RETURNS,
    };
    let tape = Tape {
        files: args.tape.clone(),
        filter: args.filter.filter(),
    };
    (l, settings, tape)
}

/// `njord-backtest wfo`: the folds, the table on stdout, `wfo.json` and `wfo_equity.csv`.
fn walk_forward(job: &Job, w: &WfoArgs) -> Result<(), Error> {
    let Job {
        cli,
        args,
        cfg,
        strategies,
        strategies_path,
        settings,
        tape,
    } = *job;
    let axes = w.params.axes()?;
    let spec = run::WfoSpec {
        train_ns: w.train,
        test_ns: w.test,
        step_ns: w.step.unwrap_or(w.test),
        anchored: w.anchored,
        objective: w.objective.clone(),
        min_trades: w.min_trades,
    };
    let progress = args.progress(
        cli.common.quiet,
        "wfo",
        "folds",
        None,
        "{pos} folds {per_sec} {elapsed}",
    );
    let on_done = || progress.inc(1);
    let folds = run::walk_forward(
        cfg,
        strategies,
        strategies_path,
        &axes,
        settings,
        tape,
        &spec,
        &on_done,
    )
    .map_err(Error::Usage);
    progress.finish();
    let folds = folds?;
    let report = run::wfo_report(&axes, &spec, settings.interval_ns, &folds);
    if !cli.no_summary {
        app::print_out(&run::wfo_table(&report))?;
    }
    let mut csv = String::from("fold,period,return,equity\n");
    let mut equity = 1.0f64;
    for (k, f) in folds.iter().enumerate() {
        for (i, r) in f.test.iter().flat_map(|t| t.returns.iter()).enumerate() {
            equity *= 1.0 + r;
            csv += &format!("{},{},{r},{equity}\n", k + 1, i + 1);
        }
    }
    write_outputs(
        &args.out,
        &[("wfo.json", &report)],
        &[("wfo_equity.csv", &csv)],
    )
}

/// `njord-backtest mc`: the runs, the table on stdout, `mc.json` and `mc_runs.csv`.
fn monte_carlo(job: &Job, m: &McArgs) -> Result<(), Error> {
    let Job {
        cli,
        args,
        cfg,
        strategies,
        strategies_path,
        settings,
        tape,
    } = *job;
    use crate::backtest::montecarlo::Method;
    if !(m.ruin.is_finite() && m.ruin >= 0.0) {
        return Err(Error::Usage(format!(
            "--ruin {} must be a share of the capital, 0 or more",
            m.ruin
        )));
    }
    let registry = crate::strategy::registry();
    let defs = manager::parse(strategies, strategies_path, &registry, &cfg.redis.topics)
        .map_err(Error::usage)?;
    let spec = run::McSpec {
        runs: m.runs,
        method: match m.method {
            McMethod::Shuffle => Method::Shuffle,
            McMethod::BlockBootstrap => Method::BlockBootstrap { block: m.block },
            McMethod::Synthetic => Method::Synthetic,
        },
        seed: m.seed,
        ruin: m.ruin,
    };
    let progress = args.progress(
        cli.common.quiet,
        "mc",
        "runs",
        Some(m.runs),
        "{bar:30} {pos}/{len} runs {per_sec} ETA {eta}",
    );
    let on_done = || progress.inc(1);
    let outcome = run::monte_carlo(cfg, &defs, settings, tape, spec, &on_done);
    progress.finish();
    let (observed, runs) = outcome.map_err(Error::Usage)?;
    let capital = f64::try_from(settings.capital).unwrap_or(0.0);
    let report = run::mc_report(&spec, capital, &observed, &runs);
    if !cli.no_summary {
        app::print_out(&run::mc_table(&report))?;
    }
    let mut csv = String::from("run,seed,total_return,max_drawdown,sharpe,min_equity,fills\n");
    for (i, r) in runs.iter().enumerate() {
        let metrics = &r.result.metrics;
        csv += &format!(
            "{},{},{},{},{},{},{}\n",
            i + 1,
            crate::backtest::montecarlo::seed_of(m.seed, i as u64),
            metrics.total_return,
            metrics.max_drawdown,
            metrics.sharpe.map_or(String::new(), |s| s.to_string()),
            r.min_equity,
            metrics.fills
        );
    }
    write_outputs(&args.out, &[("mc.json", &report)], &[("mc_runs.csv", &csv)])
}

/// Every strategy of the portfolio must be in the strategies file; one that is not in the
/// portfolio would have all its intents refused, which is said once here.
fn check_portfolio(
    p: &crate::portfolio::engine::PortfolioEngine,
    defs: &[manager::StrategyDef],
    strategies_path: &str,
) -> Result<(), Error> {
    for s in &p.config().strategies {
        if !defs.iter().any(|d| d.id == s.id) {
            return Err(Error::Usage(format!(
                "portfolio strategy `{}` is not in {strategies_path}",
                s.id
            )));
        }
    }
    for d in defs.iter().filter(|d| d.enabled) {
        if !p.config().strategies.iter().any(|s| s.id == d.id) {
            tracing::warn!(
                "strategy `{}` is not in the portfolio: its intents are refused (strategy_capital)",
                d.id
            );
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn single(
    cli: &Cli,
    args: &RunArgs,
    loaded: &Loaded,
    strategies: &str,
    defs: Vec<manager::StrategyDef>,
    settings: &Settings,
    tape: &Tape,
    portfolio: Option<crate::portfolio::engine::PortfolioEngine>,
) -> Result<(), Error> {
    let chart = cli.report.as_ref().map(|_| Chart::new(settings.capital));
    let mut sink = FileSink::create(&args.out, chart)
        .map_err(|e| Error::Failed(format!("cannot write to {}: {e}", args.out.display())))?;
    let progress = args.progress(
        cli.common.quiet,
        "backtest",
        "bytes",
        Some(tape_bytes(tape)),
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
    );
    let mut on_progress =
        |events: u64, bytes: u64| progress.set(bytes, || format!("{events} events"));
    let outcome = run::run(
        &loaded.config,
        defs,
        settings,
        tape,
        portfolio,
        &mut sink,
        &mut on_progress,
    );
    progress.finish();
    let (result, stats) = outcome.map_err(Error::usage)?;
    if stats.bad > 0 {
        tracing::warn!("{} bad lines skipped", stats.bad);
    }
    let chart = sink
        .finish()
        .map_err(|e| Error::Failed(format!("writing {}: {e}", args.out.display())))?;
    let metrics_path = args.out.join("metrics.json");
    write_pretty(&metrics_path, &result)
        .map_err(|e| Error::Failed(format!("cannot write {}: {e}", metrics_path.display())))?;
    if let (Some(path), Some(chart)) = (&cli.report, chart) {
        let paper = &loaded.config.paper;
        let assumptions = vec![
            format!(
                "Fees: maker {} bps, taker {} bps of notional, in the quote asset.",
                paper.maker_fee_bps, paper.taker_fee_bps
            ),
            match paper.slippage_model {
                crate::paper::impact::Model::Fixed => format!(
                    "Slippage (fixed): taker fills move {} bps against the order.",
                    paper.slippage_bps
                ),
                crate::paper::impact::Model::Linear => format!(
                    "Slippage (linear): taker fills move {} bps × qty / the symbol's volume of the last {} ms against the order.",
                    paper.slippage_bps, paper.impact_window_ms
                ),
                crate::paper::impact::Model::Sqrt => format!(
                    "Slippage (square root): taker fills move {} × σ × √(qty / V) against the order, σ and V the volatility and volume of the symbol's last {} ms of trades.",
                    paper.impact_k, paper.impact_window_ms
                ),
                crate::paper::impact::Model::Book => format!(
                    "Slippage (book walk): taker fills pay the average of the last book's levels they take (the rest at the last level), or {} bps without a book.",
                    paper.slippage_bps
                ),
            },
            "Market orders fill at the last trade price as taker; limit orders fill at once at the \
last price when marketable (taker), else rest and fill at their limit (maker) when a later trade \
crosses them."
                .into(),
            "On a tape of bars (no trades): no order fills inside the bar that produced it; market \
orders fill at the next bar's open (taker); limit orders fill when a later bar's range reaches \
them, at the limit (maker), or at the open when the bar gapped through it (taker). Reference \
prices are the last closed bar's close."
                .into(),
            format!(
                "Resting fills: {}; {}.",
                if settings.partial_fills {
                    "capped at the crossing trade's quantity"
                } else {
                    "the whole remaining quantity"
                },
                if paper.queue_position {
                    "a resting limit waits behind the size the last book shows at its price"
                } else {
                    "no queue position (a resting limit fills at the first trade at its price)"
                }
            ),
            format!(
                "Spot balances from the capital; short selling {}.",
                if paper.allow_short { "allowed" } else { "refused" }
            ),
            if paper.latency_ms > 0 || paper.latency_jitter_ms > 0 {
                format!(
                    "Latency: orders and cancels reach the book {} ms after they were sent, plus up to {} ms (seeded with {}), in event time.",
                    paper.latency_ms, paper.latency_jitter_ms, paper.latency_seed
                )
            } else {
                "Latency: none; orders and cancels reach the book when they are sent.".into()
            },
            "Equity is valued at the last trade price (or bar close); no funding or borrow cost."
                .into(),
        ];
        let run_rows: Vec<(String, String)> = vec![
            (
                "tapes".into(),
                args.tape
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("strategies".into(), args.strategies.display().to_string()),
            ("capital".into(), settings.capital.to_string()),
            (
                "equity interval (s)".into(),
                (settings.interval_ns / 1_000_000_000).to_string(),
            ),
            ("risk-free rate".into(), settings.risk_free.to_string()),
        ];
        let html = report::render(&ReportInput {
            summary: &result.metrics,
            counts: &result.counts,
            chart: &chart,
            config: &loaded.to_yaml(),
            strategies,
            run: &run_rows,
            assumptions: &assumptions,
            portfolio: result.portfolio.as_ref(),
            tca: result.tca.as_ref(),
        });
        std::fs::write(path, html)
            .map_err(|e| Error::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    if cli.json {
        app::print_out(&(serde_json::to_string_pretty(&result).unwrap_or_default() + "\n"))?;
    } else if !cli.no_summary {
        app::print_out(&report::table(&result.metrics, &result.counts))?;
        if let Some(p) = &result.portfolio {
            app::print_out(&report::portfolio_table(p))?;
        }
    }
    Ok(())
}

/// The bytes of every file of the tape.
fn tape_bytes(tape: &Tape) -> u64 {
    crate::journal::resolve(&tape.files)
        .map(|series| {
            series
                .iter()
                .flat_map(|s| &s.files)
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Writes `value` as pretty JSON and a newline, streamed: a report with thousands of
/// parents is megabytes, never held whole in memory.
fn write_pretty(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}
