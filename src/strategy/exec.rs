//! `class: exec`: any executable as a strategy, over NDJSON on its stdin and stdout.
//!
//! The protocol (docs/exec-strategies.md has it in full, with an example):
//! 1. Njord starts the program (`params.command`) at the strategy's first event and writes
//!    `{"kind":"strategy_start","protocol":1,"strategy_id":…,"params":{…},"params_hash":…}`:
//!    the params are the entry's `params` less Njord's own keys, the hash the SHA-256 (hex)
//!    of the `params` JSON exactly as written on that line.
//! 2. The program answers `{"kind":"strategy_hello","id":…,"version":…,"params_hash":…}` with
//!    the hash it was given, within `start_timeout_ms`.
//! 3. Njord then writes each event routed to the strategy (`trade` or `bar` lines, as on the
//!    bus) and waits for the answer: zero or more `{"kind":"intent",…}` lines, then
//!    `{"kind":"done"}`, within `timeout_ms`. One event is outstanding at a time, so the run
//!    is as deterministic as the program: the pipeline and the backtester see the same
//!    answers.
//! 4. At the end of the input Njord closes the program's stdin; it should exit.
//!
//! A late answer, a malformed line or a program that exits stops this strategy with an error
//! that names it; the others go on. The program's stderr is Njord's, for its logs.

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, Scope};
use super::{Context, Strategy, StrategyError};
use njord_core::event::{Event, Intent, Map, Side};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The protocol version written in `strategy_start`.
pub const PROTOCOL: u32 = 1;

/// An answer line longer than this is refused (a program stuck writing without newlines).
const MAX_LINE: usize = 1 << 20;

pub const CLASS: Class = Class {
    name: "exec",
    about: "Runs an executable as the strategy: events as NDJSON on its stdin, intents on its \
            stdout (`command` is required; every other key of params is passed to it)",
    params: &[
        ParamSpec {
            name: "timeout_ms",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(1000)),
            help: "longest wait for the answer to one event",
        },
        ParamSpec {
            name: "start_timeout_ms",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(10_000)),
            help: "longest wait for strategy_hello after the start",
        },
    ],
    build,
    scope: Scope::Shared,
    open: true,
};

/// Njord's own keys in an exec entry's params; the rest are the program's.
const OWN: [&str; 3] = ["command", "timeout_ms", "start_timeout_ms"];

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    let command = command(p.extra().get("command"))?;
    let ms = |name| Ok::<_, ParamError>(Duration::from_millis(p.int(name)?.unsigned_abs()));
    let program: serde_json::Map<String, Value> = p
        .extra()
        .iter()
        .filter(|(k, _)| !OWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Box::new(Exec {
        command,
        params: Value::Object(program).to_string(),
        timeout: ms("timeout_ms")?,
        start_timeout: ms("start_timeout_ms")?,
        process: None,
        seen: HashSet::new(),
        line: Vec::with_capacity(256),
    }))
}

/// `command`: a list of strings (program and arguments) or one string split at whitespace.
fn command(v: Option<&Value>) -> Result<Vec<String>, ParamError> {
    let bad = |msg: String| ParamError {
        key: "command",
        msg,
    };
    let words: Vec<String> = match v {
        None => {
            return Err(bad(
                "required: the program and its arguments, as a list".into()
            ));
        }
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|w| w.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                bad(format!(
                    "expected a list of strings, found `{}`",
                    Value::Array(a.clone())
                ))
            })?,
        Some(v) => return Err(bad(format!("expected a list of strings, found `{v}`"))),
    };
    if words.first().is_none_or(|w| w.is_empty()) {
        return Err(bad("is empty: name the program to run".into()));
    }
    Ok(words)
}

/// One exec strategy: the program's command and, once started, the process.
struct Exec {
    command: Vec<String>,
    /// The program's params as the JSON text `strategy_start` carries.
    params: String,
    timeout: Duration,
    start_timeout: Duration,
    process: Option<Process>,
    /// Symbols whose events the program was sent: the only ones its intents may name.
    seen: HashSet<String>,
    /// The event line being written.
    line: Vec<u8>,
}

/// The running program.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines,
    /// Killed after a failure, which was reported then.
    stopped: bool,
}

