//! Monte Carlo of a backtest (a pure core). Run i replays the tape with its prices rebuilt
//! from a resampled series of its own log returns, drawn with a ChaCha8 seeded from
//! `(seed, i)`, so a run's result does not depend on which thread ran it or on the runs
//! beside it.
//!
//! - The tape is one symbol's trades or bars. Its returns are `ln(pₖ / pₖ₋₁)` between
//!   consecutive events (a bar's close). A run keeps every event's time, size and side and
//!   sets its price to `p₀ · exp(r′₁ + … + r′ₖ)`, rounded to the tape's finest price
//!   decimals; a bar's open, high and low move by the same ratio as its close.
//! - `shuffle`: a random permutation of the returns (keeps their distribution, breaks any
//!   dependence in time); `block-bootstrap`: blocks of `block` consecutive returns from
//!   uniformly drawn starts (keeps short-range dependence); `synthetic`: a gbm with the
//!   returns' mean and standard deviation ([`crate::synth`]).
//! - Percentiles interpolate linearly between order statistics (numpy's default). A run is
//!   ruined when its equity is strictly below `ruin` × capital at any equity sample.

use crate::event::{Bar, Event, Trade};
use crate::synth::{Model, Path};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// How a run's returns are drawn from the tape's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Shuffle,
    BlockBootstrap { block: usize },
    Synthetic,
}

/// The seed of run `i` of a Monte Carlo seeded `seed` (SplitMix64 of both).
pub fn seed_of(seed: u64, run: u64) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    mix(seed ^ mix(run))
}

/// The tape's prices: one per event, a bar's open, high and low beside its close (zeros for
/// a trade), and the decimals runs round to.
#[derive(Debug, Clone)]
pub struct Prices {
    pub prices: Vec<f64>,
    ohl: Vec<[f64; 3]>,
    pub scale: u32,
}

/// A run's prices are whole units of the scale in an `i64`; the largest tape price times this
/// must fit, so a run may drift this far up before it is capped.
const HEADROOM: f64 = 1e3;
/// The most units of the scale a run's price holds (below 2⁶²).
const MAX_UNITS: f64 = 4.6e18;

