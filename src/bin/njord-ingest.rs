//! `njord-ingest`: live market data as NDJSON events. See `njord-ingest --help`.

use clap::Parser;
use njord::bus::Reconnect;
use njord::cli::ingest::Cli;
use njord::ingest::stream::{self, Options};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match njord::app::start(&cli.common) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let cfg = &loaded.config;
    let venue = cli.venue.unwrap_or_else(|| cfg.exchange.venue.clone());
    if venue != "binanceus" {
        tracing::error!("venue `{venue}` is not supported; use binanceus");
        return ExitCode::from(njord::app::EXIT_USAGE);
    }
    let pairs = if cli.symbols.is_empty() {
        cfg.exchange.symbols.clone()
    } else {
        cli.symbols
    };
    if pairs.is_empty() {
        tracing::error!("no symbol: give --symbol ATOM/USDT or set exchange.symbols");
        return ExitCode::from(njord::app::EXIT_USAGE);
    }
    let opts = Options {
        venue,
        rest_url: cli
            .rest_url
            .unwrap_or_else(|| cfg.exchange.rest_url.clone()),
        ws_url: cli.ws_url.unwrap_or_else(|| cfg.exchange.ws_url.clone()),
        pairs,
        streams: cli.streams,
        bus: cli.bus,
        redis_reconnect: Reconnect::from_config(&cfg.redis),
        topics: cfg.redis.topics.clone(),
        journal: cfg.journal.clone(),
        cfg: cfg.ingest.clone(),
    };
    match stream::run(opts) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("njord-ingest: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
