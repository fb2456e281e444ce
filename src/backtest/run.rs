//! The backtester's shell: reads tapes through the replay library, drives the [`Engine`] and
//! writes `equity.ndjson` and `fills.ndjson`. All trading logic stays in the cores.

use super::engine::{Engine, RunResult, Settings, Sink};
use super::metrics::{Account, Sample};
use super::montecarlo;
use super::report::Chart;
use super::sweep::{self, Axis, Returns, Row};
use super::walkforward;
use crate::config::Config;
use crate::event::{Decision, Event, Fill};
use crate::journal::JournalError;
use crate::replay::{Filter, Replay, ReplayStats};
use crate::strategy::manager::{self, StrategyDef};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The tapes to read and what to keep of them.
#[derive(Debug, Clone)]
pub struct Tape {
    pub files: Vec<PathBuf>,
    pub filter: Filter,
}

/// Runs one backtest to the end of the tapes. Bad lines are reported on stderr (through the
/// log) and skipped; `on_progress` is called now and then with (events, bytes read).
pub fn run(
    cfg: &Config,
    defs: Vec<StrategyDef>,
    settings: &Settings,
    tape: &Tape,
    portfolio: Option<crate::portfolio::engine::PortfolioEngine>,
    sink: &mut dyn Sink,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<(RunResult, ReplayStats), JournalError> {
    let mut engine = Engine::new(cfg, crate::strategy::registry(), defs, settings);
    if let Some(p) = portfolio {
        engine = engine.with_portfolio(p);
    }
    let series = crate::journal::resolve(&tape.files)?;
    let unreadable = |e: std::io::Error| JournalError::Other {
        path: "--tape".into(),
        msg: e.to_string(),
    };
    let columnar = crate::research::columnar::TradeTape::open(&series).map_err(unreadable)?;
    if let Some(mut columnar) = columnar {
        // Trade partitions of an export: read column by column, no text in between.
        let mut stats = ReplayStats::default();
        let filter = &tape.filter;
        let mut n = 0u64;
        columnar
            .for_each(
                |ev| {
                    stats.lines += 1;
                    if filter.accepts(ev) {
                        stats.events += 1;
                        engine.on_event(ev, sink);
                    } else {
                        stats.filtered += 1;
                    }
                    n += 1;
                    if n.is_multiple_of(65_536) {
                        on_progress(n, 0);
                    }
                },
                |bad| {
                    stats.bad += 1;
                    tracing::warn!("{bad}; skipped");
                },
            )
            .map_err(unreadable)?;
        return Ok(finish(engine, sink, stats));
    }
    let mut replay = Replay::from_series(series, tape.filter.clone());
    let mut n = 0u64;
    while let Some(item) = replay.next() {
        match item {
            Ok(item) => engine.on_event(&item.event, sink),
            Err(e) => tracing::warn!("{e}; skipped"),
        }
        n += 1;
        if n.is_multiple_of(65_536) {
            on_progress(n, replay.progress().0);
        }
    }
    let stats = replay.stats();
    Ok(finish(engine, sink, stats))
}

/// The run's end: what went wrong with the strategies, then the closing sample and metrics.
fn finish(engine: Engine, sink: &mut dyn Sink, stats: ReplayStats) -> (RunResult, ReplayStats) {
    for (id, why) in engine.failed_strategies() {
        tracing::error!("strategy `{id}` was disabled during the run: {why}");
    }
    for (id, symbol, summary) in engine.strategy_summaries() {
        crate::strategy::report_summary(&id, &symbol, &summary);
    }
    for (id, symbols) in engine.never_fed_strategies() {
        crate::strategy::report_never_fed(&id, &symbols);
    }
    (engine.finish(sink), stats)
}

/// Writes `{out}/equity.ndjson`, `{out}/fills.ndjson` and `{out}/decisions.ndjson`, and
/// feeds the report's charts.
pub struct FileSink {
    equity: BufWriter<File>,
    fills: BufWriter<File>,
    decisions: BufWriter<File>,
    line: Vec<u8>,
    error: Option<std::io::Error>,
    pub chart: Option<Chart>,
}

impl FileSink {
    /// Creates `dir` and its files; `chart` collects what the report draws.
    pub fn create(dir: &Path, chart: Option<Chart>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str| -> std::io::Result<BufWriter<File>> {
            Ok(BufWriter::with_capacity(
                256 * 1024,
                File::create(dir.join(name))?,
            ))
        };
        Ok(FileSink {
            equity: open("equity.ndjson")?,
            fills: open("fills.ndjson")?,
            decisions: open("decisions.ndjson")?,
            line: Vec::with_capacity(512),
            error: None,
            chart,
        })
    }

    /// Flushes the files; the first write error of the run, if any.
    pub fn finish(mut self) -> std::io::Result<Option<Chart>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.equity.flush()?;
        self.fills.flush()?;
        self.decisions.flush()?;
        Ok(self.chart)
    }

    fn keep(&mut self, r: std::io::Result<()>) {
        if let (Err(e), None) = (r, &self.error) {
            self.error = Some(e);
        }
    }
}

