//! `njord-strat` end to end: goldens, reloads (SIGHUP and file change), invalid files,
//! determinism, and the Redis bus.
//!
//! Goldens are the exact stdout of `njord-strat` on the tape they contain (every line that is
//! not an intent). `NJORD_BLESS=1 cargo test --test strat golden` re-records them after
//! `scripts/ta_golden.py` changed a tape; the expected signals asserted below are written
//! independently (numpy's least squares, TA-Lib), so a wrong blessing still fails.

use crate::support;

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const T0: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn strat() -> Command {
    let mut c = Command::cargo_bin("njord-strat").unwrap();
    c.env_remove("NJORD_STRATEGIES")
        .env_remove("NJORD_CONFIG")
        .args(["--log-level", "warn"]);
    c
}

/// Writes a strategies file in a fresh temp dir (with an empty base config beside it).
fn setup(yaml: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let strategies = dir.path().join("strategies.yaml");
    std::fs::write(&strategies, yaml).unwrap();
    let base = dir.path().join("base.yaml");
    let logs = dir.path().join("logs");
    std::fs::write(
        &base,
        format!(
            "logging:\n  json_file: false\n  log_dir: {}\n",
            logs.display()
        ),
    )
    .unwrap();
    (dir, strategies, base)
}

fn is_intent(line: &str) -> bool {
    line.starts_with("{\"kind\":\"intent\"")
}

