//! Hierarchical risk parity (López de Prado 2016) as PyPortfolioOpt's `HRPOpt` with single
//! linkage: correlation distance, single-linkage tree, pre-order leaves, recursive bisection.
//! Formulas and tie rules are in the [module documentation](super).

use super::AllocError;
use super::methods::variances;

/// HRP weights for the covariance `sigma` (strategies in id order).
pub fn hrp(sigma: &[f64], n: usize) -> Result<Vec<f64>, AllocError> {
    let var = variances(sigma, n)?;
    let mut dist = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let rho = sigma[i * n + j] / (var[i] * var[j]).sqrt();
            dist[i * n + j] = ((1.0 - rho) / 2.0).clamp(0.0, 1.0).sqrt();
        }
    }
    let order = pre_order(&single_linkage(&dist, n), n);
    let mut w = vec![1.0; n];
    bisect(sigma, n, &var, &order, &mut w)?;
    Ok(w)
}

/// The merges of single-linkage clustering, `[left, right]` with `left < right`; merge `k`
/// creates cluster `n + k`. Of equal distances the pair with the smallest `(id, id)` merges
/// first. `O(n³)`, plenty for the strategy counts of a portfolio.
pub fn single_linkage(dist: &[f64], n: usize) -> Vec<[usize; 2]> {
    let m = 2 * n - 1;
    let mut d = vec![0.0; m * m];
    for i in 0..n {
        for j in 0..n {
            d[i * m + j] = dist[i * n + j];
        }
    }
    let mut active: Vec<usize> = (0..n).collect();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    for k in 0..n.saturating_sub(1) {
        // `active` is ascending, so a < b and the scan meets pairs in (id, id) order: a strict
        // `<` keeps the smallest pair of equal distances.
        let mut best = (d[active[0] * m + active[1]], active[0], active[1]);
        for (x, &a) in active.iter().enumerate() {
            for &b in &active[x + 1..] {
                if d[a * m + b] < best.0 {
                    best = (d[a * m + b], a, b);
                }
            }
        }
        let (_, a, b) = best;
        let c = n + k;
        for &o in &active {
            let v = d[a * m + o].min(d[b * m + o]);
            d[c * m + o] = v;
            d[o * m + c] = v;
        }
        active.retain(|&x| x != a && x != b);
        active.push(c);
        merges.push([a, b]);
    }
    merges
}

/// The leaves in the dendrogram's pre-order, left (smaller id) first: the quasi-diagonal order.
pub fn pre_order(merges: &[[usize; 2]], n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    let mut stack = vec![2 * n - 2];
    while let Some(c) = stack.pop() {
        if c < n {
            out.push(c);
        } else {
            let [l, r] = merges[c - n];
            stack.push(r);
            stack.push(l);
        }
    }
    out
}

/// The variance of a cluster held in inverse-variance weights.
fn cluster_var(sigma: &[f64], n: usize, var: &[f64], items: &[usize]) -> f64 {
    let s: f64 = items.iter().map(|&i| 1.0 / var[i]).sum();
    let w: Vec<f64> = items.iter().map(|&i| 1.0 / var[i] / s).collect();
    let mut q = 0.0;
    for (a, &i) in items.iter().enumerate() {
        for (b, &j) in items.iter().enumerate() {
            q += w[a] * sigma[i * n + j] * w[b];
        }
    }
    q
}

/// Recursive bisection: split the ordered list at `len / 2`, give the left half
/// `α = 1 − V_L / (V_L + V_R)` of the weight and the right half `1 − α`.
fn bisect(
    sigma: &[f64],
    n: usize,
    var: &[f64],
    items: &[usize],
    w: &mut [f64],
) -> Result<(), AllocError> {
    if items.len() < 2 {
        return Ok(());
    }
    let (l, r) = items.split_at(items.len() / 2);
    let vl = cluster_var(sigma, n, var, l);
    let vr = cluster_var(sigma, n, var, r);
    if vl + vr <= 0.0 || !(vl + vr).is_finite() {
        return Err(AllocError::SingularCovariance {
            detail: "hrp: two clusters both have zero variance".into(),
        });
    }
    let alpha = 1.0 - vl / (vl + vr);
    for &i in l {
        w[i] *= alpha;
    }
    for &i in r {
        w[i] *= 1.0 - alpha;
    }
    bisect(sigma, n, var, l, w)?;
    bisect(sigma, n, var, r, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_and_order_of_a_hand_tree() {
        // 0–2 closest (0.1), then 1–3 (0.2), then the two pairs (0.3 via 2–3).
        let d = [
            0.0, 0.5, 0.1, 0.6, //
            0.5, 0.0, 0.4, 0.2, //
            0.1, 0.4, 0.0, 0.3, //
            0.6, 0.2, 0.3, 0.0,
        ];
        let m = single_linkage(&d, 4);
        assert_eq!(m, vec![[0, 2], [1, 3], [4, 5]]);
        assert_eq!(pre_order(&m, 4), vec![0, 2, 1, 3]);
    }

    #[test]
    fn ties_merge_the_smallest_pair_first() {
        // All distances equal: (0,1) first → 3, then (2,3) → 4 with 2 on the left.
        let d = [0.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.0];
        let m = single_linkage(&d, 3);
        assert_eq!(m, vec![[0, 1], [2, 3]]);
        assert_eq!(pre_order(&m, 3), vec![2, 0, 1]);
    }

    #[test]
    fn uncorrelated_pair_is_inverse_variance() {
        // Two strategies: α = 1 − v0/(v0+v1) = v1/(v0+v1).
        let w = hrp(&[1.0, 0.0, 0.0, 4.0], 2).unwrap();
        assert!((w[0] - 0.8).abs() < 1e-15 && (w[1] - 0.2).abs() < 1e-15);
        assert_eq!(hrp(&[1.0], 1).unwrap(), vec![1.0]);
    }

    #[test]
    fn four_strategies_by_hand() {
        // Uncorrelated, variances 1, 2, 3, 4; all distances √½ tie, so merges go
        // (0,1)→4, (2,3)→5, (4,5)→6 and the order is 0 1 2 3. An uncorrelated cluster held in
        // inverse-variance weights has variance 1/Σ(1/v).
        let v = [1.0, 2.0, 3.0, 4.0];
        let mut s = vec![0.0; 16];
        for i in 0..4 {
            s[i * 4 + i] = v[i];
        }
        let w = hrp(&s, 4).unwrap();
        let vl = 1.0 / (1.0 + 0.5);
        let vr = 1.0 / (1.0 / 3.0 + 0.25);
        let a = 1.0 - vl / (vl + vr);
        let want = [
            a * (2.0 / 3.0),
            a * (1.0 / 3.0),
            (1.0 - a) * (4.0 / 7.0),
            (1.0 - a) * (3.0 / 7.0),
        ];
        for (x, y) in w.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{w:?} {want:?}");
        }
    }
}
