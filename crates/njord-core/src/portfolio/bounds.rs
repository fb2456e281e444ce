//! Per-strategy bounds and group caps, in integer units of `10^-WEIGHT_DP` so that the
//! feasibility checks and the rounding are exact; the water-filling itself runs in f64.
//! Formulas are in the [module documentation](super).

use super::AllocError;

/// Resolved limits in weight units: `lo[i] ≤ w[i] ≤ hi[i]`, and for each disjoint group
/// `Σ_{i∈members} w[i] ≤ cap`.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub lo: Vec<i128>,
    pub hi: Vec<i128>,
    pub groups: Vec<(Vec<usize>, i128)>,
}

impl Limits {
    /// Whether any bound or cap can bind at all (the default `[0, 1]` with no group cannot).
    pub fn binding(&self, one: i128) -> bool {
        !self.groups.is_empty()
            || self.lo.iter().any(|&l| l > 0)
            || self.hi.iter().any(|&h| h < one)
    }

    /// Checks, exactly, that some weights summing to `gross` meet every limit:
    /// `lo ≤ hi`, `Σ lo ≤ gross`, each group's `Σ lo ≤ cap`, and
    /// `Σ_groups min(cap, Σ hi) + Σ_ungrouped hi ≥ gross`.
    pub fn check(&self, gross: i128) -> Result<(), AllocError> {
        let bad = |detail: String| Err(AllocError::InfeasibleBounds { detail });
        if let Some(i) = (0..self.lo.len()).find(|&i| self.lo[i] > self.hi[i]) {
            return bad(format!("strategy #{i}: min above max"));
        }
        let sum_lo: i128 = self.lo.iter().sum();
        if sum_lo > gross {
            return bad("the minimums add up to more than the gross".into());
        }
        let mut grouped = vec![false; self.lo.len()];
        let mut capacity = 0i128;
        for (k, (members, cap)) in self.groups.iter().enumerate() {
            if members.iter().map(|&i| self.lo[i]).sum::<i128>() > *cap {
                return bad(format!(
                    "group #{k}: its minimums add up to more than its cap"
                ));
            }
            capacity += (*cap).min(members.iter().map(|&i| self.hi[i]).sum());
            for &i in members {
                grouped[i] = true;
            }
        }
        capacity += (0..self.hi.len())
            .filter(|&i| !grouped[i])
            .map(|i| self.hi[i])
            .sum::<i128>();
        if capacity < gross {
            return bad("the maximums and group caps add up to less than the gross".into());
        }
        Ok(())
    }
}

/// The limits in f64 (units divided by `one`) and each strategy's group.
struct Fill<'a> {
    lo: &'a [f64],
    hi: &'a [f64],
    groups: &'a [(Vec<usize>, f64)],
    grouped: &'a [bool],
}

impl Fill<'_> {
    fn clamp(&self, i: usize, lambda: f64, base: &[f64]) -> f64 {
        (lambda * base[i]).clamp(self.lo[i], self.hi[i])
    }

    /// `F(λ) = Σ_ungrouped clamp(λ b_i) + Σ_groups min(cap, Σ clamp(λ b_i))`.
    fn total(&self, lambda: f64, base: &[f64]) -> f64 {
        let mut s: f64 = (0..base.len())
            .filter(|&i| !self.grouped[i])
            .map(|i| self.clamp(i, lambda, base))
            .sum();
        for (members, cap) in self.groups {
            let g: f64 = members.iter().map(|&i| self.clamp(i, lambda, base)).sum();
            s += g.min(*cap);
        }
        s
    }

    /// Every strategy's weight at `λ`; a group over its cap is filled to the cap instead,
    /// with its own smaller λ.
    fn values(&self, lambda: f64, base: &[f64]) -> Vec<f64> {
        let mut v: Vec<f64> = (0..base.len())
            .map(|i| self.clamp(i, lambda, base))
            .collect();
        for (members, cap) in self.groups {
            if members.iter().map(|&i| v[i]).sum::<f64>() > *cap {
                let b: Vec<f64> = members.iter().map(|&i| base[i]).collect();
                let lo: Vec<f64> = members.iter().map(|&i| self.lo[i]).collect();
                let hi: Vec<f64> = members.iter().map(|&i| self.hi[i]).collect();
                let inner = Fill {
                    lo: &lo,
                    hi: &hi,
                    groups: &[],
                    grouped: &vec![false; members.len()],
                };
                let lam = inner.solve(&b, *cap).unwrap_or(0.0);
                for (k, &i) in members.iter().enumerate() {
                    v[i] = inner.clamp(k, lam, &b);
                }
            }
        }
        v
    }

    /// The smallest λ with `F(λ) ≥ target` by bisection to machine precision, or `None` if
    /// even `λ = ∞` falls short.
    fn solve(&self, base: &[f64], target: f64) -> Option<f64> {
        let top = (0..base.len())
            .filter(|&i| base[i] > 0.0)
            .map(|i| self.hi[i] / base[i])
            .fold(0.0, f64::max);
        let slack = 1e-12 * target.max(1.0);
        if self.total(top, base) < target - slack {
            return None;
        }
        let (mut a, mut b) = (0.0, top);
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            if self.total(m, base) < target {
                a = m;
            } else {
                b = m;
            }
        }
        Some(b)
    }
}

