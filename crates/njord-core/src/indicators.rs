//! Technical indicators as traders know them from TA-Lib, updated in O(1) per price.
//!
//! Every indicator takes one `f64` at a time and answers `None` until it has seen enough
//! prices (TA-Lib's "lookback"), then the same values TA-Lib computes over the whole series
//! (`tests/golden/indicators_*.csv`, made by `scripts/ta_golden.py`, checks that). Running sums
//! over a window are recomputed from the window each time it wraps around, so rounding drift
//! stays bounded on endless streams while the cost stays O(1) amortized.
//!
//! Indicators use `f64` (DESIGN §3); prices and quantities that leave Njord stay decimals.

/// A fixed-capacity window of the latest values, oldest first (also the windows of
/// `features`).
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    buf: Vec<f64>,
    /// Index of the oldest value once full; 0 before.
    head: usize,
    len: usize,
}

impl Ring {
    pub(crate) fn new(cap: usize) -> Self {
        Ring {
            buf: vec![0.0; cap.max(1)],
            head: 0,
            len: 0,
        }
    }
    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }
    /// Appends `x`; returns the value that fell out when the window was full.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        // The head stays at 0 until the window is full; no division on this path.
        if self.len < self.buf.len() {
            self.buf[self.len] = x;
            self.len += 1;
            None
        } else {
            let old = std::mem::replace(&mut self.buf[self.head], x);
            self.head += 1;
            if self.head == self.buf.len() {
                self.head = 0;
            }
            Some(old)
        }
    }
    /// True when the window has just come round to its first slot again: time to recompute
    /// running sums exactly.
    pub(crate) fn wrapped(&self) -> bool {
        self.is_full() && self.head == 0
    }
    /// Values oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (before, from) = self.buf.split_at(self.head);
        from.iter().chain(before).take(self.len).copied()
    }
}

/// Simple moving average over `n` prices.
#[derive(Debug, Clone)]
pub struct Sma {
    ring: Ring,
    sum: f64,
}

impl Sma {
    pub fn new(n: usize) -> Self {
        Sma {
            ring: Ring::new(n),
            sum: 0.0,
        }
    }
    pub fn update(&mut self, x: f64) -> Option<f64> {
        match self.ring.push(x) {
            Some(old) => self.sum += x - old,
            None => self.sum += x,
        }
        if self.ring.wrapped() {
            self.sum = self.ring.iter().sum();
        }
        self.ring
            .is_full()
            .then(|| self.sum / self.ring.cap() as f64)
    }
}

/// How an [`Ema`] gets its first value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmaSeed {
    /// TA-Lib's default: the first value is the SMA of the first `n` prices, so the EMA is
    /// ready after `n` prices. Used by TEMA (and so by `rsi_tema_bb`).
    Sma,
    /// The first value is the first price and the EMA is ready at once, as most charting
    /// tools and backtesting frameworks do. Used by `ema_cross`.
    FirstPrice,
}

/// Exponential moving average with α = 2/(n+1).
#[derive(Debug, Clone)]
pub struct Ema {
    alpha: f64,
    n: usize,
    seed: EmaSeed,
    seen: usize,
    value: f64,
}

impl Ema {
    pub fn new(n: usize, seed: EmaSeed) -> Self {
        let n = n.max(1);
        Ema {
            alpha: 2.0 / (n as f64 + 1.0),
            n,
            seed,
            seen: 0,
            value: 0.0,
        }
    }
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.seen = self.seen.saturating_add(1);
        match self.seed {
            EmaSeed::FirstPrice if self.seen == 1 => self.value = x,
            EmaSeed::Sma if self.seen < self.n => {
                self.value += x;
                return None;
            }
            EmaSeed::Sma if self.seen == self.n => self.value = (self.value + x) / self.n as f64,
            // TA-Lib's form, so results agree to the last bit.
            _ => self.value += (x - self.value) * self.alpha,
        }
        Some(self.value)
    }
    /// The current value, once ready.
    pub fn value(&self) -> Option<f64> {
        let ready = match self.seed {
            EmaSeed::Sma => self.seen >= self.n,
            EmaSeed::FirstPrice => self.seen >= 1,
        };
        ready.then_some(self.value)
    }
}

