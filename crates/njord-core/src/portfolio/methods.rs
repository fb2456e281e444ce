//! The weighting methods: each returns long-only weights summing to 1 (before bounds, the
//! volatility overlay and rounding), and the solvers' iteration counts. Formulas are in the
//! [module documentation](super).

use super::AllocError;
use super::linalg::{cholesky, cholesky_solve, dot, mat_vec};

/// ERC's Newton iterations before `solver_failed`.
pub const ERC_MAX_ITER: u32 = 100;
/// ERC stops when every risk contribution is within this of their mean, relatively.
pub const ERC_TOL: f64 = 1e-12;
/// ERC's accepted result: every risk contribution within this of their mean, relatively.
pub const ERC_ACCEPT: f64 = 1e-9;
/// Min-variance's KKT tolerance, relative to the multiplier ν of the budget constraint.
pub const MINVAR_TOL: f64 = 1e-10;
/// The final check of minimum variance's optimality conditions (relative): looser than the
/// active-set steps' [`MINVAR_TOL`], since an ill-conditioned Σ (condition numbers up to
/// [`super::DEFAULT_MAX_CONDITION`]) cannot be solved to 1e-10.
pub const MINVAR_KKT_TOL: f64 = 1e-7;

/// `1/n` each.
pub fn equal(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// The given weights divided by their sum; they must be finite, non-negative, one per strategy
/// and not all zero.
pub fn fixed(w: &[f64], n: usize) -> Result<Vec<f64>, AllocError> {
    if w.len() != n || w.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(AllocError::invalid(format!(
            "fixed weights must be {n} finite non-negative numbers"
        )));
    }
    let s: f64 = w.iter().sum();
    if !(s > 0.0 && s.is_finite()) {
        return Err(AllocError::invalid("fixed weights sum to zero"));
    }
    Ok(w.iter().map(|x| x / s).collect())
}

/// The variances, refusing a zero (or negative) one: the risk-based methods divide by them.
pub fn variances(sigma: &[f64], n: usize) -> Result<Vec<f64>, AllocError> {
    let v: Vec<f64> = (0..n).map(|i| sigma[i * n + i]).collect();
    match v.iter().position(|x| *x <= 0.0 || !x.is_finite()) {
        Some(i) => Err(AllocError::SingularCovariance {
            detail: format!("strategy #{i} has zero variance"),
        }),
        None => Ok(v),
    }
}

/// `w_i ∝ 1/σ_i`.
pub fn inverse_vol(sigma: &[f64], n: usize) -> Result<Vec<f64>, AllocError> {
    let inv: Vec<f64> = variances(sigma, n)?
        .iter()
        .map(|v| 1.0 / v.sqrt())
        .collect();
    let s: f64 = inv.iter().sum();
    Ok(inv.iter().map(|x| x / s).collect())
}

/// Risk contributions `RC_i = w_i (Σw)_i` and their largest relative deviation from the mean.
pub fn risk_contributions(sigma: &[f64], n: usize, w: &[f64]) -> (Vec<f64>, f64) {
    let mut sw = vec![0.0; n];
    mat_vec(sigma, n, w, &mut sw);
    let rc: Vec<f64> = w.iter().zip(&sw).map(|(a, b)| a * b).collect();
    let mean = rc.iter().sum::<f64>() / n as f64;
    let spread = rc
        .iter()
        .map(|r| ((r - mean) / mean).abs())
        .fold(0.0, f64::max);
    (
        rc,
        if spread.is_finite() {
            spread
        } else {
            f64::INFINITY
        },
    )
}

