//! End to end: `njord-risk` and `njord-paper` on pipes and on a real Redis.
//!
//! Redis tests start their own `redis-server` on a free loopback port; a missing server fails
//! the test (DESIGN §10).

use crate::support;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Reaper, RedisServer, free_port};

const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const PAPER: &str = env!("CARGO_BIN_EXE_njord-paper");
const KILL: &str = env!("CARGO_BIN_EXE_njord-kill");

/// 2026-01-05T00:00:00Z
const T0: i64 = 1_767_571_200_000_000_000;
const SEC: i64 = 1_000_000_000;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A stage command run in `dir` with journals, logs and the kill file under it.
fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"));
    c
}

fn std_cmd(bin: &str, dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"));
    c
}

fn trade(sym: &str, price: &str, qty: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"t","symbol":"{sym}","trade_id":"{ts}","price":{price},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
    )
}

fn intent(id: &str, side: &str, ty: &str, qty: &str, limit: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"intent","id":"{id}","ts_ns":{ts},"strategy_id":"s1","symbol":"ATOM/USDT","side":"{side}","type":"{ty}","qty":{qty},"limit_price":{limit},"meta":{{}}}}"#
    )
}

fn order(id: &str, side: &str, ty: &str, qty: &str, limit: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"{side}","type":"{ty}","qty":{qty},"limit_price":{limit},"ts_accepted_ns":{ts}}}"#
    )
}

fn lines(input: &[String]) -> String {
    input.iter().map(|l| format!("{l}\n")).collect()
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn of_kind<'a>(evs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["kind"] == kind).collect()
}

/// Compares with a golden file; `NJORD_UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, got: &[u8]) {
    let path = golden_dir().join(name);
    if std::env::var_os("NJORD_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (NJORD_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        want == got,
        "{name} differs from the golden file:\n--- want\n{}\n--- got\n{}",
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(got)
    );
}

fn run_paper(dir: &Path, input: &[String], args: &[&str]) -> Vec<u8> {
    let out = cmd(PAPER, dir)
        .args(args)
        .arg("--emit-only")
        .write_stdin(lines(input))
        .assert()
        .success();
    out.get_output().stdout.clone()
}

fn last_position(out: &[u8]) -> Value {
    let evs = json_lines(out);
    (*of_kind(&evs, "position").last().expect("a position")).clone()
}

#[test]
fn fifo_example_one_golden() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        trade("ATOM/USDT", "10", "5", T0),
        order("a", "buy", "market", "1", "null", T0 + 1),
        trade("ATOM/USDT", "12", "5", T0 + SEC),
        order("b", "buy", "market", "1", "null", T0 + SEC + 1),
        trade("ATOM/USDT", "13", "5", T0 + 2 * SEC),
        order("c", "sell", "market", "1", "null", T0 + 2 * SEC + 1),
    ];
    let out = run_paper(dir.path(), &input, &[]);
    let p = last_position(&out);
    assert_eq!(
        (
            p["qty"].to_string(),
            p["avg_price"].to_string(),
            p["realized_pnl"].to_string()
        ),
        ("1".into(), "12".into(), "3".into())
    );
    golden("paper_fifo_example_1.jsonl", &out);
}

#[test]
fn fifo_example_two_golden() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        trade("ATOM/USDT", "10", "5", T0),
        order("a", "buy", "market", "4", "null", T0 + 1),
        trade("ATOM/USDT", "11", "5", T0 + SEC),
        order("b", "sell", "market", "1", "null", T0 + SEC + 1),
        trade("ATOM/USDT", "9", "5", T0 + 2 * SEC),
        order("c", "sell", "market", "5", "null", T0 + 2 * SEC + 1),
    ];
    let out = run_paper(dir.path(), &input, &[]);
    let p = last_position(&out);
    assert_eq!(
        (
            p["qty"].to_string(),
            p["avg_price"].to_string(),
            p["realized_pnl"].to_string()
        ),
        ("-2".into(), "9".into(), "-2".into())
    );
    // Fees: 10 bps taker on 40 + 11 + 45 = 0.096, exact.
    assert_eq!(p["fees"].to_string(), "0.096");
    assert_eq!(p["realized_pnl_day"].to_string(), "-2.096");
    golden("paper_fifo_example_2.jsonl", &out);
}