/// What a program writes, line by line.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Reply {
    StrategyHello(Hello),
    Intent(Wish),
    Done,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hello {
    id: String,
    version: String,
    params_hash: String,
}

/// An intent as a program writes it: time, id and strategy are Njord's to set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wish {
    #[serde(default)]
    symbol: Option<String>,
    side: String,
    #[serde(with = "njord_core::num")]
    qty: Decimal,
    #[serde(rename = "type", default)]
    order_type: Option<String>,
    #[serde(with = "njord_core::num::opt", default)]
    limit_price: Option<Decimal>,
    #[serde(default)]
    time_in_force: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    group_size: Option<u32>,
    #[serde(default)]
    meta: Map,
}

impl Strategy for Exec {
    fn on_event(
        &mut self,
        ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let answered = self.answer(ev, ctx, out);
        if answered.is_err()
            && let Some(p) = &mut self.process
        {
            // The strategy is disabled: the program gets no more events.
            p.stop();
        }
        answered
    }
}

impl Exec {
    /// Sends `ev` (starting the program first) and reads the answer.
    fn answer(
        &mut self,
        ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        if self.process.is_none() {
            self.start(ctx.strategy_id())?;
        }
        let Exec {
            process,
            seen,
            line,
            timeout,
            ..
        } = self;
        if !seen.contains(ctx.symbol()) {
            seen.insert(ctx.symbol().to_owned());
        }
        line.clear();
        ev.write_line(line);
        let Some(p) = process.as_mut() else {
            return Ok(());
        };
        let deadline = Instant::now() + *timeout;
        // Anything it wrote since its last `done` would be read as this event's answer.
        if let Err(e) = p.stdout.idle() {
            return Err(p.failed(e, "an answer", *timeout));
        }
        p.send(line, deadline, *timeout)?;
        loop {
            let reply = match p.stdout.next(deadline) {
                Ok(line) => parse(line)?,
                Err(e) => return Err(p.failed(e, "an answer", *timeout)),
            };
            match reply {
                Reply::Done => return Ok(()),
                Reply::Intent(w) => out.push(intent(w, seen, ctx)?),
                Reply::StrategyHello(_) => {
                    return Err(StrategyError("sent strategy_hello again".into()));
                }
            }
        }
    }