/// Equal risk contribution by damped Newton on the strictly convex
/// `f(y) = ½ yᵀΣy − (1/n) Σ ln y_i` (y > 0), whose minimiser has `y_i (Σy)_i = 1/n`;
/// `w = y / Σy`. Returns the weights and the Newton iterations.
pub fn erc(sigma: &[f64], n: usize) -> Result<(Vec<f64>, u32), AllocError> {
    let var = variances(sigma, n)?;
    let b = 1.0 / n as f64;
    let f = |y: &[f64]| -> f64 {
        let mut sy = vec![0.0; n];
        mat_vec(sigma, n, y, &mut sy);
        0.5 * dot(y, &sy) - b * y.iter().map(|v| v.ln()).sum::<f64>()
    };
    // Start from inverse volatility, scaled so that yᵀΣy = 1 as at the optimum.
    let mut y: Vec<f64> = var.iter().map(|v| 1.0 / v.sqrt()).collect();
    let mut sy = vec![0.0; n];
    mat_vec(sigma, n, &y, &mut sy);
    let q = dot(&y, &sy);
    if q > 0.0 && q.is_finite() {
        let k = 1.0 / q.sqrt();
        y.iter_mut().for_each(|v| *v *= k);
    }
    let residual = |y: &[f64]| -> f64 {
        let mut sy = vec![0.0; n];
        mat_vec(sigma, n, y, &mut sy);
        (0..n).map(|i| (y[i] * sy[i] - b).abs()).fold(0.0, f64::max)
    };
    let mut h = vec![0.0; n * n];
    let mut fy = f(&y);
    let mut iters = 0;
    for iter in 0..ERC_MAX_ITER {
        iters = iter;
        let w = normalised(&y);
        if risk_contributions(sigma, n, &w).1 <= ERC_TOL {
            return Ok((w, iter));
        }
        mat_vec(sigma, n, &y, &mut sy);
        let g: Vec<f64> = (0..n).map(|i| sy[i] - b / y[i]).collect();
        h.copy_from_slice(sigma);
        for i in 0..n {
            h[i * n + i] += b / (y[i] * y[i]);
        }
        let Some(l) = cholesky(&h, n, 0.0) else {
            break;
        };
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        cholesky_solve(&l, n, &mut d);
        let slope = dot(&g, &d);
        // Backtracking: stay positive, and decrease f (Armijo, c = 1/4) or — where f is flat
        // to rounding, near the optimum — the residual max_i |y_i (Σy)_i − 1/n|.
        let r0 = residual(&y);
        let mut t = 1.0;
        let mut next = None;
        for _ in 0..60 {
            let cand: Vec<f64> = y.iter().zip(&d).map(|(a, b)| a + t * b).collect();
            if cand.iter().all(|v| *v > 0.0) {
                let fc = f(&cand);
                if fc <= fy + 0.25 * t * slope || residual(&cand) < r0 {
                    next = Some((cand, fc));
                    break;
                }
            }
            t *= 0.5;
        }
        match next {
            Some((c, fc)) => {
                y = c;
                fy = fc;
            }
            // No decrease left to find in f64: done if the contributions already agree.
            None => break,
        }
    }
    let w = normalised(&y);
    let spread = risk_contributions(sigma, n, &w).1;
    if spread <= ERC_ACCEPT {
        Ok((w, iters))
    } else {
        Err(AllocError::SolverFailed {
            detail: format!("erc: risk contributions differ by {spread:e} after Newton"),
        })
    }
}

fn normalised(y: &[f64]) -> Vec<f64> {
    let s: f64 = y.iter().sum();
    y.iter().map(|v| v / s).collect()
}

/// Long-only minimum variance, `min wᵀΣw` subject to `Σw = 1, w ≥ 0`, by the primal
/// active-set method: each step solves the equality-constrained problem on the free strategies
/// (`w_F = ν Σ_FF⁻¹ 1`, `ν = 1 / 1ᵀΣ_FF⁻¹1`), moves towards it until a weight reaches zero
/// (which joins the active set) and, at the subproblem's optimum, releases the active strategy
/// with the most negative multiplier `(Σw)_j − ν`. Needs a positive definite `Σ`.
pub fn min_variance(sigma: &[f64], n: usize) -> Result<(Vec<f64>, u32), AllocError> {
    let mut w = vec![1.0 / n as f64; n];
    let mut at_zero = vec![false; n];
    let max_iter = 10 * n as u32 + 100;
    let fail = |detail: String| AllocError::SolverFailed { detail };
    for iter in 0..max_iter {
        let free: Vec<usize> = (0..n).filter(|&i| !at_zero[i]).collect();
        let m = free.len();
        let mut sff = vec![0.0; m * m];
        for (a, &i) in free.iter().enumerate() {
            for (b, &j) in free.iter().enumerate() {
                sff[a * m + b] = sigma[i * n + j];
            }
        }
        let l = cholesky(&sff, m, 0.0).ok_or_else(|| AllocError::SingularCovariance {
            detail: "min_variance: covariance of the free strategies is not positive definite"
                .into(),
        })?;
        let mut z = vec![1.0; m];
        cholesky_solve(&l, m, &mut z);
        let nu = 1.0 / z.iter().sum::<f64>();
        if !(nu > 0.0 && nu.is_finite()) {
            return Err(fail("min_variance: degenerate subproblem".into()));
        }
        z.iter_mut().for_each(|v| *v *= nu);
        let p: Vec<f64> = free.iter().zip(&z).map(|(&i, zi)| zi - w[i]).collect();
        if p.iter().all(|v| v.abs() <= 1e-15) {
            let mut g = vec![0.0; n];
            mat_vec(sigma, n, &w, &mut g);
            let worst = (0..n)
                .filter(|&j| at_zero[j])
                .map(|j| (j, (g[j] - nu) / nu))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match worst {
                Some((j, mult)) if mult < -MINVAR_TOL => at_zero[j] = false,
                _ => return kkt_checked(sigma, n, w, &at_zero, nu, iter),
            }
            continue;
        }
        let mut alpha = 1.0;
        let mut block = None;
        for (k, &i) in free.iter().enumerate() {
            if p[k] < 0.0 {
                let a = -w[i] / p[k];
                if a < alpha {
                    alpha = a;
                    block = Some(i);
                }
            }
        }
        if block.is_none() {
            for (k, &i) in free.iter().enumerate() {
                w[i] = z[k];
            }
        } else {
            for (k, &i) in free.iter().enumerate() {
                w[i] = (w[i] + alpha * p[k]).max(0.0);
            }
        }
        if let Some(b) = block {
            w[b] = 0.0;
            at_zero[b] = true;
        }
    }
    Err(fail(format!(
        "min_variance: no optimum after {max_iter} active-set steps"
    )))
}

