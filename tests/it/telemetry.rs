//! Telemetry: the metric catalogue (`docs/metrics.md`) against what each binary really emits,
//! the endpoints of a daemon on a real Redis, the bearer token, and the series budget.

use crate::broker;
use crate::support::{self, RedisServer};
use assert_cmd::Command;
use predicates::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const STAGES: [&str; 7] = [
    "njord-strat",
    "njord-risk",
    "njord-paper",
    "njord-bars",
    "njord-portfolio",
    "njord-exec",
    "njord-broker",
];

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::cargo_bin(bin).unwrap();
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

/// The catalogue: metric name → the binaries it lists (`stages` expanded; `bus` kept).
pub(crate) fn catalogue() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(repo("docs/metrics.md")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let mut who = BTreeSet::new();
        for b in cells[5].split(',').map(str::trim) {
            if b == "stages" {
                who.extend(STAGES.iter().map(|s| s.to_string()));
            } else {
                who.insert(b.to_string());
            }
        }
        assert!(
            out.insert(name.clone(), who).is_none(),
            "{name} listed twice"
        );
    }
    out
}

/// The metric names with at least one sample in a Prometheus text exposition (histogram
/// series under their family's name).
pub(crate) fn sampled(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let name = l.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| text.contains(&format!("# TYPE {f} histogram")));
            family.unwrap_or(name).to_string()
        })
        .collect()
}

/// The series (sample lines) of an exposition.
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

/// Runs `bin` on `input` with `--metrics-file`; returns its stdout and the metrics file.
fn run_metered(
    bin: &str,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    input: &[u8],
) -> (Vec<u8>, String) {
    let file = dir.join(format!("{bin}.prom"));
    let mut c = cmd(bin, dir);
    c.args(args).arg("--metrics-file").arg(&file);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.write_stdin(input.to_vec()).output().unwrap();
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, std::fs::read_to_string(&file).unwrap())
}

