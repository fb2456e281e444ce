//! Largest-remainder rounding on integer units: whole units summing exactly to a total, each
//! within its own `[lo, hi]` and every group within its cap. Formulas are in the
//! [module documentation](super).

/// Rounds targets given as `floor[i] + rem[i]` units (`0 ≤ rem < 1`) to whole units summing
/// exactly to `total`: start from the floors clamped into `[lo, hi]`, then add one unit at a
/// time to the strategy with the largest remaining fraction (`target − units`; equal
/// fractions → the smaller index) that has room below its `hi` and its group's cap, or — when
/// the floors overshoot — take one unit from the smallest remaining fraction (equal → the
/// larger index) above its `lo`. `None` if no strategy can move, which [`super::bounds::Limits::check`]
/// rules out.
pub fn largest_remainder(
    floor: &[i128],
    rem: &[f64],
    lo: &[i128],
    hi: &[i128],
    groups: &[(Vec<usize>, i128)],
    total: i128,
) -> Option<Vec<i128>> {
    let n = floor.len();
    let mut group_of = vec![None; n];
    for (k, (m, _)) in groups.iter().enumerate() {
        for &i in m {
            group_of[i] = Some(k);
        }
    }
    let mut u: Vec<i128> = (0..n).map(|i| floor[i].clamp(lo[i], hi[i])).collect();
    // What is still owed to each strategy, in units (negative when clamped up past its target).
    let mut owed: Vec<f64> = (0..n).map(|i| (floor[i] - u[i]) as f64 + rem[i]).collect();
    let mut gsum: Vec<i128> = groups
        .iter()
        .map(|(m, _)| m.iter().map(|&i| u[i]).sum())
        .collect();
    let take = |u: &mut Vec<i128>, owed: &mut Vec<f64>, gsum: &mut Vec<i128>, members: &[usize]| {
        // The smallest `owed` above `lo`; equal → the larger index.
        let j = members
            .iter()
            .copied()
            .filter(|&i| u[i] > lo[i])
            .min_by(|&a, &b| owed[a].total_cmp(&owed[b]).then(b.cmp(&a)))?;
        u[j] -= 1;
        owed[j] += 1.0;
        if let Some(k) = group_of[j] {
            gsum[k] -= 1;
        }
        Some(())
    };
    for k in 0..groups.len() {
        while gsum[k] > groups[k].1 {
            take(&mut u, &mut owed, &mut gsum, &groups[k].0)?;
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let mut sum: i128 = u.iter().sum();
    while sum > total {
        take(&mut u, &mut owed, &mut gsum, &all)?;
        sum -= 1;
    }
    while sum < total {
        let j = (0..n)
            .filter(|&i| u[i] < hi[i] && group_of[i].is_none_or(|k| gsum[k] < groups[k].1))
            .max_by(|&a, &b| owed[a].total_cmp(&owed[b]).then(b.cmp(&a)))?;
        u[j] += 1;
        owed[j] -= 1.0;
        if let Some(k) = group_of[j] {
            gsum[k] += 1;
        }
        sum += 1;
    }
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: i128 = i128::MAX;

    #[test]
    fn thirds_go_to_the_smaller_ids() {
        // 100 units as 33.33… each: the spare unit goes to #0.
        let r = largest_remainder(&[33; 3], &[1.0 / 3.0; 3], &[0; 3], &[BIG; 3], &[], 100);
        assert_eq!(r.unwrap(), vec![34, 33, 33]);
    }

    #[test]
    fn the_largest_remainder_wins() {
        let r = largest_remainder(&[1, 2, 3], &[0.2, 0.7, 0.1], &[0; 3], &[BIG; 3], &[], 7);
        assert_eq!(r.unwrap(), vec![1, 3, 3]);
    }

    #[test]
    fn a_unit_never_crosses_a_bound() {
        // #1 owes the most but sits at its max: the unit goes to #0.
        let r = largest_remainder(&[3, 4, 2], &[0.3, 0.9, 0.8], &[0; 3], &[BIG, 4, 2], &[], 10);
        assert_eq!(r.unwrap(), vec![4, 4, 2]);
        // A group at its cap takes no more.
        let g = vec![(vec![1, 2], 6)];
        let r = largest_remainder(&[3, 4, 2], &[0.3, 0.9, 0.8], &[0; 3], &[BIG; 3], &g, 10);
        assert_eq!(r.unwrap(), vec![4, 4, 2]);
        // Floors below a min are lifted and the overshoot is taken back from the others.
        let r = largest_remainder(&[5, 4, 0], &[0.5, 0.1, 0.4], &[0, 0, 2], &[BIG; 3], &[], 10);
        assert_eq!(r.unwrap(), vec![5, 3, 2]);
        assert_eq!(largest_remainder(&[1], &[0.5], &[0], &[1], &[], 2), None);
    }
}