impl Prices {
    /// The prices of `events`: one symbol's trades or bars, every price above 0.
    pub fn of(events: &[Event<'_>]) -> Result<Prices, String> {
        let mut symbol: Option<&str> = None;
        let mut prices = Vec::with_capacity(events.len());
        let mut ohl = Vec::with_capacity(events.len());
        let mut scale = 0;
        let f64_of = |x: Decimal| f64::try_from(x).unwrap_or(0.0);
        for (k, ev) in events.iter().enumerate() {
            let (s, p, bar_ohl) = match ev {
                Event::Trade(t) => (t.symbol.as_ref(), t.price, [0.0; 3]),
                Event::Bar(b) => (
                    b.symbol.as_ref(),
                    b.close,
                    [f64_of(b.open), f64_of(b.high), f64_of(b.low)],
                ),
                other => {
                    return Err(format!(
                        "event {}: a Monte Carlo tape holds trades or bars only, not `{}`",
                        k + 1,
                        other.kind().as_str()
                    ));
                }
            };
            match symbol {
                None => symbol = Some(s),
                Some(first) if first != s => {
                    return Err(format!(
                        "event {}: the tape holds {first} and {s}; a Monte Carlo runs over one symbol (filter it with --symbol)",
                        k + 1
                    ));
                }
                _ => {}
            }
            let f = f64::try_from(p).unwrap_or(0.0);
            if f <= 0.0 || !f.is_finite() {
                return Err(format!("event {}: price {p} is not above 0", k + 1));
            }
            scale = scale.max(p.scale());
            prices.push(f);
            ohl.push(bar_ohl);
        }
        if prices.len() < 3 {
            return Err(format!(
                "the tape has {} priced events; a Monte Carlo needs at least 3",
                prices.len()
            ));
        }
        // Fewer decimals than the tape's when its largest price, with room to drift, would
        // not fit a run's units: a run's prices are then coarser, never capped.
        let top = prices.iter().copied().fold(0.0, f64::max);
        while scale > 0 && top * HEADROOM * 10f64.powi(scale as i32) > MAX_UNITS {
            scale -= 1;
        }
        Ok(Prices { prices, ohl, scale })
    }

    /// The log returns between consecutive prices.
    pub fn returns(&self) -> Vec<f64> {
        self.prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    }
}

/// Run `i`'s returns: as many as the tape's, drawn by `method` with `seed`.
pub fn draw(method: Method, returns: &[f64], seed: u64) -> Result<Vec<f64>, String> {
    let n = returns.len();
    match method {
        Method::Shuffle => {
            let mut r = returns.to_vec();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for i in (1..n).rev() {
                r.swap(i, rng.random_range(0..=i));
            }
            Ok(r)
        }
        Method::BlockBootstrap { block } => {
            let model = Model::Bootstrap {
                returns: returns.to_vec(),
                block,
            };
            let mut p = Path::new(model, 1.0, seed)?;
            Ok((0..n).map(|_| p.next_return()).collect())
        }
        Method::Synthetic => {
            let mean = returns.iter().sum::<f64>() / n as f64;
            let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>()
                / (n.max(2) - 1) as f64;
            let sigma = var.sqrt();
            // One step of dt = 1: r = (μ − σ²/2) + σ·Z has the returns' mean and variance.
            let model = Model::Gbm {
                mu: mean + var / 2.0,
                sigma,
            };
            let mut p = Path::new(model, 1.0, seed)?;
            Ok((0..n).map(|_| p.next_return()).collect())
        }
    }
}

/// A decimal price from `p`, rounded to `scale` decimals (`per_unit` = 10^scale; half away
/// from zero), at least one unit of them. Built from its integer mantissa: the hot path of a run, where a decimal
/// from a float would cost most of its time.
fn decimal(p: f64, scale: u32, per_unit: f64) -> Decimal {
    let units = (p * per_unit).round();
    // Above 2⁶² units (or not a number) the price is out of any market: keep the largest.
    let units = if units.is_nan() {
        1.0
    } else {
        units.clamp(1.0, MAX_UNITS)
    };
    Decimal::new(units as i64, scale)
}

/// The tape as run `draws` sees it: event k at price `p₀ · exp(Σ draws[..k])`, passed to
/// `each` in order (borrowing the tape's text: nothing is copied but numbers).
pub fn replay<'e>(
    events: &'e [Event<'e>],
    prices: &Prices,
    draws: &[f64],
    mut each: impl FnMut(&Event<'e>),
) {
    let mut log_price = prices.prices[0].ln();
    let per_unit = 10f64.powi(prices.scale as i32);
    for (k, ev) in events.iter().enumerate() {
        if k > 0 {
            log_price += draws[k - 1];
        }
        let p = log_price.exp();
        let price = decimal(p, prices.scale, per_unit);
        match ev {
            Event::Trade(t) => each(&Event::Trade(Trade {
                venue: Cow::Borrowed(&t.venue),
                symbol: Cow::Borrowed(&t.symbol),
                trade_id: Cow::Borrowed(&t.trade_id),
                price,
                ..*t
            })),
            Event::Bar(b) => {
                let ratio = p / prices.prices[k];
                let scaled = |x: f64| decimal(x * ratio, prices.scale, per_unit);
                let [o, h, l] = prices.ohl[k];
                let (open, high, low) = (scaled(o), scaled(h), scaled(l));
                each(&Event::Bar(Bar {
                    symbol: Cow::Borrowed(&b.symbol),
                    timeframe: Cow::Borrowed(&b.timeframe),
                    open,
                    high: high.max(open).max(price),
                    low: low.min(open).min(price),
                    close: price,
                    ..*b
                }))
            }
            other => each(other),
        }
    }
}

/// The 5th, 25th, 50th, 75th and 95th percentiles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

