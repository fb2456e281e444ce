//! `njord-ingest` end to end, against the real `njord-sim` over WebSockets on loopback.
//!
//! The simulator plays its tape only when told (`--speed step`, `POST /control/step`), so each
//! test decides exactly which trades exist; waits poll the output with a generous deadline
//! and never measure time.

use crate::support::{self, SimServer};
use crate::telemetry;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// Waits until `cond` holds; panics with `what` after [`DEADLINE`].
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Lines a child writes, collected by a thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(r: impl Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                match line {
                    Ok(s) => l.0.lock().unwrap().push(strip_ansi(&s)),
                    Err(_) => break,
                }
            }
        });
        lines
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn text(&self) -> String {
        self.all().join("\n")
    }
}

/// The line without terminal colour codes (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A minimal HTTP/1.1 client for the simulator's REST and control endpoints.
fn http(base: &str, method: &str, path: &str, body: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {resp}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// Two interleaved tapes of `n` trades each (ATOM/USDT and BTC/USDT), written to `dir`.
fn tape(dir: &Path, n: u64) -> (PathBuf, Vec<String>) {
    let generate = |sym: &str, seed: &str, price: &str, tick: &str| -> Vec<String> {
        let out = support::sim_command()
            .args([
                "gen",
                "--symbol",
                sym,
                "--count",
                &n.to_string(),
                "--seed",
                seed,
            ])
            .args(["--price", price, "--tick", tick])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let a = generate("ATOM/USDT", "7", "10", "0.001");
    let b = generate("BTC/USDT", "8", "40000", "0.01");
    let lines: Vec<String> = a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect();
    let path = dir.join("tape.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, lines)
}

/// The shared sim fixture with this file's helpers.
struct Sim(SimServer);

impl std::ops::Deref for Sim {
    type Target = SimServer;
    fn deref(&self) -> &SimServer {
        &self.0
    }
}

impl Sim {
    fn start(tape: &Path, extra: &[&str]) -> Sim {
        let mut cmd = support::sim_command();
        cmd.args(["-q", "serve", "--speed", "step", "--tape"])
            .arg(tape)
            .args(extra);
        Sim(SimServer::spawn(cmd))
    }
    fn step(&self, n: u64) {
        let r = http(
            &self.rest,
            "POST",
            "/control/step",
            &format!("{{\"trades\":{n}}}"),
        );
        assert!(r.contains(&format!("\"played\":{n}")), "{r}");
    }
    fn depth(&self, symbol: &str) -> serde_json::Value {
        let body = http(
            &self.rest,
            "GET",
            &format!("/api/v3/depth?symbol={symbol}&limit=20"),
            "",
        );
        serde_json::from_str(&body).unwrap()
    }
}

struct Ingest {
    child: Child,
    out: Lines,
    err: Lines,
    journal: PathBuf,
}

impl Ingest {
    fn start(dir: &Path, rest: &str, ws: &str, ingest_cfg: &str, args: &[&str]) -> Ingest {
        let journal = dir.join("journal");
        let cfg = dir.join("base.yaml");
        std::fs::write(
            &cfg,
            format!(
                "journal:\n  dir: {}\nlogging:\n  log_dir: {}\ningest:\n{ingest_cfg}",
                journal.display(),
                dir.join("log").display()
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_njord-ingest"))
            .arg("--config")
            .arg(&cfg)
            .args(["--rest-url", rest, "--ws-url", ws])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Lines::collect(child.stdout.take().unwrap());
        let err = Lines::collect(child.stderr.take().unwrap());
        Ingest {
            child,
            out,
            err,
            journal,
        }
    }

    /// Emitted trade ids per symbol, in output order.
    fn trade_ids(&self) -> BTreeMap<String, Vec<u64>> {
        let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for l in self.out.all() {
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            if v["kind"] == "trade" {
                m.entry(v["symbol"].as_str().unwrap().to_string())
                    .or_default()
                    .push(v["trade_id"].as_str().unwrap().parse().unwrap());
            }
        }
        m
    }

    fn wait_subscribed(&self) {
        wait_for("the subscription", || {
            self.err.text().contains("subscribed")
        });
    }

    fn wait_trades(&self, per_symbol: u64) {
        wait_for(&format!("trade {per_symbol} of every symbol"), || {
            let ids = self.trade_ids();
            ids.len() == 2 && ids.values().all(|v| v.contains(&per_symbol))
        });
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return s;
            }
            assert!(Instant::now() < end, "njord-ingest did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_complete(ids: &BTreeMap<String, Vec<u64>>, n: u64) {
    for (sym, v) in ids {
        let want: Vec<u64> = (1..=n).collect();
        if *v != want {
            let dups = v.len() - v.iter().collect::<std::collections::BTreeSet<_>>().len();
            panic!(
                "{sym}: {} trades, {dups} duplicates, in order: {}, first ids {:?}",
                v.len(),
                v.windows(2).all(|w| w[0] < w[1]),
                &v[..v.len().min(20)]
            );
        }
    }
}

#[test]
fn tape_arrives_complete_in_order_and_the_journal_replays_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1500;
    let (tape_path, tape) = tape(dir.path(), n);
    let sim = Sim::start(&tape_path, &[]);
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  stats_interval_secs: 1\n",
        &["--symbol", "ATOM/USDT", "--symbol", "BTC/USDT"],
    );
    ing.wait_subscribed();
    for _ in 0..6 {
        sim.step(2 * n / 6);
    }
    ing.wait_trades(n);
    assert!(ing.stop().success(), "{}", ing.err.text());
    let ids = ing.trade_ids();
    assert_eq!(ids.len(), 2);
    assert_complete(&ids, n);
    // The closing counters carry the frame-to-stdout latency of the lines written.
    let err = ing.err.text();
    let done = err
        .lines()
        .rfind(|l| l.contains("njord-ingest: done"))
        .unwrap_or_else(|| panic!("no closing counters in {err}"));
    let p99: u64 = done
        .split("out_latency_p99_us=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no latency in {done}"));
    assert!(p99 < 10_000_000, "{done}");

    // Every field of every trade is the tape's; the side is the taker's.
    let out = ing.out.all();
    let trades: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "trade")
        .collect();
    for t in &trades {
        let id: usize = t["trade_id"].as_str().unwrap().parse().unwrap();
        let k = (id - 1) * 2 + usize::from(t["symbol"] == "BTC/USDT");
        let src: serde_json::Value = serde_json::from_str(&tape[k]).unwrap();
        for key in ["symbol", "price", "qty", "side", "ts_ns", "venue"] {
            assert_eq!(t[key], src[key], "{key} of {t} vs {src}");
        }
        assert!(t["ts_local_ns"].as_i64().unwrap() > 0);
    }
    assert!(out.iter().any(|l| l.starts_with(r#"{"kind":"ticker""#)));
    assert!(out.iter().any(|l| l.starts_with(r#"{"kind":"book""#)));

    // Replaying a journal gives exactly the trade lines that were output.
    for (sym, file) in [("ATOM/USDT", "ATOMUSDT"), ("BTC/USDT", "BTCUSDT")] {
        let journal =
            std::fs::read_to_string(ing.journal.join(format!("md.trades.{file}.ndjson"))).unwrap();
        let published: Vec<&String> = out
            .iter()
            .filter(|l| {
                l.starts_with(r#"{"kind":"trade""#) && l.contains(&format!("\"symbol\":\"{sym}\""))
            })
            .collect();
        let journaled: Vec<&str> = journal.lines().collect();
        assert_eq!(journaled.len(), n as usize);
        assert!(journaled.iter().zip(&published).all(|(a, b)| a == b));
    }
    let err = ing.err.text();
    assert!(
        err.contains("trades=3000") && err.contains("reconnects=0"),
        "{err}"
    );
}

/// Duplicated frames, reordered frames, connections dropped mid-batch (so depth updates are
/// lost: a forced book gap), a server that stopped pinging and went quiet: the output still
/// has every trade id once, in order, and the book ends equal to the simulator's.
#[test]
fn faults_leave_no_duplicate_no_missing_trade_and_a_true_book() {
    let dir = tempfile::tempdir().unwrap();
    let n = 2000;
    let (tape_path, _) = tape(dir.path(), n);
    let scenario = dir.path().join("faults.json");
    std::fs::write(
        &scenario,
        r#"{"faults":[{"fault":"duplicate_trades","every":5},{"fault":"reorder_trades","every":7},{"fault":"ws_drop_after","messages":700},{"fault":"stop_pings"}]}"#,
    )
    .unwrap();
    let sim = Sim::start(
        &tape_path,
        &[
            "--scenario",
            scenario.to_str().unwrap(),
            "--ping-interval-ms",
            "100",
        ],
    );
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  reconnect_base_ms: 20\n  reconnect_max_ms: 200\n  liveness_timeout_ms: 700\n  ping_idle_ms: 0\n  gap_hold_ms: 50\n",
        &["--symbol", "ATOM/USDT", "--symbol", "BTC/USDT"],
    );
    ing.wait_subscribed();
    let mut played = 0;
    while played < 2 * n - 400 {
        sim.step(200);
        played += 200;
        std::thread::sleep(Duration::from_millis(30));
        if played == 1000 {
            // Quiet, without pings: only the liveness timer notices.
            wait_for("a liveness reconnect", || {
                ing.err.text().contains("no frame for")
            });
        }
    }
    http(&sim.rest, "POST", "/control/clear", "");
    sim.step(2 * n - played);
    ing.wait_trades(n);
    for (venue, pair) in [("ATOMUSDT", "ATOM/USDT"), ("BTCUSDT", "BTC/USDT")] {
        let d = sim.depth(venue);
        let norm = |side: &serde_json::Value| -> Vec<(String, String)> {
            side.as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let n = |x: &serde_json::Value| {
                        let s = x.to_string().trim_matches('"').to_string();
                        let d: rust_decimal::Decimal = s.parse().unwrap();
                        d.normalize().to_string()
                    };
                    (n(&l[0]), n(&l[1]))
                })
                .collect()
        };
        wait_for(&format!("the {pair} book to match the simulator's"), || {
            let last = ing.out.all().into_iter().rev().find(|l| {
                l.starts_with(r#"{"kind":"book""#) && l.contains(&format!("\"symbol\":\"{pair}\""))
            });
            last.is_some_and(|l| {
                let b: serde_json::Value = serde_json::from_str(&l).unwrap();
                norm(&b["bids"]) == norm(&d["bids"]) && norm(&b["asks"]) == norm(&d["asks"])
            })
        });
    }
    // The faults show in the metrics, and every one njord-ingest emits is in the catalogue.
    let err = ing.err.text();
    let addr = err
        .split("metrics on http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the metrics address is logged")
        .to_string();
    let (status, _, metrics) = telemetry::get(&addr, "/metrics", &[]);
    assert_eq!(status, 200);
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
    };
    assert!(value("njord_ws_reconnects_total") >= 1.0);
    assert!(value("njord_ws_book_resyncs_total") >= 1.0);
    assert!(value(r#"njord_events_out_total{kind="trade"}"#) >= (2 * n) as f64);
    assert!(value(r#"njord_http_requests_total{endpoint="GET /api/v3/depth",code="200"}"#) >= 2.0);
    assert!(value("njord_frame_latency_seconds_count") >= (2 * n) as f64);
    let bad = telemetry::mismatch(
        &telemetry::catalogue(),
        "njord-ingest",
        &telemetry::sampled(&metrics),
        false,
    );
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
    assert_eq!(telemetry::get(&addr, "/readyz", &[]).0, 200);

    assert!(ing.stop().success());
    assert_complete(&ing.trade_ids(), n);
    let err = ing.err.text();
    assert!(
        err.contains("resyncing the book"),
        "no forced book gap: {err}"
    );
    assert!(
        err.contains("Connection reset"),
        "no dropped connection: {err}"
    );
    assert!(!err.contains("could not be recovered"), "{err}");
    let dups: u64 = err
        .split("duplicates=")
        .last()
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(dups > 0, "duplicated frames were not seen: {err}");
}

/// A WebSocket server that answers the subscription, then sends garbage around valid trades.
fn garbage_server() -> String {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let Some(Ok(Message::Text(sub))) = ws.next().await else {
                return;
            };
            assert!(sub.contains("SUBSCRIBE") && sub.contains("atomusdt@trade"));
            ws.send(Message::text(r#"{"result":null,"id":1}"#)).await.unwrap();
            let trade = |id: u64| {
                format!(
                    r#"{{"stream":"atomusdt@trade","data":{{"e":"trade","E":1,"s":"ATOMUSDT","t":{id},"p":"10.00000000","q":"1.00000000","b":1,"a":2,"T":1700000000000,"m":false,"M":true}}}}"#
                )
            };
            let garbage = [
                Message::text("garbage"),
                Message::text("{"),
                Message::text(r#"{"stream":"atomusdt@kline_1m","data":{"k":1}}"#),
                Message::text(r#"{"stream":"atomusdt@trade","data":{"s":"ATOMUSDT","t":"x"}}"#),
                Message::text(r#"{"stream":"ethusdt@trade","data":{"e":"trade","s":"ETHUSDT","t":1,"p":"1","q":"1","T":1,"m":false}}"#),
                Message::binary(vec![0xff, 0, 1]),
            ];
            for (id, g) in (1..=6).zip(garbage) {
                ws.send(g).await.unwrap();
                ws.send(Message::text(trade(id))).await.unwrap();
            }
            // Stay open until the client leaves.
            while let Some(Ok(_)) = ws.next().await {}
        });
    });
    format!("ws://{addr}")
}

#[test]
fn garbage_frames_are_logged_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 10);
    let sim = Sim::start(&tape_path, &[]);
    let ws = garbage_server();
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &ws,
        "  liveness_timeout_ms: 60000\n",
        &["--symbol", "ATOM/USDT", "--streams", "trades"],
    );
    wait_for("six trades", || {
        ing.trade_ids()
            .get("ATOM/USDT")
            .is_some_and(|v| v.len() == 6)
    });
    assert!(ing.stop().success());
    assert_eq!(ing.trade_ids()["ATOM/USDT"], vec![1, 2, 3, 4, 5, 6]);
    let err = ing.err.text();
    assert!(err.contains("skipped a frame"), "{err}");
    assert!(
        err.contains("bad_frames=6") && err.contains("reconnects=0"),
        "{err}"
    );
}

#[test]
fn unknown_symbol_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 10);
    let sim = Sim::start(&tape_path, &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_njord-ingest"))
        .args([
            "--symbol",
            "DOGE/USDT",
            "--rest-url",
            &sim.rest,
            "--ws-url",
            &sim.ws,
        ])
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DOGE/USDT") && err.contains("not listed"),
        "{err}"
    );
}

#[test]
fn publishes_on_redis_topics() {
    let redis = support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 50);
    let sim = Sim::start(&tape_path, &[]);
    let mut conn = redis.conn();
    let mut ps = conn.as_pubsub();
    ps.psubscribe("md.*").unwrap();
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  stats_interval_secs: 60\n",
        &[
            "--symbol",
            "ATOM/USDT",
            "--streams",
            "trades,ticker",
            "--bus",
            &redis.url(),
        ],
    );
    ing.wait_subscribed();
    sim.step(20);
    ps.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut trades = 0;
    let mut tickers = 0;
    while trades < 10 {
        let m = ps.get_message().unwrap();
        let payload: String = m.get_payload().unwrap();
        match m.get_channel_name() {
            "md.trades.ATOM/USDT" => {
                trades += 1;
                assert!(payload.contains(r#""kind":"trade""#) && !payload.ends_with('\n'));
            }
            "md.ticker.ATOM/USDT" => tickers += 1,
            other => panic!("unexpected topic {other}"),
        }
    }
    assert!(tickers > 0);
    assert!(ing.stop().success());
    assert!(
        ing.out.all().is_empty(),
        "stdout carries nothing with --bus"
    );
}

/// Id ranges reported on stderr as "trade ids A..=B (…) were missed and could not be
/// recovered", per symbol.
fn reported_holes(err: &str) -> BTreeMap<String, Vec<(u64, u64)>> {
    let mut m: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for line in err.lines().filter(|l| l.contains("could not be recovered")) {
        let Some((sym, rest)) = line.split_once(": trade ids ") else {
            continue;
        };
        let sym = sym.rsplit(' ').next().unwrap().to_string();
        let range = rest.split(' ').next().unwrap();
        let (a, b) = range.split_once("..=").unwrap();
        m.entry(sym)
            .or_default()
            .push((a.parse().unwrap(), b.parse().unwrap()));
    }
    m
}

/// An outage longer than REST's memory (here 5 trades): what REST has is emitted, the rest is
/// reported with its exact id range, and nothing else is missing.
#[test]
fn unfillable_gaps_are_reported_with_their_id_range() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 200);
    let sim = Sim::start(&tape_path, &[]);
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  reconnect_base_ms: 3000\n  reconnect_max_ms: 3000\n  recovery_trades: 5\n",
        &[
            "--symbol",
            "ATOM/USDT",
            "--symbol",
            "BTC/USDT",
            "--streams",
            "trades",
        ],
    );
    ing.wait_subscribed();
    sim.step(20);
    ing.wait_trades(10);
    http(
        &sim.rest,
        "POST",
        "/control/fault",
        r#"{"fault":"ws_drop_after","messages":1}"#,
    );
    sim.step(2);
    wait_for("the dropped connection", || {
        ing.err.text().contains("stream lost")
    });
    // Ingest waits at least 1.5 s before reconnecting; these trades happen meanwhile.
    http(&sim.rest, "POST", "/control/clear", "");
    sim.step(100);
    wait_for("the reconnection", || {
        ing.err.text().matches("subscribed").count() == 2
    });
    sim.step(78);
    ing.wait_trades(100);
    assert!(ing.stop().success());
    let ids = ing.trade_ids();
    let holes = reported_holes(&ing.err.text());
    for (sym, v) in &ids {
        assert!(
            v.windows(2).all(|w| w[0] < w[1]),
            "{sym} not strictly increasing"
        );
        let mut expected: Vec<u64> = (1..=100).collect();
        for (a, b) in holes.get(sym).cloned().unwrap_or_default() {
            expected.retain(|id| *id < a || *id > b);
        }
        assert_eq!(*v, expected, "{sym}: output and reported holes disagree");
        assert!(holes.contains_key(sym), "{sym}: no hole reported");
    }
}

/// Connections are replaced before the venue's 24 h limit (here 1 s) without losing a trade.
#[test]
fn proactive_reconnects_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 150);
    let sim = Sim::start(&tape_path, &[]);
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  max_connection_secs: 1\n",
        &["--symbol", "ATOM/USDT", "--symbol", "BTC/USDT"],
    );
    ing.wait_subscribed();
    for round in 1..=3 {
        sim.step(100);
        ing.wait_trades(50 * round);
        wait_for("a proactive reconnect", || {
            ing.err.text().matches("24 h limit").count() >= round as usize
        });
    }
    assert!(ing.stop().success());
    assert_complete(&ing.trade_ids(), 150);
    assert!(!ing.err.text().contains("could not be recovered"));
}

