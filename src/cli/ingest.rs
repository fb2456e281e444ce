//! `njord-ingest`: live market data from the venue as `trade`, `ticker` and `book` events.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::bus::Reconnect;
use crate::ingest::Streams;
use crate::ingest::stream::{self, Options};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "njord-ingest",
    version,
    about = "Stream live Binance.US market data as NDJSON trade, ticker and book events: de-duplicated, gap-recovered, journaled",
    after_help = "Trades are journaled to {journal.dir}/md.trades.{SYM}.ndjson with the exact bytes \
written to stdout (or published), so replaying a journal reproduces the stream. The connection is \
re-established with backoff after any failure; trades missed meanwhile are fetched from REST and \
emitted in order, and a gap that cannot be filled is reported with its trade id range. \
Counters (frames, trades, duplicates, gaps, reconnects, …) and the frame-to-output latency \
(out_latency_p50_us/p99_us/max_us: from a frame's receipt to its line written to stdout or \
published) are logged every ingest.stats_interval_secs and at exit.\n\n\
Examples:\n  \
    njord-ingest --symbol ATOM/USDT | njord-strat | njord-risk | njord-paper\n  \
    njord-ingest --symbol ATOM/USDT --symbol BTC/USDT --streams trades --bus redis://127.0.0.1:6379/0\n  \
    # rehearse offline against the simulator:\n  \
    njord-sim gen --symbol ATOM/USDT --count 10000 --seed 7 > tape.ndjson\n  \
    njord-sim serve --tape tape.ndjson --speed 10x   # prints rest_url and ws_url\n  \
    njord-ingest --symbol ATOM/USDT --rest-url http://127.0.0.1:P --ws-url ws://127.0.0.1:Q\n\n\
Exit status: 0 after SIGINT/SIGTERM or a closed stdout, 2 for usage errors (an unknown symbol), \
1 for runtime failures."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Venue to ingest from (default: exchange.venue; only binanceus is supported)
    #[arg(long, value_name = "VENUE")]
    pub venue: Option<String>,
    /// Symbol as BASE/QUOTE, repeatable (default: exchange.symbols)
    #[arg(long = "symbol", value_name = "BASE/QUOTE")]
    pub symbols: Vec<String>,
    /// Streams to ingest, comma-separated: trades, ticker, book
    #[arg(long, value_name = "LIST", default_value = "trades,ticker,book", value_parser = parse_streams)]
    pub streams: Streams,
    /// REST base URL (default: exchange.rest_url)
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_http_url)]
    pub rest_url: Option<String>,
    /// WebSocket base URL (default: exchange.ws_url)
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_ws_url)]
    pub ws_url: Option<String>,
    /// Publish on Redis (redis://HOST:PORT/DB) to md.trades.{symbol}, md.ticker.{symbol} and
    /// md.book.{symbol} instead of writing stdout
    #[arg(long, value_name = "URL", value_parser = crate::config::parse_redis_url)]
    pub bus: Option<String>,
    #[command(flatten)]
    pub metrics: super::MetricsArgs,
}

fn parse_streams(s: &str) -> Result<Streams, String> {
    s.parse()
}

/// Streams the venue's market data to stdout or Redis until stopped.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let cfg = &loaded.config;
    let venue = cli.venue.unwrap_or_else(|| cfg.exchange.venue.clone());
    if venue != "binanceus" {
        return Err(Error::Usage(format!(
            "venue `{venue}` is not supported; use binanceus"
        )));
    }
    let pairs = if cli.symbols.is_empty() {
        cfg.exchange.symbols.clone()
    } else {
        cli.symbols
    };
    if pairs.is_empty() {
        return Err(Error::usage(
            "no symbol: give --symbol ATOM/USDT or set exchange.symbols",
        ));
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
    let mut tele = app::Telemetry::start("njord-ingest", &cli.metrics, &loaded, true)?;
    let outcome = stream::run(opts, tele.obs.take());
    tele.finish()?;
    outcome.map(drop)
}
