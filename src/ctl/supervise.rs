//! `njord-ctl up`: the controller. It starts a session's processes in dependency order, each
//! gated on its `/readyz`, supervises them (restarts with backoff and jitter, crash loops,
//! stages alive but not processing), answers `status`, `restart` and `down` on its control
//! socket, and stops everything in reverse order on `down`, SIGTERM or SIGINT.
//!
//! Children never outlive the controller: each runs in its own process group (so a stop
//! reaches whatever it started) under `setpriv --pdeathsig KILL`, so the kernel kills it the
//! moment the controller dies, even by SIGKILL. KILL rather than TERM: a dead controller is a
//! crash, which every stage survives by design (journals written before output, orders
//! idempotent by client id), and a loaded host must not let a child trade on for seconds.

use super::control::{self, Reply, Request};
use super::probe::{Prober, Ready, Seen};
use super::session::{OnStuck, Restart, Session};
use crossbeam_channel::Receiver;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the loop turns: reaps exits, starts what is due, answers requests.
const TURN: Duration = Duration::from_millis(100);
/// The binaries whose stage runner takes SIGHUP as "reload" (njord-ingest and njord-sim do
/// not: SIGHUP would end them).
const RELOADS_ON_SIGHUP: [&str; 8] = [
    "njord-strat",
    "njord-risk",
    "njord-paper",
    "njord-bars",
    "njord-portfolio",
    "njord-exec",
    "njord-broker",
    "njord-alert",
];

/// How often running daemons are probed for health.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// What a supervised process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Redis,
    Sim,
    Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Started, not yet through its readiness gate.
    Starting,
    Running,
    /// Exited; starts again after its backoff.
    Backoff,
    /// Crashed too often too fast: left stopped until `restart`.
    CrashLoop,
    /// Exited and, by its restart policy, not started again.
    Exited,
    Stopped,
}

struct Proc {
    name: String,
    role: Role,
    binary: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Where its `/metrics`, `/livez` and `/readyz` are (`None`: no endpoints).
    metrics: Option<String>,
    /// A Njord stage's effective configuration, as it loaded it (secrets redacted).
    config: Option<serde_json::Value>,
    restart: Restart,
    on_stuck: OnStuck,
    log: PathBuf,
    child: Option<std::process::Child>,
    started: Option<Instant>,
    restarts: u32,
    crashes: VecDeque<Instant>,
    state: State,
    next_start: Option<Instant>,
    /// Since when a running stage has not been ready (stuck once past `stuck_after`).
    stale_since: Option<Instant>,
    /// Its being stuck was reported (and acted on) for this spell.
    stuck_reported: bool,
    ready: Ready,
    seen: Seen,
}

/// One process in `status`.
#[derive(Debug, Serialize)]
pub struct ProcStatus {
    pub name: String,
    pub binary: String,
    pub pid: Option<u32>,
    pub state: State,
    pub uptime_s: Option<f64>,
    pub restarts: u32,
    pub ready: bool,
    /// Why not, when not ready.
    pub reason: Option<String>,
    pub metrics: Option<String>,
    /// The hash of a Njord stage's effective configuration (see `reload`).
    pub config_hash: Option<String>,
    #[serde(flatten)]
    pub seen: Seen,
}

/// The whole session in `status`.
#[derive(Debug, Serialize)]
pub struct Status {
    pub session: String,
    /// The bus the stages share (`redis://…`), when there is one.
    pub bus: Option<String>,
    /// The managed simulator's REST URL, when the session runs one.
    pub venue: Option<String>,
    pub controller_pid: u32,
    pub uptime_s: f64,
    pub processes: Vec<ProcStatus>,
}

/// The controller of one session.
pub struct Controller {
    session: Session,
    procs: Vec<Proc>,
    prober: Prober,
    /// The controller's own health endpoints, when the session names an address.
    health: Option<Arc<crate::telemetry::Health>>,
    /// The bearer token of metrics endpoints (`api_keys.metrics.token`), for the controller's.
    token: Option<String>,
    bus: Option<String>,
    /// The managed simulator's REST URL.
    venue: Option<String>,
    started: Instant,
    /// The session's lock, held while the controller runs (its pid inside).
    lock: File,
    socket: PathBuf,
}

/// A port no one listens on now, on loopback.
fn free_port() -> Result<u16, String> {
    crate::net::free_port().map_err(|e| format!("no free loopback port: {e}"))
}