/// Applies the limits to the method's weights `w` (sum 1) at `gross`: the fixed point of
/// capping and handing the excess pro rata to the others, `w'_i = clamp(λ w_i, lo_i, hi_i)` with
/// one λ for all and, for a group over its cap, a smaller λ_g for its members so it sits at
/// the cap. If strategies with `w_i > 0` cannot absorb the gross, the rest is spread over the
/// zero-weight ones the same way (base 1 each).
pub fn apply(w: &[f64], limits: &Limits, one: i128, gross: f64) -> Result<Vec<f64>, AllocError> {
    let n = w.len();
    let unit = |u: i128| u as f64 / one as f64;
    let lo: Vec<f64> = limits.lo.iter().map(|&u| unit(u)).collect();
    let hi: Vec<f64> = limits.hi.iter().map(|&u| unit(u)).collect();
    let groups: Vec<(Vec<usize>, f64)> = limits
        .groups
        .iter()
        .map(|(m, c)| (m.clone(), unit(*c)))
        .collect();
    let mut grouped = vec![false; n];
    for (m, _) in &groups {
        for &i in m {
            grouped[i] = true;
        }
    }
    let fill = Fill {
        lo: &lo,
        hi: &hi,
        groups: &groups,
        grouped: &grouped,
    };
    if let Some(lam) = fill.solve(w, gross) {
        return Ok(fill.values(lam, w));
    }
    // Second stage: freeze the first stage at its ceiling, fill the zero-weight strategies.
    let first = fill.values(f64::MAX.sqrt(), w);
    let base: Vec<f64> = w.iter().map(|&x| if x > 0.0 { 0.0 } else { 1.0 }).collect();
    let lo2: Vec<f64> = (0..n)
        .map(|i| if w[i] > 0.0 { first[i] } else { lo[i] })
        .collect();
    let hi2: Vec<f64> = (0..n)
        .map(|i| if w[i] > 0.0 { first[i] } else { hi[i] })
        .collect();
    let fill2 = Fill {
        lo: &lo2,
        hi: &hi2,
        groups: &groups,
        grouped: &grouped,
    };
    match fill2.solve(&base, gross) {
        Some(lam) => Ok(fill2.values(lam, &base)),
        None => Err(AllocError::InfeasibleBounds {
            detail: "the bounds cannot absorb the gross".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: i128 = 1_000_000_000_000;

    fn u(x: f64) -> i128 {
        (x * ONE as f64).round() as i128
    }

    fn limits(lo: &[f64], hi: &[f64], groups: &[(&[usize], f64)]) -> Limits {
        Limits {
            lo: lo.iter().map(|&x| u(x)).collect(),
            hi: hi.iter().map(|&x| u(x)).collect(),
            groups: groups.iter().map(|(m, c)| (m.to_vec(), u(*c))).collect(),
        }
    }

    fn close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-14, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn a_cap_hands_its_excess_pro_rata() {
        // 0.6 capped at 0.4; 0.2 goes to the others 0.3 : 0.1 → 0.45, 0.15.
        let l = limits(&[0.0; 3], &[0.4, 1.0, 1.0], &[]);
        close(
            &apply(&[0.6, 0.3, 0.1], &l, ONE, 1.0).unwrap(),
            &[0.4, 0.45, 0.15],
        );
    }

    #[test]
    fn a_cascade_of_caps() {
        // After the first cap, 0.35 · 1.5 = 0.525 > 0.45 caps the second too.
        let l = limits(&[0.0; 3], &[0.4, 0.45, 1.0], &[]);
        close(
            &apply(&[0.6, 0.3, 0.1], &l, ONE, 1.0).unwrap(),
            &[0.4, 0.45, 0.15],
        );
        let l = limits(&[0.0; 3], &[0.4, 0.4, 1.0], &[]);
        close(
            &apply(&[0.6, 0.3, 0.1], &l, ONE, 1.0).unwrap(),
            &[0.4, 0.4, 0.2],
        );
    }

    #[test]
    fn a_min_is_lifted_and_paid_pro_rata() {
        // #2 lifted 0.1 → 0.2; the others pay 0.1 as 0.6 : 0.3 → 0.5333…, 0.2666….
        let l = limits(&[0.0, 0.0, 0.2], &[1.0; 3], &[]);
        close(
            &apply(&[0.6, 0.3, 0.1], &l, ONE, 1.0).unwrap(),
            &[0.8 * 2.0 / 3.0, 0.8 / 3.0, 0.2],
        );
    }

    #[test]
    fn a_group_cap_holds_and_its_excess_leaves_the_group() {
        // {0,1} capped at 0.5 (pro rata inside: 0.6 : 0.2 → 0.375, 0.125); #2 gets the rest.
        let l = limits(&[0.0; 3], &[1.0; 3], &[(&[0, 1], 0.5)]);
        close(
            &apply(&[0.6, 0.2, 0.2], &l, ONE, 1.0).unwrap(),
            &[0.375, 0.125, 0.5],
        );
    }

    #[test]
    fn zero_weights_take_what_the_others_cannot() {
        // #0 holds all but is capped at 0.4: the zero-weight pair splits 0.6 equally.
        let l = limits(&[0.0; 3], &[0.4, 1.0, 1.0], &[]);
        close(
            &apply(&[1.0, 0.0, 0.0], &l, ONE, 1.0).unwrap(),
            &[0.4, 0.3, 0.3],
        );
    }

    #[test]
    fn the_gross_is_respected() {
        let l = limits(&[0.0; 2], &[0.3, 1.0], &[]);
        close(&apply(&[0.5, 0.5], &l, ONE, 0.5).unwrap(), &[0.25, 0.25]);
        close(&apply(&[0.8, 0.2], &l, ONE, 0.5).unwrap(), &[0.3, 0.2]);
    }

    #[test]
    fn infeasible_limits_are_named() {
        let code = |l: Limits, g: f64| l.check(u(g)).unwrap_err().code().as_str();
        assert_eq!(
            code(limits(&[0.6, 0.6], &[1.0; 2], &[]), 1.0),
            "infeasible_bounds"
        );
        assert!(limits(&[0.6, 0.6], &[1.0; 2], &[]).check(u(1.2)).is_ok());
        assert_eq!(
            code(limits(&[0.0; 2], &[0.4, 0.4], &[]), 1.0),
            "infeasible_bounds"
        );
        assert_eq!(
            code(limits(&[0.3, 0.3, 0.0], &[1.0; 3], &[(&[0, 1], 0.5)]), 1.0),
            "infeasible_bounds"
        );
        assert_eq!(
            code(limits(&[0.0; 3], &[1.0, 1.0, 0.2], &[(&[0, 1], 0.5)]), 1.0),
            "infeasible_bounds"
        );
        assert_eq!(code(limits(&[0.5], &[0.4], &[]), 0.45), "infeasible_bounds");
        assert!(
            limits(&[0.0; 3], &[1.0, 1.0, 0.5], &[(&[0, 1], 0.5)])
                .check(ONE)
                .is_ok()
        );
    }
}