#[test]
fn resting_limits_partial_fills_and_cancel_golden() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        trade("ATOM/USDT", "10", "1", T0),
        order("b1", "buy", "limit", "2", "9.5", T0 + 1),
        order("b2", "buy", "limit", "1", "9.8", T0 + 2),
        order("s1", "sell", "limit", "1", "11", T0 + 3),
        r#"{"kind":"cancel","intent_id":"s1","ts_ns":1767571200000000004}"#.to_string(),
        trade("ATOM/USDT", "9.9", "1", T0 + SEC),
        trade("ATOM/USDT", "9.5", "1.5", T0 + 2 * SEC),
        trade("ATOM/USDT", "12", "1", T0 + 3 * SEC),
        trade("ATOM/USDT", "9.4", "3", T0 + 4 * SEC),
    ];
    let out = run_paper(dir.path(), &input, &["--partial-fills", "--summary"]);
    let evs = json_lines(&out);
    let fills: Vec<_> = of_kind(&evs, "fill")
        .iter()
        .map(|f| {
            (
                f["intent_id"].as_str().unwrap().to_string(),
                f["qty"].to_string(),
                f["price"].to_string(),
                f["liquidity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let f = |i: &str, q: &str, p: &str| {
        (
            i.to_string(),
            q.to_string(),
            p.to_string(),
            "maker".to_string(),
        )
    };
    assert_eq!(
        fills,
        vec![
            f("b2", "1", "9.8",),
            f("b1", "0.5", "9.5"),
            f("b1", "1.5", "9.5")
        ]
    );
    assert_eq!(
        of_kind(&evs, "position").len(),
        3,
        "one position after every fill"
    );
    golden("paper_resting_partial.jsonl", &out);
    // Journals: fills and positions per symbol, orders and cancels for --resume.
    let j = dir.path().join("journal");
    assert_eq!(
        std::fs::read_to_string(j.join("fills.ATOMUSDT.ndjson"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    assert_eq!(
        std::fs::read_to_string(j.join("positions.ATOMUSDT.ndjson"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    assert_eq!(
        std::fs::read_to_string(j.join("paper.orders.ndjson"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn summary_on_stderr_and_resume_from_journals() {
    let dir = tempfile::tempdir().unwrap();
    let first = [
        trade("ATOM/USDT", "10", "1", T0),
        order("a", "buy", "market", "2", "null", T0 + 1),
        order("r", "sell", "limit", "3", "11", T0 + 2),
    ];
    cmd(PAPER, dir.path())
        .args(["--summary", "--emit-only"])
        .write_stdin(lines(&first))
        .assert()
        .success()
        .stderr(
            predicate::str::contains("orders resting: 1")
                .and(predicate::str::contains("ATOM/USDT")),
        );
    // A restart with --resume still has the position and the resting sell.
    let out = cmd(PAPER, dir.path())
        .args(["--resume", "--emit-only", "--summary"])
        .write_stdin(lines(&[trade("ATOM/USDT", "11", "9", T0 + SEC)]))
        .assert()
        .success()
        .stderr(predicate::str::contains("orders resting: 0"))
        .get_output()
        .stdout
        .clone();
    let p = last_position(&out);
    assert_eq!(
        (
            p["qty"].to_string(),
            p["avg_price"].to_string(),
            p["realized_pnl"].to_string()
        ),
        ("-1".into(), "11".into(), "2".into())
    );
}

fn run_pipeline(tape: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let risk = cmd(RISK, dir.path())
        .write_stdin(tape.to_vec())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    cmd(PAPER, dir.path())
        .arg("--emit-only")
        .write_stdin(risk)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn risk_into_paper_pipeline_is_byte_identical_and_golden() {
    let tape =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo_intents.ndjson"))
            .unwrap();
    let a = run_pipeline(&tape);
    let b = run_pipeline(&tape);
    assert!(a == b, "two runs differ");
    let evs = json_lines(&a);
    assert!(of_kind(&evs, "fill").len() >= 10);
    golden("demo_pipeline.jsonl", &a);
}

#[test]
fn risk_forwards_every_line_and_emits_after_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        trade("ATOM/USDT", "10", "1", T0),
        intent("i1", "buy", "market", "1", "null", T0 + 1),
        intent("i2", "buy", "market", "0", "null", T0 + 2),
    ];
    let out = cmd(RISK, dir.path())
        .write_stdin(lines(&input))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), 6);
    assert_eq!(got[0], input[0]);
    assert_eq!(got[1], input[1]);
    assert!(
        got[2].starts_with(r#"{"kind":"decision","intent_id":"i1","allowed":true"#),
        "{}",
        got[2]
    );
    assert!(
        got[3].starts_with(r#"{"kind":"order","intent_id":"i1""#),
        "{}",
        got[3]
    );
    assert_eq!(got[4], input[2]);
    assert!(got[5].contains(r#""reason":"invalid_intent""#));
    let journal =
        std::fs::read_to_string(dir.path().join("journal/risk.decisions.ndjson")).unwrap();
    assert_eq!(journal.lines().count(), 2, "every decision is journaled");
}

/// Decisions (intent_id, reason) for `input` with extra env settings.
fn decisions(input: &[String], env: &[(&str, &str)]) -> Vec<(String, Option<String>, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cmd(RISK, dir.path());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .arg("--emit-only")
        .write_stdin(lines(input))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_lines(&out)
        .into_iter()
        .filter(|e| e["kind"] == "decision")
        .map(|d| {
            (
                d["intent_id"].as_str().unwrap().to_string(),
                d["reason"].as_str().map(str::to_string),
                d["caps"].clone(),
            )
        })
        .collect()
}

#[test]
fn bad_intents_are_denied_and_bad_lines_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        trade("ATOM/USDT", "10", "1", T0),
        "this is not json".to_string(),
        r#"{"kind":"intent","ts_ns":1,"symbol":"ATOM/USDT","side":"buy","type":"market","qty":1}"#.to_string(),
        intent("neg", "buy", "market", "-1", "null", T0),
        intent("side", "hold", "market", "1", "null", T0),
        intent("type", "buy", "stop", "1", "null", T0),
        intent("lim", "buy", "limit", "1", "null", T0),
        r#"{"kind":"intent","id":"x","ts_ns":1,"symbol":"ATOM/USDT","side":"buy","type":"market","qty":"abc"}"#.to_string(),
    ];
    let out = cmd(RISK, dir.path())
        .arg("--emit-only")
        .write_stdin(lines(&input))
        .assert()
        .success()
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("line 8")));
    let evs = json_lines(&out.get_output().stdout);
    let reasons: Vec<_> = evs
        .iter()
        .map(|e| {
            (
                e["intent_id"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
                e["caps"]["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("", "invalid_intent", "id"),
            ("neg", "invalid_intent", "qty"),
            ("side", "invalid_intent", "side"),
            ("type", "invalid_intent", "type"),
            ("lim", "invalid_intent", "limit_price")
        ]
    );
    cmd(RISK, dir.path())
        .arg("--strict")
        .write_stdin(lines(&input))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2"));
}

/// (name, input lines, environment, expected reason of each decision)
type Case<'a> = (
    &'a str,
    Vec<String>,
    Vec<(&'a str, &'a str)>,
    Vec<Option<&'a str>>,
);

#[test]
fn each_rule_end_to_end() {
    let t = |p: &str, ts: i64| trade("ATOM/USDT", p, "1", ts);
    let halt_dir = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = vec![
        ("duplicate", vec![t("10", T0), intent("d", "buy", "market", "1", "null", T0), intent("d", "buy", "market", "1", "null", T0)], vec![], vec![None, Some("duplicate_intent")]),
        ("no_ref_price", vec![intent("n", "buy", "market", "1", "null", T0)], vec![], vec![Some("no_ref_price")]),
        (
            "ref_price_stale: a last trade older than max_ref_age_ms",
            vec![
                t("10", T0),
                intent("s2", "buy", "market", "1", "null", T0 + 60 * SEC + 1),
                intent("s3", "sell", "limit", "1", "5", T0 + 60 * SEC + 1),
            ],
            vec![],
            vec![Some("ref_price_stale"), Some("ref_price_stale")],
        ),
        ("per_order_usd_cap", vec![t("10", T0), intent("c", "buy", "limit", "26", "9", T0), intent("c2", "buy", "limit", "25", "9", T0)], vec![], vec![Some("per_order_usd_cap"), None]),
        (
            "daily_loss from positions of today",
            vec![
                t("10", T0),
                r#"{"kind":"position","symbol":"ATOM/USDT","strategy_id":"s1","qty":0,"avg_price":0,"realized_pnl":-301,"fees":0,"realized_pnl_day":-301,"ts_ns":1767571200000000000}"#.to_string(),
                intent("l", "buy", "market", "1", "null", T0 + 1),
                t("10", T0 + 86_400 * SEC),
                intent("l2", "buy", "market", "1", "null", T0 + 86_400 * SEC),
            ],
            vec![],
            vec![Some("daily_loss_usd_cap"), None],
        ),
        (
            "orders_per_min in event time",
            vec![t("10", T0), intent("r1", "buy", "market", "1", "null", T0), intent("r2", "buy", "market", "1", "null", T0), intent("r3", "buy", "market", "1", "null", T0 + 29 * SEC), intent("r4", "buy", "market", "1", "null", T0 + 30 * SEC)],
            vec![("NJORD__RISK__ORDERS_PER_MIN_CAP", "2")],
            vec![None, None, Some("orders_per_min_cap"), None],
        ),
    ];
    for (name, input, env, want) in cases {
        let got: Vec<Option<String>> = decisions(&input, &env).into_iter().map(|d| d.1).collect();
        let want: Vec<Option<String>> = want.into_iter().map(|w| w.map(str::to_string)).collect();
        assert_eq!(got, want, "{name}");
    }
    // The kill file halts.
    std::fs::write(halt_dir.path().join("halt"), "x").unwrap();
    let out = cmd(RISK, halt_dir.path())
        .arg("--emit-only")
        .write_stdin(lines(&[
            t("10", T0),
            intent("h", "buy", "market", "1", "null", T0),
        ]))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let d = &json_lines(&out)[0];
    assert_eq!(
        (d["reason"].as_str(), d["caps"]["source"].as_str()),
        (Some("halted"), Some("file"))
    );
}

/// Lines of a child's stdout, read on a thread.
fn line_reader(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line whose kind is `kind`, within 10 s.
fn next_of(rx: &mpsc::Receiver<String>, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `{kind}` within 10 s"));
        let v: Value = serde_json::from_str(&l).unwrap();
        if v["kind"] == kind {
            return v;
        }
    }
}

fn send(stdin: &mut ChildStdin, l: &str) {
    writeln!(stdin, "{l}").unwrap();
    stdin.flush().unwrap();
}

#[test]
fn sighup_reloads_caps_without_dropping_events() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("base.yaml");
    std::fs::write(&cfg, "risk:\n  per_order_usd_cap: 100\n").unwrap();
    let mut child = std_cmd(RISK, dir.path())
        .args(["--emit-only", "--config"])
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = line_reader(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let mut child = Reaper(child);
    send(&mut stdin, &trade("ATOM/USDT", "10", "1", T0));
    send(
        &mut stdin,
        &intent("big0", "buy", "market", "20", "null", T0),
    );
    assert_eq!(next_of(&rx, "decision")["reason"], "per_order_usd_cap");
    std::fs::write(&cfg, "risk:\n  per_order_usd_cap: 1000\n").unwrap();
    let pid = child.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The signal is handled between lines; every intent still gets its decision.
    let mut allowed = false;
    for n in 1..50 {
        send(
            &mut stdin,
            &intent(&format!("big{n}"), "buy", "market", "20", "null", T0 + n),
        );
        let d = next_of(&rx, "decision");
        if d["allowed"] == true {
            allowed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(allowed, "the new cap was never applied");
    drop(stdin);
    assert!(child.0.wait().unwrap().success());
}

// ---- Redis -------------------------------------------------------------------------------

/// Waits until `channel` has a subscriber.
fn wait_subscribed(c: &mut redis::Connection, channel: &str, pattern: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let n: i64 = if pattern {
            redis::cmd("PUBSUB").arg("NUMPAT").query(c).unwrap()
        } else {
            let v: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query(c)
                .unwrap();
            v.first().map_or(0, |x| x.1)
        };
        if n > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nobody subscribed to {channel}");
}

/// Publishes `payload` on `topic`.
fn publish(c: &mut redis::Connection, topic: &str, payload: &str) {
    redis::cmd("PUBLISH")
        .arg(topic)
        .arg(payload)
        .query::<i64>(c)
        .unwrap();
}

/// Every message of `topics` on the Redis at `url`, as it comes.
fn watch(url: &str, topics: &[&'static str]) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    let (url, topics) = (url.to_string(), topics.to_vec());
    std::thread::spawn(move || {
        let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut ps = conn.as_pubsub();
        for t in topics {
            ps.subscribe(t).unwrap();
        }
        while let Ok(m) = ps.get_message() {
            if tx.send(m.get_payload::<String>().unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

fn daemon(bin: &str, dir: &Path, url: &str) -> Reaper {
    Reaper(
        std_cmd(bin, dir)
            .args(["--bus", url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn redis_daemons_trade_then_intent_then_kill_switch() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let mut c = redis.conn();
    // Watch every output topic before anything is published.
    let mut watcher = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let rx = watch(
        &url,
        &[
            "risk.decisions",
            "orders.accepted",
            "fills.new",
            "positions.snapshot",
        ],
    );
    wait_subscribed(&mut watcher, "positions.snapshot", false);
    let _risk = daemon(RISK, dir.path(), &url);
    let _paper = daemon(PAPER, dir.path(), &url);
    wait_subscribed(&mut c, "strat.intent", false);
    wait_subscribed(&mut c, "orders.accepted", false);
    // Both daemons hold the md.trades.* pattern once a probe trade reaches two clients.
    let deadline = Instant::now() + Duration::from_secs(10);
    let probe = trade("PROBE/USDT", "1", "1", T0 - SEC);
    while redis::cmd("PUBLISH")
        .arg("md.trades.PROBE/USDT")
        .arg(&probe)
        .query::<i64>(&mut c)
        .unwrap()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "trade pattern subscriptions missing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    publish(
        &mut c,
        "md.trades.ATOM/USDT",
        &trade("ATOM/USDT", "10", "5", T0),
    );
    publish(
        &mut c,
        "strat.intent",
        &intent("r1", "buy", "market", "2", "null", T0 + 1),
    );
    let d = next_of(&rx, "decision");
    assert_eq!(
        (d["intent_id"].as_str(), d["allowed"].as_bool()),
        (Some("r1"), Some(true)),
        "{d}"
    );
    let o = next_of(&rx, "order");
    assert_eq!(o["intent_id"], "r1");
    let f = next_of(&rx, "fill");
    assert_eq!(
        (
            f["price"].to_string(),
            f["qty"].to_string(),
            f["fee"].to_string()
        ),
        ("10".into(), "2".into(), "0.02".into())
    );
    let p = next_of(&rx, "position");
    assert_eq!(p["qty"].to_string(), "2");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Option<String> = redis::cmd("GET")
            .arg("njord:pnl:day")
            .query(&mut c)
            .unwrap();
        if v.as_deref() == Some("-0.02") {
            break;
        }
        assert!(Instant::now() < deadline, "njord:pnl:day is {v:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let date: String = redis::cmd("GET")
        .arg("njord:pnl:day:date")
        .query(&mut c)
        .unwrap();
    assert_eq!(date, "2026-01-05");
    // A duplicate is denied across the shared key too.
    publish(
        &mut c,
        "strat.intent",
        &intent("r1", "buy", "market", "2", "null", T0 + 2),
    );
    assert_eq!(next_of(&rx, "decision")["reason"], "duplicate_intent");
    let ttl: i64 = redis::cmd("TTL")
        .arg("njord:risk:intent:r1")
        .query(&mut c)
        .unwrap();
    assert!(ttl > 2 * 86_400 - 60, "ttl {ttl}");

    // Once njord-kill trip returns, the next intent is halted.
    Command::new(KILL)
        .current_dir(dir.path())
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args(["trip", "--redis", &url, "--file"])
        .arg(dir.path().join("halt"))
        .assert()
        .success();
    publish(
        &mut c,
        "strat.intent",
        &intent("r2", "buy", "market", "1", "null", T0 + 3),
    );
    let d = next_of(&rx, "decision");
    assert_eq!(
        (d["intent_id"].as_str(), d["reason"].as_str()),
        (Some("r2"), Some("halted")),
        "{d}"
    );
    // The Redis key alone halts too; a denied id is not kept as seen.
    std::fs::remove_file(dir.path().join("halt")).unwrap();
    publish(
        &mut c,
        "strat.intent",
        &intent("r2", "buy", "market", "1", "null", T0 + 4),
    );
    let d = next_of(&rx, "decision");
    assert_eq!(
        (d["reason"].as_str(), d["caps"]["source"].as_str()),
        (Some("halted"), Some("redis")),
        "{d}"
    );
    // Any value but "0" trips; a key that vanishes after it was seen (a Redis restarted
    // without persistence) halts too; `njord-kill clear` sets "0".
    for (n, value) in [(5, Some("true")), (6, Some("1 ")), (7, None)] {
        match value {
            Some(v) => redis::cmd("SET")
                .arg("njord:trading:halt")
                .arg(v)
                .exec(&mut c),
            None => redis::cmd("DEL").arg("njord:trading:halt").exec(&mut c),
        }
        .unwrap();
        publish(
            &mut c,
            "strat.intent",
            &intent("r2", "buy", "market", "1", "null", T0 + n),
        );
        let d = next_of(&rx, "decision");
        assert_eq!(d["reason"], "halted", "{value:?}: {d}");
    }
    Command::new(KILL)
        .current_dir(dir.path())
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args(["clear", "--redis", &url, "--file"])
        .arg(dir.path().join("halt"))
        .assert()
        .success();
    publish(
        &mut c,
        "strat.intent",
        &intent("r2", "buy", "market", "1", "null", T0 + 8),
    );
    assert_eq!(next_of(&rx, "decision")["allowed"], true);
}

#[test]
fn redis_down_at_start_is_a_clear_error() {
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    let dir = tempfile::tempdir().unwrap();
    for bin in [RISK, PAPER] {
        cmd(bin, dir.path())
            .args(["--bus", &url])
            .timeout(Duration::from_secs(20))
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("cannot connect to Redis")
                    .and(predicate::str::contains(url.as_str())),
            );
    }
}

#[test]
fn redis_down_mid_run_fails_closed() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut child = std_cmd(RISK, dir.path())
        .args(["--emit-only", "--redis", &redis.url()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = line_reader(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let _child = Reaper(child);
    send(&mut stdin, &trade("ATOM/USDT", "10", "1", T0));
    send(&mut stdin, &intent("m1", "buy", "market", "1", "null", T0));
    assert_eq!(next_of(&rx, "decision")["allowed"], true);
    redis.kill();
    send(
        &mut stdin,
        &intent("m2", "buy", "market", "1", "null", T0 + 1),
    );
    let d = next_of(&rx, "decision");
    assert_eq!(
        (d["reason"].as_str(), d["caps"]["source"].as_str()),
        (Some("halted"), Some("redis-error")),
        "{d}"
    );
}

#[test]
fn risk_resume_keeps_denying_duplicates_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tape = lines(&[
        trade("ATOM/USDT", "10", "1", T0),
        intent("once", "buy", "market", "1", "null", T0 + 1),
    ]);
    let first = cmd(RISK, dir.path())
        .arg("--emit-only")
        .write_stdin(tape.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_lines(&first)[0]["allowed"], true);
    let again = |args: &[&str]| {
        let out = cmd(RISK, dir.path())
            .arg("--emit-only")
            .args(args)
            .write_stdin(tape.clone())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json_lines(&out)[0]["reason"].clone()
    };
    assert_eq!(again(&["--resume"]), "duplicate_intent");
    // Without --resume the in-memory window starts empty.
    assert_eq!(again(&[]), Value::Null);
}

/// The README's exit (a take-profit limit and a stop in one `oco` group) through njord-risk
/// and njord-paper, with restarts: the armed stop survives `--resume`, triggers at the first
/// trade through it, and the take-profit it cancelled is not reopened by the next restart.
#[test]
fn an_oco_exit_survives_restarts_and_the_cancelled_leg_stays_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let exit = |id: &str, extra: &str| {
        format!(
            r#"{{"kind":"intent","id":"{id}","ts_ns":{},"strategy_id":"s1","symbol":"ATOM/USDT","side":"sell","qty":2,{extra},"oco":"exit-1"}}"#,
            T0 + 2
        )
    };
    let tape = [
        trade("ATOM/USDT", "10", "1", T0),
        intent("entry", "buy", "market", "2", "null", T0 + 1),
        exit("tp", r#""type":"limit","limit_price":12"#),
        exit("sl", r#""type":"stop_market","stop_price":9.5"#),
        // A stop above the market is refused by risk before paper sees it.
        exit("bad", r#""type":"stop_market","stop_price":10.5"#),
        trade("ATOM/USDT", "10.2", "1", T0 + 3),
    ];
    let risk = cmd(RISK, dir.path())
        .write_stdin(lines(&tape))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let decisions = json_lines(&risk);
    let bad = of_kind(&decisions, "decision")
        .into_iter()
        .find(|d| d["intent_id"] == "bad")
        .unwrap()
        .clone();
    assert_eq!(bad["reason"], "invalid_intent", "{bad}");
    assert_eq!(bad["caps"]["field"], "stop_price", "{bad}");
    let out = cmd(PAPER, dir.path())
        .args(["--emit-only", "--summary"])
        .write_stdin(risk)
        .assert()
        .success()
        .stderr(predicate::str::contains("orders resting: 2"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(of_kind(&json_lines(&out), "fill").len(), 1);
    // Restart: the market gaps through the stop; it fills at the trade, the take-profit goes.
    let out = run_paper(
        dir.path(),
        &[trade("ATOM/USDT", "9.2", "1", T0 + SEC)],
        &["--resume"],
    );
    let evs = json_lines(&out);
    let fills = of_kind(&evs, "fill");
    assert_eq!(fills.len(), 1, "{evs:?}");
    assert_eq!(
        (
            fills[0]["intent_id"].as_str(),
            fills[0]["price"].to_string()
        ),
        (Some("sl"), "9.2".into())
    );
    let updates = of_kind(&evs, "order_update");
    assert_eq!(
        (
            updates[0]["client_order_id"].as_str(),
            updates[0]["status"].as_str()
        ),
        (Some("tp"), Some("canceled"))
    );
    assert_eq!(last_position(&out)["qty"].to_string(), "0");
    // Restart again: the cancelled take-profit is not reopened.
    cmd(PAPER, dir.path())
        .args(["--resume", "--emit-only", "--summary"])
        .write_stdin(lines(&[trade("ATOM/USDT", "12.5", "1", T0 + 2 * SEC)]))
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("orders resting: 0"));
}

/// A stop-limit that triggered and rests at its limit is restored as that resting limit by
/// `--resume` (journaled `new`), not re-armed at its stop.
#[test]
fn a_triggered_stop_limit_rests_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stop = format!(
        r#"{{"kind":"order","intent_id":"x","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"sell","type":"stop_limit","qty":2,"limit_price":94,"stop_price":95,"ts_accepted_ns":{}}}"#,
        T0 + 1
    );
    let out = run_paper(
        dir.path(),
        &[
            trade("ATOM/USDT", "100", "1", T0),
            stop,
            trade("ATOM/USDT", "90", "1", T0 + 2),
        ],
        &[],
    );
    let evs = json_lines(&out);
    assert_eq!(of_kind(&evs, "order_update")[0]["status"], "new", "{evs:?}");
    let out = run_paper(
        dir.path(),
        &[trade("ATOM/USDT", "96", "1", T0 + SEC)],
        &["--resume"],
    );
    let fills = json_lines(&out);
    let fills = of_kind(&fills, "fill");
    assert_eq!(fills.len(), 1);
    assert_eq!(
        (
            fills[0]["price"].to_string(),
            fills[0]["liquidity"].as_str()
        ),
        ("94".into(), Some("maker"))
    );
}

/// `paper.slippage_model: book`: a market order walks the last book's asks; without a book
/// it pays the fixed bps. The model comes from the configuration (here its environment
/// override), as in njord-backtest.
#[test]
fn a_market_order_walks_the_book_under_the_book_model() {
    let dir = tempfile::tempdir().unwrap();
    let book = format!(
        r#"{{"kind":"book","symbol":"ATOM/USDT","bids":[[9.9,5]],"asks":[[10,1],[10.5,1]],"ts_ns":{}}}"#,
        T0 + 1
    );
    let input = [
        trade("ATOM/USDT", "10", "1", T0),
        book,
        order("w", "buy", "market", "2", "null", T0 + 2),
        trade("BTC/USDT", "100", "1", T0 + 3),
        r#"{"kind":"order","intent_id":"f","strategy_id":"s1","venue":"binanceus","symbol":"BTC/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"ts_accepted_ns":1767571200000000004}"#.to_string(),
    ];
    let out = cmd(PAPER, dir.path())
        .env("NJORD__PAPER__SLIPPAGE_MODEL", "book")
        .env("NJORD__PAPER__SLIPPAGE_BPS", "20")
        .arg("--emit-only")
        .write_stdin(lines(&input))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let evs = json_lines(&out);
    let fills: Vec<(String, String)> = of_kind(&evs, "fill")
        .iter()
        .map(|f| {
            (
                f["intent_id"].as_str().unwrap().to_string(),
                f["price"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        fills,
        [
            ("w".to_string(), "10.25".to_string()),
            ("f".into(), "100.2".into())
        ]
    );
}

/// `risk.trip_on_daily_loss`: the position that shows the day's loss at the cap trips the
/// kill file before the next event is read, so the next intent is halted, and the file says
/// why; without it the intent is denied `daily_loss_usd_cap` and no file is written.
#[test]
fn a_daily_loss_at_the_cap_trips_the_kill_switch_when_asked() {
    let position = |pnl: i64, ts: i64| {
        format!(
            r#"{{"kind":"position","symbol":"ATOM/USDT","strategy_id":"s1","qty":0,"avg_price":0,"realized_pnl":{pnl},"fees":0,"realized_pnl_day":{pnl},"ts_ns":{ts}}}"#
        )
    };
    let input = [
        trade("ATOM/USDT", "10", "1", T0),
        position(-100, T0),
        intent("a", "buy", "market", "1", "null", T0 + 1),
        position(-300, T0 + 2),
        intent("b", "buy", "market", "1", "null", T0 + 3),
    ];
    for trip in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let out = cmd(RISK, dir.path())
            .env("NJORD__RISK__TRIP_ON_DAILY_LOSS", trip.to_string())
            .arg("--emit-only")
            .write_stdin(lines(&input))
            .assert()
            .success();
        let reasons: Vec<Option<String>> = json_lines(&out.get_output().stdout)
            .into_iter()
            .filter(|e| e["kind"] == "decision")
            .map(|d| d["reason"].as_str().map(str::to_string))
            .collect();
        let halt = dir.path().join("halt");
        if trip {
            assert_eq!(reasons, [None, Some("halted".to_string())]);
            let record: Value =
                serde_json::from_str(&std::fs::read_to_string(&halt).unwrap()).unwrap();
            let why = record["reason"].as_str().unwrap();
            assert!(
                why.contains("2026-01-05")
                    && why.contains("PnL -300 USD")
                    && why.contains("daily_loss_usd_cap 300"),
                "{record}"
            );
            assert!(record["by"].as_str().unwrap().starts_with("njord-risk "));
            let stderr = String::from_utf8_lossy(&out.get_output().stderr);
            assert!(stderr.contains("kill switch tripped"), "{stderr}");
            // Cleared by an operator, then njord-risk restarted: the same day's loss does not
            // trip it again (the trip is remembered in the journal directory).
            std::fs::remove_file(&halt).unwrap();
            let again = cmd(RISK, dir.path())
                .env("NJORD__RISK__TRIP_ON_DAILY_LOSS", "true")
                .arg("--emit-only")
                .write_stdin(lines(&input))
                .assert()
                .success();
            let reasons: Vec<Option<String>> = json_lines(&again.get_output().stdout)
                .into_iter()
                .filter(|e| e["kind"] == "decision")
                .map(|d| d["reason"].as_str().map(str::to_string))
                .collect();
            assert_eq!(reasons, [None, Some("daily_loss_usd_cap".to_string())]);
            assert!(!halt.exists());
        } else {
            assert_eq!(reasons, [None, Some("daily_loss_usd_cap".to_string())]);
            assert!(!halt.exists());
        }
    }
}

/// With Redis, the day's PnL comes from `njord:pnl:day` (njord-paper's): an intent denied
/// `daily_loss_usd_cap` for it trips the kill key and file, so the next intent is halted.
#[test]
fn a_shared_daily_loss_trips_the_kill_key_when_asked() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let mut c = redis.conn();
    redis::cmd("SET")
        .arg("njord:pnl:day")
        .arg("-301")
        .exec(&mut c)
        .unwrap();
    redis::cmd("SET")
        .arg("njord:pnl:day:date")
        .arg("2026-01-05")
        .exec(&mut c)
        .unwrap();
    let rx = watch(&url, &["risk.decisions"]);
    wait_subscribed(&mut c, "risk.decisions", false);
    let _risk = Reaper(
        std_cmd(RISK, dir.path())
            .env("NJORD__RISK__TRIP_ON_DAILY_LOSS", "true")
            .args(["--bus", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_subscribed(&mut c, "strat.intent", false);
    wait_subscribed(&mut c, "md.trades.*", true);
    publish(
        &mut c,
        "md.trades.ATOM/USDT",
        &trade("ATOM/USDT", "10", "5", T0),
    );
    publish(
        &mut c,
        "strat.intent",
        &intent("x1", "buy", "market", "1", "null", T0 + 1),
    );
    assert_eq!(next_of(&rx, "decision")["reason"], "daily_loss_usd_cap");
    publish(
        &mut c,
        "strat.intent",
        &intent("x2", "buy", "market", "1", "null", T0 + 2),
    );
    assert_eq!(next_of(&rx, "decision")["reason"], "halted");
    let key: String = redis::cmd("GET")
        .arg("njord:trading:halt")
        .query(&mut c)
        .unwrap();
    assert_eq!(key, "1");
    assert!(dir.path().join("halt").exists());
}
