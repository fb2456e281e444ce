//! Storage benchmarks (issue 8): bar aggregation, trade decoding and replay from gzip.
//! `cargo bench --bench storage`; end-to-end binary figures come from scripts/bench-storage.sh.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord::bars::{BarAggregator, Timeframe};
use njord::event::{self, Event};
use njord::replay::{Filter, Replay};
use std::hint::black_box;
use std::io::Write;

const N: usize = 100_000;

/// A synthetic tape: one trade every 50 ms, prices wandering in cents.
fn tape() -> Vec<String> {
    (0..N)
        .map(|i| {
            let ts = 1_767_225_600_000_000_000i64 + i as i64 * 50_000_000;
            let px = 1000 + (i * 7919 % 200);
            let side = if i % 3 == 0 { "sell" } else { "buy" };
            format!(
                r#"{{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"{i}","price":{}.{:02},"qty":0.{:03},"side":"{side}","ts_ns":{ts}}}"#,
                px / 100,
                px % 100,
                1 + i % 997
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = tape();
    let tfs = Timeframe::parse_list("1m,5m,1h").unwrap();
    let mut g = c.benchmark_group("storage");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);

    g.bench_function("decode_trade", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(event::decode(l).unwrap());
            }
        })
    });

    let trades: Vec<Event<'_>> = lines.iter().map(|l| event::decode(l).unwrap()).collect();
    g.bench_function("aggregate_1m_5m_1h", |b| {
        b.iter(|| {
            let mut agg = BarAggregator::new(tfs.clone(), false);
            let mut out = Vec::new();
            for ev in &trades {
                if let Event::Trade(t) = ev {
                    agg.on_trade(t, &mut out);
                }
            }
            agg.finish(&mut out);
            black_box(out.len())
        })
    });

    g.bench_function("decode_and_aggregate", |b| {
        b.iter(|| {
            let mut agg = BarAggregator::new(tfs.clone(), false);
            let mut out = Vec::new();
            for l in &lines {
                if let Ok(Event::Trade(t)) = event::decode(l) {
                    agg.on_trade(&t, &mut out);
                }
            }
            black_box(out.len())
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("md.trades.ATOMUSDT.20260101.ndjson.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    for l in &lines {
        writeln!(enc, "{l}").unwrap();
    }
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    g.bench_function("replay_gz", |b| {
        b.iter(|| {
            let mut r = Replay::open(std::slice::from_ref(&gz), Filter::default()).unwrap();
            let mut n = 0u64;
            r.for_each(|i| n += i.line.len() as u64, |_| {});
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
