//! The portfolio allocator, without I/O: its configuration ([`settings`]), the strategies'
//! exact ledgers ([`ledger`]), the engine that sizes, nets and rebalances ([`engine`]), and
//! its math: from strategies' returns to exact decimal weights and capital. One entry point, [`allocate`]; each step below is a function of its
//! own module so a figure can be checked on its own. Money is [`Decimal`]; f64 only carries
//! statistics. The conventions are DESIGN §11's.
//!
//! # Pipeline
//!
//! 1. **Covariance** Σ from the returns `R` (`T` rows × `n` strategies, in strategy-id order),
//!    only when the method or the volatility target needs one; `T ≥ max(2, min_history)`, else
//!    `insufficient_history`. With `X = R − column means`:
//!    - *sample*: `Σ = XᵀX / (T − 1)`;
//!    - *Ledoit–Wolf* (2004, scaled-identity target, as scikit-learn's `LedoitWolf`):
//!      `S = XᵀX / T`, `μ = tr(S) / n`, `δ̂ = (Σ_ij S_ij² − 2μ tr(S) + nμ²) / n`,
//!      `β̂ = (Σ_t (Σ_i X_ti²)² / T − Σ_ij S_ij²) / (nT)`, shrinkage `s = min(β̂, δ̂) / δ̂`
//!      (0 when that is ≤ 0, and for `n = 1`), `Σ = (1 − s) S + s μ I`.
//!
//!    Then the **repair**: the eigen-decomposition `Σ = V Λ Vᵀ`; a negative eigenvalue is
//!    clipped to 0 (`Σ ← V max(Λ, 0) Vᵀ`, reported as `repaired`); the condition number is
//!    `λ_max / λ_min`, absent when `λ_min ≤ 0`.
//! 2. **Method**, long-only weights `w` with `Σ w = 1`:
//!    - *fixed*: the given weights divided by their sum;
//!    - *equal weight*: `1/n`;
//!    - *inverse volatility*: `w_i ∝ 1/√Σ_ii`;
//!    - *equal risk contribution*: the unique `w > 0` with equal `RC_i = w_i (Σw)_i`, as
//!      `w = y / Σy` where `y` minimises `½ yᵀΣy − (1/n) Σ ln y_i` (damped Newton, at most
//!      100 steps, until every `RC_i` is within 1e-12 of their mean relatively; a result
//!      off by more than 1e-9 is `solver_failed`); needs a condition number ≤
//!      `max_condition` (default 1e12), else `singular_covariance`, since with a singular Σ
//!      a positive solution may not exist;
//!    - *HRP* (as PyPortfolioOpt's `HRPOpt`, single linkage): `ρ_ij = Σ_ij / √(Σ_ii Σ_jj)`,
//!      distance `d_ij = √((1 − ρ_ij) / 2)` fed directly to single linkage (cluster distance =
//!      the smallest leaf distance); leaves are the strategies in id order `0..n−1`, merge `k`
//!      creates cluster `n + k` from `(a, b)`, `a < b`, the pair of the smallest distance and,
//!      of equal distances, the smallest `(a, b)`. The quasi-diagonal order is the tree's
//!      pre-order, smaller id on the left. Recursive bisection: every list of two or more is
//!      split at `⌊len/2⌋`; each half's variance is `V = w̃ᵀ Σ w̃` with inverse-variance `w̃`
//!      (`w̃_i ∝ 1/Σ_ii`) inside the half; the left half's weights are multiplied by
//!      `α = 1 − V_L / (V_L + V_R)`, the right's by `1 − α`;
//!    - *minimum variance*: `min wᵀΣw` s.t. `Σw = 1`, `w ≥ 0`, by a primal active-set method,
//!      accepted when the KKT conditions hold to 1e-7 relatively (`(Σw)_i = ν` on held
//!      strategies, `≥ ν` on the others; the steps use 1e-10, but an ill-conditioned Σ
//!      cannot be solved that closely); needs a condition number ≤ `max_condition`
//!      (default 1e12), else `singular_covariance`.
//!
//!    The risk-based methods refuse a zero-variance strategy (`singular_covariance`).
//! 3. **Volatility target** (optional): `gross = min(max_gross, target / (√(wᵀΣw) ·
//!    √periods_per_year))` (`max_gross` ≤ 1, default 1; `max_gross` when `wᵀΣw = 0`), rounded
//!    down to [`WEIGHT_DP`] places; without a target the gross is 1. The rest is cash. The
//!    target is met by the method's weights; bounds applied next may move it.
//! 4. **Bounds and group caps**, as fractions of total capital (so the weights sum to the
//!    gross), the minimums rounded up and maximums and caps down to [`WEIGHT_DP`] places.
//!    Feasible iff `min ≤ max` each, `Σ min ≤ gross`, each group's `Σ min ≤ cap`, and
//!    `Σ_groups min(cap, Σ max) + Σ_ungrouped max ≥ gross` (else `infeasible_bounds`). Applied
//!    as the fixed point of capping and handing the excess pro rata to the uncapped
//!    strategies (and lifting to the minimum, paid pro rata by the others):
//!    `w'_i = clamp(λ w_i, min_i, max_i)` with one λ making `Σ w' = gross`; a group that would
//!    exceed its cap sits at the cap with its own `λ_g` for its members. When the strategies
//!    with `w_i > 0` cannot absorb the gross, those with `w_i = 0` share the rest the same way
//!    with equal bases.
//! 5. **Exact decimals.** Weights are whole units of `10^-WEIGHT_DP` summing exactly to the
//!    gross: each `w'_i · 10^WEIGHT_DP` is floored (and clamped into its bounds), then the
//!    missing units go one at a time to the largest remaining fraction (equal fractions → the
//!    smaller id), never to a strategy at its maximum or in a group at its cap. **Capital is
//!    derived from the weights:** `capital_i = weight_i × total`, exactly, rounded the same
//!    way to the quote precision (`capital_dp` places) so that `Σ capital_i =
//!    ⌊gross × total⌋` at that precision (`= total` when the gross is 1); `cash = total −
//!    Σ capital_i`. So `|capital_i − weight_i × total| < 10^-capital_dp`.
//!
//! Errors carry stable codes ([`AllocCode`]): `insufficient_history`, `singular_covariance`,
//! `infeasible_bounds`, `solver_failed`, and `invalid_input` for malformed input (non-finite
//! returns, unsorted ids, a total not at its precision, …). Nothing panics on input and no
//! NaN or infinity comes out.

