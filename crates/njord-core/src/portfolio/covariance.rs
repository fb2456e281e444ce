//! Covariance estimators on a returns matrix (`T` rows of `n` strategies) and the
//! positive semi-definite repair. Formulas are in the [module documentation](super).

use super::AllocError;
use super::linalg::sym_eigen;

/// An estimated covariance matrix (row-major `n × n`) and what the estimate reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariance {
    pub n: usize,
    pub matrix: Vec<f64>,
    /// Ledoit–Wolf's shrinkage intensity δ ∈ [0, 1]; `None` for the sample estimate.
    pub shrinkage: Option<f64>,
    /// λ_max / λ_min of the (repaired) matrix; `None` when λ_min ≤ 0 (singular).
    pub condition_number: Option<f64>,
    /// Whether a negative eigenvalue was clipped to zero.
    pub repaired: bool,
}

/// The returns with each column's mean subtracted, row-major `T × n`.
fn demeaned(returns: &[Vec<f64>], n: usize) -> Vec<f64> {
    let t = returns.len();
    let mut mean = vec![0.0; n];
    for row in returns {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    for m in &mut mean {
        *m /= t as f64;
    }
    // A constant column's mean is its value exactly, so its variance is exactly zero (the
    // divided sum can be an ulp off, which would leave a variance of ~1e-37).
    if let Some(first) = returns.first() {
        for (i, m) in mean.iter_mut().enumerate() {
            if returns.iter().all(|r| r[i] == first[i]) {
                *m = first[i];
            }
        }
    }
    let mut x = Vec::with_capacity(t * n);
    for row in returns {
        x.extend(row.iter().zip(&mean).map(|(r, m)| r - m));
    }
    x
}

/// `XᵀX` of a row-major `T × n` matrix (symmetric, both triangles filled).
fn gram(x: &[f64], t: usize, n: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * n];
    for r in 0..t {
        let row = &x[r * n..(r + 1) * n];
        for i in 0..n {
            let xi = row[i];
            let gi = &mut g[i * n..(i + 1) * n];
            for j in i..n {
                gi[j] += xi * row[j];
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            g[i * n + j] = g[j * n + i];
        }
    }
    g
}

/// The sample covariance, `Σ = XᵀX / (T − 1)` on demeaned `X`. Needs `T ≥ 2`.
pub fn sample(returns: &[Vec<f64>], n: usize) -> Vec<f64> {
    let t = returns.len();
    let mut g = gram(&demeaned(returns, n), t, n);
    let d = (t as f64 - 1.0).max(1.0);
    for v in &mut g {
        *v /= d;
    }
    g
}

/// Ledoit–Wolf (2004) shrinkage towards `μ I`, exactly as scikit-learn's `LedoitWolf`: the
/// matrix and the intensity δ.
pub fn ledoit_wolf(returns: &[Vec<f64>], n: usize) -> (Vec<f64>, f64) {
    let t = returns.len();
    let tf = t as f64;
    let nf = n as f64;
    let x = demeaned(returns, n);
    let mut s = gram(&x, t, n);
    for v in &mut s {
        *v /= tf;
    }
    if n == 1 {
        return (s, 0.0);
    }
    let trace: f64 = (0..n).map(|i| s[i * n + i]).sum();
    let mu = trace / nf;
    // β̃ = Σ_t (Σ_i x_ti²)², the sum of every entry of (X∘X)ᵀ(X∘X).
    let beta_: f64 = (0..t)
        .map(|r| {
            let q: f64 = x[r * n..(r + 1) * n].iter().map(|v| v * v).sum();
            q * q
        })
        .sum();
    let delta_: f64 = s.iter().map(|v| v * v).sum();
    let beta = (beta_ / tf - delta_) / (nf * tf);
    let delta = (delta_ - 2.0 * mu * trace + nf * mu * mu) / nf;
    let beta = beta.min(delta);
    let shrinkage = if beta <= 0.0 || delta <= 0.0 {
        0.0
    } else {
        beta / delta
    };
    for v in &mut s {
        *v *= 1.0 - shrinkage;
    }
    for i in 0..n {
        s[i * n + i] += shrinkage * mu;
    }
    (s, shrinkage)
}

/// Clips negative eigenvalues to zero (`Σ ← V max(Λ, 0) Vᵀ`) and reports the condition
/// number: `(repaired, condition)`.
pub fn repair_psd(matrix: &mut [f64], n: usize) -> Result<(bool, Option<f64>), AllocError> {
    let eig = sym_eigen(matrix, n).ok_or_else(|| AllocError::SolverFailed {
        detail: "eigen-decomposition of the covariance did not converge".into(),
    })?;
    let (Some(&lo), Some(&hi)) = (eig.values.first(), eig.values.last()) else {
        return Ok((false, None));
    };
    let repaired = lo < 0.0;
    if repaired {
        let v = &eig.vectors;
        let lam: Vec<f64> = eig.values.iter().map(|l| l.max(0.0)).collect();
        for i in 0..n {
            for j in 0..=i {
                let s: f64 = (0..n).map(|k| v[i * n + k] * lam[k] * v[j * n + k]).sum();
                matrix[i * n + j] = s;
                matrix[j * n + i] = s;
            }
        }
    }
    let condition = (lo > 0.0 && hi.is_finite()).then(|| hi / lo);
    Ok((repaired, condition))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<f64>> {
        vec![
            vec![0.01, 0.02, -0.01],
            vec![-0.02, 0.01, 0.00],
            vec![0.03, -0.01, 0.02],
            vec![0.00, 0.00, -0.01],
        ]
    }

    #[test]
    fn sample_divides_by_t_minus_one() {
        // Column 0: mean 0.005, deviations .005 -.025 .025 -.005 → Σd² = 0.0013, / 3.
        let s = sample(&rows(), 3);
        assert!((s[0] - 0.0013 / 3.0).abs() < 1e-18);
        assert_eq!(s[1], s[3]);
    }

    #[test]
    fn ledoit_wolf_of_one_strategy_is_the_biased_variance() {
        let r: Vec<Vec<f64>> = rows().iter().map(|r| vec![r[0]]).collect();
        let (s, d) = ledoit_wolf(&r, 1);
        assert_eq!(d, 0.0);
        assert!((s[0] - 0.0013 / 4.0).abs() < 1e-18);
    }

    #[test]
    fn ledoit_wolf_is_a_convex_mix_with_the_scaled_identity() {
        let (s, d) = ledoit_wolf(&rows(), 3);
        assert!((0.0..=1.0).contains(&d));
        let emp: Vec<f64> = sample(&rows(), 3).iter().map(|v| v * 3.0 / 4.0).collect();
        let mu = (emp[0] + emp[4] + emp[8]) / 3.0;
        assert!((s[1] - (1.0 - d) * emp[1]).abs() < 1e-18);
        assert!((s[0] - ((1.0 - d) * emp[0] + d * mu)).abs() < 1e-18);
    }

    #[test]
    fn repair_clips_a_negative_eigenvalue() {
        // Eigenvalues 3 and -1: repaired to 1.5·[[1,1],[1,1]].
        let mut m = vec![1.0, 2.0, 2.0, 1.0];
        let (repaired, cond) = repair_psd(&mut m, 2).unwrap();
        assert!(repaired);
        assert_eq!(cond, None);
        for v in &m {
            assert!((v - 1.5).abs() < 1e-14);
        }
        let mut pd = vec![2.0, 1.0, 1.0, 2.0];
        assert!(!repair_psd(&mut pd, 2).unwrap().0);
        assert!((repair_psd(&mut pd, 2).unwrap().1.unwrap() - 3.0).abs() < 1e-14);
    }
}
