//! The allocator end to end: hand-checked cases, error codes, the goldens computed by
//! scikit-learn, PyPortfolioOpt and cvxpy (`scripts/gen-portfolio-goldens.py`), and a property
//! test of the guarantees on random inputs.

use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i:02}")).collect()
}

/// splitmix64, for seeded synthetic returns.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `t × n` returns from two factors plus noise, volatilities between 0.5 % and 3 %.
fn synthetic(seed: u64, t: usize, n: usize) -> Vec<Vec<f64>> {
    let mut r = Rng(seed);
    let load: Vec<[f64; 2]> = (0..n).map(|_| [r.normal(), r.normal()]).collect();
    let vol: Vec<f64> = (0..n).map(|_| 0.5 + 2.5 * r.uniform()).collect();
    (0..t)
        .map(|_| {
            let f = [r.normal(), r.normal()];
            (0..n)
                .map(|i| 0.01 * vol[i] * (load[i][0] * f[0] + load[i][1] * f[1] + r.normal()))
                .collect()
        })
        .collect()
}

#[test]
fn equal_weight_rounds_to_exact_sums() {
    let input = AllocInput::new(ids(3), vec![], Method::EqualWeight, dec("100.00"), 2);
    let a = allocate(&input).unwrap();
    assert_eq!(
        a.weights,
        vec![
            dec("0.333333333334"),
            dec("0.333333333333"),
            dec("0.333333333333")
        ]
    );
    assert_eq!(a.capital, vec![dec("33.34"), dec("33.33"), dec("33.33")]);
    assert_eq!(a.cash, Decimal::ZERO);
    assert_eq!(a.gross, Decimal::ONE);
    assert_eq!(a.diagnostics.condition_number, None);
}

#[test]
fn fixed_weights_with_a_cap_and_a_group() {
    // 5 : 3 : 2 with #0 capped at 0.4 → 0.4, 0.36, 0.24; then {1, 2} capped at 0.5 → the
    // group keeps 3 : 2 (0.3, 0.2) and #0 takes the rest up to its 0.4 … which leaves 0.1
    // nowhere: infeasible. With #0's max at 0.5 it holds: 0.5, 0.3, 0.2.
    let mut input = AllocInput::new(
        ids(3),
        vec![],
        Method::Fixed(vec![5.0, 3.0, 2.0]),
        dec("1000"),
        0,
    );
    input.bounds = vec![
        Bound {
            min: dec("0"),
            max: dec("0.4"),
        },
        Bound {
            min: dec("0"),
            max: dec("1"),
        },
        Bound {
            min: dec("0"),
            max: dec("1"),
        },
    ];
    let a = allocate(&input).unwrap();
    assert_eq!(a.weights, vec![dec("0.4"), dec("0.36"), dec("0.24")]);
    assert_eq!(a.capital, vec![dec("400"), dec("360"), dec("240")]);
    input.groups = vec![Group {
        members: vec!["s01".into(), "s02".into()],
        cap: dec("0.5"),
    }];
    assert_eq!(
        allocate(&input).unwrap_err().code(),
        AllocCode::InfeasibleBounds
    );
    input.bounds[0].max = dec("0.5");
    let a = allocate(&input).unwrap();
    assert_eq!(a.weights, vec![dec("0.5"), dec("0.3"), dec("0.2")]);
}

#[test]
fn a_min_is_met_exactly_after_rounding() {
    let mut input = AllocInput::new(
        ids(3),
        vec![],
        Method::Fixed(vec![1.0, 1.0, 0.0]),
        dec("1"),
        2,
    );
    input.bounds = vec![
        Bound {
            min: dec("0"),
            max: dec("1"),
        },
        Bound {
            min: dec("0"),
            max: dec("1"),
        },
        Bound {
            min: dec("0.1"),
            max: dec("1"),
        },
    ];
    let a = allocate(&input).unwrap();
    assert_eq!(a.weights, vec![dec("0.45"), dec("0.45"), dec("0.1")]);
    assert_eq!(a.capital, vec![dec("0.45"), dec("0.45"), dec("0.10")]);
}