/// Wilder's RSI, seeded like TA-Lib: the first value comes after `n` price changes, from the
/// plain averages of their gains and losses; then averages are smoothed as
/// `avg = (avg·(n−1) + x)/n`. An unchanged series reads 0, as in TA-Lib.
#[derive(Debug, Clone)]
pub struct Rsi {
    n: usize,
    prev: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
}

impl Rsi {
    pub fn new(n: usize) -> Self {
        Rsi {
            n: n.max(1),
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        }
    }
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let prev = self.prev.replace(x)?;
        let d = x - prev;
        let (g, l) = if d > 0.0 { (d, 0.0) } else { (0.0, -d) };
        let n = self.n as f64;
        self.changes = self.changes.saturating_add(1);
        if self.changes < self.n {
            self.gain += g;
            self.loss += l;
            return None;
        }
        if self.changes == self.n {
            self.gain = (self.gain + g) / n;
            self.loss = (self.loss + l) / n;
        } else {
            self.gain = (self.gain * (n - 1.0) + g) / n;
            self.loss = (self.loss * (n - 1.0) + l) / n;
        }
        let total = self.gain + self.loss;
        Some(if total != 0.0 {
            100.0 * (self.gain / total)
        } else {
            0.0
        })
    }
}

/// Triple EMA: 3·EMA1 − 3·EMA2 + EMA3, where EMA2 is the EMA of EMA1 and EMA3 that of EMA2,
/// all seeded like TA-Lib (SMA of the first `n` inputs). Ready after 3·(n−1)+1 prices.
#[derive(Debug, Clone)]
pub struct Tema {
    e1: Ema,
    e2: Ema,
    e3: Ema,
}

impl Tema {
    pub fn new(n: usize) -> Self {
        Tema {
            e1: Ema::new(n, EmaSeed::Sma),
            e2: Ema::new(n, EmaSeed::Sma),
            e3: Ema::new(n, EmaSeed::Sma),
        }
    }
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let a = self.e1.update(x)?;
        let b = self.e2.update(a)?;
        let c = self.e3.update(b)?;
        Some(3.0 * a - 3.0 * b + c)
    }
}

/// Bollinger bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub lower: f64,
    pub middle: f64,
    pub upper: f64,
}

/// The mean and population variance of the latest `n` values, O(1) per value.
///
/// The running sums are of deviations from a reference value (re-centred on the window's mean
/// each time the window wraps), so the variance of a quiet window of a high-priced symbol is
/// not lost to cancellation in Σx² − n·mean².
#[derive(Debug, Clone)]
pub struct Moments {
    ring: Ring,
    shift: Option<f64>,
    sum: f64,
    sum_sq: f64,
}

