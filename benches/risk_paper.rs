//! Criterion benchmarks of the risk and paper cores (no I/O): a trade, an intent, a trade
//! against a book of resting orders, and a FIFO position update. The end-to-end stdio and
//! Redis figures come from `scripts/bench-risk-paper.sh`.

use criterion::{Criterion, criterion_group, criterion_main};
use njord::event::{Event, Side, decode};
use njord::paper::position::PositionState;
use njord::paper::{PaperConfig, PaperEngine};
use njord::risk::{Caps, External, RiskEngine, RiskSettings};
use rust_decimal::Decimal;
use std::hint::black_box;

const TRADE: &str = r#"{"kind":"trade","venue":"bench","symbol":"ATOM/USDT","trade_id":"1","price":10.123,"qty":1.25,"side":"buy","ts_ns":1767571200000000000}"#;

fn risk(c: &mut Criterion) {
    let mut e = RiskEngine::new(
        Caps {
            per_order_usd_cap: Decimal::from(250),
            daily_loss_usd_cap: Decimal::from(300),
            orders_per_min_cap: u32::MAX,
            max_ref_age_ns: i64::MAX,
        },
        RiskSettings {
            venue: "bench".into(),
            dedup_window: 100_000,
            explain: true,
        },
    );
    let ext = External::default();
    let mut out = Vec::new();
    c.bench_function("risk_decode_and_trade", |b| {
        b.iter(|| {
            let ev = decode(black_box(TRADE)).unwrap();
            e.on_event(&ev, &ext, &mut out);
        })
    });
    let mut n = 0u64;
    c.bench_function("risk_intent_allowed", |b| {
        b.iter(|| {
            n += 1;
            let line = format!(
                r#"{{"kind":"intent","id":"i{n}","ts_ns":1767571200000000000,"strategy_id":"s","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"meta":{{}}}}"#
            );
            let ev = decode(&line).unwrap();
            out.clear();
            e.on_event(&ev, &ext, &mut out);
            black_box(&out);
        })
    });
}

fn paper(c: &mut Criterion) {
    let mut e = PaperEngine::new(PaperConfig {
        maker_fee_bps: Decimal::from(10),
        taker_fee_bps: Decimal::from(10),
        partial_fills: false,
        max_open_orders: usize::MAX,
    });
    let mut out = Vec::new();
    e.on_event(&decode(TRADE).unwrap(), &mut out);
    // A book of resting bids far below the tape: every trade checks, none fills.
    for k in 0..1000 {
        let o = format!(
            r#"{{"kind":"order","intent_id":"o{k}","strategy_id":"s","venue":"v","symbol":"ATOM/USDT","side":"buy","type":"limit","qty":1,"limit_price":{},"ts_accepted_ns":1}}"#,
            5 + k % 100
        );
        let o: Event = decode(&o).unwrap();
        e.on_event(&o, &mut out);
    }
    c.bench_function("paper_decode_and_trade_with_book", |b| {
        b.iter(|| {
            let ev = decode(black_box(TRADE)).unwrap();
            e.on_event(&ev, &mut out);
        })
    });
    c.bench_function("position_fifo_round_trip", |b| {
        let mut p = PositionState::default();
        let (q, px) = (Decimal::from(3), Decimal::new(10123, 3));
        b.iter(|| {
            p.apply(Side::Buy, q, px, Decimal::ZERO, 0);
            p.apply(Side::Sell, q, px, Decimal::ZERO, 0);
            black_box(p.qty())
        })
    });
}

criterion_group!(benches, risk, paper);
criterion_main!(benches);
