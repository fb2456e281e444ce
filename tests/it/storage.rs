//! End-to-end tests of njord-bars, njord-journal and njord-replay (issue 8).

use crate::support;

use assert_cmd::Command;
use flate2::{Compression, write::GzEncoder};
use predicates::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

const MIN: i64 = 60_000_000_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000_000;

fn trade(ts: i64, sym: &str, id: u32, px: &str, qty: &str) -> String {
    format!(
        r#"{{"kind":"trade","venue":"binanceus","symbol":"{sym}","trade_id":"{id}","price":{px},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
    )
}

/// A binary run from a scratch directory, journals and logs inside it.
fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::cargo_bin(bin).unwrap();
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.join("log"));
    c
}

fn lines(text: &str) -> String {
    text.lines().map(|l| format!("{l}\n")).collect()
}

fn write_gz(p: &Path, text: &str) {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(6));
    e.write_all(text.as_bytes()).unwrap();
    std::fs::write(p, e.finish().unwrap()).unwrap();
}

#[test]
fn bars_forward_input_and_emit_after_the_closing_trade() {
    let dir = tempfile::tempdir().unwrap();
    let t1 = trade(T0 + 1, "ATOM/USDT", 1, "10.1", "1");
    let t2 = trade(T0 + MIN - 1, "ATOM/USDT", 2, "10.3", "0.25");
    let t3 = trade(T0 + 5 * MIN, "ATOM/USDT", 3, "9.9", "2");
    let input = lines(&format!("{t1}\n{t2}\nnot json\n{t3}\n"));
    let b1 = format!(
        r#"{{"kind":"bar","symbol":"ATOM/USDT","timeframe":"1m","ts_open_ns":{T0},"ts_close_ns":{},"open":10.1,"high":10.3,"low":10.1,"close":10.3,"volume":1.25,"trades":2}}"#,
        T0 + MIN
    );
    let b5 = b1
        .replace("\"1m\"", "\"5m\"")
        .replace(&format!("{}", T0 + MIN), &format!("{}", T0 + 5 * MIN));
    let b1b = format!(
        r#"{{"kind":"bar","symbol":"ATOM/USDT","timeframe":"1m","ts_open_ns":{},"ts_close_ns":{},"open":9.9,"high":9.9,"low":9.9,"close":9.9,"volume":2,"trades":1}}"#,
        T0 + 5 * MIN,
        T0 + 6 * MIN
    );
    let b5b = format!(
        r#"{{"kind":"bar","symbol":"ATOM/USDT","timeframe":"5m","ts_open_ns":{},"ts_close_ns":{},"open":9.9,"high":9.9,"low":9.9,"close":9.9,"volume":2,"trades":1}}"#,
        T0 + 5 * MIN,
        T0 + 10 * MIN
    );
    let out = cmd("njord-bars", dir.path())
        .args(["--timeframes", "5m,1m"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("line 3"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        lines(&format!("{t1}\n{t2}\n{t3}\n{b1}\n{b5}\n{b1b}\n{b5b}"))
    );
    let j1 = std::fs::read_to_string(dir.path().join("j/ohlcv.1m.ATOMUSDT.ndjson")).unwrap();
    assert_eq!(j1, lines(&format!("{b1}\n{b1b}")));
    assert!(dir.path().join("j/ohlcv.5m.ATOMUSDT.ndjson").exists());
}

#[test]
fn bars_fill_gaps_and_report_late_trades() {
    let dir = tempfile::tempdir().unwrap();
    let input = lines(&format!(
        "{}\n{}\n{}\n",
        trade(T0, "A/B", 1, "2", "1"),
        trade(T0 + 3 * MIN, "A/B", 2, "3", "1"),
        trade(T0 + 10, "A/B", 3, "99", "1"),
    ));
    let out = cmd("njord-bars", dir.path())
        .args(["--emit-only", "--fill-gaps", "--no-journal"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("late trade 3 of A/B"))
        .stderr(predicate::str::contains("1 late trades"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let got: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["close"].to_string(), v["trades"].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [("2", "1"), ("2", "0"), ("2", "0"), ("3", "1")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(!dir.path().join("j").exists(), "--no-journal");
}

#[test]
fn bars_reject_unknown_timeframes() {
    let dir = tempfile::tempdir().unwrap();
    cmd("njord-bars", dir.path())
        .args(["--timeframes", "1m,7m"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown timeframe `7m`"));
}

fn series_dir(dir: &Path) -> PathBuf {
    let j = dir.join("j");
    std::fs::create_dir_all(&j).unwrap();
    write_gz(
        &j.join("s.20260101.ndjson.gz"),
        &lines(&trade(T0, "A/B", 1, "1", "1")),
    );
    std::fs::write(
        j.join("s.20260101.1.ndjson"),
        lines(&trade(T0 + 1, "A/B", 2, "1", "1")),
    )
    .unwrap();
    std::fs::write(
        j.join("s.20260102.ndjson"),
        lines(&trade(T0 + 1440 * MIN, "A/B", 3, "1", "1")),
    )
    .unwrap();
    // The open file of a crashed writer: its last line torn.
    std::fs::write(
        j.join("s.ndjson"),
        format!(
            "{}\n{{\"kind\":\"tr",
            trade(T0 + 2880 * MIN, "A/B", 4, "1", "1")
        ),
    )
    .unwrap();
    j
}

fn trade_ids(out: &[u8]) -> Vec<String> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["trade_id"].as_str().unwrap_or("-").to_string()
        })
        .collect()
}

#[test]
fn journal_cat_prints_a_rotated_series_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let j = series_dir(dir.path());
    // As a stem, and as files in shell-glob order.
    let out = cmd("njord-journal", dir.path())
        .args(["cat"])
        .arg(j.join("s"))
        .assert()
        .success()
        .stderr(predicate::str::contains("s.ndjson:2: torn last line"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["1", "2", "3", "4"]);
    let mut globbed: Vec<PathBuf> = std::fs::read_dir(&j)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    globbed.sort();
    let out = cmd("njord-journal", dir.path())
        .arg("cat")
        .args(&globbed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["1", "2", "3", "4"]);
}

#[test]
fn journal_verify_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let j = series_dir(dir.path());
    cmd("njord-journal", dir.path())
        .args(["verify"])
        .arg(&j)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ok "))
        .stdout(predicate::str::contains(
            "s.20260101.ndjson.gz: 1 events, 0 problems",
        ))
        .stdout(predicate::str::contains("s.ndjson: 1 events, 1 problems"))
        .stderr(predicate::str::contains("s.ndjson:2: torn last line"));
    cmd("njord-journal", dir.path())
        .args(["verify"])
        .arg(j.join("s.20260101.ndjson.gz"))
        .arg(j.join("s.20260101.1.ndjson"))
        .assert()
        .success();
    let bad = j.join("bad.ndjson");
    std::fs::write(
        &bad,
        format!(
            "{}\n{{\"kind\":\"trade\"}}\n{{\"kind\":\"tra",
            trade(T0, "A/B", 1, "1", "1")
        ),
    )
    .unwrap();
    // A gzip cut in the middle.
    let mut gz = Vec::new();
    {
        let mut e = GzEncoder::new(&mut gz, Compression::new(6));
        for i in 0..2000 {
            writeln!(e, "{}", trade(T0 + i, "A/B", i as u32, "1", "1")).unwrap();
        }
    }
    let cut = j.join("cut.20260101.ndjson.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    cmd("njord-journal", dir.path())
        .args(["verify"])
        .arg(&bad)
        .arg(&cut)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.ndjson:2: bad `trade` event"))
        .stderr(predicate::str::contains("bad.ndjson:3: torn last line"))
        .stderr(predicate::str::contains("cut.20260101.ndjson.gz:"))
        .stdout(predicate::str::contains("BAD"));
}

#[test]
fn journal_compress_leaves_open_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh install has no journal directory yet: nothing to do.
    cmd("njord-journal", dir.path())
        .arg("compress")
        .assert()
        .success();
    let j = dir.path().join("j");
    std::fs::create_dir_all(&j).unwrap();
    let rotated = j.join("old.20260101.ndjson");
    std::fs::write(&rotated, lines(&trade(T0, "A/B", 1, "1", "1"))).unwrap();
    let mut w =
        njord::journal::JournalWriter::open(&j, "live", njord::config::FsyncPolicy::Never).unwrap();
    w.append(T0, trade(T0, "A/B", 2, "1", "1").as_bytes())
        .unwrap();
    w.flush().unwrap();
    cmd("njord-journal", dir.path())
        .arg("compress")
        .assert()
        .success()
        .stdout(predicate::str::contains("old.20260101.ndjson.gz (1 lines)"));
    assert!(!rotated.exists() && j.join("old.20260101.ndjson.gz").exists());
    assert!(j.join("live.ndjson").exists(), "a writer holds it");
    // --older-than keeps recent files.
    drop(w);
    cmd("njord-journal", dir.path())
        .args(["compress", "--older-than", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    cmd("njord-journal", dir.path())
        .arg("compress")
        .arg(&j)
        .assert()
        .success()
        .stdout(predicate::str::contains("live.20260101.ndjson.gz"));
    let out = cmd("njord-journal", dir.path())
        .arg("cat")
        .arg(&j)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["2", "1"]);
}

#[test]
fn import_binance_trades_dump() {
    let dir = tempfile::tempdir().unwrap();
    // A made-up dump in Binance's layout: a header, ms and µs times, a bad row.
    let csv = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n\
               1001,10.25000000,1.50000000,15.37500000,1767225600123,True,True\n\
               1002,10.26000000,0.10000000,1.02600000,1767225600456789,False,True\n\
               1003,oops,1,1,1767225600999,False,True\n\
               1004,10.24000000,2.00000000,20.48000000,1767225601000,false\n";
    let f = dir.path().join("ATOMUSDT-trades-2026-01-01.csv");
    std::fs::write(&f, csv).unwrap();
    let out = cmd("njord-journal", dir.path())
        .args(["import", "binance-trades"])
        .arg(&f)
        .args(["--symbol", "ATOM/USDT"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "ATOMUSDT-trades-2026-01-01.csv:4: price:",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        r#"{"kind":"trade","venue":"binance","symbol":"ATOM/USDT","trade_id":"1001","price":10.25,"qty":1.5,"side":"sell","ts_ns":1767225600123000000}"#
    );
    assert_eq!(trade_ids(text.as_bytes()), ["1001", "1002", "1004"]);
    assert!(text.contains(r#""side":"buy","ts_ns":1767225600456789000"#));
    // Straight into the trade journal, where replay finds it by stem.
    cmd("njord-journal", dir.path())
        .args(["import", "binance-trades"])
        .arg(&f)
        .args(["--symbol", "ATOM/USDT", "--journal"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let out = cmd("njord-replay", dir.path())
        .arg(dir.path().join("j/md.trades.ATOMUSDT"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap(), text);
}

#[test]
fn replay_merges_filters_and_keeps_lines_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ndjson.gz");
    // Decimal strings and spacing are replayed exactly as journaled.
    let odd = r#"{"kind":"trade", "symbol":"C/D","trade_id":"x","price":"1.50","qty":1,"side":"sell","ts_ns":1767225600000000005}"#;
    write_gz(
        &a,
        &lines(&format!(
            "{}\n{odd}\n{}\n",
            trade(T0 + 1, "A/B", 1, "1", "1"),
            trade(T0 + 9, "A/B", 3, "1", "1")
        )),
    );
    let b = dir.path().join("b.ndjson");
    std::fs::write(
        &b,
        format!(
            "{}\ngarbage\n{}\n",
            trade(T0 + 5, "A/B", 2, "1", "1"),
            trade(T0 + 20, "A/B", 4, "1", "1")
        ),
    )
    .unwrap();
    let out = cmd("njord-replay", dir.path())
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .stderr(predicate::str::contains("b.ndjson:2: not JSON"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        trade_ids(&out),
        ["1", "x", "2", "3", "4"],
        "ties keep argument order"
    );
    assert!(String::from_utf8(out).unwrap().contains(odd));
    let out = cmd("njord-replay", dir.path())
        .arg(&a)
        .arg(&b)
        .args(["--from", "1767225600000000005", "--to"])
        .arg((T0 + 20).to_string())
        .args(["--symbol", "A/B", "--kind", "trade"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["2", "3"]);
    let out = cmd("njord-replay", dir.path())
        .arg(&b)
        .args(["--from", "2026-01-01T00:00:00.000000010Z", "--speed", "max"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["4"]);
    // Paced: same output, gaps of 1 s replayed at 1000x (the schedule itself is unit-tested
    // with an injected clock).
    let paced = dir.path().join("paced.ndjson");
    std::fs::write(
        &paced,
        lines(&format!(
            "{}\n{}\n{}",
            trade(T0, "A/B", 1, "1", "1"),
            trade(T0 + 1_000_000_000, "A/B", 2, "1", "1"),
            trade(T0 + 2_000_000_000, "A/B", 3, "1", "1")
        )),
    )
    .unwrap();
    let out = cmd("njord-replay", dir.path())
        .arg(&paced)
        .args(["--speed", "1000x"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["1", "2", "3"]);
    cmd("njord-replay", dir.path())
        .arg(dir.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing"));
    cmd("njord-replay", dir.path())
        .arg(&b)
        .args(["--speed", "fast"])
        .assert()
        .code(2);
}

#[test]
fn replay_a_directory_of_rotated_series() {
    let dir = tempfile::tempdir().unwrap();
    let j = series_dir(dir.path());
    std::fs::write(
        j.join("t.ndjson"),
        lines(&trade(T0 + 2, "C/D", 9, "1", "1")),
    )
    .unwrap();
    let out = cmd("njord-replay", dir.path())
        .arg(&j)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(trade_ids(&out), ["1", "2", "9", "3", "4"]);
}

#[test]
fn rotated_journals_round_trip_through_bars() {
    // njord-bars journals rotate by UTC day; replaying the series gives every bar back.
    let dir = tempfile::tempdir().unwrap();
    let day = 1440 * MIN;
    let input: String = (0..6)
        .map(|i| trade(T0 + i * day / 2, "A/B", i as u32, "1", "1") + "\n")
        .collect();
    cmd("njord-bars", dir.path())
        .args(["--timeframes", "1h", "--emit-only"])
        .write_stdin(input)
        .assert()
        .success();
    let j = dir.path().join("j");
    assert_eq!(
        crate::support::file_names(&j),
        [
            "ohlcv.1h.AB.20260101.ndjson.gz",
            "ohlcv.1h.AB.20260102.ndjson.gz",
            "ohlcv.1h.AB.ndjson"
        ]
    );
    let out = cmd("njord-replay", dir.path())
        .arg(j.join("ohlcv.1h.AB"))
        .args(["--kind", "bar"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 6);
}

/// Messages of a subscription, collected until `n` arrived or `within` passed.
fn collect_messages(
    ps: &mut redis::PubSub<'_>,
    n: usize,
    within: std::time::Duration,
) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        if let Ok(m) = ps.get_message() {
            got.push((
                m.get_channel_name().to_string(),
                String::from_utf8(m.get_payload_bytes().to_vec()).unwrap(),
            ));
        }
    }
    got
}

#[test]
fn replay_publishes_on_canonical_topics() {
    let redis = support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let t = trade(T0, "ATOM/USDT", 1, "1", "1");
    let b = format!(
        r#"{{"kind":"bar","symbol":"ATOM/USDT","timeframe":"5m","ts_open_ns":{T0},"ts_close_ns":{},"open":1,"high":1,"low":1,"close":1,"volume":1,"trades":1}}"#,
        T0 + 5 * MIN
    );
    let f = dir.path().join("mixed.ndjson");
    std::fs::write(&f, lines(&format!("{t}\n{b}"))).unwrap();
    let mut conn = redis.conn();
    let mut ps = conn.as_pubsub();
    ps.psubscribe("md.*").unwrap();
    ps.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    cmd("njord-replay", dir.path())
        .arg(&f)
        .args(["--bus", &redis.url()])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    assert_eq!(
        collect_messages(&mut ps, 2, std::time::Duration::from_secs(10)),
        [
            ("md.trades.ATOM/USDT".to_string(), t),
            ("md.ohlcv.5m.ATOM/USDT".to_string(), b)
        ]
    );
}

#[test]
fn bars_daemon_flushes_a_quiet_stream_by_the_wall_clock() {
    let redis = support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut conn = redis.conn();
    let mut ps = conn.as_pubsub();
    ps.psubscribe("md.ohlcv.*").unwrap();
    ps.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let mut daemon = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-bars"))
        .current_dir(dir.path())
        .env("NJORD__JOURNAL__DIR", dir.path().join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.path().join("log"))
        .args([
            "--timeframes",
            "1m",
            "--grace-ms",
            "0",
            "--bus",
            &redis.url(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // No later trade ever comes: only the wall clock, standing in for event time while the
    // stream is quiet, can close this bar, 1 ms of quiet after its trade. Publish until the
    // daemon has subscribed and answered.
    let mut publisher = redis.conn();
    let mut got = Vec::new();
    for _ in 0..40 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("md.trades.A/B")
            .arg(trade(T0 + MIN - 1_000_000, "A/B", 1, "2.5", "1"))
            .query(&mut publisher)
            .unwrap();
        got = collect_messages(&mut ps, 1, std::time::Duration::from_millis(500));
        if !got.is_empty() {
            break;
        }
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(got.len(), 1, "no bar published");
    assert_eq!(got[0].0, "md.ohlcv.1m.A/B");
    let v: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!(
        (v["ts_open_ns"].as_i64(), v["close"].to_string()),
        (Some(T0), "2.5".into())
    );
    // Journaled and flushed before it was published.
    let journal = std::fs::read_to_string(dir.path().join("j/ohlcv.1m.AB.ndjson")).unwrap();
    assert_eq!(journal, format!("{}\n", got[0].1));
}
