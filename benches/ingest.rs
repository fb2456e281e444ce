//! Ingest's hot path: a Binance `@trade` frame (combined-stream wrapper) decoded, de-duplicated,
//! sequenced and written as an NDJSON `trade` line (as the shell writes it). Target: ≥ 1,000,000 frames/s on one core.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use njord::event::Event;
use njord::ingest::{CoreConfig, Ingest, Streams};
use njord::venue::VenueSymbol;
use njord::venue::binanceus::ws;
use std::hint::black_box;

fn frames(n: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"stream":"atomusdt@trade","data":{{"e":"trade","E":{},"s":"ATOMUSDT","t":{},"p":"{}.{:03}00000","q":"{}.{:02}000000","b":{},"a":{},"T":{},"m":{},"M":true}}}}"#,
                1_700_000_000_000u64 + i,
                1_000_000 + i,
                10 + i % 7,
                i % 1000,
                i % 50,
                i % 100,
                2_000_000 + 2 * i,
                2_000_001 + 2 * i,
                1_700_000_000_000u64 + i,
                i % 3 == 0
            )
        })
        .collect()
}

fn core() -> Ingest {
    Ingest::new(
        "binanceus",
        vec![VenueSymbol {
            pair: "ATOM/USDT".into(),
            venue: "ATOMUSDT".into(),
            stream: "atomusdt".into(),
        }],
        Streams::default(),
        CoreConfig::default(),
    )
}

fn bench(c: &mut Criterion) {
    let input = frames(10_000);
    let mut g = c.benchmark_group("ingest_trade_frame");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            for f in &input {
                black_box(ws::decode(black_box(f)).is_ok());
            }
        })
    });
    let mut out = Vec::with_capacity(4 << 20);
    let mut notes = Vec::new();
    g.bench_function("frame_to_ndjson_line", |b| {
        b.iter_batched(
            core,
            |mut core| {
                out.clear();
                for (i, f) in input.iter().enumerate() {
                    core.on_frame(
                        black_box(f),
                        1_700_000_000_000_000_000 + i as i64,
                        i as i64,
                        &mut |_, ev: &Event<'_>| ev.write_line(&mut out),
                        &mut notes,
                    );
                }
                assert!(notes.is_empty());
                black_box(&out);
                core
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