pub mod bounds;
pub mod covariance;
pub mod engine;
pub mod hrp;
pub mod ledger;
pub mod linalg;
pub mod methods;
pub mod rounding;
pub mod settings;

#[cfg(test)]
mod tests;

use bounds::Limits;
use covariance::Covariance;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Decimal places of the weights.
pub const WEIGHT_DP: u32 = 12;
/// `10^WEIGHT_DP`, one whole weight in units.
const ONE: i128 = 1_000_000_000_000;
/// Decimal places the capital may have at most (rust_decimal holds 28).
pub const MAX_CAPITAL_DP: u32 = 18;
/// The default condition-number limit for minimum variance.
pub const DEFAULT_MAX_CONDITION: f64 = 1e12;

/// How the weights are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The given weights (one per strategy, non-negative), normalised.
    Fixed(Vec<f64>),
    EqualWeight,
    InverseVol,
    Erc,
    Hrp,
    MinVariance,
}

impl Method {
    fn needs_covariance(&self) -> bool {
        !matches!(self, Method::Fixed(_) | Method::EqualWeight)
    }
}

/// How the covariance is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    Sample,
    LedoitWolf,
}

/// A strategy's weight range, as a fraction of total capital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub min: Decimal,
    pub max: Decimal,
}

/// A cap on the summed weight of some strategies; groups are disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub members: Vec<String>,
    pub cap: Decimal,
}

/// The volatility-targeting overlay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolTarget {
    /// Annualised volatility wanted, e.g. 0.2.
    pub target: f64,
    /// Return periods in a year (365 for daily crypto returns).
    pub periods_per_year: f64,
    /// The gross never exceeds this (0 < max_gross ≤ 1).
    pub max_gross: Decimal,
}

/// Everything an allocation depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocInput {
    /// Strategy ids, strictly ascending; they index everything else.
    pub strategies: Vec<String>,
    /// `returns[t][i]`: strategy `i`'s return in period `t`.
    pub returns: Vec<Vec<f64>>,
    pub method: Method,
    pub estimator: Estimator,
    /// Fewest periods accepted (at least 2 is always required when a covariance is needed).
    pub min_history: usize,
    /// Minimum variance refuses a covariance whose condition number is above this.
    pub max_condition: f64,
    /// One per strategy, or empty for `[0, 1]` each.
    pub bounds: Vec<Bound>,
    pub groups: Vec<Group>,
    pub vol_target: Option<VolTarget>,
    pub total_capital: Decimal,
    /// The quote asset's precision, in decimal places.
    pub capital_dp: u32,
}

