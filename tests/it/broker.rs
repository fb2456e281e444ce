//! njord-broker end to end, against the real `njord-sim` over HTTP and WebSocket on loopback,
//! and a real `redis-server` for the kill switch. Nothing here contacts a real venue.

use crate::support;

use njord::venue::binanceus::sign::{Signer, signed_query};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use support::{RedisServer, SimServer};

const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

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
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
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
    let mut b = env.spawn(&["--emit-only"]);
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
    let (code, events, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sim.count("POST", "/api/v3/order"), 1, "only k-2 was sent");
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
#[test]
fn orders_the_broker_cannot_place_exactly_are_refused_never_reshaped() {
    let sim = Sim::start(&[]);
    let mut stop = order("t-stop", "sell", "stop_market", "1", None);
    stop["stop_price"] = json!(4.5);
    let mut maker = order("t-maker", "buy", "limit", "1", Some("5"));
    maker["post_only"] = json!(true);
    let mut leg = order("t-leg", "buy", "limit", "1", Some("5"));
    leg["oco"] = json!("exit");
    let mut ioc = order("t-ioc", "buy", "limit", "1", Some("5"));
    ioc["time_in_force"] = json!("ioc");
    for env in [Env::new(Some(&sim)), Env::new(Some(&sim)).live()] {
        let mut b = env.spawn(&["--emit-only"]);
        for o in [&stop, &maker, &leg] {
            b.send(o.clone());
        }
        let (code, events, stderr) = b.finish();
        assert_eq!(code, 0, "{stderr}");
        let refused: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e["client_order_id"].as_str().unwrap_or(""),
                    e["status"].as_str(),
                    e["reason"].as_str(),
                )
            })
            .collect();
        assert_eq!(refused.len(), 3, "{events:?}");
        for (_, status, reason) in &refused {
            assert_eq!(
                (*status, *reason),
                (Some("rejected"), Some("invalid_order")),
                "{events:?}"
            );
        }
        assert!(
            stderr.contains("the broker does not place stop_market orders"),
            "{stderr}"
        );
    }
    assert_eq!(sim.count("POST", "/api/v3/order"), 0);
    let env = Env::new(Some(&sim)).live();
    let mut b = env.spawn(&["--emit-only"]);
    b.send(ioc);
    b.wait_for(20, is("ack", "t-ioc"));
    let (code, _, stderr) = b.finish();
    assert_eq!(code, 0, "{stderr}");
    let placed = orders_with_client_id(&sim, "t-ioc");
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0]["timeInForce"], "IOC");
}