    /// Starts the program and waits for its hello.
    fn start(&mut self, strategy_id: &str) -> Result<(), StrategyError> {
        let shown = self.command.join(" ");
        let mut child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| StrategyError(format!("cannot start `{shown}`: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(StrategyError(format!("`{shown}` started without pipes")));
        };
        let flags = nix::fcntl::OFlag::O_NONBLOCK;
        if let Err(e) = nix::fcntl::fcntl(&stdin, nix::fcntl::FcntlArg::F_SETFL(flags)) {
            let _ = child.kill();
            return Err(StrategyError(format!(
                "cannot set up `{shown}`'s input: {e}"
            )));
        }
        // Kept at once, so that a failed handshake kills it (see `on_event`).
        let p = self.process.insert(Process {
            child,
            stdin: Some(stdin),
            stdout: Lines::new(stdout),
            stopped: false,
        });
        let hash = hex::encode(Sha256::digest(self.params.as_bytes()));
        let start = format!(
            "{{\"kind\":\"strategy_start\",\"protocol\":{PROTOCOL},\"strategy_id\":{},\"params\":{},\"params_hash\":\"{hash}\"}}\n",
            Value::from(strategy_id),
            self.params
        );
        let deadline = Instant::now() + self.start_timeout;
        p.send(start.as_bytes(), deadline, self.start_timeout)?;
        let reply = match p.stdout.next(deadline) {
            Ok(line) => parse(line)?,
            Err(e) => return Err(p.failed(e, "strategy_hello", self.start_timeout)),
        };
        let Reply::StrategyHello(hello) = reply else {
            return Err(StrategyError(
                "answered the start with something other than strategy_hello".into(),
            ));
        };
        if hello.params_hash != hash {
            return Err(StrategyError(format!(
                "strategy_hello has params_hash {}, but the params sent hash to {hash}",
                hello.params_hash
            )));
        }
        tracing::info!(
            strategy = strategy_id,
            "strategy `{strategy_id}` runs `{shown}`: {} {} (params {hash})",
            hello.id,
            hello.version
        );
        let fields = crate::audit::fields(serde_json::json!({
            "strategy_id": strategy_id,
            "command": shown,
            "id": hello.id,
            "version": hello.version,
            "params_hash": hash,
        }));
        crate::audit::record(crate::stage::wall_clock_ns(), "strategy_hello", fields)
            .map_err(|e| StrategyError(format!("cannot record its hello: {e}")))?;
        Ok(())
    }
}

/// The intent a program's `intent` line asks for, at the event's time; `seen` are the symbols
/// it was sent events of.
fn intent(
    w: Wish,
    seen: &HashSet<String>,
    ctx: &Context<'_>,
) -> Result<Intent<'static>, StrategyError> {
    let bad = |msg: String| Err(StrategyError(format!("malformed intent: {msg}")));
    let side = match w.side.as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        s => return bad(format!("side `{s}` is not buy or sell")),
    };
    if w.qty <= Decimal::ZERO {
        return bad(format!("qty {} is not above 0", w.qty));
    }
    let symbol = w.symbol.as_deref().unwrap_or(ctx.symbol());
    if !seen.contains(symbol) {
        return bad(format!(
            "symbol `{symbol}` is not one of the symbols it was sent events of"
        ));
    }
    let order_type = w.order_type.as_deref().unwrap_or("market");
    match (order_type, w.limit_price) {
        ("market", None) => {}
        ("limit", Some(p)) if p > Decimal::ZERO => {}
        ("market", Some(_)) => return bad("a market intent has no limit_price".into()),
        ("limit", _) => return bad("a limit intent needs a limit_price above 0".into()),
        (t, _) => return bad(format!("type `{t}` is not market or limit")),
    }
    let max = njord_core::risk::MAX_GROUP_LEGS;
    match (w.group_id.as_deref(), w.group_size) {
        (Some(""), _) => return bad("group_id is empty".into()),
        (None, Some(_)) => return bad("group_size needs a group_id".into()),
        (_, Some(n)) if !(2..=max).contains(&n) => {
            return bad(format!("group_size {n} is not 2 to {max}"));
        }
        _ => {}
    }
    let mut intent = ctx.intent_on(symbol, side, w.qty, || w.meta);
    intent.order_type = Cow::Owned(order_type.to_owned());
    intent.limit_price = w.limit_price;
    intent.time_in_force = w.time_in_force.map(Cow::Owned);
    // Scoped to the strategy and the event: another's group, or one of another event, of
    // the same name is another trade.
    intent.group_id = w
        .group_id
        .map(|g| Cow::Owned(format!("{}:{}:{g}", ctx.strategy_id(), ctx.ts_ns())));
    intent.group_size = w.group_size;
    Ok(intent)
}

fn parse(line: &[u8]) -> Result<Reply, StrategyError> {
    serde_json::from_slice(line).map_err(|e| {
        let text = String::from_utf8_lossy(line);
        let shown: String = text.chars().take(120).collect();
        StrategyError(format!(
            "wrote a line that is not a protocol message ({e}): `{shown}`"
        ))
    })
}