#[test]
fn vol_target_scales_the_gross_and_keeps_cash() {
    // One strategy alternating ±1 %: variance 4e-4/3 per period (T − 1 = 3).
    let r = vec![vec![0.01], vec![-0.01], vec![0.01], vec![-0.01]];
    let mut input = AllocInput::new(ids(1), r, Method::EqualWeight, dec("1000.00"), 2);
    input.vol_target = Some(VolTarget {
        target: 0.1,
        periods_per_year: 365.0,
        max_gross: Decimal::ONE,
    });
    let a = allocate(&input).unwrap();
    let scale = 0.1 / ((4e-4f64 / 3.0).sqrt() * 365f64.sqrt());
    assert!((scale - 0.453_298_413_9).abs() < 1e-10);
    let g: f64 = a.gross.to_string().parse().unwrap();
    assert!(g <= scale && scale - g < 1e-12);
    assert_eq!(a.weights, vec![a.gross]);
    // capital = ⌊gross × 1000⌋ at cents; the rest is cash.
    assert_eq!(a.capital[0], (a.gross * dec("1000")).trunc_with_scale(2));
    assert_eq!(a.capital[0] + a.cash, dec("1000.00"));
    // A target above what one holds is capped at max_gross.
    input.vol_target.as_mut().unwrap().target = 5.0;
    input.vol_target.as_mut().unwrap().max_gross = dec("0.8");
    let a = allocate(&input).unwrap();
    assert_eq!(
        (a.gross, a.capital[0], a.cash),
        (dec("0.8"), dec("800"), dec("200"))
    );
}

#[test]
fn error_codes() {
    let code = |i: &AllocInput| allocate(i).unwrap_err().code().as_str();
    let r = synthetic(1, 30, 3);
    let mut i = AllocInput::new(ids(3), r[..1].to_vec(), Method::Erc, dec("1"), 2);
    assert_eq!(code(&i), "insufficient_history");
    i.returns = r.clone();
    i.min_history = 31;
    assert_eq!(code(&i), "insufficient_history");
    i.min_history = 2;
    assert!(allocate(&i).is_ok());
    // A constant strategy has no volatility to divide by.
    let mut z = r.clone();
    z.iter_mut().for_each(|row| row[1] = 0.003);
    for m in [
        Method::InverseVol,
        Method::Erc,
        Method::Hrp,
        Method::MinVariance,
    ] {
        let i = AllocInput::new(ids(3), z.clone(), m, dec("1"), 2);
        assert_eq!(code(&i), "singular_covariance");
    }
    // Two identical strategies: Σ is singular, min variance refuses, HRP does not.
    let mut d = r.clone();
    d.iter_mut().for_each(|row| row[2] = row[0]);
    assert_eq!(
        code(&AllocInput::new(
            ids(3),
            d.clone(),
            Method::MinVariance,
            dec("1"),
            2
        )),
        "singular_covariance"
    );
    assert!(allocate(&AllocInput::new(ids(3), d, Method::Hrp, dec("1"), 2)).is_ok());
    let mut i = AllocInput::new(ids(3), r.clone(), Method::EqualWeight, dec("1"), 2);
    i.bounds = vec![
        Bound {
            min: dec("0.4"),
            max: dec("1")
        };
        3
    ];
    assert_eq!(code(&i), "infeasible_bounds");
    i.bounds = vec![
        Bound {
            min: dec("0"),
            max: dec("0.3")
        };
        3
    ];
    assert_eq!(code(&i), "infeasible_bounds");
    // Malformed input is named, never a panic.
    let mut bad = r.clone();
    bad[3][1] = f64::NAN;
    assert_eq!(
        code(&AllocInput::new(ids(3), bad, Method::Erc, dec("1"), 2)),
        "invalid_input"
    );
    let mut i = AllocInput::new(
        vec!["b".into(), "a".into()],
        vec![],
        Method::EqualWeight,
        dec("1"),
        2,
    );
    assert_eq!(code(&i), "invalid_input");
    i.strategies = vec!["a".into(), "b".into()];
    i.total_capital = dec("1.005");
    assert_eq!(code(&i), "invalid_input");
    i.total_capital = dec("-1");
    assert_eq!(code(&i), "invalid_input");
    i.total_capital = dec("1");
    i.groups = vec![Group {
        members: vec!["c".into()],
        cap: dec("0.5"),
    }];
    assert_eq!(code(&i), "invalid_input");
    i.groups = vec![];
    i.bounds = vec![
        Bound {
            min: dec("0"),
            max: dec("1.5")
        };
        2
    ];
    assert_eq!(code(&i), "invalid_input");
}

