//! Walk-forward optimisation (a pure core): the windows, and the out-of-sample equity
//! stitched from the test windows.
//!
//! - Windows start at the tape's first event. Fold k trains on
//!   `[start + k·step, start + k·step + train)` (anchored: on `[start, start + train + k·step)`)
//!   and tests on the `test` that follows its training window. Only folds whose test window ends by the tape's last event
//!   are made; the windows are half-open, in event time.
//! - Stitched out-of-sample equity: the test windows' per-period returns, one after another,
//!   compounded from the capital; its total return, max drawdown and Sharpe (mean / sd ×
//!   √(periods per year), sd dividing by n − 1).
//! - Walk-forward efficiency: the out-of-sample return per year of test time over the
//!   in-sample return per year of training time, each summed over the folds (Pardo's ratio of
//!   annualised returns; above 1 the strategy did better out of sample than in).

use super::metrics::NS_PER_YEAR;

/// One fold's windows, `[from, to)` in event-time nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Fold {
    pub train_from: i64,
    pub train_to: i64,
    pub test_from: i64,
    pub test_to: i64,
}

/// The folds over a tape from `first` to `last` (event times).
pub fn folds(first: i64, last: i64, train: i64, test: i64, step: i64, anchored: bool) -> Vec<Fold> {
    let mut out = Vec::new();
    if train <= 0 || test <= 0 || step <= 0 {
        return out;
    }
    for k in 0.. {
        let shift = step.saturating_mul(k);
        let (train_from, train_to) = if anchored {
            (first, first.saturating_add(train).saturating_add(shift))
        } else {
            let from = first.saturating_add(shift);
            (from, from.saturating_add(train))
        };
        let test_to = train_to.saturating_add(test);
        if test_to > last.saturating_add(1) || test_to == i64::MAX {
            break;
        }
        out.push(Fold {
            train_from,
            train_to,
            test_from: train_to,
            test_to,
        });
    }
    out
}

/// The stitched out-of-sample equity's figures.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stitched {
    pub returns: usize,
    pub total_return: f64,
    pub max_drawdown: f64,
    /// `None` with fewer than two returns or no variation.
    pub sharpe: Option<f64>,
}

/// Compounds `returns` (per period of `interval_ns`) from 1.
pub fn stitch(returns: &[f64], interval_ns: i64) -> Stitched {
    let (mut equity, mut peak, mut max_dd) = (1.0f64, 1.0f64, 0.0f64);
    for r in returns {
        equity *= 1.0 + r;
        peak = peak.max(equity);
        if peak > 0.0 {
            max_dd = max_dd.max((peak - equity) / peak);
        }
    }
    let n = returns.len();
    let sharpe = (n >= 2)
        .then(|| {
            let mean = returns.iter().sum::<f64>() / n as f64;
            let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1) as f64;
            let periods = NS_PER_YEAR / interval_ns as f64;
            (var > 0.0).then(|| mean / var.sqrt() * periods.sqrt())
        })
        .flatten();
    Stitched {
        returns: n,
        total_return: equity - 1.0,
        max_drawdown: max_dd,
        sharpe,
    }
}

/// Walk-forward efficiency from (in-sample return, training ns, out-of-sample return, test
/// ns) per fold; `None` when the in-sample rate is 0 or there is no fold.
pub fn efficiency(folds: &[(f64, i64, f64, i64)]) -> Option<f64> {
    let (mut is_ret, mut is_ns, mut oos_ret, mut oos_ns) = (0.0, 0.0, 0.0, 0.0);
    for &(a, b, c, d) in folds {
        (is_ret, is_ns, oos_ret, oos_ns) =
            (is_ret + a, is_ns + b as f64, oos_ret + c, oos_ns + d as f64);
    }
    if folds.is_empty() || is_ns <= 0.0 || oos_ns <= 0.0 {
        return None;
    }
    let is_rate = is_ret / is_ns;
    (is_rate != 0.0).then(|| (oos_ret / oos_ns) / is_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 86_400_000_000_000;

    #[test]
    fn rolling_and_anchored_folds() {
        // 60 days of tape (first event at 0, last at 60 days): 30-day training, 7-day tests.
        let f = folds(0, 60 * D, 30 * D, 7 * D, 7 * D, false);
        assert_eq!(f.len(), 4);
        assert_eq!(
            f[1],
            Fold {
                train_from: 7 * D,
                train_to: 37 * D,
                test_from: 37 * D,
                test_to: 44 * D
            }
        );
        assert_eq!(f[3].test_to, 58 * D);
        let a = folds(0, 60 * D, 30 * D, 7 * D, 7 * D, true);
        assert_eq!(a.len(), 4);
        assert_eq!((a[3].train_from, a[3].train_to), (0, 51 * D));
        assert!(folds(0, 20 * D, 30 * D, 7 * D, 7 * D, false).is_empty());
        assert!(folds(0, 60 * D, 0, 7 * D, 7 * D, false).is_empty());
    }

    /// Returns +10 %, −10 %, +5 %: equity 1.1, 0.99, 1.0395; peak 1.1, drawdown 0.1.
    #[test]
    fn stitched_by_hand() {
        let s = stitch(&[0.1, -0.1, 0.05], 86_400_000_000_000);
        assert!((s.total_return - 0.0395).abs() < 1e-12);
        assert!((s.max_drawdown - 0.1).abs() < 1e-12);
        let mean: f64 = 0.05 / 3.0;
        let var = ((0.1 - mean).powi(2) + (-0.1 - mean).powi(2) + (0.05 - mean).powi(2)) / 2.0;
        assert!((s.sharpe.unwrap() - mean / var.sqrt() * 365f64.sqrt()).abs() < 1e-12);
        assert_eq!(stitch(&[0.1], 1).sharpe, None);
    }

    /// In sample 20 % over 60 days, out of sample 5 % over 30 days: (5/30) / (20/60) = 0.5.
    #[test]
    fn efficiency_is_a_ratio_of_rates() {
        let e = efficiency(&[(0.12, 30 * D, 0.02, 15 * D), (0.08, 30 * D, 0.03, 15 * D)]);
        assert!((e.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(efficiency(&[]), None);
        assert_eq!(efficiency(&[(0.0, D, 0.1, D)]), None);
    }
}
