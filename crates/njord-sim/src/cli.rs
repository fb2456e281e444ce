//! `njord-sim`: a Binance.US-compatible venue on loopback, and the tape generator.

use crate::journal::Journal;
use crate::{Settings, Speed, faults, tape};
use clap::{Args, Parser, Subcommand};
use njord::app::Error;
use njord::cli::CommonArgs;
use njord::synth::{Model, Path, YEAR_S};
use rust_decimal::Decimal;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "njord-sim",
    version,
    about = "Simulate a Binance.US venue on 127.0.0.1 (REST, WebSocket, user data stream), driven by a trade tape, with fault injection",
    after_help = "Examples:\n  \
    njord-sim gen --symbol ATOM/USDT --count 100000 --seed 7 > tape.ndjson\n  \
    njord-sim serve --tape tape.ndjson --speed 10x --journal sim.journal.ndjson\n  \
    # prints {\"kind\":\"sim_ready\",\"rest_url\":\"http://127.0.0.1:P\",\"ws_url\":\"ws://127.0.0.1:Q\"}\n  \
    curl -s \"$REST/api/v3/ticker/price?symbol=ATOMUSDT\"\n  \
    curl -s -XPOST \"$REST/control/fault\" -d '{\"fault\":\"http_error\",\"path\":\"/api/v3/order\",\"status\":503,\"count\":2}'\n  \
    njord-sim serve --tape tape.ndjson --speed step &  # then: curl -XPOST $REST/control/step -d '{\"trades\":10}'\n\n\
The default API key pair is Binance's documentation example (key vmPUZE6m…, secret NhqPtmdS…), \
so its published signatures verify. Faults (scenario file `{\"faults\":[…]}` or POST /control/fault): \
ws_drop_after, stop_pings, ignore_pongs, http_error, order_then, delay, clock_skew, \
listen_key_expire, duplicate_trades, reorder_trades; POST /control/clear removes them all."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Serve the venue on 127.0.0.1 and print one `sim_ready` JSON line on stdout
    Serve(Box<ServeArgs>),
    /// Write a realistic trade tape (NDJSON `trade` events) to stdout; same seed, same bytes
    Gen(Box<GenArgs>),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// NDJSON trade tape (plain or gzip), e.g. from `njord-sim gen`
    #[arg(long, value_name = "FILE")]
    pub tape: PathBuf,
    /// Symbols to list (default: every symbol on the tape)
    #[arg(long, value_name = "ATOM/USDT,…", value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Tape speed: max (as fast as subscribers read), 1x, 10x, 0.5x, or step (POST /control/step)
    #[arg(long, default_value = "1x", value_parser = parse_speed)]
    pub speed: Speed,
    /// Faults to switch on at start: {"faults":[{"fault":"stop_pings"},…]} (JSON or YAML)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// REST port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub rest_port: u16,
    #[command(flatten)]
    pub metrics: njord::cli::MetricsArgs,
    /// WebSocket port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub ws_port: u16,
    /// Request journal: every request, response, signature verdict and WebSocket frame
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Accepted API key (default: Binance's documentation example key)
    #[arg(long, env = "NJORD_SIM_API_KEY", value_name = "KEY")]
    pub api_key: Option<String>,
    /// Its secret; prefer the environment variable (default: the documentation example secret)
    #[arg(
        long,
        env = "NJORD_SIM_API_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub api_secret: Option<String>,
    /// Accept any `timestamp` (signatures are still checked)
    #[arg(long)]
    pub no_timestamp_check: bool,
    /// Start with the server clock this many ms ahead (negative: behind)
    #[arg(
        long,
        default_value_t = 0,
        allow_hyphen_values = true,
        value_name = "MS"
    )]
    pub clock_skew_ms: i64,
    /// Restart the tape at its end (trade ids and times keep increasing)
    #[arg(long = "loop")]
    pub loop_tape: bool,
    /// Hold the tape until the first market-data subscription
    #[arg(long)]
    pub start_on_subscribe: bool,
    /// Maker commission rate
    #[arg(long, default_value = "0.001", value_name = "RATE")]
    pub maker_fee: rust_decimal::Decimal,
    /// Taker commission rate
    #[arg(long, default_value = "0.001", value_name = "RATE")]
    pub taker_fee: rust_decimal::Decimal,
    /// Levels per side of the synthetic book around the last price (at most 5000)
    #[arg(long, default_value_t = 20)]
    pub book_levels: usize,
    /// Quantity at each level of the synthetic book
    #[arg(long, default_value = "100", value_name = "QTY")]
    pub book_qty: rust_decimal::Decimal,
    /// Resting limits also fill when the tape trades at (not only through) their price
    #[arg(long)]
    pub fill_at_touch: bool,
    /// Starting balance, repeatable (default: 10000 of each quote asset, 100 of each base)
    #[arg(long = "balance", value_name = "ASSET=AMOUNT", value_parser = parse_balance)]
    pub balances: Vec<(String, rust_decimal::Decimal)>,
    /// NOTIONAL filter minimum of every symbol
    #[arg(long, default_value = "1", value_name = "QUOTE")]
    pub min_notional: rust_decimal::Decimal,
    /// REQUEST_WEIGHT per minute
    #[arg(long, default_value_t = 1200)]
    pub weight_limit: u32,
    /// ORDERS per 10 seconds
    #[arg(long, default_value_t = 100)]
    pub orders_per_10s: u32,
    /// ORDERS per day
    #[arg(long, default_value_t = 200_000)]
    pub orders_per_day: u32,
    /// Requests answered 429 in one minute before the IP is banned (418)
    #[arg(long, default_value_t = 5)]
    pub ban_after: u32,
    /// Length of a ban
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub ban_secs: u32,
    /// Interval of server pings
    #[arg(long, default_value_t = 180_000, value_name = "MS")]
    pub ping_interval_ms: u64,
    /// A connection that has not answered a ping within this time is dropped
    #[arg(long, default_value_t = 600_000, value_name = "MS")]
    pub pong_timeout_ms: u64,
    /// Inbound WebSocket messages per second before a connection is dropped
    #[arg(long, default_value_t = 5)]
    pub ws_msg_limit: u32,
    /// A listen key not kept alive expires after this long
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub listen_key_ttl_secs: u32,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Symbol, BASE/QUOTE
    #[arg(long, value_name = "ATOM/USDT")]
    pub symbol: String,
    /// Number of trades
    #[arg(long, default_value_t = 10_000)]
    pub count: u64,
    /// Random seed; the same seed gives the same bytes
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time of the first trade, UTC (2024-01-01 or 2024-01-01T09:30:00Z)
    #[arg(long, default_value = "2024-01-01T00:00:00Z", value_name = "ISO")]
    pub start: String,
    /// Starting price
    #[arg(long, default_value = "10", value_name = "PRICE")]
    pub price: rust_decimal::Decimal,
    /// Price grid
    #[arg(long, default_value = "0.001", value_name = "TICK")]
    pub tick: rust_decimal::Decimal,
    /// Price model: `ticks` (a tick walk with bursts and quiet spells), or one trade every
    /// --interval from `gbm`, `jump` (Merton), `garch` (GARCH(1,1)), `regime` (two volatility
    /// states) or `bootstrap` (blocks of the returns of the --from tape)
    #[arg(long, value_enum, default_value = "ticks")]
    pub model: GenModel,
    /// Time between trades of a model other than ticks (1s, 1m, 1h, …)
    #[arg(long, default_value = "1s", value_parser = njord::backtest::metrics::parse_interval)]
    pub interval: i64,
    /// Annual drift of the log price (gbm, jump, garch, regime)
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub mu: f64,
    /// Annual volatility (gbm, jump; regime: of the calm state)
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub sigma: f64,
    /// regime: annual volatility of the volatile state
    #[arg(long, default_value_t = 2.4, allow_negative_numbers = true)]
    pub sigma_high: f64,
    /// regime: the probability per trade of leaving the calm state, and the volatile state
    #[arg(long, value_name = "P_CALM,P_VOLATILE", default_value = "0.0005,0.002", value_parser = parse_pair)]
    pub switch: [f64; 2],
    /// jump: jumps per year
    #[arg(long, default_value_t = 50.0, allow_negative_numbers = true)]
    pub jump_rate: f64,
    /// jump: mean of a jump's log size
    #[arg(long, default_value_t = -0.02, allow_negative_numbers = true)]
    pub jump_mean: f64,
    /// jump: standard deviation of a jump's log size
    #[arg(long, default_value_t = 0.03, allow_negative_numbers = true)]
    pub jump_sd: f64,
    /// garch: ω, the constant of the variance per trade
    #[arg(long, default_value_t = 1e-9, allow_negative_numbers = true)]
    pub omega: f64,
    /// garch: α, the weight of the last squared shock
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// garch: β, the weight of the last variance
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub beta: f64,
    /// bootstrap: the tape whose --symbol trade-to-trade log returns are resampled
    #[arg(long, value_name = "TAPE")]
    pub from: Option<PathBuf>,
    /// bootstrap: returns per block
    #[arg(long, default_value_t = 100)]
    pub block: usize,
}