#[test]
fn codes_are_stable_snake_case() {
    for c in AllocCode::ALL {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        assert_eq!(serde_json::from_str::<AllocCode>(&json).unwrap(), c);
    }
}

#[test]
fn erc_risk_contributions_are_equal_within_1e_8() {
    for (seed, t, n) in [(3, 60, 5), (4, 200, 20), (5, 504, 50)] {
        let mut input = AllocInput::new(ids(n), synthetic(seed, t, n), Method::Erc, dec("1"), 2);
        input.estimator = Estimator::LedoitWolf;
        let a = allocate(&input).unwrap();
        let sigma = estimate(&input).unwrap().matrix;
        let (_, spread) = methods::risk_contributions(&sigma, n, &a.raw_weights);
        assert!(spread <= 1e-8, "seed {seed}: {spread:e}");
        assert!(a.diagnostics.iterations > 0 && a.diagnostics.shrinkage.is_some());
    }
}

#[test]
fn min_variance_is_no_worse_than_its_neighbours() {
    let n = 8;
    let input = AllocInput::new(
        ids(n),
        synthetic(9, 120, n),
        Method::MinVariance,
        dec("1"),
        2,
    );
    let w = allocate(&input).unwrap().raw_weights;
    let sigma = estimate(&input).unwrap().matrix;
    let v = linalg::quad_form(&sigma, n, &w);
    // Moving a little weight between any two strategies (staying long-only) never helps.
    for i in 0..n {
        for j in 0..n {
            let eps = 1e-4_f64.min(w[j]);
            if i == j || eps == 0.0 {
                continue;
            }
            let mut x = w.clone();
            x[i] += eps;
            x[j] -= eps;
            assert!(linalg::quad_form(&sigma, n, &x) >= v * (1.0 - 1e-12));
        }
    }
}

// ---- goldens ----

fn golden_cases() -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("goldens/goldens.json")).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(row) => row.iter().map(|y| y.as_f64().unwrap()).collect(),
            None => vec![x.as_f64().unwrap()],
        })
        .collect()
}

fn rows(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol, "{what}[{k}]: {a} vs {b}");
    }
}