impl AllocInput {
    /// An input with the defaults: sample covariance, `min_history` 2, condition limit
    /// [`DEFAULT_MAX_CONDITION`], no bounds, no groups, no volatility target.
    pub fn new(
        strategies: Vec<String>,
        returns: Vec<Vec<f64>>,
        method: Method,
        total_capital: Decimal,
        capital_dp: u32,
    ) -> Self {
        AllocInput {
            strategies,
            returns,
            method,
            estimator: Estimator::Sample,
            min_history: 2,
            max_condition: DEFAULT_MAX_CONDITION,
            bounds: Vec::new(),
            groups: Vec::new(),
            vol_target: None,
            total_capital,
            capital_dp,
        }
    }
}

/// What the estimate and the solvers report.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// `λ_max / λ_min` of Σ; `None` without a covariance or when it is singular.
    pub condition_number: Option<f64>,
    /// Ledoit–Wolf's shrinkage intensity; `None` otherwise.
    pub shrinkage: Option<f64>,
    /// Whether Σ had a negative eigenvalue clipped.
    pub repaired: bool,
    /// Newton (ERC) or active-set (min variance) iterations; 0 for closed forms.
    pub iterations: u32,
}

/// The result: per strategy, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Exact weights (fractions of total capital), summing exactly to `gross`.
    pub weights: Vec<Decimal>,
    /// Exact capital at the quote precision, summing with `cash` exactly to the total.
    pub capital: Vec<Decimal>,
    pub cash: Decimal,
    pub gross: Decimal,
    /// The method's own weights (sum 1), before the overlay, bounds and rounding.
    pub raw_weights: Vec<f64>,
    pub diagnostics: Diagnostics,
}

/// The stable code of an [`AllocError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocCode {
    InfeasibleBounds,
    SingularCovariance,
    InsufficientHistory,
    SolverFailed,
    InvalidInput,
}