/// `njord-sim gen --model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenModel {
    Ticks,
    Gbm,
    Jump,
    Garch,
    Regime,
    Bootstrap,
}

fn parse_pair(s: &str) -> Result<[f64; 2], String> {
    let bad = || format!("`{s}` is not two numbers A,B (e.g. 0.0005,0.002)");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    Ok([
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ])
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    s.parse()
}

fn parse_balance(s: &str) -> Result<(String, rust_decimal::Decimal), String> {
    let (a, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not ASSET=AMOUNT (e.g. USDT=10000)"))?;
    let amount = njord::num::parse_decimal(v)?;
    if a.is_empty() || amount.is_sign_negative() {
        return Err(format!(
            "`{s}` is not ASSET=AMOUNT with a non-negative amount"
        ));
    }
    Ok((a.to_string(), amount))
}

/// Writes a synthetic tape, or serves the venue until stopped.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = njord::app::start(&cli.common)?;
    match cli.cmd {
        Cmd::Gen(g) => gen_tape(&g),
        Cmd::Serve(s) => serve(*s, &loaded),
    }
}

fn gen_tape(g: &GenArgs) -> Result<(), Error> {
    let generator = Generator::new(g)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match generator.write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `| head` closes stdout: end quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Failed(format!(
            "njord-sim gen: cannot write the tape: {e}"
        ))),
    }
}

