//! `njord-portfolio`: several strategies on one account, capital allocated by risk.

use super::{CommonArgs, StageArgs};
use crate::app::{self, Error};
use crate::journal::Journals;
use crate::portfolio::stage::{ControlFiles, PortfolioStage};
use crate::portfolio::{self, DEFAULT_PATH};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// The formulas, as a literal for `concat!`.
macro_rules! formulas {
    () => {
        "\
Weights (w, long-only, Σw = 1 before the volatility target):
  fixed               the configured weights, normalised
  equal_weight        w_i = 1/n
  inverse_volatility  w_i ∝ 1/σ_i
  erc                 equal risk contribution: w_i (Σw)_i = w_j (Σw)_j for all i, j (Newton)
  hrp                 hierarchical risk parity: distance √((1−ρ)/2), single linkage (ties: smaller
                      (id, id) first), quasi-diagonal order = the dendrogram's pre-order, recursive
                      bisection of that order with inverse-variance cluster variances
  min_variance        minimise wᵀΣw subject to Σw = 1 and the bounds (active set)
Covariance Σ of the strategies' returns over the last `lookback` samples: sample (divides by T−1)
or Ledoit–Wolf (2004, scaled-identity target, demeaned data divided by T; its shrinkage intensity is
reported), clipped to positive semi-definite; its condition number is reported.
Volatility target: gross = min(max_gross, annual / (√(wᵀΣw) · √periods_per_year)); the rest is cash.
Bounds and group caps: a weight above its max (or a group above its cap) is capped and the excess
handed pro rata to the others until all hold; below a min, lifted the same way; bounds that cannot
all hold give allocation_rejected infeasible_bounds and keep the previous weights.
Capital per strategy: weight × total rounded to `precision` places by largest remainder (equal
remainders to the smaller id), summing exactly to the total.
Returns: each strategy's equity at every `return_interval` (event time), net of the capital moved
in or out: r = (equity − transfers) / previous equity − 1.
Rebalance, every `rebalance.interval`: new weights; when some |equity_i/E − w_i| > drift_band and
min_interval has passed, cash moves between the strategies' ledgers and each strategy's positions
are scaled by its new equity / old equity, scaled down alike so that Σ|Δw| ≤ max_turnover; orders
below min_notional are dropped and counted; estimated cost = traded notional × (fee_bps +
slippage_bps) / 10000."
    };
}

/// The formulas, shared by `--help`, `--explain` and the README.
pub const FORMULAS: &str = formulas!();

#[derive(Debug, Parser)]
#[command(
    name = "njord-portfolio",
    version,
    about = "Several strategies on one account: capital allocated by risk, intents sized to each \
strategy's capital, exact per-strategy ledgers, rebalancing through risk",
    args_conflicts_with_subcommands = true,
    after_help = concat!(
        "Reads the strategies' intents, trades or bars (prices), fills (its ledgers), \
decisions (a denied intent frees its cash) and balances (reconcile); writes every input line except \
intents, which it replaces: each is sized to its strategy's capital (its `meta.requested_qty` says \
when it was cut), denied with a `decision` (strategy_capital, strategy_drawdown, \
portfolio_reduce_only), or netted with the opposite intents of other strategies at the same time \
into one intent of the net quantity (`meta.legs`; each strategy still books its own side at the fill \
price). Also `allocation` events when the weights change, `allocation_rejected` (infeasible_bounds, \
singular_covariance, insufficient_history, solver_failed: the weights stay), rebalance intents \
(`meta.source` = \"rebalance\") and `reconcile_break` when the account's booked quantity of an asset \
and the venue's balance differ by more than a lot step. Every intent still goes through njord-risk.\n\n\
Drawdown latches: past portfolio.risk.max_drawdown only intents that reduce exposure pass; a \
strategy past its own max_drawdown gets weight 0. Both are kept across restarts and last until \
`njord-portfolio clear` (or `njord-kill clear --portfolio`).\n\n",
        formulas!(),
        "\n\nExamples:\n  \
    njord-replay tape.ndjson | njord-strat | njord-portfolio --assume-fills | njord-risk | njord-paper\n  \
    njord-portfolio --explain\n  \
    njord-portfolio --bus redis://127.0.0.1:6379/0   # daemon: strat.intent in, portfolio.intent out\n  \
    NJORD__REDIS__TOPICS__INTENTS=portfolio.intent njord-risk --bus redis://127.0.0.1:6379/0\n  \
    njord-portfolio clear\n\n\
On a bus it reads strat.intent, md.trades.*, md.ohlcv.*, fills.new, risk.decisions and \
broker.balances, and publishes intents on portfolio.intent, decisions on risk.decisions and its own \
events on portfolio.allocations, portfolio.rejections and portfolio.reconcile. Journal: \
portfolio.NAME under journal.dir."
    )
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Portfolio file
    #[arg(long, value_name = "FILE", default_value = DEFAULT_PATH, global = true)]
    pub portfolio: PathBuf,
    /// Print the per-strategy table (weight, equity, PnL, fees) on stderr at exit
    #[arg(long)]
    pub summary: bool,
    /// Book each intent it emits as filled at its reference price: for a stdio pipeline, where
    /// no fill comes back (on a bus it reads fills.new; `njord-backtest --portfolio` books the
    /// paper fills)
    #[arg(long)]
    pub assume_fills: bool,
    /// Print the formulas and the configured method, bounds and groups, and exit
    #[arg(long)]
    pub explain: bool,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Lift the drawdown latches (reduce-only, strategies at weight 0) of the portfolio
    Clear,
}

