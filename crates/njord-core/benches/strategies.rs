//! Each shipped strategy class through the manager, as `njord-strat` and the backtester run
//! it: 1-minute bars of three symbols (30,000 each), events per second. Parameters as in the
//! look-ahead test's entries, so each one trades.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::config::Topics;
use njord_core::event::{Bar, Event};
use njord_core::strategy::{Manager, Registry, manager};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::hint::black_box;

const BARS: i64 = 30_000;

fn tape() -> Vec<Event<'static>> {
    const T0: i64 = 1_700_000_000_000_000_000;
    let mut out = Vec::with_capacity(3 * BARS as usize);
    for i in 1..=BARS {
        let x = 50.0 + 3.0 * (i as f64 / 9.0).sin() + (i as f64 / 700.0).cos();
        let y = 2.0 * x + 5.0 + 0.4 * (i as f64 * 1.7).sin();
        let z = 30.0 + 2.0 * (i as f64 / 31.0).sin();
        for (sym, c) in [("X/USDT", x), ("Y/USDT", y), ("Z/USDT", z)] {
            let c = Decimal::from_f64_retain(c).unwrap_or_default().round_dp(4);
            out.push(Event::Bar(Bar {
                symbol: Cow::Borrowed(sym),
                timeframe: Cow::Borrowed("1m"),
                ts_open_ns: T0 + (i - 1) * 60_000_000_000,
                ts_close_ns: T0 + i * 60_000_000_000,
                open: c,
                high: c,
                low: c,
                close: c,
                volume: Decimal::TEN,
                trades: 1,
            }));
        }
    }
    out
}

const CLASSES: &[(&str, &str)] = &[
    (
        "trendline_break",
        "{qty: 1, lookback_periods: 20, breakout_threshold: 0.005}",
    ),
    ("rsi_tema_bb", "{qty: 1, tema_period: 3}"),
    ("ema_cross", "{qty: 1, fast: 20, slow: 50}"),
    (
        "pairs",
        "{qty: 1, y: Y/USDT, x: X/USDT, window: 100, entry_z: 2, exit_z: 0.5, max_p: 1}",
    ),
    ("xs_momentum", "{lookback: 20, top: 1, quote: 100}"),
    (
        "ensemble",
        "{qty: 1, mode: majority, regime: {kind: volatility, window: 20, lookback: 100}, members: [{class: ema_cross, params: {fast: 5, slow: 20, qty: 1}}, {class: ema_cross, params: {fast: 10, slow: 40, qty: 1}}, {class: rsi_tema_bb, regime: calm, params: {qty: 1}}]}",
    ),
];

fn strategies(c: &mut Criterion) {
    let tape = tape();
    let mut g = c.benchmark_group("strategies");
    g.throughput(Throughput::Elements(tape.len() as u64));
    g.sample_size(10);
    for (class, params) in CLASSES {
        let yaml = format!(
            "strategies:\n  - {{id: s, class: {class}, symbols: ['*'], events: [bar], params: {params}}}\n"
        );
        let defs = manager::parse(&yaml, "bench", &Registry::builtin(), &Topics::default())
            .expect("valid entry");
        g.bench_function(*class, |b| {
            b.iter(|| {
                let mut m = Manager::new(Registry::builtin(), Topics::default(), defs.clone());
                m.explain(false);
                let mut out = Vec::new();
                for ev in &tape {
                    m.on_event(ev, &mut out);
                }
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, strategies);
criterion_main!(benches);
