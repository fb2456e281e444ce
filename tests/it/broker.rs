//! njord-broker end to end, against the real `njord-sim` over HTTP and WebSocket on loopback,
//! and a real `redis-server` for the kill switch. Nothing here contacts a real venue.

use crate::support;
use crate::telemetry;

use njord::venue::binanceus::sign::{Signer, signed_query};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use support::{RedisServer, SimServer};

pub(crate) const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub(crate) const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

/// A running `njord-sim serve` with its request journal.
pub(crate) struct Sim {
    server: SimServer,
    journal: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Sim {
    type Target = SimServer;
    fn deref(&self) -> &SimServer {
        &self.server
    }
}

impl Sim {
    pub(crate) fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let tape = dir.path().join("tape.ndjson");
        let out = support::sim_command()
            .args([
                "gen",
                "--symbol",
                "ATOM/USDT",
                "--count",
                "5000",
                "--seed",
                "11",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(&tape, out.stdout).unwrap();
        let journal = dir.path().join("sim.journal.ndjson");
        let mut cmd = support::sim_command();
        cmd.arg("serve")
            .arg("--tape")
            .arg(&tape)
            .arg("--journal")
            .arg(&journal)
            .args(["--speed", "1x", "--loop"])
            .args(extra)
            .current_dir(dir.path());
        Sim {
            server: SimServer::spawn(cmd),
            journal,
            _dir: dir,
        }
    }

    /// One plain HTTP/1.1 exchange; returns (status, body).
    pub(crate) fn http(
        &self,
        method: &str,
        path_query: &str,
        body: &str,
        key: bool,
    ) -> (u16, String) {
        let addr = self.rest.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        let key_header = if key {
            format!("X-MBX-APIKEY: {KEY}\r\n")
        } else {
            String::new()
        };
        write!(
            s,
            "{method} {path_query} HTTP/1.1\r\nHost: {addr}\r\n{key_header}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (status, body.to_string())
    }

    pub(crate) fn fault(&self, spec: Value) {
        let (status, body) = self.http("POST", "/control/fault", &spec.to_string(), false);
        assert_eq!(status, 200, "{body}");
    }

    /// A signed request with the documentation key, as a plain client would send it.
    pub(crate) fn signed(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Value {
        // The venue's clock, which a test may have skewed.
        let (_, t) = self.http("GET", "/api/v3/time", "", false);
        let now = serde_json::from_str::<Value>(&t).unwrap()["serverTime"]
            .as_i64()
            .unwrap();
        let q = signed_query(&Signer::new(KEY, SECRET), params, 5000, now);
        let (status, body) = self.http(method, &format!("{path}?{q}"), "", true);
        assert_eq!(status, 200, "{method} {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub(crate) fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.journal)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Requests (method, path) with their responses, in order.
    pub(crate) fn exchanges(&self) -> Vec<(Value, Value)> {
        let j = self.journal();
        let reqs: Vec<&Value> = j.iter().filter(|r| r["type"] == "http_request").collect();
        reqs.into_iter()
            .filter_map(|rq| {
                let resp = j
                    .iter()
                    .find(|r| r["type"] == "http_response" && r["id"] == rq["id"])?;
                Some((rq.clone(), resp.clone()))
            })
            .collect()
    }

    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        self.journal()
            .iter()
            .filter(|r| r["type"] == "http_request" && r["method"] == method && r["path"] == path)
            .count()
    }
}

/// A running njord-broker: stdin to write orders, stdout events collected by a thread.
pub(crate) struct Broker {
    pub(crate) child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) events: Receiver<Value>,
    pub(crate) seen: Vec<Value>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// A broker's working directory, config by environment, journals and logs inside.
pub(crate) struct Env {
    dir: tempfile::TempDir,
    pub(crate) vars: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new(sim: Option<&Sim>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let p = |s: &str| dir.path().join(s).display().to_string();
        let mut vars = vec![
            ("NJORD__JOURNAL__DIR".into(), p("journal")),
            ("NJORD__LOGGING__LOG_DIR".into(), p("log")),
            ("NJORD__RISK__KILL_SWITCH_FILE".into(), p("halt")),
            ("NJORD__BROKER__POLL_INTERVAL_MS".into(), "1000".into()),
            ("NJORD__BROKER__SHUTDOWN_GRACE_MS".into(), "1000".into()),
            ("NJORD__BROKER__RETRY_BASE_MS".into(), "100".into()),
            ("NJORD_BINANCEUS_API_KEY".into(), KEY.into()),
            ("NJORD_BINANCEUS_API_SECRET".into(), SECRET.into()),
        ];
        if let Some(s) = sim {
            vars.push(("NJORD__EXCHANGE__REST_URL".into(), s.rest.clone()));
            vars.push(("NJORD__EXCHANGE__WS_URL".into(), s.ws.clone()));
        }
        Env { dir, vars }
    }

    pub(crate) fn live(mut self) -> Env {
        self.set("NJORD__APP__ENV", "live");
        self.set("NJORD_ENABLE_LIVE", "1");
        self
    }

    pub(crate) fn set(&mut self, k: &str, v: &str) {
        self.vars.retain(|(a, _)| a != k);
        self.vars.push((k.into(), v.into()));
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_njord-broker"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("NJORD_ENABLE_LIVE")
            .env_remove("NJORD_CONFIG");
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    pub(crate) fn spawn(&self, args: &[&str]) -> Broker {
        self.spawn_with_stdin(args, Stdio::piped())
    }

    /// A broker reading `stdin` (another process's output, say).
    pub(crate) fn spawn_with_stdin(&self, args: &[&str], stdin: Stdio) -> Broker {
        let mut child = self
            .command(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or(json!({ "raw": line }));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Broker {
            stdin: child.stdin.take(),
            child,
            events: rx,
            seen: Vec::new(),
            stderr: Some(err),
        }
    }

    /// Every file the broker wrote (journals, logs) as one string.
    pub(crate) fn written(&self) -> String {
        let mut all = String::new();
        for sub in ["journal", "log"] {
            if let Ok(rd) = std::fs::read_dir(self.path(sub)) {
                for e in rd.flatten() {
                    all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        all
    }
}

impl Broker {
    pub(crate) fn send(&mut self, ev: Value) {
        let s = self.stdin.as_mut().unwrap();
        writeln!(s, "{ev}").unwrap();
        s.flush().unwrap();
    }

    /// The first event (already seen or arriving within `secs`) matching `pred`.
    pub(crate) fn wait_for(&mut self, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!("no matching event within {secs}s; seen: {:#?}", self.seen)
                }
            }
        }
    }

    /// Closes stdin, waits for the exit; returns (exit code, all stdout events, stderr).
    pub(crate) fn finish(mut self) -> (i32, Vec<Value>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        // The reader thread ends at EOF of stdout; take everything it read.
        while let Ok(v) = self.events.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(v);
        }
        let err = self.stderr.take().unwrap().join().unwrap();
        (status.code().unwrap_or(-1), self.seen, err)
    }
}

pub(crate) fn order(intent: &str, side: &str, ty: &str, qty: &str, limit: Option<&str>) -> Value {
    json!({
        "kind": "order", "intent_id": intent, "strategy_id": "s1", "venue": "binanceus",
        "symbol": "ATOM/USDT", "side": side, "type": ty, "qty": qty.parse::<f64>().unwrap(),
        "limit_price": limit.map(|l| l.parse::<f64>().unwrap()), "ts_accepted_ns": 1_000,
    })
}

pub(crate) fn kind(k: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["kind"] == k
}

pub(crate) fn is(k: &'static str, intent: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["kind"] == k && (v["intent_id"] == intent || v["client_order_id"] == intent)
}

/// An order update with the venue's word (or a final rejection) on an intent's order: not
/// the broker's own `pending_new` or `unknown`.
pub(crate) fn settled(intent: &'static str) -> impl Fn(&Value) -> bool {
    move |v| {
        is("order_update", intent)(v) && v["status"] != "pending_new" && v["status"] != "unknown"
    }
}

/// No key or secret in anything the broker printed or wrote (DESIGN §9.5).
fn assert_no_secrets(env: &Env, events: &[Value], stderr: &str) {
    let out: String = events.iter().map(|v| v.to_string()).collect();
    for (name, text) in [
        ("stdout", out.as_str()),
        ("stderr", stderr),
        ("files", &env.written()),
    ] {
        assert!(!text.contains(SECRET), "the API secret leaked into {name}");
        assert!(!text.contains(KEY), "the API key leaked into {name}");
    }
}

pub(crate) fn orders_with_client_id(sim: &Sim, cid: &str) -> Vec<Value> {
    let all = sim.signed("GET", "/api/v3/allOrders", &[("symbol", "ATOMUSDT")]);
    all.as_array()
        .unwrap()
        .iter()
        .filter(|o| o["clientOrderId"] == cid)
        .cloned()
        .collect()
}

#[test]
fn live_needs_both_flags_otherwise_echo_and_no_venue_call() {
    let sim = Sim::start(&[]);
    for (env_live, flag) in [(false, false), (true, false), (false, true)] {
        let mut env = Env::new(Some(&sim));
        if env_live {
            env.set("NJORD__APP__ENV", "live");
        }
        if flag {
            env.set("NJORD_ENABLE_LIVE", "1");
        }
        let mut b = env.spawn(&["--emit-only"]);
        b.send(order("t-1", "buy", "limit", "1", Some("5")));
        let (code, events, stderr) = b.finish();
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["kind"], "echo");
        assert_eq!(events[0]["client_order_id"], "t-1");
        let journal = std::fs::read_to_string(env.path("journal/broker.orders.ndjson")).unwrap();
        assert!(journal.contains(r#""kind":"echo""#), "{journal}");
        assert_no_secrets(&env, &events, &stderr);
    }
    assert!(
        sim.journal().is_empty(),
        "dry-run must not contact the venue"
    );

    // Both flags: live, the order reaches the venue once.
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.send(order("t-2", "buy", "limit", "1", Some("5")));
    let ack = b.wait_for(20, is("ack", "t-2"));
    assert!(!ack["exchange_order_id"].as_str().unwrap().is_empty());
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sim.count("POST", "/api/v3/order"), 1);
    assert_eq!(orders_with_client_id(&sim, "t-2").len(), 1);
    assert_no_secrets(&env, &events, &stderr);
}

#[test]
fn validate_uses_order_test_only() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim));
    let mut b = env.spawn(&["--emit-only", "--validate"]);
    b.send(order("v-1", "buy", "limit", "1", Some("5")));
    // Below the venue's minimum notional: the venue's verdict is reported, still no order.
    b.send(order("v-2", "buy", "limit", "0.01", Some("5")));
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (events[0]["kind"].clone(), events.len()),
        (json!("echo"), 2)
    );
    assert_eq!(sim.count("POST", "/api/v3/order/test"), 2);
    assert_eq!(sim.count("POST", "/api/v3/order"), 0);
    assert!(stderr.contains("accepts this order"), "{stderr}");
    assert!(stderr.contains("-1013"), "{stderr}");
    assert_no_secrets(&env, &events, &stderr);
}

#[test]
fn read_only_sends_nothing_and_secrets_file_must_be_private() {
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    env.set("NJORD__BROKER__READ_ONLY", "true");
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    b.send(order("ro-1", "buy", "limit", "1", Some("5")));
    let u = b.wait_for(20, settled("ro-1"));
    assert_eq!(u["status"], "rejected");
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(sim.count("POST", "/api/v3/order"), 0);
    assert!(
        sim.count("GET", "/api/v3/account") >= 1,
        "queries still work"
    );

    // A secrets file others can read refuses live mode (exit 2) before any venue call.
    let mut env = Env::new(Some(&sim)).live();
    std::fs::create_dir_all(env.path("config")).unwrap();
    std::fs::write(env.path("config/base.yaml"), "app:\n  env: live\n").unwrap();
    let secrets = env.path("config/secrets.yaml");
    std::fs::write(
        &secrets,
        format!("api_keys:\n  binanceus:\n    key: {KEY}\n    secret: {SECRET}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.vars.retain(|(k, _)| !k.starts_with("NJORD_BINANCEUS"));
    let before = sim.journal().len();
    let out = env.command(&[]).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains(SECRET));
    assert_eq!(sim.journal().len(), before);
}

#[test]
fn ten_dollar_cap_and_kill_switch_by_file() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let metrics = format!("127.0.0.1:{}", support::free_port());
    let mut b = env.spawn(&["--emit-only", "--metrics-addr", &metrics]);
    // ~10.0 × 5 = 50 USD: denied with the numbers.
    b.send(order("cap-1", "buy", "market", "5", None));
    let d = b.wait_for(20, is("decision", "cap-1"));
    assert_eq!(
        (d["allowed"].clone(), d["reason"].clone()),
        (json!(false), json!("live_micro_cap"))
    );
    assert_eq!(d["caps"]["max_notional_usd"], json!(10));
    assert!(d["caps"]["notional_usd"].as_f64().unwrap() > 10.0);
    // Kill file present: halted, nothing sent.
    std::fs::write(env.path("halt"), "{}").unwrap();
    b.send(order("k-1", "buy", "limit", "0.5", Some("5")));
    let d = b.wait_for(20, is("decision", "k-1"));
    assert_eq!(d["reason"], "halted");
    std::fs::remove_file(env.path("halt")).unwrap();
    b.send(order("k-2", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, is("ack", "k-2"));
    b.send(order("k-3", "buy", "market", "0.5", None));
    b.wait_for(20, is("fill", "k-3"));
    // What happened shows in the live broker's metrics.
    let (status, _, text) = telemetry::get(&metrics, "/metrics", &[]);
    assert_eq!(status, 200);
    for want in [
        r#"njord_decisions_total{allowed="false",reason="live_micro_cap"} 1"#,
        r#"njord_kill_switch_trips_total{source="file"} 1"#,
        r#"njord_trading_state{state="active"} 1"#,
        r#"njord_http_requests_total{endpoint="POST /api/v3/order",code="200"} 2"#,
        "njord_order_ack_latency_seconds_count 2",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sim.count("POST", "/api/v3/order"),
        2,
        "only k-2 and k-3 were sent"
    );
    let journal = std::fs::read_to_string(env.path("journal/broker.orders.ndjson")).unwrap();
    assert!(journal.contains("live_micro_cap") && journal.contains(r#""kind":"ack""#));
    assert_no_secrets(&env, &events, &stderr);
}

#[test]
fn kill_switch_by_redis_and_redis_down_fails_closed() {
    let sim = Sim::start(&[]);
    let mut redis = RedisServer::start();
    let mut env = Env::new(Some(&sim)).live();
    env.set("NJORD__REDIS__URL", &redis.url());
    let mut b = env.spawn(&["--emit-only"]);
    redis::cmd("SET")
        .arg("njord:trading:halt")
        .arg("1")
        .exec(&mut redis.conn())
        .unwrap();
    b.send(order("r-1", "buy", "limit", "0.5", Some("5")));
    assert_eq!(b.wait_for(20, is("decision", "r-1"))["reason"], "halted");
    redis::cmd("SET")
        .arg("njord:trading:halt")
        .arg("0")
        .exec(&mut redis.conn())
        .unwrap();
    b.send(order("r-2", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, is("ack", "r-2"));
    redis.kill();
    b.send(order("r-3", "buy", "limit", "0.5", Some("5")));
    let d = b.wait_for(30, is("decision", "r-3"));
    assert_eq!(d["reason"], "halted");
    assert!(
        d["caps"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("unreadable"),
        "{d}"
    );
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sim.count("POST", "/api/v3/order"), 1);
}

#[test]
fn duplicate_client_id_returns_the_existing_order_and_one_intent_is_one_order() {
    let sim = Sim::start(&[]);
    // Someone (an earlier run) already placed intent dup-1's order.
    let placed = sim.signed(
        "POST",
        "/api/v3/order",
        &[
            ("symbol", "ATOMUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.5"),
            ("price", "5"),
            ("newClientOrderId", "dup-1"),
        ],
    );
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.send(order("dup-1", "buy", "limit", "0.5", Some("5")));
    b.send(order("dup-2", "buy", "limit", "0.5", Some("5")));
    b.send(order("dup-2", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, is("ack", "dup-2"));
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    // dup-1 was adopted at start-up as an open order: never sent again.
    assert!(
        events
            .iter()
            .all(|e| !(e["kind"] == "ack" && e["client_order_id"] == "dup-1"))
    );
    assert_eq!(orders_with_client_id(&sim, "dup-1").len(), 1);
    assert_eq!(
        orders_with_client_id(&sim, "dup-1")[0]["orderId"],
        placed["orderId"]
    );
    assert_eq!(orders_with_client_id(&sim, "dup-2").len(), 1);
    assert_eq!(events.iter().filter(|e| e["kind"] == "ack").count(), 1);
    assert!(stderr.contains("already sent"), "{stderr}");

    // A placement the venue calls a duplicate (the order came after start-up): looked up,
    // the existing order is acknowledged.
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    let existing = sim.signed(
        "POST",
        "/api/v3/order",
        &[
            ("symbol", "ATOMUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.5"),
            ("price", "5"),
            ("newClientOrderId", "dup-3"),
        ],
    );
    b.send(order("dup-3", "buy", "limit", "0.5", Some("5")));
    let ack = b.wait_for(20, is("ack", "dup-3"));
    assert_eq!(
        ack["exchange_order_id"].to_string(),
        format!("\"{}\"", existing["orderId"])
    );
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("duplicate"), "{stderr}");
    assert_eq!(orders_with_client_id(&sim, "dup-3").len(), 1);
}

#[test]
fn server_error_after_acceptance_yields_exactly_one_order() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "order_then", "outcome": "status", "status": 503, "count": 1}));
    b.send(order("x5-1", "buy", "limit", "0.5", Some("5")));
    // Published `unknown` at once, then settled by the venue's word.
    let unknown = b.wait_for(20, is("order_update", "x5-1"));
    let unknown = if unknown["status"] == "pending_new" {
        b.wait_for(20, |v| {
            is("order_update", "x5-1")(v) && v["status"] == "unknown"
        })
    } else {
        unknown
    };
    assert_eq!(unknown["status"], "unknown");
    let ack = b.wait_for(20, settled("x5-1"));
    sim.fault(json!({"fault": "order_then", "outcome": "drop", "count": 1}));
    b.send(order("x5-2", "buy", "limit", "0.5", Some("5")));
    let ack2 = b.wait_for(20, settled("x5-2"));
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    for (cid, ack) in [("x5-1", ack), ("x5-2", ack2)] {
        let at_venue = orders_with_client_id(&sim, cid);
        assert_eq!(at_venue.len(), 1, "{cid}: {at_venue:?}");
        assert_eq!(
            ack["exchange_order_id"],
            json!(at_venue[0]["orderId"].to_string())
        );
    }
    assert_eq!(
        sim.count("POST", "/api/v3/order"),
        2,
        "looked up, never resent"
    );
    assert!(sim.count("GET", "/api/v3/order") >= 2);
    assert_no_secrets(&env, &events, &stderr);
}

#[test]
fn clock_skew_is_remeasured_and_the_order_succeeds() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "clock_skew", "ms": -20000}));
    b.send(order("sk-1", "buy", "limit", "0.5", Some("5")));
    b.wait_for(30, is("ack", "sk-1"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let ex = sim.exchanges();
    let skew = ex
        .iter()
        .position(|(_, r)| r["body"].as_str().unwrap_or("").contains("-1021"))
        .expect("a -1021 answer");
    assert!(
        ex[skew..].iter().any(|(q, _)| q["path"] == "/api/v3/time"),
        "time re-measured"
    );
    assert_eq!(orders_with_client_id(&sim, "sk-1").len(), 1);
}

#[test]
fn listen_key_expiry_is_recovered() {
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    // Polls are slow here, so updates must come from the (recovered) user stream.
    env.set("NJORD__BROKER__POLL_INTERVAL_MS", "600000");
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "listen_key_expire"}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.count("POST", "/api/v3/userDataStream") < 2 {
        assert!(Instant::now() < deadline, "no new listen key");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    b.send(order("lk-1", "buy", "limit", "0.5", Some("5")));
    let u = b.wait_for(20, settled("lk-1"));
    assert_eq!(u["status"], "new");
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("listen key expired"), "{stderr}");
}

