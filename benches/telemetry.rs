//! Telemetry's costs: a counter increment on a hot path, a scrape of 5,000 series, and a
//! stage's stdio throughput with metrics off and on.
//!
//! Targets (issue 18): an increment under 50 ns without allocation; a scrape under 5 ms at
//! 5,000 series; with metrics on, stage throughput down by less than 2 %.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use njord::config::Topics;
use njord::event::{Event, Kind};
use njord::stage::{Out, Stage, StageError, StdioOpts, run_stdio};
use njord::telemetry::{Health, Observer};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

fn counters(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter");
    let handle = Counter::<u64>::default();
    g.bench_function("inc", |b| b.iter(|| black_box(&handle).inc()));
    let family: Family<Vec<(&'static str, &'static str)>, Counter> = Family::default();
    let label = vec![("kind", "trade")];
    g.bench_function("family_lookup_inc", |b| {
        b.iter(|| family.get_or_create(black_box(&label)).inc())
    });
    g.finish();
}

/// 5,000 series shaped like Njord's: per-symbol and per-strategy gauges and labelled counters.
fn five_thousand_series() -> Registry {
    let mut r = Registry::default();
    let ages: Family<Vec<(&'static str, String)>, Gauge<f64, AtomicU64>> = Family::default();
    let counts: Family<Vec<(&'static str, String)>, Counter> = Family::default();
    for i in 0..2_500 {
        let stream = vec![("stream", format!("md.trades.S{i}/USDT"))];
        ages.get_or_create(&stream).set(i as f64 * 0.001);
        counts.get_or_create(&stream).inc_by(i);
    }
    r.register("njord_stream_last_event_age_seconds", "age", ages);
    r.register("njord_events_in", "events", counts);
    r
}

fn scrape(c: &mut Criterion) {
    let r = five_thousand_series();
    let mut g = c.benchmark_group("scrape");
    g.bench_function("prometheus_text_5000_series", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(512 * 1024);
            prometheus_text::encode(&mut out, black_box(&r)).unwrap();
            black_box(out.len())
        })
    });
    g.bench_function("openmetrics_5000_series", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(512 * 1024);
            prometheus_client::encoding::text::encode(&mut out, black_box(&r)).unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

/// Forwards every line and emits nothing: the runner and telemetry are all it costs.
struct Forward;

impl Stage for Forward {
    fn inputs(&self, topics: &Topics) -> Vec<String> {
        vec![topics.pattern(Kind::Trade)]
    }
    fn on_event(&mut self, _ev: &Event<'_>, _out: &mut Out) -> Result<(), StageError> {
        Ok(())
    }
}

const N: usize = 200_000;

/// Two symbols interleaved, as a trade tape.
fn tape() -> Vec<u8> {
    let mut s = String::with_capacity(N * 160);
    for i in 0..N {
        let sym = if i % 2 == 0 { "ATOM/USDT" } else { "BTC/USDT" };
        s.push_str(&format!(
            "{{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"{sym}\",\"trade_id\":\"{i}\",\"price\":10.{:04},\"qty\":1.25,\"side\":\"buy\",\"ts_ns\":{}}}\n",
            i % 10_000,
            1_700_000_000_000_000_000i64 + i as i64 * 1_000_000
        ));
    }
    s.into_bytes()
}

fn stage(c: &mut Criterion) {
    let text = tape();
    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(30);
    let mut obs = Observer::new(&Topics::default(), Arc::new(Health::new(0)));
    for metered in [false, true] {
        let name = if metered {
            "forward_metrics_on"
        } else {
            "forward_metrics_off"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || text.clone(),
                |input| {
                    let mut out = Vec::with_capacity(input.len() + (1 << 20));
                    let stats = run_stdio(
                        &mut Forward,
                        std::io::Cursor::new(input),
                        &mut out,
                        StdioOpts::default(),
                        metered.then_some(&mut obs),
                    )
                    .unwrap();
                    black_box((stats, out.len()))
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, counters, scrape, stage);
criterion_main!(benches);
