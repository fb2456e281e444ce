//! End-to-end tests of the foundation binaries: njord-bus and njord-kill, config errors, and
//! events through a real Redis.

use crate::support;

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;
use support::{RedisServer, trade_line};

/// A command run inside a scratch directory, so config/ and var/ defaults stay there.
fn cmd(bin: &str, dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin(bin).unwrap();
    c.current_dir(dir).env_remove("NJORD_CONFIG");
    c
}

#[test]
fn bus_check_reports_every_bad_line_and_forwards_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let t = trade_line("ATOM/USDT", 1, "10.5", 1);
    let input = format!(
        "{t}\nnot json\n{{\"kind\":\"nope\"}}\n\n{t}\n{{\"kind\":\"trade\",\"symbol\":\"A/B\""
    );
    cmd("njord-bus", dir.path())
        .args(["check"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stdout(format!("{t}\n{t}\n"))
        .stderr(predicate::str::contains("stdin:2: not JSON"))
        .stderr(predicate::str::contains("stdin:3: unknown kind `nope`"))
        .stderr(predicate::str::contains("stdin:6: torn last line"))
        .stderr(predicate::str::contains("2 good, 3 bad"));
}

#[test]
fn bus_check_reads_gzip_journals() {
    use flate2::{Compression, write::GzEncoder};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.ndjson.gz");
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    for i in 0..3 {
        writeln!(enc, "{}", trade_line("ATOM/USDT", i, "1", i as i64)).unwrap();
    }
    std::fs::write(&p, enc.finish().unwrap()).unwrap();
    cmd("njord-bus", dir.path())
        .args(["check", "--quiet-ok"])
        .arg(&p)
        .assert()
        .success()
        .stdout("");
}

#[test]
fn config_errors_exit_2_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/base.yaml"),
        "risk:\n  orders_per_min_cap: many\n",
    )
    .unwrap();
    cmd("njord-kill", dir.path())
        .arg("status")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("config/base.yaml")
                .and(predicate::str::contains("risk.orders_per_min_cap")),
        );
    cmd("njord-bus", dir.path())
        .args(["--config", "missing.yaml", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yaml"));
}

#[test]
fn print_config_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    cmd("njord-kill", dir.path())
        .args(["--print-config", "status"])
        .env("NJORD_BINANCEUS_API_SECRET", "hunter2-very-secret")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("<redacted>").and(predicate::str::contains("hunter2").not()),
        );
}

#[test]
fn kill_switch_file_trip_status_clear() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("halt");
    let run = |args: &[&str]| {
        cmd("njord-kill", dir.path())
            .arg("--file")
            .arg(&f)
            .args(args)
            .assert()
    };
    run(&["status"])
        .code(0)
        .stdout(predicate::str::contains("clear"));
    run(&["trip", "--reason", "fat finger"]).success();
    let record = std::fs::read_to_string(&f).unwrap();
    assert!(
        record.contains("fat finger") && record.contains("tripped_at") && record.contains("by"),
        "{record}"
    );
    run(&["status"])
        .code(1)
        .stdout(predicate::str::contains("tripped"));
    run(&["clear"]).success();
    run(&["status"]).code(0);
}

#[test]
fn kill_switch_redis_and_redis_down() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("halt");
    let url = redis.url();
    let run = |args: &[&str]| {
        cmd("njord-kill", dir.path())
            .arg("--file")
            .arg(&f)
            .arg("--redis")
            .arg(&url)
            .args(args)
            .assert()
    };
    run(&["status"]).code(0);
    run(&["trip"]).success();
    let v: Option<String> = redis::cmd("GET")
        .arg("njord:trading:halt")
        .query(&mut redis.conn())
        .unwrap();
    assert_eq!(v.as_deref(), Some("1"));
    // The key alone is enough to halt.
    std::fs::remove_file(&f).unwrap();
    run(&["status"])
        .code(1)
        .stdout(predicate::str::contains("redis").and(predicate::str::contains("tripped")));
    run(&["clear"]).success();
    run(&["status"]).code(0);
    redis.kill();
    run(&["status"])
        .code(2)
        .stdout(predicate::str::contains("unreadable"));
}

#[test]
fn redis_round_trip_with_pattern_subscription() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let sub = std::process::Command::new(env!("CARGO_BIN_EXE_njord-bus"))
        .current_dir(dir.path())
        .args([
            "sub",
            "--redis",
            &redis.url(),
            "--count",
            "3",
            "md.trades.*",
            "risk.decisions",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let a = trade_line("ATOM/USDT", 1, "10.25", 1);
    let b = trade_line("BTC/USD", 2, "0.1", 2);
    let decision = r#"{"kind":"decision","intent_id":"i1","allowed":false,"reason":"halted","caps":{},"ts_ns":3}"#;
    let book = r#"{"kind":"book","symbol":"ATOM/USDT","bids":[[1,2]],"asks":[[3,4]],"ts_ns":4}"#;
    let input = format!("{a}\n{book}\n{b}\n{decision}\n");
    wait_for_subscribers(&redis, "risk.decisions", 1);
    cmd("njord-bus", dir.path())
        .args(["pub", "--redis", &redis.url()])
        .write_stdin(input)
        .assert()
        .success();
    let out = sub.wait_with_output().unwrap();
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        got,
        vec![a, b, decision.to_string()],
        "the book is on md.book.*, not subscribed"
    );
}