#[test]
fn partial_fills_and_balances_equal_the_simulator() {
    // A thin synthetic book: a 0.9 market buy walks three levels, three fills.
    let sim = Sim::start(&["--book-qty", "0.3"]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    b.send(order("pf-1", "buy", "market", "0.9", None));
    let done = b.wait_for(20, |v| {
        v["kind"] == "order_update" && v["client_order_id"] == "pf-1" && v["status"] == "filled"
    });
    let trades = sim.signed("GET", "/api/v3/myTrades", &[("symbol", "ATOMUSDT")]);
    let trades = trades.as_array().unwrap().clone();
    assert!(trades.len() >= 2, "partial fills expected: {trades:?}");
    // Wait for every fill and for balances to settle.
    for _ in 0..trades.len() {
        b.wait_for(20, kind("fill"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let account = sim.signed("GET", "/api/v3/account", &[]);
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let fills: Vec<&Value> = events.iter().filter(|e| e["kind"] == "fill").collect();
    assert_eq!(
        fills.len(),
        trades.len(),
        "each fill exactly once: {fills:?}"
    );
    let dec =
        |v: &Value| -> rust_decimal::Decimal { njord::num::parse_decimal(&v.to_string()).unwrap() };
    let mut qty = rust_decimal::Decimal::ZERO;
    for (f, t) in fills.iter().zip(&trades) {
        assert_eq!(dec(&f["qty"]), dec(&t["qty"]));
        assert_eq!(dec(&f["price"]), dec(&t["price"]));
        assert_eq!(dec(&f["fee"]), dec(&t["commission"]));
        assert_eq!(f["fee_asset"], t["commissionAsset"]);
        assert_eq!(
            f["liquidity"],
            if t["isMaker"] == true {
                "maker"
            } else {
                "taker"
            }
        );
        assert_eq!(
            (f["intent_id"].clone(), f["order_id"].clone()),
            (json!("pf-1"), json!(t["orderId"].to_string()))
        );
        qty += dec(&f["qty"]);
    }
    assert_eq!(qty, dec(&done["filled_qty"]));
    // The last published balance of each asset is the venue's.
    for bal in account["balances"].as_array().unwrap() {
        let last = events
            .iter()
            .rev()
            .find(|e| e["kind"] == "balance" && e["asset"] == bal["asset"]);
        if let Some(last) = last {
            assert_eq!(dec(&last["free"]), dec(&bal["free"]), "{}", bal["asset"]);
            assert_eq!(
                dec(&last["locked"]),
                dec(&bal["locked"]),
                "{}",
                bal["asset"]
            );
        }
    }
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "balance" && e["asset"] == "ATOM")
    );
    let journal = std::fs::read_to_string(env.path("journal/broker.fills.ndjson")).unwrap();
    assert_eq!(journal.lines().count(), trades.len());
    // The watermark is persisted: a restart emits none of these fills again.
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    std::thread::sleep(Duration::from_millis(1500));
    let (_, events, _) = b.finish();
    assert!(events.iter().all(|e| e["kind"] != "fill"), "{events:?}");
}

#[test]
fn rate_limit_429_waits_retry_after_before_anything_else() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/order", "status": 429, "count": 1}));
    b.send(order("rl-1", "buy", "limit", "0.5", Some("5")));
    b.wait_for(90, is("ack", "rl-1"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let ex = sim.exchanges();
    let (i, (_, resp)) = ex
        .iter()
        .enumerate()
        .find(|(_, (_, r))| r["status"] == 429)
        .expect("a 429");
    let retry_after: i64 = resp["headers"]["retry-after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let t429 = resp["ts_ns"].as_i64().unwrap();
    let next = &ex[i + 1].0;
    assert!(
        next["ts_ns"].as_i64().unwrap() - t429 >= retry_after * 1_000_000_000,
        "a request inside the Retry-After window: {next}"
    );
    assert_eq!(orders_with_client_id(&sim, "rl-1").len(), 1);
}

#[test]
fn ban_418_pauses_every_request_until_it_ends() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/order", "status": 418, "count": 1}));
    b.send(order("ban-1", "buy", "limit", "0.5", Some("5")));
    b.wait_for(150, is("ack", "ban-1"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let ex = sim.exchanges();
    let (i, (_, resp)) = ex
        .iter()
        .enumerate()
        .find(|(_, (_, r))| r["status"] == 418)
        .expect("a 418");
    let retry_after: i64 = resp["headers"]["retry-after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let t418 = resp["ts_ns"].as_i64().unwrap();
    // Not only the order: no request of any kind (polls, balances) during the ban.
    for (q, _) in &ex[i + 1..] {
        if q["path"] == "/api/v3/userDataStream" {
            continue;
        }
        assert!(
            q["ts_ns"].as_i64().unwrap() - t418 >= retry_after * 1_000_000_000,
            "a request during the ban: {q}"
        );
    }
    assert_eq!(orders_with_client_id(&sim, "ban-1").len(), 1);
}

#[test]
fn bus_mode_dry_run_publishes_echo() {
    let redis = RedisServer::start();
    let env = Env::new(None);
    let mut child = env
        .command(&["--bus", &redis.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut sub_conn = client.get_connection().unwrap();
    let mut ps = sub_conn.as_pubsub();
    ps.subscribe("broker.echo").unwrap();
    ps.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut pubc = redis.conn();
    let mut got = None;
    for _ in 0..100 {
        redis::cmd("PUBLISH")
            .arg("orders.accepted")
            .arg(order("bus-1", "buy", "limit", "1", Some("5")).to_string())
            .exec(&mut pubc)
            .unwrap();
        if let Ok(m) = ps.get_message() {
            got = Some(m.get_payload::<String>().unwrap());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let got: Value = serde_json::from_str(&got.expect("an echo on broker.echo")).unwrap();
    assert_eq!(
        (got["kind"].clone(), got["intent_id"].clone()),
        (json!("echo"), json!("bus-1"))
    );
}

#[test]
fn dropped_user_stream_is_reconciled_over_rest_without_duplicates() {
    let sim = Sim::start(&["--book-qty", "0.3"]);
    let mut env = Env::new(Some(&sim)).live();
    // No periodic polls: only the reconnect's reconciliation can recover what was missed.
    env.set("NJORD__BROKER__POLL_INTERVAL_MS", "600000");
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    sim.fault(json!({"fault": "ws_drop_after", "messages": 2}));
    b.send(order("wd-1", "buy", "market", "0.9", None));
    b.wait_for(20, |v| {
        v["kind"] == "order_update" && v["client_order_id"] == "wd-1" && v["status"] == "filled"
    });
    sim.fault(json!({"fault": "ws_drop_after", "messages": 0}));
    let trades = sim.signed("GET", "/api/v3/myTrades", &[("symbol", "ATOMUSDT")]);
    let n = trades.as_array().unwrap().len();
    assert!(n >= 2, "{trades}");
    for _ in 0..n {
        b.wait_for(20, kind("fill"));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("reconciling over REST"), "{stderr}");
    let mut ids: Vec<String> = events
        .iter()
        .filter(|e| e["kind"] == "fill")
        .map(|e| format!("{}/{}/{}", e["qty"], e["price"], e["ts_fill_ns"]))
        .collect();
    assert_eq!(ids.len(), n, "every fill exactly once: {ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn sigterm_shuts_down_cleanly_and_other_venues_are_refused() {
    let sim = Sim::start(&[]);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.wait_for(20, kind("balance"));
    let mut other = order("ov-1", "buy", "limit", "0.5", Some("5"));
    other["venue"] = json!("kraken");
    b.send(other);
    assert_eq!(
        b.wait_for(20, is("order_update", "ov-1"))["status"],
        "rejected"
    );
    b.send(order("st-1", "buy", "limit", "0.5", Some("5")));
    b.wait_for(20, is("ack", "st-1"));
    let pid = b.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("still open"),
        "the resting order is reported: {stderr}"
    );
    assert_eq!(sim.count("POST", "/api/v3/order"), 1);
    let journal = std::fs::read_to_string(env.path("journal/broker.orders.ndjson")).unwrap();
    assert!(
        journal
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "no torn line"
    );
    assert!(journal.contains(r#""client_order_id":"st-1""#));
    assert_no_secrets(&env, &events, &stderr);
}

#[test]
fn request_weight_is_tracked_and_slows_down_before_the_limit() {
    // A 40-per-minute weight limit; the broker holds requests from half of it (20).
    let sim = Sim::start(&["--weight-limit", "40"]);
    let mut env = Env::new(Some(&sim)).live();
    env.set("NJORD__BROKER__WEIGHT_SLOWDOWN_PCT", "50");
    let mut b = env.spawn(&["--emit-only"]);
    // Start-up alone weighs more than 20, so the first balances wait for the next minute.
    b.wait_for(90, kind("balance"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let ex = sim.exchanges();
    assert!(
        ex.iter()
            .all(|(_, r)| r["status"] != 429 && r["status"] != 418),
        "never limited"
    );
    let minute = |v: &Value| v["ts_ns"].as_i64().unwrap() / 60_000_000_000;
    let over = ex
        .iter()
        .position(|(_, r)| {
            r["headers"]["x-mbx-used-weight-1m"]
                .as_str()
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|w| w >= 20)
        })
        .expect("a response past the threshold");
    let signed_after: Vec<_> = ex[over + 1..]
        .iter()
        .filter(|(q, _)| q["path"] != "/api/v3/userDataStream")
        .collect();
    assert!(!signed_after.is_empty());
    for (q, _) in signed_after {
        assert!(
            minute(q) > minute(&ex[over].1),
            "a request before the next minute: {q}"
        );
    }
}

/// The broker places what it can place exactly (an `ioc` limit goes out as IOC) and refuses,
/// in dry-run and live alike, what it cannot (stops, `post_only`, `oco`): never sent in
/// another shape.
/// The sim's last price, rounded to two decimals, times `f`.
fn near(sim: &Sim, f: f64) -> f64 {
    let (_, body) = sim.http("GET", "/api/v3/ticker/price?symbol=ATOMUSDT", "", false);
    let p: f64 = serde_json::from_str::<Value>(&body).unwrap()["price"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (p * f * 100.0).round() / 100.0
}

#[test]
fn protective_orders_go_native_where_binance_us_allows_and_are_armed_otherwise() {
    let sim = Sim::start(&[]);
    let with = |mut o: Value, fields: Value| {
        if let (Some(o), Value::Object(f)) = (o.as_object_mut(), fields) {
            o.extend(f);
        }
        o
    };
    let sell = |id: &str, ty: &str, fields: Value| with(order(id, "sell", ty, "0.5", None), fields);
    let buy = |id: &str, fields: Value| with(order(id, "buy", "limit", "0.5", None), fields);
    let orders = [
        sell(
            "p-sl",
            "stop_limit",
            json!({"stop_price": near(&sim, 0.9), "limit_price": near(&sim, 0.89)}),
        ),
        sell(
            "p-tp",
            "take_profit_limit",
            json!({"stop_price": near(&sim, 1.1), "limit_price": near(&sim, 1.09)}),
        ),
        buy(
            "p-maker",
            json!({"limit_price": near(&sim, 0.95), "post_only": true}),
        ),
        buy(
            "p-fok",
            json!({"limit_price": near(&sim, 0.95), "time_in_force": "fok"}),
        ),
        sell(
            "o-tp",
            "limit",
            json!({"limit_price": near(&sim, 1.2), "oco": "exit"}),
        ),
        sell(
            "o-sl",
            "stop_limit",
            json!({"stop_price": near(&sim, 0.8), "limit_price": near(&sim, 0.79), "oco": "exit"}),
        ),
        sell(
            "p-stop",
            "stop_market",
            json!({"stop_price": near(&sim, 0.5)}),
        ),
        sell("p-trail", "stop_market", json!({"trail": {"bps": 500}})),
        with(
            order("p-twap", "buy", "market", "1", None),
            json!({"exec": {"algo": "twap"}}),
        ),
    ];
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    for o in &orders {
        b.send(o.clone());
    }
    for id in ["p-sl", "p-tp", "p-maker", "p-fok", "o-tp", "o-sl"] {
        b.wait_for(20, move |v| {
            v["kind"] == "ack" && v["client_order_id"] == id
        });
    }
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let at_venue = |id: &str| {
        let o = orders_with_client_id(&sim, id);
        assert!(o.len() <= 1, "{id}: {o:?}");
        o.into_iter().next()
    };
    let venue_type = |id: &str| at_venue(id).map(|o| o["type"].as_str().unwrap().to_string());
    assert_eq!(venue_type("p-sl").as_deref(), Some("STOP_LOSS_LIMIT"));
    assert_eq!(venue_type("p-tp").as_deref(), Some("TAKE_PROFIT_LIMIT"));
    assert_eq!(venue_type("p-maker").as_deref(), Some("LIMIT_MAKER"));
    let fok = at_venue("p-fok").unwrap();
    assert_eq!(
        (fok["timeInForce"].as_str(), fok["status"].as_str()),
        (Some("FOK"), Some("EXPIRED"))
    );
    // The pair is one venue list: a LIMIT_MAKER and a STOP_LOSS_LIMIT sharing one orderListId.
    let (tp, sl) = (at_venue("o-tp").unwrap(), at_venue("o-sl").unwrap());
    assert_eq!(
        (tp["type"].as_str(), sl["type"].as_str()),
        (Some("LIMIT_MAKER"), Some("STOP_LOSS_LIMIT"))
    );
    assert!(tp["orderListId"].as_i64().unwrap() >= 0);
    assert_eq!(tp["orderListId"], sl["orderListId"]);
    assert_eq!(sim.count("POST", "/api/v3/order/oco"), 1);
    // No stop-market at Binance.US: armed by the broker, nothing at the venue.
    for id in ["p-stop", "p-trail"] {
        assert!(at_venue(id).is_none(), "{id}");
        assert!(
            events
                .iter()
                .any(|e| e["client_order_id"] == id && e["status"] == "new"),
            "{id} armed: {events:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["client_order_id"] == "p-twap" && e["reason"] == "invalid_order")
    );
    assert!(stderr.contains("njord-exec slices them"), "{stderr}");
    assert!(at_venue("p-twap").is_none());
    assert!(env.path("journal/broker.armed.ndjson").exists());
}

#[test]
fn an_armed_stop_is_sent_once_when_the_input_trades_through_it_even_after_a_restart() {
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    // The input's trades are the test's own, far from the sim's walk: trust them.
    env.set("NJORD__BROKER__MAX_DEVIATION_BPS", "5000");
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64
    };
    let trade = |price: f64| {
        json!({"kind": "trade", "venue": "binanceus", "symbol": "ATOM/USDT", "trade_id": "1",
               "price": price, "qty": 1, "side": "sell", "ts_ns": now_ns()})
    };
    let p = near(&sim, 1.0);
    let mut stop = order("a-stop", "sell", "stop_market", "0.5", None);
    stop["stop_price"] = json!(near(&sim, 0.9));
    let mut b = env.spawn(&["--emit-only"]);
    b.send(trade(p));
    b.send(stop);
    b.wait_for(20, |v| {
        v["client_order_id"] == "a-stop" && v["status"] == "new"
    });
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("armed orders"), "{stderr}");
    assert_eq!(orders_with_client_id(&sim, "a-stop").len(), 0);
    // A new broker arms it again from its journal; the input gaps through the stop.
    let mut b = env.spawn(&["--emit-only"]);
    b.send(trade((p * 0.95 * 100.0).round() / 100.0));
    b.send(trade((p * 0.85 * 100.0).round() / 100.0));
    b.wait_for(20, is("ack", "a-stop"));
    b.send(trade((p * 0.8 * 100.0).round() / 100.0));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let placed = orders_with_client_id(&sim, "a-stop");
    assert_eq!(placed.len(), 1, "{placed:?}");
    // A market sell goes out as a limit IOC at the capped price.
    assert_eq!(
        (placed[0]["type"].as_str(), placed[0]["side"].as_str()),
        (Some("LIMIT"), Some("SELL"))
    );
    let b = env.spawn(&["--emit-only"]);
    let (code, _, _) = b.finish();
    assert_eq!(code, 0);
    assert_eq!(
        orders_with_client_id(&sim, "a-stop").len(),
        1,
        "never armed again"
    );
}

#[test]
fn the_simulator_runs_oco_lists_and_refuses_what_binance_us_lists_not() {
    let sim = Sim::start(&[]);
    let info = sim
        .http("GET", "/api/v3/exchangeInfo?symbol=ATOMUSDT", "", false)
        .1;
    let info: Value = serde_json::from_str(&info).unwrap();
    let s = &info["symbols"][0];
    assert_eq!(s["ocoAllowed"], true);
    assert!(
        s["orderTypes"]
            .as_array()
            .unwrap()
            .contains(&json!("STOP_LOSS_LIMIT"))
    );
    let p = |f: f64| format!("{:.2}", near(&sim, f));
    let (above, below, lower) = (p(1.2), p(0.8), p(0.79));
    let list = sim.signed(
        "POST",
        "/api/v3/order/oco",
        &[
            ("symbol", "ATOMUSDT"),
            ("side", "SELL"),
            ("quantity", "0.5"),
            ("listClientOrderId", "L1"),
            ("limitClientOrderId", "L1-tp"),
            ("price", &above),
            ("stopClientOrderId", "L1-sl"),
            ("stopPrice", &below),
            ("stopLimitPrice", &lower),
            ("stopLimitTimeInForce", "GTC"),
        ],
    );
    assert_eq!(list["listOrderStatus"], "EXECUTING");
    let reports = list["orderReports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    let got = sim.signed("GET", "/api/v3/orderList", &[("listClientOrderId", "L1")]);
    assert_eq!(got["orderListId"], list["orderListId"]);
    let gone = sim.signed(
        "DELETE",
        "/api/v3/orderList",
        &[("symbol", "ATOMUSDT"), ("listClientOrderId", "L1")],
    );
    assert_eq!(gone["listOrderStatus"], "ALL_DONE");
    for leg in ["L1-tp", "L1-sl"] {
        assert_eq!(
            orders_with_client_id(&sim, leg)[0]["status"],
            "CANCELED",
            "{leg}"
        );
    }
    // Binance.US lists no STOP_LOSS: refused with the venue's own words.
    let q = signed_query(
        &Signer::new(KEY, SECRET),
        &[
            ("symbol", "ATOMUSDT"),
            ("side", "SELL"),
            ("type", "STOP_LOSS"),
            ("quantity", "0.5"),
            ("stopPrice", &below),
        ],
        5000,
        serde_json::from_str::<Value>(&sim.http("GET", "/api/v3/time", "", false).1).unwrap()
            ["serverTime"]
            .as_i64()
            .unwrap(),
    );
    let (status, body) = sim.http("POST", &format!("/api/v3/order?{q}"), "", true);
    assert_eq!(status, 400);
    assert!(
        body.contains("Stop loss orders are not supported for this symbol."),
        "{body}"
    );
}

/// `njord-exec | njord-broker` live on the sim: stdin of the exec, and the broker's events.
struct ExecPipeline {
    exec: Child,
    broker: Broker,
}

impl ExecPipeline {
    fn spawn(env: &Env, exec_args: &[&str]) -> ExecPipeline {
        let mut exec = Command::new(env!("CARGO_BIN_EXE_njord-exec"));
        exec.args(exec_args)
            .current_dir(env.path(""))
            .env_remove("NJORD_CONFIG");
        for (k, v) in &env.vars {
            exec.env(k, v);
        }
        let mut exec = exec
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let exec_out = exec.stdout.take().unwrap();
        let mut broker = env.spawn_with_stdin(&["--emit-only"], Stdio::from(exec_out));
        broker.stdin = exec.stdin.take();
        ExecPipeline { exec, broker }
    }

    fn finish(mut self) -> (i32, Vec<Value>, String) {
        drop(self.broker.stdin.take());
        self.exec.wait().unwrap();
        self.broker.finish()
    }
}

#[test]
fn exec_children_are_placed_live_reconciled_after_a_restart_and_cancelled_on_kill() {
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    env.set("NJORD__BROKER__MAX_DEVIATION_BPS", "5000");
    // The exec's cancels must do the work, not the broker's own cancel on trip.
    env.set("NJORD__KILL__CANCEL_OPEN", "false");
    // Children on the venue's stepSize, as `exec.lot_steps` should be set live.
    env.set("NJORD__EXEC__DEFAULT_LOT_STEP", "0.01");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let p = near(&sim, 1.0);
    let trade = |ts: i64| {
        json!({"kind": "trade", "venue": "binanceus", "symbol": "ATOM/USDT", "trade_id": ts.to_string(),
               "price": p, "qty": 1, "side": "sell", "ts_ns": ts})
    };
    let mut parent = order("tw", "buy", "limit", "1.5", None);
    parent["limit_price"] = json!(near(&sim, 0.9));
    parent["exec"] = json!({"algo": "twap", "duration": "2s", "slices": 3});
    parent["ts_accepted_ns"] = json!(now);
    let children = ["tw-1", "tw-2", "tw-3"];
    let mut run = ExecPipeline::spawn(&env, &[]);
    run.broker.send(trade(now));
    run.broker.send(parent);
    for k in 1..=3 {
        run.broker.send(trade(now + k * 700_000_000));
    }
    for id in children {
        run.broker.wait_for(20, move |v| {
            v["kind"] == "ack" && v["client_order_id"] == id
        });
    }
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    for id in children {
        let at = orders_with_client_id(&sim, id);
        assert_eq!(at.len(), 1, "{id}: {at:?}");
        assert_eq!(
            (at[0]["status"].as_str(), at[0]["origQty"].as_str()),
            (Some("NEW"), Some("0.50000000"))
        );
    }
    // Both restart: the broker reports the children still resting, the exec works its
    // parent again from its journal; then the kill switch trips.
    let mut run = ExecPipeline::spawn(&env, &["--resume"]);
    for id in children {
        run.broker.wait_for(20, move |v| {
            v["kind"] == "order_update" && v["client_order_id"] == id && v["status"] == "new"
        });
    }
    std::fs::write(env.path("halt"), "test\n").unwrap();
    run.broker.send(trade(now + 4_000_000_000));
    for id in children {
        run.broker.wait_for(20, move |v| {
            v["kind"] == "order_update" && v["client_order_id"] == id && v["status"] == "canceled"
        });
    }
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    for id in children {
        let at = orders_with_client_id(&sim, id);
        assert_eq!(
            at.len(),
            1,
            "one venue order per child, restart or not: {at:?}"
        );
        assert_eq!(at[0]["status"], "CANCELED", "{id}");
    }
    assert_eq!(sim.count("POST", "/api/v3/order"), 3);
}

#[test]
fn a_native_iceberg_is_one_venue_order_with_its_iceberg_qty() {
    let sim = Sim::start(&[]);
    let mut env = Env::new(Some(&sim)).live();
    env.set("NJORD__EXEC__DEFAULT_LOT_STEP", "0.01");
    let mut parent = order("ice", "buy", "limit", "1", None);
    parent["limit_price"] = json!(near(&sim, 0.9));
    parent["exec"] = json!({"algo": "iceberg", "visible": 0.25, "native": true});
    let mut run = ExecPipeline::spawn(&env, &[]);
    run.broker.send(parent);
    run.broker.wait_for(20, |v| {
        v["kind"] == "ack" && v["client_order_id"] == "ice-1"
    });
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    let at = orders_with_client_id(&sim, "ice-1");
    assert_eq!(at.len(), 1, "{at:?}");
    let got = (
        at[0]["origQty"].as_str(),
        at[0]["icebergQty"].as_str(),
        at[0]["timeInForce"].as_str(),
    );
    assert_eq!(got, (Some("1.00000000"), Some("0.25000000"), Some("GTC")));
    assert_eq!(sim.count("POST", "/api/v3/order"), 1);
}
