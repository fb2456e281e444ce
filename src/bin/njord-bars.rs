//! `njord-bars`: trades in, OHLCV bars out. See `njord-bars --help`.

use clap::Parser;
use njord::bars::{BarAggregator, BarsStage, Timeframe};
use njord::cli::bars::Cli;
use njord::journal::Journals;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let tfs = match Timeframe::parse_list(&cli.timeframes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --timeframes: {e}");
            return ExitCode::from(njord::app::EXIT_USAGE);
        }
    };
    let cfg = &loaded.config;
    let journals = (!cli.no_journal).then(|| Journals::from_config(&cfg.journal));
    let grace_ms = cli.grace_ms.unwrap_or(cfg.bars.grace_ms);
    let grace_ns = i64::try_from(grace_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let mut stage = BarsStage::new(BarAggregator::new(tfs, cli.fill_gaps), journals, grace_ns);
    njord::app::run_stage("njord-bars", &mut stage, &cli.stage, &loaded)
}
