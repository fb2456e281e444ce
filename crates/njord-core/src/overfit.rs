//! How much a sweep's best result owes to luck (pure, `f64`): the probabilistic Sharpe ratio
//! (Bailey & López de Prado, 2012), the deflated Sharpe ratio (the same, 2014) and the
//! probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey,
//! Borwein, López de Prado & Zhu, 2017).
//!
//! Conventions, over per-period returns `r₁…r_T`:
//! - Sharpe `SR = mean / sd`, per period (not annualised), `sd` dividing by T − 1; 0 when `sd`
//!   is 0. Skewness `γ₃ = m₃ / m₂^1.5` (biased), kurtosis `γ₄ = m₄ / m₂²` (not excess: 3 for a
//!   normal), with `m_k` the mean of `(r − mean)^k`.
//! - `PSR(SR*) = Φ((SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4·SR²))`: the probability that
//!   the true Sharpe is above `SR*`.
//! - `DSR = PSR(SR₀)` of the best trial (highest Sharpe, the first on ties), where
//!   `SR₀ = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))` is the expected maximum Sharpe of
//!   N trials without skill: N the sweep's trial count, V the variance (N − 1) of the trials'
//!   Sharpe ratios, γ the Euler–Mascheroni constant.
//! - PBO: the first `T − T mod S` returns in S contiguous blocks of equal length. For each of
//!   the C(S, S/2) choices of S/2 blocks as in-sample (the others out-of-sample), n* is the
//!   trial with the best in-sample Sharpe (the first on ties); its out-of-sample rank
//!   `r = 1 +` the trials strictly worse out-of-sample, `ω = r / (N + 1)` and the logit
//!   `λ = ln(ω / (1 − ω))`. PBO is the share of splits with `λ ≤ 0`: how often the in-sample
//!   best is no better than the median out of sample.

use statrs::distribution::{ContinuousCDF, Normal};

/// The Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The most blocks PBO takes: C(24, 12) = 2,704,156 splits.
pub const MAX_BLOCKS: usize = 24;

fn normal() -> Normal {
    Normal::standard()
}

/// The moments of a return series that the Sharpe statistics need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (T − 1).
    pub sd: f64,
    /// Biased skewness.
    pub skew: f64,
    /// Kurtosis, not excess.
    pub kurt: f64,
}

impl Moments {
    /// `None` for fewer than two returns.
    pub fn of(r: &[f64]) -> Option<Moments> {
        let n = r.len();
        if n < 2 {
            return None;
        }
        let t = n as f64;
        let mean = r.iter().sum::<f64>() / t;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for x in r {
            let d = x - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        let sd = (m2 / (t - 1.0)).sqrt();
        let (m2, m3, m4) = (m2 / t, m3 / t, m4 / t);
        let (skew, kurt) = if m2 > 0.0 {
            (m3 / m2.powf(1.5), m4 / (m2 * m2))
        } else {
            (0.0, 3.0)
        };
        Some(Moments {
            n,
            mean,
            sd,
            skew,
            kurt,
        })
    }

    /// The per-period Sharpe ratio (0 when the returns do not vary).
    pub fn sharpe(&self) -> f64 {
        if self.sd > 0.0 {
            self.mean / self.sd
        } else {
            0.0
        }
    }

    /// The probability that the true Sharpe ratio is above `sr_star` (`None` when the
    /// moments make the variance of the estimate non-positive).
    pub fn psr(&self, sr_star: f64) -> Option<f64> {
        let sr = self.sharpe();
        let var = 1.0 - self.skew * sr + (self.kurt - 1.0) / 4.0 * sr * sr;
        if var <= 0.0 || !var.is_finite() {
            return None;
        }
        let z = (sr - sr_star) * ((self.n - 1) as f64).sqrt() / var.sqrt();
        Some(normal().cdf(z))
    }
}

/// The expected maximum Sharpe ratio of `trials` trials without skill whose Sharpe ratios
/// vary by `variance` (`None` for fewer than two trials).
pub fn expected_max_sharpe(trials: usize, variance: f64) -> Option<f64> {
    if trials < 2 || variance < 0.0 {
        return None;
    }
    let n = trials as f64;
    let q = |p: f64| normal().inverse_cdf(p);
    let e = std::f64::consts::E;
    Some(
        variance.sqrt()
            * ((1.0 - EULER_GAMMA) * q(1.0 - 1.0 / n) + EULER_GAMMA * q(1.0 - 1.0 / (n * e))),
    )
}

/// The deflated Sharpe ratio of a sweep's best trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deflated {
    /// The best trial (by per-period Sharpe; the first on ties), as an index of the series.
    pub best: usize,
    pub sharpe: f64,
    /// PSR of the best trial against 0.
    pub psr: f64,
    /// The trials' count.
    pub trials: usize,
    /// The variance (N − 1) of the trials' Sharpe ratios.
    pub variance: f64,
    /// The expected maximum Sharpe ratio of as many trials without skill.
    pub sr0: f64,
    /// PSR of the best trial against `sr0`.
    pub dsr: f64,
}

