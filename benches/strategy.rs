//! Strategy throughput: `rsi_tema_bb` on bare prices, the manager on decoded trades, and the
//! whole `njord-strat` stage on NDJSON (decode, route, strategies, forward, intents).
//!
//! Targets (issue 7): rsi_tema_bb ≥ 10,000,000 prices/s on one core; the stage on stdio
//! ≥ 1,000,000 lines/s with both sample strategies.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use njord::config::Topics;
use njord::event::{Event, decode};
use njord::stage::{Out, StdioOpts, run_stdio};
use njord::strategy::rsi_tema_bb::{self, RsiTemaBb};
use njord::strategy::stage::StratStage;
use njord::strategy::{Manager, Registry, manager};
use std::hint::black_box;

const N: usize = 100_000;

fn price(i: usize) -> f64 {
    let x = i as f64;
    10.0 + (x / 37.0).sin() * 0.8 + (x / 5.0).sin() * 0.15 + (x / 997.0).sin() * 2.0
}

/// Two symbols interleaved, as a trade tape.
fn tape(n: usize) -> String {
    let mut s = String::with_capacity(n * 160);
    for i in 0..n {
        let sym = if i % 2 == 0 { "ATOM/USDT" } else { "BTC/USDT" };
        s.push_str(&format!(
            "{{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"{sym}\",\"trade_id\":\"{i}\",\"price\":{:.4},\"qty\":1.25,\"side\":\"buy\",\"ts_ns\":{}}}\n",
            price(i),
            1_700_000_000_000_000_000i64 + i as i64 * 1_000_000
        ));
    }
    s
}

const BOTH: &str = "strategies:
  - {id: tl, class: trendline_break, symbols: ['*/USDT'], events: [trade], params: {qty: 1}}
  - {id: rtb, class: rsi_tema_bb, symbols: ['*/USDT'], events: [trade], params: {qty: 1}}
";

fn rsi_tema_bb_prices(c: &mut Criterion) {
    let prices: Vec<f64> = (0..N).map(price).collect();
    let mut raw = serde_json::Map::new();
    raw.insert("qty".into(), 1.into());
    let params = rsi_tema_bb::CLASS.params(&raw).unwrap();
    let mut g = c.benchmark_group("rsi_tema_bb");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("prices", |b| {
        b.iter(|| {
            let mut s = RsiTemaBb::new(&params).unwrap();
            let mut signals = 0u32;
            for &p in &prices {
                if let Some(r) = s.update(p) {
                    signals += u32::from(s.signal(p, &r).is_some());
                }
            }
            black_box(signals)
        })
    });
    g.finish();
}

fn manager_trades(c: &mut Criterion) {
    let text = tape(N);
    let events: Vec<Event<'static>> = text
        .lines()
        .map(|l| decode(l).unwrap().into_owned())
        .collect();
    let registry = Registry::builtin();
    let topics = Topics::default();
    let defs = manager::parse(BOTH, "bench.yaml", &registry, &topics).unwrap();
    let mut g = c.benchmark_group("manager");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("both_samples", |b| {
        b.iter(|| {
            let mut m = Manager::new(registry.clone(), topics.clone(), defs.clone());
            let mut out: Out = Vec::new();
            for ev in &events {
                m.on_event(ev, &mut out);
                out.clear();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn stage_stdio(c: &mut Criterion) {
    let text = tape(N).into_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strategies.yaml");
    std::fs::write(&path, BOTH).unwrap();
    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("stdio_both_samples", |b| {
        b.iter_batched(
            || text.clone(),
            |input| {
                let mut stage = StratStage::open(
                    &path,
                    Registry::builtin(),
                    Topics::default(),
                    &Default::default(),
                )
                .unwrap();
                let mut out = Vec::with_capacity(input.len() + (1 << 20));
                let stats = run_stdio(
                    &mut stage,
                    std::io::Cursor::new(input),
                    &mut out,
                    StdioOpts::default(),
                    None,
                )
                .unwrap();
                black_box((stats, out.len()))
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, rsi_tema_bb_prices, manager_trades, stage_stdio);
criterion_main!(benches);