impl Moments {
    pub fn new(n: usize) -> Self {
        Moments {
            ring: Ring::new(n),
            shift: None,
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    /// The window's size.
    pub fn window(&self) -> usize {
        self.ring.cap()
    }

    /// Takes `x`; once `n` values are in, the window's mean and population variance (0 for a
    /// variance within the rounding noise of the sums: a flat window).
    pub fn update(&mut self, x: f64) -> Option<(f64, f64)> {
        let shift = *self.shift.get_or_insert(x);
        if let Some(old) = self.ring.push(x) {
            let d = old - shift;
            self.sum -= d;
            self.sum_sq -= d * d;
        }
        let d = x - shift;
        self.sum += d;
        self.sum_sq += d * d;
        let n = self.ring.cap() as f64;
        if self.ring.wrapped() {
            let mean = self.ring.iter().sum::<f64>() / n;
            self.shift = Some(mean);
            self.sum = self.ring.iter().map(|v| v - mean).sum();
            self.sum_sq = self.ring.iter().map(|v| (v - mean) * (v - mean)).sum();
        }
        if !self.ring.is_full() {
            return None;
        }
        let shift = self.shift.unwrap_or(x);
        let dev = self.sum / n;
        let mean_sq = self.sum_sq / n;
        let var = mean_sq - dev * dev;
        let var = if var > 8.0 * f64::EPSILON * mean_sq {
            var
        } else {
            0.0
        };
        Some((shift + dev, var))
    }
}

/// Bollinger bands: SMA of `n` prices ± k population standard deviations (TA-Lib `BBANDS`
/// with `matype` SMA).
#[derive(Debug, Clone)]
pub struct Bollinger {
    moments: Moments,
    k: f64,
}

impl Bollinger {
    pub fn new(n: usize, k: f64) -> Self {
        Bollinger {
            moments: Moments::new(n),
            k,
        }
    }
    pub fn update(&mut self, x: f64) -> Option<Bands> {
        let (mean, var) = self.moments.update(x)?;
        let sd = var.sqrt();
        Some(Bands {
            lower: mean - self.k * sd,
            middle: mean,
            upper: mean + self.k * sd,
        })
    }
}

/// A least-squares line over a window, x = 0 at the oldest price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Change per step.
    pub slope: f64,
    /// Fitted value at the oldest price (TA-Lib `LINEARREG_INTERCEPT`).
    pub intercept: f64,
    /// Number of prices fitted.
    pub len: usize,
}

impl Line {
    /// Fitted value at the newest price (TA-Lib `LINEARREG`).
    pub fn end(&self) -> f64 {
        self.at(self.len as f64 - 1.0)
    }
    /// Fitted value one step after the newest price (TA-Lib `TSF`).
    pub fn forecast(&self) -> f64 {
        self.at(self.len as f64)
    }
    fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Linear regression over the latest `n` prices, the window growing until full; the line is
/// available from 2 prices on.
#[derive(Debug, Clone)]
pub struct LinReg {
    ring: Ring,
    sum_y: f64,
    /// Σ i·yᵢ with i = 0 at the oldest price of the window.
    sum_xy: f64,
}

impl LinReg {
    pub fn new(n: usize) -> Self {
        LinReg {
            ring: Ring::new(n),
            sum_y: 0.0,
            sum_xy: 0.0,
        }
    }
    /// Adds a price and returns the line over the window once the window is full.
    pub fn update(&mut self, y: f64) -> Option<Line> {
        self.push(y);
        if self.ring.is_full() {
            self.line()
        } else {
            None
        }
    }
    /// Adds a price to the window.
    pub fn push(&mut self, y: f64) {
        let k = self.ring.len;
        match self.ring.push(y) {
            None => {
                self.sum_xy += k as f64 * y;
                self.sum_y += y;
            }
            Some(old) => {
                // Dropping the oldest shifts every x down by one.
                self.sum_xy -= self.sum_y - old;
                self.sum_y -= old;
                self.sum_xy += (k - 1) as f64 * y;
                self.sum_y += y;
            }
        }
        if self.ring.wrapped() {
            self.sum_y = self.ring.iter().sum();
            self.sum_xy = self
                .ring
                .iter()
                .enumerate()
                .map(|(i, v)| i as f64 * v)
                .sum();
        }
    }
    /// Prices in the window.
    pub fn len(&self) -> usize {
        self.ring.len
    }
    pub fn is_empty(&self) -> bool {
        self.ring.len == 0
    }
    /// The least-squares line through the window, when it holds at least 2 prices.
    pub fn line(&self) -> Option<Line> {
        let k = self.ring.len;
        if k < 2 {
            return None;
        }
        let n = k as f64;
        let sx = n * (n - 1.0) / 2.0;
        let sxx = n * (n - 1.0) * (2.0 * n - 1.0) / 6.0;
        let slope = (n * self.sum_xy - sx * self.sum_y) / (n * sxx - sx * sx);
        Some(Line {
            slope,
            intercept: (self.sum_y - slope * sx) / n,
            len: k,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sma_and_bands_on_a_small_series() {
        let mut s = Sma::new(3);
        let got: Vec<_> = [1.0, 2.0, 3.0, 4.0].map(|x| s.update(x)).into();
        assert_eq!(got, vec![None, None, Some(2.0), Some(3.0)]);
        let mut b = Bollinger::new(2, 2.0);
        assert_eq!(b.update(1.0), None);
        let bands = b.update(3.0).unwrap();
        assert_eq!((bands.lower, bands.middle, bands.upper), (0.0, 2.0, 4.0));
    }

    #[test]
    fn ema_seeds() {
        let mut first = Ema::new(3, EmaSeed::FirstPrice);
        assert_eq!(first.update(10.0), Some(10.0));
        assert_eq!(first.update(12.0), Some(11.0));
        let mut sma = Ema::new(3, EmaSeed::Sma);
        assert_eq!((sma.update(1.0), sma.update(2.0)), (None, None));
        assert_eq!(sma.update(3.0), Some(2.0));
        assert_eq!(sma.update(4.0), Some(3.0));
        assert_eq!(sma.value(), Some(3.0));
    }

    #[test]
    fn rsi_extremes() {
        let mut r = Rsi::new(3);
        let got: Vec<_> = [1.0, 2.0, 3.0, 4.0, 4.0].map(|x| r.update(x)).into();
        assert_eq!(got, vec![None, None, None, Some(100.0), Some(100.0)]);
        let mut flat = Rsi::new(2);
        let got: Vec<_> = [5.0; 4].map(|x| flat.update(x)).into();
        assert_eq!(got, vec![None, None, Some(0.0), Some(0.0)]);
    }

    #[test]
    fn linreg_on_a_line_and_a_sliding_window() {
        let mut l = LinReg::new(4);
        for y in [3.0, 5.0, 7.0] {
            l.push(y);
        }
        let line = l.line().unwrap();
        assert_eq!(
            (line.slope, line.intercept, line.forecast()),
            (2.0, 3.0, 9.0)
        );
        // Slide well past several wraps; the fit stays exact on a straight line.
        for i in 3..40 {
            l.push(3.0 + 2.0 * i as f64);
        }
        let line = l.line().unwrap();
        assert!(
            (line.forecast() - (3.0 + 2.0 * 40.0)).abs() < 1e-9,
            "{line:?}"
        );
        assert_eq!(line.len, 4);
    }

    /// Reads a `tests/golden/indicators_*.csv` (or `features_talib_*.csv`) made by
    /// `scripts/ta_golden.py`: the periods from the comment line, then columns by name (`None`
    /// where TA-Lib has NaN).
    pub(crate) type Columns = HashMap<String, Vec<Option<f64>>>;

    pub(crate) fn golden(text: &str) -> (HashMap<String, f64>, Columns) {
        let mut lines = text.lines();
        let periods = lines
            .next()
            .unwrap()
            .trim_start_matches('#')
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.parse().unwrap())
            })
            .collect();
        let names: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let mut cols = Columns::new();
        for line in lines {
            for (name, v) in names.iter().zip(line.split(',')) {
                cols.entry(name.clone())
                    .or_default()
                    .push((!v.is_empty()).then(|| v.parse().unwrap()));
            }
        }
        (periods, cols)
    }