#[test]
fn goldens_covariance_match_pandas_and_scikit_learn() {
    for c in golden_cases() {
        let r = rows(&c["returns"]);
        let n = r[0].len();
        let want = floats(&c["sample_cov"]);
        // Relative to the largest entry (daily variances are ~1e-4).
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert_close("sample", &covariance::sample(&r, n), &want, 1e-9 * scale);
        let (lw, s) = covariance::ledoit_wolf(&r, n);
        let want = floats(&c["lw_cov"]);
        assert_close("ledoit_wolf", &lw, &want, 1e-9 * scale);
        assert!((s - c["lw_shrinkage"].as_f64().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn goldens_hrp_matches_pypfopt() {
    for c in golden_cases() {
        let r = rows(&c["returns"]);
        let n = r[0].len();
        let a = allocate(&AllocInput::new(ids(n), r, Method::Hrp, dec("1"), 2)).unwrap();
        assert_close("hrp", &a.raw_weights, &floats(&c["hrp"]), 1e-9);
    }
}

#[test]
fn goldens_min_variance_matches_cvxpy() {
    for c in golden_cases() {
        let r = rows(&c["returns"]);
        let n = r[0].len();
        let a = allocate(&AllocInput::new(
            ids(n),
            r,
            Method::MinVariance,
            dec("1"),
            2,
        ))
        .unwrap();
        assert_close(
            "min_variance",
            &a.raw_weights,
            &floats(&c["min_variance"]),
            1e-6,
        );
    }
}

// ---- properties ----

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    n: usize,
    t: usize,
    method: u8,
    lw: bool,
    /// 0: none, 1: a constant strategy, 2: two identical strategies.
    degenerate: u8,
    bounds: Option<Vec<(u16, u16)>>,
    groups: Option<(Vec<u8>, [u16; 2])>,
    vol: Option<(u16, u16)>,
    total: u64,
    dp: u32,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=8, 0usize..=60).prop_flat_map(|(n, t)| {
        (
            any::<u64>(),
            0u8..6,
            any::<bool>(),
            prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
            proptest::option::of(proptest::collection::vec((0u16..=1000, 0u16..=1000), n)),
            proptest::option::of((
                proptest::collection::vec(0u8..3, n),
                [0u16..=1000, 0u16..=1000],
            )),
            proptest::option::of((10u16..=1000, 1u16..=1000)),
            0u64..=10_000_000_000,
            0u32..=8,
        )
            .prop_map(
                move |(seed, method, lw, degenerate, bounds, groups, vol, total, dp)| Case {
                    seed,
                    n,
                    t,
                    method,
                    lw,
                    degenerate,
                    bounds,
                    groups,
                    vol,
                    total,
                    dp,
                },
            )
    })
}

fn input_of(c: &Case) -> AllocInput {
    let n = c.n;
    let mut r = synthetic(c.seed, c.t, n);
    match c.degenerate {
        1 => r.iter_mut().for_each(|row| row[0] = 0.001),
        2 if n > 1 => r.iter_mut().for_each(|row| row[n - 1] = row[0]),
        _ => {}
    }
    let method = match c.method {
        0 => Method::Fixed(
            (0..n)
                .map(|i| ((c.seed >> (i * 3)) & 7) as f64 + f64::from(u8::from(i == 0)))
                .collect(),
        ),
        1 => Method::EqualWeight,
        2 => Method::InverseVol,
        3 => Method::Erc,
        4 => Method::Hrp,
        _ => Method::MinVariance,
    };
    let mut input = AllocInput::new(ids(n), r, method, Decimal::new(c.total as i64, c.dp), c.dp);
    input.estimator = if c.lw {
        Estimator::LedoitWolf
    } else {
        Estimator::Sample
    };
    if let Some(b) = &c.bounds {
        // min up to 1/n (mostly feasible), max anywhere above it; thousandths.
        input.bounds = b
            .iter()
            .map(|&(a, z)| {
                let min = Decimal::new(i64::from(a) / (n as i64 + 1), 3);
                let max = min + (Decimal::ONE - min) * Decimal::new(i64::from(z), 3);
                Bound {
                    min,
                    max: max.round_dp(3),
                }
            })
            .collect();
    }
    if let Some((member, caps)) = &c.groups {
        input.groups = (0..2)
            .map(|k| Group {
                members: (0..n)
                    .filter(|&i| member[i] == k as u8 + 1)
                    .map(|i| ids(n)[i].clone())
                    .collect(),
                cap: Decimal::new(i64::from(caps[k]), 3),
            })
            .collect();
    }
    if let Some((target, gross)) = c.vol {
        input.vol_target = Some(VolTarget {
            target: f64::from(target) / 1000.0,
            periods_per_year: 365.0,
            max_gross: Decimal::new(i64::from(gross), 3),
        });
    }
    input
}

/// The feasibility of the bounds at a gross, checked independently, in decimals.
fn feasible(input: &AllocInput, gross: Decimal) -> bool {
    let n = input.strategies.len();
    let (lo, hi): (Vec<Decimal>, Vec<Decimal>) = if input.bounds.is_empty() {
        (vec![Decimal::ZERO; n], vec![Decimal::ONE; n])
    } else {
        input.bounds.iter().map(|b| (b.min, b.max)).unzip()
    };
    if (0..n).any(|i| lo[i] > hi[i]) || lo.iter().sum::<Decimal>() > gross {
        return false;
    }
    let mut capacity = Decimal::ZERO;
    let mut grouped = vec![false; n];
    for g in &input.groups {
        let m: Vec<usize> = g
            .members
            .iter()
            .map(|id| input.strategies.binary_search(id).unwrap())
            .collect();
        if m.iter().map(|&i| lo[i]).sum::<Decimal>() > g.cap {
            return false;
        }
        capacity += g.cap.min(m.iter().map(|&i| hi[i]).sum());
        m.iter().for_each(|&i| grouped[i] = true);
    }
    capacity += (0..n)
        .filter(|&i| !grouped[i])
        .map(|i| hi[i])
        .sum::<Decimal>();
    capacity >= gross
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn allocations_keep_every_promise(c in case()) {
        let input = input_of(&c);
        let n = c.n;
        match allocate(&input) {
            Ok(a) => {
                let max_gross = input.vol_target.map_or(Decimal::ONE, |v| v.max_gross);
                prop_assert!(a.gross > Decimal::ZERO && a.gross <= max_gross);
                prop_assert_eq!(a.weights.iter().sum::<Decimal>(), a.gross);
                for (i, w) in a.weights.iter().enumerate() {
                    prop_assert!(*w >= Decimal::ZERO && w.scale() <= WEIGHT_DP);
                    if let Some(b) = input.bounds.get(i) {
                        prop_assert!(b.min <= *w && *w <= b.max, "#{} {} not in [{}, {}]", i, w, b.min, b.max);
                    }
                }
                for g in &input.groups {
                    let s: Decimal = g.members.iter().map(|id| a.weights[input.strategies.binary_search(id).unwrap()]).sum();
                    prop_assert!(s <= g.cap, "group {:?}: {} > {}", g.members, s, g.cap);
                }
                prop_assert_eq!(a.capital.iter().sum::<Decimal>() + a.cash, input.total_capital);
                let quantum = Decimal::new(1, c.dp);
                for (w, k) in a.weights.iter().zip(&a.capital) {
                    prop_assert!(*k >= Decimal::ZERO && k.scale() <= c.dp);
                    prop_assert!((*k - *w * input.total_capital).abs() < quantum);
                }
                prop_assert!(a.cash >= Decimal::ZERO);
                prop_assert_eq!(a.raw_weights.len(), n);
                prop_assert!(a.raw_weights.iter().all(|w| w.is_finite() && *w >= 0.0));
                prop_assert!((a.raw_weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                let d = &a.diagnostics;
                prop_assert!(d.condition_number.is_none_or(|x| x.is_finite() && x >= 1.0));
                prop_assert!(d.shrinkage.is_none_or(|s| (0.0..=1.0).contains(&s)));
            }
            Err(e) => {
                let needs_cov = !matches!(input.method, Method::Fixed(_) | Method::EqualWeight)
                    || input.vol_target.is_some();
                match e.code() {
                    AllocCode::InsufficientHistory => prop_assert!(needs_cov && c.t < 2),
                    AllocCode::SingularCovariance => {
                        let cov = estimate(&input).unwrap();
                        let zero_var = (0..n).any(|i| cov.matrix[i * n + i] <= 0.0);
                        let ill = cov.condition_number.is_none_or(|x| x > input.max_condition);
                        let ok = match input.method {
                            Method::MinVariance | Method::Erc => ill || zero_var,
                            Method::InverseVol | Method::Hrp => zero_var,
                            _ => false,
                        };
                        prop_assert!(ok, "{}", e);
                    }
                    AllocCode::InfeasibleBounds => {
                        // Without a target the gross is 1; with one it may be anything up
                        // to max_gross, where positive minimums can exceed it.
                        let any_min = input.bounds.iter().any(|b| b.min > Decimal::ZERO);
                        let gross = input.vol_target.map_or(Decimal::ONE, |v| v.max_gross);
                        prop_assert!(!feasible(&input, gross) || (input.vol_target.is_some() && any_min), "{}", e);
                    }
                    _ => prop_assert!(false, "{}", e),
                }
            }
        }
    }
}