/// The deflated Sharpe ratio of `series`, one return series per trial; `None` for fewer than
/// two trials, a series of fewer than two returns, or moments without a PSR.
pub fn deflated(series: &[&[f64]]) -> Option<Deflated> {
    let moments: Vec<Moments> = series
        .iter()
        .map(|r| Moments::of(r))
        .collect::<Option<_>>()?;
    let sharpes: Vec<f64> = moments.iter().map(Moments::sharpe).collect();
    let best = (0..sharpes.len()).fold(None, |b: Option<usize>, i| match b {
        Some(j) if sharpes[j] >= sharpes[i] => Some(j),
        _ => Some(i),
    })?;
    let n = sharpes.len() as f64;
    let mean = sharpes.iter().sum::<f64>() / n;
    let variance = sharpes.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (n - 1.0);
    let sr0 = expected_max_sharpe(sharpes.len(), variance)?;
    let m = &moments[best];
    Some(Deflated {
        best,
        sharpe: sharpes[best],
        psr: m.psr(0.0)?,
        trials: sharpes.len(),
        variance,
        sr0,
        dsr: m.psr(sr0)?,
    })
}

/// The probability of backtest overfitting of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Pbo {
    pub pbo: f64,
    pub blocks: usize,
    /// Returns per block.
    pub block_len: usize,
    /// How many in-sample/out-of-sample splits were ranked: C(blocks, blocks/2).
    pub splits: usize,
    /// The median logit λ (positive: the in-sample best tends to stay above the median).
    pub median_logit: f64,
}

/// A block's count, mean and sum of squared deviations, combined exactly (Chan et al.), so a
/// split's Sharpe costs a few operations per block.
#[derive(Debug, Clone, Copy, Default)]
struct Part {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Part {
    fn of(r: &[f64]) -> Part {
        r.iter().fold(Part::default(), |p, &x| {
            p.add(Part {
                n: 1.0,
                mean: x,
                m2: 0.0,
            })
        })
    }

