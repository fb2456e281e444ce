//! Synthetic markets (a pure core): seeded log-return processes that `njord-sim gen --model`
//! turns into tapes and Monte Carlo runs draw paths from. The same model, step and seed give
//! the same returns, bit for bit (ChaCha8).
//!
//! A step is `dt` years (a 1-second step is 1 / 31,536,000: 365-day years). Drifts and
//! volatilities are annual; `r` is the log return of one step.
//! - **gbm**: `r = (μ − σ²/2)·dt + σ·√dt·Z`.
//! - **jump** (Merton): gbm plus `N ~ Poisson(λ·dt)` jumps, each `N(jump_mean, jump_sd²)`.
//! - **garch** (GARCH(1,1), per step): `r = μ·dt + ε`, `ε = σₜ·Z`,
//!   `σₜ² = ω + α·εₜ₋₁² + β·σₜ₋₁²`, starting at the unconditional `ω / (1 − α − β)`.
//! - **regime**: two states, calm and volatile, each a gbm with its own σ; before each step
//!   the state switches with probability `switch[state]` (a Markov chain from the calm state,
//!   so the first step may already be volatile).
//! - **bootstrap**: a moving-block bootstrap of a real series of returns: blocks of `block`
//!   consecutive returns from uniformly drawn starts, one after another.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// Seconds in a (365-day) year, as the metrics count it: a step of `s` seconds is `s / YEAR_S`
/// years.
pub const YEAR_S: f64 = crate::backtest::metrics::NS_PER_YEAR / 1e9;

/// A return process.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Gbm {
        mu: f64,
        sigma: f64,
    },
    Jump {
        mu: f64,
        sigma: f64,
        /// Jumps per year.
        rate: f64,
        jump_mean: f64,
        jump_sd: f64,
    },
    Garch {
        mu: f64,
        omega: f64,
        alpha: f64,
        beta: f64,
    },
    Regime {
        mu: f64,
        /// Annual volatility of the calm and the volatile state.
        sigma: [f64; 2],
        /// The probability per step of leaving the calm and the volatile state.
        switch: [f64; 2],
    },
    Bootstrap {
        returns: Vec<f64>,
        block: usize,
    },
}