    pub(crate) fn check(name: &str, got: &[Option<f64>], want: &[Option<f64>]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{name}[{i}]: {g} vs TA-Lib {w}"
                ),
                (None, None) => {}
                _ => panic!("{name}[{i}]: readiness differs: {g:?} vs TA-Lib {w:?}"),
            }
        }
    }

    fn against_talib(text: &str) {
        let (p, cols) = golden(text);
        let n = |k: &str| p[k] as usize;
        let prices: Vec<f64> = cols["price"].iter().map(|v| v.unwrap()).collect();
        let run = |f: &mut dyn FnMut(f64) -> Option<f64>| -> Vec<Option<f64>> {
            prices.iter().map(|&x| f(x)).collect()
        };
        let mut sma = Sma::new(n("sma"));
        check("sma", &run(&mut |x| sma.update(x)), &cols["sma"]);
        let mut ema = Ema::new(n("ema"), EmaSeed::Sma);
        check("ema", &run(&mut |x| ema.update(x)), &cols["ema"]);
        let mut rsi = Rsi::new(n("rsi"));
        check("rsi", &run(&mut |x| rsi.update(x)), &cols["rsi"]);
        let mut tema = Tema::new(n("tema"));
        check("tema", &run(&mut |x| tema.update(x)), &cols["tema"]);
        let mut bb = Bollinger::new(n("bb"), p["bb_k"]);
        let bands: Vec<_> = prices.iter().map(|&x| bb.update(x)).collect();
        check(
            "bb_lower",
            &bands.iter().map(|b| b.map(|b| b.lower)).collect::<Vec<_>>(),
            &cols["bb_lower"],
        );
        check(
            "bb_middle",
            &bands
                .iter()
                .map(|b| b.map(|b| b.middle))
                .collect::<Vec<_>>(),
            &cols["bb_middle"],
        );
        check(
            "bb_upper",
            &bands.iter().map(|b| b.map(|b| b.upper)).collect::<Vec<_>>(),
            &cols["bb_upper"],
        );
        let mut lr = LinReg::new(n("linreg"));
        let lines: Vec<_> = prices.iter().map(|&x| lr.update(x)).collect();
        let col = |f: fn(&Line) -> f64| lines.iter().map(|l| l.as_ref().map(f)).collect::<Vec<_>>();
        check("linreg", &col(Line::end), &cols["linreg"]);
        check("linreg_slope", &col(|l| l.slope), &cols["linreg_slope"]);
        check(
            "linreg_intercept",
            &col(|l| l.intercept),
            &cols["linreg_intercept"],
        );
        check("tsf", &col(Line::forecast), &cols["tsf"]);
    }

    #[test]
    fn agrees_with_talib_on_generated_series() {
        against_talib(include_str!("../../../tests/golden/indicators_a.csv"));
        against_talib(include_str!("../../../tests/golden/indicators_b.csv"));
    }

    proptest::proptest! {
        /// The O(1) updates agree with recomputing each window from scratch, across wraps.
        #[test]
        fn incremental_equals_naive(
            prices in proptest::collection::vec(1.0f64..50_000.0, 1..300),
            n in 2usize..30,
        ) {
            let mut sma = Sma::new(n);
            let mut bb = Bollinger::new(n, 2.0);
            let mut lr = LinReg::new(n);
            for (i, &x) in prices.iter().enumerate() {
                let (s, b, l) = (sma.update(x), bb.update(x), lr.update(x));
                if i + 1 < n {
                    proptest::prop_assert!(s.is_none() && b.is_none() && l.is_none());
                    continue;
                }
                let w = &prices[i + 1 - n..=i];
                let k = n as f64;
                let mean = w.iter().sum::<f64>() / k;
                let sd = (w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k).sqrt();
                let tol = 1e-9 * mean.abs().max(1.0);
                proptest::prop_assert!((s.unwrap() - mean).abs() <= tol);
                let b = b.unwrap();
                proptest::prop_assert!((b.middle - mean).abs() <= tol);
                proptest::prop_assert!((b.upper - (mean + 2.0 * sd)).abs() <= 1e-6 * mean.max(1.0));
                let mx = (k - 1.0) / 2.0;
                let slope = w.iter().enumerate().map(|(j, v)| (j as f64 - mx) * (v - mean)).sum::<f64>()
                    / w.iter().enumerate().map(|(j, _)| (j as f64 - mx).powi(2)).sum::<f64>();
                let line = l.unwrap();
                proptest::prop_assert!((line.slope - slope).abs() <= 1e-6 * mean.max(1.0), "{} vs {}", line.slope, slope);
                proptest::prop_assert!((line.forecast() - (mean + slope * (k - mx))).abs() <= 1e-6 * mean.max(1.0));
            }
        }
    }

    #[test]
    fn tema_tracks_a_line_without_lag() {
        let mut t = Tema::new(3);
        let mut last = None;
        for i in 0..30 {
            last = t.update(i as f64).or(last);
        }
        assert!((last.unwrap() - 29.0).abs() < 1e-6, "{last:?}");
    }
}