#[test]
fn redis_unreachable_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis://127.0.0.1:{}/0", support::free_port());
    cmd("njord-bus", dir.path())
        .args(["pub", "--redis", &url])
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(url.as_str())
                .and(predicate::str::contains("redis-server running")),
        );
}

#[test]
fn structured_log_is_json_lines_with_iso_time() {
    let dir = tempfile::tempdir().unwrap();
    let t = trade_line("ATOM/USDT", 1, "1", 1);
    let redis = RedisServer::start();
    cmd("njord-bus", dir.path())
        .args(["pub", "--redis", &redis.url()])
        .env("NJORD__LOGGING__LOG_DIR", dir.path().join("logs"))
        .write_stdin(format!("{t}\n"))
        .assert()
        .success();
    let log = std::fs::read_to_string(dir.path().join("logs/app.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    for key in ["timestamp", "level", "target", "message"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert!(
        first["timestamp"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );
}

#[test]
fn sub_prints_python_payloads_in_canonical_form() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let sub = std::process::Command::new(env!("CARGO_BIN_EXE_njord-bus"))
        .current_dir(dir.path())
        .args([
            "-q",
            "sub",
            "--redis",
            &redis.url(),
            "--count",
            "1",
            "md.trades.*",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let legacy = r#"{"ts_local_ns":1700000000123456789,"ts_exchange_ms":1700000000100,"symbol":"ATOM/USDT","side":"sell","qty":2.5,"price":9.87,"agg_id":"77"}"#;
    let mut conn = redis.conn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let patterns: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut conn).unwrap();
        if patterns > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _: i64 = redis::cmd("PUBLISH")
        .arg("md.trades.ATOM/USDT")
        .arg(legacy)
        .query(&mut conn)
        .unwrap();
    let out = sub.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"kind\":\"trade\",\"venue\":\"\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"77\",\"price\":9.87,\"qty\":2.5,\"side\":\"sell\",\"ts_ns\":1700000000100000000,\"ts_local_ns\":1700000000123456789}\n"
    );
}

/// Waits until `n` clients subscribe to `channel` (subscriptions are asynchronous).
fn wait_for_subscribers(redis: &RedisServer, channel: &str, n: i64) {
    let mut conn = redis.conn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query(&mut conn)
            .unwrap();
        if count >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nobody subscribed to {channel}");
}

#[test]
fn redis_subscription_survives_a_server_restart() {
    use njord::bus::{Bus, Reconnect, RedisBus};
    let mut redis = RedisServer::start();
    let port = redis.port;
    let fast = Reconnect {
        base: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    let mut bus = RedisBus::connect(&redis.url(), fast).unwrap();
    let sub = bus.subscribe(&["md.trades.*".to_string()]).unwrap();
    bus.publish("md.trades.A/B", b"one").unwrap();
    assert_eq!(
        sub.recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .payload,
        b"one"
    );
    redis.kill();
    let redis = RedisServer::start_on(port);
    // The subscriber reconnects by itself; publish until it is back.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut got = None;
    while got.is_none() && std::time::Instant::now() < deadline {
        bus.publish("md.trades.A/B", b"two").unwrap();
        got = sub.recv_timeout(Duration::from_millis(100)).unwrap();
    }
    assert_eq!(got.expect("resubscribed after restart").payload, b"two");
    drop(redis);
}

#[test]
fn a_stage_ends_cleanly_on_sigterm_after_flushing() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut stage = std::process::Command::new(env!("CARGO_BIN_EXE_njord-risk"))
        .current_dir(dir.path())
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = stage.stdin.take().unwrap();
    let trade = trade_line("ATOM/USDT", 1, "10", 1);
    let intent = r#"{"kind":"intent","id":"i1","ts_ns":2,"strategy_id":"s","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"meta":{}}"#;
    writeln!(stdin, "{trade}\n{intent}").unwrap();
    stdin.flush().unwrap();
    // stdin stays open: the stage is waiting for more when the signal comes.
    let mut out = BufReader::new(stage.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l);
    }
    assert!(
        lines[2].contains("\"kind\":\"decision\"") && lines[3].contains("\"kind\":\"order\""),
        "{lines:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &stage.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = stage.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit");
    drop(stdin);
}
