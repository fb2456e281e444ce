//! `config/portfolio.yaml`: the strategies that share one account, how their capital is
//! allocated and rebalanced, and the portfolio's risk limits. Every struct denies unknown
//! keys; [`PortfolioConfig::check`] then refuses values that parse but cannot work.

use crate::backtest::metrics::parse_interval;
use crate::num::Dec;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file: one `portfolio` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioFile {
    pub portfolio: PortfolioConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioConfig {
    /// Written in every `allocation` event.
    #[serde(default = "default_name")]
    pub name: String,
    /// Total capital, in the quote asset.
    pub capital: Dec,
    /// The quote asset every strategy trades against.
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Decimal places of the quote asset: capital per strategy is rounded to them.
    #[serde(default = "default_precision")]
    pub precision: u32,
    #[serde(default)]
    pub method: MethodName,
    #[serde(default)]
    pub covariance: Estimator,
    /// Sampling interval of each strategy's returns (event time): `1h`, `1d`.
    #[serde(default = "default_day")]
    pub return_interval: String,
    /// Return samples the covariance is estimated from (the latest ones).
    #[serde(default = "default_lookback")]
    pub lookback: usize,
    /// Fewer samples than this: the weights stay (`insufficient_history`).
    #[serde(default = "default_min_history")]
    pub min_history: usize,
    #[serde(default)]
    pub vol_target: Option<VolTarget>,
    pub strategies: Vec<StrategySlot>,
    /// Group name → the most weight its strategies may hold together.
    #[serde(default)]
    pub groups: BTreeMap<String, Dec>,
    #[serde(default)]
    pub sizing: Sizing,
    #[serde(default)]
    pub rebalance: Rebalance,
    #[serde(default)]
    pub risk: PortfolioRisk,
    /// Lot step per symbol (`ATOM/USDT: 0.01`): sizes are rounded down to it, and a reconcile
    /// break is a difference beyond one step. Missing: 0.00000001.
    #[serde(default)]
    pub lot_steps: BTreeMap<String, Dec>,
}

/// A strategy's place in the portfolio.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySlot {
    pub id: String,
    /// Its weight under `method: fixed` (normalised to the gross).
    #[serde(default)]
    pub weight: Option<Dec>,
    #[serde(default = "zero")]
    pub min: Dec,
    #[serde(default = "one")]
    pub max: Dec,
    #[serde(default)]
    pub group: Option<String>,
    /// Drawdown of its own returns (0.2 = 20 %) beyond which it gets weight 0 until cleared.
    #[serde(default)]
    pub max_drawdown: Option<Dec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodName {
    Fixed,
    #[default]
    EqualWeight,
    InverseVolatility,
    Erc,
    Hrp,
    MinVariance,
}

impl MethodName {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Fixed => "fixed",
            MethodName::EqualWeight => "equal_weight",
            MethodName::InverseVolatility => "inverse_volatility",
            MethodName::Erc => "erc",
            MethodName::Hrp => "hrp",
            MethodName::MinVariance => "min_variance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    Sample,
    #[default]
    LedoitWolf,
}

/// Scale the weights so the portfolio's expected annual volatility is `annual`, at most
/// `max_gross` invested; the rest stays in cash.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolTarget {
    pub annual: f64,
    #[serde(default = "one")]
    pub max_gross: Dec,
    /// Return samples per year (365 for daily crypto returns).
    #[serde(default = "default_periods")]
    pub periods_per_year: f64,
}

