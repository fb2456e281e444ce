//! Cutting a parent quantity into children (exact decimals, lot steps, minimum notional) and
//! the times of a TWAP's slices. Pure and seeded: the same parent gives the same children.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

/// A symbol's lot rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    /// Every child is a multiple of it (> 0).
    pub step: Decimal,
    /// Smallest child notional, in the quote asset (0: none).
    pub min_notional: Decimal,
}

impl Lot {
    /// Whether `qty` is a positive multiple of the step.
    pub fn fits(&self, qty: Decimal) -> bool {
        qty > Decimal::ZERO && qty.checked_rem(self.step).is_some_and(|r| r.is_zero())
    }

    /// `qty` rounded down to the step.
    pub fn floor(&self, qty: Decimal) -> Decimal {
        qty.checked_div(self.step)
            .and_then(|n| n.floor().checked_mul(self.step))
            .map_or(Decimal::ZERO, |q| q.normalize())
    }

    /// Whether a child of `qty` at `price` is big enough for the venue.
    pub fn big_enough(&self, qty: Decimal, price: Decimal) -> bool {
        qty.checked_mul(price)
            .is_none_or(|n| n >= self.min_notional)
    }
}

/// Splits `total` (a multiple of `lot.step`) into one child per weight, proportional to the
/// weights: each a multiple of the step, rounded down, what rounding leaves added to the last;
/// a child whose notional at `price` is below the minimum merges into the next one (the last
/// into the one before). Returns (slice index, qty) of the children left, summing exactly to
/// `total`. Weights that are all zero, negative or not finite count as equal.
pub fn split(total: Decimal, weights: &[f64], lot: Lot, price: Decimal) -> Vec<(usize, Decimal)> {
    let n = weights.len().max(1);
    let sane = weights.iter().all(|w| w.is_finite() && *w >= 0.0);
    let sum: f64 = if sane { weights.iter().sum() } else { 0.0 };
    // Shares in exact decimals of the weights: an f64 share would make 1.5 × ⅓ come out
    // 0.49999999999999995 and floor to the step below 0.5. A decimal ⅓ is short by 1e-28
    // only, which a billionth of a step absorbs whatever the total.
    // Whole weights (TWAP's without jitter: all 1) convert exactly without the general,
    // much slower, float conversion.
    let dec = |w: f64| {
        if w.fract() == 0.0 && w.abs() < 1e15 {
            Decimal::from(w as i64)
        } else {
            Decimal::from_f64(w).unwrap_or(Decimal::ZERO)
        }
    };
    // Weights too large to add in decimals count as equal, as bad ones do.
    let dec_sum = weights
        .iter()
        .try_fold(Decimal::ZERO, |a, w| a.checked_add(dec(*w)))
        .filter(|s| sum > 0.0 && *s > Decimal::ZERO);
    let (dec_sum, equal) = match dec_sum {
        Some(s) => (s, false),
        None => (Decimal::from(n), true),
    };
    let noise = lot.step / Decimal::from(1_000_000_000);
    let mut qty: Vec<Decimal> = (0..n)
        .map(|i| {
            let w = if equal { Decimal::ONE } else { dec(weights[i]) };
            let share = w.checked_div(dec_sum).unwrap_or(Decimal::ZERO);
            let exact = total.checked_mul(share).unwrap_or(Decimal::ZERO);
            lot.floor(exact.checked_add(noise).unwrap_or(exact))
        })
        .collect();
    // Rounding down (and shares that sum above 1 by an ulp) never overshoot: trim from the
    // end, then give what is left to the last child.
    let mut given: Decimal = qty.iter().copied().sum();
    for q in qty.iter_mut().rev() {
        if given <= total {
            break;
        }
        let cut = (given - total).min(*q);
        *q -= cut;
        given -= cut;
    }
    if let Some(last) = qty.last_mut() {
        *last += total - given;
    }
    for i in 0..n {
        if qty[i].is_zero() || lot.big_enough(qty[i], price) {
            continue;
        }
        let to = if i + 1 < n {
            Some(i + 1)
        } else {
            (0..i).rev().find(|j| !qty[*j].is_zero())
        };
        if let Some(j) = to {
            let moved = qty[i];
            qty[j] += moved;
            qty[i] = Decimal::ZERO;
        }
    }
    qty.into_iter()
        .enumerate()
        .filter(|(_, q)| !q.is_zero())
        .map(|(i, q)| (i, q.normalize()))
        .collect()
}

