//! One active broker per venue account (`broker.lease_ms`): two live brokers on one Redis
//! against the real njord-sim. Orders are counted at the venue (its request journal and
//! `allOrders`), never from the brokers' own output.

use crate::broker::{Env, Sim, order};
use crate::support::RedisServer;
use std::process::Command;
use std::time::{Duration, Instant};

const KEY: &str = "njord:broker:lease:default";

fn live_env(sim: &Sim) -> Env {
    let mut env = Env::new(Some(sim)).live();
    env.set("NJORD__BROKER__RECV_WINDOW_MS", "1000");
    env.set("NJORD__BROKER__LEASE_MS", "1500");
    env
}

fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

fn subscribers(c: &mut redis::Connection, channel: &str) -> i64 {
    let (_, n): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(c)
        .unwrap();
    n
}

fn holder(c: &mut redis::Connection) -> Option<String> {
    redis::cmd("GET").arg(KEY).query(c).unwrap()
}

fn publish(c: &mut redis::Connection, intent: &str) {
    let o = order(intent, "buy", "limit", "0.5", Some("5"));
    redis::cmd("PUBLISH")
        .arg("orders.accepted")
        .arg(o.to_string())
        .exec(c)
        .unwrap();
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The active broker is paused (`kill -STOP`) past its lease: the standby takes over within
/// the lease and a second, sends the next order once, and the old one, resumed, finds another
/// token on the lease and stops without sending the order it had read meanwhile.
#[test]
fn a_paused_broker_is_replaced_by_its_standby_and_sends_nothing_after() {
    let sim = Sim::start(&[]);
    let redis = RedisServer::start();
    let url = redis.url();
    let mut c = redis.conn();
    let (env_a, env_b) = (live_env(&sim), live_env(&sim));
    let mut a = env_a.spawn(&["--bus", &url]);
    wait_until(20, "A subscribed", || {
        subscribers(&mut c, "orders.accepted") == 1
    });
    assert!(holder(&mut c).unwrap().starts_with("1:"));
    let mut b = env_b.spawn(&["--bus", &url]);
    wait_until(20, "B waiting as a standby", || {
        env_b.written().contains("standby")
    });

    publish(&mut c, "lease-1");
    wait_until(20, "lease-1 at the venue", || {
        sim.count("POST", "/api/v3/order") == 1
    });

    signal(a.child.id(), "-STOP");
    let took = wait_until(20, "B holding the lease", || {
        holder(&mut c).is_some_and(|h| h.starts_with("2:"))
    });
    assert!(
        took <= Duration::from_millis(1500 + 1000),
        "the standby took over {took:?} after the pause: more than the lease + 1 s"
    );
    // A's subscription stays open while it is paused; B's comes once it is active.
    wait_until(20, "B subscribed", || {
        subscribers(&mut c, "orders.accepted") == 2
    });
    publish(&mut c, "lease-2");
    wait_until(20, "lease-2 at the venue", || {
        sim.count("POST", "/api/v3/order") == 2
    });

    // Resumed, A reads lease-2 (and its overdue renewal): the lease is B's, so it stops.
    signal(a.child.id(), "-CONT");
    let status = a.child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "A stops once it sees the lease is gone"
    );
    let (_, _, a_err) = a.finish();
    assert!(a_err.contains("lost"), "{a_err}");
    publish(&mut c, "lease-3");
    wait_until(20, "lease-3 at the venue", || {
        sim.count("POST", "/api/v3/order") == 3
    });

    signal(b.child.id(), "-TERM");
    let status = b.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(holder(&mut c), None, "a clean stop frees the lease");
    let all = sim.signed(
        "GET",
        "/api/v3/allOrders",
        &[("symbol", "ATOMUSDT"), ("limit", "1000")],
    );
    let mut ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["clientOrderId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["lease-1", "lease-2", "lease-3"],
        "one venue order each"
    );
    assert_eq!(
        sim.count("POST", "/api/v3/order"),
        3,
        "no order request beyond one per intent, refused or not"
    );
    let a_orders = std::fs::read_to_string(env_a.path("journal/broker.orders.ndjson")).unwrap();
    assert!(
        a_orders.contains("lease-1") && !a_orders.contains("lease-2"),
        "A wrote nothing for an order it did not send: {a_orders}"
    );
    let _ = b.finish();
}

/// A lease needs Redis and must outlast the recvWindow (usage errors, exit 2); a broker
/// killed with `kill -9` and started again on the same host and journal directory takes its
/// own lease back at once, under a new token, instead of waiting for it to expire.
#[test]
fn a_lease_needs_redis_and_a_restarted_broker_takes_its_own_back_at_once() {
    let sim = Sim::start(&[]);
    let mut env = live_env(&sim);
    let usage = |env: &Env| {
        let out = env
            .command(&["--emit-only"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = usage(&env);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("broker.lease_ms needs Redis"), "{err}");
    let redis = RedisServer::start();
    env.set("NJORD__REDIS__URL", &redis.url());
    env.set("NJORD__BROKER__LEASE_MS", "1000");
    let (code, err) = usage(&env);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("must be above broker.recv_window_ms (1000)"),
        "{err}"
    );

    env.set("NJORD__BROKER__LEASE_MS", "60000");
    let mut c = redis.conn();
    let mut first = env.spawn(&["--emit-only"]);
    wait_until(20, "the first run holding the lease", || {
        holder(&mut c).is_some_and(|h| h.starts_with("1:"))
    });
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut second = env.spawn(&["--emit-only"]);
    // Well inside the minute the killed run's lease would still last.
    wait_until(20, "the restart holding the lease", || {
        holder(&mut c).is_some_and(|h| h.starts_with("2:"))
    });
    second.send(order("own-1", "buy", "limit", "0.5", Some("5")));
    second.wait_for(20, crate::broker::is("ack", "own-1"));
    let (code, _, err) = second.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(holder(&mut c), None);
}
