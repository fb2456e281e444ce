//! The execution core's throughput (issue 17, target ≥ 1,000,000 events/s): trades through
//! `ExecEngine` with TWAP parents being worked (one arriving every 1,000 trades, 10 slices over
//! a minute, so about ten are working at any time), and with none (the cost a tape pays for the
//! core being in the path). End to end in a backtest: `scripts/bench-exec.sh`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord_core::config;
use njord_core::event::{Event, decode};
use njord_core::exec::ExecEngine;
use std::hint::black_box;

const N: usize = 200_000;
const T0: i64 = 1_767_225_600_000_000_000;

fn events(parents: bool) -> Vec<Event<'static>> {
    let mut v = Vec::with_capacity(N + N / 1000);
    for i in 0..N {
        let ts = T0 + i as i64 * 100_000_000;
        let p = 10.0 + ((i as f64) / 37.0).sin();
        v.push(
            decode(&format!(
                r#"{{"kind":"trade","symbol":"ATOM/USDT","trade_id":"{i}","price":{p:.4},"qty":1.25,"side":"buy","ts_ns":{ts}}}"#
            ))
            .unwrap()
            .into_owned(),
        );
        if parents && i % 1000 == 0 {
            v.push(
                decode(&format!(
                    r#"{{"kind":"order","intent_id":"p{i}","strategy_id":"s","venue":"v","symbol":"ATOM/USDT","side":"buy","type":"market","qty":10,"limit_price":null,"exec":{{"algo":"twap","duration":"1m","slices":10,"jitter":0.2}},"ts_accepted_ns":{ts}}}"#
                ))
                .unwrap()
                .into_owned(),
            );
        }
    }
    v
}

fn exec(c: &mut Criterion) {
    let mut g = c.benchmark_group("exec");
    for (name, parents) in [("twap_working", true), ("no_parents", false)] {
        let evs = events(parents);
        g.throughput(Throughput::Elements(evs.len() as u64));
        g.bench_function(name, |b| {
            let mut out = Vec::new();
            b.iter(|| {
                let mut e = ExecEngine::new(&config::Exec::default());
                for ev in &evs {
                    out.clear();
                    e.on_event(ev, &mut out);
                }
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, exec);
criterion_main!(benches);