fn intents(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| is_intent(l))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (ts in seconds after T0, strategy, symbol, side) of every intent.
fn signals(out: &str) -> Vec<(i64, String, String, String)> {
    intents(out)
        .iter()
        .map(|i| {
            let ts: i64 = i["ts_ns"].to_string().parse().unwrap();
            (
                (ts - T0) / SEC,
                i["strategy_id"].as_str().unwrap().to_owned(),
                i["symbol"].as_str().unwrap().to_owned(),
                i["side"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Runs the binary over the golden's tape and checks its output is the golden, byte for byte.
fn check_golden(name: &str, yaml: &str) -> String {
    let path = golden_path(name);
    let golden = std::fs::read_to_string(&path).unwrap();
    let tape: String = golden
        .lines()
        .filter(|l| !is_intent(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let (_dir, strategies, base) = setup(yaml);
    let out = strat()
        .arg("--config")
        .arg(&base)
        .arg("--strategies")
        .arg(&strategies)
        .write_stdin(tape)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    if std::env::var_os("NJORD_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
        return out;
    }
    assert!(out == golden, "{name}: output differs from the golden");
    golden
}

const TRENDLINE: &str = "strategies:
  - id: tl
    class: trendline_break
    symbols: ['*/USDT']
    events: [trade]
    params: {qty: 0.5}
  - id: tl_bars
    class: trendline_break
    symbols: [SOL/USDT]
    events: ['md.ohlcv.1m.*']
    params: {qty: 2, lookback_periods: 20, breakout_threshold: 0.02}
";

#[test]
fn golden_trendline_break() {
    let out = check_golden("trendline_break.jsonl", TRENDLINE);
    let s = |t: i64, id: &str, sym: &str, side: &str| {
        (t, id.to_owned(), sym.to_owned(), side.to_owned())
    };
    // From numpy.polyfit (scripts/ta_golden.py): the seed's flat 10.0 then 10.22 (buy) and
    // 9.78 (sell), 10.19 (nothing), a second break after re-arming, and 1m bars only.
    assert_eq!(
        signals(&out),
        [
            s(60, "tl", "ATOM/USDT", "buy"),
            s(61, "tl", "BTC/USDT", "sell"),
            s(70, "tl", "ATOM/USDT", "sell"),
            s(79, "tl_bars", "SOL/USDT", "buy"),
        ]
    );
    let first = &intents(&out)[0];
    assert_eq!(first["qty"].to_string(), "0.5");
    assert_eq!(first["type"], "market");
    assert_eq!(first["meta"]["projection"].as_f64(), Some(10.0));
    assert!((first["meta"]["ratio"].as_f64().unwrap() - 0.022).abs() < 1e-12);
    // Each intent follows the line that caused it.
    let lines: Vec<&str> = out.lines().collect();
    for (k, l) in lines.iter().enumerate().filter(|(_, l)| is_intent(l)) {
        let i: serde_json::Value = serde_json::from_str(l).unwrap();
        let cause: serde_json::Value = serde_json::from_str(lines[k - 1]).unwrap();
        let ts = cause.get("ts_ns").or(cause.get("ts_close_ns")).unwrap();
        assert_eq!(&i["ts_ns"], ts);
    }
}

const RSI_TEMA_BB: &str = "strategies:
  - id: rtb
    class: rsi_tema_bb
    symbols: [ATOM/USDT]
    events: [trade]
    params: {qty: 1, tema_period: 3}
";

#[test]
fn golden_rsi_tema_bb_agrees_with_talib() {
    let out = check_golden("rsi_tema_bb.jsonl", RSI_TEMA_BB);
    let talib = std::fs::read_to_string(golden_path("rsi_tema_bb_talib.csv")).unwrap();
    let want: Vec<Vec<&str>> = talib
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let got = intents(&out);
    assert_eq!(got.len(), want.len(), "one intent per TA-Lib signal");
    let sides: Vec<&str> = got.iter().map(|i| i["side"].as_str().unwrap()).collect();
    assert!(
        sides.contains(&"buy") && sides.contains(&"sell"),
        "fires both ways"
    );
    for (i, w) in got.iter().zip(&want) {
        assert_eq!(i["ts_ns"].to_string(), w[0]);
        assert_eq!(i["side"], w[1]);
        for (k, key) in ["rsi", "tema", "bb_lower", "bb_upper"].iter().enumerate() {
            let t: f64 = w[2 + k].parse().unwrap();
            let v = i["meta"][key].as_f64().unwrap();
            assert!(
                (v - t).abs() <= 1e-9 * t.abs().max(1.0),
                "{key}: {v} vs TA-Lib {t}"
            );
        }
    }
}

const EMA_CROSS: &str = "strategies:
  - {id: ec, class: ema_cross, symbols: [ATOM/USDT], events: [trade], params: {qty: 3}}
";

#[test]
fn golden_ema_cross_agrees_with_an_independent_rule() {
    let out = check_golden("ema_cross.jsonl", EMA_CROSS);
    let expected = std::fs::read_to_string(golden_path("ema_cross_expected.csv")).unwrap();
    let want: Vec<Vec<&str>> = expected
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let got = intents(&out);
    assert!(want.len() > 4, "the tape crosses several times");
    assert_eq!(got.len(), want.len());
    assert_eq!(want[0][1], "buy", "long_only: the first signal is a buy");
    for (i, w) in got.iter().zip(&want) {
        assert_eq!(i["ts_ns"].to_string(), w[0]);
        assert_eq!(i["side"], w[1]);
        for (k, key) in ["fast", "slow"].iter().enumerate() {
            let t: f64 = w[2 + k].parse().unwrap();
            let v = i["meta"][key].as_f64().unwrap();
            assert!((v - t).abs() <= 1e-9 * t.abs(), "{key}: {v} vs {t}");
        }
    }
}

#[test]
fn list_prints_classes_params_and_defaults() {
    let out = strat()
        .arg("--list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    for want in [
        "trendline_break",
        "lookback_periods",
        "default 20",
        "default 0.02",
        "rsi_tema_bb",
        "bb_std",
        "default 2",
        "rsi_overbought",
        "default 70",
        "ema_cross",
        "long_only",
        "default true",
        "required",
    ] {
        assert!(out.contains(want), "--list lacks {want}:\n{out}");
    }
}

#[test]
fn invalid_strategies_file_is_a_config_error() {
    let (_dir, strategies, base) = setup(
        "strategies:\n  - {id: x, class: rsi_tema_bb, symbols: [A/B], events: [trade], params: {qty: 1, rsi_period: fourteen}}\n",
    );
    let out = strat()
        .arg("--config")
        .arg(&base)
        .arg("--strategies")
        .arg(&strategies)
        .write_stdin("")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("strategies.yaml")
            && err.contains("strategy `x`")
            && err.contains("params.rsi_period")
            && err.contains("fourteen"),
        "{err}"
    );
    let missing = strategies.with_file_name("nope.yaml");
    let out = strat()
        .arg("--config")
        .arg(&base)
        .arg("--strategies")
        .arg(&missing)
        .write_stdin("")
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("nope.yaml"));
}

/// A tape of `n` trades on two symbols: a slow wave with enough swing for both strategies.
fn tape(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let sym = if i % 2 == 0 { "ATOM/USDT" } else { "BTC/USDT" };
        let x = i as f64;
        let p = 10.0 + (x / 37.0).sin() * 0.8 + (x / 5.0).sin() * 0.15;
        s.push_str(&format!(
            "{{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"{sym}\",\"trade_id\":\"{i}\",\"price\":{p:.4},\"qty\":1,\"side\":\"buy\",\"ts_ns\":{}}}\n",
            T0 + i as i64 * SEC
        ));
    }
    s
}

const BOTH: &str = "strategies:
  - {id: tl, class: trendline_break, symbols: ['*/USDT'], events: [trade], params: {qty: 1, breakout_threshold: 0.01}}
  - {id: rtb, class: rsi_tema_bb, symbols: ['*/USDT'], events: [trade], params: {qty: 1, tema_period: 3, bb_std: 1.5}}
";

#[test]
fn same_input_gives_identical_bytes() {
    let (_dir, strategies, base) = setup(BOTH);
    let input = tape(4000);
    let run = || {
        strat()
            .arg("--config")
            .arg(&base)
            .arg("--strategies")
            .arg(&strategies)
            .write_stdin(input.clone())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let a = run();
    assert_eq!(a, run());
    let a = String::from_utf8(a).unwrap();
    let sig = signals(&a);
    assert!(
        sig.iter().any(|s| s.1 == "tl") && sig.iter().any(|s| s.1 == "rtb"),
        "{sig:?}"
    );
    assert_eq!(
        a.lines().filter(|l| !is_intent(l)).count(),
        4000,
        "every line forwarded"
    );
    // Ids are unique and valid venue client order ids.
    let ids: std::collections::HashSet<String> = intents(&a)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), sig.len());
    assert!(
        ids.iter()
            .all(|id| id.len() <= 36 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    );
    // --emit-only writes just the intents, the same ones.
    let only = strat()
        .arg("--config")
        .arg(&base)
        .arg("--strategies")
        .arg(&strategies)
        .arg("--emit-only")
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let want: String = a
        .lines()
        .filter(|l| is_intent(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(String::from_utf8(only).unwrap(), want);
}

/// A running `njord-strat` fed line by line.
struct Live {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Live {
    fn start(base: &Path, strategies: &Path) -> Live {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-strat"))
            .env_remove("NJORD_STRATEGIES")
            .env_remove("NJORD_CONFIG")
            .args(["--log-level", "info", "--config"])
            .arg(base)
            .arg("--strategies")
            .arg(strategies)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let (tx, stderr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                let _ = tx.send(std::mem::take(&mut line));
            }
        });
        Live {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Sends lines and reads back what they cause (each forwarded line plus any intents,
    /// up to the forward of the last one).
    fn feed(&mut self, lines: &[&str]) -> Vec<String> {
        for l in lines {
            writeln!(self.stdin, "{l}").unwrap();
        }
        self.stdin.flush().unwrap();
        let mut got = Vec::new();
        let mut forwarded = 0;
        while forwarded < lines.len() {
            let mut l = String::new();
            assert!(self.stdout.read_line(&mut l).unwrap() > 0, "stdout closed");
            if !is_intent(&l) {
                forwarded += 1;
            }
            got.push(l);
        }
        got
    }

    fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(100))
                && l.contains(needle)
            {
                return l;
            }
        }
        panic!("no log line with `{needle}`");
    }

    fn finish(mut self) -> String {
        drop(self.stdin);
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        assert!(self.child.wait().unwrap().success());
        rest
    }
}

fn trade(sym: &str, i: i64, price: &str) -> String {
    format!(
        "{{\"kind\":\"trade\",\"venue\":\"x\",\"symbol\":\"{sym}\",\"trade_id\":\"{i}\",\"price\":{price},\"qty\":1,\"side\":\"buy\",\"ts_ns\":{}}}",
        T0 + i * SEC
    )
}

const BEFORE: &str = "strategies:
  - {id: keep, class: trendline_break, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}
  - {id: drop, class: trendline_break, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}
";
const AFTER: &str = "strategies:
  - {id: keep, class: trendline_break, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}
  - {id: new, class: trendline_break, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}
";

/// How a test makes the running stage reload.
#[derive(Clone, Copy)]
enum Reload {
    Sighup,
    FileChange,
}

impl Reload {
    /// Triggers a reload and feeds one flat trade; returns once the log says `needle`.
    fn apply(self, live: &mut Live, i: i64, needle: &str) {
        match self {
            Reload::Sighup => {
                let pid = live.child.id().to_string();
                let ok = std::process::Command::new("kill")
                    .args(["-HUP", &pid])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
                live.wait_log(needle);
                live.feed(&[&trade("ATOM/USDT", i, "10.0")]);
            }
            Reload::FileChange => {
                // The watcher polls size and mtime; the stage applies a change before the
                // next event.
                live.wait_log("changed; it is applied before the next event");
                live.feed(&[&trade("ATOM/USDT", i, "10.0")]);
                live.wait_log(needle);
            }
        }
    }
}

/// Streams a flat tape, reloads half-way, then breaks out: the kept strategy remembers the
/// flat prices from before the reload and signals; the new one has seen too few prices; the
/// removed one is silent; an invalid file changes nothing. Every line is forwarded.
fn reload_while_streaming(how: Reload) {
    let (_dir, strategies, base) = setup(BEFORE);
    let mut live = Live::start(&base, &strategies);
    let first: Vec<String> = (0..10).map(|i| trade("ATOM/USDT", i, "10.0")).collect();
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    let got = live.feed(&refs);
    assert_eq!(got.len(), 10, "no intents on a flat tape");
    std::fs::write(&strategies, AFTER).unwrap();
    how.apply(
        &mut live,
        10,
        "reloaded: added new; removed drop; re-created -; kept keep",
    );
    std::fs::write(&strategies, "strategies: [{id: keep}]\n").unwrap();
    how.apply(&mut live, 11, "keeping the running strategies");
    let got = live.feed(&[&trade("ATOM/USDT", 12, "10.22")]);
    // The intent follows the line that caused it, so it is read with the rest at EOF.
    let out = got.concat() + &live.finish();
    assert_eq!(out.lines().filter(|l| !is_intent(l)).count(), 1);
    assert_eq!(
        signals(&out),
        [(12, "keep".into(), "ATOM/USDT".into(), "buy".into())],
        "kept state across the reload; the new strategy has only 2 prices before the break"
    );
}

#[test]
fn sighup_reloads_while_a_tape_streams() {
    reload_while_streaming(Reload::Sighup);
}

#[test]
fn a_changed_file_is_reloaded_while_a_tape_streams() {
    reload_while_streaming(Reload::FileChange);
}

#[test]
fn bus_subscribes_to_strategy_events_and_publishes_intents() {
    let server = support::RedisServer::start();
    let url = server.url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = server.conn();
    let mut sub_conn = client.get_connection().unwrap();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.subscribe("strat.intent").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let (_dir, strategies, base) = setup(
        "strategies:\n  - {id: tl, class: trendline_break, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}\n",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-strat"))
        .env_remove("NJORD_STRATEGIES")
        .env_remove("NJORD_CONFIG")
        .args(["--log-level", "warn", "--config"])
        .arg(&base)
        .arg("--strategies")
        .arg(&strategies)
        .args(["--bus", &url])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Publish flat trades until the daemon has subscribed and seen enough, then breakouts.
    // BTC trades arrive too (`trade` subscribes to md.trades.*) and break out earlier and
    // more often, but the strategy's symbols are ATOM/USDT only.
    let mut got = Vec::new();
    let start = Instant::now();
    let mut i = 0;
    while !got.iter().any(|m: &String| m.contains("ATOM/USDT"))
        && start.elapsed() < Duration::from_secs(20)
    {
        let atom = if i >= 40 && i % 10 == 0 {
            "10.5"
        } else {
            "10.0"
        };
        let btc = if i % 10 == 5 { "120" } else { "99" };
        for (sym, price) in [("ATOM/USDT", atom), ("BTC/USDT", btc)] {
            let _: i64 = redis::cmd("PUBLISH")
                .arg(format!("md.trades.{sym}"))
                .arg(trade(sym, i, price))
                .query(&mut conn)
                .unwrap();
        }
        i += 1;
        while let Ok(msg) = pubsub.get_message() {
            got.push(msg.get_payload::<String>().unwrap());
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(!got.is_empty(), "an intent on strat.intent");
    for m in &got {
        let intent: serde_json::Value = serde_json::from_str(m).unwrap();
        assert_eq!(intent["kind"], "intent");
        assert_eq!(intent["symbol"], "ATOM/USDT", "{m}");
        assert_eq!(intent["side"], "buy");
    }
    assert!(status.success(), "{status:?}");
    drop(server);
}
