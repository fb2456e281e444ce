//! The audit trail's hot paths: sealing the record njord-risk writes for each intent (the
//! decision, the intent as received, what the shell read and the prices that moved), and the
//! check `njord-audit verify` runs on each line.
//!
//! Targets (issue 20): the trail costs njord-risk under 10 % of its stdio throughput, and
//! verify checks at least 1,000,000 records/s; `scripts/bench-audit.sh` measures both end to
//! end.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use njord::audit::{Field, check_line, line_parts, seal_fields};
use std::hint::black_box;

const INTENT: &str = r#"{"kind":"intent","id":"b-2","ts_ns":1767571220000000001,"strategy_id":"bench","symbol":"ATOM/USDT","side":"sell","type":"market","qty":1,"limit_price":null,"meta":{}}"#;
const DECISION: &str = r#"{"kind":"decision","intent_id":"b-2","allowed":true,"reason":null,"caps":{"notional_usd":10.8,"per_order_usd_cap":250,"pnl_day_usd":0,"ref_price":10.8,"ref_source":"last_trade","tokens_left":29},"ts_ns":1767571220000000001}"#;
const EXT: &str = r#"{"halt":"clear","pnl":null,"seen_shared":false}"#;
const PRICES: &str = r#"[{"price":"10.800","symbol":"ATOM/USDT","ts_ns":1767571220000000000}]"#;
const PREV: &str = "a419c02c6a9a47f26701b3ab09a5d0a788fbf291989028a18bbf458a92b8d3ba";

fn decision_fields() -> [(&'static str, Field<'static>); 7] {
    [
        ("intent", Field::Text(INTENT)),
        ("ext", Field::Canonical(EXT)),
        ("prices", Field::Canonical(PRICES)),
        ("event", Field::Text(DECISION)),
        ("kind", Field::Text("decision")),
        ("ts_ns", Field::Int(1_767_571_220_000_000_001)),
        ("config_hash", Field::Text("1d80d54df61764a1")),
    ]
}

fn audit(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(1));
    let mut text = Vec::new();
    g.bench_function("seal_decision_record", |b| {
        b.iter(|| {
            let mut fields = decision_fields();
            seal_fields(black_box(&mut fields), (PREV, 41), &mut text)
        })
    });
    let mut fields = decision_fields();
    let (hash, at) = seal_fields(&mut fields, (PREV, 41), &mut text);
    let line = String::from_utf8(line_parts(&text, &hash, at).concat()).unwrap();
    assert!(check_line(&line).is_some());
    g.bench_function("check_decision_record", |b| {
        b.iter(|| check_line(black_box(&line)))
    });
    g.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
