//! njord-ctl end to end: a session's wiring checked, its processes started in order and gated
//! on readiness, supervised (a killed stage restarts, a crash loop stops), inspected, and
//! stopped with nothing left behind — also when the controller itself is killed with SIGKILL.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

fn ctl(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_njord-ctl"));
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NO_COLOR", "1")
        .env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

fn run(c: &mut Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

/// A scratch directory holding what a clone holds (`config/`, `examples/`), so stages find
/// their configuration and the session its tape.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["config", "examples"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(root.join(sub))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

/// `njord-ctl up` in the background, with its stderr kept in `ctl.log`.
struct Up {
    child: Child,
    dir: PathBuf,
    session: String,
}

impl Up {
    fn start(dir: &Path, session: &str) -> Up {
        Up::start_with(dir, session, &[])
    }

    /// With more environment, for njord-ctl and (inherited) every process it starts.
    fn start_with(dir: &Path, session: &str, env: &[(&str, &str)]) -> Up {
        let log = std::fs::File::create(dir.join("ctl.log")).unwrap();
        let child = ctl(dir)
            .envs(env.iter().copied())
            .args(["up", "--session", session])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Up {
            child,
            dir: dir.to_path_buf(),
            session: session.to_string(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ctl.log")).unwrap_or_default()
    }

    /// `status --json` and its exit code.
    fn status(&self) -> (Option<i32>, Value) {
        let out = run(ctl(&self.dir).args(["status", "--json", "--session", &self.session]));
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v)
    }

    fn wait_status(&mut self, what: &str, cond: impl Fn(Option<i32>, &Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (code, v) = self.status();
            if cond(code, &v) {
                return v;
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!("njord-ctl exited ({s}) waiting for {what}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "{what}: {v:#}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn pids(v: &Value) -> Vec<u32> {
        v["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["pid"].as_u64().map(|n| n as u32))
            .collect()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = run(ctl(&self.dir).args(["down", "--session", &self.session]));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` has exited (gone, or a zombie waiting for its reaper).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pids: &[u32], within: Duration) {
    let deadline = Instant::now() + within;
    while !pids.iter().all(|p| gone(*p)) {
        let left: Vec<&u32> = pids.iter().filter(|p| !gone(**p)).collect();
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A session of redis, the simulator, ingest and bars, its state in `dir`.
fn small_session(dir: &Path, extra: &str) -> String {
    let text = format!(
        "name: small
state_dir: {state}
redis: {{port: 0}}
sim: {{args: [--tape, examples/data/atom_demo.ndjson.gz, --speed, 20x, --loop]}}
supervise: {{backoff_first: 1s, backoff_max: 1s}}
stages:
  - {{name: ingest, binary: njord-ingest, args: [--symbol, ATOM/USDT], produces: [md.trades.ATOM/USDT], depends_on: [redis, sim]}}
  - {{name: bars, binary: njord-bars, consumes: ['md.trades.*'], produces: ['md.ohlcv.1m.ATOM/USDT'], depends_on: [ingest]}}
{extra}",
        state = dir.join("state").display()
    );
    std::fs::write(dir.join("small.yaml"), text).unwrap();
    "small.yaml".into()
}

fn all_ready(code: Option<i32>, v: &Value) -> bool {
    code == Some(0) && v["processes"].as_array().is_some_and(|p| !p.is_empty())
}

#[test]
fn plan_prints_the_graph_and_a_miswired_session_exits_2_naming_stage_and_topic() {
    let dir = scratch();
    let out = run(ctl(dir.path()).args(["plan", "--session", "examples/rehearsal.yaml"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "session rehearsal: 6 stages",
        "redis-server (managed",
        "← strat.intent from strat",
        "→ orders.accepted to broker, paper",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    let bad = std::fs::read_to_string(dir.path().join("examples/rehearsal.yaml"))
        .unwrap()
        .replace("consumes: [strat.intent,", "consumes: [strat.intents,");
    std::fs::write(dir.path().join("bad.yaml"), bad).unwrap();
    let out = run(ctl(dir.path()).args(["plan", "--session", "bad.yaml"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "stage risk: consumes `strat.intents`, which no stage of the session produces"
        ),
        "{err}"
    );
    // An unknown key names itself and the file.
    std::fs::write(
        dir.path().join("typo.yaml"),
        "name: x\nstages:\n  - {name: a, binary: njord-bars, restrat: always}\n",
    )
    .unwrap();
    let out = run(ctl(dir.path()).args(["plan", "--session", "typo.yaml"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("typo.yaml") && err.contains("restrat"),
        "{err}"
    );
}

#[test]
fn up_gates_supervises_restarts_and_down_leaves_no_process() {
    let dir = scratch();
    let session = small_session(dir.path(), "");
    let mut up = Up::start(dir.path(), &session);
    let v = up.wait_status("every process ready", all_ready);
    let names: Vec<&str> = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["redis", "sim", "ingest", "bars"]);
    assert!(
        up.log().contains("session up: 4 processes ready in"),
        "{}",
        up.log()
    );
    let bars = &v["processes"][3];
    assert!(bars["version"].is_string(), "{bars}");
    // A second controller of the same session is refused.
    let out = run(ctl(dir.path()).args(["up", "--session", &session]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already controlled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A stage killed with SIGKILL is restarted, and ready again.
    let pid = bars["pid"].as_u64().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    up.wait_status("bars restarted and ready", |code, v| {
        all_ready(code, v) && v["processes"][3]["restarts"] == 1
    });
    // Restart on request.
    let out = run(ctl(dir.path()).args(["restart", "bars", "--session", &session]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = up.wait_status("bars restarted on request", |code, v| {
        all_ready(code, v) && v["processes"][3]["restarts"] == 2
    });
    let pids = Up::pids(&v);
    assert_eq!(pids.len(), 4);
    // Down: everything stops, the controller exits, status says down.
    let out = run(ctl(dir.path()).args(["down", "--session", &session]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(up.child.wait().unwrap().success(), "{}", up.log());
    wait_gone(&pids, Duration::from_secs(1));
    let (code, v) = up.status();
    assert_eq!((code, &v["down"]), (Some(3), &Value::Bool(true)));
}

#[test]
fn children_die_within_a_second_of_a_killed_controller() {
    let dir = scratch();
    let session = small_session(dir.path(), "");
    let mut up = Up::start(dir.path(), &session);
    let v = up.wait_status("every process ready", all_ready);
    let pids = Up::pids(&v);
    assert_eq!(pids.len(), 4);
    up.child.kill().unwrap();
    up.child.wait().unwrap();
    wait_gone(&pids, Duration::from_secs(1));
    // The lock of the dead controller is taken over.
    let mut again = Up::start(dir.path(), &session);
    again.wait_status("the session up again", all_ready);
    assert!(
        again.log().contains("took over the lock"),
        "{}",
        again.log()
    );
}

/// A stage that keeps crashing is stopped as a crash loop and reported: in `status`, in the
/// controller's own `/readyz` (503 naming it), and by njord-alert polling the controller.
#[test]
fn a_crash_loop_stops_the_stage_and_status_and_njord_alert_report_it() {
    let dir = scratch();
    let rx = crate::alert::Receiver::start(false);
    let ctl_port = crate::support::free_port();
    std::fs::write(
        dir.path().join("alerts.yaml"),
        format!(
            "channels:\n  hook: {{type: webhook, url: \"http://{}/hook\"}}\npoll_every: 1s\ndaemons:\n  ctl: http://127.0.0.1:{ctl_port}\nrules:\n  - {{name: session_degraded, when: {{daemon_not_ready: 1s}}, channels: [hook]}}\n",
            rx.addr
        ),
    )
    .unwrap();
    let session = small_session(
        dir.path(),
        "  - {name: flaky, binary: sh, args: [-c, 'sleep 0.2; exit 3']}\n  - {name: alert, binary: njord-alert, args: [--alerts, alerts.yaml]}\n",
    );
    std::fs::write(
        dir.path().join(&session),
        std::fs::read_to_string(dir.path().join(&session))
            .unwrap()
            .replace(
                "backoff_max: 1s}",
                "backoff_max: 1s, crash_loop_restarts: 3, crash_loop_within: 60s}",
            )
            .replace(
                "stages:",
                &format!("metrics_addr: 127.0.0.1:{ctl_port}\nstages:"),
            ),
    )
    .unwrap();
    let mut up = Up::start(dir.path(), &session);
    let v = up.wait_status("the crash loop", |code, v| {
        code == Some(1) && v["processes"][4]["state"] == "crash_loop"
    });
    assert_eq!(v["processes"][4]["restarts"], 2, "{v:#}");
    assert!(
        up.log().contains("a crash loop, left stopped"),
        "{}",
        up.log()
    );
    let addr = format!("127.0.0.1:{ctl_port}");
    let (code, _, body) = crate::telemetry::get(&addr, "/readyz", &[]);
    assert_eq!(code, 503);
    assert!(body.contains("flaky is in a crash loop"), "{body}");
    rx.wait_for("njord-alert's notice", |r| {
        r.got().iter().any(|g| {
            let a = &g.body["alerts"][0];
            a["labels"]["alertname"] == "session_degraded"
                && a["labels"]["key"] == "ctl"
                && a["annotations"]["summary"]
                    .as_str()
                    .is_some_and(|t| t.contains("flaky is in a crash loop"))
        })
    });
    // Every metric the controller serves is in the catalogue.
    let (_, _, metrics) = crate::telemetry::get(&addr, "/metrics", &[]);
    let bad = crate::telemetry::mismatch(
        &crate::telemetry::catalogue(),
        "njord-ctl",
        &crate::telemetry::sampled(&metrics),
        false,
    );
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

/// The README's rehearsal in one command: njord-sim, Redis, ingest, bars, strat, risk, the
/// broker in dry-run and paper come up ready; decisions flow; a kill trip halts the next
/// ones; `down` leaves no process of the session.
#[test]
fn the_rehearsal_comes_up_trades_halts_on_a_kill_trip_and_goes_down() {
    let dir = scratch();
    let session = "examples/rehearsal.yaml";
    let mut up = Up::start(dir.path(), session);
    let v = up.wait_status("every process of the rehearsal ready", all_ready);
    assert_eq!(v["processes"].as_array().unwrap().len(), 8, "{v:#}");
    let bus = v["bus"].as_str().unwrap().to_string();
    let sub = |n: &str| -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_njord-bus"))
            .current_dir(dir.path())
            .args(["sub", "--redis", &bus, "--count", n, "risk.decisions"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(sub("1")[0]["kind"], "decision");
    // The kill trip goes through the control API.
    let (mut api, base) = serve(dir.path(), session, &[("NJORD__API_KEYS__CTL__OPS", "tok")]);
    let (code, body) = curl(
        &format!("{base}/kill/trip"),
        Some("tok"),
        "POST",
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"reason":"rehearsal"}"#,
        ],
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&format!("redis {bus} ")) && body.contains("tripped"),
        "{body}"
    );
    let out = run(ctl(dir.path()).args(["kill", "status", "--session", session]));
    assert_eq!(out.status.code(), Some(1), "tripped");
    let after = sub("3");
    assert_eq!(after[2]["reason"], "halted", "{after:#?}");
    up.wait_status("risk showing trading halted", |_, v| {
        v["processes"][5]["trading_state"] == "halted"
    });
    // Every process's log, merged by time and filtered.
    let out = run(ctl(dir.path()).args([
        "logs",
        "--stage",
        "risk",
        "--stage",
        "paper",
        "--level",
        "info",
        "--grep",
        "subscrib",
        "--session",
        session,
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let who: Vec<&str> = text
        .lines()
        .map(|l| l.split(" | ").next().unwrap().trim())
        .collect();
    assert!(
        who.contains(&"risk") && who.contains(&"paper") && !who.contains(&"bars"),
        "{text}"
    );
    let pids = Up::pids(&up.status().1);
    let out = run(ctl(dir.path()).args(["down", "--session", session]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(up.child.wait().unwrap().success(), "{}", up.log());
    wait_gone(&pids, Duration::from_secs(1));
    let _ = api.kill();
    let _ = api.wait();
}

/// The live preflight against njord-sim: every check passes in a well-set live environment;
/// without NJORD_ENABLE_LIVE, with the kill switch tripped and the clock 10 s off, it exits 2
/// naming those checks; `up` of a live session needs its name in --confirm.
#[test]
fn the_live_preflight_passes_or_names_what_fails_and_a_live_up_needs_confirm() {
    const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.ndjson");
    std::fs::write(
        &tape,
        crate::support::trade_line("ATOM/USDT", 1, "10", 1_700_000_000_000_000_000) + "\n",
    )
    .unwrap();
    let sim = |extra: &[&str]| {
        let mut c = crate::support::sim_command();
        c.args(["-q", "serve", "--speed", "step", "--tape"])
            .arg(&tape)
            .args(extra);
        crate::support::SimServer::spawn(c)
    };
    std::fs::write(
        dir.path().join("live.yaml"),
        "name: desk\nstages:\n  - {name: broker, binary: njord-broker, live: true}\n",
    )
    .unwrap();
    let preflight = |sim: &crate::support::SimServer, live: bool, args: &[&str]| {
        let mut c = ctl(dir.path());
        c.args(args)
            .args(["--session", "live.yaml"])
            .env("NJORD__APP__ENV", "live")
            .env("NJORD__EXCHANGE__REST_URL", &sim.rest)
            .env("NJORD__EXCHANGE__SYMBOLS", "[ATOM/USDT]")
            .env("NJORD_BINANCEUS_API_KEY", KEY)
            .env("NJORD_BINANCEUS_API_SECRET", SECRET)
            .env("NJORD__AUDIT__ENABLED", "true")
            .env("NJORD__AUDIT__DIR", dir.path().join("audit"));
        if live {
            c.env("NJORD_ENABLE_LIVE", "1");
        }
        run(&mut c)
    };
    let good = sim(&[]);
    let out = preflight(&good, true, &["preflight"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "ok    live mode",
        "ok    kill switch",
        "ok    secrets file",
        "ok    live cap: orders above 10 USD are refused",
        "ok    API key: it can trade",
        "ok    clock",
        "ok    balances and open orders",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // Passing is not enough to start: the session's name must be confirmed.
    let out = preflight(&good, true, &["up"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("start it with --confirm desk"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skewed = sim(&["--clock-skew-ms", "10000"]);
    std::fs::create_dir_all(dir.path().join("var/run/njord")).unwrap();
    std::fs::write(dir.path().join("var/run/njord/halt"), "tripped\n").unwrap();
    let out = preflight(&skewed, false, &["preflight"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}{err}");
    for want in ["FAIL  live mode", "FAIL  kill switch: file", "FAIL  clock"] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(
        err.contains("live preflight failed: live mode, kill switch, clock"),
        "{err}"
    );
    // Each preflight, passed or not, is in the controller's audit chain.
    let trail = std::fs::read_to_string(dir.path().join("audit/audit.njord-ctl.ndjson")).unwrap();
    let results: Vec<bool> = trail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "preflight")
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(results, [true, true, false], "{trail}");
    assert!(!trail.contains(SECRET) && !trail.contains(KEY));
    // And `up` refuses before anything starts.
    let out = preflight(&skewed, false, &["up", "--confirm", "desk"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("var/run/njord/desk/ctl.lock").exists());
    // A broker made live by its own environment, without `live: true`, is held all the same.
    std::fs::write(
        dir.path().join("sneaky.yaml"),
        "name: sneaky\nstages:\n  - {name: broker, binary: njord-broker, env: {NJORD__APP__ENV: live, NJORD_ENABLE_LIVE: '1'}}\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("var/run/njord/halt")).unwrap();
    let mut c = ctl(dir.path());
    c.args(["up", "--session", "sneaky.yaml"])
        .env("NJORD__EXCHANGE__REST_URL", &good.rest)
        .env("NJORD__EXCHANGE__SYMBOLS", "[ATOM/USDT]")
        .env("NJORD_BINANCEUS_API_KEY", KEY)
        .env("NJORD_BINANCEUS_API_SECRET", SECRET);
    let out = run(&mut c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("start it with --confirm sneaky"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("stage broker: live preflight"));
}

/// `down --cancel-all` cancels every resting order at the venue, counted in njord-sim's own
/// order list, whether or not the session runs.
#[test]
fn down_with_cancel_all_leaves_no_resting_order_at_the_venue() {
    const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    let sim = crate::broker::Sim::start(&[]);
    for id in ["rest-1", "rest-2"] {
        sim.signed(
            "POST",
            "/api/v3/order",
            &[
                ("symbol", "ATOMUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "2"),
                ("price", "1.000"),
                ("newClientOrderId", id),
            ],
        );
    }
    let open = |sim: &crate::broker::Sim| {
        sim.signed("GET", "/api/v3/openOrders", &[("symbol", "ATOMUSDT")])
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(open(&sim), 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), "name: desk\nstages: []\n").unwrap();
    let out = run(ctl(dir.path())
        .args(["down", "--cancel-all", "--session", "s.yaml"])
        .env("NJORD__EXCHANGE__REST_URL", &sim.rest)
        .env("NJORD__EXCHANGE__SYMBOLS", "[ATOM/USDT]")
        .env("NJORD_BINANCEUS_API_KEY", KEY)
        .env("NJORD_BINANCEUS_API_SECRET", SECRET));
    let err = String::from_utf8_lossy(&out.stderr);
    // No session runs here: said with exit 3, as `status` does, and the orders are cancelled.
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("not running here"), "{err}");
    assert!(
        err.contains("cancelled=2") && err.contains("rest-1"),
        "{err}"
    );
    assert_eq!(open(&sim), 0);
}

/// `curl` of the control API: (status code, body).
fn curl(url: &str, token: Option<&str>, method: &str, extra: &[&str]) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "-w", "\n%{http_code}"])
        .args(extra);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = c.arg(url).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// A `njord-ctl serve` in the background, ready once it logs its address.
fn serve(dir: &Path, session: &str, env: &[(&str, &str)]) -> (Child, String) {
    let log = dir.join(format!("serve-{}.log", env.len()));
    let mut c = ctl(dir);
    c.args(["serve", "--session", session])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(url) = text
            .split("control API on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
        {
            return (child, url.trim_end_matches("/status").to_string());
        }
        if let Some(s) = child.try_wait().unwrap() {
            panic!("serve exited ({s}):\n{text}");
        }
        assert!(Instant::now() < deadline, "serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The control API: bearer tokens (a wrong or missing one is refused), status, positions,
/// PnL and orders from the stages' metrics, kill trip and clear, reload, a rate limit, stop;
/// off loopback it needs TLS, and with a certificate it serves HTTPS.
#[test]
fn the_control_api_needs_a_token_limits_its_rate_and_drives_the_session() {
    let dir = scratch();
    let session = small_session(dir.path(), "");
    let text = std::fs::read_to_string(dir.path().join(&session)).unwrap();
    let port = crate::support::free_port();
    std::fs::write(
        dir.path().join(&session),
        text.replace(
            "stages:",
            &format!("api: {{addr: 127.0.0.1:{port}, rate_per_minute: 12}}\nstages:"),
        ),
    )
    .unwrap();
    let mut up = Up::start(dir.path(), &session);
    up.wait_status("every process ready", all_ready);
    let audit_dir = dir.path().join("audit").display().to_string();
    let tokens = [
        ("NJORD__API_KEYS__CTL__OPS", "tok-s3cret"),
        ("NJORD__AUDIT__ENABLED", "true"),
        ("NJORD__AUDIT__DIR", audit_dir.as_str()),
    ];
    let (mut api, base) = serve(dir.path(), &session, &tokens);
    let t = Some("tok-s3cret");
    assert_eq!(curl(&format!("{base}/status"), None, "GET", &[]).0, 401);
    assert_eq!(
        curl(&format!("{base}/status"), Some("tok-s3cre"), "GET", &[]).0,
        401
    );
    let (code, body) = curl(&format!("{base}/status"), t, "GET", &[]);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["processes"].as_array().unwrap().len(), 4);
    for path in ["positions", "pnl", "orders"] {
        let (code, body) = curl(&format!("{base}/{path}"), t, "GET", &[]);
        assert_eq!(code, 200, "{path}: {body}");
    }
    let (code, body) = curl(
        &format!("{base}/kill/trip"),
        t,
        "POST",
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"reason":"api test"}"#,
        ],
    );
    assert_eq!(code, 200, "{body}");
    let out = run(ctl(dir.path()).args(["kill", "status", "--session", &session]));
    assert_eq!(out.status.code(), Some(1));
    let halt = std::fs::read_to_string(dir.path().join("var/run/njord/halt")).unwrap();
    assert!(halt.contains("control API, token ops: api test"), "{halt}");
    assert_eq!(curl(&format!("{base}/kill/clear"), t, "POST", &[]).0, 200);
    // Both are in the audit trail with the token that asked.
    let trail = std::fs::read_to_string(dir.path().join("audit/audit.njord-kill.ndjson")).unwrap();
    let actions: Vec<(String, String)> = trail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "kill_switch")
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    let by_api = |a: &str| (a.to_string(), "control API token ops".to_string());
    assert_eq!(actions, [by_api("trip"), by_api("clear")], "{trail}");
    assert!(!trail.contains("tok-s3cret"));
    let (code, body) = curl(&format!("{base}/reload"), t, "POST", &[]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("ingest") && body.contains("bars"), "{body}");
    // 12 a minute: the burst runs out.
    let limited = (0..12).any(|_| curl(&format!("{base}/status"), t, "GET", &[]).0 == 429);
    assert!(limited, "no 429 within the burst");
    let log = std::fs::read_to_string(dir.path().join("serve-3.log")).unwrap();
    assert!(
        log.contains("token=ops") && !log.contains("tok-s3cret"),
        "{log}"
    );
    // Stop through the API, once the limit has refilled a request.
    std::thread::sleep(Duration::from_secs(6));
    let (code, body) = curl(&format!("{base}/stop"), t, "POST", &[]);
    assert_eq!(code, 200, "{body}");
    assert!(up.child.wait().unwrap().success(), "{}", up.log());
    let _ = api.kill();
    let _ = api.wait();

    // Off loopback without a certificate: refused before it listens.
    let open = dir.path().join("open.yaml");
    std::fs::write(&open, "name: open\napi: {addr: '0.0.0.0:0'}\nstages: []\n").unwrap();
    let mut c = ctl(dir.path());
    c.args(["serve", "--session", "open.yaml"])
        .env(tokens[0].0, tokens[0].1);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs TLS"));
    // With a certificate it serves HTTPS.
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    std::fs::write(
        &open,
        "name: open\napi: {addr: '127.0.0.1:0', tls_cert: cert.pem, tls_key: key.pem}\nstages: []\n",
    )
    .unwrap();
    let (mut tls, base) = serve(
        dir.path(),
        "open.yaml",
        &[tokens[0], ("NJORD__APP__NAME", "tls")],
    );
    assert!(base.starts_with("https://"), "{base}");
    let cacert = dir.path().join("cert.pem").display().to_string();
    let (code, body) = curl(&format!("{base}/status"), t, "GET", &["--cacert", &cacert]);
    assert_eq!(code, 503, "the session is not running: {body}");
    let _ = tls.kill();
    let _ = tls.wait();
}

/// tmux on its own server socket, for a dashboard in a real terminal.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("tmux must be installed (make test installs it)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "top"]).stdout).to_string()
    }

    fn wait_screen(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            assert!(self.cmd(&["send-keys", "-t", "top", k]).status.success());
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// `njord-ctl top` in a real terminal (tmux): the stages and their health, keys that trip and
/// clear the kill switch and stop and restart a stage after a confirmation, a resize, quit.
#[test]
fn top_shows_the_session_and_its_keys_act_after_a_confirmation_in_a_real_terminal() {
    let dir = scratch();
    let session = small_session(dir.path(), "");
    let mut up = Up::start(dir.path(), &session);
    up.wait_status("every process ready", all_ready);
    let tmux = Tmux {
        socket: format!("njord-top-{}", std::process::id()),
    };
    let command = format!(
        "env -u NJORD_CONFIG NO_COLOR=1 NJORD__LOGGING__JSON_FILE=false {} top --session {session} 2> top.err",
        env!("CARGO_BIN_EXE_njord-ctl")
    );
    let dir_s = dir.path().display().to_string();
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "150",
        "-y",
        "45",
        "-c",
        &dir_s,
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait_screen("the stages, ready", |s| {
        s.contains("session small") && s.contains("bars") && s.matches("ready").count() >= 4
    });
    // Trip, after a confirmation.
    tmux.keys(&["t"]);
    tmux.wait_screen("the question", |s| s.contains("Trip the kill switch"));
    tmux.keys(&["y"]);
    tmux.wait_screen("the trip", |s| s.contains("kill switch tripped"));
    let out = run(ctl(dir.path()).args(["kill", "status", "--session", &session]));
    assert_eq!(out.status.code(), Some(1));
    // Anything but y cancels.
    tmux.keys(&["c", "n"]);
    tmux.wait_screen("cancelled", |s| s.contains("cancelled"));
    tmux.keys(&["c", "y"]);
    tmux.wait_screen("the clear", |s| s.contains("kill switch cleared"));
    // Select bars (the fourth process), stop it, start it again.
    tmux.keys(&["Down", "Down", "Down", "s"]);
    tmux.wait_screen("the question", |s| s.contains("Stop bars"));
    tmux.keys(&["y"]);
    up.wait_status("bars stopped", |_, v| {
        v["processes"][3]["state"] == "stopped"
    });
    tmux.keys(&["r", "y"]);
    up.wait_status("bars back", |code, v| {
        all_ready(code, v) && v["processes"][3]["restarts"] == 1
    });
    // A smaller terminal: still drawn.
    assert!(
        tmux.cmd(&["resize-window", "-t", "top", "-x", "90", "-y", "30"])
            .status
            .success()
    );
    tmux.wait_screen("the dashboard at 90x30", |s| {
        s.contains("session small")
            && s.lines().count() <= 30
            && s.lines().all(|l| l.chars().count() <= 90)
    });
    tmux.keys(&["q"]);
    let deadline = Instant::now() + DEADLINE;
    while tmux.cmd(&["has-session", "-t", "top"]).status.success() {
        assert!(Instant::now() < deadline, "top did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = std::fs::read_to_string(dir.path().join("top.err")).unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
}

/// `reload`: every stage's configuration re-read; a risk cap is applied while running, a key
/// that needs a restart is named, both journaled with the old and new hash; a configuration
/// that does not load refuses the reload and signals no stage.
#[test]
fn reload_applies_what_can_change_names_what_needs_a_restart_and_refuses_a_bad_file() {
    let dir = scratch();
    let session = "examples/rehearsal.yaml";
    let mut up = Up::start(dir.path(), session);
    let v = up.wait_status("every process ready", all_ready);
    let before = v["processes"][5]["config_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let base = dir.path().join("config/base.yaml");
    let text = std::fs::read_to_string(&base).unwrap();
    let changed = text
        .replace("per_order_usd_cap: 250", "per_order_usd_cap: 100")
        .replace("rotate_max_bytes: 104857600", "rotate_max_bytes: 1048576");
    assert_ne!(changed, text);
    std::fs::write(&base, &changed).unwrap();
    let out = run(ctl(dir.path()).args(["reload", "--session", session]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let risk = said.lines().find(|l| l.starts_with("risk:")).unwrap();
    assert!(
        risk.contains("applied: risk.per_order_usd_cap")
            && risk.contains("needs a restart: journal.rotate_max_bytes"),
        "{said}"
    );
    let v = up.status().1;
    let after = v["processes"][5]["config_hash"].as_str().unwrap();
    // njord-ingest takes no SIGHUP (it would end it): not signalled, not restarted.
    let ingest = said.lines().find(|l| l.starts_with("ingest:")).unwrap();
    assert!(ingest.contains("(not signalled)"), "{said}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(up.status().1["processes"][2]["restarts"], 0);
    assert_ne!(before, after);
    assert!(risk.contains(&format!("{before} → {after}")), "{said}");
    // Bars does not read the risk caps: only the journal key is news to it.
    let bars = said.lines().find(|l| l.starts_with("bars:")).unwrap();
    assert!(
        bars.ends_with("needs a restart: journal.rotate_max_bytes"),
        "{said}"
    );
    let journal =
        std::fs::read_to_string(dir.path().join("var/run/njord/rehearsal/reloads.ndjson")).unwrap();
    assert_eq!(journal.lines().count(), 6, "one line per stage:\n{journal}");
    let risk_log = dir.path().join("var/run/njord/rehearsal/logs/risk.log");
    let reloaded = || {
        std::fs::read_to_string(&risk_log)
            .unwrap()
            .matches("SIGHUP: caps reloaded")
            .count()
    };
    let deadline = Instant::now() + DEADLINE;
    while reloaded() < 1 {
        assert!(Instant::now() < deadline, "risk did not reload its caps");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        std::fs::read_to_string(&risk_log)
            .unwrap()
            .contains("per_order_usd_cap=100")
    );
    // A file that does not load: refused, nothing signalled.
    std::fs::write(&base, format!("{changed}\nrisk: [broken\n")).unwrap();
    let out = run(ctl(dir.path()).args(["reload", "--session", session]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("reload refused, nothing changed"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reloaded(), 1);
    assert_eq!(up.status().1["processes"][5]["config_hash"], after);
}

/// A stand-in for the Telegram Bot API on loopback: `getUpdates` hands out the queued
/// messages once, `sendMessage` bodies are recorded.
#[derive(Clone)]
struct FakeTelegram {
    addr: String,
    queue: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    sent: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl FakeTelegram {
    fn start() -> FakeTelegram {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let me = FakeTelegram {
            addr: listener.local_addr().unwrap().to_string(),
            queue: Default::default(),
            sent: Default::default(),
        };
        let t = me.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if r.read_line(&mut first).is_err() {
                    continue;
                }
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let path = first.split(' ').nth(1).unwrap_or("").to_string();
                let reply = if path.contains("/getUpdates") {
                    let updates: Vec<Value> = std::mem::take(&mut *t.queue.lock().unwrap());
                    if updates.is_empty() {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    serde_json::json!({"ok": true, "result": updates})
                } else {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    t.sent.lock().unwrap().push(v);
                    serde_json::json!({"ok": true, "result": {}})
                };
                let text = reply.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        me
    }

    fn say(&self, id: i64, chat: i64, text: &str) {
        self.queue.lock().unwrap().push(serde_json::json!({
            "update_id": id, "message": {"message_id": id, "chat": {"id": chat}, "text": text}
        }));
    }

    fn wait_reply(&self, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(v) = self.sent.lock().unwrap().iter().find(|v| cond(v)) {
                return v.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {:?}",
                self.sent.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Telegram commands through the control API's handlers: `/status` and `/kill` from an
/// allowed chat are answered and carried out, a chat not allowed is ignored, `/stop` stops
/// the session.
#[test]
fn telegram_commands_from_allowed_chats_status_kill_and_stop_the_session() {
    let dir = scratch();
    let tg = FakeTelegram::start();
    let session = small_session(dir.path(), "");
    let text = std::fs::read_to_string(dir.path().join(&session)).unwrap();
    std::fs::write(
        dir.path().join(&session),
        text.replace(
            "stages:",
            &format!(
                "api: {{telegram: {{url: 'http://{}', token_secret: bot, chat_ids: [42]}}}}\nstages:",
                tg.addr
            ),
        ),
    )
    .unwrap();
    let mut up = Up::start(dir.path(), &session);
    up.wait_status("every process ready", all_ready);
    let (mut api, _) = serve(
        dir.path(),
        &session,
        &[
            ("NJORD__API_KEYS__CTL__OPS", "tok"),
            ("NJORD__API_KEYS__ALERTS__BOT", "123:bot-s3cret"),
        ],
    );
    tg.say(1, 42, "/status");
    tg.say(2, 7, "/stop");
    let status = tg.wait_reply("the status", |v| v["chat_id"] == 42);
    let text = status["text"].as_str().unwrap();
    assert!(
        text.starts_with("session small: 4 of 4 processes ready; trading active"),
        "{text}"
    );
    tg.say(3, 42, "/kill@njord_bot runaway strategy");
    tg.wait_reply("the kill", |v| {
        v["text"]
            .as_str()
            .is_some_and(|t| t.contains("kill switch tripped"))
    });
    let halt = std::fs::read_to_string(dir.path().join("var/run/njord/halt")).unwrap();
    assert!(
        halt.contains("Telegram chat 42: runaway strategy"),
        "{halt}"
    );
    // Chat 7 was not obeyed: the session still runs.
    assert!(tg.sent.lock().unwrap().iter().all(|v| v["chat_id"] == 42));
    assert_eq!(up.status().0, Some(0));
    tg.say(4, 42, "/stop");
    tg.wait_reply("the stop", |v| v["text"] == "session stopped");
    assert!(up.child.wait().unwrap().success(), "{}", up.log());
    let log = std::fs::read_to_string(dir.path().join("serve-2.log")).unwrap();
    assert!(!log.contains("bot-s3cret"), "{log}");
    let _ = api.kill();
    let _ = api.wait();
}

/// A stage alive but not processing — its event time stuck, `/readyz` stale — is reported
/// and, with `on_stuck: restart`, restarted: here bars, once its upstream is stopped. (Its
/// staleness bound is 3 s, above the tape's quiet spells at 50x even on a loaded host.)
#[test]
fn a_stuck_stage_is_reported_and_restarted_by_its_policy() {
    let dir = scratch();
    let text = format!(
        "name: stuck
state_dir: {state}
redis: {{port: 0}}
sim: {{args: [--tape, examples/data/atom_demo.ndjson.gz, --speed, 50x, --loop]}}
supervise: {{stuck_after: 1s}}
stages:
  - {{name: ingest, binary: njord-ingest, args: [--symbol, ATOM/USDT], produces: [md.trades.ATOM/USDT], depends_on: [redis, sim]}}
  - {{name: bars, binary: njord-bars, consumes: ['md.trades.*'], produces: ['md.ohlcv.1m.ATOM/USDT'], depends_on: [ingest], on_stuck: restart, env: {{NJORD__TELEMETRY__STALE_AFTER_MS: '3000'}}}}
",
        state = dir.path().join("state").display()
    );
    std::fs::write(dir.path().join("stuck.yaml"), text).unwrap();
    let mut up = Up::start(dir.path(), "stuck.yaml");
    up.wait_status("every process ready", all_ready);
    let out = run(ctl(dir.path()).args(["stop", "ingest", "--session", "stuck.yaml"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    up.wait_status("bars restarted as stuck", |_, v| {
        v["processes"][2]["state"] == "stopped" && v["processes"][3]["restarts"].as_u64() >= Some(1)
    });
    assert!(
        up.log().contains("alive but not processing"),
        "{}",
        up.log()
    );
}

/// With `api_keys.metrics.token` set, the daemons require it even on loopback: the
/// controller's probes carry it, so the gate, `status` and the metrics read still work.
#[test]
fn a_metrics_token_is_sent_with_every_probe() {
    let dir = scratch();
    let session = small_session(dir.path(), "");
    let token = [("NJORD__API_KEYS__METRICS__TOKEN", "m-s3cret")];
    let mut up = Up::start_with(dir.path(), &session, &token);
    let v = up.wait_status("every process ready", all_ready);
    assert!(v["processes"][3]["version"].is_string(), "{v:#}");
    let addr = v["processes"][3]["metrics"].as_str().unwrap();
    assert_eq!(
        crate::telemetry::get(addr, "/readyz", &[]).0,
        401,
        "the token is required"
    );
}
