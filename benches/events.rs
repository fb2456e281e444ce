//! Event decode/encode throughput: the hot path of every stage.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord::event::{self, Event};
use std::hint::black_box;

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"{}","price":{}.{:03},"qty":{}.{:02},"side":"{}","ts_ns":{}}}"#,
                1_000_000 + i,
                10 + i % 7,
                i % 1000,
                1 + i % 50,
                i % 100,
                if i % 3 == 0 { "sell" } else { "buy" },
                1_700_000_000_000_000_000i64 + i as i64 * 1_000_000
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let input = lines(10_000);
    let events: Vec<Event> = input.iter().map(|l| event::decode(l).unwrap()).collect();
    let mut g = c.benchmark_group("trade");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            for l in &input {
                black_box(event::decode(black_box(l)).unwrap());
            }
        })
    });
    // The floor: serde_json scanning the same lines without building anything.
    g.bench_function("scan_only", |b| {
        b.iter(|| {
            for l in &input {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(l)).unwrap());
            }
        })
    });
    // Lines off the fast path (keys in another order, an order event): serde decides.
    let slow: Vec<String> = input
        .iter()
        .map(|l| {
            l.replacen(r#"{"kind":"trade","#, "{", 1)
                .replacen('}', r#","kind":"trade"}"#, 1)
        })
        .collect();
    g.bench_function("decode_slow_path", |b| {
        b.iter(|| {
            for l in &slow {
                black_box(event::decode(black_box(l)).unwrap());
            }
        })
    });
    let orders: Vec<String> = (0..input.len())
        .map(|i| format!(r#"{{"kind":"order","intent_id":"s-ATOMUSDT-{i}","strategy_id":"s","venue":"binanceus","symbol":"ATOM/USDT","side":"buy","type":"limit","qty":1.5,"limit_price":10.25,"ts_accepted_ns":1700000000000000000}}"#))
        .collect();
    g.bench_function("decode_order", |b| {
        b.iter(|| {
            for l in &orders {
                black_box(event::decode(black_box(l)).unwrap());
            }
        })
    });
    let mut out = Vec::with_capacity(1 << 20);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            for e in &events {
                e.write_line(&mut out);
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