/// Runs the allocator on stdio or a bus, or clears its latches.
pub fn run(cli: Cli) -> Result<(), Error> {
    let loaded = app::start(&cli.common)?;
    let mut engine = portfolio::load(&cli.portfolio).map_err(Error::Usage)?;
    engine.assume_fills(cli.assume_fills);
    let cfg = &loaded.config;
    let files = ControlFiles::new(&cfg.risk.kill_switch_file, &engine.config().name);
    if let Some(Cmd::Clear) = cli.cmd {
        return clear(&files);
    }
    if cli.explain {
        return app::print_out(&explain(&engine, &cli.portfolio));
    }
    // Strategies publish on `intents`; the sized intents go to `portfolio_intents`, which
    // njord-risk reads when its `redis.topics.intents` names it.
    let intents_in = cfg.redis.topics.intents.clone();
    let mut out_loaded = loaded.clone();
    out_loaded.config.redis.topics.intents = cfg.redis.topics.portfolio_intents.clone();
    let mut stage = PortfolioStage::new(
        engine,
        Journals::from_config(&cfg.journal).audited(),
        files,
        intents_in,
        cli.summary,
    )
    .map_err(|e| Error::Failed(e.to_string()))?;
    app::run_stage("njord-portfolio", &mut stage, &cli.stage, &out_loaded)
}

/// Asks the running stages of this portfolio to lift their latches.
pub fn clear(files: &ControlFiles) -> Result<(), Error> {
    files
        .request_clear(crate::stage::wall_clock_ns())
        .map_err(|e| Error::Failed(format!("{}: {e}", files.clear.display())))?;
    app::print_out(&format!(
        "portfolio latches: clear requested ({})\n",
        files.clear.display()
    ))
}

fn explain(engine: &portfolio::engine::PortfolioEngine, path: &Path) -> String {
    let c = engine.config();
    let mut s = format!(
        "{}: portfolio `{}`, capital {} {}, method {}, covariance {:?}, lookback {} (at least {}) \
         samples of {}\n",
        path.display(),
        c.name,
        c.capital.0,
        c.quote,
        c.method.as_str(),
        c.covariance,
        c.lookback,
        c.min_history,
        c.return_interval
    );
    for st in &c.strategies {
        s.push_str(&format!(
            "  {:<24} min {} max {}{}{}{}\n",
            st.id,
            st.min.0,
            st.max.0,
            st.weight
                .map(|w| format!(" weight {}", w.0))
                .unwrap_or_default(),
            st.group
                .as_ref()
                .map(|g| format!(" group {g}"))
                .unwrap_or_default(),
            st.max_drawdown
                .map(|d| format!(" max_drawdown {}", d.0))
                .unwrap_or_default(),
        ));
    }
    for (g, cap) in &c.groups {
        s.push_str(&format!("  group {g}: cap {}\n", cap.0));
    }
    s.push('\n');
    s.push_str(FORMULAS);
    s.push('\n');
    s
}
