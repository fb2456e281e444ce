//! Capital safety under faults (docs/controls.md): the live broker against the real
//! `njord-sim`, with bad prices, a failing ticker, `kill -9` mid-burst, a second host, rate
//! limits and Redis restarts. Orders are counted at the venue (its own `allOrders`).

use crate::broker::{Env, Sim, is, kind, order, orders_with_client_id, settled};
use crate::support::{RedisServer, free_port};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KILL: &str = env!("CARGO_BIN_EXE_njord-kill");

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn trade(price: &str, ts_ns: i64) -> Value {
    json!({"kind": "trade", "venue": "binanceus", "symbol": "ATOM/USDT", "trade_id": "1",
           "price": price, "qty": "1", "side": "buy", "ts_ns": ts_ns})
}

fn dec(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// An event's decimal, written as a JSON number or string.
fn number(v: &Value) -> f64 {
    v.as_f64().or_else(|| v.as_str()?.parse().ok()).unwrap()
}

/// The venue's best bid and ask.
fn book(sim: &Sim) -> (f64, f64) {
    let (_, body) = sim.http(
        "GET",
        "/api/v3/ticker/bookTicker?symbol=ATOMUSDT",
        "",
        false,
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    (dec(&v["bidPrice"]), dec(&v["askPrice"]))
}

fn all_orders(sim: &Sim) -> Vec<Value> {
    let v = sim.signed(
        "GET",
        "/api/v3/allOrders",
        &[("symbol", "ATOMUSDT"), ("limit", "1000")],
    );
    v.as_array().unwrap().clone()
}

/// A live broker env whose resend window is short (recvWindow 1 s + 1 s).
fn live_env(sim: &Sim) -> Env {
    let mut env = Env::new(Some(sim)).live();
    env.set("NJORD__BROKER__RECV_WINDOW_MS", "1000");
    env
}

/// `njord-kill ARGS --file DIR/halt`, run in `dir`.
fn kill_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(KILL)
        .current_dir(dir)
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args(args)
        .arg("--file")
        .arg(dir.join("halt"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn kill_cmd(env: &Env, args: &[&str]) -> std::process::Output {
    kill_in(&env.path(""), args)
}

#[test]
fn bad_or_missing_prices_never_pass_the_live_cap() {
    let sim = Sim::start(&[]);
    let env = live_env(&sim);
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    let (bid, ask) = book(&sim);
    assert!(bid > 1.0 && ask >= bid, "{bid} {ask}");
    let reason = |b: &mut crate::broker::Broker, id: &'static str| {
        b.wait_for(20, is("decision", id))["reason"].clone()
    };

    // One bad trade line (0.01 while the market is near 10): a market buy of 900 once filled
    // for 9,000 USD. Now the venue's quote refutes it.
    b.send(trade("0.01", now_ns()));
    b.send(order("bad-1", "buy", "market", "900", None));
    assert_eq!(reason(&mut b, "bad-1"), "ref_price_deviation");
    // A half-price trade gave 1.9 times the cap.
    b.send(trade(&format!("{:.4}", bid / 2.0), now_ns()));
    b.send(order("bad-2", "buy", "market", "1.9", None));
    assert_eq!(reason(&mut b, "bad-2"), "ref_price_deviation");
    // An old trade at the market price: stale.
    b.send(trade(&format!("{bid:.4}"), now_ns() - 10_000_000_000));
    b.send(order("bad-3", "buy", "market", "0.5", None));
    assert_eq!(reason(&mut b, "bad-3"), "ref_price_stale");

    // A market buy at the cap by the ask alone: denied, the slippage allowance counts too.
    b.send(trade(&format!("{:.4}", (bid + ask) / 2.0), now_ns()));
    let at_cap = format!("{:.2}", (10.0 / ask * 100.0).ceil() / 100.0);
    b.send(order("cap-1", "buy", "market", &at_cap, None));
    assert_eq!(reason(&mut b, "cap-1"), "live_micro_cap");
    // Under it: sent as a limit IOC at ask + 50 bps, so the order itself holds the cap.
    let under = format!("{:.2}", (9.9 / ask * 100.0).floor() / 100.0);
    b.send(order("cap-2", "buy", "market", &under, None));
    b.wait_for(20, is("ack", "cap-2"));

    // No input trade worth trusting and the venue ticker failing: a sell limit of 100 at
    // 0.05 once counted as 5 USD and filled for 999.30 USD. Now nothing is sent.
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/ticker/bookTicker", "status": 500, "count": 1000}));
    b.send(order("bad-4", "sell", "limit", "100", Some("0.05")));
    assert_eq!(reason(&mut b, "bad-4"), "no_ref_price");
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");

    let orders = all_orders(&sim);
    assert_eq!(orders.len(), 1, "only cap-2 reached the venue: {orders:?}");
    let o = &orders[0];
    assert_eq!(
        (o["clientOrderId"].as_str(), o["type"].as_str()),
        (Some("cap-2"), Some("LIMIT"))
    );
    assert_eq!(o["timeInForce"], "IOC");
    for o in &orders {
        let bound = dec(&o["price"]) * dec(&o["origQty"]);
        let spent = dec(&o["cummulativeQuoteQty"]);
        assert!(
            bound <= 10.0 && spent <= 10.0,
            "over the cap at the venue: {o}"
        );
    }
}

/// Sends the same 100 intents to a broker that is `kill -9`ed mid-burst, 5 rounds,
/// then once more to the end: the venue holds one order per intent.
#[test]
fn kill_during_a_burst_never_places_an_intent_twice() {
    let sim = Sim::start(&[]);
    // 20 ms per order at the venue: the kill lands mid-burst, with orders in flight.
    sim.fault(json!({"fault": "delay", "path": "/api/v3/order", "ms": 20}));
    let env = live_env(&sim);
    let ids: Vec<String> = (0..100).map(|i| format!("burst-{i}")).collect();
    let mut before = 0;
    for round in 0..6 {
        let mut b = env.spawn(&["--emit-only"]);
        for id in &ids {
            b.send(order(id, "buy", "limit", "0.5", Some("5")));
        }
        if round == 5 {
            let (code, _, stderr) = b.finish();
            assert_eq!(code, 0, "{stderr}");
            break;
        }
        // Killed at a different point each round: after 10, 12, … 18 order requests of this
        // run reached the venue (its output comes per input batch, so the venue is the clock).
        let want = before + 10 + 2 * round;
        let deadline = Instant::now() + Duration::from_secs(30);
        while sim.count("POST", "/api/v3/order") < want {
            assert!(Instant::now() < deadline, "round {round}: stalled");
            std::thread::sleep(Duration::from_millis(5));
        }
        b.child.kill().unwrap();
        b.child.wait().unwrap();
        before = sim.count("POST", "/api/v3/order");
    }
    let orders = all_orders(&sim);
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for o in &orders {
        *per_id
            .entry(o["clientOrderId"].as_str().unwrap())
            .or_default() += 1;
    }
    assert_eq!(orders.len(), ids.len(), "venue orders = distinct intents");
    assert!(
        ids.iter().all(|id| per_id.get(id.as_str()) == Some(&1)),
        "{per_id:?}"
    );
}

#[test]
fn a_second_broker_with_its_own_journal_places_nothing_twice() {
    let sim = Sim::start(&[]);
    let ids: Vec<String> = (0..20).map(|i| format!("host-{i}")).collect();
    // Market orders: filled, so the venue itself would take their client ids again.
    for host in ["a", "b"] {
        let env = live_env(&sim);
        let mut b = env.spawn(&["--emit-only"]);
        b.wait_for(20, kind("balance"));
        for id in &ids {
            b.send(order(id, "buy", "market", "0.3", None));
        }
        let (code, events, stderr) = b.finish();
        assert_eq!(code, 0, "{host}: {stderr}");
        let acks = events.iter().filter(|e| e["kind"] == "ack").count();
        assert_eq!(acks, if host == "a" { 20 } else { 0 }, "{host}: {events:?}");
    }
    let orders = all_orders(&sim);
    assert_eq!(orders.len(), 20, "two brokers, 20 intents: 20 venue orders");
    assert!(orders.iter().all(|o| o["status"] == "FILLED"), "{orders:?}");
}

#[test]
fn a_trip_during_a_rate_limit_wait_sends_nothing() {
    let sim = Sim::start(&[]);
    let env = live_env(&sim);
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    // A 429 with Retry-After: 60. The order waits; the switch trips during the wait.
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/order", "status": 429, "count": 1}));
    b.send(order("rl-1", "buy", "limit", "0.5", Some("5")));
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.count("POST", "/api/v3/order") < 1 {
        assert!(Instant::now() < deadline, "the order never went out");
        std::thread::sleep(Duration::from_millis(20));
    }
    let tripped = Instant::now();
    assert!(kill_cmd(&env, &["trip"]).status.success());
    let d = b.wait_for(20, is("decision", "rl-1"));
    assert_eq!(d["reason"], "halted");
    assert!(
        tripped.elapsed() < Duration::from_secs(5),
        "dropped during the wait, not after it: {:?}",
        tripped.elapsed()
    );
    assert_eq!(b.wait_for(20, settled("rl-1"))["status"], "rejected");

    // A 5xx before acceptance: unknown; tripped before the resend window ends: never resent.
    assert!(kill_cmd(&env, &["clear"]).status.success());
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/order", "status": 503, "count": 1}));
    b.send(order("rl-2", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, |v| {
        is("order_update", "rl-2")(v) && v["status"] == "unknown"
    });
    assert!(kill_cmd(&env, &["trip"]).status.success());
    assert_eq!(b.wait_for(20, is("decision", "rl-2"))["reason"], "halted");
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sim.count("POST", "/api/v3/order"),
        2,
        "one send each, no resend"
    );
    assert!(orders_with_client_id(&sim, "rl-1").is_empty());
    assert!(orders_with_client_id(&sim, "rl-2").is_empty());
}

#[test]
fn a_redis_restart_keeps_a_trip() {
    let sim = Sim::start(&[]);
    let mut redis = RedisServer::start();
    let port = redis.port;
    let mut env = live_env(&sim);
    env.set("NJORD__REDIS__URL", &redis.url());
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    let set = |r: &RedisServer, v: &str| {
        redis::cmd("SET")
            .arg("njord:trading:halt")
            .arg(v)
            .exec(&mut r.conn())
            .unwrap()
    };
    // Values that only look like "clear" trip.
    set(&redis, "true");
    b.send(order("rr-0", "buy", "limit", "0.5", Some("5")));
    assert_eq!(b.wait_for(20, is("decision", "rr-0"))["reason"], "halted");
    set(&redis, "1");
    redis.kill();
    let redis = RedisServer::start_on(port);
    // 50 intents after Redis came back empty: every one halted.
    for i in 0..50 {
        b.send(order(
            &format!("rr-{}", i + 1),
            "buy",
            "limit",
            "0.5",
            Some("5"),
        ));
    }
    let d = b.wait_for(20, is("decision", "rr-50"));
    assert_eq!(d["reason"], "halted", "{d}");
    let halted = b
        .seen
        .iter()
        .filter(|e| e["kind"] == "decision" && e["reason"] == "halted")
        .count();
    assert_eq!(halted, 51);
    // `njord-kill clear` sets "0": allowed again.
    assert!(
        kill_cmd(&env, &["clear", "--redis", &redis.url()])
            .status
            .success()
    );
    b.send(order("rr-51", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, is("ack", "rr-51"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(all_orders(&sim).len(), 1);
}

#[test]
fn cancel_open_cancels_on_a_trip() {
    let sim = Sim::start(&[]);
    let mut env = live_env(&sim);
    env.set("NJORD__KILL__CANCEL_OPEN", "true");
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    for id in ["co-1", "co-2", "co-3"] {
        b.send(order(id, "buy", "limit", "0.5", Some("5")));
        b.wait_for(20, is("ack", id));
    }
    assert!(kill_cmd(&env, &["trip"]).status.success());
    for id in ["co-1", "co-2", "co-3"] {
        b.wait_for(20, |v| settled(id)(v) && v["status"] == "canceled");
    }
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let open = sim.signed("GET", "/api/v3/openOrders", &[("symbol", "ATOMUSDT")]);
    assert_eq!(open, json!([]));
}

#[test]
fn a_partial_clear_says_what_was_not_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let halt = dir.path().join("halt");
    let run = |args: &[&str]| kill_in(dir.path(), args);
    assert!(run(&["trip"]).status.success());
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    let out = run(&["clear", "--redis", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!halt.exists(), "the file is cleared");
    assert!(
        stderr.contains(&format!("NOT clear: redis {url}")) && stderr.contains("stays halted"),
        "{stderr}"
    );
}

/// Live, nothing but the broker sees the venue's fills, so it books them: a losing round trip
/// at the venue shows as a `position` with the day's loss and in `njord:pnl:day` (no paper
/// trader running), the loss survives a broker restart, and risk trips the kill switch on
/// it so the next order never reaches the venue.
#[test]
fn a_live_loss_at_the_venue_trips_the_kill_switch_without_a_paper_trader() {
    let sim = Sim::start(&[]);
    let redis = RedisServer::start();
    let mut env = live_env(&sim);
    env.set("NJORD__REDIS__URL", &redis.url());
    let usdt = |acct: &Value, asset: &str| {
        acct["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == asset)
            .map_or(0.0, |b| dec(&b["free"]) + dec(&b["locked"]))
    };
    let before = sim.signed("GET", "/api/v3/account", &[]);
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    let (bid, ask) = book(&sim);
    b.send(trade(&format!("{:.4}", (bid + ask) / 2.0), now_ns()));
    b.send(order("loss-1", "buy", "market", "0.5", None));
    let bought = b.wait_for(20, is("fill", "loss-1"));
    b.send(order("loss-2", "sell", "market", "0.5", None));
    let flat = b.wait_for(20, |v| v["kind"] == "position" && v["qty"] == 0);
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.iter().filter(|e| e["kind"] == "position").count(), 2);

    // The day's PnL is the venue's own: the quote spent and received, and the base-asset
    // fee valued at the buy price, for a position that is flat again.
    let after = sim.signed("GET", "/api/v3/account", &[]);
    let venue_pnl = usdt(&after, "USDT") - usdt(&before, "USDT")
        + (usdt(&after, "ATOM") - usdt(&before, "ATOM")) * number(&bought["price"]);
    let day = number(&flat["realized_pnl_day"]);
    assert!(
        day < 0.0,
        "a round trip pays the spread and two fees: {flat}"
    );
    assert!(
        (day - venue_pnl).abs() < 1e-9,
        "{day} vs the venue's {venue_pnl}"
    );
    let mut c = redis.conn();
    let shared: String = redis::cmd("GET")
        .arg("njord:pnl:day")
        .query(&mut c)
        .unwrap();
    assert_eq!(shared.parse::<f64>().unwrap(), day);

    // Restarted, the broker still counts the day's loss: the next fill adds to it.
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    b.send(trade(&format!("{:.4}", (bid + ask) / 2.0), now_ns()));
    b.send(order("loss-3", "buy", "market", "0.5", None));
    let again = b.wait_for(20, |v| v["kind"] == "position" && v["qty"] != 0);
    let day2 = number(&again["realized_pnl_day"]);
    assert!(
        day2 < day,
        "the buy's fee adds to the earlier loss: {again}"
    );

    // Risk on the same Redis, its loss cap below the day's loss: the intent is denied and the
    // switch trips, so the broker refuses the next order and the venue holds three orders.
    let ts = again["ts_ns"].as_i64().unwrap();
    let input = format!(
        "{}\n{}\n",
        trade(&format!("{:.4}", (bid + ask) / 2.0), ts),
        json!({"kind": "intent", "id": "loss-4", "ts_ns": ts + 1, "strategy_id": "s1",
               "symbol": "ATOM/USDT", "side": "buy", "type": "market", "qty": 0.5,
               "limit_price": null, "meta": {}})
    );
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_njord-risk"))
        .current_dir(env.path(""))
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", env.path("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", env.path("halt"))
        .env("NJORD__RISK__DAILY_LOSS_USD_CAP", "0.001")
        .env("NJORD__RISK__TRIP_ON_DAILY_LOSS", "true")
        .args(["--emit-only", "--redis", &redis.url()])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#""reason":"daily_loss_usd_cap""#),
        "{stdout}"
    );
    assert!(env.path("halt").exists(), "the loss tripped the kill file");
    b.send(order("loss-4", "buy", "market", "0.5", None));
    assert_eq!(b.wait_for(20, is("decision", "loss-4"))["reason"], "halted");
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(all_orders(&sim).len(), 3);
}
