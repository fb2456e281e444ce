//! The hand-written scans must pay for themselves: `swar` against plain byte loops, and the
//! plain-decimal parser in `num` against rust_decimal's own, on the field shapes of trade lines.
//! The verdict is the backtest's end-to-end figure (`scripts/bench-backtest.sh`), not these
//! alone: with plain loops and rust_decimal's parser in their place the backtest ran about 5 %
//! slower on a 5M-trade tape (CPU time, interleaved runs), so all three stay.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::{num, swar};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::str::FromStr;

/// The end of a JSON string without escapes, a byte at a time.
fn string_end_plain(b: &[u8]) -> Option<usize> {
    b.iter()
        .position(|c| *c == b'"' || *c == b'\\' || *c < 0x20)
}

/// The leading digits' value and count, a byte at a time.
fn digits_plain(b: &[u8], max: usize) -> (u64, usize) {
    let mut v = 0u64;
    let mut n = 0;
    while n < max {
        match b.get(n) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + u64::from(c - b'0');
                n += 1;
            }
            _ => break,
        }
    }
    (v, n)
}

/// Field tails as the decoder sees them: a string's contents up to its quote, a number up to
/// the next comma.
fn samples(n: usize) -> (Vec<String>, Vec<String>, Vec<String>) {
    let strings = (0..n)
        .map(|i| match i % 4 {
            0 => "binanceus\",\"symbol\"".to_string(),
            1 => "ATOM/USDT\",\"trade_id\"".to_string(),
            2 => format!("{}\",\"price\"", 1_000_000 + i),
            _ => "buy\",\"ts_ns\"".to_string(),
        })
        .collect();
    let ints = (0..n)
        .map(|i| format!("{},", 1_700_000_000_000_000_000i64 + i as i64 * 1_000_003))
        .collect();
    let decimals = (0..n)
        .map(|i| match i % 3 {
            0 => format!("{}.{:03}", 10 + i % 7, i % 1000),
            1 => format!("{}.{:02}", i % 50, i % 100),
            _ => format!("0.000{}", 31 + i % 900),
        })
        .collect();
    (strings, ints, decimals)
}

fn bench(c: &mut Criterion) {
    let (strings, ints, decimals) = samples(4096);
    let mut g = c.benchmark_group("string_end");
    g.throughput(Throughput::Elements(strings.len() as u64));
    g.bench_function("swar", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(swar::string_end(black_box(s.as_bytes())));
            }
        })
    });
    g.bench_function("byte_loop", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(string_end_plain(black_box(s.as_bytes())));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("digits");
    g.throughput(Throughput::Elements(ints.len() as u64));
    g.bench_function("swar", |b| {
        b.iter(|| {
            for s in &ints {
                black_box(swar::digits(black_box(s.as_bytes()), 19));
            }
        })
    });
    g.bench_function("byte_loop", |b| {
        b.iter(|| {
            for s in &ints {
                black_box(digits_plain(black_box(s.as_bytes()), 19));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("decimal");
    g.throughput(Throughput::Elements(decimals.len() as u64));
    g.bench_function("num_parse_plain", |b| {
        b.iter(|| {
            for s in &decimals {
                black_box(num::parse_plain(black_box(s.as_bytes())));
            }
        })
    });
    g.bench_function("rust_decimal_from_str", |b| {
        b.iter(|| {
            for s in &decimals {
                black_box(Decimal::from_str(black_box(s)).ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
