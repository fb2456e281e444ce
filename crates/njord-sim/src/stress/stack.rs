//! Bringing a scenario's stack up and down: `njord-sim serve --speed step` owned by the
//! runner, and Redis plus the stages owned by `njord-ctl up` with a session file written for
//! the scenario. The runner keeps the simulator itself because ctl's preflight of a live
//! broker runs before a managed simulator has its ports.

use super::http::Http;
use super::schema::Scenario;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long `njord-ctl up` may take to report every process ready.
const UP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `njord-sim serve` may take to say it is ready.
const SIM_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `njord-ctl down`, and then `up` exiting, may take before the runner stops the
/// session itself.
const DOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the child in a process group of its own, so a stop reaches whatever it started.
fn own_group(c: &mut Command) -> &mut Command {
    std::os::unix::process::CommandExt::process_group(c, 0)
}

/// Sends `sig` to the process group led by `pid` (what [`own_group`] made).
fn signal_group(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(pid), sig);
    }
}

/// Waits for `child` until `deadline`; whether it exited.
fn wait_until(child: &mut Child, deadline: Instant) -> bool {
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the child's process group and reaps the child.
fn kill_group(child: &mut Child) {
    signal_group(child.id(), Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A command for a Njord binary with none of the caller's `NJORD*` environment: a shell set
/// up for a real desk (its Redis, venue or keys) must not reach the scenario's stack, which
/// gets its own settings explicitly.
pub fn command(name: &str) -> Command {
    let mut c = Command::new(bin(name));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("NJORD") {
            c.env_remove(k);
        }
    }
    c
}

/// A Njord binary: beside `njord-stress`, else on PATH (as njord-ctl finds its stages).
pub fn bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A running `njord-sim serve`, killed on drop.
pub struct SimProc {
    child: Child,
    pub rest: String,
    pub ws: String,
    http: Http,
}

impl SimProc {
    pub fn spawn(dir: &Path, tape: &Path, extra: &[String]) -> Result<SimProc, String> {
        let log = std::fs::File::create(dir.join("sim.log")).map_err(|e| e.to_string())?;
        let mut child = own_group(&mut command("njord-sim"))
            .current_dir(dir)
            .env("NJORD__LOGGING__JSON_FILE", "false")
            .args([
                "-q",
                "serve",
                "--speed",
                "step",
                "--rest-port",
                "0",
                "--ws-port",
                "0",
            ])
            .arg("--tape")
            .arg(tape)
            .arg("--journal")
            .arg(dir.join("sim.journal.ndjson"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start njord-sim: {e}"))?;
        // The first line, read on a thread so a simulator that hangs cannot hang the run.
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut first = String::new();
                let _ = BufReader::new(out).read_line(&mut first);
                let _ = tx.send(first);
            });
        }
        let first = rx.recv_timeout(SIM_TIMEOUT).unwrap_or_default();
        let ready: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
        if ready["kind"] != "sim_ready" {
            kill_group(&mut child);
            let log = std::fs::read_to_string(dir.join("sim.log")).unwrap_or_default();
            let why = if first.is_empty() {
                format!("no ready line within {SIM_TIMEOUT:?}")
            } else {
                first.trim().to_string()
            };
            return Err(format!("njord-sim did not start ({why}): {}", log.trim()));
        }
        Ok(SimProc {
            child,
            rest: ready["rest_url"].as_str().unwrap_or_default().to_string(),
            ws: ready["ws_url"].as_str().unwrap_or_default().to_string(),
            http: Http::new(Duration::from_secs(30))?,
        })
    }

    /// `POST /control/{what}` with a JSON body; the answer's JSON.
    pub fn control(&self, what: &str, body: &Value) -> Result<Value, String> {
        let (status, text) = self.http.call(
            reqwest::Method::POST,
            &format!("{}/control/{what}", self.rest),
            Some(body.to_string()),
            &[],
        )?;
        if status != 200 {
            return Err(format!("/control/{what} {body}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("/control/{what}: {e}"))
    }

    /// A signed request with the simulator's key pair and a generous window (evidence is
    /// read after the faults are cleared).
    pub fn signed(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        use njord::venue::binanceus::sign::{Signer, signed_query};
        let signer = Signer::new(crate::DEFAULT_API_KEY, crate::DEFAULT_API_SECRET);
        let q = signed_query(&signer, params, 60_000, now_ns() / 1_000_000);
        let (status, text) = self.http.call(
            reqwest::Method::GET,
            &format!("{}{path}?{q}", self.rest),
            None,
            &[("X-MBX-APIKEY", crate::DEFAULT_API_KEY)],
        )?;
        if status != 200 {
            return Err(format!("GET {path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("GET {path}: {e}"))
    }

    /// A stage's `/metrics` text (`base` is its `http://HOST:PORT`).
    pub fn metrics(&self, base: &str) -> Result<(u16, String), String> {
        self.http
            .call(reqwest::Method::GET, &format!("{base}/metrics"), None, &[])
    }
}

impl Drop for SimProc {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// What the webhook received: (wall ns, payload).
pub type Received = Arc<Mutex<Vec<(i64, Value)>>>;

/// A loopback webhook for njord-alert's `stress` channel; stops on drop.
pub struct Webhook {
    pub url: String,
    pub received: Received,
    stop: Arc<AtomicBool>,
}

impl Webhook {
    pub fn start() -> Result<Webhook, String> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let url = format!("http://{}/", l.local_addr().map_err(|e| e.to_string())?);
        let received: Received = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (got, halt) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        if let Some(v) = read_post(s) {
                            got.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((now_ns(), v));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Webhook {
            url,
            received,
            stop,
        })
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one POST and answers 200; the body as JSON.
fn read_post(mut s: std::net::TcpStream) -> Option<Value> {
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                break body.to_string();
            }
        }
    };
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    serde_json::from_str(&body).ok()
}

/// The session and configuration files of a scenario, written into `dir`.
pub struct Files {
    pub session: PathBuf,
    pub session_name: String,
    /// Environment for njord-ctl (inherited by every stage) and njord-kill.
    pub env: Vec<(String, String)>,
}

/// Writes `config.yaml`, `alerts.yaml` and `session.yaml` (JSON, which YAML reads).
pub fn write_files(
    s: &Scenario,
    dir: &Path,
    sim: &SimProc,
    symbol: &str,
    webhook: Option<&str>,
) -> Result<Files, String> {
    let w = |name: &str, v: &Value| {
        std::fs::write(
            dir.join(name),
            serde_json::to_string_pretty(v).unwrap_or_default(),
        )
        .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let config = match &s.stack.config {
        Value::Null => json!({}),
        v @ Value::Object(_) => v.clone(),
        _ => return Err("stack.config: a mapping of configuration keys".into()),
    };
    w("config.yaml", &config)?;
    let p = |rel: &str| dir.join(rel).display().to_string();
    let mut stages = vec![
        json!({"name": "ingest", "binary": "njord-ingest", "args": ["--symbol", symbol], "depends_on": ["redis"]}),
        json!({"name": "risk", "binary": "njord-risk", "depends_on": ["redis"]}),
    ];
    if s.stack.broker {
        stages.push(
            json!({"name": "broker", "binary": "njord-broker", "live": true,
            "env": {"NJORD__APP__ENV": "live"}, "depends_on": ["redis"]}),
        );
    }
    if let (Some(rules), Some(url)) = (&s.stack.alerts, webhook) {
        w(
            "alerts.yaml",
            &json!({"channels": {"stress": {"type": "webhook", "url": url}}, "rules": rules}),
        )?;
        stages.push(json!({"name": "alert", "binary": "njord-alert",
            "args": ["--alerts", p("alerts.yaml")], "depends_on": ["redis"]}));
    }
    let session_name = format!("stress-{}", s.name);
    let session = json!({
        "name": session_name,
        "state_dir": p("state"),
        "redis": {"port": 0},
        "supervise": {"backoff_first": "1s", "backoff_max": "2s", "stop_grace": "5s"},
        "stages": stages,
    });
    w("session.yaml", &session)?;
    let env = [
        ("NJORD_CONFIG", p("config.yaml")),
        ("NJORD_ENABLE_LIVE", "1".into()),
        ("NJORD__EXCHANGE__REST_URL", sim.rest.clone()),
        ("NJORD__EXCHANGE__WS_URL", sim.ws.clone()),
        ("NJORD__EXCHANGE__SYMBOLS", format!("[{symbol}]")),
        ("NJORD__JOURNAL__DIR", p("journal")),
        ("NJORD__LOGGING__LOG_DIR", p("log")),
        ("NJORD__LOGGING__JSON_FILE", "false".into()),
        ("NJORD__RISK__KILL_SWITCH_FILE", p("halt")),
        ("NJORD__AUDIT__ENABLED", "true".into()),
        // Readiness without a watermark check: the tape only moves when the runner steps it.
        ("NJORD__TELEMETRY__STALE_AFTER_MS", "0".into()),
        ("NJORD__AUDIT__DIR", p("audit")),
        ("NJORD_BINANCEUS_API_KEY", crate::DEFAULT_API_KEY.into()),
        (
            "NJORD_BINANCEUS_API_SECRET",
            crate::DEFAULT_API_SECRET.into(),
        ),
        ("NO_COLOR", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(Files {
        session: dir.join("session.yaml"),
        session_name,
        env,
    })
}

/// A session brought up by `njord-ctl up`; `down` on drop.
pub struct Ctl {
    up: Child,
    dir: PathBuf,
    files: Files,
    pub status: Value,
}

impl Ctl {
    fn command(dir: &Path, files: &Files) -> Command {
        let mut c = command("njord-ctl");
        c.current_dir(dir)
            .envs(files.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// Starts `njord-ctl up` and waits until `status` says every process is ready.
    pub fn up(dir: &Path, files: Files) -> Result<Ctl, String> {
        let log = std::fs::File::create(dir.join("ctl.log")).map_err(|e| e.to_string())?;
        let up = own_group(&mut Self::command(dir, &files))
            .args(["up", "--session"])
            .arg(&files.session)
            .args(["--confirm", &files.session_name])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start njord-ctl: {e}"))?;
        let mut ctl = Ctl {
            up,
            dir: dir.to_path_buf(),
            files,
            status: Value::Null,
        };
        let deadline = Instant::now() + UP_TIMEOUT;
        loop {
            let (code, v) = ctl.query_status();
            let ready = code == Some(0)
                && v["processes"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty() && p.iter().all(|p| p["ready"] == true));
            if ready {
                ctl.status = v;
                return Ok(ctl);
            }
            if let Ok(Some(s)) = ctl.up.try_wait() {
                return Err(format!("njord-ctl up exited ({s}): {}", ctl.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the session was not ready within {UP_TIMEOUT:?}: {v}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("ctl.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    fn query_status(&self) -> (Option<i32>, Value) {
        let out = Self::command(&self.dir, &self.files)
            .args(["status", "--json", "--session"])
            .arg(&self.files.session)
            .output();
        match out {
            Ok(o) => (
                o.status.code(),
                serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
            ),
            Err(_) => (None, Value::Null),
        }
    }

    /// The session's Redis URL.
    pub fn bus(&self) -> Option<String> {
        self.status["bus"].as_str().map(str::to_string)
    }

    /// (stage, metrics base URL) of every process with a metrics endpoint.
    pub fn metrics(&self) -> Vec<(String, String)> {
        self.status["processes"]
            .as_array()
            .into_iter()
            .flatten()
            // Redis is a process of the session too, but no HTTP server.
            .filter(|p| p["binary"].as_str().is_some_and(|b| b.contains("njord-")))
            .filter_map(|p| {
                let m = p["metrics"].as_str()?;
                let base = if m.starts_with("http://") {
                    m.trim_end_matches("/metrics").to_string()
                } else {
                    format!("http://{m}")
                };
                Some((p["name"].as_str()?.to_string(), base))
            })
            .collect()
    }

    /// `njord-kill trip --reason …` on the session's kill file and Redis key.
    pub fn kill(&self, reason: &str) -> Result<(), String> {
        let mut c = command("njord-kill");
        c.current_dir(&self.dir)
            .envs(self.files.env.iter().map(|(k, v)| (k, v)))
            .args(["trip", "--reason", reason, "--source", "njord-stress"]);
        if let Some(bus) = self.bus() {
            c.args(["--redis", &bus]);
        }
        let out = c.output().map_err(|e| format!("njord-kill: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "njord-kill trip: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The processes as the report shows them.
    pub fn processes(&self) -> Value {
        let procs = self.status["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Value::Array(
            procs
                .iter()
                .map(|p| {
                    json!({"name": p["name"], "binary": p["binary"], "pid": p["pid"],
                        "restarts": p["restarts"], "config_hash": p["config_hash"]})
                })
                .collect(),
        )
    }

    /// Restarts seen since `up`, by stage (a stage that crashed under a fault).
    pub fn restarts(&self) -> Vec<(String, u64)> {
        let (_, v) = self.query_status();
        v["processes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["name"].as_str()?.to_string(), p["restarts"].as_u64()?)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl Drop for Ctl {
    /// `njord-ctl down`, then `up` exits having stopped every process. If that does not
    /// happen within [`DOWN_TIMEOUT`], `up` gets SIGTERM (it stops its processes in order),
    /// then its group SIGKILL: its children run under `--pdeathsig KILL` and die with it, and
    /// each process group the session reported gets SIGKILL too, so nothing is left behind.
    fn drop(&mut self) {
        let (_, now) = self.query_status();
        let mut groups: Vec<u32> = [&self.status, &now]
            .iter()
            .flat_map(|v| v["processes"].as_array().into_iter().flatten())
            .filter_map(|p| p["pid"].as_u64().and_then(|p| u32::try_from(p).ok()))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let deadline = Instant::now() + DOWN_TIMEOUT;
        if let Ok(mut down) = own_group(&mut Self::command(&self.dir, &self.files))
            .args(["down", "--session"])
            .arg(&self.files.session)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            && !wait_until(&mut down, deadline)
        {
            kill_group(&mut down);
        }
        if wait_until(&mut self.up, deadline) {
            return;
        }
        signal_group(self.up.id(), Signal::SIGTERM);
        if !wait_until(&mut self.up, Instant::now() + Duration::from_secs(10)) {
            kill_group(&mut self.up);
        }
        for pid in groups {
            signal_group(pid, Signal::SIGKILL);
        }
    }
}