impl Sink for FileSink {
    fn on_sample(&mut self, sample: &Sample, account: &Account) {
        self.line.clear();
        // Serializing plain numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.line, &sample.point);
        self.line.push(b'\n');
        let r = self.equity.write_all(&self.line);
        self.keep(r);
        if let Some(c) = self.chart.as_mut() {
            c.on_sample(sample, account);
        }
    }

    fn on_decision(&mut self, decision: &Decision<'_>) {
        self.line.clear();
        Event::Decision(decision.clone()).write_line(&mut self.line);
        let r = self.decisions.write_all(&self.line);
        self.keep(r);
    }

    fn on_fill(&mut self, fill: &Fill<'_>) {
        self.line.clear();
        fill.write_line(&mut self.line);
        let r = self.fills.write_all(&self.line);
        self.keep(r);
        if let Some(c) = self.chart.as_mut() {
            c.on_fill(fill);
        }
    }
}

/// A Monte Carlo's settings (`njord-backtest mc`).
#[derive(Debug, Clone, Copy)]
pub struct McSpec {
    pub runs: u64,
    pub method: montecarlo::Method,
    pub seed: u64,
    /// Ruin: equity strictly below this share of the capital at any sample.
    pub ruin: f64,
}

/// One Monte Carlo run: its metrics and its lowest equity sample.
#[derive(Debug, Clone)]
pub struct McRun {
    pub result: RunResult,
    pub min_equity: f64,
}

/// Keeps the lowest equity sample of a run.
#[derive(Default)]
struct Lowest(Option<f64>);

