//! The backtest engine (a pure core): the strategy manager, the risk core and the paper core
//! wired in one process, in exactly the order the stdio pipeline
//! `njord-strat | njord-risk | njord-paper` sees events, with no JSON between them.
//!
//! For every tape event `E`: the strategies see `E` and push intents `I₁…Iₙ`; the risk core
//! sees `E, I₁, …, Iₙ` and answers each intent (from the tape or a strategy) with a decision
//! and, when allowed, an order; the paper core then sees `E`, its risk answers, `I₁`, its
//! answers, … in that order. As in the pipeline, nothing flows back: strategies and the risk
//! core never see fills or positions, and the kill switch and shared Redis state are not
//! consulted (a backtest has no live halt). Memory depends on the open orders and positions,
//! never on the length of the tape.

use super::metrics::{Account, EquitySampler, Metrics, Sample, Summary};
use crate::config::Config;
use crate::event::Out;
use crate::event::{Decision, Event, ExecStatus, Fill};
use crate::exec::ExecEngine;
use crate::exec::tca::{self, Tca};
use crate::paper::{Outcome, PaperEngine};
use crate::portfolio::engine::{Counts as PortfolioCounts, PortfolioEngine, StrategyReport};
use crate::risk::{Caps, External, RiskEngine, RiskSettings};
use crate::strategy::Manager;
use crate::strategy::manager::StrategyDef;
use crate::strategy::registry::Registry;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a run is asked to do beyond the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Starting cash in the quote asset (> 0).
    pub capital: Decimal,
    /// Equity sampling interval in nanoseconds (> 0).
    pub interval_ns: i64,
    /// Annual risk-free rate for Sharpe and Sortino.
    pub risk_free: f64,
    /// Cap resting fills at the crossing trade's quantity (as `njord-paper --partial-fills`).
    pub partial_fills: bool,
    /// Fewest return samples for annualised figures ([`super::metrics::MIN_RETURNS`]).
    pub min_returns: u64,
}