/// A binary named without a path is looked up beside `njord-ctl` first (the Njord binaries
/// are installed together), then on `PATH`.
pub fn resolve(binary: &str) -> PathBuf {
    if binary.contains('/') {
        return PathBuf::from(binary);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(binary)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(binary))
}

impl Controller {
    /// Takes the session's lock (one controller per session) and lays out its processes.
    /// `token`: `api_keys.metrics.token`, which the daemons' endpoints (and the controller's
    /// own) then require.
    pub fn new(session: Session, token: Option<String>) -> Result<Controller, String> {
        let token = token.filter(|t| !t.is_empty());
        let dir = &session.state_dir;
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let lock = take_lock(&dir.join("ctl.lock"))?;
        let mut procs = Vec::new();
        let log = |name: &str| dir.join("logs").join(format!("{name}.log"));
        let mut bus = session.bus.clone();
        if let Some(port) = session.redis {
            let port = if port == 0 { free_port()? } else { port };
            bus = Some(format!("redis://127.0.0.1:{port}/0"));
            procs.push(Proc::new(
                "redis",
                Role::Redis,
                "redis-server",
                vec![
                    "--port".into(),
                    port.to_string(),
                    "--bind".into(),
                    "127.0.0.1".into(),
                    "--save".into(),
                    String::new(),
                    "--appendonly".into(),
                    "no".into(),
                    "--dir".into(),
                    dir.display().to_string(),
                ],
                vec![],
                Some(format!("127.0.0.1:{port}")),
                log("redis"),
            ));
        }
        let mut venue_env = Vec::new();
        let mut venue = None;
        if let Some(args) = &session.sim {
            let (rest, ws, m) = (free_port()?, free_port()?, free_port()?);
            let mut all = vec!["serve".to_string()];
            all.extend(args.iter().cloned());
            for (flag, port) in [("--rest-port", rest), ("--ws-port", ws)] {
                all.push(flag.into());
                all.push(port.to_string());
            }
            all.push("--metrics-addr".into());
            all.push(format!("127.0.0.1:{m}"));
            venue = Some(format!("http://127.0.0.1:{rest}"));
            venue_env = vec![
                (
                    "NJORD__EXCHANGE__REST_URL".to_string(),
                    format!("http://127.0.0.1:{rest}"),
                ),
                (
                    "NJORD__EXCHANGE__WS_URL".to_string(),
                    format!("ws://127.0.0.1:{ws}"),
                ),
            ];
            procs.push(Proc::new(
                "sim",
                Role::Sim,
                "njord-sim",
                all,
                vec![],
                Some(format!("127.0.0.1:{m}")),
                log("sim"),
            ));
        }
        for st in session.start_order()? {
            let mut args = st.args.clone();
            let mut metrics = None;
            if st.binary.starts_with("njord-") {
                if let Some(b) = &bus
                    && !args.iter().any(|a| a == "--bus")
                {
                    args.push("--bus".into());
                    args.push(b.clone());
                }
                match args.iter().position(|a| a == "--metrics-addr") {
                    None => {
                        let addr = format!("127.0.0.1:{}", free_port()?);
                        args.push("--metrics-addr".into());
                        args.push(addr.clone());
                        metrics = Some(addr);
                    }
                    // The stage's own address is probed; `off` leaves it ungated.
                    Some(i) => {
                        metrics = match args
                            .get(i + 1)
                            .map(|a| crate::telemetry::MetricsAddr::parse(a))
                        {
                            Some(Ok(crate::telemetry::MetricsAddr::At(at))) => Some(at.to_string()),
                            _ => None,
                        }
                    }
                }
            }
            let mut env = venue_env.clone();
            for (k, v) in session.env.iter().chain(&st.env) {
                env.push((k.clone(), v.clone()));
            }
            let mut p = Proc::new(
                &st.name,
                Role::Stage,
                &st.binary,
                args,
                env,
                metrics,
                log(&st.name),
            );
            p.restart = st.restart;
            p.on_stuck = st.on_stuck;
            if p.binary.starts_with("njord-") {
                match effective_config(&p) {
                    Ok(c) => p.config = Some(c),
                    Err(e) => tracing::warn!(process = %p.name, "its configuration: {e}"),
                }
            }
            procs.push(p);
        }
        let socket = dir.join("ctl.sock");
        Ok(Controller {
            session,
            procs,
            prober: Prober::new(token.as_deref())?,
            health: None,
            token,
            bus,
            venue,
            started: Instant::now(),
            lock,
            socket,
        })
    }

