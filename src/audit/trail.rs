//! Writing a chain: sealed records appended through a journal writer (rotation, gzip, flush
//! per batch, fsync per policy), checkpoints signed with the installation's key, and the head
//! anchored outside the trail at each checkpoint.
//!
//! On open, a torn last line (a crash mid-write) is moved aside to `{file}.torn-{ns}`, never
//! deleted, and the chain continues from the last whole record, in the open file or, after a
//! rotation, in the newest closed one: the first record of a file links to the last of the
//! previous file.

use super::keys::{SigningKey, checkpoint_message};
use crate::config::{self, Config, Loaded};
use crate::event::Event;
use crate::journal::{
    JournalError, JournalReader, JournalWriter, Rotation, list_dir, write_atomic,
};
use njord_core::audit::{Field, GENESIS, line_parts, seal_fields, seal_line};
use serde_json::{Map, Value, json};
use smallvec::SmallVec;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A chain's files are `{CHAIN_PREFIX}{writer}.ndjson` and their rotated names.
pub const CHAIN_PREFIX: &str = "audit.";

fn fail(path: &Path, msg: impl Into<String>) -> JournalError {
    JournalError::Other {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// One process's chain, open for appending.
pub struct Trail {
    chain: String,
    path: PathBuf,
    writer: JournalWriter,
    head_hash: String,
    head_seq: u64,
    since_checkpoint: u64,
    last_checkpoint_ns: i64,
    every_records: u64,
    every_ns: i64,
    key: Option<SigningKey>,
    anchor_dir: Option<PathBuf>,
    anchor_redis: Option<(redis::Client, String)>,
    /// Hashes of the configurations recorded in the open file as it started, and by this
    /// process.
    configs: HashSet<String>,
    /// The chain's lock, held while this trail is open.
    _lock: std::fs::File,
    /// The configuration in force: every decision names it.
    config_hash: String,
    /// An event's line, and the canonical text of a record ([`seal_fields`]).
    scratch: Vec<u8>,
    text: Vec<u8>,
}

/// A record's seq and hash.
type Link = (u64, String);

/// The `seq` and `hash` of a record line, and its `config_hash` when it is a config record.
fn links(line: &str) -> Option<(u64, String, Option<String>)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let seq = v["seq"].as_u64()?;
    let hash = v["hash"].as_str()?.to_string();
    let config = (v["kind"] == "config")
        .then(|| v["config_hash"].as_str().map(str::to_string))
        .flatten();
    Some((seq, hash, config))
}

/// Moves a torn last line aside (`{path}.torn-{ns}`) and cuts the file after its last whole
/// line.
fn set_torn_aside(path: &Path) -> Result<(), JournalError> {
    let io = |e: std::io::Error| fail(path, e.to_string());
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    else {
        return Ok(());
    };
    // A running writer's file may end mid-line (its buffer is written in blocks): never cut
    // a file another process holds.
    if let Err(e) = f.try_lock() {
        return Err(fail(
            path,
            format!(
                "locked by another writer ({e}); one process per chain: give each instance \
                 its own audit.dir"
            ),
        ));
    }
    let len = f.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(());
    }
    // A record is far below 1 MiB; read the tail only.
    let from = len.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).map_err(io)?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = match memchr::memrchr(b'\n', &tail) {
        Some(i) => from + i as u64 + 1,
        None if from == 0 => 0,
        None => return Err(fail(path, "last line longer than 1 MiB: not a record")),
    };
    let torn = &tail[(keep - from) as usize..];
    let aside = PathBuf::from(format!(
        "{}.torn-{}",
        path.display(),
        crate::stage::wall_clock_ns()
    ));
    // The bytes as they are: a line cut mid-character is kept as cut.
    let mut kept = std::fs::File::create(&aside).map_err(io)?;
    kept.write_all(torn)
        .and_then(|_| kept.sync_all())
        .map_err(io)?;
    f.set_len(keep).map_err(io)?;
    f.sync_all().map_err(io)?;
    tracing::warn!(
        trail = %path.display(),
        aside = %aside.display(),
        "audit trail {} ended with a torn line (a crash mid-write); moved to {}",
        path.display(),
        aside.display()
    );
    Ok(())
}