/// `njord-ingest | head`: a closed stdout ends the run quietly, with status 0.
#[test]
fn closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 100);
    let sim = Sim::start(&tape_path, &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_njord-ingest"))
        .args([
            "--rest-url",
            &sim.rest,
            "--ws-url",
            &sim.ws,
            "--symbol",
            "ATOM/USDT",
        ])
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env(
            "NJORD__JOURNAL__DIR",
            dir.path().join("j").to_str().unwrap(),
        )
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = Lines::collect(child.stderr.take().unwrap());
    wait_for("the subscription", || err.text().contains("subscribed"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    sim.step(2);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("ATOM/USDT"), "{line}");
    drop(stdout);
    let end = Instant::now() + DEADLINE;
    let status = loop {
        sim.step(2);
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < end,
            "njord-ingest kept running with stdout closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}: {}", err.text());
}

/// The server pings every 300 ms and drops a connection whose pong is 600 ms late: ingest
/// answers, so the connection lives on (and the pings alone keep the liveness timer quiet).
/// Pongs count towards the venue's 5 messages a second, hence no faster pings.
#[test]
fn pings_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 20);
    let sim = Sim::start(
        &tape_path,
        &["--ping-interval-ms", "300", "--pong-timeout-ms", "600"],
    );
    let mut ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  ping_idle_ms: 0\n  liveness_timeout_ms: 1000\n",
        &["--symbol", "ATOM/USDT", "--symbol", "BTC/USDT"],
    );
    ing.wait_subscribed();
    std::thread::sleep(Duration::from_millis(1500));
    sim.step(40);
    ing.wait_trades(20);
    assert!(ing.stop().success());
    let err = ing.err.text();
    assert!(
        !err.contains("stream lost") && err.contains("reconnects=0"),
        "{err}"
    );
}