    /// Starts every process in order, each through its gate, then supervises until `down`,
    /// SIGTERM or SIGINT; stops everything before it returns. `Err` when a process does not
    /// become ready in time (what was started is stopped first).
    pub fn run(mut self) -> Result<(), String> {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signals: {e}"))?;
        }
        let requests = control::serve(&self.socket)?;
        // Where the session's bus is, for `kill` without asking the loop (it may be busy).
        if let Some(bus) = &self.bus {
            std::fs::write(self.session.state_dir.join("bus"), format!("{bus}\n"))
                .map_err(|e| format!("{}: {e}", self.session.state_dir.display()))?;
        }
        if let Some(addr) = &self.session.metrics_addr {
            let at = match crate::telemetry::MetricsAddr::parse(addr)? {
                crate::telemetry::MetricsAddr::At(at) => at,
                crate::telemetry::MetricsAddr::Off => return Err("metrics_addr: off".into()),
            };
            crate::telemetry::init("njord-ctl");
            // No event time of its own: ready means every process is.
            let health = Arc::new(crate::telemetry::Health::new(0));
            crate::telemetry::health_gauges(health.clone());
            health.beat(crate::stage::wall_clock_ns());
            let bound = crate::telemetry::serve(at, self.token.as_deref(), health.clone())
                .map_err(|e| e.to_string())?;
            tracing::info!("controller health on http://{bound}/readyz");
            self.health = Some(health);
        }
        let t0 = Instant::now();
        for i in 0..self.procs.len() {
            if let Err(e) = self.start(i).and_then(|()| self.gate(i, &stop)) {
                self.shutdown();
                return Err(e);
            }
        }
        if let Some(h) = &self.health {
            h.set_started();
        }
        let n = self.procs.len();
        tracing::info!(
            session = %self.session.name,
            "session up: {n} processes ready in {:.2} s",
            t0.elapsed().as_secs_f64()
        );
        let result = self.supervise(&stop, &requests);
        self.shutdown();
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(self.session.state_dir.join("bus"));
        // A clean exit leaves no pid behind: the next controller has nothing to take over.
        let _ = self.lock.set_len(0);
        result
    }

    fn start(&mut self, i: usize) -> Result<(), String> {
        let p = &mut self.procs[i];
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p.log)
            .map_err(|e| format!("{}: {e}", p.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", p.log.display()))?;
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(&p.program)
            .args(&p.args)
            .envs(p.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start {}: {e}", p.name, p.binary))?;
        tracing::info!(process = %p.name, pid = child.id(), "started {}", p.binary);
        p.child = Some(child);
        p.started = Some(Instant::now());
        p.state = State::Starting;
        p.next_start = None;
        p.stale_since = None;
        p.stuck_reported = false;
        p.ready = Ready::No("starting".into());
        Ok(())
    }

    /// Waits for process `i` to be ready: Redis answering PING, a daemon's `/readyz` 200 or
    /// "no event yet" (its start-up finished; events may wait for stages started later).
    fn gate(&mut self, i: usize, stop: &AtomicBool) -> Result<(), String> {
        let deadline = Instant::now() + self.session.supervise.ready_timeout;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err("stopped during start-up".into());
            }
            let p = &mut self.procs[i];
            if let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!(
                    "{} exited during start-up ({status}): {}; see {}",
                    p.name,
                    last_line(&p.log),
                    p.log.display()
                ));
            }
            let ready = match (p.role, &p.metrics) {
                (Role::Redis, Some(addr)) => redis_ping(addr),
                (_, Some(addr)) => {
                    p.ready = self.prober.ready(addr);
                    matches!(p.ready, Ready::Yes | Ready::NoEventYet(_))
                }
                (_, None) => true,
            };
            if ready {
                p.state = State::Running;
                if let (Role::Sim | Role::Stage, Some(addr)) = (p.role, &p.metrics) {
                    p.seen = self.prober.seen(addr);
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                let why = match &p.ready {
                    Ready::No(w) | Ready::NoEventYet(w) => w.clone(),
                    Ready::Yes => String::new(),
                };
                return Err(format!(
                    "{} was not ready within {} s ({why}); see {}",
                    p.name,
                    self.session.supervise.ready_timeout.as_secs(),
                    p.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn supervise(&mut self, stop: &AtomicBool, requests: &Receiver<Request>) -> Result<(), String> {
        let mut last_probe = Instant::now()
            .checked_sub(PROBE_EVERY)
            .unwrap_or_else(Instant::now);
        loop {
            if stop.load(Ordering::Relaxed) {
                tracing::info!("signal: stopping the session");
                return Ok(());
            }
            while let Ok(req) = requests.try_recv() {
                match req {
                    Request::Status(reply) => {
                        let _ = reply.send(Reply::Status(self.status()));
                    }
                    Request::Reload(reply) => {
                        let _ = reply.send(Reply::Reloaded(self.reload()));
                    }
                    Request::Stop(name, reply) => {
                        let r = self.stop_one(&name);
                        let _ = reply.send(Reply::Done(r));
                    }
                    Request::Restart(name, reply) => {
                        let r = self.restart(&name);
                        let _ = reply.send(Reply::Done(r));
                    }
                    Request::Down(reply, written) => {
                        tracing::info!("down requested: stopping the session");
                        self.shutdown();
                        let _ = std::fs::remove_file(&self.socket);
                        let _ = reply.send(Reply::Done(Ok(())));
                        let _ = written.recv_timeout(Duration::from_secs(1));
                        return Ok(());
                    }
                }
            }
            self.reap();
            let now = Instant::now();
            for i in 0..self.procs.len() {
                if self.procs[i].next_start.is_some_and(|t| t <= now)
                    && let Err(e) = self.start(i)
                {
                    tracing::error!("{e}");
                    self.procs[i].next_start = Some(now + self.session.supervise.backoff_max);
                }
            }
            if now.duration_since(last_probe) >= PROBE_EVERY {
                last_probe = now;
                self.probe_all();
            }
            if let Some(h) = &self.health {
                h.beat(crate::stage::wall_clock_ns());
                h.set_degraded(self.degraded());
            }
            std::thread::sleep(TURN);
        }
    }

    /// Why the session is not healthy: stages in a crash loop, stuck, or exited for good.
    fn degraded(&self) -> Option<String> {
        let stuck = self.session.supervise.stuck_after;
        let why: Vec<String> = self
            .procs
            .iter()
            .filter_map(|p| match p.state {
                State::CrashLoop => Some(format!(
                    "{} is in a crash loop (see {})",
                    p.name,
                    p.log.display()
                )),
                State::Exited => Some(format!("{} exited and is not restarted", p.name)),
                _ if p.stale_since.is_some_and(|t| t.elapsed() >= stuck) => {
                    Some(format!("{} is alive but not processing", p.name))
                }
                _ => None,
            })
            .collect();
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// Notes every process that exited and decides its restart.
    fn reap(&mut self) {
        let sup = self.session.supervise.clone();
        for p in &mut self.procs {
            let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) else {
                continue;
            };
            // Whatever it started goes with it, so a restart never runs beside a leftover.
            if let Some(c) = p.child.take() {
                let _ = killpg(Pid::from_raw(c.id() as i32), Signal::SIGKILL);
            }
            let now = Instant::now();
            let restart = match p.restart {
                Restart::Always => true,
                Restart::OnFailure => !status.success(),
                Restart::Never => false,
            };
            if !restart {
                tracing::warn!(process = %p.name, "exited ({status}); not restarted (restart: {:?})", p.restart);
                p.state = State::Exited;
                continue;
            }
            p.crashes.push_back(now);
            while p
                .crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > sup.crash_loop_within)
            {
                p.crashes.pop_front();
            }
            if p.crashes.len() as u32 >= sup.crash_loop_restarts {
                tracing::error!(
                    process = %p.name,
                    "exited ({status}) {} times within {} s: a crash loop, left stopped; see {}",
                    p.crashes.len(),
                    sup.crash_loop_within.as_secs(),
                    p.log.display()
                );
                p.state = State::CrashLoop;
                continue;
            }
            let delay = backoff(&sup, p.crashes.len() as u32);
            tracing::warn!(
                process = %p.name,
                "exited ({status}); restarting in {} ms",
                delay.as_millis()
            );
            p.state = State::Backoff;
            p.restarts += 1;
            p.next_start = Some(now + delay);
        }
    }

    /// Health of every running daemon; stages stuck (alive, event time not moving) are
    /// reported and, per their `on_stuck`, restarted.
    fn probe_all(&mut self) {
        let stuck_after = self.session.supervise.stuck_after;
        let mut restart = Vec::new();
        for (i, p) in self.procs.iter_mut().enumerate() {
            let Some(addr) = &p.metrics else { continue };
            if p.child.is_none() || p.role == Role::Redis {
                continue;
            }
            p.ready = self.prober.ready(addr);
            p.seen = self.prober.seen(addr);
            if p.state == State::Starting && matches!(p.ready, Ready::Yes | Ready::NoEventYet(_)) {
                p.state = State::Running;
            }
            // Not ready after it was: its event time stuck, or its endpoints hung.
            match &p.ready {
                Ready::No(why) if p.state == State::Running => {
                    let since = *p.stale_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= stuck_after && !p.stuck_reported {
                        tracing::warn!(process = %p.name, "alive but not processing for {} s: {why}", since.elapsed().as_secs());
                        p.stuck_reported = true;
                        if p.on_stuck == OnStuck::Restart {
                            restart.push(i);
                        }
                    }
                }
                _ => {
                    p.stale_since = None;
                    p.stuck_reported = false;
                }
            }
        }
        for i in restart {
            let name = self.procs[i].name.clone();
            if let Err(e) = self.restart(&name) {
                tracing::error!("{e}");
            }
        }
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.procs
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| format!("no process `{name}` in session {}", self.session.name))
    }

    /// Stops one process and leaves it stopped, until `restart`.
    fn stop_one(&mut self, name: &str) -> Result<(), String> {
        let i = self.index(name)?;
        let grace = self.session.supervise.stop_grace;
        let p = &mut self.procs[i];
        p.next_start = None;
        stop(p, grace);
        tracing::info!(process = %name, "stopped on request; `restart {name}` starts it again");
        Ok(())
    }

    fn restart(&mut self, name: &str) -> Result<(), String> {
        let i = self.index(name)?;
        let grace = self.session.supervise.stop_grace;
        stop(&mut self.procs[i], grace);
        let p = &mut self.procs[i];
        p.restarts += 1;
        p.crashes.clear();
        tracing::info!(process = %name, "restarting on request");
        self.start(i)
    }

    /// Re-reads every Njord stage's configuration and, when all of them are valid, sends each
    /// running one SIGHUP (it re-reads what it can change while running) and journals, per
    /// stage, the old and new hash and the changed keys: applied, or needing a restart.
    /// Nothing is signalled when a configuration does not load.
    fn reload(&mut self) -> Result<serde_json::Value, String> {
        let mut fresh = Vec::new();
        for (i, p) in self.procs.iter().enumerate() {
            if p.role == Role::Stage && p.binary.starts_with("njord-") {
                let c = effective_config(p)
                    .map_err(|e| format!("reload refused, nothing changed: {}: {e}", p.name))?;
                fresh.push((i, c));
            }
        }
        let journal = self.session.state_dir.join("reloads.ndjson");
        let mut out = Vec::new();
        for (i, new) in fresh {
            let p = &mut self.procs[i];
            let old = p.config.replace(new.clone()).unwrap_or_default();
            let change = super::reload::diff(&p.binary, &old, &new);
            // Only the stage runner handles SIGHUP; to another process it would be fatal.
            let signalled = RELOADS_ON_SIGHUP.contains(&p.binary.as_str())
                && p.child.as_ref().is_some_and(|c| {
                    nix::sys::signal::kill(Pid::from_raw(c.id() as i32), Signal::SIGHUP).is_ok()
                });
            let entry = serde_json::json!({
                "ts_ns": crate::stage::wall_clock_ns(),
                "stage": p.name,
                "old_hash": crate::config::effective_hash(&old),
                "new_hash": crate::config::effective_hash(&new),
                "applied": change.applied,
                "needs_restart": change.needs_restart,
                "signalled": signalled,
            });
            if !change.needs_restart.is_empty() {
                tracing::warn!(process = %p.name, keys = %change.needs_restart.join(", "), "reload: these keys change only with a restart");
            }
            append_line(&journal, &entry)?;
            out.push(entry);
        }
        tracing::info!(
            stages = out.len(),
            "reload: SIGHUP sent, journaled in {}",
            journal.display()
        );
        Ok(serde_json::json!({"ok": true, "reloaded": out}))
    }

    /// Stops every process, the last started first.
    fn shutdown(&mut self) {
        let grace = self.session.supervise.stop_grace;
        for p in self.procs.iter_mut().rev() {
            p.next_start = None;
            stop(p, grace);
        }
    }

    fn status(&self) -> Status {
        Status {
            session: self.session.name.clone(),
            bus: self.bus.clone(),
            venue: self.venue.clone(),
            controller_pid: std::process::id(),
            uptime_s: self.started.elapsed().as_secs_f64(),
            processes: self
                .procs
                .iter()
                .map(|p| {
                    let running = p.child.is_some();
                    let ready = running
                        && match p.role {
                            Role::Redis => p.state == State::Running,
                            _ => p.ready == Ready::Yes || p.metrics.is_none(),
                        };
                    let reason = match (&p.ready, running) {
                        (_, false) => Some(format!("{:?}", p.state).to_lowercase()),
                        (Ready::No(w) | Ready::NoEventYet(w), true) if !ready => Some(w.clone()),
                        _ => None,
                    };
                    ProcStatus {
                        name: p.name.clone(),
                        binary: p.binary.clone(),
                        pid: p.child.as_ref().map(|c| c.id()),
                        state: p.state,
                        uptime_s: p
                            .started
                            .filter(|_| running)
                            .map(|t| t.elapsed().as_secs_f64()),
                        restarts: p.restarts,
                        ready,
                        reason,
                        metrics: p.metrics.clone(),
                        config_hash: p.config.as_ref().map(crate::config::effective_hash),
                        seen: p.seen.clone(),
                    }
                })
                .collect(),
        }
    }
}

impl Proc {
    fn new(
        name: &str,
        role: Role,
        binary: &str,
        args: Vec<String>,
        env: Vec<(String, String)>,
        metrics: Option<String>,
        log: PathBuf,
    ) -> Proc {
        Proc {
            name: name.to_string(),
            role,
            binary: binary.to_string(),
            program: resolve(binary),
            args,
            env,
            metrics,
            config: None,
            restart: Restart::Always,
            on_stuck: OnStuck::Report,
            log,
            child: None,
            started: None,
            restarts: 0,
            crashes: VecDeque::new(),
            state: State::Stopped,
            next_start: None,
            stale_since: None,
            stuck_reported: false,
            ready: Ready::No("not started".into()),
            seen: Seen::default(),
        }
    }
}

/// SIGTERM to the process's group, then SIGKILL after `grace`; waits for it to exit (a
/// stage flushes its journals on SIGTERM before it exits).
fn stop(p: &mut Proc, grace: Duration) {
    let Some(mut child) = p.child.take() else {
        p.state = State::Stopped;
        return;
    };
    let group = Pid::from_raw(child.id() as i32);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if Instant::now() >= deadline => {
                tracing::warn!(process = %p.name, "did not stop within {} s: SIGKILL", grace.as_secs());
                let _ = killpg(group, Signal::SIGKILL);
                let _ = child.wait();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    // Whatever else the process started in its group goes with it.
    let _ = killpg(group, Signal::SIGKILL);
    tracing::info!(process = %p.name, "stopped");
    p.state = State::Stopped;
}

/// The delay before restart `n` (1, 2, …): doubling from `backoff_first` up to
/// `backoff_max`, with ±20 % jitter so restarts of several stages do not move in step.
fn backoff(sup: &super::session::Supervise, n: u32) -> Duration {
    let base = sup
        .backoff_first
        .saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(sup.backoff_max);
    base.mul_f64(0.8 + 0.4 * rand::random::<f64>())
}

/// A Njord stage's effective configuration, loaded as it loads it, secrets redacted.
fn effective_config(p: &Proc) -> Result<serde_json::Value, String> {
    let env = std::env::vars().chain(p.env.iter().cloned()).collect();
    let (loaded, _) = super::session::stage_config(&p.args, env)?;
    serde_json::to_value(&loaded.config).map_err(|e| e.to_string())
}

/// Appends one JSON line to `path` and syncs it.
fn append_line(path: &Path, v: &serde_json::Value) -> Result<(), String> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(f, "{v}")
        .and_then(|()| f.sync_data())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The last line a process logged, to say why it stopped.
fn last_line(log: &Path) -> String {
    std::fs::read_to_string(log)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "nothing logged".into())
}

/// Whether the Redis server at `addr` answers PING.
fn redis_ping(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").is_ok()
        && s.read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

/// The session's lock: one controller at a time. A lock left by a controller that died is
/// free again (the kernel drops it with the process) and is taken over with a message.
fn take_lock(path: &Path) -> Result<File, String> {
    let shown = path.display();
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut before = String::new();
    let _ = f.read_to_string(&mut before);
    let before = before.trim().to_string();
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(format!(
                "the session is already controlled (controller pid {before}, lock {shown})"
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(format!("{shown}: {e}")),
    }
    if !before.is_empty() {
        tracing::warn!("took over the lock of controller pid {before}, which is gone ({shown})");
    }
    f.set_len(0)
        .and_then(|()| {
            use std::io::Seek;
            f.seek(std::io::SeekFrom::Start(0))?;
            writeln!(f, "{}", std::process::id())
        })
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(f)
}
