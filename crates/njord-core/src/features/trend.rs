//! Trend and range features of bars as TA-Lib computes them: ATR, MACD, the stochastic
//! oscillator, and ADX with its directional indicators. Each gives TA-Lib's values from TA-Lib's
//! first index on, at TA-Lib's default settings (no unstable period, default compatibility);
//! `tests/golden/features_talib_*.csv` checks that.

use super::Ohlc;
use crate::indicators::{Ema, EmaSeed, Sma};
use std::collections::VecDeque;

/// Whether a bar can be used: a bar (prices > 0, the high and low bounding the others) whose
/// prices are finite. Other bars are left out — they give `None` and change nothing — where
/// TA-Lib would carry a NaN on for ever.
pub(super) fn usable(bar: &Ohlc) -> bool {
    bar.is_valid() && bar.open.is_finite() && bar.high.is_finite() && bar.close.is_finite()
}

/// The true range of a bar after a close: the greatest of H − L, |H − Cₚ| and |L − Cₚ|.
fn true_range(bar: &Ohlc, prev_close: f64) -> f64 {
    (bar.high - bar.low)
        .max((prev_close - bar.high).abs())
        .max((prev_close - bar.low).abs())
}

/// Average true range (TA-Lib `ATR`): Wilder's smoothing of the true range,
/// atrₜ = (atrₜ₋₁·(n − 1) + trₜ) / n, seeded with the mean of the first `n` true ranges. The
/// first bar has no true range (no previous close), so the first value comes with bar n + 1.
/// A bar that is not one (a price ≤ 0 or not finite, a high below the open or close, a low
/// above them) is left out here and in the other bar features: it gives `None` and changes
/// nothing.
#[derive(Debug, Clone)]
pub struct Atr {
    n: usize,
    prev_close: Option<f64>,
    ranges: usize,
    atr: f64,
}

impl Atr {
    pub fn new(n: usize) -> Self {
        Atr {
            n: n.max(1),
            prev_close: None,
            ranges: 0,
            atr: 0.0,
        }
    }

    pub fn update(&mut self, bar: Ohlc) -> Option<f64> {
        if !usable(&bar) {
            return None;
        }
        let tr = true_range(&bar, self.prev_close.replace(bar.close)?);
        let n = self.n as f64;
        self.ranges = self.ranges.saturating_add(1);
        if self.ranges < self.n {
            self.atr += tr;
            return None;
        }
        self.atr = if self.ranges == self.n {
            (self.atr + tr) / n
        } else {
            // TA-Lib's order of operations, so values agree to the last bit.
            (self.atr * (n - 1.0) + tr) / n
        };
        Some(self.atr)
    }
}

/// A MACD value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    /// Fast EMA − slow EMA.
    pub macd: f64,
    /// The EMA of `macd`.
    pub signal: f64,
    /// `macd` − `signal`.
    pub hist: f64,
}

/// MACD as TA-Lib computes it (`MACD`, 12/26/9 by default): EMAs seeded with an SMA, the fast
/// one started late so that both EMAs get their first value at the same price — TA-Lib seeds
/// the fast EMA with the mean of the `fast` prices that end where the slow EMA's first window
/// ends, not with the first `fast` prices. The signal EMA is seeded with the mean of the first
/// `signal` MACD values; the first value comes with price slow + signal − 1. Periods are
/// swapped if `fast` > `slow`, as in TA-Lib.
#[derive(Debug, Clone)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    /// Prices still to pass before the fast EMA starts.
    skip: usize,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        let (fast, slow) = (fast.min(slow).max(1), fast.max(slow).max(1));
        Macd {
            fast: Ema::new(fast, EmaSeed::Sma),
            slow: Ema::new(slow, EmaSeed::Sma),
            signal: Ema::new(signal, EmaSeed::Sma),
            skip: slow - fast,
        }
    }

    /// A price that is not finite is left out.
    pub fn update(&mut self, price: f64) -> Option<MacdValue> {
        if !price.is_finite() {
            return None;
        }
        let slow = self.slow.update(price);
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        let macd = self.fast.update(price)? - slow?;
        let signal = self.signal.update(macd)?;
        Some(MacdValue {
            macd,
            signal,
            hist: macd - signal,
        })
    }
}

/// The greatest (or least) of the latest `n` values in O(1) amortized: the values that can
/// still become the extreme, with their positions, the extreme first.
#[derive(Debug, Clone)]
struct Extreme {
    n: u64,
    seen: u64,
    greatest: bool,
    kept: VecDeque<(u64, f64)>,
}

impl Extreme {
    fn new(n: usize, greatest: bool) -> Self {
        Extreme {
            n: n as u64,
            seen: 0,
            greatest,
            // Never more than n values are kept, so this never grows.
            kept: VecDeque::with_capacity(n),
        }
    }

    fn update(&mut self, x: f64) -> Option<f64> {
        let greatest = self.greatest;
        while let Some(&(_, v)) = self.kept.back() {
            if (greatest && v <= x) || (!greatest && v >= x) {
                self.kept.pop_back();
            } else {
                break;
            }
        }
        if self
            .kept
            .front()
            .is_some_and(|&(t, _)| t + self.n <= self.seen)
        {
            self.kept.pop_front();
        }
        self.kept.push_back((self.seen, x));
        self.seen += 1;
        if self.seen < self.n {
            return None;
        }
        self.kept.front().map(|&(_, v)| v)
    }
}

