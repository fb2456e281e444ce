//! The statistics a pairs-trading strategy needs: a rolling hedge ratio, the augmented
//! Dickey–Fuller test, MacKinnon's approximate p-values and the Engle–Granger cointegration
//! test.
//!
//! [`RollingOls`] streams like the indicators (O(1) amortized per pair, no allocation per
//! update, no look-ahead). The tests work on a whole window at once and give the numbers
//! statsmodels gives (`tests/golden/coint.csv`, made by `scripts/coint_golden.py`, checks
//! that). Nothing panics on any input: what has no answer (a flat series, NaN, too many lags
//! for the sample) is `None`. Formulas and references: `docs/pairs-statistics.md`.

use crate::indicators::Ring;

/// A fitted line, y ≈ alpha + beta·x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The slope: for a pair, the hedge ratio (units of x per unit of y).
    pub beta: f64,
    /// The intercept.
    pub alpha: f64,
}

/// Ordinary least squares of y on x with an intercept over the latest `n` pairs, O(1)
/// amortized per pair.
///
/// The running sums are of deviations from a reference pair, re-centred on the window's means
/// each time the window wraps (as [`crate::indicators::Moments`] does), so rounding drift stays
/// bounded on endless streams and high price levels do not cancel away the co-movement. A pair
/// with a non-finite value is kept out of the sums; the fit is `None` until it has left the
/// window.
#[derive(Debug, Clone)]
pub struct RollingOls {
    xs: Ring,
    ys: Ring,
    /// Non-finite pairs in the window.
    bad: usize,
    shift: Option<(f64, f64)>,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
}

impl RollingOls {
    /// `n` is at least 2.
    pub fn new(n: usize) -> Self {
        let n = n.max(2);
        RollingOls {
            xs: Ring::new(n),
            ys: Ring::new(n),
            bad: 0,
            shift: None,
            sx: 0.0,
            sy: 0.0,
            sxx: 0.0,
            sxy: 0.0,
        }
    }

    /// The window's size.
    pub fn window(&self) -> usize {
        self.xs.cap()
    }

    /// Takes a pair; once `n` pairs are in, the least-squares line through them. `None` while a
    /// non-finite value is in the window and when x is flat there (within the rounding noise of
    /// the sums), where the slope is undefined.
    pub fn update(&mut self, y: f64, x: f64) -> Option<Fit> {
        let (old_x, old_y) = (self.xs.push(x), self.ys.push(y));
        if let (Some(ox), Some(oy)) = (old_x, old_y) {
            self.add(ox, oy, -1.0);
        }
        self.add(x, y, 1.0);
        if self.xs.wrapped() {
            self.recentre();
        }
        if !self.xs.is_full() || self.bad > 0 {
            return None;
        }
        let (x0, y0) = self.shift?;
        let n = self.xs.cap() as f64;
        let sxx = self.sxx - self.sx * self.sx / n;
        // A NaN from overflowing sums is caught below.
        if sxx <= 8.0 * f64::EPSILON * self.sxx {
            return None;
        }
        let beta = (self.sxy - self.sx * self.sy / n) / sxx;
        let alpha = (y0 + self.sy / n) - beta * (x0 + self.sx / n);
        (beta.is_finite() && alpha.is_finite()).then_some(Fit { beta, alpha })
    }

    /// Adds (`sign` 1) or removes (−1) a pair's deviations from the running sums.
    fn add(&mut self, x: f64, y: f64, sign: f64) {
        if !(x.is_finite() && y.is_finite()) {
            if sign > 0.0 {
                self.bad += 1;
            } else {
                self.bad = self.bad.saturating_sub(1);
            }
            return;
        }
        let (x0, y0) = *self.shift.get_or_insert((x, y));
        let (dx, dy) = (x - x0, y - y0);
        self.sx += sign * dx;
        self.sy += sign * dy;
        self.sxx += sign * dx * dx;
        self.sxy += sign * dx * dy;
    }

