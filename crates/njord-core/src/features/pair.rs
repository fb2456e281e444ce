//! Features of two series observed together: rolling correlation (TA-Lib `CORREL`) and beta
//! (TA-Lib `BETA`).

use crate::indicators::Ring;

/// The population variances and covariance of the latest `n` pairs, O(1) amortized per pair.
/// As in `Moments`, the sums are of deviations from a reference pair, re-centred on the
/// window's means each time the window wraps. They are also recomputed from the window whenever
/// a squared deviation added since the last re-centring exceeds 4n times the window's variance
/// (a value far larger than the window's spread has left, or the window has moved far from the
/// reference): the rounding left in the sums is about ε times that deviation, and would
/// otherwise swamp a small variance — a window gone flat after a busy one would not read 0. A
/// value must leave, or the window drift, for that to happen again, so the cost stays O(1)
/// amortized.
#[derive(Debug, Clone)]
struct PairMoments {
    xs: Ring,
    ys: Ring,
    shift: Option<(f64, f64)>,
    sums: Sums,
}

/// Sums of deviations from the reference pair.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    x: f64,
    y: f64,
    xx: f64,
    yy: f64,
    xy: f64,
    /// The largest squared deviations added since the last re-centring.
    peak_x: f64,
    peak_y: f64,
}

impl Sums {
    fn add(&mut self, dx: f64, dy: f64) {
        self.x += dx;
        self.y += dy;
        self.xx += dx * dx;
        self.yy += dy * dy;
        self.xy += dx * dy;
        self.peak_x = self.peak_x.max(dx * dx);
        self.peak_y = self.peak_y.max(dy * dy);
    }

    fn remove(&mut self, dx: f64, dy: f64) {
        self.x -= dx;
        self.y -= dy;
        self.xx -= dx * dx;
        self.yy -= dy * dy;
        self.xy -= dx * dy;
    }

    /// The spread of the window, given 1/n (one division where there would be five).
    fn spread(&self, inv_n: f64) -> Spread {
        let (mx, my) = (self.x * inv_n, self.y * inv_n);
        Spread {
            var_x: self.xx * inv_n - mx * mx,
            var_y: self.yy * inv_n - my * my,
            cov: self.xy * inv_n - mx * my,
        }
    }
}

/// Population variances of x and y, and their covariance.
#[derive(Debug, Clone, Copy)]
struct Spread {
    var_x: f64,
    var_y: f64,
    cov: f64,
}

impl PairMoments {
    fn new(n: usize) -> Self {
        PairMoments {
            xs: Ring::new(n),
            ys: Ring::new(n),
            shift: None,
            sums: Sums::default(),
        }
    }

    /// Recomputes the sums around the window's means.
    fn recentre(&mut self) {
        let n = self.xs.cap() as f64;
        let mx = self.xs.iter().sum::<f64>() / n;
        let my = self.ys.iter().sum::<f64>() / n;
        self.shift = Some((mx, my));
        self.sums = Sums::default();
        for (x, y) in self.xs.iter().zip(self.ys.iter()) {
            self.sums.add(x - mx, y - my);
        }
    }

    fn update(&mut self, x: f64, y: f64) -> Option<Spread> {
        let (cx, cy) = *self.shift.get_or_insert((x, y));
        if let (Some(ox), Some(oy)) = (self.xs.push(x), self.ys.push(y)) {
            self.sums.remove(ox - cx, oy - cy);
        }
        self.sums.add(x - cx, y - cy);
        if self.xs.wrapped() {
            self.recentre();
        }
        if !self.xs.is_full() {
            return None;
        }
        let n = self.xs.cap() as f64;
        let mut s = self.sums.spread(1.0 / n);
        if self.sums.peak_x > 4.0 * n * s.var_x || self.sums.peak_y > 4.0 * n * s.var_y {
            self.recentre();
            s = self.sums.spread(1.0 / n);
        }
        // A flat window's variance may round to just below 0.
        s.var_x = s.var_x.max(0.0);
        s.var_y = s.var_y.max(0.0);
        Some(s)
    }
}

/// Pearson's correlation of the latest `n` pairs (TA-Lib `CORREL`, 30 by default), in
/// [−1, 1]. `None` until n pairs, and where either series is flat over the window, where it is
/// undefined (TA-Lib writes 0 there, and also wherever the product of the two sums of squared
/// deviations is below 1e-8 — a cut-off that depends on the scale, not copied). A pair with a
/// value that is not finite is left out.
#[derive(Debug, Clone)]
pub struct RollingCorrelation(PairMoments);

impl RollingCorrelation {
    /// `n` is at least 2.
    pub fn new(n: usize) -> Self {
        RollingCorrelation(PairMoments::new(n.max(2)))
    }

    pub fn update(&mut self, x: f64, y: f64) -> Option<f64> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let s = self.0.update(x, y)?;
        (s.var_x > 0.0 && s.var_y > 0.0)
            .then(|| (s.cov / (s.var_x.sqrt() * s.var_y.sqrt())).clamp(-1.0, 1.0))
    }
}

/// The beta of `y` on `x` over the latest `n` one-period returns of both (TA-Lib `BETA(x, y)`,
/// 5 by default): cov(rx, ry) / var(rx), the least-squares slope of y's returns on x's — with
/// x the market, the asset's market beta. A return after a price of 0 counts as 0, as in
/// TA-Lib. `None` until n + 1 pairs of prices, and where x's returns are flat over the window
/// (TA-Lib writes 0 there). A pair with a price that is not finite is left out.
#[derive(Debug, Clone)]
pub struct RollingBeta {
    prev: Option<(f64, f64)>,
    moments: PairMoments,
}

impl RollingBeta {
    /// `n` is at least 2.
    pub fn new(n: usize) -> Self {
        RollingBeta {
            prev: None,
            moments: PairMoments::new(n.max(2)),
        }
    }

    pub fn update(&mut self, x: f64, y: f64) -> Option<f64> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let (px, py) = self.prev.replace((x, y))?;
        let ret = |p: f64, q: f64| if p != 0.0 { (q - p) / p } else { 0.0 };
        let s = self.moments.update(ret(px, x), ret(py, y))?;
        (s.var_x > 0.0).then(|| s.cov / s.var_x)
    }
}