/// A stochastic oscillator value: slow %K and slow %D.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    pub k: f64,
    pub d: f64,
}

/// The slow stochastic oscillator (TA-Lib `STOCH` with SMAs; 5, 3, 3 by default): fast %K is
/// 100·(C − lowest low) / (highest high − lowest low) over the latest `fast_k` bars (0 where
/// the range is 0, as TA-Lib), slow %K its SMA over `slow_k`, slow %D the SMA of slow %K over
/// `slow_d`. The first value comes with bar fast_k + slow_k + slow_d − 2. Bars as in [`Atr`].
#[derive(Debug, Clone)]
pub struct Stochastic {
    highs: Extreme,
    lows: Extreme,
    slow_k: Sma,
    slow_d: Sma,
}

impl Stochastic {
    pub fn new(fast_k: usize, slow_k: usize, slow_d: usize) -> Self {
        let fast_k = fast_k.max(1);
        Stochastic {
            highs: Extreme::new(fast_k, true),
            lows: Extreme::new(fast_k, false),
            slow_k: Sma::new(slow_k),
            slow_d: Sma::new(slow_d),
        }
    }

    pub fn update(&mut self, bar: Ohlc) -> Option<StochValue> {
        if !usable(&bar) {
            return None;
        }
        let (high, low) = (self.highs.update(bar.high), self.lows.update(bar.low));
        let (high, low) = (high?, low?);
        // TA-Lib divides by the range over 100, rather than multiplying by 100.
        let range = (high - low) / 100.0;
        let fast_k = if range != 0.0 {
            (bar.close - low) / range
        } else {
            0.0
        };
        let k = self.slow_k.update(fast_k)?;
        let d = self.slow_d.update(k)?;
        Some(StochValue { k, d })
    }
}

/// Wilder's directional movement: the directional indicators and, once ready, ADX.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Directional {
    /// +DI (TA-Lib `PLUS_DI`).
    pub plus_di: f64,
    /// −DI (TA-Lib `MINUS_DI`).
    pub minus_di: f64,
    /// ADX (TA-Lib `ADX`); `None` for the first n − 1 values of the indicators.
    pub adx: Option<f64>,
}

/// Wilder's directional movement (TA-Lib `ADX`, `PLUS_DI`, `MINUS_DI`; 14 by default). +DM is
/// the rise of the high, −DM the fall of the low, whichever is larger (neither on a tie or
/// when neither is positive); the sums of +DM, −DM and the true range over the first n − 1
/// bar-to-bar moves are then smoothed as sₜ = sₜ₋₁ − sₜ₋₁/n + xₜ, and ±DI = 100·(±DM sum)/(TR
/// sum) (0 while the TR sum is 0). DX = 100·|+DI − −DI|/(+DI + −DI); ADX is the mean of the
/// first n DXs, then Wilder's average (adx·(n − 1) + dx)/n. A DX is undefined while the TR sum
/// or +DI + −DI is 0, and ADX then keeps its value, as in TA-Lib. (TA-Lib takes values below
/// 1e-8 for 0 there; that cut-off, which depends on the price scale, is not copied.)
///
/// The indicators come with bar n + 1, ADX with bar 2n. Bars as in [`Atr`].
#[derive(Debug, Clone)]
pub struct Adx {
    n: usize,
    prev: Option<Ohlc>,
    /// Bar-to-bar moves seen.
    moves: usize,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    adx: f64,
}

impl Adx {
    pub fn new(n: usize) -> Self {
        Adx {
            n: n.max(1),
            prev: None,
            moves: 0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            adx: 0.0,
        }
    }

    pub fn update(&mut self, bar: Ohlc) -> Option<Directional> {
        if !usable(&bar) {
            return None;
        }
        let prev = self.prev.replace(bar)?;
        let up = bar.high - prev.high;
        let down = prev.low - bar.low;
        let (plus, minus) = if down > 0.0 && up < down {
            (0.0, down)
        } else if up > 0.0 && up > down {
            (up, 0.0)
        } else {
            (0.0, 0.0)
        };
        let tr = true_range(&bar, prev.close);
        let n = self.n as f64;
        self.moves = self.moves.saturating_add(1);
        if self.moves < self.n {
            self.plus_dm += plus;
            self.minus_dm += minus;
            self.tr += tr;
            return None;
        }
        self.plus_dm = self.plus_dm - self.plus_dm / n + plus;
        self.minus_dm = self.minus_dm - self.minus_dm / n + minus;
        self.tr = self.tr - self.tr / n + tr;
        let (plus_di, minus_di) = if self.tr > 0.0 {
            (
                100.0 * (self.plus_dm / self.tr),
                100.0 * (self.minus_dm / self.tr),
            )
        } else {
            (0.0, 0.0)
        };
        let sum = plus_di + minus_di;
        let dx = (sum > 0.0).then(|| 100.0 * ((minus_di - plus_di).abs() / sum));
        // The DI's index: 1 for the first.
        let k = self.moves - self.n + 1;
        let adx = if k < self.n {
            // Until n DXs are in, `adx` holds their sum.
            self.adx += dx.unwrap_or(0.0);
            None
        } else {
            if k == self.n {
                self.adx = (self.adx + dx.unwrap_or(0.0)) / n;
            } else if let Some(dx) = dx {
                self.adx = (self.adx * (n - 1.0) + dx) / n;
            }
            Some(self.adx)
        };
        Some(Directional {
            plus_di,
            minus_di,
            adx,
        })
    }
}