    /// Recomputes the sums from the window, about its means (of its finite pairs).
    fn recentre(&mut self) {
        let pairs = || {
            self.xs
                .iter()
                .zip(self.ys.iter())
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        };
        let (mut k, mut mx, mut my) = (0.0, 0.0, 0.0);
        for (x, y) in pairs() {
            k += 1.0;
            mx += x;
            my += y;
        }
        let (x0, y0) = if k > 0.0 {
            (mx / k, my / k)
        } else {
            match self.shift {
                Some(s) => s,
                None => return,
            }
        };
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        for (x, y) in pairs() {
            let (dx, dy) = (x - x0, y - y0);
            sx += dx;
            sy += dy;
            sxx += dx * dx;
            sxy += dx * dy;
        }
        (self.sx, self.sy, self.sxx, self.sxy) = (sx, sy, sxx, sxy);
        self.shift = Some((x0, y0));
    }
}

/// The deterministic terms of a Dickey–Fuller regression (statsmodels' `regression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// A constant, `"c"`: the test of a price series, and the case [`mackinnon_p`] covers.
    Constant,
    /// None, `"n"`: the regression Engle–Granger runs on the residuals of its first step,
    /// which have mean zero by construction.
    NoConstant,
}

impl Trend {
    fn terms(self) -> usize {
        match self {
            Trend::Constant => 1,
            Trend::NoConstant => 0,
        }
    }
}

/// An augmented Dickey–Fuller test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adf {
    /// The t-statistic of γ, the coefficient on the lagged level: the more negative, the
    /// stronger the evidence against a unit root.
    pub stat: f64,
    /// Lagged differences in the regression.
    pub lags: usize,
    /// Observations in the regression: the series' length − 1 − `lags`.
    pub nobs: usize,
}

/// The augmented Dickey–Fuller t-statistic with `lags` lagged differences:
/// Δyₜ = [c] + γ·yₜ₋₁ + Σᵢ₌₁..ₖ δᵢ·Δyₜ₋ᵢ + εₜ, the t-statistic of γ; statsmodels
/// `adfuller(series, maxlag=lags, regression=…, autolag=None)`.
///
/// `None`, where statsmodels raises or answers NaN: a value that is not finite, a flat series,
/// `lags` above len/2 − 1 − (1 with a constant), regressors that are collinear, or an exact
/// fit.
pub fn adf(series: &[f64], lags: usize, trend: Trend) -> Option<Adf> {
    check_series(series, lags, trend)?;
    let (mut a, m, k) = design(series, lags, trend, true);
    let diag = qr(&mut a, m, k)?;
    let z = &a[k * m..];
    let rss: f64 = z[k..].iter().map(|v| v * v).sum();
    let s = (rss / (m - k) as f64).sqrt();
    // With γ in the last column, γ̂ = z/R and its standard error is s/|R| (the last row of
    // R⁻¹ is 1/R alone), so t = sign(R)·z/s.
    let stat = z[k - 1] * diag[k - 1].signum() / s;
    stat.is_finite().then_some(Adf {
        stat,
        lags,
        nobs: m,
    })
}

/// [`adf`] with the number of lags chosen by Akaike's criterion among 0..=`max_lags`, as
/// statsmodels `adfuller(series, maxlag=max_lags, autolag="AIC")` does: every candidate is fitted
/// on the same observations (those `max_lags` leaves), the lowest AIC wins (the fewest lags on
/// a tie), and the test is run again with the chosen lags on all the observations they leave.
pub fn adf_aic(series: &[f64], max_lags: usize, trend: Trend) -> Option<Adf> {
    check_series(series, max_lags, trend)?;
    // Columns [c] yₜ₋₁ Δyₜ₋₁ … Δyₜ₋ₖ: each candidate is a prefix, and its residual sum of
    // squares is what Qᵀ of the full fit leaves past it.
    let (mut a, m, k) = design(series, max_lags, trend, false);
    qr(&mut a, m, k)?;
    let z = &a[k * m..];
    let first = trend.terms() + 1;
    let mut tail: f64 = z[k..].iter().map(|v| v * v).sum();
    let mut aic = vec![0.0; k + 1 - first];
    for cols in (first..=k).rev() {
        let nobs = m as f64;
        let llf = -nobs / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (tail / nobs).ln() + 1.0);
        aic[cols - first] = -2.0 * llf + 2.0 * cols as f64;
        tail += z[cols - 1] * z[cols - 1];
    }
    let mut best = 0;
    for (lags, v) in aic.iter().enumerate() {
        if *v < aic[best] {
            best = lags;
        }
    }
    adf(series, best, trend)
}

