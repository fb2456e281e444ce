//! The pairs statistics' speed: `RollingOls` over 100,000 pairs of a generated cointegrated
//! pair (one update per pair), and the window tests (Engle–Granger, ADF) on its last 500.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::coint::{RollingOls, Trend, adf, adf_aic, engle_granger};
use std::hint::black_box;

const N: usize = 100_000;
const WINDOW: usize = 500;

/// x a random walk, y = 10 + 1.5·x + an AR(1) wiggle (φ = 0.6), from a fixed xorshift
/// stream: a sum of sines would make the lagged differences exactly collinear.
fn pair() -> (Vec<f64>, Vec<f64>) {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut x, mut u) = (100.0, 0.0);
    (0..N)
        .map(|_| {
            x += noise();
            u = 0.6 * u + noise();
            (10.0 + 1.5 * x + u, x)
        })
        .unzip()
}

fn coint(c: &mut Criterion) {
    let (y, x) = pair();
    let mut g = c.benchmark_group("coint");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("rolling_ols_60", |b| {
        b.iter(|| {
            let mut ols = RollingOls::new(60);
            let mut acc = 0.0;
            for (&y, &x) in y.iter().zip(&x) {
                acc += ols.update(y, x).map_or(0.0, |f| f.beta);
            }
            black_box(acc)
        })
    });
    let (y, x) = (&y[N - WINDOW..], &x[N - WINDOW..]);
    // The window tests are timed on an answer, not on an early `None`.
    assert!(engle_granger(y, x, 1).is_some() && adf_aic(y, 12, Trend::Constant).is_some());
    g.throughput(Throughput::Elements(1));
    g.bench_function("engle_granger_500_lags_1", |b| {
        b.iter(|| engle_granger(black_box(y), black_box(x), 1))
    });
    g.bench_function("adf_500_lags_4", |b| {
        b.iter(|| adf(black_box(y), 4, Trend::Constant))
    });
    g.bench_function("adf_aic_500_max_lags_12", |b| {
        b.iter(|| adf_aic(black_box(y), 12, Trend::Constant))
    });
    g.finish();
}

criterion_group!(benches, coint);
criterion_main!(benches);
