//! Streaming features for strategies and models: each takes one observation at a time, in
//! event order, and answers `None` until it has seen enough. A value at time t depends on the
//! observations up to t only — no look-ahead; the tests check every feature for it by running
//! it over a series cut at t and over the whole series.
//!
//! Values are `f64`, as indicators (prices that leave Njord stay decimals). Volatilities are
//! per bar (or per observation): multiply by √(bars per year) to annualise. Standard
//! deviations of samples divide by n − 1, as the covariance of the portfolio allocator does.

pub mod set;

use crate::indicators::{Moments, Sma};

#[cfg(test)]
mod checks;
mod pair;
#[cfg(test)]
mod talib;
mod trend;
mod volume;

pub use pair::{RollingBeta, RollingCorrelation};
pub use trend::{Adx, Atr, Directional, Macd, MacdValue, StochValue, Stochastic};
pub use volume::{Obv, TradeImbalance, Vwap, VwapValue, book_imbalance};

/// The simple return of consecutive prices, (pₜ − pₜ₋₁) / pₜ₋₁ (TA-Lib `ROCP` over one
/// period); `None` for the first price and after a price of 0.
#[derive(Debug, Clone, Default)]
pub struct Returns {
    prev: Option<f64>,
}

impl Returns {
    pub fn update(&mut self, price: f64) -> Option<f64> {
        let r = self.prev.filter(|p| *p != 0.0).map(|p| (price - p) / p);
        self.prev = Some(price);
        r
    }
}

/// The log return of consecutive prices, ln(pₜ / pₜ₋₁); `None` for the first price and where
/// either price is not positive.
#[derive(Debug, Clone, Default)]
pub struct LogReturns {
    prev: Option<f64>,
}

impl LogReturns {
    pub fn update(&mut self, price: f64) -> Option<f64> {
        let r = self
            .prev
            .filter(|p| *p > 0.0 && price > 0.0)
            .map(|p| (price / p).ln());
        self.prev = Some(price);
        r
    }
}

/// The sample standard deviation of the latest `n` values (n ≥ 2), from their population
/// variance.
fn sample_sd(moments: &mut Moments, x: f64) -> Option<(f64, f64)> {
    let n = moments.window() as f64;
    let (mean, var) = moments.update(x)?;
    Some((mean, (var * n / (n - 1.0)).sqrt()))
}

/// The rolling z-score: how many sample standard deviations the latest value lies from the
/// mean of the latest `n` values (itself included). `None` until `n` values, and for a flat
/// window, where it is undefined.
#[derive(Debug, Clone)]
pub struct ZScore {
    moments: Moments,
}

