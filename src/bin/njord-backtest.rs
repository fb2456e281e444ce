//! `njord-backtest`: the strategy, risk and paper cores over a tape. See `njord-backtest --help`.

use clap::Parser;
use njord::app::{self, EXIT_USAGE};
use njord::backtest::engine::{Settings, paper_config};
use njord::backtest::report::{self, Chart, ReportInput};
use njord::backtest::run::{self, FileSink, Tape};
use njord::backtest::sweep;
use njord::cli::backtest::{Cli, Cmd, RunArgs};
use njord::config::Loaded;
use njord::replay::Filter;
use njord::strategy::manager;
use njord::strategy::registry::Registry;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let args = match &cli.cmd {
        Some(Cmd::Sweep(s)) => &s.run,
        None => &cli.run,
    };
    let strategies_path = args.strategies.display().to_string();
    let strategies = match std::fs::read_to_string(&args.strategies) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {strategies_path}: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (run_loaded, settings, tape) = prepare(&loaded, args);
    let cfg = &run_loaded.config;
    match &cli.cmd {
        Some(Cmd::Sweep(s)) => {
            let mut rows = match run::sweep(
                cfg,
                &strategies,
                &strategies_path,
                &s.params,
                &settings,
                &tape,
            ) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            sweep::sort(&mut rows, &s.sort);
            print!("{}", sweep::table(&s.params, &rows));
            let csv = args.out.join("sweep.csv");
            let written = std::fs::create_dir_all(&args.out)
                .and_then(|_| std::fs::write(&csv, sweep::csv(&s.params, &rows)));
            if let Err(e) = written {
                eprintln!("error: cannot write {}: {e}", csv.display());
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        None => {
            let registry = Registry::builtin();
            let defs =
                match manager::parse(&strategies, &strategies_path, &registry, &cfg.redis.topics) {
                    Ok(d) => d,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(EXIT_USAGE);
                    }
                };
            single(&cli, args, &run_loaded, &strategies, defs, &settings, &tape)
        }
    }
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
    };
    let tape = Tape {
        files: args.tape.clone(),
        filter: Filter {
            from: args.from,
            to: args.to,
            symbols: args.symbol.clone(),
            kinds: args.kind.clone(),
        },
    };
    (l, settings, tape)
}

fn single(
    cli: &Cli,
    args: &RunArgs,
    loaded: &Loaded,
    strategies: &str,
    defs: Vec<manager::StrategyDef>,
    settings: &Settings,
    tape: &Tape,
) -> ExitCode {
    let chart = cli.report.as_ref().map(|_| Chart::new(settings.capital));
    let mut sink = match FileSink::create(&args.out, chart) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot write to {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    let progress = (!args.no_progress && !cli.common.quiet && std::io::stderr().is_terminal())
        .then(|| progress_bar(tape));
    let mut on_progress = |events: u64, bytes: u64| {
        if let Some(pb) = &progress {
            pb.set_position(bytes);
            pb.set_message(format!("{events} events"));
        }
    };
    let outcome = run::run(
        &loaded.config,
        defs,
        settings,
        tape,
        &mut sink,
        &mut on_progress,
    );
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let (result, stats) = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if stats.bad > 0 {
        tracing::warn!("{} bad lines skipped", stats.bad);
    }
    let chart = match sink.finish() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: writing {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    let json = serde_json::to_string_pretty(&result).unwrap_or_default() + "\n";
    let metrics_path = args.out.join("metrics.json");
    if let Err(e) = std::fs::write(&metrics_path, &json) {
        eprintln!("error: cannot write {}: {e}", metrics_path.display());
        return ExitCode::FAILURE;
    }
    if let (Some(path), Some(chart)) = (&cli.report, chart) {
        let paper = &loaded.config.paper;
        let assumptions = vec![
            format!(
                "Fees: maker {} bps, taker {} bps of notional, in the quote asset.",
                paper.maker_fee_bps, paper.taker_fee_bps
            ),
            format!(
                "Slippage: taker fills move {} bps against the order.",
                paper.slippage_bps
            ),
            "Market orders fill at the last trade price as taker; limit orders fill at once at the \
last price when marketable (taker), else rest and fill at their limit (maker) when a later trade \
crosses them."
                .into(),
            format!(
                "Resting fills: {}.",
                if settings.partial_fills {
                    "capped at the crossing trade's quantity"
                } else {
                    "the whole remaining quantity"
                }
            ),
            format!(
                "Spot balances from the capital; short selling {}.",
                if paper.allow_short { "allowed" } else { "refused" }
            ),
            "Equity is valued at the last trade price; no funding, borrow cost or latency.".into(),
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
        });
        if let Err(e) = std::fs::write(path, html) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if cli.json {
        print!("{json}");
    } else {
        print!("{}", report::table(&result.metrics, &result.counts));
    }
    ExitCode::SUCCESS
}

fn progress_bar(tape: &Tape) -> indicatif::ProgressBar {
    let total = njord::journal::resolve(&tape.files)
        .map(|series| {
            series
                .iter()
                .flat_map(|s| &s.files)
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
    ) {
        pb.set_style(style);
    }
    pb
}