impl Sink for Lowest {
    fn on_sample(&mut self, sample: &Sample, _: &Account) {
        let e = f64::try_from(sample.point.equity).unwrap_or(0.0);
        self.0 = Some(self.0.map_or(e, |m| m.min(e)));
    }
    fn on_fill(&mut self, _: &Fill<'_>) {}
}

/// Runs the strategies over the tape as it is (`observed`) and over `spec.runs` resampled
/// versions of it in parallel (rayon); the runs come back in order, so the output does not
/// depend on the thread count. The tape is read once and shared by every run.
pub fn monte_carlo(
    cfg: &Config,
    defs: &[StrategyDef],
    settings: &Settings,
    tape: &Tape,
    spec: McSpec,
    on_done: &(dyn Fn() + Sync),
) -> Result<(McRun, Vec<McRun>), String> {
    use rayon::prelude::*;
    let events = load_events(tape)?;
    let prices = montecarlo::Prices::of(&events)?;
    let returns = prices.returns();
    let one = |draws: &[f64]| {
        let mut engine = Engine::new(cfg, crate::strategy::registry(), defs.to_vec(), settings);
        let mut lowest = Lowest::default();
        montecarlo::replay(&events, &prices, draws, |ev| {
            engine.on_event(ev, &mut lowest)
        });
        let result = engine.finish(&mut lowest);
        McRun {
            result,
            min_equity: lowest.0.unwrap_or(f64::INFINITY),
        }
    };
    let observed = one(&returns);
    let runs = (0..spec.runs)
        .into_par_iter()
        .map(|i| {
            let draws = montecarlo::draw(spec.method, &returns, montecarlo::seed_of(spec.seed, i))?;
            let run = one(&draws);
            on_done();
            Ok(run)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((observed, runs))
}

/// What `njord-backtest mc` writes to `mc.json`: the percentiles of total return, max
/// drawdown and Sharpe over the runs, the probability of ruin, and the observed run's values.
pub fn mc_report(
    spec: &McSpec,
    capital: f64,
    observed: &McRun,
    runs: &[McRun],
) -> serde_json::Value {
    let column =
        |f: &dyn Fn(&McRun) -> Option<f64>| -> Vec<f64> { runs.iter().filter_map(f).collect() };
    let total: Vec<f64> = column(&|r| Some(r.result.metrics.total_return));
    let drawdown: Vec<f64> = column(&|r| Some(r.result.metrics.max_drawdown));
    let sharpe: Vec<f64> = column(&|r| r.result.metrics.sharpe);
    let level = spec.ruin * capital;
    let ruined = runs.iter().filter(|r| r.min_equity < level).count();
    let method = match spec.method {
        montecarlo::Method::Shuffle => serde_json::json!({"name": "shuffle"}),
        montecarlo::Method::BlockBootstrap { block } => {
            serde_json::json!({"name": "block-bootstrap", "block": block})
        }
        montecarlo::Method::Synthetic => serde_json::json!({"name": "synthetic"}),
    };
    serde_json::json!({
        "runs": runs.len(),
        "seed": spec.seed,
        "method": method,
        "total_return": montecarlo::percentiles(&total),
        "max_drawdown": montecarlo::percentiles(&drawdown),
        "sharpe": montecarlo::percentiles(&sharpe),
        "sharpe_runs": sharpe.len(),
        "ruin": {"level": spec.ruin, "runs": ruined, "probability": ruined as f64 / runs.len().max(1) as f64},
        "observed": {
            "total_return": observed.result.metrics.total_return,
            "max_drawdown": observed.result.metrics.max_drawdown,
            "sharpe": observed.result.metrics.sharpe,
        },
    })
}

/// A fraction as a percentage with two decimals, as the run summary shows returns; `-` for
/// none.
fn pct(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or("-".into(), |x| format!("{:.2}%", x * 100.0))
}

/// A ratio with three decimals, as the run summary shows them; `-` for none.
fn num(v: &serde_json::Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.3}"))
}

/// The report as a table for the terminal.
pub fn mc_table(report: &serde_json::Value) -> String {
    let mut out = format!(
        "{:<14}{:>10}{:>10}{:>10}{:>10}{:>10}{:>11}\n",
        "", "p5", "p25", "p50", "p75", "p95", "observed"
    );
    for (name, key, f) in [
        (
            "total return",
            "total_return",
            &pct as &dyn Fn(&serde_json::Value) -> String,
        ),
        ("max drawdown", "max_drawdown", &pct),
        ("sharpe", "sharpe", &num),
    ] {
        let p = &report[key];
        out += &format!(
            "{name:<14}{:>10}{:>10}{:>10}{:>10}{:>10}{:>11}\n",
            f(&p["p5"]),
            f(&p["p25"]),
            f(&p["p50"]),
            f(&p["p75"]),
            f(&p["p95"]),
            f(&report["observed"][key])
        );
    }
    let ruin = &report["ruin"];
    out += &format!(
        "{} runs ({}, seed {}); ruin (equity below {} of the capital): {} runs, probability {}\n",
        report["runs"],
        report["method"]["name"].as_str().unwrap_or(""),
        report["seed"],
        ruin["level"],
        ruin["runs"],
        num(&ruin["probability"])
    );
    out
}

/// The tape's events in memory, read once for runs that share them (bad lines are logged
/// and skipped, as in a backtest).
fn load_events(tape: &Tape) -> Result<Vec<Event<'static>>, String> {
    let series = crate::journal::resolve(&tape.files).map_err(|e| e.to_string())?;
    let mut replay = Replay::from_series(series, tape.filter.clone());
    let mut events = Vec::new();
    while let Some(item) = replay.next() {
        match item {
            Ok(item) => events.push(item.event.into_owned()),
            Err(e) => tracing::warn!("{e}; skipped"),
        }
    }
    Ok(events)
}

/// One combination of a sweep's parameters: its strategies file, parsed.
struct Trial {
    /// Position in the grid.
    index: usize,
    /// Values as written, one per axis.
    values: Vec<String>,
    defs: Vec<StrategyDef>,
    /// The strategies file with its values set.
    text: String,
}

impl Trial {
    /// This trial's row for a run's result and returns.
    fn row(&self, (result, returns): (RunResult, Vec<f64>)) -> Row {
        Row {
            index: self.index,
            values: self.values.clone(),
            result,
            returns,
        }
    }
}

/// The strategies file with each of `combos` (value indices of `axes`) set, in their order;
/// the file is checked for each before anything runs.
fn trials(
    cfg: &Config,
    strategies: &str,
    path: &str,
    axes: &[Axis],
    combos: &[Vec<usize>],
) -> Result<Vec<Trial>, String> {
    let registry = crate::strategy::registry();
    let topics = &cfg.redis.topics;
    combos
        .iter()
        .enumerate()
        .map(|(index, combo)| {
            let text = sweep::apply(strategies, axes, combo, &registry)?;
            let defs = manager::parse(&text, path, &registry, topics).map_err(|e| e.to_string())?;
            let values = axes
                .iter()
                .zip(combo)
                .map(|(a, &i)| a.shown[i].clone())
                .collect();
            Ok(Trial {
                index,
                values,
                defs,
                text,
            })
        })
        .collect()
}

/// A walk-forward's settings (`njord-backtest wfo`).
#[derive(Debug, Clone)]
pub struct WfoSpec {
    pub train_ns: i64,
    pub test_ns: i64,
    pub step_ns: i64,
    pub anchored: bool,
    /// The metric the training windows are ranked by (as `sweep --sort`).
    pub objective: String,
    /// Trials with fewer round trips in a training window are not chosen.
    pub min_trades: u64,
}

/// One fold: its windows, the trial chosen in training and its run on the test window, or
/// why the fold was refused.
#[derive(Debug, Clone)]
pub struct WfoFold {
    pub fold: walkforward::Fold,
    pub chosen: Option<Row>,
    pub test: Option<Row>,
    pub refused: Option<String>,
}

/// The events of `[from, to)`.
fn window<'e>(events: &'e [Event<'static>], (from, to): (i64, i64)) -> &'e [Event<'static>] {
    let lo = events.partition_point(|e| e.ts_ns() < from);
    let hi = events.partition_point(|e| e.ts_ns() < to).max(lo);
    &events[lo..hi]
}

/// Runs a strategies file over `events`; with `report`, says what went wrong with its
/// strategies, as a backtest does.
fn run_events(
    cfg: &Config,
    defs: &[StrategyDef],
    settings: &Settings,
    events: &[Event<'static>],
    report: bool,
) -> (RunResult, Vec<f64>) {
    let mut engine = Engine::new(cfg, crate::strategy::registry(), defs.to_vec(), settings);
    let mut returns = Returns::default();
    for ev in events {
        engine.on_event(ev, &mut returns);
    }
    let result = if report {
        finish(engine, &mut returns, ReplayStats::default()).0
    } else {
        engine.finish(&mut returns)
    };
    (result, returns.returns)
}

/// Runs one trial of a sweep over the whole tape, reporting its strategies' failures as a
/// backtest does.
fn run_trial(
    cfg: &Config,
    axes: &[Axis],
    settings: &Settings,
    events: &[Event<'static>],
    trial: &Trial,
) -> Row {
    let params: Vec<String> = axes
        .iter()
        .zip(&trial.values)
        .map(|(a, v)| format!("{}={v}", a.label()))
        .collect();
    let _trial =
        tracing::warn_span!("trial", n = trial.index + 1, params = %params.join(",")).entered();
    trial.row(run_events(cfg, &trial.defs, settings, events, true))
}

/// Walk-forward optimisation: in each fold every combination of `axes` runs over the
/// training window (in parallel), the best by the objective among those with enough round
/// trips runs over the test window. Folds run in order; the tape is read once.
#[allow(clippy::too_many_arguments)]
pub fn walk_forward(
    cfg: &Config,
    strategies: &str,
    path: &str,
    axes: &[Axis],
    settings: &Settings,
    tape: &Tape,
    spec: &WfoSpec,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<WfoFold>, String> {
    use rayon::prelude::*;
    let events = load_events(tape)?;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err("the tape has no events".into());
    };
    let (first, last) = (first.ts_ns(), last.ts_ns());
    let folds = walkforward::folds(
        first,
        last,
        spec.train_ns,
        spec.test_ns,
        spec.step_ns,
        spec.anchored,
    );
    if folds.is_empty() {
        return Err(format!(
            "the tape spans {:.1} days; one fold needs --train + --test = {:.1} days",
            (last - first) as f64 / 86_400e9,
            (spec.train_ns + spec.test_ns) as f64 / 86_400e9
        ));
    }
    let jobs = trials(cfg, strategies, path, axes, &sweep::grid(axes))?;
    let mut out = Vec::with_capacity(folds.len());
    for fold in folds {
        let train = window(&events, (fold.train_from, fold.train_to));
        let mut rows: Vec<Row> = jobs
            .par_iter()
            .map(|t| t.row(run_events(cfg, &t.defs, settings, train, false)))
            .collect();
        rows.retain(|r| {
            r.result.metrics.round_trips >= spec.min_trades
                && sweep::metric(r, &spec.objective).is_some()
        });
        sweep::sort(&mut rows, &spec.objective);
        let Some(best) = rows.into_iter().next() else {
            out.push(WfoFold {
                fold,
                chosen: None,
                test: None,
                refused: Some(format!(
                    "no trial made {} round trips with a defined {} in training",
                    spec.min_trades, spec.objective
                )),
            });
            on_done();
            continue;
        };
        let trial = &jobs[best.index];
        let test = window(&events, (fold.test_from, fold.test_to));
        out.push(WfoFold {
            fold,
            test: Some(trial.row(run_events(cfg, &trial.defs, settings, test, false))),
            chosen: Some(best),
            refused: None,
        });
        on_done();
    }
    Ok(out)
}

/// What `njord-backtest wfo` writes to `wfo.json`: every fold, the stitched out-of-sample
/// equity and the walk-forward efficiency.
pub fn wfo_report(
    axes: &[Axis],
    spec: &WfoSpec,
    interval_ns: i64,
    folds: &[WfoFold],
) -> serde_json::Value {
    use crate::time::format_rfc3339 as t;
    let mut oos_returns = Vec::new();
    let mut rates = Vec::new();
    let list: Vec<serde_json::Value> = folds
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let w = &f.fold;
            let mut v = serde_json::json!({
                "fold": k + 1,
                "train": [t(w.train_from), t(w.train_to)],
                "test": [t(w.test_from), t(w.test_to)],
            });
            if let (Some(is), Some(oos)) = (&f.chosen, &f.test) {
                let params: serde_json::Map<String, serde_json::Value> = axes
                    .iter()
                    .zip(&is.values)
                    .map(|(a, x)| (a.label(), serde_json::Value::String(x.clone())))
                    .collect();
                let (m, o) = (&is.result.metrics, &oos.result.metrics);
                v["trial"] = (is.index + 1).into();
                v["params"] = params.into();
                v["in_sample"] = serde_json::json!({
                    "objective": sweep::metric(is, &spec.objective),
                    "total_return": m.total_return,
                    "sharpe": m.sharpe,
                    "max_drawdown": m.max_drawdown,
                    "round_trips": m.round_trips,
                });
                v["out_of_sample"] = serde_json::json!({
                    "objective": sweep::metric(oos, &spec.objective),
                    "total_return": o.total_return,
                    "sharpe": o.sharpe,
                    "max_drawdown": o.max_drawdown,
                    "round_trips": o.round_trips,
                });
                oos_returns.extend_from_slice(&oos.returns);
                rates.push((
                    m.total_return,
                    w.train_to - w.train_from,
                    o.total_return,
                    w.test_to - w.test_from,
                ));
            }
            if let Some(why) = &f.refused {
                v["refused"] = why.clone().into();
            }
            v
        })
        .collect();
    let refused = folds.iter().filter(|f| f.refused.is_some()).count();
    serde_json::json!({
        "objective": spec.objective,
        "anchored": spec.anchored,
        "min_trades": spec.min_trades,
        "folds": list,
        "refused": refused,
        "stitched_out_of_sample": walkforward::stitch(&oos_returns, interval_ns),
        "efficiency": walkforward::efficiency(&rates),
    })
}

/// The report as a table for the terminal.
pub fn wfo_table(report: &serde_json::Value) -> String {
    let mut out = format!(
        "{:<5} {:<10} {:<10} {:<28} {:>10} {:>10} {:>10} {:>7}\n",
        "fold", "test from", "test to", "params", "IS obj", "OOS ret", "OOS obj", "trades"
    );
    for f in report["folds"].as_array().into_iter().flatten() {
        let day = |i: usize| {
            f["test"][i]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(10)
                .collect::<String>()
        };
        let params = match f["params"].as_object() {
            Some(p) => p
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(","),
            None => format!("refused: {}", f["refused"].as_str().unwrap_or("")),
        };
        out += &format!(
            "{:<5} {:<10} {:<10} {:<28} {:>10} {:>10} {:>10} {:>7}\n",
            f["fold"],
            day(0),
            day(1),
            params,
            num(&f["in_sample"]["objective"]),
            pct(&f["out_of_sample"]["total_return"]),
            num(&f["out_of_sample"]["objective"]),
            f["out_of_sample"]["round_trips"]
                .as_u64()
                .map_or("-".into(), |n| n.to_string())
        );
    }
    let s = &report["stitched_out_of_sample"];
    out += &format!(
        "out of sample, stitched: return {}, max drawdown {}, sharpe {}; walk-forward efficiency {}; {} folds refused\n",
        pct(&s["total_return"]),
        pct(&s["max_drawdown"]),
        num(&s["sharpe"]),
        num(&report["efficiency"]),
        report["refused"]
    );
    out
}

/// Where a sweep keeps each trial's result (`{out}/trials/trial-K.json`), so that shards
/// can share the work and a rerun skips what is done. A trial's file holds its hash (of the
/// configuration, the settings and its strategies file) and the tape's: a file whose hashes
/// differ is run again.
pub struct TrialStore {
    pub dir: PathBuf,
    /// SHA-256 of the tape's files, in order.
    pub tape_hash: String,
    /// SHA-256 of the effective configuration and the run settings.
    pub config_hash: String,
}

/// `--shard I/N`: this worker runs the trials k (from 0) with k mod N = I.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether trial `k` (from 0) is this shard's.
    pub fn owns(self, k: usize) -> bool {
        k as u64 % self.count == self.index
    }

    /// How many of `n` trials are this shard's.
    pub fn len_of(self, n: usize) -> u64 {
        (n as u64).saturating_sub(self.index).div_ceil(self.count)
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

impl TrialStore {
    /// The store of `out`, hashing the tape's files (a worker checks the tape it was given).
    pub fn open(
        out: &Path,
        tape: &Tape,
        cfg: &Config,
        settings: &Settings,
    ) -> Result<Self, String> {
        use sha2::Digest;
        let series = crate::journal::resolve(&tape.files).map_err(|e| e.to_string())?;
        let mut h = sha2::Sha256::new();
        for file in series.iter().flat_map(|s| &s.files) {
            crate::journal::hash_file(file, &mut h)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
        let config = serde_json::to_string(cfg).map_err(|e| e.to_string())?;
        let settings = format!("{settings:?} {:?}", tape.filter);
        Ok(TrialStore {
            dir: out.join("trials"),
            tape_hash: hex::encode(h.finalize()),
            config_hash: sha256_hex(&[config.as_bytes(), settings.as_bytes(), build().as_bytes()]),
        })
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("trial-{}.json", index + 1))
    }

    fn trial_hash(&self, text: &str) -> String {
        sha256_hex(&[self.config_hash.as_bytes(), text.as_bytes()])
    }

    /// The stored row of trial `index`, when its hashes are these.
    fn load(&self, index: usize, hash: &str) -> Option<Row> {
        let text = std::fs::read_to_string(self.path(index)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        if v["hash"] != hash || v["tape_hash"] != self.tape_hash.as_str() {
            return None;
        }
        let values = v["values"]
            .as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<_>>()?;
        Some(Row {
            index,
            values,
            result: RunResult {
                metrics: serde_json::from_value(v["metrics"].clone()).ok()?,
                counts: serde_json::from_value(v["counts"].clone()).ok()?,
                portfolio: None,
                tca: None,
            },
            returns: serde_json::from_value(v["returns"].clone()).ok()?,
        })
    }

    /// Writes a trial's row (through a temporary file, so a crash leaves none half written).
    fn save(&self, row: &Row, hash: &str) -> Result<(), String> {
        let v = serde_json::json!({
            "trial": row.index + 1,
            "hash": hash,
            "tape_hash": self.tape_hash,
            "values": row.values,
            "metrics": row.result.metrics,
            "counts": row.result.counts,
            "returns": row.returns,
        });
        let path = self.path(row.index);
        // A temporary file of its own: two workers (pods, a paused queue worker and the one
        // that took its trial over) may store the same trial at once.
        std::fs::create_dir_all(&self.dir)
            .and_then(|_| tempfile::NamedTempFile::new_in(&self.dir))
            .and_then(|mut tmp| {
                use std::os::unix::fs::PermissionsExt;
                tmp.write_all((v.to_string() + "\n").as_bytes())?;
                // Readable by workers running as other users on a shared --out.
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?;
                tmp.persist(&path).map(drop).map_err(|e| e.error)
            })
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// The build of this program: its version and its executable's size and modification time,
/// so that results of another build (another engine, other fees) are never reused.
fn build() -> String {
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    let (len, modified) = match exe {
        Ok(m) => (m.len(), m.modified().ok()),
        Err(_) => (0, None),
    };
    format!("{} {len} {modified:?}", env!("CARGO_PKG_VERSION"))
}

/// What a sharded (or resumed) sweep did.
#[derive(Debug, Default)]
pub struct SweepDone {
    /// Every trial with a result, in the sweep's order; complete when nothing is `missing`.
    pub rows: Vec<Row>,
    /// This worker's trials run now, and those found already stored.
    pub ran: usize,
    pub skipped: usize,
    /// Trials (from 1) that are other workers' and not stored yet.
    pub missing: Vec<usize>,
}

/// A sweep's trials, each with its hash in the store, ready to run in this process, in
/// shards or from a queue. Its outputs are the same however its trials were run: every row
/// is read back from the store.
pub struct Sweep<'a> {
    pub cfg: &'a Config,
    pub axes: &'a [Axis],
    pub settings: &'a Settings,
    pub tape: &'a Tape,
    pub store: &'a TrialStore,
    jobs: Vec<(Trial, String)>,
}

impl<'a> Sweep<'a> {
    /// The trials of `combos` (value indices of `axes`, in the order they are numbered).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: &'a Config,
        strategies: &str,
        path: &str,
        axes: &'a [Axis],
        combos: &[Vec<usize>],
        settings: &'a Settings,
        tape: &'a Tape,
        store: &'a TrialStore,
    ) -> Result<Self, String> {
        let jobs = trials(cfg, strategies, path, axes, combos)?
            .into_iter()
            .map(|t| {
                let hash = store.trial_hash(&t.text);
                (t, hash)
            })
            .collect();
        Ok(Sweep {
            cfg,
            axes,
            settings,
            tape,
            store,
            jobs,
        })
    }

    pub fn trial_count(&self) -> usize {
        self.jobs.len()
    }

    /// The trial hashes, in order: what identifies this sweep among others.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        self.jobs.iter().map(|(_, h)| h.as_str())
    }

    /// Trial `index`'s hash.
    pub fn hash(&self, index: usize) -> Option<&str> {
        self.jobs.get(index).map(|(_, h)| h.as_str())
    }

    /// Trial `index`'s row as stored, when it is.
    pub fn stored(&self, index: usize) -> Option<Row> {
        let (t, hash) = self.jobs.get(index)?;
        self.store.load(t.index, hash)
    }

    /// The tape's events, decoded once for every trial this worker runs.
    pub fn events(&self) -> Result<Vec<Event<'static>>, String> {
        load_events(self.tape)
    }

    /// Runs trial `index` over `events` and stores its row.
    pub fn run_one(&self, index: usize, events: &[Event<'static>]) -> Result<(), String> {
        let (trial, hash) = &self.jobs[index];
        let row = run_trial(self.cfg, self.axes, self.settings, events, trial);
        self.store.save(&row, hash)
    }

    /// Runs this shard's trials that are not stored yet (in parallel) and stores each;
    /// `on_done` is called once for each of this shard's trials found stored, then after each
    /// one run. With `merge_only`, runs none.
    pub fn run_shard(
        &self,
        shard: Shard,
        merge_only: bool,
        on_done: &(dyn Fn() + Sync),
    ) -> Result<SweepDone, String> {
        use rayon::prelude::*;
        let ours = |index: usize| !merge_only && shard.owns(index);
        // Each stored trial is read once; the ones run now are read back once written.
        let mut stored: Vec<Option<Row>> =
            (0..self.trial_count()).map(|i| self.stored(i)).collect();
        let todo: Vec<usize> = (0..self.trial_count())
            .filter(|&i| ours(i) && stored[i].is_none())
            .collect();
        let skipped = (0..self.trial_count())
            .filter(|&i| ours(i) && stored[i].is_some())
            .count();
        (0..skipped).for_each(|_| on_done());
        if !todo.is_empty() {
            let events = self.events()?;
            todo.par_iter()
                .map(|&i| {
                    self.run_one(i, &events)?;
                    on_done();
                    Ok(())
                })
                .collect::<Result<Vec<()>, String>>()?;
        }
        for &i in &todo {
            stored[i] = self.stored(i);
        }
        Ok(self.collect(stored, todo.len(), skipped))
    }

    /// The rows of `stored`, with the values as this sweep writes them (another spelling may
    /// hash the same), and the trials not stored.
    pub fn collect(&self, stored: Vec<Option<Row>>, ran: usize, skipped: usize) -> SweepDone {
        let mut done = SweepDone {
            ran,
            skipped,
            ..SweepDone::default()
        };
        for ((Trial { index, values, .. }, _), row) in self.jobs.iter().zip(stored) {
            match row {
                Some(row) => done.rows.push(Row {
                    values: values.clone(),
                    ..row
                }),
                None => done.missing.push(index + 1),
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn a_shard_counts_the_trials_it_owns() {
        for count in 1..=7 {
            for index in 0..count {
                let shard = Shard { index, count };
                for n in 0..30 {
                    let owned = (0..n).filter(|&k| shard.owns(k)).count() as u64;
                    assert_eq!(shard.len_of(n), owned, "{index}/{count} of {n}");
                }
            }
        }
    }
}