/// How long a writer waits for another process to close the chain.
const CHAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Locks a chain's lock file, waiting for its holder up to [`CHAIN_WAIT`].
fn lock_chain(path: &Path) -> Result<std::fs::File, JournalError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| fail(path, e.to_string()))?;
    let deadline = std::time::Instant::now() + CHAIN_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => {
                return Err(fail(
                    path,
                    format!(
                        "another process writes this chain ({e}); one running process per \
                         chain: give each instance its own audit.dir"
                    ),
                ));
            }
        }
    }
}

impl Trail {
    /// Opens the chain `writer` under `cfg.dir`, continuing from its last record.
    pub fn open(
        cfg: &config::Audit,
        redis_url: Option<&str>,
        writer: &str,
    ) -> Result<Trail, JournalError> {
        let dir = &cfg.dir;
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
        let stem = format!("{CHAIN_PREFIX}{writer}");
        let path = dir.join(format!("{stem}.ndjson"));
        // One writer per chain, from reading its head to closing it: another process that
        // writes the same chain (njord-kill runs at once from the CLI, the control API and
        // Telegram) waits its turn.
        let lock = lock_chain(&dir.join(format!(".{stem}.lock")))?;
        set_torn_aside(&path)?;
        let (mut head, configs) = last_record(&path, true)?;
        if head.is_none() {
            // The open file is new or empty: continue from the newest rotated file.
            let series = list_dir(dir)?;
            let rotated = series
                .iter()
                .find(|s| s.name == dir.join(&stem).display().to_string())
                .and_then(|s| s.files.iter().rev().find(|f| **f != path));
            if let Some(f) = rotated {
                head = last_record(f, false)?.0;
            }
        }
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS.to_string()));
        let rotation = Rotation {
            max_bytes: cfg.rotate_max_bytes,
            daily: cfg.rotate_daily,
            compress: cfg.compress_rotated,
        };
        let writer_ = JournalWriter::open_with(dir, &stem, cfg.fsync, rotation)?;
        let key = match &cfg.key_file {
            Some(p) => Some(SigningKey::load(p).map_err(|e| fail(p, e))?),
            None => None,
        };
        if let (Some(k), Some(public)) = (&key, &cfg.public_key)
            && !k.public_hex.eq_ignore_ascii_case(public.trim())
        {
            return Err(fail(
                cfg.key_file.as_deref().unwrap_or(dir),
                "this key's public key is not audit.public_key",
            ));
        }
        let anchor_redis = match &cfg.anchor_redis_prefix {
            Some(prefix) => {
                let url = redis_url
                    .ok_or_else(|| fail(dir, "audit.anchor_redis_prefix needs redis.url"))?;
                let client =
                    crate::bus::client(url).map_err(|e| fail(dir, format!("redis.url: {e}")))?;
                Some((client, prefix.clone()))
            }
            None => None,
        };
        Ok(Trail {
            chain: writer.to_string(),
            path,
            writer: writer_,
            head_hash,
            head_seq,
            since_checkpoint: 0,
            last_checkpoint_ns: crate::stage::wall_clock_ns(),
            every_records: cfg.checkpoint_records,
            every_ns: i64::try_from(cfg.checkpoint_ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
            key,
            anchor_dir: cfg.anchor_dir.clone(),
            anchor_redis,
            configs,
            config_hash: String::new(),
            _lock: lock,
            scratch: Vec::new(),
            text: Vec::new(),
        })
    }

    /// Seals `fields` as the next record, of `kind` at `ts_ns`; returns its seq.
    pub fn record(
        &mut self,
        ts_ns: i64,
        kind: &str,
        mut fields: Map<String, Value>,
    ) -> Result<u64, JournalError> {
        fields.insert("kind".into(), Value::from(kind));
        fields.insert("ts_ns".into(), Value::from(ts_ns));
        self.append(fields)?;
        self.checkpoint_if_due()?;
        Ok(self.head_seq)
    }

    fn append(&mut self, fields: Map<String, Value>) -> Result<(), JournalError> {
        let (line, hash) = seal_line(fields, (&self.head_hash, self.head_seq))
            .map_err(|e| fail(&self.path, format!("record not sealed: {e}")))?;
        self.writer
            .append(crate::stage::wall_clock_ns(), line.as_bytes())?;
        self.head_hash = hash;
        self.head_seq += 1;
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Records an event as its line, with `extra` fields.
    pub fn event(
        &mut self,
        ev: &Event<'_>,
        extra: &[(&str, Field<'_>)],
    ) -> Result<u64, JournalError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        ev.write_line(&mut scratch);
        scratch.pop();
        let sealed = self.event_line(ev.kind(), ev.ts_ns(), &scratch, extra);
        self.scratch = scratch;
        sealed
    }

    /// Records an event of `kind` at `ts_ns`, written as `line`, with `extra` fields and, on
    /// a decision, the configuration in force. The hot path: no JSON tree is built.
    pub fn event_line(
        &mut self,
        kind: crate::event::Kind,
        ts_ns: i64,
        line: &[u8],
        extra: &[(&str, Field<'_>)],
    ) -> Result<u64, JournalError> {
        let config_hash = std::mem::take(&mut self.config_hash);
        // The writer's own line: UTF-8 whenever its text fields are.
        let line = line_text(line);
        let mut fields: SmallVec<[(&str, Field<'_>); 10]> = SmallVec::from_slice(extra);
        fields.extend_from_slice(&[
            ("event", Field::Text(&line)),
            ("kind", Field::Text(kind.as_str())),
            ("ts_ns", Field::Int(ts_ns)),
        ]);
        if kind == crate::event::Kind::Decision {
            fields.push(("config_hash", Field::Text(&config_hash)));
        }
        let sealed = self.append_fields(&mut fields);
        drop(fields);
        self.config_hash = config_hash;
        sealed?;
        self.checkpoint_if_due()?;
        Ok(self.head_seq)
    }

    fn append_fields(&mut self, fields: &mut [(&str, Field<'_>)]) -> Result<(), JournalError> {
        let (hash, at) = seal_fields(fields, (&self.head_hash, self.head_seq), &mut self.text);
        self.writer.append_parts(
            crate::stage::wall_clock_ns(),
            &line_parts(&self.text, &hash, at),
        )?;
        self.head_hash.clear();
        self.head_hash
            .push_str(std::str::from_utf8(&hash).unwrap_or_default());
        self.head_seq += 1;
        self.since_checkpoint += 1;
        Ok(())
    }

    fn checkpoint_if_due(&mut self) -> Result<(), JournalError> {
        if self.every_records > 0 && self.since_checkpoint >= self.every_records {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Records the effective configuration (secrets redacted) once per hash in a file, and
    /// makes it the one decisions name; `why` is `start` or `reload`.
    pub fn config(&mut self, cfg: &Config, why: &str) -> Result<String, JournalError> {
        let v = serde_json::to_value(cfg).unwrap_or(Value::Null);
        let hash = crate::config::effective_hash(&v);
        if self.configs.insert(hash.clone()) {
            let text = serde_json::to_string(&v).unwrap_or_default();
            self.record(
                crate::stage::wall_clock_ns(),
                "config",
                fields(json!({"config_hash": hash, "why": why, "config": text})),
            )?;
        } else {
            self.record(
                crate::stage::wall_clock_ns(),
                "config_in_force",
                fields(json!({"config_hash": hash, "why": why})),
            )?;
        }
        self.config_hash = hash.clone();
        Ok(hash)
    }

    /// Writes a checkpoint: the head it closes and the record count, signed when a key is
    /// configured; then puts the lines on disk and anchors the new head.
    pub fn checkpoint(&mut self) -> Result<(), JournalError> {
        let msg = checkpoint_message(&self.chain, self.head_seq, &self.head_hash);
        let (key, sig) = match &self.key {
            Some(k) => (
                Value::from(k.public_hex.as_str()),
                Value::from(k.sign(&msg)),
            ),
            None => (Value::Null, Value::Null),
        };
        let now = crate::stage::wall_clock_ns();
        let fields = fields(json!({
            "kind": "checkpoint",
            "ts_ns": now,
            "chain": self.chain,
            "count": self.head_seq,
            "head": self.head_hash,
            "key": key,
            "sig": sig,
        }));
        self.append(fields)?;
        self.since_checkpoint = 0;
        self.last_checkpoint_ns = now;
        if self.anchor_dir.is_none() && self.anchor_redis.is_none() {
            return Ok(());
        }
        // An anchor never names a record the disk may lack.
        self.writer.sync()?;
        self.anchor(now)
    }

    fn anchor(&mut self, now: i64) -> Result<(), JournalError> {
        let head = json!({"chain": self.chain, "seq": self.head_seq, "hash": self.head_hash, "ts_ns": now});
        let text = format!("{head}\n");
        if let Some(dir) = &self.anchor_dir {
            let path = dir.join(format!("{}.head", self.chain));
            write_atomic(&path, &text).map_err(|e| fail(&path, e.to_string()))?;
        }
        if let Some((client, prefix)) = &self.anchor_redis {
            let key = format!("{prefix}{}", self.chain);
            let set = client
                .get_connection_with_timeout(std::time::Duration::from_secs(2))
                .and_then(|mut c| {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(head.to_string())
                        .query::<()>(&mut c)
                });
            // The trail itself is intact; a missed anchor only narrows what truncation
            // detection covers until the next checkpoint.
            if let Err(e) = set {
                tracing::warn!(key, error = %e, "audit anchor not written to Redis");
            }
        }
        Ok(())
    }

    /// Ends a batch: a checkpoint when one is due by time, then the lines to the OS (and the
    /// disk per `audit.fsync`).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.every_ns > 0
            && self.since_checkpoint > 0
            && crate::stage::wall_clock_ns().saturating_sub(self.last_checkpoint_ns)
                >= self.every_ns
        {
            self.checkpoint()?;
        }
        self.writer.flush()
    }
}

/// A JSON object literal as a record's fields.
pub fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The last record of a chain file (`None` when it has none), and, when `configs`, the
/// configuration hashes recorded in it. A last line that is not a record is an error: the
/// chain cannot go on from it.
fn last_record(
    path: &Path,
    configs: bool,
) -> Result<(Option<Link>, HashSet<String>), JournalError> {
    let mut found = HashSet::new();
    if !path.exists() {
        return Ok((None, found));
    }
    let mut reader = JournalReader::open(path)?;
    let mut last = String::new();
    while let Some(line) = reader.next_line() {
        let text = line.map_err(|e| fail(path, e.to_string()))?.text;
        if configs
            && text.contains("\"kind\":\"config\"")
            && let Some((_, _, Some(h))) = links(text)
        {
            found.insert(h);
        }
        last.clear();
        last.push_str(text);
    }
    let head = match (!last.is_empty()).then_some(last) {
        Some(l) => {
            let (seq, hash, _) = links(&l).ok_or_else(|| {
                fail(
                    path,
                    "the last line is not an audit record; run `njord-audit verify` on it",
                )
            })?;
            Some((seq, hash))
        }
        None => None,
    };
    Ok((head, found))
}

static TRAIL: Mutex<Option<Trail>> = Mutex::new(None);
static OPEN: AtomicBool = AtomicBool::new(false);

/// An event line as a record's text: UTF-8 as decoded or written (checked on vectors), any
/// other byte replaced.
pub fn line_text(line: &[u8]) -> std::borrow::Cow<'_, str> {
    simdutf8::basic::from_utf8(line).map_or_else(
        |_| String::from_utf8_lossy(line),
        std::borrow::Cow::Borrowed,
    )
}

/// Whether this process writes a trail.
pub fn is_open() -> bool {
    OPEN.load(Ordering::Relaxed)
}

fn with<T: Default>(
    f: impl FnOnce(&mut Trail) -> Result<T, JournalError>,
) -> Result<T, JournalError> {
    if !is_open() {
        return Ok(T::default());
    }
    let mut guard = TRAIL.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_mut() {
        Some(t) => f(t),
        None => Ok(T::default()),
    }
}

/// Opens this process's chain `writer` when `audit.enabled`, and records the start and the
/// configuration. Returns whether a trail is open.
pub fn open(loaded: &Loaded, writer: &str) -> Result<bool, JournalError> {
    let cfg = &loaded.config;
    if !cfg.audit.enabled || is_open() {
        return Ok(is_open());
    }
    open_with(
        Trail::open(&cfg.audit, cfg.redis.url.as_deref(), writer)?,
        cfg,
    )?;
    Ok(true)
}

/// Makes `trail` this process's trail and records the start and `cfg`.
fn open_with(trail: Trail, cfg: &Config) -> Result<(), JournalError> {
    *TRAIL.lock().unwrap_or_else(|p| p.into_inner()) = Some(trail);
    OPEN.store(true, Ordering::Relaxed);
    record(
        crate::stage::wall_clock_ns(),
        "start",
        fields(json!({
            "pid": std::process::id(),
            "host": crate::kill::host(),
            "version": env!("CARGO_PKG_VERSION"),
            "env": cfg.app.env,
        })),
    )?;
    config_loaded(cfg, "start")?;
    flush()
}

/// Records a record of `kind` at `ts_ns` (see [`Trail::record`]).
pub fn record(ts_ns: i64, kind: &str, fields: Map<String, Value>) -> Result<(), JournalError> {
    with(|t| t.record(ts_ns, kind, fields).map(|_| ()))
}

/// Records an event with `extra` fields: as `line` when given (the line it was received or
/// journaled as), else as written again (see [`Trail::event`]).
pub fn event(
    ev: &Event<'_>,
    line: Option<&[u8]>,
    extra: &[(&str, Field<'_>)],
) -> Result<(), JournalError> {
    with(|t| {
        match line {
            Some(l) => t.event_line(ev.kind(), ev.ts_ns(), l, extra),
            None => t.event(ev, extra),
        }
        .map(|_| ())
    })
}

/// Records a configuration load (see [`Trail::config`]).
pub fn config_loaded(cfg: &Config, why: &str) -> Result<(), JournalError> {
    with(|t| t.config(cfg, why).map(|_| ()))
}

/// Ends a batch (see [`Trail::flush`]).
pub fn flush() -> Result<(), JournalError> {
    with(Trail::flush)
}

/// Puts every record on disk now, whatever `audit.fsync` says: before an action a record
/// announces (the broker's `pending_new` before the order is sent).
pub fn sync() -> Result<(), JournalError> {
    with(|t| t.writer.sync())
}

/// Records the stop (`how`: `done`, or the error that ended the run), a last checkpoint,
/// and closes the trail.
pub fn close(how: &str) -> Result<(), JournalError> {
    let out = with(|t| {
        t.record(
            crate::stage::wall_clock_ns(),
            "stop",
            fields(json!({"how": how})),
        )?;
        t.checkpoint()?;
        t.flush()
    });
    OPEN.store(false, Ordering::Relaxed);
    *TRAIL.lock().unwrap_or_else(|p| p.into_inner()) = None;
    out
}