impl Model {
    /// Refuses parameters that make no process: a negative volatility, a GARCH that is not
    /// stationary, a probability outside [0, 1], a block longer than the series.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number"))
            }
        };
        let non_negative = |name: &str, x: f64| {
            finite(name, x)?;
            if x >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must not be negative (got {x})"))
            }
        };
        match self {
            Model::Gbm { mu, sigma } => {
                finite("mu", *mu)?;
                non_negative("sigma", *sigma)
            }
            Model::Jump {
                mu,
                sigma,
                rate,
                jump_mean,
                jump_sd,
            } => {
                finite("mu", *mu)?;
                finite("jump_mean", *jump_mean)?;
                non_negative("sigma", *sigma)?;
                non_negative("jump_rate", *rate)?;
                non_negative("jump_sd", *jump_sd)
            }
            Model::Garch {
                mu,
                omega,
                alpha,
                beta,
            } => {
                finite("mu", *mu)?;
                non_negative("alpha", *alpha)?;
                non_negative("beta", *beta)?;
                if !(omega.is_finite() && *omega > 0.0) {
                    return Err(format!("omega must be above 0 (got {omega})"));
                }
                if alpha + beta >= 1.0 {
                    return Err(format!(
                        "alpha + beta must be below 1 for a stationary GARCH (got {})",
                        alpha + beta
                    ));
                }
                Ok(())
            }
            Model::Regime { mu, sigma, switch } => {
                finite("mu", *mu)?;
                non_negative("sigma", sigma[0])?;
                non_negative("sigma_high", sigma[1])?;
                for p in switch {
                    if !(0.0..=1.0).contains(p) {
                        return Err(format!("a switch probability must be 0 to 1 (got {p})"));
                    }
                }
                Ok(())
            }
            Model::Bootstrap { returns, block } => {
                if *block == 0 {
                    return Err("block must be at least 1".into());
                }
                if returns.len() < *block {
                    return Err(format!(
                        "the series has {} returns, fewer than one block of {block}",
                        returns.len()
                    ));
                }
                match returns.iter().find(|r| !r.is_finite()) {
                    Some(r) => Err(format!("the series holds a return that is not finite: {r}")),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A seeded path of a model.
#[derive(Debug, Clone)]
pub struct Path {
    model: Model,
    dt: f64,
    rng: ChaCha8Rng,
    /// GARCH: this step's variance.
    variance: f64,
    /// Regime: 0 calm, 1 volatile.
    state: usize,
    /// Bootstrap: the next return's index and how many are left of the block.
    at: usize,
    left: usize,
    jumps: u64,
    /// Jump: the number of jumps in one step (built once; `None` for a rate of 0).
    poisson: Option<Poisson<f64>>,
}

impl Path {
    /// A path of `model` with steps of `dt` years.
    pub fn new(model: Model, dt: f64, seed: u64) -> Result<Path, String> {
        model.check()?;
        if !(dt.is_finite() && dt > 0.0) {
            return Err(format!("the step must be a positive time (got {dt} years)"));
        }
        let variance = match &model {
            Model::Garch {
                omega, alpha, beta, ..
            } => omega / (1.0 - alpha - beta),
            _ => 0.0,
        };
        // Only a rate of 0 is refused here (a checked rate is finite): no jumps.
        let poisson = match &model {
            Model::Jump { rate, .. } => Poisson::new(rate * dt).ok(),
            _ => None,
        };
        Ok(Path {
            model,
            dt,
            rng: ChaCha8Rng::seed_from_u64(seed),
            variance,
            state: 0,
            at: 0,
            left: 0,
            jumps: 0,
            poisson,
        })
    }

    /// The state the last return was drawn in (regime: 0 calm, 1 volatile; 0 otherwise).
    pub fn state(&self) -> usize {
        self.state
    }

    /// Jumps drawn so far (jump model).
    pub fn jumps(&self) -> u64 {
        self.jumps
    }

    fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }

    /// The next step's log return.
    pub fn next_return(&mut self) -> f64 {
        let dt = self.dt;
        match &self.model {
            &Model::Gbm { mu, sigma } => {
                (mu - sigma * sigma / 2.0) * dt + sigma * dt.sqrt() * self.normal()
            }
            &Model::Jump {
                mu,
                sigma,
                jump_mean,
                jump_sd,
                ..
            } => {
                let diffusion = (mu - sigma * sigma / 2.0) * dt + sigma * dt.sqrt() * self.normal();
                let n = self.poisson.map_or(0, |p| p.sample(&mut self.rng) as u64);
                self.jumps += n;
                let jumps: f64 = (0..n).map(|_| jump_mean + jump_sd * self.normal()).sum();
                diffusion + jumps
            }
            &Model::Garch {
                mu,
                omega,
                alpha,
                beta,
            } => {
                let e = self.variance.sqrt() * self.normal();
                self.variance = omega + alpha * e * e + beta * self.variance;
                mu * dt + e
            }
            &Model::Regime { mu, sigma, switch } => {
                if self.rng.random::<f64>() < switch[self.state] {
                    self.state = 1 - self.state;
                }
                let s = sigma[self.state];
                (mu - s * s / 2.0) * dt + s * dt.sqrt() * self.normal()
            }
            Model::Bootstrap { returns, block } => {
                let (n, block) = (returns.len(), *block);
                if self.left == 0 {
                    self.at = self.rng.random_range(0..=n - block);
                    self.left = block;
                }
                let r = returns[self.at];
                self.at += 1;
                self.left -= 1;
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mean and the sample variance (n − 1) of `xs`.
    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    const N: usize = 1_000_000;

    fn draw(model: Model, dt: f64, seed: u64, n: usize) -> (Vec<f64>, Path) {
        let mut p = Path::new(model, dt, seed).unwrap();
        let r = (0..n).map(|_| p.next_return()).collect();
        (r, p)
    }

    /// The log returns of a GBM are normal with mean (μ − σ²/2)·dt and variance σ²·dt: the
    /// sample mean within 4 standard errors, the variance within 1 %.
    #[test]
    fn gbm_moments() {
        let (mu, sigma, dt) = (0.3, 0.8, 60.0 / YEAR_S);
        let (r, _) = draw(Model::Gbm { mu, sigma }, dt, 1, N);
        let (mean, var) = mean_var(&r);
        let se = (sigma * sigma * dt / N as f64).sqrt();
        assert!(
            (mean - (mu - sigma * sigma / 2.0) * dt).abs() < 4.0 * se,
            "{mean}"
        );
        assert!((var / (sigma * sigma * dt) - 1.0).abs() < 0.01, "{var}");
        // Same seed, same path; another seed, another.
        let (again, _) = draw(Model::Gbm { mu, sigma }, dt, 1, 100);
        assert_eq!(again[..], r[..100]);
        assert_ne!(draw(Model::Gbm { mu, sigma }, dt, 2, 100).0, again);
    }

    /// Merton: jumps arrive at λ·dt a step, and the variance is σ²·dt + λ·dt·(m² + s²).
    #[test]
    fn jump_moments() {
        let (mu, sigma, rate, m, s) = (0.0, 0.5, 5_000.0, -0.002, 0.004);
        let dt = 60.0 / YEAR_S;
        let model = Model::Jump {
            mu,
            sigma,
            rate,
            jump_mean: m,
            jump_sd: s,
        };
        let (r, path) = draw(model, dt, 3, N);
        let expected_jumps = rate * dt * N as f64;
        let jumps = path.jumps() as f64;
        assert!(
            (jumps - expected_jumps).abs() < 4.0 * expected_jumps.sqrt(),
            "{jumps}"
        );
        let (mean, var) = mean_var(&r);
        let want_var = sigma * sigma * dt + rate * dt * (m * m + s * s);
        let want_mean = (mu - sigma * sigma / 2.0) * dt + rate * dt * m;
        assert!((var / want_var - 1.0).abs() < 0.03, "{var} vs {want_var}");
        assert!(
            (mean - want_mean).abs() < 4.0 * (want_var / N as f64).sqrt(),
            "{mean}"
        );
    }

    /// The negative Gaussian log-likelihood of GARCH(1,1) residuals with variance targeting
    /// (ω = sample variance × (1 − α − β)).
    fn garch_nll(e: &[f64], alpha: f64, beta: f64, var: f64) -> f64 {
        if alpha < 0.0 || beta < 0.0 || alpha + beta >= 0.9999 {
            return f64::INFINITY;
        }
        let omega = var * (1.0 - alpha - beta);
        let mut h = var;
        let mut nll = 0.0;
        for &x in e {
            nll += h.ln() + x * x / h;
            h = omega + alpha * x * x + beta * h;
        }
        nll / 2.0
    }

    /// Nelder–Mead over (α, β): enough to fit two parameters in the test.
    fn fit_garch(e: &[f64]) -> (f64, f64) {
        let var = e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64;
        let f = |p: [f64; 2]| garch_nll(e, p[0], p[1], var);
        let mut s = [[0.05, 0.80], [0.15, 0.80], [0.05, 0.90]];
        let mut v = s.map(f);
        for _ in 0..200 {
            let mut idx = [0, 1, 2];
            idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
            let (b, m, w) = (idx[0], idx[1], idx[2]);
            let c = [(s[b][0] + s[m][0]) / 2.0, (s[b][1] + s[m][1]) / 2.0];
            let at = |t: f64| [c[0] + t * (s[w][0] - c[0]), c[1] + t * (s[w][1] - c[1])];
            let r = at(-1.0);
            let fr = f(r);
            if fr < v[b] {
                let x = at(-2.0);
                let fx = f(x);
                (s[w], v[w]) = if fx < fr { (x, fx) } else { (r, fr) };
            } else if fr < v[m] {
                (s[w], v[w]) = (r, fr);
            } else {
                let k = at(0.5);
                let fk = f(k);
                if fk < v[w] {
                    (s[w], v[w]) = (k, fk);
                } else {
                    for i in [m, w] {
                        s[i] = [(s[i][0] + s[b][0]) / 2.0, (s[i][1] + s[b][1]) / 2.0];
                        v[i] = f(s[i]);
                    }
                }
            }
        }
        let best = (0..3).min_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        (s[best][0], s[best][1])
    }

    /// A GARCH(1,1) fitted to 1,000,000 generated returns finds α + β within ±0.05 (and α, β
    /// each within ±0.05).
    #[test]
    fn garch_fit_finds_its_persistence() {
        let (alpha, beta) = (0.08, 0.9);
        let model = Model::Garch {
            mu: 0.0,
            omega: 1e-6,
            alpha,
            beta,
        };
        let (r, _) = draw(model, 1.0 / 365.0, 5, N);
        let (a, b) = fit_garch(&r);
        assert!(((a + b) - (alpha + beta)).abs() < 0.05, "α {a} β {b}");
        assert!(
            (a - alpha).abs() < 0.05 && (b - beta).abs() < 0.05,
            "α {a} β {b}"
        );
    }

    /// Regimes: the share of steps in the volatile state is p₀ / (p₀ + p₁), and each state's
    /// returns have its own variance.
    #[test]
    fn regime_moments() {
        let dt = 60.0 / YEAR_S;
        let model = Model::Regime {
            mu: 0.0,
            sigma: [0.4, 1.6],
            switch: [0.001, 0.004],
        };
        let mut p = Path::new(model, dt, 9).unwrap();
        let mut by_state: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..N {
            let r = p.next_return();
            by_state[p.state()].push(r);
        }
        let share = by_state[1].len() as f64 / N as f64;
        assert!((share - 0.2).abs() < 0.03, "{share}");
        for (s, sigma) in [(0, 0.4), (1, 1.6)] {
            let (_, var) = mean_var(&by_state[s]);
            assert!(
                (var / (sigma * sigma * dt) - 1.0).abs() < 0.03,
                "state {s}: {var}"
            );
        }
    }

    /// A block bootstrap draws consecutive runs of the series: every return is one of it, and
    /// each block is `block` consecutive returns of it.
    #[test]
    fn bootstrap_draws_blocks_of_the_series() {
        let series: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let (r, _) = draw(
            Model::Bootstrap {
                returns: series.clone(),
                block: 10,
            },
            1.0,
            4,
            1_000,
        );
        for block in r.chunks(10) {
            assert!(block.windows(2).all(|w| w[1] == w[0] + 1.0), "{block:?}");
            assert!(block[9] <= 99.0);
        }
        let (mean, _) = mean_var(&r);
        assert!((mean - 49.5).abs() < 5.0, "{mean}");
    }

    #[test]
    fn bad_parameters_are_refused_with_their_name() {
        let bad = [
            (
                Model::Gbm {
                    mu: 0.0,
                    sigma: -1.0,
                },
                "sigma must not be negative",
            ),
            (
                Model::Garch {
                    mu: 0.0,
                    omega: 1e-6,
                    alpha: 0.2,
                    beta: 0.8,
                },
                "alpha + beta must be below 1",
            ),
            (
                Model::Regime {
                    mu: 0.0,
                    sigma: [0.1, 0.2],
                    switch: [0.1, 1.5],
                },
                "a switch probability must be 0 to 1",
            ),
            (
                Model::Bootstrap {
                    returns: vec![0.0; 3],
                    block: 5,
                },
                "fewer than one block of 5",
            ),
        ];
        for (m, said) in bad {
            let e = Path::new(m, 1.0, 0).unwrap_err();
            assert!(e.contains(said), "{e}");
        }
        assert!(
            Path::new(
                Model::Gbm {
                    mu: 0.0,
                    sigma: 0.1
                },
                0.0,
                0
            )
            .is_err()
        );
    }
}