/// The optimality conditions, checked independently of the path taken: free strategies'
/// marginal variance equal to ν, active ones' not below it, both within [`MINVAR_KKT_TOL`].
fn kkt_checked(
    sigma: &[f64],
    n: usize,
    w: Vec<f64>,
    at_zero: &[bool],
    nu: f64,
    iter: u32,
) -> Result<(Vec<f64>, u32), AllocError> {
    let w = normalised(&w);
    let mut g = vec![0.0; n];
    mat_vec(sigma, n, &w, &mut g);
    let ok = (0..n).all(|i| {
        let r = (g[i] - nu) / nu;
        if at_zero[i] {
            r >= -MINVAR_KKT_TOL
        } else {
            r.abs() <= MINVAR_KKT_TOL && w[i] >= 0.0
        }
    });
    if ok {
        Ok((w, iter))
    } else {
        Err(AllocError::SolverFailed {
            detail: "min_variance: optimality conditions not met to 1e-7".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// σ = (0.1, 0.2, 0.4), correlations 0.3, 0.0, -0.2.
    fn sigma3() -> Vec<f64> {
        let s = [0.1, 0.2, 0.4];
        let rho = [[1.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 1.0]];
        let mut m = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                m[i * 3 + j] = rho[i][j] * s[i] * s[j];
            }
        }
        m
    }

    #[test]
    fn equal_and_fixed() {
        assert_eq!(equal(4), vec![0.25; 4]);
        assert_eq!(fixed(&[1.0, 3.0], 2).unwrap(), vec![0.25, 0.75]);
        assert!(fixed(&[0.0, 0.0], 2).is_err());
        assert!(fixed(&[-1.0, 2.0], 2).is_err());
        assert!(fixed(&[f64::NAN, 2.0], 2).is_err());
        assert!(fixed(&[1.0], 2).is_err());
    }

    #[test]
    fn inverse_vol_by_hand() {
        // 1/0.1 : 1/0.2 : 1/0.4 = 10 : 5 : 2.5 → 4/7, 2/7, 1/7.
        let w = inverse_vol(&sigma3(), 3).unwrap();
        for (a, b) in w.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
            assert!((a - b).abs() < 1e-15);
        }
        let mut z = sigma3();
        z[4] = 0.0;
        assert_eq!(
            inverse_vol(&z, 3).unwrap_err().code(),
            super::super::AllocCode::SingularCovariance
        );
    }

    #[test]
    fn erc_of_uncorrelated_strategies_is_inverse_vol() {
        let s = [0.1, 0.2, 0.4];
        let mut m = vec![0.0; 9];
        for i in 0..3 {
            m[i * 3 + i] = s[i] * s[i];
        }
        let (w, _) = erc(&m, 3).unwrap();
        for (a, b) in w.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn erc_contributions_are_equal_within_1e_8() {
        let (w, iters) = erc(&sigma3(), 3).unwrap();
        let (rc, spread) = risk_contributions(&sigma3(), 3, &w);
        assert!(spread <= 1e-8, "{rc:?}");
        assert!(iters < 30);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(w.iter().all(|x| *x > 0.0));
    }

    #[test]
    fn min_variance_two_assets_closed_form() {
        // Uncorrelated σ² = 1 and 4: w = (4/5, 1/5).
        let (w, _) = min_variance(&[1.0, 0.0, 0.0, 4.0], 2).unwrap();
        assert!((w[0] - 0.8).abs() < 1e-15 && (w[1] - 0.2).abs() < 1e-15);
    }

    #[test]
    fn min_variance_drops_a_dominated_strategy() {
        // σ = (1, 2), ρ = 0.9: the unconstrained optimum shorts #1 (σ₁² − ρσ₁σ₂ = 1 − 1.8 < 0),
        // so the long-only one holds only #0.
        let m = [1.0, 1.8, 1.8, 4.0];
        let (w, _) = min_variance(&m, 2).unwrap();
        assert_eq!(w, vec![1.0, 0.0]);
        // Three assets: at (½, ½, 0) the third's marginal variance (Σw)₂ = 1.2 is above
        // ν = (Σw)₀ = 0.6, so it stays out.
        let s3 = [1.0, 0.2, 1.2, 0.2, 1.0, 1.2, 1.2, 1.2, 4.0];
        let (w, _) = min_variance(&s3, 3).unwrap();
        assert!((w[0] - 0.5).abs() < 1e-14 && (w[1] - 0.5).abs() < 1e-14 && w[2] == 0.0);
    }

    #[test]
    fn min_variance_refuses_a_singular_matrix() {
        let e = min_variance(&[1.0, 1.0, 1.0, 1.0], 2).unwrap_err();
        assert_eq!(e.code(), super::super::AllocCode::SingularCovariance);
    }
}