/// A `gen` whose arguments are checked, ready to write its tape.
pub struct Generator {
    spec: tape::GenSpec,
    path: Option<Path>,
    interval: i64,
}

impl Generator {
    pub fn new(g: &GenArgs) -> Result<Self, Error> {
        if !g.symbol.contains('/') {
            return Err(Error::Usage(format!(
                "njord-sim gen: symbol `{}` must be written BASE/QUOTE, e.g. ATOM/USDT",
                g.symbol
            )));
        }
        let start_ns = tape::parse_iso(&g.start)
            .map_err(|e| Error::Usage(format!("njord-sim gen: --start: {e}")))?;
        // Prices are whole ticks up to 10¹²: a tick finer than 10⁻¹² or a price beyond 10¹²
        // would leave exact decimals.
        let (max_price, min_tick) = (Decimal::from(1_000_000_000_000u64), Decimal::new(1, 12));
        if !(g.price > Decimal::ZERO && g.price <= max_price) {
            return Err(Error::Usage(format!(
                "njord-sim gen: --price {} must be above 0 and at most 1e12",
                g.price
            )));
        }
        if g.tick > Decimal::ZERO && (g.tick < min_tick || g.tick > g.price) {
            return Err(Error::Usage(format!(
                "njord-sim gen: --tick {} must be from 1e-12 to --price",
                g.tick
            )));
        }
        let spec = tape::GenSpec {
            symbol: g.symbol.clone(),
            count: g.count,
            seed: g.seed,
            start_ns,
            price: g.price,
            tick: g.tick,
        };
        let usage = |e: String| Error::Usage(format!("njord-sim gen --model: {e}"));
        let model = match g.model {
            GenModel::Ticks => None,
            GenModel::Gbm => Some(Model::Gbm {
                mu: g.mu,
                sigma: g.sigma,
            }),
            GenModel::Jump => Some(Model::Jump {
                mu: g.mu,
                sigma: g.sigma,
                rate: g.jump_rate,
                jump_mean: g.jump_mean,
                jump_sd: g.jump_sd,
            }),
            GenModel::Garch => Some(Model::Garch {
                mu: g.mu,
                omega: g.omega,
                alpha: g.alpha,
                beta: g.beta,
            }),
            GenModel::Regime => Some(Model::Regime {
                mu: g.mu,
                sigma: [g.sigma, g.sigma_high],
                switch: g.switch,
            }),
            GenModel::Bootstrap => {
                let from = g
                    .from
                    .as_ref()
                    .ok_or_else(|| usage("bootstrap needs --from TAPE".into()))?;
                let returns =
                    tape::log_returns(from, &g.symbol).map_err(|e| usage(e.to_string()))?;
                Some(Model::Bootstrap {
                    returns,
                    block: g.block,
                })
            }
        };
        let path = match model {
            Some(m) => {
                let dt = g.interval as f64 / 1e9 / YEAR_S;
                Some(Path::new(m, dt, g.seed).map_err(usage)?)
            }
            None => None,
        };
        Ok(Generator {
            spec,
            path,
            interval: g.interval,
        })
    }