fn lines_with(out: &[u8], kind: &str) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.starts_with(&format!(r#"{{"kind":"{kind}""#)))
        .map(str::to_string)
        .collect()
}

/// The names emitted but not listed for `bin`, and the names listed for it but not emitted.
pub(crate) fn mismatch(
    cat: &BTreeMap<String, BTreeSet<String>>,
    bin: &str,
    emitted: &BTreeSet<String>,
    bus: bool,
) -> Vec<String> {
    let listed: BTreeSet<&String> = cat
        .iter()
        .filter(|(_, who)| who.contains(bin) || (bus && who.contains("bus")))
        .map(|(n, _)| n)
        .collect();
    let mut bad = Vec::new();
    for n in emitted {
        if !listed.contains(n) {
            bad.push(format!(
                "{bin} emits {n}, which docs/metrics.md does not list for it"
            ));
        }
    }
    for n in listed {
        if !emitted.contains(n) {
            bad.push(format!(
                "docs/metrics.md lists {n} for {bin}, which never emitted it"
            ));
        }
    }
    bad
}

#[test]
fn the_catalogue_lists_exactly_what_each_stage_emits() {
    let cat = catalogue();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tape = cmd("njord-replay", d)
        .arg(repo("examples/data/atom_demo.ndjson.gz"))
        .output()
        .unwrap()
        .stdout;
    let trades: Vec<u8> = String::from_utf8_lossy(&tape)
        .lines()
        .filter(|l| l.starts_with(r#"{"kind":"trade""#))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let mut emitted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut note = |bin: &'static str, text: &str| {
        emitted.entry(bin).or_default().extend(sampled(text));
    };

    let (_, m) = run_metered("njord-bars", d, &[], &[], &trades);
    note("njord-bars", &m);
    let strategies = repo("examples/demo_strategies.yaml");
    let (strat_out, m) = run_metered(
        "njord-strat",
        d,
        &["--strategies", strategies.to_str().unwrap()],
        &[],
        &tape,
    );
    note("njord-strat", &m);
    assert!(!lines_with(&strat_out, "intent").is_empty());

    // Small journal files, so the risk engine's decisions journal rotates.
    let (risk_out, m) = run_metered(
        "njord-risk",
        d,
        &[],
        &[("NJORD__JOURNAL__ROTATE_MAX_BYTES", "4096")],
        &strat_out,
    );
    note("njord-risk", &m);
    // With the kill switch tripped, every decision is `halted`, from the file.
    std::fs::write(d.join("halt"), "tripped by the test\n").unwrap();
    let (_, m) = run_metered("njord-risk", d, &["--kill-file", "halt"], &[], &strat_out);
    assert!(
        m.contains(r#"njord_kill_switch_trips_total{source="file"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"njord_trading_state{state="halted"} 1"#),
        "{m}"
    );
    note("njord-risk", &m);

    // An order the paper trader rejects: a parent, which belongs to njord-exec.
    let mut paper_in = risk_out.clone();
    paper_in.extend_from_slice(br#"{"kind":"order","intent_id":"parent","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"exec":{"algo":"twap","duration":"10m","slices":5},"ts_accepted_ns":1767571200000000000}"#);
    paper_in.push(b'\n');
    let (paper_out, m) = run_metered("njord-paper", d, &[], &[], &paper_in);
    note("njord-paper", &m);
    assert!(!lines_with(&paper_out, "fill").is_empty());
    assert!(
        m.contains(r#"njord_rejects_total{code="invalid_order"} 1"#),
        "{m}"
    );

    let (_, m) = run_metered("njord-broker", d, &[], &[], &risk_out);
    note("njord-broker", &m);

    // A TWAP parent worked over the tape's trades.
    let first_ts: i64 = {
        let first = String::from_utf8_lossy(&trades)
            .lines()
            .next()
            .unwrap()
            .to_string();
        let v: serde_json::Value = serde_json::from_str(&first).unwrap();
        v["ts_ns"].as_i64().unwrap()
    };
    let mut exec_in = String::from_utf8_lossy(&trades)
        .lines()
        .next()
        .unwrap()
        .to_string()
        + "\n";
    exec_in += &format!(
        r#"{{"kind":"order","intent_id":"p","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"buy","type":"market","qty":10,"limit_price":null,"exec":{{"algo":"twap","duration":"10m","slices":5}},"ts_accepted_ns":{first_ts}}}"#
    );
    exec_in.push('\n');
    exec_in += &String::from_utf8_lossy(&trades);
    let (_, m) = run_metered(
        "njord-exec",
        d,
        &[],
        &[("NJORD__EXEC__DEFAULT_LOT_STEP", "0.01")],
        exec_in.as_bytes(),
    );
    note("njord-exec", &m);

    let portfolio = repo("config/portfolio.yaml");
    let (_, m) = run_metered(
        "njord-portfolio",
        d,
        &["--portfolio", portfolio.to_str().unwrap()],
        &[],
        &strat_out,
    );
    note("njord-portfolio", &m);

    // The live broker against njord-sim: a refusal by the cap, one by the kill switch, a
    // resting order and a fill.
    let sim_metrics = format!("127.0.0.1:{}", support::free_port());
    let sim = broker::Sim::start(&["--metrics-addr", &sim_metrics]);
    let env = broker::Env::new(Some(&sim)).live();
    let metrics = format!("127.0.0.1:{}", support::free_port());
    let mut b = env.spawn(&["--emit-only", "--metrics-addr", &metrics]);
    b.send(broker::order("cap", "buy", "market", "5", None));
    b.wait_for(20, broker::is("decision", "cap"));
    std::fs::write(env.path("halt"), "{}").unwrap();
    b.send(broker::order("halted", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, broker::is("decision", "halted"));
    std::fs::remove_file(env.path("halt")).unwrap();
    b.send(broker::order("rests", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, broker::is("ack", "rests"));
    b.send(broker::order("fills", "buy", "market", "0.5", None));
    b.wait_for(20, broker::is("fill", "fills"));
    // Far below the symbol's minimum notional: rejected.
    b.send(broker::order("tiny", "buy", "limit", "0.001", Some("5")));
    b.wait_for(20, |v| {
        broker::is("order_update", "tiny")(v) && v["status"] == "rejected"
    });
    let (status, _, m) = get(&metrics, "/metrics", &[]);
    assert_eq!(status, 200);
    note("njord-broker", &m);
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    // The simulator served all that: its requests, trades and connections.
    let (status, _, m) = get(&sim_metrics, "/metrics", &[]);
    assert_eq!(status, 200);
    assert!(
        m.contains(r#"njord_sim_requests_total{endpoint="POST /api/v3/order",code="200"} 2"#),
        "{m}"
    );
    assert_eq!(get(&sim_metrics, "/readyz", &[]).0, 200);
    note("njord-sim", &m);

    // njord-alert over the risk engine's output, delivering to a receiver on loopback.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = receiver.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in receiver.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    std::fs::write(
        d.join("alerts.yaml"),
        format!(
            "channels:\n  hook: {{type: webhook, url: \"http://{hook}/\"}}\nrules:\n  - {{name: halted, when: kill_switch, channels: [hook]}}\n"
        ),
    )
    .unwrap();
    let mut alert_in = lines_with(&risk_out, "trade").join("\n");
    alert_in += &format!(
        "\n{}\n",
        r#"{"kind":"decision","intent_id":"x","allowed":false,"reason":"halted","caps":{"source":"file"},"ts_ns":1}"#
    );
    let (_, m) = run_metered(
        "njord-alert",
        d,
        &["--alerts", "alerts.yaml"],
        &[],
        alert_in.as_bytes(),
    );
    assert!(
        m.contains(r#"njord_alerts_sent_total{channel="hook"} 1"#),
        "{m}"
    );
    note("njord-alert", &m);

    let mut bad = Vec::new();
    for bin in STAGES.iter().chain(&["njord-sim", "njord-alert"]) {
        let got = emitted.get(bin).cloned().unwrap_or_default();
        bad.extend(mismatch(&cat, bin, &got, false));
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

/// A plain HTTP/1.1 GET on loopback: status, headers and body.
pub(crate) fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let head = head.to_ascii_lowercase();
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head, body)
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// Polls `path` until it answers `want` (the endpoint is the readiness signal).
fn wait_for(addr: &str, path: &str, want: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = get(addr, path, &[]);
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} still {status}: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A daemon whose stderr is read for the address it serves metrics on.
struct Daemon {
    child: Child,
    addr: String,
}

impl Daemon {
    fn start(mut c: std::process::Command) -> Daemon {
        let mut child = c.stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the daemon exited before serving metrics")
                .unwrap();
            if let Some(rest) = line.split("metrics on http://").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the daemon never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Daemon { child, addr }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// `promtool check metrics` (the Prometheus project's linter) accepts `text`.
fn promtool_accepts(text: &str) {
    let mut p = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (make test installs prometheus)");
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `njord-risk --bus` on `redis`, stale after 3 s without an event, in a scratch directory.
fn risk_daemon(redis: &RedisServer) -> (Daemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-risk"));
    c.current_dir(dir.path())
        .env_remove("NJORD_CONFIG")
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__TELEMETRY__STALE_AFTER_MS", "3000")
        .args(["--bus", &redis.url()]);
    (Daemon::start(c), dir)
}

#[test]
fn a_bus_daemon_serves_metrics_and_health_and_goes_unready_when_stale() {
    let redis = RedisServer::start();
    let (d, _dir) = risk_daemon(&redis);
    let addr = d.addr.as_str();
    wait_for(addr, "/livez", 200);
    let (status, _, body) = get(addr, "/readyz", &[]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no event yet"), "{body}");

    // A fresh trade and an intent: ready, and the decision's metrics and topics appear.
    let mut conn = redis.conn();
    let ts = now_ns();
    let trade = support::trade_line("ATOM/USDT", 1, "10", ts);
    let intent = format!(
        r#"{{"kind":"intent","id":"i1","ts_ns":{ts},"strategy_id":"s1","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null}}"#
    );
    let _: () = redis::cmd("PUBLISH")
        .arg("md.trades.ATOM/USDT")
        .arg(&trade)
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("PUBLISH")
        .arg("strat.intent")
        .arg(&intent)
        .query(&mut conn)
        .unwrap();
    wait_for(addr, "/readyz", 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (status, head, body) = get(addr, "/metrics", &[]);
        assert_eq!(status, 200);
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        if body.contains(r#"njord_redis_published_total{topic="orders.accepted"} 1"#) {
            break body;
        }
        assert!(Instant::now() < deadline, "no order published:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    for want in [
        r#"njord_build_info{binary="njord-risk",version=""#,
        r#"njord_events_in_total{kind="intent"} 1"#,
        r#"njord_decisions_total{allowed="true",reason="none"} 1"#,
        r#"njord_redis_published_total{topic="risk.decisions"} 1"#,
        r#"njord_stream_last_event_age_seconds{stream="md.trades.ATOM/USDT"}"#,
        r#"njord_trading_state{state="active"} 1"#,
        "njord_redis_reconnects_total 0",
        "process_resident_memory_bytes ",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    promtool_accepts(&text);
    let cat = catalogue();
    let bad = mismatch(&cat, "njord-risk", &sampled(&text), true)
        .into_iter()
        // Halts and rotations are the stdio fixture's; this run has neither.
        .filter(|m| !m.contains("kill_switch_trips"))
        .collect::<Vec<_>>();
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));

    // OpenMetrics when asked, as Prometheus asks.
    let (status, head, body) = get(
        addr,
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert_eq!(status, 200);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(body.ends_with("# EOF\n"), "{body}");

    // Nothing more arrives: alive, but no longer ready.
    let body = wait_for(addr, "/readyz", 503);
    assert!(body.contains("stale"), "{body}");
    assert_eq!(get(addr, "/livez", &[]).0, 200);
}

#[test]
fn a_token_guards_the_endpoints_and_off_loopback_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    cmd("njord-risk", dir.path())
        .args(["--metrics-addr", "0.0.0.0:9"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("api_keys.metrics.token"));

    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-paper"));
    c.current_dir(dir.path())
        .env_remove("NJORD_CONFIG")
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__API_KEYS__METRICS__TOKEN", "s3cret-token")
        .args(["--metrics-addr", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let d = Daemon::start(c);
    for path in ["/metrics", "/livez", "/readyz"] {
        let (status, head, _) = get(&d.addr, path, &[]);
        assert_eq!(status, 401, "{path}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
        let (status, _, _) = get(&d.addr, path, &[("Authorization", "Bearer wrong-token!")]);
        assert_eq!(status, 401, "{path}");
    }
    let (status, _, body) = get(
        &d.addr,
        "/metrics",
        &[("Authorization", "Bearer s3cret-token")],
    );
    assert_eq!(status, 200);
    assert!(body.contains(r#"binary="njord-paper""#), "{body}");
    // The token is a secret: --print-config redacts it.
    cmd("njord-paper", dir.path())
        .env("NJORD__API_KEYS__METRICS__TOKEN", "s3cret-token")
        .arg("--print-config")
        .assert()
        .success()
        .stdout(predicates::str::contains("s3cret-token").not());
}

#[test]
fn a_hundred_symbols_and_twenty_strategies_stay_under_5000_series() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_767_571_200_000_000_000i64;
    let mut input = String::new();
    for s in 0..100 {
        input += &support::trade_line(&format!("S{s}/USDT"), s, "10", t0 + s as i64);
        input.push('\n');
    }
    for g in 0..20 {
        for s in 0..100 {
            input += &format!(
                r#"{{"kind":"order","intent_id":"g{g}s{s}","strategy_id":"strategy{g}","venue":"binanceus","symbol":"S{s}/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"ts_accepted_ns":{}}}"#,
                t0 + 1000
            );
            input.push('\n');
        }
    }
    for s in 0..100 {
        input += &support::trade_line(&format!("S{s}/USDT"), 1000 + s, "11", t0 + 2000 + s as i64);
        input.push('\n');
    }
    let (out, m) = run_metered("njord-paper", dir.path(), &[], &[], input.as_bytes());
    assert_eq!(lines_with(&out, "position").len(), 2000);
    let n = series(&m);
    assert!(n < 5000, "{n} series");
    // Per strategy and per symbol, never per pair: 20 + 100 series, not 2,000.
    assert_eq!(m.matches("njord_pnl_unrealized_usd{").count(), 20);
    assert_eq!(m.matches("njord_position_qty{").count(), 100);
    assert!(
        m.contains(r#"njord_pnl_unrealized_usd{strategy="strategy7"} 100.0"#),
        "{m}"
    );
    promtool_accepts(&m);
}

/// Every metric name an expression mentions (recording-rule names, with `:`, and `up` are
/// Prometheus's own).
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = |p: &str| expr[i..].starts_with(p);
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary && (starts("njord_") || starts("process_")) {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(expr.len(), |e| i + e);
            let name = &expr[i..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| b.ends_with("_seconds")))
                .unwrap_or(name);
            names.push(base.to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// The expressions of the shipped rules and dashboards, each with where it is.
fn deploy_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rules = std::fs::read_to_string(repo("deploy/prometheus/rules/njord.rules.yml")).unwrap();
    let rules: serde_json::Value = serde_saphyr::from_str(&rules).unwrap();
    for g in rules["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let name = r
                .get("alert")
                .or(r.get("record"))
                .unwrap()
                .as_str()
                .unwrap();
            out.push((
                format!("rule {name}"),
                r["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    for e in std::fs::read_dir(repo("deploy/grafana/dashboards")).unwrap() {
        let path = e.unwrap().path();
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                out.push((
                    format!("{} panel {}", path.display(), p["title"]),
                    t["expr"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

fn promtool(args: &[&str]) {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(repo("deploy/prometheus"))
        .output()
        .expect("promtool must be installed (make test installs prometheus)");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_and_dashboards_pass_promtool_and_use_only_catalogued_metrics() {
    promtool(&["check", "config", "prometheus.yml"]);
    promtool(&["check", "rules", "rules/njord.rules.yml"]);
    promtool(&["test", "rules", "tests/njord.rules.test.yml"]);
    // Every alert has a unit test.
    let tests =
        std::fs::read_to_string(repo("deploy/prometheus/tests/njord.rules.test.yml")).unwrap();
    let cat = catalogue();
    let exprs = deploy_exprs();
    let mut bad = Vec::new();
    for (at, expr) in &exprs {
        if let Some(alert) = at.strip_prefix("rule ").filter(|n| !n.contains(':'))
            && !tests.contains(&format!("alertname: {alert}"))
        {
            bad.push(format!("alert {alert} has no promtool unit test"));
        }
        for n in metric_names(expr) {
            if !cat.contains_key(&n) {
                bad.push(format!(
                    "{at} uses {n}, which docs/metrics.md does not list"
                ));
            }
        }
    }
    assert!(exprs.len() > 30, "{} expressions", exprs.len());
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

/// A `prometheus` server on a free loopback port, killed on drop.
struct Prometheus {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `targets` every second and evaluates `rules` every second.
    fn start(targets: &[&str], rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: njord\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", support::free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = std::process::Command::new("prometheus")
            .current_dir(dir.path())
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address={addr}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus must be installed (make test installs it)");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&p.addr).is_err() || get(&p.addr, "/-/ready", &[]).0 != 200 {
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn api(&self, path_and_query: &str) -> serde_json::Value {
        let (status, _, body) = get(&self.addr, path_and_query, &[]);
        assert_eq!(status, 200, "{path_and_query}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn query(&self, expr: &str) -> serde_json::Value {
        let q: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        self.api(&format!("/api/v1/query?query={q}"))
    }

    /// Polls until `cond` holds on the answer to `path_and_query`.
    fn wait(&self, what: &str, path_and_query: &str, cond: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.api(path_and_query);
            if cond(&v) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: {v}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_daemons_and_alerts_when_a_stream_goes_stale() {
    let redis = RedisServer::start();
    let (risk, _dir) = risk_daemon(&redis);
    // The shipped rules, with their `for` durations shortened to seconds for the test.
    let rules = std::fs::read_to_string(repo("deploy/prometheus/rules/njord.rules.yml"))
        .unwrap()
        .replace("for: 1m", "for: 2s");
    let prom = Prometheus::start(&[&risk.addr], &rules);
    // Live means subscribed: nothing published from here on is missed.
    wait_for(&risk.addr, "/livez", 200);

    let q = |e: &str| {
        let q: String = url::form_urlencoded::byte_serialize(e.as_bytes()).collect();
        format!("/api/v1/query?query={q}")
    };
    let found =
        |v: &serde_json::Value| v["data"]["result"].as_array().is_some_and(|r| r.len() == 1);
    prom.wait("a first scrape", &q(r#"up{job="njord"} == 1"#), found);

    // An intent, and fresh trades until Prometheus has seen the daemon ready.
    let mut conn = redis.conn();
    let publish = |conn: &mut redis::Connection, topic: &str, msg: &str| {
        let _: () = redis::cmd("PUBLISH")
            .arg(topic)
            .arg(msg)
            .query(conn)
            .unwrap();
    };
    let ts = now_ns();
    publish(
        &mut conn,
        "strat.intent",
        &format!(
            r#"{{"kind":"intent","id":"i1","ts_ns":{ts},"strategy_id":"s1","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null}}"#
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in 1.. {
        let trade = support::trade_line("ATOM/USDT", id, "10", now_ns());
        publish(&mut conn, "md.trades.ATOM/USDT", &trade);
        if found(&prom.query("max_over_time(njord_ready[5m]) == 1")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw the daemon ready"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The decision (the intent had no price yet: denied) arrived as a sample too.
    prom.wait("the decision's sample", &q("njord_decisions_total"), found);
    let cat = catalogue();
    let names = prom.api("/api/v1/label/__name__/values");
    let names: BTreeSet<String> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .filter(|n| n.starts_with("njord_") || n.starts_with("process_"))
        .collect();
    for n in &names {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| n.strip_suffix(s).filter(|b| cat.contains_key(*b)))
            .unwrap_or(n);
        assert!(
            cat.contains_key(base),
            "Prometheus got {n}, not in docs/metrics.md"
        );
    }
    for want in [
        "njord_build_info",
        "njord_ready",
        "njord_stream_last_event_age_seconds",
        "process_cpu_seconds_total",
    ] {
        assert!(names.contains(want), "{want} not scraped: {names:?}");
    }
    // Every dashboard and rule expression is valid PromQL to this Prometheus.
    for (at, expr) in deploy_exprs() {
        let v = prom.query(&expr);
        assert_eq!(v["status"], "success", "{at}: {expr}: {v}");
    }

    // Nothing more arrives: the daemon goes unready and the alert fires.
    prom.wait("NjordNotReady firing", "/api/v1/alerts", |v| {
        v["data"]["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a["labels"]["alertname"] == "NjordNotReady" && a["state"] == "firing")
        })
    });
    let (status, _, body) = get(&risk.addr, "/readyz", &[]);
    assert_eq!(status, 503);
    assert!(body.contains("stale"), "{body}");
}
