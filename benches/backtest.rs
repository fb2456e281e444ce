//! Backtest engine throughput (issue 9): the strategy, risk and paper cores with the equity
//! and metrics accounting, on decoded trades in memory (no I/O, no decoding), and the same
//! with decoding from NDJSON lines. End-to-end figures from files and the comparison with the
//! stdio pipeline: `scripts/bench-backtest.sh`. `engine_decoded_trades_portfolio` is the first
//! with the strategy run as a one-strategy portfolio (`--portfolio`): the allocator's cost.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord::backtest::engine::{Discard, Engine, Settings, paper_config};
use njord::config::{Config, Topics};
use njord::event::{Event, decode};
use njord::strategy::{Registry, manager};
use rust_decimal::Decimal;
use std::hint::black_box;

const N: usize = 100_000;

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let x = i as f64;
            let p = 10.0 + (x / 37.0).sin() * 0.8 + (x / 997.0).sin() * 2.0;
            format!(
                "{{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"{i}\",\"price\":{p:.4},\"qty\":1.25,\"side\":\"buy\",\"ts_ns\":{}}}",
                1_767_225_600_000_000_000i64 + i as i64 * 100_000_000
            )
        })
        .collect()
}

fn engine() -> Engine {
    let yaml = include_str!("../scripts/bench-strategies.yaml");
    let defs = manager::parse(yaml, "bench", &Registry::builtin(), &Topics::default()).unwrap();
    let capital = Decimal::from(10_000);
    let mut cfg = Config::default();
    cfg.paper = paper_config(&cfg, capital, "USDT");
    let settings = Settings {
        capital,
        interval_ns: 3_600_000_000_000,
        risk_free: 0.0,
        partial_fills: false,
        min_returns: njord::backtest::metrics::MIN_RETURNS,
    };
    Engine::new(&cfg, Registry::builtin(), defs, &settings)
}

fn backtest(c: &mut Criterion) {
    let lines = lines(N);
    let events: Vec<Event<'static>> = lines
        .iter()
        .map(|l| decode(l).unwrap().into_owned())
        .collect();
    let mut g = c.benchmark_group("backtest");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("engine_decoded_trades", |b| {
        b.iter(|| {
            let mut e = engine();
            for ev in &events {
                e.on_event(ev, &mut Discard);
            }
            black_box(e.finish(&mut Discard))
        })
    });
    g.bench_function("engine_decoded_trades_portfolio", |b| {
        b.iter(|| {
            let p: njord::portfolio::settings::PortfolioFile = serde_saphyr::from_str(
                "portfolio:\n  capital: 10000\n  method: erc\n  return_interval: 1h\n  strategies:\n    - id: ema\n",
            )
            .unwrap();
            let p = njord::portfolio::engine::PortfolioEngine::new(p.portfolio).unwrap();
            let mut e = engine().with_portfolio(p);
            for ev in &events {
                e.on_event(ev, &mut Discard);
            }
            black_box(e.finish(&mut Discard))
        })
    });
    g.bench_function("engine_ndjson_lines", |b| {
        b.iter(|| {
            let mut e = engine();
            for l in &lines {
                if let Ok(ev) = decode(l) {
                    e.on_event(&ev, &mut Discard);
                }
            }
            black_box(e.finish(&mut Discard))
        })
    });
    g.finish();
}

criterion_group!(benches, backtest);
criterion_main!(benches);