impl AllocCode {
    pub const ALL: [AllocCode; 5] = [
        AllocCode::InfeasibleBounds,
        AllocCode::SingularCovariance,
        AllocCode::InsufficientHistory,
        AllocCode::SolverFailed,
        AllocCode::InvalidInput,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AllocCode::InfeasibleBounds => "infeasible_bounds",
            AllocCode::SingularCovariance => "singular_covariance",
            AllocCode::InsufficientHistory => "insufficient_history",
            AllocCode::SolverFailed => "solver_failed",
            AllocCode::InvalidInput => "invalid_input",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocError {
    #[error("infeasible bounds: {detail}")]
    InfeasibleBounds { detail: String },
    #[error("singular covariance: {detail}")]
    SingularCovariance { detail: String },
    #[error("insufficient history: {rows} periods, {min} needed")]
    InsufficientHistory { rows: usize, min: usize },
    #[error("solver failed: {detail}")]
    SolverFailed { detail: String },
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
}

impl AllocError {
    pub fn code(&self) -> AllocCode {
        match self {
            AllocError::InfeasibleBounds { .. } => AllocCode::InfeasibleBounds,
            AllocError::SingularCovariance { .. } => AllocCode::SingularCovariance,
            AllocError::InsufficientHistory { .. } => AllocCode::InsufficientHistory,
            AllocError::SolverFailed { .. } => AllocCode::SolverFailed,
            AllocError::InvalidInput { .. } => AllocCode::InvalidInput,
        }
    }

    fn invalid(detail: impl Into<String>) -> Self {
        AllocError::InvalidInput {
            detail: detail.into(),
        }
    }
}

/// `d` in whole units of `10^-dp`, rounded up or down; `None` on overflow.
fn units(d: Decimal, dp: u32, up: bool) -> Option<i128> {
    let m = d.mantissa();
    let s = d.scale();
    if s <= dp {
        m.checked_mul(10i128.checked_pow(dp - s)?)
    } else {
        let k = 10i128.checked_pow(s - dp)?;
        let q = m.div_euclid(k);
        Some(if up && m.rem_euclid(k) != 0 { q + 1 } else { q })
    }
}

/// Estimates Σ (and repairs it) for `input`.
pub fn estimate(input: &AllocInput) -> Result<Covariance, AllocError> {
    let n = input.strategies.len();
    let t = input.returns.len();
    let min = input.min_history.max(2);
    if t < min {
        return Err(AllocError::InsufficientHistory { rows: t, min });
    }
    let (mut matrix, shrinkage) = match input.estimator {
        Estimator::Sample => (covariance::sample(&input.returns, n), None),
        Estimator::LedoitWolf => {
            let (m, s) = covariance::ledoit_wolf(&input.returns, n);
            (m, Some(s))
        }
    };
    if matrix.iter().any(|v| !v.is_finite()) {
        return Err(AllocError::invalid(
            "returns too large: the covariance overflows",
        ));
    }
    let (repaired, condition_number) = covariance::repair_psd(&mut matrix, n)?;
    Ok(Covariance {
        n,
        matrix,
        shrinkage,
        condition_number,
        repaired,
    })
}

/// The validated limits in weight units.
fn limits(input: &AllocInput) -> Result<Limits, AllocError> {
    let n = input.strategies.len();
    let frac = |d: Decimal, what: &str| {
        if d < Decimal::ZERO || d > Decimal::ONE {
            Err(AllocError::invalid(format!("{what} must be within [0, 1]")))
        } else {
            Ok(d)
        }
    };
    let (mut lo, mut hi) = (vec![0; n], vec![ONE; n]);
    if !input.bounds.is_empty() {
        if input.bounds.len() != n {
            return Err(AllocError::invalid("one bound per strategy, or none"));
        }
        for (i, b) in input.bounds.iter().enumerate() {
            // Within [0, 1], so the units cannot overflow.
            lo[i] = units(frac(b.min, "a min")?, WEIGHT_DP, true).unwrap_or(ONE);
            hi[i] = units(frac(b.max, "a max")?, WEIGHT_DP, false).unwrap_or(0);
        }
    }
    let mut seen = vec![false; n];
    let mut groups = Vec::with_capacity(input.groups.len());
    for g in &input.groups {
        let mut members = Vec::with_capacity(g.members.len());
        for id in &g.members {
            let i = input
                .strategies
                .binary_search(id)
                .map_err(|_| AllocError::invalid(format!("group member {id:?} is no strategy")))?;
            if std::mem::replace(&mut seen[i], true) {
                return Err(AllocError::invalid(format!("{id:?} is in two groups")));
            }
            members.push(i);
        }
        let cap = units(frac(g.cap, "a group cap")?, WEIGHT_DP, false).unwrap_or(0);
        groups.push((members, cap));
    }
    Ok(Limits { lo, hi, groups })
}

/// The gross in weight units: 1, or the volatility target's (see the module documentation).
fn gross_units(
    w: &[f64],
    cov: Option<&Covariance>,
    vt: Option<&VolTarget>,
) -> Result<i128, AllocError> {
    let (Some(vt), Some(cov)) = (vt, cov) else {
        return Ok(ONE);
    };
    let ok = |x: f64| x.is_finite() && x > 0.0;
    if !ok(vt.target)
        || !ok(vt.periods_per_year)
        || vt.max_gross <= Decimal::ZERO
        || vt.max_gross > Decimal::ONE
    {
        return Err(AllocError::invalid(
            "vol target: target and periods_per_year must be positive, max_gross within (0, 1]",
        ));
    }
    let cap = units(vt.max_gross, WEIGHT_DP, false).unwrap_or(0);
    let var = linalg::quad_form(&cov.matrix, cov.n, w);
    let vol = var.max(0.0).sqrt() * vt.periods_per_year.sqrt();
    let scale = vt.target / vol;
    if vol <= 0.0 || !vol.is_finite() || !scale.is_finite() || scale * ONE as f64 >= cap as f64 {
        return Ok(cap);
    }
    Ok((scale * ONE as f64).floor() as i128)
}

/// Input checks that need no statistics.
fn validate(input: &AllocInput) -> Result<i128, AllocError> {
    let n = input.strategies.len();
    if n == 0 {
        return Err(AllocError::invalid("no strategy"));
    }
    if input.strategies.windows(2).any(|w| w[0] >= w[1]) {
        return Err(AllocError::invalid(
            "strategy ids must be strictly ascending",
        ));
    }
    if let Some(t) = input.returns.iter().position(|r| r.len() != n) {
        return Err(AllocError::invalid(format!(
            "returns row {t} does not have {n} values"
        )));
    }
    if input.returns.iter().flatten().any(|x| !x.is_finite()) {
        return Err(AllocError::invalid("returns must be finite"));
    }
    if input.max_condition.is_nan() || input.max_condition <= 0.0 {
        return Err(AllocError::invalid("max_condition must be positive"));
    }
    if input.capital_dp > MAX_CAPITAL_DP {
        return Err(AllocError::invalid(format!(
            "capital_dp above {MAX_CAPITAL_DP}"
        )));
    }
    let total = input.total_capital;
    let t_units = units(total, input.capital_dp, false)
        .filter(|u| *u <= 10i128.pow(24))
        .ok_or_else(|| AllocError::invalid("total capital too large"))?;
    if total < Decimal::ZERO || units(total, input.capital_dp, true) != Some(t_units) {
        return Err(AllocError::invalid(format!(
            "total capital must be non-negative with at most {} decimal places",
            input.capital_dp
        )));
    }
    Ok(t_units)
}

/// Allocates `input.total_capital` over the strategies: see the module documentation for every
/// step and formula.
pub fn allocate(input: &AllocInput) -> Result<Allocation, AllocError> {
    let total_units = validate(input)?;
    let n = input.strategies.len();
    let limits = limits(input)?;
    let cov = if input.method.needs_covariance() || input.vol_target.is_some() {
        Some(estimate(input)?)
    } else {
        None
    };
    let sigma = || cov.as_ref().map(|c| c.matrix.as_slice()).unwrap_or(&[]);
    // ERC and min variance need a positive definite Σ to have a (unique) solution.
    let conditioned = || {
        let cond = cov.as_ref().and_then(|c| c.condition_number);
        match cond {
            Some(c) if c <= input.max_condition => Ok(()),
            _ => Err(AllocError::SingularCovariance {
                detail: format!(
                    "condition number {} above the limit {:e}",
                    cond.map_or("∞".to_string(), |c| format!("{c:e}")),
                    input.max_condition
                ),
            }),
        }
    };
    let (raw, iterations) = match &input.method {
        Method::Fixed(w) => (methods::fixed(w, n)?, 0),
        Method::EqualWeight => (methods::equal(n), 0),
        Method::InverseVol => (methods::inverse_vol(sigma(), n)?, 0),
        Method::Erc => {
            conditioned()?;
            methods::erc(sigma(), n)?
        }
        Method::Hrp => (hrp::hrp(sigma(), n)?, 0),
        Method::MinVariance => {
            conditioned()?;
            methods::min_variance(sigma(), n)?
        }
    };
    if raw.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(AllocError::SolverFailed {
            detail: "the method's weights are not finite".into(),
        });
    }
    let gross = gross_units(&raw, cov.as_ref(), input.vol_target.as_ref())?;
    limits.check(gross)?;
    let g = gross as f64 / ONE as f64;
    let bounded = if limits.binding(ONE) {
        bounds::apply(&raw, &limits, ONE, g)?
    } else {
        raw.iter().map(|w| w * g).collect()
    };
    let infeasible = || AllocError::InfeasibleBounds {
        detail: "no rounding of the weights meets the bounds".into(),
    };
    let scaled: Vec<f64> = bounded.iter().map(|w| (w * ONE as f64).max(0.0)).collect();
    let floor: Vec<i128> = scaled.iter().map(|x| x.floor() as i128).collect();
    let rem: Vec<f64> = scaled
        .iter()
        .zip(&floor)
        .map(|(x, f)| x - *f as f64)
        .collect();
    let w_units =
        rounding::largest_remainder(&floor, &rem, &limits.lo, &limits.hi, &limits.groups, gross)
            .ok_or_else(infeasible)?;
    // capital_i = w_i × total exactly, in units of 10^-(WEIGHT_DP + capital_dp).
    let exact: Vec<i128> = w_units.iter().map(|u| u * total_units).collect();
    let c_floor: Vec<i128> = exact.iter().map(|e| e / ONE).collect();
    let c_rem: Vec<f64> = exact
        .iter()
        .map(|e| (e % ONE) as f64 / ONE as f64)
        .collect();
    let invested = gross * total_units / ONE;
    let c_units = rounding::largest_remainder(
        &c_floor,
        &c_rem,
        &vec![0; n],
        &vec![i128::MAX; n],
        &[],
        invested,
    )
    .ok_or_else(infeasible)?;
    let dp = input.capital_dp;
    let c = cov.as_ref();
    Ok(Allocation {
        weights: w_units
            .iter()
            .map(|u| Decimal::from_i128_with_scale(*u, WEIGHT_DP))
            .collect(),
        capital: c_units
            .iter()
            .map(|u| Decimal::from_i128_with_scale(*u, dp))
            .collect(),
        cash: Decimal::from_i128_with_scale(total_units - invested, dp),
        gross: Decimal::from_i128_with_scale(gross, WEIGHT_DP),
        raw_weights: raw,
        diagnostics: Diagnostics {
            condition_number: c.and_then(|c| c.condition_number),
            shrinkage: c.and_then(|c| c.shrinkage),
            repaired: c.is_some_and(|c| c.repaired),
            iterations,
        },
    })
}
