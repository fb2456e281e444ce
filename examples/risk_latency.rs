//! Intent-to-decision latency of a running `njord-risk --bus URL` over Redis.
//!
//! Publishes one trade, then intents one at a time on `strat.intent` and waits for each
//! decision on `risk.decisions`; prints percentiles as `name: value unit` lines. Intents are
//! spaced 2 s apart in event time so the default rate cap (30/min) allows every one of them
//! and the allowed path (kill-switch read, PnL read, `SET NX` of the id) is what is measured.
//!
//!     cargo run --release --example risk_latency -- redis://127.0.0.1:6379/0 10000

use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
    let count: usize = args
        .next()
        .map(|c| c.parse())
        .transpose()?
        .unwrap_or(10_000);
    let warmup = 200;
    let client = redis::Client::open(url.as_str())?;
    let mut publisher = client.get_connection()?;
    let mut sub_conn = client.get_connection()?;
    let mut sub = sub_conn.as_pubsub();
    sub.subscribe("risk.decisions")?;
    sub.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Unique ids per run, so a rerun against the same Redis is not all duplicates.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let t0: i64 = 1_767_571_200_000_000_000;
    let trade = format!(
        r#"{{"kind":"trade","venue":"bench","symbol":"LAT/USDT","trade_id":"1","price":10,"qty":1,"side":"buy","ts_ns":{t0}}}"#
    );
    redis::cmd("PUBLISH")
        .arg("md.trades.LAT/USDT")
        .arg(&trade)
        .query::<i64>(&mut publisher)?;
    let mut lat = Vec::with_capacity(count);
    let mut allowed = 0usize;
    for k in 0..warmup + count {
        let id = format!("lat-{run}-{k}");
        let ts = t0 + (k as i64 + 1) * 2_000_000_000;
        let intent = format!(
            r#"{{"kind":"intent","id":"{id}","ts_ns":{ts},"strategy_id":"bench","symbol":"LAT/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"meta":{{}}}}"#
        );
        let start = Instant::now();
        redis::cmd("PUBLISH")
            .arg("strat.intent")
            .arg(&intent)
            .query::<i64>(&mut publisher)?;
        loop {
            let msg = sub.get_message()?;
            let payload: String = msg.get_payload()?;
            if payload.contains(&format!("\"intent_id\":\"{id}\"")) {
                if k >= warmup {
                    lat.push(start.elapsed());
                    allowed += usize::from(payload.contains("\"allowed\":true"));
                }
                break;
            }
        }
    }
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    println!("risk_redis_intents: {} intents", lat.len());
    println!("risk_redis_allowed: {allowed} intents");
    println!("risk_redis_latency_p50: {:.1} us", pct(0.50));
    println!("risk_redis_latency_p99: {:.1} us", pct(0.99));
    println!("risk_redis_latency_max: {:.1} us", pct(1.0));
    Ok(())
}
