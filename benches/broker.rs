//! Building and signing one order request: client order id, parameters, HMAC-SHA256.
//! Target: ≤ 5 µs per order.

use criterion::{Criterion, criterion_group, criterion_main};
use njord::broker::BrokerOrderReq;
use njord::broker::client_id::client_order_id;
use njord::event::{OrderType, Side};
use njord::venue::binanceus::rest_client::RestClient;
use njord::venue::binanceus::sign::{Signer, signed_query};
use rust_decimal::Decimal;
use std::hint::black_box;

fn build_and_sign(signer: &Signer, intent_id: &str, ts_ms: i64) -> String {
    let req = BrokerOrderReq {
        intent_id: intent_id.to_string(),
        client_order_id: client_order_id(intent_id),
        symbol: "ATOM/USDT".into(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: Decimal::new(125, 2),
        limit_price: Some(Decimal::new(9_871, 3)),
        stop_price: None,
        time_in_force: njord::event::TimeInForce::Gtc,
        post_only: false,
        iceberg_qty: None,
    };
    let p = RestClient::order_params(&req);
    let params: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    signed_query(signer, &params, 5000, ts_ms)
}

fn bench(c: &mut Criterion) {
    let signer = Signer::new(
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    );
    let mut g = c.benchmark_group("broker");
    g.bench_function("build_and_sign_order", |b| {
        b.iter(|| {
            black_box(build_and_sign(
                &signer,
                black_box("ema-ATOMUSDT-000042"),
                black_box(1_700_000_000_000),
            ))
        })
    });
    g.bench_function("build_and_sign_order_hashed_id", |b| {
        b.iter(|| {
            black_box(build_and_sign(
                &signer,
                black_box("strategy-with-a-long-name:ATOM/USDT:000000042"),
                black_box(1_700_000_000_000),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