impl ZScore {
    /// `n` is at least 2.
    pub fn new(n: usize) -> Self {
        ZScore {
            moments: Moments::new(n.max(2)),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let (mean, sd) = sample_sd(&mut self.moments, x)?;
        (sd > 0.0).then(|| (x - mean) / sd)
    }
}

/// Close-to-close realized volatility: the sample standard deviation of the latest `n` log
/// returns of closes (ready after n + 1 closes).
#[derive(Debug, Clone)]
pub struct CloseToCloseVol {
    returns: LogReturns,
    moments: Moments,
}

impl CloseToCloseVol {
    /// `n` is at least 2.
    pub fn new(n: usize) -> Self {
        CloseToCloseVol {
            returns: LogReturns::default(),
            moments: Moments::new(n.max(2)),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<f64> {
        let r = self.returns.update(close)?;
        sample_sd(&mut self.moments, r).map(|(_, sd)| sd)
    }
}

/// A bar's prices, for the range-based volatilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

impl Ohlc {
    /// Whether the prices make a bar: positive, with the high and low bounding the others.
    fn is_valid(&self) -> bool {
        self.low > 0.0
            && self.low <= self.open.min(self.close)
            && self.high >= self.open.max(self.close)
    }
}

/// The root of the mean of a per-bar variance over the latest `n` bars: the shape of the
/// range-based volatilities. A bar that is not one (a price ≤ 0, a high below the open or
/// close, a low above them) gives `None` and is left out of the window.
#[derive(Debug, Clone)]
struct BarVariance {
    mean: Sma,
}

impl BarVariance {
    fn new(n: usize) -> Self {
        BarVariance { mean: Sma::new(n) }
    }

    fn update(&mut self, bar: Ohlc, variance: fn(&Ohlc) -> f64) -> Option<f64> {
        if !bar.is_valid() {
            return None;
        }
        // A window of small bodies and tiny ranges can round just below 0.
        self.mean.update(variance(&bar)).map(|m| m.max(0.0).sqrt())
    }
}

/// Parkinson's (1980) range volatility over the latest `n` bars:
/// √(Σ ln(H/L)² / (4 ln 2 · n)). A bar that is not one (a price ≤ 0, a high below the open
/// or close, a low above them) gives `None` and is left out of the window.
#[derive(Debug, Clone)]
pub struct ParkinsonVol(BarVariance);

impl ParkinsonVol {
    pub fn new(n: usize) -> Self {
        ParkinsonVol(BarVariance::new(n))
    }

    pub fn update(&mut self, bar: Ohlc) -> Option<f64> {
        self.0.update(bar, |b| {
            (b.high / b.low).ln().powi(2) / (4.0 * std::f64::consts::LN_2)
        })
    }
}

/// Garman and Klass's (1980) volatility over the latest `n` bars:
/// √(Σ [½ ln(H/L)² − (2 ln 2 − 1) ln(C/O)²] / n). Bars as in [`ParkinsonVol`].
#[derive(Debug, Clone)]
pub struct GarmanKlassVol(BarVariance);

impl GarmanKlassVol {
    pub fn new(n: usize) -> Self {
        GarmanKlassVol(BarVariance::new(n))
    }

    pub fn update(&mut self, bar: Ohlc) -> Option<f64> {
        self.0.update(bar, |b| {
            0.5 * (b.high / b.low).ln().powi(2)
                - (2.0 * std::f64::consts::LN_2 - 1.0) * (b.close / b.open).ln().powi(2)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Feature = (&'static str, fn(&[Ohlc]) -> Vec<Option<f64>>);

    fn closes(bars: &[Ohlc], mut f: impl FnMut(f64) -> Option<f64>) -> Vec<Option<f64>> {
        bars.iter().map(|b| f(b.close)).collect()
    }

    /// Every feature, as the values it gives over a series of bars.
    const FEATURES: [Feature; 6] = [
        ("returns", |b| {
            let mut r = Returns::default();
            closes(b, |x| r.update(x))
        }),
        ("log_returns", |b| {
            let mut r = LogReturns::default();
            closes(b, |x| r.update(x))
        }),
        ("zscore", |b| {
            let mut z = ZScore::new(5);
            closes(b, |x| z.update(x))
        }),
        ("close_to_close_vol", |b| {
            let mut v = CloseToCloseVol::new(5);
            closes(b, |x| v.update(x))
        }),
        ("parkinson_vol", |b| {
            let mut v = ParkinsonVol::new(5);
            b.iter().map(|bar| v.update(*bar)).collect()
        }),
        ("garman_klass_vol", |b| {
            let mut v = GarmanKlassVol::new(5);
            b.iter().map(|bar| v.update(*bar)).collect()
        }),
    ];

    /// Bars of a random walk: each a close and a range around its open and close.
    fn bars() -> impl Strategy<Value = Vec<Ohlc>> {
        proptest::collection::vec((-0.05f64..0.05, 0.0f64..0.02, 0.0f64..0.02), 1..120).prop_map(
            |steps| {
                let mut open = 100.0;
                steps
                    .into_iter()
                    .map(|(r, up, down)| {
                        let close = open * (1.0 + r);
                        let bar = Ohlc {
                            open,
                            high: open.max(close) * (1.0 + up),
                            low: open.min(close) * (1.0 - down),
                            close,
                        };
                        open = close;
                        bar
                    })
                    .collect()
            },
        )
    }

    fn sample_sd_of(w: &[f64]) -> f64 {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        (w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1e-3),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    proptest! {
        /// A feature's values up to t are the same whether the series ends at t or goes on.
        #[test]
        fn no_feature_looks_ahead(bars in bars(), cut in 0usize..120) {
            let t = cut.min(bars.len());
            for (name, f) in FEATURES {
                let whole = f(&bars);
                let cut = f(&bars[..t]);
                prop_assert_eq!(&whole[..t], &cut[..], "{} at {}", name, t);
            }
        }

        /// Each streaming value is its formula over the window, computed again from scratch.
        #[test]
        fn features_are_their_formulas(bars in bars()) {
            let n = 5;
            let c: Vec<f64> = bars.iter().map(|b| b.close).collect();
            let logs: Vec<f64> = c.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
            let values: Vec<Vec<Option<f64>>> = FEATURES.iter().map(|(_, f)| f(&bars)).collect();
            for i in 0..bars.len() {
                let ret = (i >= 1).then(|| (c[i] - c[i - 1]) / c[i - 1]);
                prop_assert!(close(values[0][i], ret));
                prop_assert!(close(values[1][i], (i >= 1).then(|| logs[i - 1])));
                let z = (i + 1 >= n).then(|| {
                    let w = &c[i + 1 - n..=i];
                    (c[i] - w.iter().sum::<f64>() / n as f64) / sample_sd_of(w)
                });
                prop_assert!(close(values[2][i], z), "zscore {}", i);
                let vol = (i >= n).then(|| sample_sd_of(&logs[i - n..i]));
                prop_assert!(close(values[3][i], vol), "c2c {}", i);
                let window = (i + 1 >= n).then(|| &bars[i + 1 - n..=i]);
                let park = window.map(|w| {
                    let s: f64 = w.iter().map(|b| (b.high / b.low).ln().powi(2)).sum();
                    (s / (4.0 * std::f64::consts::LN_2 * n as f64)).sqrt()
                });
                prop_assert!(close(values[4][i], park), "parkinson {}", i);
                let gk = window.map(|w| {
                    let s: f64 = w
                        .iter()
                        .map(|b| {
                            0.5 * (b.high / b.low).ln().powi(2)
                                - (2.0 * std::f64::consts::LN_2 - 1.0) * (b.close / b.open).ln().powi(2)
                        })
                        .sum();
                    (s / n as f64).max(0.0).sqrt()
                });
                prop_assert!(close(values[5][i], gk), "garman-klass {}", i);
            }
        }
    }

    #[test]
    fn edge_cases_give_none_not_nonsense() {
        let mut r = Returns::default();
        assert_eq!(
            [100.0, 110.0, 0.0, 5.0].map(|x| r.update(x)),
            [None, Some(0.1), Some(-1.0), None]
        );
        let mut l = LogReturns::default();
        assert_eq!([1.0, -1.0, 2.0].map(|x| l.update(x)), [None, None, None]);
        let mut z = ZScore::new(3);
        assert_eq!(
            [7.0; 4].map(|x| z.update(x)),
            [None, None, None, None],
            "a flat window"
        );
        let bad = Ohlc {
            open: 10.0,
            high: 9.0,
            low: 8.0,
            close: 9.5,
        };
        assert_eq!(ParkinsonVol::new(1).update(bad), None);
        assert_eq!(GarmanKlassVol::new(1).update(bad), None);
    }
}
