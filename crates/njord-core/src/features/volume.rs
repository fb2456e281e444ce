//! Volume and order-flow features: on-balance volume (TA-Lib `OBV`), a rolling VWAP and the
//! close's deviation from it, and the imbalance of trades and of the book.

use super::Ohlc;
use super::trend::usable;
use crate::event::{Book, Level, Side, Trade};
use crate::indicators::Ring;
use crate::num::nearest_f64;
use rust_decimal::Decimal;

/// Whether a volume or quantity can be used: finite and not negative.
fn is_quantity(q: f64) -> bool {
    (0.0..f64::INFINITY).contains(&q)
}

/// On-balance volume (TA-Lib `OBV`): the first bar's volume, then plus the volume of each bar
/// that closes higher than the last and minus that of each that closes lower. A close or
/// volume that is not finite, or a negative volume, is left out (`None`, nothing changes).
#[derive(Debug, Clone, Default)]
pub struct Obv {
    prev: Option<f64>,
    obv: f64,
}

impl Obv {
    pub fn update(&mut self, close: f64, volume: f64) -> Option<f64> {
        if !close.is_finite() || !is_quantity(volume) {
            return None;
        }
        match self.prev.replace(close) {
            None => self.obv = volume,
            Some(p) if close > p => self.obv += volume,
            Some(p) if close < p => self.obv -= volume,
            Some(_) => {}
        }
        Some(self.obv)
    }
}

/// Σa / Σb over the latest `n` observations, b ≥ 0: the shape of VWAP and of the trade
/// imbalance. `None` until n observations, and while every b in the window is 0 (then the
/// sums hold only rounding residue, not a ratio).
#[derive(Debug, Clone)]
struct RatioWindow {
    a: Ring,
    b: Ring,
    sum_a: f64,
    sum_b: f64,
    /// How many b in the window are positive.
    positive: usize,
}

impl RatioWindow {
    fn new(n: usize) -> Self {
        RatioWindow {
            a: Ring::new(n),
            b: Ring::new(n),
            sum_a: 0.0,
            sum_b: 0.0,
            positive: 0,
        }
    }

    fn update(&mut self, a: f64, b: f64) -> Option<f64> {
        match self.a.push(a) {
            Some(old) => self.sum_a += a - old,
            None => self.sum_a += a,
        }
        match self.b.push(b) {
            Some(old) => {
                self.sum_b += b - old;
                self.positive -= usize::from(old > 0.0);
            }
            None => self.sum_b += b,
        }
        self.positive += usize::from(b > 0.0);
        if self.a.wrapped() {
            self.sum_a = self.a.iter().sum();
            self.sum_b = self.b.iter().sum();
        }
        (self.a.is_full() && self.positive > 0 && self.sum_b > 0.0).then(|| self.sum_a / self.sum_b)
    }
}

/// A rolling VWAP and the close's deviation from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VwapValue {
    /// Σ typical price · volume / Σ volume over the window.
    pub vwap: f64,
    /// (close − vwap) / vwap.
    pub deviation: f64,
}

/// The volume-weighted average price over the latest `n` bars, each bar at its typical price
/// (H + L + C)/3 — the bar's whole range traded, not only its close — and the latest close's
/// relative deviation from it. `None` until n bars, and while the window holds no volume. Bars
/// as in [`Atr`](super::Atr); a bar whose volume is negative or not finite is left out too.
#[derive(Debug, Clone)]
pub struct Vwap(RatioWindow);

impl Vwap {
    pub fn new(n: usize) -> Self {
        Vwap(RatioWindow::new(n))
    }

    pub fn update(&mut self, bar: Ohlc, volume: f64) -> Option<VwapValue> {
        if !usable(&bar) || !is_quantity(volume) {
            return None;
        }
        let typical = (bar.high + bar.low + bar.close) / 3.0;
        let vwap = self.0.update(typical * volume, volume)?;
        Some(VwapValue {
            vwap,
            deviation: (bar.close - vwap) / vwap,
        })
    }
}

/// The imbalance of the latest `n` trades by their taker (aggressor) side: (buy volume − sell
/// volume) / (buy volume + sell volume), in [−1, 1]. `None` until n trades, and while they
/// all have zero quantity. A quantity that is negative or not finite is left out.
#[derive(Debug, Clone)]
pub struct TradeImbalance(RatioWindow);

impl TradeImbalance {
    pub fn new(n: usize) -> Self {
        TradeImbalance(RatioWindow::new(n))
    }

    pub fn update(&mut self, side: Side, qty: f64) -> Option<f64> {
        if !is_quantity(qty) {
            return None;
        }
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        // Rounding in the running sums may step just past ±1.
        self.0.update(signed, qty).map(|r| r.clamp(-1.0, 1.0))
    }

    /// A trade event: its taker side and quantity.
    pub fn trade(&mut self, trade: &Trade) -> Option<f64> {
        self.update(trade.side, nearest_f64(trade.qty))
    }
}

/// The imbalance of the top `depth` levels of each side of a book: (Σ bid qty − Σ ask qty) /
/// (Σ bid qty + Σ ask qty), in [−1, 1]; a side with fewer levels counts those it has. `None`
/// when those levels hold no quantity. A negative quantity counts as 0. A pure function of the
/// snapshot, so it cannot look ahead.
pub fn book_imbalance(book: &Book, depth: usize) -> Option<f64> {
    let (bid, ask) = (depth_qty(&book.bids, depth), depth_qty(&book.asks, depth));
    let total = bid + ask;
    (total > 0.0).then(|| (bid - ask) / total)
}

/// Σ qty of the top `depth` levels, negatives as 0. Where the levels share a scale, as a
/// venue's do, the mantissas are summed exactly and converted once (faster, and without the
/// rounding of a sum of doubles); otherwise level by level.
fn depth_qty(levels: &[Level], depth: usize) -> f64 {
    let top = &levels[..depth.min(levels.len())];
    let scale = top.first().map_or(0, |l| l.qty.scale());
    let mut same = true;
    let mut sum: i128 = 0;
    for l in top {
        same &= l.qty.scale() == scale;
        sum = sum.saturating_add(l.qty.mantissa().max(0));
    }
    match Decimal::try_from_i128_with_scale(sum, scale) {
        Ok(d) if same => nearest_f64(d),
        _ => top.iter().map(|l| nearest_f64(l.qty).max(0.0)).sum(),
    }
}