impl Process {
    /// Writes `line` by `deadline`: the pipe is non-blocking, so a program that stops
    /// reading stops its strategy, not Njord.
    fn send(
        &mut self,
        line: &[u8],
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), StrategyError> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(StrategyError("its input is closed".into()));
        };
        let mut rest = line;
        let written = loop {
            if rest.is_empty() {
                break Ok(());
            }
            match stdin.write(rest) {
                Ok(0) => break Err(ReadError::Io(std::io::ErrorKind::WriteZero.into())),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
                    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLOUT)];
                    match poll(&mut fds, wait) {
                        Ok(0) => break Err(ReadError::Timeout),
                        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                        Err(e) => break Err(ReadError::Io(e.into())),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(ReadError::Io(e)),
            }
        };
        written.map_err(|e| self.failed(e, "room on its input", timeout))
    }

    /// Words a failure to read or write `what`, with the program's exit status when it has
    /// exited; `timeout` is how long it was given.
    fn failed(&mut self, e: ReadError, what: &str, timeout: Duration) -> StrategyError {
        // Its pipes close as it exits; one that closed them and lives on is stopped here.
        // A kill reaching a process that is exiting leaves its exit status as it was.
        let status = match &e {
            ReadError::Eof | ReadError::Io(_) => match self.stop() {
                Some(s) => format!(" ({s})"),
                None => String::new(),
            },
            _ => String::new(),
        };
        StrategyError(match e {
            ReadError::Timeout => {
                format!("{what} did not come within {} ms", timeout.as_millis())
            }
            ReadError::Eof => format!("exited before writing {what}{status}"),
            ReadError::TooLong => format!("wrote a line longer than {MAX_LINE} bytes"),
            ReadError::Unasked => {
                "wrote output no event asked for (each answer ends with one `done`)".to_owned()
            }
            ReadError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                format!("stopped reading its input{status}")
            }
            ReadError::Io(e) => format!("cannot talk to it: {e}"),
        })
    }
}

impl Process {
    /// Kills the program (after a failure) and reaps it: its exit status.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        self.stopped = true;
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Process {
    /// Closes the program's input and gives it `END_GRACE` to exit before it is killed.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        const END_GRACE: Duration = Duration::from_secs(2);
        drop(self.stdin.take());
        let deadline = Instant::now() + END_GRACE;
        // Its stdout closes when it exits; anything it writes meanwhile is dropped.
        let closed = loop {
            match self.stdout.next(deadline) {
                Ok(_) => {}
                Err(e) => break matches!(e, ReadError::Eof),
            }
        };
        if !closed {
            tracing::warn!("an exec strategy's program did not exit when its input closed; killed");
            let _ = self.child.kill();
        }
        match self.child.wait() {
            Ok(s) if s.success() || !closed => {}
            Ok(s) => tracing::warn!("an exec strategy's program ended with {s}"),
            Err(e) => tracing::warn!("cannot wait for an exec strategy's program: {e}"),
        }
    }
}

enum ReadError {
    Timeout,
    /// Output no event asked for: after `done`, or between events.
    Unasked,
    Eof,
    TooLong,
    Io(std::io::Error),
}

/// Lines from a pipe with a deadline: `poll(2)` for readiness, then whatever one `read` gets.
struct Lines {
    pipe: ChildStdout,
    buf: Vec<u8>,
    /// Where the next line starts in `buf`.
    pos: usize,
}

impl Lines {
    fn new(pipe: ChildStdout) -> Self {
        Lines {
            pipe,
            buf: Vec::with_capacity(4096),
            pos: 0,
        }
    }

    /// Whether nothing is waiting to be read: no line left after the last answer, and nothing
    /// written since (an exited program reads as [`ReadError::Eof`]).
    fn idle(&mut self) -> Result<(), ReadError> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        if self.pos < self.buf.len() {
            return Err(ReadError::Unasked);
        }
        let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Ok(_) => {
                let mut byte = [0u8; 1];
                match self.pipe.read(&mut byte) {
                    Ok(0) => Err(ReadError::Eof),
                    Ok(_) => Err(ReadError::Unasked),
                    Err(e) => Err(ReadError::Io(e)),
                }
            }
            Err(e) => Err(ReadError::Io(e.into())),
        }
    }

    /// The next line (without its `\n`), or why none came by `deadline`.
    fn next(&mut self, deadline: Instant) -> Result<&[u8], ReadError> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut scanned = self.pos;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[scanned..]) {
                let (start, end) = (self.pos, scanned + i);
                self.pos = end + 1;
                return Ok(&self.buf[start..end]);
            }
            if self.buf.len() - self.pos > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            scanned = self.buf.len();
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Err(ReadError::Timeout),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Io(e.into())),
            }
            let len = self.buf.len();
            self.buf.resize(len + 4096, 0);
            match self.pipe.read(&mut self.buf[len..]) {
                Ok(0) => {
                    self.buf.truncate(len);
                    return Err(ReadError::Eof);
                }
                Ok(n) => self.buf.truncate(len + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.buf.truncate(len),
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(ReadError::Io(e));
                }
            }
        }
    }
}