/// How a strategy's intent is sized to its capital.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sizing {
    /// `cap`: keep the strategy's quantity, cut to what its cash can pay; `fraction`: buy
    /// `fraction` of its equity (still cut to its cash).
    pub mode: SizingMode,
    pub fraction: Dec,
    /// Cash set aside for an intent is released after this long (event time) when no fill
    /// or denial has settled it.
    pub pending_ttl: String,
    /// Sell more than the strategy holds.
    pub allow_short: bool,
    /// The fee a buy is sized to pay besides its notional, in basis points.
    pub fee_bps: Dec,
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing {
            mode: SizingMode::Cap,
            fraction: Dec(Decimal::new(1, 1)),
            pending_ttl: "1m".into(),
            allow_short: false,
            fee_bps: Dec(Decimal::TEN),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingMode {
    Cap,
    Fraction,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rebalance {
    /// How often (event time) the weights are recomputed and the drift checked.
    pub interval: String,
    /// The least time between two rebalances.
    pub min_interval: String,
    /// Rebalance only when some |actual − target weight| exceeds this.
    pub drift_band: Dec,
    /// The most L1 weight change (Σ|Δw|) one rebalance makes; beyond it, every move is
    /// scaled down alike.
    pub max_turnover: Dec,
    /// Orders below this notional are dropped (and counted).
    pub min_notional: Dec,
    /// Cost estimate per traded notional: fee and slippage in basis points.
    pub fee_bps: Dec,
    pub slippage_bps: Dec,
}

impl Default for Rebalance {
    fn default() -> Self {
        Rebalance {
            interval: "1d".into(),
            min_interval: "1d".into(),
            drift_band: Dec(Decimal::new(5, 2)),
            max_turnover: Dec(Decimal::ONE),
            min_notional: Dec(Decimal::TEN),
            fee_bps: Dec(Decimal::TEN),
            slippage_bps: Dec(Decimal::ZERO),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortfolioRisk {
    /// Portfolio drawdown (0.15 = 15 %) beyond which only reducing intents pass.
    pub max_drawdown: Option<Dec>,
}

/// A value that parses but cannot work: the key path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key `{key}`: {msg}")]
pub struct SettingError {
    pub key: String,
    pub msg: String,
}

/// Intervals of the configuration, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    pub returns_ns: i64,
    pub rebalance_ns: i64,
    pub min_rebalance_ns: i64,
    pub pending_ttl_ns: i64,
}

impl PortfolioConfig {
    /// Refuses what deserialises but cannot work, naming the key.
    pub fn check(&self) -> Result<Intervals, SettingError> {
        let err = |key: &str, msg: String| SettingError {
            key: key.into(),
            msg,
        };
        if self.capital.0 <= Decimal::ZERO {
            return Err(err("portfolio.capital", "must be positive".into()));
        }
        if self.precision > 18 {
            return Err(err(
                "portfolio.precision",
                "at most 18 decimal places".into(),
            ));
        }
        if self.strategies.is_empty() {
            return Err(err("portfolio.strategies", "list at least one".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in self.strategies.iter().enumerate() {
            let key = |k: &str| format!("portfolio.strategies[{i}].{k}");
            if !seen.insert(s.id.as_str()) {
                return Err(err(&key("id"), format!("duplicate id `{}`", s.id)));
            }
            let unit = Decimal::ZERO..=Decimal::ONE;
            if !unit.contains(&s.min.0) || !unit.contains(&s.max.0) || s.min.0 > s.max.0 {
                return Err(err(&key("min"), "0 ≤ min ≤ max ≤ 1".into()));
            }
            if let Some(g) = &s.group
                && !self.groups.contains_key(g)
            {
                return Err(err(&key("group"), format!("no group `{g}` under `groups`")));
            }
            if let Some(d) = &s.max_drawdown
                && !(d.0 > Decimal::ZERO && d.0 < Decimal::ONE)
            {
                return Err(err(&key("max_drawdown"), "between 0 and 1".into()));
            }
            match (&s.weight, self.method) {
                (None, MethodName::Fixed) => {
                    return Err(err(&key("weight"), "required with method: fixed".into()));
                }
                (Some(w), _) if w.0 < Decimal::ZERO => {
                    return Err(err(&key("weight"), "must not be negative".into()));
                }
                _ => {}
            }
        }
        for (g, cap) in &self.groups {
            if !(Decimal::ZERO..=Decimal::ONE).contains(&cap.0) {
                return Err(err(
                    &format!("portfolio.groups.{g}"),
                    "between 0 and 1".into(),
                ));
            }
        }
        if let Some(v) = &self.vol_target {
            if !(v.annual.is_finite() && v.annual > 0.0) {
                return Err(err(
                    "portfolio.vol_target.annual",
                    "must be positive".into(),
                ));
            }
            if !(v.max_gross.0 > Decimal::ZERO && v.max_gross.0 <= Decimal::ONE) {
                return Err(err("portfolio.vol_target.max_gross", "in (0, 1]".into()));
            }
            if !(v.periods_per_year.is_finite() && v.periods_per_year > 0.0) {
                return Err(err(
                    "portfolio.vol_target.periods_per_year",
                    "must be positive".into(),
                ));
            }
        }
        if self.min_history < 2 || self.lookback < self.min_history {
            return Err(err(
                "portfolio.min_history",
                "2 ≤ min_history ≤ lookback".into(),
            ));
        }
        let s = &self.sizing;
        if !(s.fraction.0 > Decimal::ZERO && s.fraction.0 <= Decimal::ONE) {
            return Err(err("portfolio.sizing.fraction", "in (0, 1]".into()));
        }
        if !(Decimal::ZERO..Decimal::from(10_000)).contains(&s.fee_bps.0) {
            return Err(err(
                "portfolio.sizing.fee_bps",
                "between 0 and 10000".into(),
            ));
        }
        let r = &self.rebalance;
        for (k, v) in [
            ("drift_band", r.drift_band.0),
            ("min_notional", r.min_notional.0),
            ("fee_bps", r.fee_bps.0),
            ("slippage_bps", r.slippage_bps.0),
        ] {
            if v < Decimal::ZERO {
                return Err(err(
                    &format!("portfolio.rebalance.{k}"),
                    "must not be negative".into(),
                ));
            }
        }
        if !(r.max_turnover.0 > Decimal::ZERO && r.max_turnover.0 <= Decimal::TWO) {
            return Err(err("portfolio.rebalance.max_turnover", "in (0, 2]".into()));
        }
        if let Some(d) = &self.risk.max_drawdown
            && !(d.0 > Decimal::ZERO && d.0 < Decimal::ONE)
        {
            return Err(err("portfolio.risk.max_drawdown", "between 0 and 1".into()));
        }
        for (sym, step) in &self.lot_steps {
            if step.0 <= Decimal::ZERO {
                return Err(err(
                    &format!("portfolio.lot_steps.{sym}"),
                    "must be positive".into(),
                ));
            }
        }
        let interval =
            |key: &str, v: &str| parse_interval(v).map_err(|m| err(&format!("portfolio.{key}"), m));
        Ok(Intervals {
            returns_ns: interval("return_interval", &self.return_interval)?,
            rebalance_ns: interval("rebalance.interval", &r.interval)?,
            min_rebalance_ns: interval("rebalance.min_interval", &r.min_interval)?,
            pending_ttl_ns: interval("sizing.pending_ttl", &s.pending_ttl)?,
        })
    }

    /// The lot step of a symbol.
    pub fn lot_step(&self, symbol: &str) -> Decimal {
        self.lot_steps
            .get(symbol)
            .map(|d| d.0)
            .unwrap_or(Decimal::new(1, 8))
    }
}

fn default_name() -> String {
    "main".into()
}
fn default_quote() -> String {
    "USDT".into()
}
fn default_precision() -> u32 {
    2
}
fn default_day() -> String {
    "1d".into()
}
fn default_lookback() -> usize {
    90
}
fn default_min_history() -> usize {
    20
}
fn default_periods() -> f64 {
    365.0
}
fn zero() -> Dec {
    Dec(Decimal::ZERO)
}
fn one() -> Dec {
    Dec(Decimal::ONE)
}
