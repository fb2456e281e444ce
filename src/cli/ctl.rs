//! `njord-ctl`: plans, starts, supervises and stops a whole trading session.

use super::CommonArgs;
use crate::app::{self, Error};
use crate::ctl::control::{self, Wire};
use crate::ctl::session::{self, Session};
use crate::ctl::supervise::{self, Controller};
use crate::ctl::{api, logs, orders, plan, preflight, top};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "njord-ctl",
    version,
    about = "Plan, start, supervise, inspect and stop a whole trading session (config/session.yaml)",
    after_help = "`plan` checks the session's wiring (every consumed topic has a producer, one \
producer of orders per account, topics spelled as each stage's configuration names them) and prints \
the process graph; a mismatch exits 2. `up` starts the managed redis-server and njord-sim, then the \
stages in dependency order, each gated on its /readyz, and supervises them in the foreground: a \
crashed stage restarts with exponential backoff and jitter, a crash loop stops it, a stage alive \
but not processing is reported (and restarted with on_stuck: restart). SIGTERM, SIGINT or `down` \
stop everything in reverse order (SIGTERM, then SIGKILL after supervise.stop_grace); `down \
--cancel-all` first cancels every resting order at the venue, and again after the stop. Children \
never outlive the controller. One controller per session: a lock in its state_dir.\n\n\
`status` exits 0 when every process is ready, 1 when one is not, 3 when the session is down. \
`logs` merges every process's log by time; `kill` acts on the kill switch as njord-kill does, \
on the session's Redis key too. `preflight` prints the live checklist (live mode, kill switch, secrets \
file mode, live cap, API key can trade and cannot withdraw, clock within recvWindow, balances and \
open orders) and exits 2 naming a failed check; `up` runs it when a stage is `live: true`, and then \
needs --confirm with the session's name. `reload` re-reads every stage's configuration and, if \
all load, sends SIGHUP, printing per stage the old and new hash, the keys applied and those needing \
a restart (journaled in {state_dir}/reloads.ndjson). `serve` \
is the control API (GET /status /positions /pnl /orders, POST /kill/trip /kill/clear /reload /stop) \
with bearer tokens of api_keys.ctl, a rate limit, TLS off loopback, and optional Telegram \
commands (/status, /kill, /stop) from listed chats. `top` is a terminal \
dashboard whose keys trip or clear the kill switch and restart or stop a stage, after a confirmation.\n\n\
Examples:\n  \
    njord-ctl plan --session examples/rehearsal.yaml\n  \
    njord-ctl up --session examples/rehearsal.yaml &\n  \
    njord-ctl status --session examples/rehearsal.yaml --json\n  \
    njord-ctl top --session examples/rehearsal.yaml\n  \
    njord-ctl restart strat --session examples/rehearsal.yaml\n  \
    njord-ctl logs -f --level warn --session examples/rehearsal.yaml\n  \
    njord-ctl kill trip --reason 'runaway strategy' --session examples/rehearsal.yaml\n  \
    NJORD__API_KEYS__CTL__OPS=$TOKEN njord-ctl serve --session examples/rehearsal.yaml\n  \
    njord-ctl down --session examples/rehearsal.yaml"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The session file
    #[arg(long, value_name = "FILE", default_value = session::DEFAULT_PATH, global = true)]
    pub session: PathBuf,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check the session's wiring and print its process graph; exit 2 on a mismatch
    Plan,
    /// Start the session and supervise it in the foreground until down, SIGTERM or SIGINT
    Up {
        /// The session's name: required to start a session with a live stage
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
    /// The live checklist: live mode, kill switch, secrets file, live cap, API key, clock,
    /// balances and open orders; exit 2 naming a failed check
    Preflight,
    /// Stop a running session, the last started first
    Down {
        /// First cancel every resting order of exchange.symbols at the venue (and again once
        /// the stages have stopped)
        #[arg(long)]
        cancel_all: bool,
    },
    /// Each process: pid, state, uptime, restarts, readiness, trading state, version
    Status {
        /// One JSON object instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Stop and start one stage of a running session
    Restart {
        /// The stage's name in the session file
        stage: String,
    },
    /// Every process's log merged by time, each line under its process's name
    Logs {
        /// Keep printing what is logged
        #[arg(short, long)]
        follow: bool,
        /// Only this process (repeatable)
        #[arg(long, value_name = "NAME")]
        stage: Vec<String>,
        /// Only lines at this level or above: trace, debug, info, warn, error
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
        /// Only lines matching this regular expression
        #[arg(long, value_name = "RE")]
        grep: Option<String>,
    },
    /// Stop one stage of a running session and leave it stopped (until restart)
    Stop {
        /// The stage's name in the session file
        stage: String,
    },
    /// A terminal dashboard of the running session; keys trip or clear the kill switch and
    /// restart or stop a stage, after a confirmation
    Top,
    /// Re-read every stage's configuration; if all load, SIGHUP each (it applies what it can
    /// while running: risk caps, strategies) and print the keys that need a restart
    Reload,
    /// The control API of a running session: HTTP JSON with bearer tokens of api_keys.ctl
    Serve,
    /// The kill switch of the session (file and its Redis key), as njord-kill does it
    Kill {
        #[command(subcommand)]
        action: KillAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KillAction {
    /// Halt trading
    Trip {
        /// Why; kept in the kill file
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Allow trading again
    Clear,
    /// Exit 0 allowed, 1 tripped, 2 unreadable
    Status,
}

pub fn run(cli: Cli) -> Result<(), Error> {
    // Commands that only talk to the controller work with a configuration file that does
    // not load (a typo must not keep anyone from stopping a session): defaults then.
    let needs_config = matches!(
        cli.cmd,
        Cmd::Plan | Cmd::Up { .. } | Cmd::Preflight | Cmd::Serve | Cmd::Top
    ) || matches!(cli.cmd, Cmd::Down { cancel_all: true });
    let loaded = match app::start(&cli.common) {
        Ok(l) => l,
        Err(Error::Usage(e)) if !needs_config && !cli.common.print_config => {
            let loaded = crate::config::Loaded {
                config: Default::default(),
                files: Vec::new(),
                secrets: None,
            };
            crate::logging::init(&cli.common, &loaded.config.logging).map_err(Error::Usage)?;
            tracing::warn!("the configuration did not load ({e}); going on without it");
            loaded
        }
        Err(e) => return Err(e),
    };
    let mut session = Session::load(&cli.session).map_err(Error::Usage)?;
    // `njord-ctl --config FILE` is the stages' configuration too (unless a stage says its own).
    if let Some(c) = &cli.common.config {
        let abs = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        session
            .env
            .entry("NJORD_CONFIG".into())
            .or_insert_with(|| abs.display().to_string());
    }
    let socket = session.state_dir.join("ctl.sock");
    match cli.cmd {
        Cmd::Plan => {
            let problems = plan::check(&session, &loaded.config.redis.topics);
            app::print_out(&plan::graph(&session))?;
            if problems.is_empty() {
                return Ok(());
            }
            for p in &problems {
                tracing::error!("{}: {p}", cli.session.display());
            }
            Err(Error::Exit(2))
        }
        Cmd::Up { confirm } => {
            let problems = plan::check(&session, &loaded.config.redis.topics);
            if !problems.is_empty() {
                for p in &problems {
                    tracing::error!("{}: {p}", cli.session.display());
                }
                return Err(Error::Exit(2));
            }
            // Live by the file's word, or by the broker's own configuration: a broker made
            // live through its env or --config is not let past the preflight.
            let mut live = Vec::new();
            for st in &session.stages {
                let (cfg, enable) = stage_config(&session, Some(st), None)
                    .map_err(|e| Error::Usage(format!("stage {}: {e}", st.name)))?;
                let by_config = st.binary == "njord-broker"
                    && njord_core::broker::guard::live_enabled(
                        cfg.config.app.env,
                        enable.as_deref(),
                    );
                if st.live || by_config {
                    live.push((st.name.as_str(), cfg, enable));
                }
            }
            if !live.is_empty() {
                for (name, cfg, enable) in &live {
                    app::print_out(&format!("stage {name}: "))?;
                    preflight_passes(cfg, enable.as_deref(), session_bus(&session).as_deref())?;
                }
                let live: Vec<&str> = live.iter().map(|(n, _, _)| *n).collect();
                if confirm.as_deref() != Some(session.name.as_str()) {
                    return Err(Error::Usage(format!(
                        "session {} trades real money ({}): start it with --confirm {}",
                        session.name,
                        live.join(", "),
                        session.name
                    )));
                }
                tracing::warn!(stages = %live.join(", "), "LIVE session {}: preflight passed, confirmed", session.name);
            }
            let token = metrics_token(&loaded);
            Controller::new(session, token)
                .and_then(Controller::run)
                .map_err(Error::Failed)
        }
        Cmd::Preflight => {
            // The broker's configuration when the session has one, else njord-ctl's.
            let (cfg, enable) = match broker(&session) {
                Some(b) => stage_config(&session, Some(b), None)
                    .map_err(|e| Error::Usage(format!("stage {}: {e}", b.name)))?,
                None => (loaded.clone(), std::env::var("NJORD_ENABLE_LIVE").ok()),
            };
            preflight_passes(&cfg, enable.as_deref(), session_bus(&session).as_deref())
        }
        Cmd::Down { cancel_all } => {
            let status = control::ask(&socket, &Wire::Status).ok();
            let mut failed = Vec::new();
            let venue = if cancel_all {
                let sim = status.as_ref().and_then(|v| v["venue"].as_str());
                match stage_config(&session, broker(&session), sim) {
                    Ok((l, _)) => Some(l.config),
                    Err(e) => {
                        failed.push(format!("--cancel-all: the broker's configuration: {e}"));
                        None
                    }
                }
            } else {
                None
            };
            // Before the stop and again after it, for an order placed meanwhile; a failure
            // of either still stops the session, and fails the command at the end.
            let mut cancel = |when: &str| {
                if let Some(cfg) = &venue {
                    let (done, errors) = orders::cancel_all(cfg);
                    tracing::info!(
                        cancelled = done.len(),
                        "resting orders cancelled {when}: {}",
                        done.join(", ")
                    );
                    failed.extend(
                        errors
                            .into_iter()
                            .map(|e| format!("--cancel-all {when}: {e}")),
                    );
                }
            };
            cancel("before the stop");
            let down = control::ask(&socket, &Wire::Down);
            cancel("after the stop");
            for e in &failed {
                tracing::error!("{e}");
            }
            match down {
                Ok(_) => tracing::info!("session {} is down", session.name),
                // Said, and exit 3 as `status` does: from the wrong directory a running session
                // must not look stopped.
                Err(None) => {
                    tracing::warn!(
                        "session {} is not running here (no controller at {})",
                        session.name,
                        socket.display()
                    );
                    return Err(Error::Exit(3));
                }
                Err(Some(e)) => return Err(Error::Failed(e)),
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(Error::Exit(1))
            }
        }
        Cmd::Logs {
            follow,
            stage,
            level,
            grep,
        } => {
            let filter = logs::Filter {
                stages: stage,
                level: level
                    .as_deref()
                    .map(logs::Filter::level_of)
                    .transpose()
                    .map_err(Error::Usage)?,
                grep: grep
                    .as_deref()
                    .map(regex::Regex::new)
                    .transpose()
                    .map_err(|e| Error::Usage(format!("--grep: {e}")))?,
            };
            // A reader that has gone away (`| head`) ends the run quietly, following or not.
            const CLOSED: &str = "stdout closed";
            let mut out = std::io::stdout();
            let shown = logs::show(&session.state_dir.join("logs"), &filter, follow, |l| {
                use std::io::Write;
                out.write_all(l.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::BrokenPipe => CLOSED.to_string(),
                        _ => format!("writing stdout: {e}"),
                    })
            });
            match shown {
                Err(e) if e != CLOSED => Err(Error::Failed(e)),
                _ => Ok(()),
            }
        }
        Cmd::Kill { action } => {
            let args: Vec<String> = match action {
                KillAction::Trip { reason } => {
                    let mut a = vec!["trip".to_string()];
                    if let Some(r) = reason {
                        a.extend(["--reason".to_string(), r]);
                    }
                    a
                }
                KillAction::Clear => vec!["clear".into()],
                KillAction::Status => vec!["status".into()],
            };
            let status = kill_command(&session, cli.common.config.as_deref(), &args)
                .status()
                .map_err(|e| Error::Failed(format!("njord-kill: {e}")))?;
            app::exit_status(status.code().map_or(1, |c| c as u8))
        }
        Cmd::Reload => {
            let v = control::ask(&socket, &Wire::Reload).map_err(|e| not_running(&session, e))?;
            let mut text = String::new();
            for r in v["reloaded"].as_array().into_iter().flatten() {
                let list = |k: &str| {
                    r[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                };
                let (applied, restart) = (list("applied"), list("needs_restart"));
                text += &format!(
                    "{}: configuration {} → {}",
                    r["stage"].as_str().unwrap_or("?"),
                    r["old_hash"].as_str().unwrap_or("?"),
                    r["new_hash"].as_str().unwrap_or("?")
                );
                if !applied.is_empty() {
                    text += &format!("; applied: {applied}");
                }
                if !restart.is_empty() {
                    text += &format!("; needs a restart: {restart}");
                }
                if r["signalled"] != true {
                    text += " (not signalled)";
                }
                text.push('\n');
            }
            app::print_out(&text)
        }
        Cmd::Serve => {
            let tokens: Vec<(String, String)> = loaded
                .config
                .api_keys
                .ctl
                .0
                .iter()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        secrecy::ExposeSecret::expose_secret(t).to_string(),
                    )
                })
                .filter(|(_, t)| !t.is_empty())
                .collect();
            let for_kill = session.clone();
            let config = cli.common.config.clone();
            let kill =
                Box::new(move |args: &[String]| run_kill(&for_kill, config.as_deref(), args));
            let bot = session.api.telegram.as_ref().and_then(|t| {
                loaded
                    .config
                    .api_keys
                    .alerts
                    .get(&t.token_secret)
                    .map(str::to_string)
            });
            let metrics = metrics_token(&loaded);
            api::serve(&session, tokens, kill, bot, metrics).map_err(Error::Usage)
        }
        Cmd::Stop { stage } => control::ask(&socket, &Wire::Stop { stage })
            .map(drop)
            .map_err(|e| not_running(&session, e)),
        Cmd::Top => {
            let topics = vec![
                loaded.config.redis.topics.decisions.clone(),
                loaded.config.redis.topics.fills.clone(),
            ];
            let sock = socket.clone();
            let act = |a: &top::Action| -> Result<String, String> {
                let ask = |w: Wire| {
                    control::ask(&sock, &w)
                        .map(drop)
                        .map_err(|e| e.unwrap_or_else(|| "the session is not running".into()))
                };
                let kill = |args: &[&str]| {
                    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                    run_kill(&session, cli.common.config.as_deref(), &args).map(drop)
                };
                match a {
                    top::Action::Trip => kill(&["trip", "--reason", "njord-ctl top"])
                        .map(|()| "kill switch tripped".into()),
                    top::Action::Clear => kill(&["clear"]).map(|()| "kill switch cleared".into()),
                    top::Action::Restart(s) => {
                        ask(Wire::Restart { stage: s.clone() }).map(|()| format!("{s} restarted"))
                    }
                    top::Action::Stop(s) => {
                        ask(Wire::Stop { stage: s.clone() }).map(|()| format!("{s} stopped"))
                    }
                }
            };
            let journal = session
                .env
                .get("NJORD__JOURNAL__DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| loaded.config.journal.dir.clone());
            let outbox = journal.join("alert.outbox.ndjson");
            let token = metrics_token(&loaded);
            top::run(socket.clone(), outbox, token, topics, act).map_err(Error::Failed)
        }
        Cmd::Restart { stage } => control::ask(&socket, &Wire::Restart { stage })
            .map(drop)
            .map_err(|e| not_running(&session, e)),
        Cmd::Status { json } => {
            let v = match control::ask(&socket, &Wire::Status) {
                Ok(v) => v,
                Err(None) => {
                    if json {
                        app::print_out(&format!(
                            "{}\n",
                            serde_json::json!({"session": session.name, "down": true})
                        ))?;
                    } else {
                        app::print_out(&format!("session {}: down\n", session.name))?;
                    }
                    return Err(Error::Exit(3));
                }
                Err(Some(e)) => return Err(Error::Failed(e)),
            };
            let procs = v["processes"].as_array().cloned().unwrap_or_default();
            let all_ready = procs.iter().all(|p| p["ready"] == true);
            if json {
                app::print_out(&format!("{v}\n"))?;
            } else {
                app::print_out(&table(&v, &procs))?;
            }
            app::exit_status(if all_ready { 0 } else { 1 })
        }
    }
}

/// `njord-kill ARGS` for the session: with its environment, and its Redis (the running
/// controller's, else the file's `bus`).
fn kill_command(
    session: &Session,
    config: Option<&std::path::Path>,
    args: &[String],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(supervise::resolve("njord-kill"));
    cmd.args(args).envs(&session.env);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    if let Some(b) = session_bus(session) {
        cmd.args(["--redis", &b]);
    }
    cmd
}

/// The session's bus: what the running controller wrote in its state directory (a managed
/// Redis has a port of its own), else the file's `bus`. Read without asking the controller,
/// which may be busy starting or stopping: a kill switch must never wait.
fn session_bus(session: &Session) -> Option<String> {
    std::fs::read_to_string(session.state_dir.join("bus"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| session.bus.clone())
}

/// `njord-kill ARGS` for the session, its output kept: what the API, Telegram and `top` run.
fn run_kill(
    session: &Session,
    config: Option<&std::path::Path>,
    args: &[String],
) -> Result<String, String> {
    let out = kill_command(session, config, args)
        .output()
        .map_err(|e| format!("njord-kill: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{text} {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `api_keys.metrics.token`: the daemons' endpoints (and the controller's) then require it.
fn metrics_token(loaded: &crate::config::Loaded) -> Option<String> {
    loaded
        .config
        .api_keys
        .metrics
        .token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string())
}

/// The error of a command the controller did not answer.
fn not_running(session: &Session, e: Option<String>) -> Error {
    match e {
        Some(e) => Error::Failed(e),
        None => Error::Failed(format!(
            "session {} is not running (no controller at {})",
            session.name,
            session.state_dir.join("ctl.sock").display()
        )),
    }
}

/// The configuration a stage will load (`None`: a stage without args or env of its own,
/// as njord-ctl's commands read it), and its `NJORD_ENABLE_LIVE`. `venue`: the managed
/// simulator's REST URL, which the controller gives every stage.
fn stage_config(
    session: &Session,
    st: Option<&crate::ctl::session::Stage>,
    venue: Option<&str>,
) -> Result<(crate::config::Loaded, Option<String>), String> {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if let Some(url) = venue {
        env.push(("NJORD__EXCHANGE__REST_URL".into(), url.to_string()));
    }
    let own = st.map(|s| &s.env).into_iter().flatten();
    env.extend(
        session
            .env
            .iter()
            .chain(own)
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    session::stage_config(st.map_or(&[][..], |s| &s.args), env)
}

/// The session's broker, whose configuration the venue commands use.
fn broker(session: &Session) -> Option<&crate::ctl::session::Stage> {
    session.stages.iter().find(|s| s.binary == "njord-broker")
}

/// Prints the live checklist; exit 2 naming each failed check.
fn preflight_passes(
    loaded: &crate::config::Loaded,
    enable: Option<&str>,
    bus: Option<&str>,
) -> Result<(), Error> {
    let checks = preflight::run(loaded, enable, bus);
    app::print_out(&format!("live preflight\n{}", preflight::text(&checks)))?;
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let results: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| serde_json::json!({"check": c.name, "ok": c.ok, "detail": c.detail}))
        .collect();
    let record =
        crate::audit::fields(serde_json::json!({"passed": failed.is_empty(), "checks": results}));
    // Recorded and closed at once: the controller keeps no chain open, so a later
    // `njord-ctl preflight` beside a running `up` can write its own record.
    app::audit_start("njord-ctl", loaded)?;
    crate::audit::record(crate::stage::wall_clock_ns(), "preflight", record)
        .map_err(|e| Error::Failed(format!("audit trail: {e}")))?;
    app::audit_stop(&Ok(()))?;
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "live preflight failed: {}",
        failed.join(", ")
    )))
}

/// `status` as a table, one process a line.
fn table(v: &serde_json::Value, procs: &[serde_json::Value]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "session {} (controller pid {}, up {:.0} s)\n{:<10} {:<14} {:>8} {:<10} {:>8} {:>4} {:<6} {:>9} {:<8} {}\n",
        v["session"].as_str().unwrap_or(""),
        v["controller_pid"],
        v["uptime_s"].as_f64().unwrap_or(0.0),
        "NAME",
        "BINARY",
        "PID",
        "STATE",
        "UPTIME",
        "RST",
        "READY",
        "LAST EV",
        "TRADING",
        "VERSION / WHY NOT READY"
    );
    let text = |x: &serde_json::Value| x.as_str().unwrap_or("-").to_string();
    for p in procs {
        let secs = |x: &serde_json::Value| x.as_f64().map_or("-".into(), |s| format!("{s:.1}s"));
        let why = match p["reason"].as_str() {
            Some(r) => r.to_string(),
            None => text(&p["version"]),
        };
        let _ = writeln!(
            out,
            "{:<10} {:<14} {:>8} {:<10} {:>8} {:>4} {:<6} {:>9} {:<8} {}",
            text(&p["name"]),
            text(&p["binary"]),
            p["pid"].as_u64().map_or("-".into(), |n| n.to_string()),
            text(&p["state"]),
            secs(&p["uptime_s"]),
            p["restarts"].to_string(),
            if p["ready"] == true { "yes" } else { "no" },
            secs(&p["last_event_age_s"]),
            text(&p["trading_state"]),
            why
        );
    }
    out
}