/// Receives what a run produces, as it is produced.
pub trait Sink {
    /// An equity sample; `account` is the state it was taken from.
    fn on_sample(&mut self, sample: &Sample, account: &Account);
    /// A fill, as `njord-paper` would write it.
    fn on_fill(&mut self, fill: &Fill<'_>);
    /// Risk's answer to an intent, or the portfolio's refusal of one: why each intent went
    /// out or not.
    fn on_decision(&mut self, _decision: &Decision<'_>) {}
    /// A parent's progress (`exec_status`), when strategies trade through njord-exec's
    /// algorithms.
    fn on_exec_status(&mut self, _status: &ExecStatus<'_>) {}
}

/// A sink that keeps nothing (to measure the engine alone).
pub struct Discard;

impl Sink for Discard {
    fn on_sample(&mut self, _: &Sample, _: &Account) {}
    fn on_fill(&mut self, _: &Fill<'_>) {}
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Counts {
    /// Tape events driven through the cores.
    pub events: u64,
    pub intents: u64,
    /// Intents the risk core allowed (orders sent to the paper core).
    pub orders: u64,
    /// Denied intents by reason code.
    pub denied: BTreeMap<String, u64>,
    /// Orders the balances could not pay for.
    pub unfunded: u64,
    /// Orders the paper core refused for another reason (bad quantity or price).
    pub rejected: u64,
    pub fills: u64,
    /// Child orders the execution algorithms sent (0 without `exec`).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub children: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub metrics: Summary,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portfolio: Option<PortfolioResult>,
    /// The execution costs of the parents worked (when a strategy has `exec`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tca: Option<tca::Report>,
}

/// A portfolio backtest's per-strategy attribution: each strategy's PnL (equity less the
/// capital moved in), summing exactly to the portfolio's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioResult {
    pub name: String,
    pub strategies: Vec<StrategyReport>,
    /// Σ of the strategies' PnL.
    #[serde(with = "crate::num")]
    pub pnl: Decimal,
    pub counts: PortfolioCounts,
    /// At each equity sample: (time, per strategy (weight, equity)), in strategy id order.
    #[serde(skip)]
    pub series: Vec<(i64, Vec<(f64, f64)>)>,
}

/// The cores and the accounting of one run.
pub struct Engine {
    strat: Manager,
    risk: RiskEngine,
    paper: PaperEngine,
    account: Account,
    sampler: EquitySampler,
    metrics: Metrics,
    counts: Counts,
    intents: Out,
    answers: Out,
    paper_out: Out,
    /// The execution core, when a strategy trades through an algorithm (`exec` in the
    /// strategies file): between risk and paper, as njord-exec in the pipeline.
    exec: Option<ExecEngine>,
    exec_out: Out,
    tca: Tca,
    portfolio: Option<PortfolioEngine>,
    portfolio_out: Out,
    portfolio_series: Vec<(i64, Vec<(f64, f64)>)>,
}

/// The paper configuration a backtest runs with: the configured one, with the capital as the
/// balance of `quote`.
pub fn paper_config(cfg: &Config, capital: Decimal, quote: &str) -> crate::config::Paper {
    let mut p = cfg.paper.clone();
    p.initial_balances
        .insert(quote.to_string(), crate::num::Dec(capital));
    p
}

impl Engine {
    /// Builds the cores from the configuration (whose `paper` section should come from
    /// [`paper_config`]) and the strategies, of the classes of `registry`.
    pub fn new(cfg: &Config, registry: Registry, defs: Vec<StrategyDef>, s: &Settings) -> Self {
        let exec = defs
            .iter()
            .any(|d| d.exec.is_some())
            .then(|| ExecEngine::new(&cfg.exec).with_rate_cap(cfg.risk.orders_per_min_cap));
        let mut strat = Manager::new(registry, cfg.redis.topics.clone(), defs);
        strat.set_limits(&cfg.strat);
        // Intents are never shown: no `meta`, as risk decisions carry no `caps`.
        strat.explain(false);
        Engine {
            strat,
            risk: RiskEngine::new(
                Caps::from(&cfg.risk),
                RiskSettings {
                    venue: cfg.exchange.venue.clone(),
                    dedup_window: cfg.risk.dedup_window,
                    explain: false,
                },
            ),
            paper: PaperEngine::from_config(&cfg.paper, s.partial_fills),
            account: Account::new(s.capital),
            sampler: EquitySampler::new(s.interval_ns),
            metrics: Metrics::new(s.capital, s.interval_ns, s.risk_free)
                .with_min_returns(s.min_returns),
            counts: Counts::default(),
            intents: Vec::new(),
            answers: Vec::new(),
            paper_out: Vec::new(),
            exec,
            exec_out: Vec::new(),
            tca: Tca::default(),
            portfolio: None,
            portfolio_out: Vec::new(),
            portfolio_series: Vec::new(),
        }
    }

    /// Runs the strategies as one portfolio: every intent is sized (or netted) by `p` before
    /// risk, as `njord-strat | njord-portfolio | njord-risk | njord-paper` does, and the paper
    /// fills and denials flow back into its ledgers.
    pub fn with_portfolio(mut self, p: PortfolioEngine) -> Self {
        self.portfolio = Some(p);
        self
    }

    /// Strategies that failed and were disabled, with the reason.
    pub fn failed_strategies(&self) -> Vec<(String, String)> {
        self.strat
            .failed()
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// The strategies' end-of-run summaries ([`Manager::summaries`]).
    pub fn strategy_summaries(&self) -> Vec<(String, String, crate::event::Map)> {
        self.strat
            .summaries()
            .into_iter()
            .map(|(id, symbol, s)| (id.to_string(), symbol.to_string(), s))
            .collect()
    }

    /// Strategies no tape event reached, with their symbol patterns ([`Manager::never_fed`]).
    pub fn never_fed_strategies(&self) -> Vec<(String, Vec<String>)> {
        self.strat
            .never_fed()
            .into_iter()
            .map(|(id, symbols)| (id.to_string(), symbols.to_vec()))
            .collect()
    }

    /// Drives one tape event through the cores.
    pub fn on_event(&mut self, ev: &Event<'_>, sink: &mut dyn Sink) {
        self.counts.events += 1;
        let (account, metrics) = (&self.account, &mut self.metrics);
        let (portfolio, series) = (&self.portfolio, &mut self.portfolio_series);
        self.sampler.before_event(ev.ts_ns(), account, |s| {
            metrics.on_sample(&s);
            sink.on_sample(&s, account);
            if let Some(p) = portfolio {
                series.push((s.point.ts_ns, weights_and_equity(p, account)));
            }
        });
        match ev {
            Event::Trade(t) => self.account.on_price(&t.symbol, t.price),
            Event::Bar(b) => self.account.on_price(&b.symbol, b.close),
            _ => {}
        }
        self.intents.clear();
        self.strat.on_event(ev, &mut self.intents);
        if self.portfolio.is_some() {
            return self.portfolio_step(ev, sink);
        }
        self.step(ev, sink);
        let intents = std::mem::take(&mut self.intents);
        for i in &intents {
            self.step(i, sink);
        }
        self.intents = intents;
    }

    /// The market event through the portfolio, risk and paper; then the strategies' intents
    /// through the portfolio, and what it emits (sized intents, sells first) through risk and
    /// paper.
    fn portfolio_step(&mut self, ev: &Event<'_>, sink: &mut dyn Sink) {
        let ts = ev.ts_ns();
        let tape_intent = matches!(ev, Event::Intent(_));
        let due = self
            .portfolio
            .as_ref()
            .is_some_and(|p| ts >= p.next_due_ns());
        if !due && self.intents.is_empty() && !tape_intent {
            // The hot path: most trades need nothing of the portfolio.
            return self.step(ev, sink);
        }
        let mut pout = std::mem::take(&mut self.portfolio_out);
        pout.clear();
        if let Some(p) = self.portfolio.as_mut() {
            // It gets the account's last prices, which this event has already updated.
            for (symbol, price) in self.account.prices() {
                if price > Decimal::ZERO {
                    p.set_mark(symbol, price);
                }
            }
            p.on_time(ts, &mut pout);
        }
        if !tape_intent {
            self.step(ev, sink);
        }
        if let Some(p) = self.portfolio.as_mut() {
            if tape_intent {
                // An intent written on the tape is a strategy's, like those of njord-strat.
                p.on_event(ev, &mut pout);
            }
            if !self.intents.is_empty() || tape_intent {
                for i in self.intents.drain(..) {
                    if let Event::Intent(i) = i {
                        p.push_intent(i, &mut pout);
                    }
                }
                p.flush(&mut pout);
            }
        }
        for e in &pout {
            match e {
                Event::Intent(_) => self.step(e, sink),
                Event::Decision(d) if !d.allowed => {
                    self.counts.intents += 1;
                    let why = d.reason.map_or("unknown", |r| r.as_str());
                    *self.counts.denied.entry(why.to_string()).or_default() += 1;
                    sink.on_decision(d);
                }
                _ => {}
            }
        }
        self.portfolio_out = pout;
    }

    /// One line of the risk core's input: the line itself, then its answers, go to paper.
    fn step(&mut self, ev: &Event<'_>, sink: &mut dyn Sink) {
        self.answers.clear();
        if let Event::Intent(_) = ev {
            self.counts.intents += 1;
        }
        self.risk
            .on_event(ev, &External::default(), &mut self.answers);
        self.paper(ev, sink);
        self.answer(sink);
    }

    /// Risk's answers (decisions, orders) to the sink, the portfolio and paper.
    fn answer(&mut self, sink: &mut dyn Sink) {
        let answers = std::mem::take(&mut self.answers);
        for a in &answers {
            if let Some(p) = self.portfolio.as_mut()
                && matches!(a, Event::Decision(d) if !d.allowed)
            {
                // A denied intent's cash is free again.
                p.on_event(a, &mut Vec::new());
            }
            if let Event::Decision(d) = a {
                sink.on_decision(d);
            }
            match a {
                Event::Decision(d) if !d.allowed => {
                    let why = d.reason.map_or("unknown", |r| r.as_str());
                    *self.counts.denied.entry(why.to_string()).or_default() += 1;
                }
                Event::Order(_) => self.counts.orders += 1,
                _ => {}
            }
            self.paper(a, sink);
        }
        self.answers = answers;
    }

    /// One line of njord-exec's input (when parents are worked: see [`Engine::new`]): the
    /// line goes on to paper unless it is a parent, then the children and cancels it causes;
    /// the fills of children come back to it.
    fn paper(&mut self, ev: &Event<'_>, sink: &mut dyn Sink) {
        let Some(exec) = self.exec.as_mut() else {
            return self.paper_only(ev, sink);
        };
        let mut caused = std::mem::take(&mut self.exec_out);
        caused.clear();
        exec.on_event(ev, &mut caused);
        // Costs need the price only when a parent arrives or ends: the execution core's last
        // price then, instead of every trade.
        if let Event::Order(o) = ev
            && o.exec.is_some()
        {
            if let Some(p) = exec.last_price(&o.symbol) {
                self.tca.on_price(&o.symbol, p);
            }
            self.tca.on_event(ev);
        }
        if !matches!(ev, Event::Order(o) if o.exec.is_some()) {
            self.paper_only(ev, sink);
            // Children resting, waiting for a bar or in flight fill on later events.
            self.feed_back(&mut caused);
        }
        let mut i = 0;
        while i < caused.len() {
            match &caused[i] {
                Event::Order(_) | Event::Cancel(_) => {
                    self.counts.children += u64::from(matches!(caused[i], Event::Order(_)));
                    self.tca.on_event(&caused[i]);
                    self.paper_only(&caused[i], sink);
                    self.feed_back(&mut caused);
                }
                Event::ExecStatus(s) => {
                    // A parent's end price is the only one a status needs.
                    if s.is_final()
                        && let Some(p) = self.exec.as_ref().and_then(|x| x.last_price(&s.symbol))
                    {
                        self.tca.on_price(&s.symbol, p);
                    }
                    self.tca.on_event(&caused[i]);
                    sink.on_exec_status(s);
                }
                _ => {}
            }
            i += 1;
        }
        self.exec_out = caused;
    }

    /// What paper just emitted for children goes back to the execution core (fills, and
    /// the updates of children that ended unfilled) and to the costs.
    #[inline]
    fn feed_back(&mut self, caused: &mut Out) {
        // Most events (trades between fills) leave paper silent.
        if self.paper_out.is_empty() {
            return;
        }
        self.feed_back_out(caused);
    }

    #[inline(never)]
    fn feed_back_out(&mut self, caused: &mut Out) {
        let Some(x) = self.exec.as_mut() else {
            return;
        };
        for e in &self.paper_out {
            let id = match e {
                Event::Fill(f) => &f.intent_id,
                Event::OrderUpdate(u) if u.status.is_terminal() => &u.client_order_id,
                _ => continue,
            };
            if x.is_ours(id) {
                self.tca.on_event(e);
                x.on_event(e, caused);
            }
        }
    }

    fn paper_only(&mut self, ev: &Event<'_>, sink: &mut dyn Sink) {
        // Cleared first: what paper emitted for an earlier event must never be fed back to
        // the execution core again (an intent or a decision between two trades).
        self.paper_out.clear();
        if !matches!(
            ev,
            Event::Trade(_) | Event::Bar(_) | Event::Order(_) | Event::Cancel(_)
        ) {
            return;
        }
        let outcome = self.paper.on_event(ev, &mut self.paper_out);
        for o in std::iter::once(outcome).chain(self.paper.take_delivered()) {
            match o {
                Outcome::Unfunded => self.counts.unfunded += 1,
                Outcome::Rejected(_) => self.counts.rejected += 1,
                _ => {}
            }
        }
        let mut ignored = Vec::new();
        for e in &self.paper_out {
            if let Some(p) = self.portfolio.as_mut()
                && matches!(e, Event::Fill(_))
            {
                p.on_event(e, &mut ignored);
            }
            if let Event::Fill(f) = e {
                self.counts.fills += 1;
                self.account.on_fill(f);
                self.metrics.on_fill(f);
                sink.on_fill(f);
            }
        }
    }

    /// Takes the closing sample and returns the metrics and counts.
    pub fn finish(mut self, sink: &mut dyn Sink) -> RunResult {
        // A group whose last leg never came is denied, as njord-risk does at its end.
        self.answers.clear();
        self.risk.on_end(&mut self.answers);
        self.answer(sink);
        if let Some(s) = self.sampler.finish(&self.account) {
            self.metrics.on_sample(&s);
            sink.on_sample(&s, &self.account);
        }
        let account = &self.account;
        let portfolio = self.portfolio.map(|p| {
            let strategies = p.report_with(&|sym| price_of(account, sym));
            PortfolioResult {
                name: p.config().name.clone(),
                pnl: strategies.iter().map(|r| r.pnl).sum(),
                strategies,
                counts: p.counts(),
                series: self.portfolio_series,
            }
        });
        RunResult {
            metrics: self.metrics.summary(),
            counts: self.counts,
            portfolio,
            tca: (!self.tca.is_empty()).then(|| {
                if let Some(x) = &self.exec {
                    self.tca.reprice(|s| x.last_price(s));
                }
                self.tca.report()
            }),
        }
    }
}

/// The account's last price of a symbol (the portfolio's marks are only kept up to date when
/// it has work).
fn price_of(account: &Account, symbol: &str) -> Option<Decimal> {
    account
        .prices()
        .find(|(s, p)| *s == symbol && *p > Decimal::ZERO)
        .map(|(_, p)| p)
}

fn weights_and_equity(p: &PortfolioEngine, account: &Account) -> Vec<(f64, f64)> {
    use rust_decimal::prelude::ToPrimitive;
    p.report_with(&|sym| price_of(account, sym))
        .iter()
        .map(|r| {
            (
                r.weight.to_f64().unwrap_or(0.0),
                r.equity.to_f64().unwrap_or(0.0),
            )
        })
        .collect()
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::event::{Intent, Side, Trade};
    use proptest::prelude::*;
    use std::borrow::Cow;

    struct Keep(Vec<Sample>, Vec<Fill<'static>>);

    impl Sink for Keep {
        fn on_sample(&mut self, s: &Sample, _: &Account) {
            self.0.push(s.clone());
        }
        fn on_fill(&mut self, f: &Fill<'_>) {
            if let Event::Fill(f) = Event::Fill(f.clone()).into_owned() {
                self.1.push(f);
            }
        }
    }

    /// A tape step: a trade at a price in cents after a gap in seconds, then maybe an intent
    /// (buy?, qty, limit offset in cents).
    type Step = (u32, u64, Option<(bool, u32, Option<i32>)>);

    fn tape(steps: &[Step]) -> Vec<Event<'static>> {
        let mut ts = 1_767_225_600_000_000_000i64;
        let mut out = Vec::new();
        for (i, (cents, gap_s, intent)) in steps.iter().enumerate() {
            ts += *gap_s as i64 * 1_000_000_000;
            let price = Decimal::new(*cents as i64 + 100, 2);
            out.push(Event::Trade(Trade {
                venue: Cow::Borrowed("v"),
                symbol: Cow::Borrowed("A/USDT"),
                trade_id: Cow::Owned(i.to_string()),
                price,
                qty: Decimal::from(5),
                side: Side::Buy,
                ts_ns: ts,
                ts_local_ns: None,
            }));
            if let Some((buy, qty, limit)) = intent {
                out.push(Event::Intent(Intent {
                    id: Some(Cow::Owned(format!("i{i}"))),
                    ts_ns: ts,
                    strategy_id: Cow::Borrowed("p"),
                    symbol: Cow::Borrowed("A/USDT"),
                    side: Cow::Borrowed(if *buy { "buy" } else { "sell" }),
                    order_type: Cow::Borrowed(if limit.is_some() { "limit" } else { "market" }),
                    qty: Decimal::from(*qty),
                    limit_price: limit.map(|o| price + Decimal::new(o as i64, 2)),
                    stop_price: None,
                    trail: None,
                    time_in_force: None,
                    post_only: false,
                    oco: None,
                    exec: None,
                    group_id: None,
                    group_size: None,
                    meta: Default::default(),
                }));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the tape: equity times never go back, cash and positions agree with the
        /// paper core's balances, and once flat the round trips add up to the change in equity.
        #[test]
        fn accounting_is_consistent(
            steps in proptest::collection::vec(
                (0u32..2_000, 0u64..5_000, proptest::option::of((any::<bool>(), 1u32..20, proptest::option::of(-50i32..50)))),
                1..120,
            ),
            allow_short in any::<bool>(),
        ) {
            let capital = Decimal::from(500);
            let mut cfg = Config::default();
            cfg.risk.per_order_usd_cap = Decimal::from(1_000_000);
            cfg.risk.orders_per_min_cap = 1_000;
            cfg.paper.allow_short = allow_short;
            cfg.paper = paper_config(&cfg, capital, "USDT");
            let settings = Settings { capital, interval_ns: 3_600_000_000_000, risk_free: 0.0, partial_fills: false, min_returns: 30 };
            let mut e = Engine::new(&cfg, Registry::builtin(), vec![], &settings);
            let mut k = Keep(Vec::new(), Vec::new());
            for ev in tape(&steps) {
                e.on_event(&ev, &mut k);
            }
            let balances = e.paper.balances().unwrap().totals().clone();
            let (pos, _) = e.account.symbol("A/USDT").unwrap_or_default();
            prop_assert_eq!(balances.get("USDT").copied().unwrap_or_default(), e.account.cash());
            prop_assert_eq!(balances.get("A").copied().unwrap_or_default(), pos);
            if !allow_short {
                prop_assert!(pos >= Decimal::ZERO);
            }
            let r = e.finish(&mut k);
            prop_assert!(k.0.windows(2).all(|w| w[0].point.ts_ns <= w[1].point.ts_ns));
            prop_assert_eq!(r.counts.fills as usize, k.1.len());
            if pos.is_zero() {
                let s = &r.metrics;
                let wins = s.avg_win.map_or(Decimal::ZERO, |a| a * Decimal::from(s.wins));
                let losses = s.avg_loss.map_or(Decimal::ZERO, |a| a * Decimal::from(s.losses));
                let sum = wins + losses;
                let change = r.metrics.final_equity - capital;
                prop_assert!((sum - change).abs() < Decimal::new(1, 12), "{} vs {}", sum, change);
            }
        }
    }
}