    fn add(self, o: Part) -> Part {
        if self.n == 0.0 {
            return o;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        Part {
            n,
            mean: self.mean + d * o.n / n,
            m2: self.m2 + o.m2 + d * d * self.n * o.n / n,
        }
    }

    fn sharpe(&self) -> f64 {
        let sd = (self.m2 / (self.n - 1.0)).sqrt();
        if sd > 0.0 { self.mean / sd } else { 0.0 }
    }
}

/// PBO of `series` (one return series per trial, all of one length) over `blocks` blocks.
pub fn pbo(series: &[&[f64]], blocks: usize) -> Result<Pbo, String> {
    if blocks < 2 || blocks % 2 == 1 || blocks > MAX_BLOCKS {
        return Err(format!(
            "blocks must be even, from 2 to {MAX_BLOCKS} (got {blocks})"
        ));
    }
    let trials = series.len();
    if trials < 2 {
        return Err(format!("needs at least 2 trials (got {trials})"));
    }
    let t = series[0].len();
    if let Some(s) = series.iter().find(|s| s.len() != t) {
        return Err(format!(
            "trials have {t} and {} returns: they must have as many",
            s.len()
        ));
    }
    let block_len = t / blocks;
    if block_len < 2 {
        return Err(format!(
            "{t} returns make blocks of {block_len}: {blocks} blocks need at least {} returns",
            2 * blocks
        ));
    }
    // parts[b][k]: block b of trial k.
    let parts: Vec<Vec<Part>> = (0..blocks)
        .map(|b| {
            series
                .iter()
                .map(|s| Part::of(&s[b * block_len..(b + 1) * block_len]))
                .collect()
        })
        .collect();
    let all = (1u32 << blocks) - 1;
    let half = (blocks / 2) as u32;
    let mut logits = Vec::new();
    let (mut ins, mut outs) = (vec![Part::default(); trials], vec![Part::default(); trials]);
    for mask in (0..=all).filter(|m| m.count_ones() == half) {
        ins.fill(Part::default());
        outs.fill(Part::default());
        for (b, row) in parts.iter().enumerate() {
            let side = if mask & (1 << b) != 0 {
                &mut ins
            } else {
                &mut outs
            };
            for (acc, p) in side.iter_mut().zip(row) {
                *acc = acc.add(*p);
            }
        }
        let is: Vec<f64> = ins.iter().map(Part::sharpe).collect();
        let best = (0..trials).fold(0, |b, k| if is[k] > is[b] { k } else { b });
        let oos: Vec<f64> = outs.iter().map(Part::sharpe).collect();
        let rank = 1 + oos.iter().filter(|&&s| s < oos[best]).count();
        let w = rank as f64 / (trials + 1) as f64;
        logits.push((w / (1.0 - w)).ln());
    }
    let splits = logits.len();
    let overfit = logits.iter().filter(|&&l| l <= 0.0).count();
    logits.sort_by(f64::total_cmp);
    let median_logit = if splits % 2 == 1 {
        logits[splits / 2]
    } else {
        (logits[splits / 2 - 1] + logits[splits / 2]) / 2.0
    };
    Ok(Pbo {
        pbo: overfit as f64 / splits as f64,
        blocks,
        block_len,
        splits,
        median_logit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    /// r = (0.02, −0.01, 0.03, 0): mean 0.01, deviations (0.01, −0.02, 0.02, −0.01);
    /// Σd² = 0.001, sd = √(0.001/3) = 0.0182574; m₂ = 0.00025, m₃ = (1 − 8 + 8 − 1)e-6/4 = 0,
    /// m₄ = (1 + 16 + 16 + 1)e-8/4 = 8.5e-8; skew 0, kurtosis 8.5e-8 / 6.25e-8 = 1.36.
    /// SR = 0.01 / 0.0182574 = 0.547723; PSR(0) = Φ(0.547723·√3 / √(1 + 0.09·0.3)) =
    /// Φ(0.948683 / 1.013410) = Φ(0.936130) = 0.825397.
    #[test]
    fn moments_and_psr_by_hand() {
        let m = Moments::of(&[0.02, -0.01, 0.03, 0.0]).unwrap();
        assert!(close(m.mean, 0.01, 1e-12));
        assert!(close(m.sd, (0.001f64 / 3.0).sqrt(), 1e-12));
        assert!(m.skew.abs() < 1e-9);
        assert!(close(m.kurt, 1.36, 1e-9));
        assert!(close(m.sharpe(), 0.547_722_557_505, 1e-9));
        assert!(close(m.psr(0.0).unwrap(), 0.825_397, 1e-5));
        // Flat returns: a Sharpe of 0 and a PSR of one half against 0.
        let flat = Moments::of(&[0.01; 5]).unwrap();
        assert_eq!((flat.sharpe(), flat.psr(0.0)), (0.0, Some(0.5)));
        assert!(Moments::of(&[0.01]).is_none());
    }

    /// Two trials: SR₀ = √V·((1 − γ)·Φ⁻¹(1/2) + γ·Φ⁻¹(1 − 1/(2e))) = √V·γ·0.900453.
    #[test]
    fn expected_max_sharpe_by_hand() {
        let v: f64 = 0.04;
        let want =
            v.sqrt() * EULER_GAMMA * normal().inverse_cdf(1.0 - 1.0 / (2.0 * std::f64::consts::E));
        assert!(close(expected_max_sharpe(2, v).unwrap(), want, 1e-12));
        assert!(close(want, 0.2 * 0.577_215_664_9 * 0.900_453, 1e-5));
        assert!(expected_max_sharpe(1, v).is_none());
    }

    /// Two trials of two blocks of two returns (CSCV with S = 2, two splits).
    /// A is best in block 1 (Sharpe √2 against B's 1/√2) and B in block 2 (√2 against 0):
    /// each split's in-sample best is out-of-sample the worse, rank 1, ω = 1/3, λ < 0: PBO 1.
    /// When A leads in both blocks, rank 2, ω = 2/3, λ = ln 2 > 0: PBO 0.
    #[test]
    fn pbo_by_hand() {
        let a = [0.01, 0.03, -0.01, 0.01];
        let b = [0.0, 0.02, 0.01, 0.03];
        let p = pbo(&[&a, &b], 2).unwrap();
        assert_eq!((p.pbo, p.splits, p.block_len), (1.0, 2, 2));
        assert!(close(p.median_logit, -(2f64.ln()), 1e-12));
        let lead = [0.01, 0.03, 0.01, 0.03];
        let lag = [-0.01, 0.01, -0.01, 0.01];
        let p = pbo(&[&lead, &lag], 2).unwrap();
        assert_eq!(p.pbo, 0.0);
        assert!(close(p.median_logit, 2f64.ln(), 1e-12));
        // The rest of a series that does not fill a block is left out.
        let p = pbo(
            &[
                &[0.01, 0.03, 0.01, 0.03, 9.0],
                &[-0.01, 0.01, -0.01, 0.01, -9.0],
            ],
            2,
        );
        assert_eq!(p.unwrap().pbo, 0.0);
        assert!(pbo(&[&a, &b], 3).unwrap_err().contains("even"));
        assert!(pbo(&[&a], 2).unwrap_err().contains("2 trials"));
        assert!(
            pbo(&[&a, &b], 4)
                .unwrap_err()
                .contains("at least 8 returns")
        );
        assert!(pbo(&[&a, &b[..3]], 2).unwrap_err().contains("as many"));
    }

    /// The numbers of `scripts/overfit_golden.py`, which computes them from the formulas in
    /// Python's standard library (a split's Sharpe from its returns, not from block sums).
    #[test]
    fn golden() {
        let text = include_str!("../../../tests/golden/overfit.json");
        let g: serde_json::Value = serde_json::from_str(text).unwrap();
        let series: Vec<Vec<f64>> = serde_json::from_value(g["series"].clone()).unwrap();
        let series: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
        for (k, r) in series.iter().enumerate() {
            let m = Moments::of(r).unwrap();
            let want: Vec<f64> = serde_json::from_value(g["moments"][k].clone()).unwrap();
            for (got, want) in [m.mean, m.sd, m.skew, m.kurt].into_iter().zip(want) {
                assert!(close(got, want, 1e-9), "trial {k}: {got} vs {want}");
            }
            let psr = g["psr0"][k].as_f64().unwrap();
            assert!(close(m.psr(0.0).unwrap(), psr, 1e-9), "trial {k}");
        }
        let d = deflated(&series).unwrap();
        let w = &g["deflated"];
        assert_eq!(d.best as u64, w["best"].as_u64().unwrap());
        for (got, key) in [
            (d.sharpe, "sharpe"),
            (d.psr, "psr"),
            (d.variance, "variance"),
            (d.sr0, "sr0"),
            (d.dsr, "dsr"),
        ] {
            let want = w[key].as_f64().unwrap();
            assert!(close(got, want, 1e-9), "{key}: {got} vs {want}");
        }
        for case in g["pbo"].as_array().unwrap() {
            let blocks = case["blocks"].as_u64().unwrap() as usize;
            let p = pbo(&series, blocks).unwrap();
            assert_eq!(p.splits as u64, case["splits"].as_u64().unwrap());
            assert!(
                close(p.pbo, case["pbo"].as_f64().unwrap(), 1e-12),
                "{blocks}: {}",
                p.pbo
            );
        }
    }
}
