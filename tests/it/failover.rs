//! Redis Sentinel (`redis+sentinel://`): a real primary, a replica and three Sentinels on
//! loopback; the primary is killed and the daemons follow the failover.

use crate::support::{Reaper, RedisServer};
use njord::bus::{Bus, Reconnect, RedisBus};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");

fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn query<T: redis::FromRedisValue>(port: u16, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/0"))?;
    let mut c = client.get_connection_with_timeout(Duration::from_millis(500))?;
    cmd.query(&mut c)
}

/// The primary's port as Sentinel `port` names it now.
fn primary_by(sentinel: u16) -> Option<u16> {
    let addr: Vec<String> = query(
        sentinel,
        redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("mymaster"),
    )
    .ok()?;
    addr.get(1)?.parse().ok()
}

fn line(kind: &str, id: &str, ts: i64) -> String {
    match kind {
        "trade" => format!(
            r#"{{"kind":"trade","venue":"t","symbol":"ATOM/USDT","trade_id":"{id}","price":10,"qty":1,"side":"buy","ts_ns":{ts}}}"#
        ),
        _ => format!(
            r#"{{"kind":"intent","id":"{id}","ts_ns":{ts},"strategy_id":"s1","symbol":"ATOM/USDT","side":"buy","type":"market","qty":0.1,"limit_price":null,"meta":{{}}}}"#
        ),
    }
}

/// njord-risk on `redis+sentinel://`: it decides before the failover, reconnects to the
/// promoted replica after the primary is killed and decides there; the kill switch tripped
/// before the failover is still tripped after it.
#[test]
fn risk_follows_a_sentinel_failover_and_the_kill_switch_survives_it() {
    let mut primary = RedisServer::start();
    let replica = RedisServer::replica_of(primary.port);
    let sentinels: Vec<RedisServer> = (0..3)
        .map(|_| RedisServer::sentinel(primary.port))
        .collect();
    wait_until(20, "the replica in sync", || {
        query::<String>(replica.port, redis::cmd("INFO").arg("replication"))
            .is_ok_and(|i| i.contains("master_link_status:up"))
    });
    wait_until(
        20,
        "every Sentinel seeing the replica and the others",
        || {
            sentinels.iter().all(|s| {
                query::<Vec<redis::Value>>(
                    s.port,
                    redis::cmd("SENTINEL").arg("replicas").arg("mymaster"),
                )
                .is_ok_and(|r| !r.is_empty())
                    && query::<Vec<redis::Value>>(
                        s.port,
                        redis::cmd("SENTINEL").arg("sentinels").arg("mymaster"),
                    )
                    .is_ok_and(|o| o.len() == 2)
            })
        },
    );
    let hosts: Vec<String> = sentinels
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect();
    let url = format!("redis+sentinel://{}/mymaster/0", hosts.join(","));

    let dir = tempfile::tempdir().unwrap();
    let _risk = Reaper(
        Command::new(RISK)
            .current_dir(dir.path())
            .env_remove("NJORD_CONFIG")
            .env("NJORD__JOURNAL__DIR", dir.path().join("journal"))
            .env("NJORD__LOGGING__JSON_FILE", "false")
            .env("NJORD__RISK__KILL_SWITCH_FILE", dir.path().join("halt"))
            .args(["--bus", &url, "--metrics-addr", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The test's own bus follows the failover the same way.
    let mut bus = RedisBus::connect(&url, Reconnect::default()).unwrap();
    let decisions = bus.subscribe(&["risk.decisions".into()]).unwrap();
    let subscribed = |port: u16, channel: &str| {
        query::<(String, i64)>(port, redis::cmd("PUBSUB").arg("NUMSUB").arg(channel))
            .is_ok_and(|(_, n)| n >= 1)
    };
    let decide = |bus: &mut RedisBus, id: &str, ts: i64| -> Value {
        bus.publish("md.trades.ATOM/USDT", line("trade", id, ts).as_bytes())
            .unwrap();
        bus.publish("strat.intent", line("intent", id, ts + 1).as_bytes())
            .unwrap();
        loop {
            let m = decisions
                .recv_timeout(Duration::from_secs(20))
                .unwrap()
                .expect("a decision within 20 s");
            let d: Value = serde_json::from_slice(&m.payload).unwrap();
            if d["intent_id"] == id {
                return d;
            }
        }
    };
    wait_until(20, "risk subscribed on the primary", || {
        subscribed(primary.port, "strat.intent")
    });
    let ts = 1_767_571_200_000_000_000;
    assert_eq!(decide(&mut bus, "before", ts)["allowed"], true);

    // The switch is tripped and written to the replica before the primary dies.
    bus.set("njord:trading:halt", "1").unwrap();
    let replicated: i64 = query(primary.port, redis::cmd("WAIT").arg(1).arg(2000)).unwrap();
    assert_eq!(replicated, 1);

    primary.kill();
    wait_until(30, "the Sentinels promoting the replica", || {
        primary_by(sentinels[0].port) == Some(replica.port)
    });
    // Risk and the test's own subscriber both come back on the promoted replica.
    wait_until(
        30,
        "risk and the test subscribed on the new primary",
        || subscribed(replica.port, "strat.intent") && subscribed(replica.port, "risk.decisions"),
    );
    let d = decide(&mut bus, "halted", ts + 10);
    assert_eq!(
        (&d["allowed"], &d["reason"]),
        (&Value::Bool(false), &Value::from("halted")),
        "the trip survived the failover: {d}"
    );
    bus.set("njord:trading:halt", "0").unwrap();
    assert_eq!(decide(&mut bus, "after", ts + 20)["allowed"], true);
}