/// The percentiles of `xs` (linear between order statistics; `None` when empty).
pub fn percentiles(xs: &[f64]) -> Option<Percentiles> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let h = (v.len() - 1) as f64 * q;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    Some(Percentiles {
        p5: at(0.05),
        p25: at(0.25),
        p50: at(0.5),
        p75: at(0.75),
        p95: at(0.95),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    fn trades(prices: &[&str]) -> Vec<Event<'static>> {
        prices
            .iter()
            .enumerate()
            .map(|(i, p)| {
                decode(&format!(
                    r#"{{"kind":"trade","venue":"v","symbol":"A/USDT","trade_id":"{i}","price":{p},"qty":1,"side":"buy","ts_ns":{i}}}"#
                ))
                .unwrap()
                .into_owned()
            })
            .collect()
    }

    /// numpy.percentile([1, 2, 3, 4, 10], [5, 25, 50, 75, 95]) = 1.2, 2, 3, 4, 8.8.
    #[test]
    fn percentiles_as_numpy() {
        let p = percentiles(&[10.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        let want = [1.2, 2.0, 3.0, 4.0, 8.8];
        for (got, want) in [p.p5, p.p25, p.p50, p.p75, p.p95].into_iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!(percentiles(&[]).is_none());
        assert_eq!(percentiles(&[7.0]).unwrap().p95, 7.0);
    }

    /// A shuffle keeps the returns (so the last price too, up to rounding); each run's draw
    /// depends only on its own seed.
    #[test]
    fn a_shuffle_keeps_the_returns_and_a_run_its_seed() {
        let tape = trades(&["10", "10.5", "10.2", "11", "10.8", "11.3"]);
        let prices = Prices::of(&tape).unwrap();
        assert_eq!(prices.scale, 1);
        let r = prices.returns();
        let d = draw(Method::Shuffle, &r, seed_of(7, 3)).unwrap();
        let (mut a, mut b) = (r.clone(), d.clone());
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        assert_eq!(a, b);
        assert_eq!(d, draw(Method::Shuffle, &r, seed_of(7, 3)).unwrap());
        assert_ne!(seed_of(7, 3), seed_of(7, 4));
        let mut last = None;
        replay(&tape, &prices, &d, |ev| {
            if let Event::Trade(t) = ev {
                last = Some(t.price);
            }
        });
        assert_eq!(last, Some(Decimal::new(113, 1)));
        // The identity draw gives the tape back.
        let mut same = Vec::new();
        replay(&tape, &prices, &r, |ev| same.push(ev.clone().into_owned()));
        assert_eq!(same, tape);
    }

    /// A tape of many decimals at a high price: runs round to fewer decimals rather than
    /// cap the price (65000 at 15 decimals is beyond 2⁶² units).
    #[test]
    fn many_decimals_at_a_high_price_are_rounded_not_capped() {
        let tape = trades(&["65000.123456789012345", "65001", "65002"]);
        let prices = Prices::of(&tape).unwrap();
        assert!(prices.scale < 15, "{}", prices.scale);
        let mut seen = Vec::new();
        replay(&tape, &prices, &prices.returns(), |ev| {
            if let Event::Trade(t) = ev {
                seen.push(t.price);
            }
        });
        let near = |d: Decimal, want: Decimal| (d - want).abs() <= Decimal::new(1, 3);
        assert!(near(seen[0], Decimal::new(65000123, 3)), "{seen:?}");
        assert!(near(seen[1], Decimal::from(65001)), "{seen:?}");
    }

    #[test]
    fn block_bootstrap_and_synthetic_draw_as_many_returns() {
        let tape = trades(&["10", "10.5", "10.2", "11", "10.8", "11.3", "11.1"]);
        let r = Prices::of(&tape).unwrap().returns();
        for m in [Method::BlockBootstrap { block: 2 }, Method::Synthetic] {
            assert_eq!(draw(m, &r, 1).unwrap().len(), r.len());
        }
        assert!(draw(Method::BlockBootstrap { block: 9 }, &r, 1).is_err());
    }

    #[test]
    fn a_tape_of_two_symbols_or_other_kinds_is_refused() {
        let mut tape = trades(&["10", "10.5", "10.2"]);
        if let Event::Trade(t) = &mut tape[2] {
            t.symbol = Cow::Borrowed("B/USDT");
        }
        assert!(
            Prices::of(&tape)
                .unwrap_err()
                .contains("holds A/USDT and B/USDT")
        );
        assert!(
            Prices::of(&trades(&["10", "11"]))
                .unwrap_err()
                .contains("at least 3")
        );
    }
}