/// njord-alert's own view of the daemons (it polls their /livez, /readyz and /metrics): a
/// venue that drops njord-ingest's WebSockets and fails its depth snapshots is a reconnect
/// storm and venue errors; an address where nothing answers, and then njord-ingest killed,
/// are daemons down.
#[test]
fn njord_alert_sees_reconnect_storms_venue_errors_and_dead_daemons() {
    let dir = tempfile::tempdir().unwrap();
    let (tape_path, _) = tape(dir.path(), 600);
    let sim = Sim::start(&tape_path, &[]);
    let ing = Ingest::start(
        dir.path(),
        &sim.rest,
        &sim.ws,
        "  reconnect_base_ms: 20\n  reconnect_max_ms: 100\n",
        &["--symbol", "ATOM/USDT", "--symbol", "BTC/USDT"],
    );
    ing.wait_subscribed();
    let addr = ing
        .err
        .text()
        .split("metrics on http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the metrics address is logged")
        .to_string();
    let rx = crate::alert::Receiver::start(false);
    let gone = support::free_port();
    let rules = format!(
        r#"channels:
  hook: {{type: webhook, url: "http://{}/hook"}}
poll_every: 1s
daemons:
  ingest: http://{addr}
  gone: http://127.0.0.1:{gone}
rules:
  - {{name: down, when: {{daemon_down: 1s}}, channels: [hook]}}
  - {{name: storm, when: {{reconnect_storm: {{count: 2, window: 1m}}}}, channels: [hook]}}
  - {{name: venue, when: {{venue_errors: {{count: 2, window: 1m}}}}, channels: [hook]}}
"#,
        rx.addr
    );
    let alert_dir = tempfile::tempdir().unwrap();
    let mut alert = crate::alert::alert_cmd(alert_dir.path(), &rules, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fired = |r: &crate::alert::Receiver, rule: &str, key: &str| {
        r.got().iter().any(|g| {
            let a = &g.body["alerts"][0];
            g.body["status"] == "firing"
                && a["labels"]["alertname"] == rule
                && a["labels"]["key"] == key
        })
    };
    // Polls are running once the dead address is reported; the counters rise after that.
    rx.wait_for("gone reported down", |r| fired(r, "down", "gone"));
    assert!(!fired(&rx, "down", "ingest"), "{:#?}", rx.got());
    for fault in [
        r#"{"fault":"ws_drop_after","messages":40}"#,
        r#"{"fault":"http_error","path":"/api/v3/depth","status":503,"count":3}"#,
    ] {
        http(&sim.rest, "POST", "/control/fault", fault);
    }
    for _ in 0..5 {
        sim.step(100);
        std::thread::sleep(Duration::from_millis(300));
    }
    rx.wait_for("a reconnect storm and venue errors on ingest", |r| {
        fired(r, "storm", "ingest") && fired(r, "venue", "ingest")
    });
    let got = rx.got();
    let storm = got
        .iter()
        .find(|g| g.body["alerts"][0]["labels"]["alertname"] == "storm")
        .unwrap();
    let summary = storm.body["alerts"][0]["annotations"]["summary"]
        .as_str()
        .unwrap();
    assert!(summary.contains("ingest had"), "{summary}");
    // Killed: down within the bound and a poll.
    drop(ing);
    rx.wait_for("ingest reported down", |r| fired(r, "down", "ingest"));
    drop(alert.stdin.take());
    assert!(alert.wait().unwrap().success());
}