/// The checks statsmodels makes before a Dickey–Fuller regression, and finiteness.
fn check_series(series: &[f64], lags: usize, trend: Trend) -> Option<()> {
    let finite = series.iter().all(|v| v.is_finite());
    let flat = series.windows(2).all(|w| w[0] == w[1]);
    let max_lags = (series.len() / 2).checked_sub(trend.terms() + 1)?;
    (finite && !flat && lags <= max_lags).then_some(())
}

/// The Dickey–Fuller regression with `lags` lagged differences, column-major, the regressand
/// last: m rows, k regressors. The lagged level comes last when `level_last` (for its
/// t-statistic), else right after the constant.
fn design(y: &[f64], lags: usize, trend: Trend, level_last: bool) -> (Vec<f64>, usize, usize) {
    let m = y.len() - 1 - lags;
    let k = trend.terms() + 1 + lags;
    let mut a = Vec::with_capacity(m * (k + 1));
    // Row r is Δyₜ with t = lags + 1 + r.
    let diff = |t: usize| y[t] - y[t - 1];
    let rows = lags + 1..y.len();
    if trend == Trend::Constant {
        a.extend(std::iter::repeat_n(1.0, m));
    }
    let level = |a: &mut Vec<f64>| a.extend(rows.clone().map(|t| y[t - 1]));
    if !level_last {
        level(&mut a);
    }
    for i in 1..=lags {
        a.extend(rows.clone().map(|t| diff(t - i)));
    }
    if level_last {
        level(&mut a);
    }
    a.extend(rows.clone().map(diff));
    (a, m, k)
}

/// Householder QR of the `k` regressor columns of `a` (m rows, column-major, the regressand in
/// column k), applying the same reflections to the regressand: leaves Qᵀb in column k and
/// returns R's diagonal. `None` when a column is, to rounding, a combination of those before it
/// (or m ≤ k, which leaves no degree of freedom).
fn qr(a: &mut [f64], m: usize, k: usize) -> Option<Vec<f64>> {
    if m <= k {
        return None;
    }
    let mut diag = Vec::with_capacity(k);
    for j in 0..k {
        let (done, rest) = a.split_at_mut((j + 1) * m);
        let col = &mut done[j * m..];
        let whole = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        let norm = col[j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-12 * whole {
            return None;
        }
        // v = x − αe₁ with α = −sign(x₁)‖x‖, so that no cancellation occurs.
        let alpha = if col[j] > 0.0 { -norm } else { norm };
        col[j] -= alpha;
        let vv = col[j..].iter().map(|v| v * v).sum::<f64>();
        for other in rest.chunks_exact_mut(m) {
            let dot: f64 = col[j..].iter().zip(&other[j..]).map(|(v, o)| v * o).sum();
            let f = 2.0 * dot / vv;
            for (o, v) in other[j..].iter_mut().zip(&col[j..]) {
                *o -= f * v;
            }
        }
        diag.push(alpha);
    }
    Some(diag)
}

/// The values of N (the number of I(1) series) the tables below cover: 1 for a Dickey–Fuller
/// test of one series, 2 for Engle–Granger on a pair.
const SERIES: usize = 2;

/// MacKinnon (1994) Table 3 ("c": a constant), as statsmodels `adfvalues` holds it: for N = 1
/// and 2 series, the statistic above which p = 1 (τ_max), below which p = 0 (τ_min), and the
/// split (τ*) between the small-p polynomial (at or below it) and the large-p one.
const TAU_MAX_C: [f64; SERIES] = [2.74, 0.92];
const TAU_MIN_C: [f64; SERIES] = [-18.83, -18.86];
const TAU_STAR_C: [f64; SERIES] = [-1.61, -2.62];
/// Small-p coefficients γ₀, γ₁, γ₂ of Φ⁻¹(p) = γ₀ + γ₁τ + γ₂τ², as published, scaled by
/// `SMALL_SCALING` (statsmodels `tau_c_smallp`).
const TAU_C_SMALLP: [[f64; 3]; SERIES] = [[2.1659, 1.4412, 3.8269], [2.92, 1.5012, 3.9796]];
const SMALL_SCALING: [f64; 3] = [1.0, 1.0, 1e-2];
/// Large-p coefficients γ₀ … γ₃, scaled by `LARGE_SCALING` (statsmodels `tau_c_largep`).
const TAU_C_LARGEP: [[f64; 4]; SERIES] = [
    [1.7339, 9.3202, -1.2745, -1.0368],
    [2.1945, 6.4695, -2.9198, -4.2377],
];
const LARGE_SCALING: [f64; 4] = [1.0, 1e-1, 1e-1, 1e-2];

/// MacKinnon's (1994) approximate asymptotic p-value of a Dickey–Fuller t-statistic from a
/// regression with a constant, for `n` = 1 (an ADF test of one series) or 2 (Engle–Granger on
/// a pair): Φ of a polynomial in the statistic, statsmodels `mackinnonp(stat, "c", N=n)`.
/// `None` for another `n` or a NaN statistic.
///
/// It approximates the test's distribution as the sample grows, whatever the lags; in small
/// samples the true size differs somewhat (MacKinnon 1994, 2010).
pub fn mackinnon_p(stat: f64, n: usize) -> Option<f64> {
    let i = n.checked_sub(1).filter(|i| *i < SERIES)?;
    if stat.is_nan() {
        return None;
    }
    if stat > TAU_MAX_C[i] {
        return Some(1.0);
    }
    if stat < TAU_MIN_C[i] {
        return Some(0.0);
    }
    let poly = |coef: &[f64], scale: &[f64]| {
        coef.iter()
            .zip(scale)
            .rev()
            .fold(0.0, |acc, (c, s)| acc * stat + c * s)
    };
    let z = if stat <= TAU_STAR_C[i] {
        poly(&TAU_C_SMALLP[i], &SMALL_SCALING)
    } else {
        poly(&TAU_C_LARGEP[i], &LARGE_SCALING)
    };
    Some(normal_cdf(z))
}

/// Φ(x), the standard normal CDF: Marsaglia's (2004) Taylor series about 0 for |x| < 2.5, and
/// Laplace's continued fraction for the tail beyond (60 terms, evaluated from the last).
/// Against scipy's `norm.cdf` on −37.5 ≤ x ≤ 8.5 the absolute error is below 1e-15 and the
/// relative error below 1e-12 (the tests check both), so small p-values keep their digits.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() < 2.5 {
        let (mut sum, mut term, q) = (x, x, x * x);
        let mut i = 1.0;
        // The terms fall below the sum's last bit within 60 steps for |x| < 2.5.
        for _ in 0..100 {
            i += 2.0;
            term *= q / i;
            let next = sum + term;
            if next == sum {
                break;
            }
            sum = next;
        }
        // ln √(2π)
        0.5 + sum * (-0.5 * q - 0.918_938_533_204_672_7).exp()
    } else {
        let t = x.abs();
        let mut cf = t;
        for k in (1..=60).rev() {
            cf = t + k as f64 / cf;
        }
        let tail = (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt() / cf;
        if x < 0.0 { tail } else { 1.0 - tail }
    }
}

