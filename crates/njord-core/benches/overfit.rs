//! The overfitting statistics of a sweep: 100 trials of one year of hourly returns (8,760
//! each), the deflated Sharpe ratio and PBO over 16 blocks (12,870 splits).

use criterion::{Criterion, criterion_group, criterion_main};
use njord_core::overfit::{deflated, pbo};
use std::hint::black_box;

const TRIALS: usize = 100;
const RETURNS: usize = 8_760;

/// Returns from a fixed xorshift stream, a small drift per trial.
fn trials() -> Vec<Vec<f64>> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..TRIALS)
        .map(|k| {
            (0..RETURNS)
                .map(|_| 1e-5 * k as f64 + 0.01 * noise())
                .collect()
        })
        .collect()
}

fn overfit(c: &mut Criterion) {
    let trials = trials();
    let series: Vec<&[f64]> = trials.iter().map(Vec::as_slice).collect();
    let mut g = c.benchmark_group("overfit");
    g.sample_size(10);
    g.bench_function("deflated_100x8760", |b| {
        b.iter(|| black_box(deflated(black_box(&series))))
    });
    g.bench_function("pbo_100x8760_16_blocks", |b| {
        b.iter(|| black_box(pbo(black_box(&series), 16)))
    });
    g.finish();
}

criterion_group!(benches, overfit);
criterion_main!(benches);
