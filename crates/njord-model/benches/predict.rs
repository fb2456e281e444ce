//! One-row prediction latency of a scikit-learn GradientBoostingRegressor (100 trees of depth 3,
//! 32 features) exported with skl2onnx and run by njord-model (issue target: under 200 µs p99 per
//! event). The model is trained afresh by `scripts/train_onnx_model.py`, which needs the tests'
//! Python environment (`make python`).
//!
//! Besides criterion's mean, the distribution of 100,000 single calls, each timed with `Instant`
//! (the clock's own cost, some tens of nanoseconds, included), cycling over 500 held-out rows.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::Criterion;
use njord_model::Model;
use std::hint::black_box;
use std::time::{Duration, Instant};

const CALLS: usize = 100_000;

fn percentiles(model: &Model, rows: &[Vec<f32>]) {
    for row in rows {
        black_box(model.predict(row).unwrap());
    }
    let mut times: Vec<Duration> = Vec::with_capacity(CALLS);
    for row in rows.iter().cycle().take(CALLS) {
        let start = Instant::now();
        black_box(model.predict(black_box(row)).unwrap());
        times.push(start.elapsed());
    }
    times.sort_unstable();
    let at = |q: f64| times[((CALLS as f64 * q) as usize).min(CALLS - 1)];
    let mean = times.iter().sum::<Duration>() / CALLS as u32;
    println!(
        "predict, regressor of 100 trees on 32 features, {CALLS} calls: mean {mean:?}, \
         p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        at(0.999),
        times[CALLS - 1]
    );
}

fn main() {
    let trained = common::train();
    let expected = &trained.models[0];
    assert_eq!(
        (expected.file.as_str(), expected.kind.as_str()),
        ("regressor.onnx", "regressor")
    );
    let model = Model::from_bytes(&trained.bytes(&expected.file), None).unwrap();
    assert_eq!(model.inputs(), trained.features);
    // The model timed is the one the tests check against scikit-learn.
    let first = f64::from(model.predict(&trained.rows[0]).unwrap());
    assert!((first - expected.predictions[0]).abs() <= 1e-5);
    percentiles(&model, &trained.rows);

    let mut c = Criterion::default().configure_from_args();
    let mut i = 0;
    c.bench_function("predict/regressor_100_trees_32_features", |b| {
        b.iter(|| {
            i = (i + 1) % trained.rows.len();
            black_box(model.predict(black_box(&trained.rows[i])).unwrap())
        })
    });
    c.final_summary();
}