/// An Engle–Granger cointegration test of a pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coint {
    /// β of y = α + β·x + u: units of x to hold against each unit of y.
    pub hedge_ratio: f64,
    /// α.
    pub intercept: f64,
    /// The Dickey–Fuller t-statistic of the residuals u (−∞ for a pair on an exact line).
    pub adf_stat: f64,
    /// MacKinnon's approximate p-value for "no cointegration" (N = 2, constant).
    pub p_value: f64,
    /// Observations in the residuals' Dickey–Fuller regression.
    pub nobs: usize,
}

/// The Engle–Granger (1987) two-step test: OLS of y on x with a constant, then a Dickey–Fuller
/// test with `lags` lagged differences on its residuals; statsmodels
/// `coint(y, x, trend="c", maxlag=lags, autolag=None)`.
///
/// As statsmodels does, the residuals' regression has no constant (`adfuller(resid,
/// regression="n")`: the first step's constant has already made their mean zero), while the
/// p-value is MacKinnon's for a constant and N = 2, which accounts for that first step. A pair
/// whose R² is within 100·√ε of 1 is on a line: statistic −∞, p-value 0, as statsmodels
/// answers.
///
/// `None` for series of different lengths, a non-finite value, x or y flat, or what [`adf`]
/// has no answer for.
pub fn engle_granger(y: &[f64], x: &[f64], lags: usize) -> Option<Coint> {
    if y.len() != x.len() || y.is_empty() || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    check_series(y, lags, Trend::NoConstant)?;
    let n = y.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let (dx, dy) = (xi - mx, yi - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if !(sxx > 0.0 && syy > 0.0) {
        return None;
    }
    let beta = sxy / sxx;
    let alpha = my - beta * mx;
    let resid: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| yi - alpha - beta * xi)
        .collect();
    let rss: f64 = resid.iter().map(|u| u * u).sum();
    let nobs = y.len() - 1 - lags;
    let (adf_stat, p_value) = if 1.0 - rss / syy < 1.0 - 100.0 * f64::EPSILON.sqrt() {
        let stat = adf(&resid, lags, Trend::NoConstant)?.stat;
        (stat, mackinnon_p(stat, 2)?)
    } else {
        (f64::NEG_INFINITY, 0.0)
    };
    Some(Coint {
        hedge_ratio: beta,
        intercept: alpha,
        adf_stat,
        p_value,
        nobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The least-squares line through a window, from scratch, about its means.
    fn naive_fit(y: &[f64], x: &[f64]) -> (f64, f64, f64) {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let beta = sxy / sxx;
        (beta, my - beta * mx, sxx)
    }

    fn fits(y: &[f64], x: &[f64], n: usize) -> Vec<Option<Fit>> {
        let mut ols = RollingOls::new(n);
        y.iter().zip(x).map(|(&b, &a)| ols.update(b, a)).collect()
    }

    #[test]
    fn rolling_ols_on_an_exact_line_across_many_wraps() {
        let x: Vec<f64> = (0..200)
            .map(|i| 1000.0 + (i as f64 * 0.7).sin() * 5.0)
            .collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 + 2.0 * v).collect();
        let got = fits(&y, &x, 7);
        assert!(got[..6].iter().all(Option::is_none));
        for f in &got[6..] {
            let f = f.unwrap();
            assert!((f.beta - 2.0).abs() < 1e-9, "{f:?}");
            assert!((f.alpha - 3.0).abs() < 1e-6, "{f:?}");
        }
        // By hand: (0, 1), (1, 3), (2, 5) lie on y = 1 + 2x.
        assert_eq!(
            fits(&[1.0, 3.0, 5.0], &[0.0, 1.0, 2.0], 3)[2],
            Some(Fit {
                beta: 2.0,
                alpha: 1.0
            })
        );
    }

    #[test]
    fn rolling_ols_without_an_answer() {
        assert!(
            fits(&[1.0, 2.0, 3.0, 4.0], &[5.0; 4], 3)
                .iter()
                .all(Option::is_none)
        );
        // A NaN keeps the fit away until it has left the window; then it is the window's.
        let x = [1.0, f64::NAN, 3.0, 4.0, 6.0, 7.0, 9.0, 10.0];
        let y = [2.0, 5.0, f64::INFINITY, 1.0, 4.0, 3.0, 8.0, 9.0];
        let got = fits(&y, &x, 3);
        assert!(got[..5].iter().all(Option::is_none), "{got:?}");
        for t in 5..x.len() {
            let (beta, alpha, _) = naive_fit(&y[t - 2..=t], &x[t - 2..=t]);
            let f = got[t].unwrap();
            assert!((f.beta - beta).abs() < 1e-12 && (f.alpha - alpha).abs() < 1e-12);
        }
        assert_eq!(RollingOls::new(0).window(), 2);
    }

    /// Two random walks at a price level, with a shared component.
    fn pair() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (
            1.0f64..10_000.0,
            proptest::collection::vec((-1.0f64..1.0, -1.0f64..1.0), 2..300),
        )
            .prop_map(|(level, steps)| {
                let (mut x, mut y) = (level, 2.0 * level);
                steps
                    .into_iter()
                    .map(|(a, b)| {
                        x += a;
                        y += 1.5 * a + b;
                        (y, x)
                    })
                    .unzip()
            })
    }

    proptest! {
        /// Each streaming fit is the window's least-squares line, computed again from scratch.
        #[test]
        fn rolling_ols_is_the_window_fit((y, x) in pair(), n in 2usize..40) {
            for (t, f) in fits(&y, &x, n).into_iter().enumerate() {
                if t + 1 < n {
                    prop_assert!(f.is_none());
                    continue;
                }
                let (beta, alpha, sxx) = naive_fit(&y[t + 1 - n..=t], &x[t + 1 - n..=t]);
                let f = f.unwrap();
                // Rounding in the sums is relative to the window's spread in x.
                let tol = 1e-9 * (1.0 + beta.abs()) * (n as f64 / sxx).sqrt().max(1.0);
                prop_assert!((f.beta - beta).abs() <= tol, "{} vs {} at {}", f.beta, beta, t);
                let level = x[t].abs() + y[t].abs();
                prop_assert!((f.alpha - alpha).abs() <= tol * level, "{} vs {}", f.alpha, alpha);
            }
        }

        /// The fit at t is the same whether the series ends at t or goes on.
        #[test]
        fn rolling_ols_does_not_look_ahead((y, x) in pair(), n in 2usize..40, cut in 0usize..300) {
            let t = cut.min(y.len());
            prop_assert_eq!(&fits(&y, &x, n)[..t], &fits(&y[..t], &x[..t], n)[..]);
        }
    }

    #[test]
    fn adf_by_hand() {
        let y = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 5.5, 7.0, 6.0, 8.5];
        let level = &y[..y.len() - 1];
        let diff: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
        let m = diff.len() as f64;
        // No constant, no lags: Δyₜ = γ·yₜ₋₁.
        let sxx: f64 = level.iter().map(|v| v * v).sum();
        let gamma = level.iter().zip(&diff).map(|(a, b)| a * b).sum::<f64>() / sxx;
        let rss: f64 = level
            .iter()
            .zip(&diff)
            .map(|(a, b)| (b - gamma * a).powi(2))
            .sum();
        let t = gamma / (rss / (m - 1.0) / sxx).sqrt();
        let got = adf(&y, 0, Trend::NoConstant).unwrap();
        assert!((got.stat - t).abs() < 1e-12 * t.abs(), "{got:?} vs {t}");
        assert_eq!((got.lags, got.nobs), (0, 9));
        // A constant, no lags: the slope of Δy on yₜ₋₁ with an intercept.
        let (gamma, c, sxx) = naive_fit(&diff, level);
        let rss: f64 = level
            .iter()
            .zip(&diff)
            .map(|(a, b)| (b - c - gamma * a).powi(2))
            .sum();
        let t = gamma / (rss / (m - 2.0) / sxx).sqrt();
        let got = adf(&y, 0, Trend::Constant).unwrap();
        assert!((got.stat - t).abs() < 1e-12 * t.abs(), "{got:?} vs {t}");
    }

    #[test]
    fn tests_without_an_answer_are_none() {
        let walk = series()["x1"][..40].to_vec();
        assert!(adf(&walk, 2, Trend::Constant).is_some());
        let mut nan = walk.clone();
        nan[5] = f64::NAN;
        assert_eq!(adf(&nan, 2, Trend::Constant), None);
        assert_eq!(adf(&[4.0; 40], 2, Trend::Constant), None, "flat");
        // statsmodels' bound: lags ≤ len/2 − 1 − (1 with a constant).
        assert!(adf(&walk, 18, Trend::Constant).is_some());
        assert_eq!(adf(&walk, 19, Trend::Constant), None);
        let odd = &series()["x1"][..41];
        assert!(adf(odd, 19, Trend::NoConstant).is_some());
        assert_eq!(adf(odd, 20, Trend::NoConstant), None);
        // Within the bound, but as many regressors as observations.
        assert_eq!(adf(&walk, 19, Trend::NoConstant), None);
        assert_eq!(adf(&[], 0, Trend::NoConstant), None);
        assert_eq!(adf_aic(&walk, 19, Trend::Constant), None);
        // A straight line fits Δy = c exactly: no t-statistic.
        let line: Vec<f64> = (0..20).map(|i| i as f64).collect();
        assert_eq!(adf(&line, 1, Trend::Constant), None);
        assert_eq!(engle_granger(&walk, &walk[1..], 1), None, "lengths");
        assert_eq!(engle_granger(&walk, &[2.0; 40], 1), None, "flat x");
        assert_eq!(engle_granger(&[2.0; 40], &walk, 1), None, "flat y");
        assert_eq!(engle_granger(&nan, &walk, 1), None);
        let on_a_line: Vec<f64> = walk.iter().map(|v| 1.0 - 0.5 * v).collect();
        let c = engle_granger(&on_a_line, &walk, 1).unwrap();
        assert_eq!(
            (c.adf_stat, c.p_value, c.nobs),
            (f64::NEG_INFINITY, 0.0, 38)
        );
        assert!((c.hedge_ratio + 0.5).abs() < 1e-12 && (c.intercept - 1.0).abs() < 1e-12);
        assert_eq!(mackinnon_p(f64::NAN, 1), None);
        assert_eq!(mackinnon_p(-2.0, 0), None);
        assert_eq!(mackinnon_p(-2.0, 3), None);
        assert_eq!(mackinnon_p(f64::NEG_INFINITY, 2), Some(0.0));
        assert_eq!(mackinnon_p(f64::INFINITY, 1), Some(1.0));
        assert!(normal_cdf(f64::NAN).is_nan());
        assert_eq!(
            (normal_cdf(f64::NEG_INFINITY), normal_cdf(f64::INFINITY)),
            (0.0, 1.0)
        );
        assert_eq!(normal_cdf(0.0), 0.5);
    }

    /// `tests/golden/coint_series.csv`: columns by name, short ones ending in empty cells.
    fn series() -> HashMap<String, Vec<f64>> {
        let mut lines = include_str!("../../../tests/golden/coint_series.csv").lines();
        let names: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut cols: HashMap<String, Vec<f64>> = HashMap::new();
        for line in lines {
            for (name, v) in names.iter().zip(line.split(',')) {
                if !v.is_empty() {
                    cols.entry(name.to_string())
                        .or_default()
                        .push(v.parse().unwrap());
                }
            }
        }
        cols
    }

    fn near(got: f64, want: f64, rel: f64, abs: f64) -> bool {
        (got - want).abs() <= rel * want.abs() + abs
    }

    #[test]
    fn agrees_with_statsmodels() {
        let s = series();
        let mut checked = HashMap::<&str, usize>::new();
        for line in include_str!("../../../tests/golden/coint.csv")
            .lines()
            .skip(1)
        {
            let c: Vec<&str> = line.split(',').collect();
            let num = |i: usize| c[i].parse::<f64>().unwrap();
            let int = |i: usize| c[i].parse::<usize>().unwrap();
            let trend = if c[4] == "n" {
                Trend::NoConstant
            } else {
                Trend::Constant
            };
            match c[0] {
                "adf" | "adf_aic" => {
                    let got = if c[0] == "adf" {
                        adf(&s[c[1]], int(3), trend)
                    } else {
                        adf_aic(&s[c[1]], int(3), trend)
                    }
                    .unwrap();
                    assert!(near(got.stat, num(5), 1e-8, 0.0), "{line}: {got:?}");
                    assert_eq!((got.nobs, got.lags), (int(7), int(8)), "{line}");
                    // Njord has MacKinnon's tables for a constant only.
                    if trend == Trend::Constant {
                        let p = mackinnon_p(got.stat, 1).unwrap();
                        assert!(near(p, num(6), 0.0, 1e-6), "{line}: {p}");
                    }
                }
                "coint" => {
                    let (y, x) = (&s[c[1]], &s[c[2]]);
                    let n = y.len().min(x.len());
                    let got = engle_granger(&y[..n], &x[..n], int(3)).unwrap();
                    assert!(near(got.adf_stat, num(5), 1e-8, 0.0), "{line}: {got:?}");
                    assert!(near(got.p_value, num(6), 0.0, 1e-6), "{line}: {got:?}");
                    assert_eq!(got.nobs, int(7), "{line}");
                }
                "p" => {
                    let p = mackinnon_p(num(5), int(3)).unwrap();
                    // Both sides evaluate the same polynomial: agreement is to rounding.
                    assert!(near(p, num(6), 1e-12, 1e-15), "{line}: {p}");
                }
                "cdf" => {
                    let p = normal_cdf(num(5));
                    assert!(near(p, num(6), 1e-12, 1e-15), "{line}: {p}");
                }
                other => panic!("unknown row kind {other}"),
            }
            *checked.entry(c[0]).or_default() += 1;
        }
        for kind in ["adf", "adf_aic", "coint", "p", "cdf"] {
            assert!(checked.get(kind).copied().unwrap_or(0) >= 10, "{checked:?}");
        }
    }

    #[test]
    fn the_pairs_read_as_they_were_made() {
        let s = series();
        let cointegrated = engle_granger(&s["y1"], &s["x1"], 1).unwrap();
        assert!(cointegrated.p_value < 0.01, "{cointegrated:?}");
        assert!(
            (cointegrated.hedge_ratio - 1.5).abs() < 0.1,
            "{cointegrated:?}"
        );
        let independent = engle_granger(&s["y2"], &s["x2"], 1).unwrap();
        assert!(independent.p_value > 0.1, "{independent:?}");
    }
}
