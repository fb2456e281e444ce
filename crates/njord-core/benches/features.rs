//! The feature library's update rate (issue 21, target ≥ 10,000,000 values/s): each feature
//! over 100,000 bars of a generated walk, one update per bar.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::features::{
    CloseToCloseVol, GarmanKlassVol, LogReturns, Ohlc, ParkinsonVol, Returns, ZScore,
};
use std::hint::black_box;

const N: usize = 100_000;

fn bars() -> Vec<Ohlc> {
    let mut open = 100.0;
    (0..N)
        .map(|i| {
            let close = open * (1.0 + 0.01 * (i as f64 / 7.0).sin());
            let bar = Ohlc {
                open,
                high: open.max(close) * 1.002,
                low: open.min(close) * 0.998,
                close,
            };
            open = close;
            bar
        })
        .collect()
}

fn features(c: &mut Criterion) {
    let bars = bars();
    let mut g = c.benchmark_group("features");
    g.throughput(Throughput::Elements(N as u64));
    macro_rules! bench {
        ($name:literal, $make:expr, $input:expr) => {
            g.bench_function($name, |b| {
                b.iter(|| {
                    let mut f = $make;
                    let mut acc = 0.0;
                    for bar in &bars {
                        acc += f.update($input(*bar)).unwrap_or(0.0);
                    }
                    black_box(acc)
                })
            });
        };
    }
    bench!("returns", Returns::default(), |b: Ohlc| b.close);
    bench!("log_returns", LogReturns::default(), |b: Ohlc| b.close);
    bench!("zscore_20", ZScore::new(20), |b: Ohlc| b.close);
    bench!(
        "close_to_close_vol_20",
        CloseToCloseVol::new(20),
        |b: Ohlc| b.close
    );
    bench!("parkinson_vol_20", ParkinsonVol::new(20), |b: Ohlc| b);
    bench!("garman_klass_vol_20", GarmanKlassVol::new(20), |b: Ohlc| b);
    g.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