    /// Writes the tape to `out`.
    pub fn write(self, out: &mut impl Write) -> std::io::Result<()> {
        match self.path {
            Some(mut p) => tape::generate_model(&self.spec, &mut p, self.interval, out),
            None => tape::generate(&self.spec, out),
        }
    }
}

fn settings(a: &ServeArgs) -> Settings {
    Settings {
        api_keys: vec![(
            a.api_key
                .clone()
                .unwrap_or_else(|| crate::DEFAULT_API_KEY.into()),
            a.api_secret
                .clone()
                .unwrap_or_else(|| crate::DEFAULT_API_SECRET.into()),
        )],
        check_timestamp: !a.no_timestamp_check,
        speed: a.speed,
        loop_tape: a.loop_tape,
        start_on_subscribe: a.start_on_subscribe,
        knobs: crate::matching::Knobs {
            maker_fee: a.maker_fee,
            taker_fee: a.taker_fee,
            book_levels: a.book_levels.clamp(1, 5000),
            book_qty: a.book_qty,
            fill_at_touch: a.fill_at_touch,
        },
        balances: a.balances.iter().cloned().collect(),
        limits: crate::limits::LimitConfig {
            weight_per_min: a.weight_limit,
            orders_per_10s: a.orders_per_10s,
            orders_per_day: a.orders_per_day,
            ban_after: a.ban_after,
            ban_ms: i64::from(a.ban_secs) * 1000,
        },
        ping_interval: Duration::from_millis(a.ping_interval_ms.max(1)),
        pong_timeout: Duration::from_millis(a.pong_timeout_ms.max(1)),
        ws_msgs_per_sec: a.ws_msg_limit,
        listen_key_ttl_ms: i64::from(a.listen_key_ttl_secs) * 1000,
        min_notional: a.min_notional,
        initial_skew_ms: a.clock_skew_ms,
    }
}

fn serve(a: ServeArgs, loaded: &njord::config::Loaded) -> Result<(), Error> {
    let tape = tape::load(&a.tape, &a.symbols)
        .map_err(|e| Error::Usage(format!("njord-sim serve: {e}")))?;
    for bad in &tape.skipped {
        eprintln!("njord-sim serve: skipped {bad}");
    }
    let scenario = match &a.scenario {
        Some(p) => {
            faults::load_scenario(p)
                .map_err(|e| Error::Usage(format!("njord-sim serve: {e}")))?
                .faults
        }
        None => Vec::new(),
    };
    let journal = match &a.journal {
        Some(p) => Some(Journal::create(p).map_err(|e| {
            Error::Usage(format!(
                "njord-sim serve: cannot create journal {}: {e}",
                p.display()
            ))
        })?),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("njord-sim serve: cannot start the runtime: {e}")))?;
    let (rest_port, ws_port) = (a.rest_port, a.ws_port);
    let sim = crate::build(settings(&a), &tape, journal);
    let tele = njord::app::Telemetry::endpoints("njord-sim", &a.metrics, loaded, true)?;
    let health = tele.health.clone();
    crate::metrics::register_all(health.clone());
    let result = rt.block_on(async move {
        for f in scenario {
            crate::rest::apply_fault(&sim, f).await;
        }
        if let Some(h) = &health {
            // The runtime turns: `/livez`. The tape's pace is the test's, so no staleness.
            let h = h.clone();
            tokio::spawn(async move {
                let mut beat = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    beat.tick().await;
                    h.beat(njord::stage::wall_clock_ns());
                }
            });
        }
        let served = crate::serve(sim, tape, rest_port, ws_port, |b| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", b.ready_line());
            let _ = out.flush();
            tracing::info!(rest = %b.rest, ws = %b.ws, "njord-sim ready");
            if let Some(h) = &health {
                h.beat(njord::stage::wall_clock_ns());
                h.set_started();
            }
        });
        tokio::select! {
            r = served => r,
            _ = shutdown_signal() => Ok(()),
        }
    });
    tele.finish()?;
    result.map_err(|e| {
        Error::Failed(format!(
            "njord-sim serve: {e} (is the port already in use? use 0 for any free port)"
        ))
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
