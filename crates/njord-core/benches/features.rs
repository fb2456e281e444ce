//! The feature library's update rate (issue 21, target ≥ 10,000,000 values/s): each feature
//! over 100,000 bars of a generated walk, one update per bar (the book imbalance: one
//! snapshot of 20 levels a side, the top 10 summed).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::event::{Book, Level, Side};
use njord_core::features::{
    Adx, Atr, CloseToCloseVol, GarmanKlassVol, LogReturns, Macd, Obv, Ohlc, ParkinsonVol, Returns,
    RollingBeta, RollingCorrelation, Stochastic, TradeImbalance, Vwap, ZScore, book_imbalance,
};
use rust_decimal::Decimal;
use std::borrow::Cow;
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

/// A volume, a market price, a trade side and a trade quantity per bar.
fn flows() -> Vec<(f64, f64, Side, f64)> {
    let mut market = 20.0;
    (0..N)
        .map(|i| {
            let x = i as f64;
            market *= 1.0 + 0.006 * (x / 5.0).sin() + 0.003 * (x / 13.0).cos();
            let side = if i % 3 == 0 { Side::Sell } else { Side::Buy };
            (
                1000.0 * (1.5 + (x / 3.0).sin()),
                market,
                side,
                0.5 + (i % 17) as f64,
            )
        })
        .collect()
}

/// Snapshots of 20 levels a side, quantities with 4 decimals.
fn books() -> Vec<Book<'static>> {
    let levels = |seed: i64| -> Vec<Level> {
        (0..20)
            .map(|k| Level {
                price: Decimal::new(100_000 + k, 2),
                qty: Decimal::new(1 + (seed * 7919 + k * 104_729) % 50_000, 4),
            })
            .collect()
    };
    (0..64)
        .map(|i| Book {
            venue: Cow::Borrowed("binance"),
            symbol: Cow::Borrowed("BTC/USDT"),
            bids: levels(i),
            asks: levels(i + 1000),
            checksum: None,
            ts_ns: 0,
        })
        .collect()
}

fn features(c: &mut Criterion) {
    let bars = bars();
    let flows = flows();
    let books = books();
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
    // The rest: the feature as `$f`, the index and bar as `$i` and `$bar`, and the value.
    macro_rules! bench_with {
        ($name:literal, $make:expr, |$f:ident, $i:ident, $bar:ident| $value:expr) => {
            g.bench_function($name, |b| {
                b.iter(|| {
                    let mut $f = $make;
                    let mut acc = 0.0;
                    for ($i, $bar) in bars.iter().enumerate() {
                        let v: Option<f64> = $value;
                        acc += v.unwrap_or(0.0);
                    }
                    black_box(acc)
                })
            });
        };
    }
    bench_with!("atr_14", Atr::new(14), |f, _i, bar| f.update(*bar));
    bench_with!("macd_12_26_9", Macd::new(12, 26, 9), |f, _i, bar| f
        .update(bar.close)
        .map(|m| m.hist));
    bench_with!(
        "stochastic_5_3_3",
        Stochastic::new(5, 3, 3),
        |f, _i, bar| f.update(*bar).map(|s| s.d)
    );
    bench_with!("adx_14", Adx::new(14), |f, _i, bar| f
        .update(*bar)
        .and_then(|d| d.adx));
    bench_with!("obv", Obv::default(), |f, i, bar| f
        .update(bar.close, flows[i].0));
    bench_with!("vwap_20", Vwap::new(20), |f, i, bar| f
        .update(*bar, flows[i].0)
        .map(|v| v.deviation));
    bench_with!(
        "trade_imbalance_50",
        TradeImbalance::new(50),
        |f, i, _bar| f.update(flows[i].2, flows[i].3)
    );
    bench_with!(
        "correlation_30",
        RollingCorrelation::new(30),
        |f, i, bar| f.update(bar.close, flows[i].1)
    );
    bench_with!("beta_5", RollingBeta::new(5), |f, i, bar| f
        .update(flows[i].1, bar.close));
    bench_with!("book_imbalance_10", (), |_f, i, _bar| book_imbalance(
        &books[i % books.len()],
        10
    ));
    g.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