/// A TWAP's slices: the time each child is due and its weight. Slice `i` of `duration / n`
/// starts at `start + i × Δ`; its child is due up to `jitter × Δ` later and weighs `1 ± jitter`,
/// both drawn from a ChaCha8 stream seeded with `seed`.
pub fn twap(
    start: i64,
    duration_ns: i64,
    slices: u32,
    jitter: f64,
    seed: u64,
) -> (Vec<i64>, Vec<f64>) {
    let n = i64::from(slices.max(1));
    let step = duration_ns / n;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut times = Vec::with_capacity(n as usize);
    let mut weights = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (u, v): (f64, f64) = (rng.random(), rng.random());
        let delay = (jitter * u * step as f64) as i64;
        times.push(
            start
                .saturating_add(step.saturating_mul(i))
                .saturating_add(delay),
        );
        weights.push(1.0 + jitter * (2.0 * v - 1.0));
    }
    (times, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn even_split_rounding_into_the_last_and_small_children_merged() {
        let lot = Lot {
            step: d("0.01"),
            min_notional: d("0"),
        };
        assert_eq!(
            split(d("1"), &[1.0, 1.0, 1.0], lot, d("10")),
            [(0, d("0.33")), (1, d("0.33")), (2, d("0.34"))]
        );
        // An exact share is exact: ⅓ of 1.5 is 0.5, not 0.49 (the f64 share's noise).
        assert_eq!(
            split(d("1.5"), &[1.0, 1.0, 1.0], lot, d("10")),
            [(0, d("0.5")), (1, d("0.5")), (2, d("0.5"))]
        );
        assert_eq!(
            split(d("1500000"), &[1.0, 1.0, 1.0], lot, d("10")),
            [(0, d("500000")), (1, d("500000")), (2, d("500000"))]
        );
        // Minimum notional 5 at price 10 (0.5 a child): 0.33 moves on to the next child, and
        // the last, 0.34, back into the one before.
        let lot = Lot {
            step: d("0.01"),
            min_notional: d("5"),
        };
        assert_eq!(split(d("1"), &[1.0, 1.0, 1.0], lot, d("10")), [(1, d("1"))]);
        assert_eq!(
            split(d("2"), &[1.0, 1.0, 1.0], lot, d("10")),
            [(0, d("0.66")), (1, d("0.66")), (2, d("0.68"))]
        );
        // Weights: a VWAP profile's shares; bad weights count as equal.
        let lot = Lot {
            step: d("1"),
            min_notional: d("0"),
        };
        assert_eq!(
            split(d("10"), &[3.0, 1.0], lot, d("1")),
            [(0, d("7")), (1, d("3"))]
        );
        assert_eq!(
            split(d("10"), &[f64::NAN, 1.0], lot, d("1")),
            [(0, d("5")), (1, d("5"))]
        );
        assert_eq!(
            split(d("10"), &[5e28, 5e28], lot, d("1")),
            [(0, d("5")), (1, d("5"))],
            "too large to add: equal, no panic"
        );
        assert_eq!(
            split(d("10"), &[0.0, 0.0], lot, d("1")),
            [(0, d("5")), (1, d("5"))]
        );
    }

    #[test]
    fn twap_slices_are_seeded_and_inside_their_slice() {
        let (t, w) = twap(1_000, 600, 3, 0.0, 1);
        assert_eq!((t, w), (vec![1_000, 1_200, 1_400], vec![1.0, 1.0, 1.0]));
        let a = twap(0, 60_000_000_000, 10, 0.3, 7);
        assert_eq!(
            a,
            twap(0, 60_000_000_000, 10, 0.3, 7),
            "same seed, same slices"
        );
        assert_ne!(a, twap(0, 60_000_000_000, 10, 0.3, 8));
        for (i, (t, w)) in a.0.iter().zip(&a.1).enumerate() {
            let start = i as i64 * 6_000_000_000;
            assert!(*t >= start && *t < start + 1_800_000_000, "{i}: {t}");
            assert!((0.7..=1.3).contains(w));
        }
    }

    proptest! {
        /// Children are positive multiples of the step, sum exactly to the parent, never
        /// exceed it, and each meets the minimum notional unless the parent is one child.
        #[test]
        fn children_sum_exactly_and_respect_the_lot(
            steps in 1u64..100_000,
            step_scale in 0u32..6,
            weights in prop::collection::vec(0.0f64..10.0, 1..40),
            price_cents in 1u64..1_000_000,
            min_notional in 0u64..500,
        ) {
            let step = Decimal::new(1, step_scale);
            let total = step * Decimal::from(steps);
            let price = Decimal::new(price_cents as i64, 2);
            let lot = Lot { step, min_notional: Decimal::from(min_notional) };
            let children = split(total, &weights, lot, price);
            let sum: Decimal = children.iter().map(|(_, q)| *q).sum();
            prop_assert_eq!(sum, total);
            prop_assert!(children.len() <= weights.len());
            for (i, q) in &children {
                prop_assert!(*i < weights.len());
                prop_assert!(*q > Decimal::ZERO && *q <= total);
                prop_assert!(lot.fits(*q), "{} is not a multiple of {}", q, step);
                if children.len() > 1 {
                    prop_assert!(lot.big_enough(*q, price), "{} × {} < {}", q, price, min_notional);
                }
            }
        }
    }
}
