//! `sweep --queue redis://…`: any number of workers, on any hosts, take one sweep's trials
//! from a Redis stream through a consumer group, and a worker that dies leaves its trials
//! to the others.
//!
//! - The stream is `njord:sweep:{id}`, where `id` hashes the tape, the configuration and
//!   every trial: workers of one sweep meet there, other sweeps never do. The first worker
//!   fills it with one entry per trial (`trial`, `hash`) in one Lua script, so it is filled
//!   once and whole.
//! - Each worker thread (`RAYON_NUM_THREADS` of them) is a consumer named
//!   `{host}-{pid}-{thread}`. It takes one entry at a time (`XREADGROUP … >`), runs the trial
//!   unless the store already has it, stores it, and only then `XACK`s it.
//! - While a trial runs, the worker touches its entry (`XCLAIM` to itself) every third of
//!   `--queue-idle`. An entry untouched for longer, a dead worker's, is taken over by another
//!   with `XAUTOCLAIM`.
//! - A worker stops when nothing is left to read and nothing is pending. The first to see
//!   every trial stored writes the outputs and deletes the stream.
//!
//! Results go to the trial store of `--out`, which every worker must share (as for shards).
//! Trials are deterministic and stored through a rename, so a trial run twice (a worker
//! paused past the idle time) stores the same bytes.

use super::run::{Sweep, SweepDone};
use crate::event::Event;
use redis::Commands;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingReply, StreamReadOptions,
    StreamReadReply,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

/// `--queue` and `--queue-idle`.
#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    /// How long an entry may go untouched before another worker takes it over.
    pub idle: Duration,
}

const GROUP: &str = "workers";

/// How long one read waits for an entry before the worker looks at what is pending.
const BLOCK_MS: usize = 500;

/// Fills the stream with one entry per trial, once: `KEYS[2]` marks it filled.
const FILL: &str = r"
if redis.call('SET', KEYS[2], '1', 'NX') then
  for i = 1, #ARGV do
    redis.call('XADD', KEYS[1], '*', 'trial', i - 1, 'hash', ARGV[i])
  end
  return #ARGV
end
return 0
";

/// What one worker did: its trials and, when it is the one to write the outputs, every row.
pub struct Worked {
    pub done: SweepDone,
    /// This worker writes the outputs (another one does when `false`).
    pub reports: bool,
    /// Trials this worker took over from a silent worker.
    pub reclaimed: usize,
}

/// Works the sweep's queue at `q` until every trial is stored; `on_done` is called after
/// each trial this worker runs.
pub fn work(sweep: &Sweep, q: &Queue, on_done: &(dyn Fn() + Sync)) -> Result<Worked, String> {
    let client =
        redis::Client::open(q.url.as_str()).map_err(|e| format!("--queue {}: {e}", q.url))?;
    let connect = || {
        client
            .get_connection()
            .map_err(|e| format!("--queue {}: cannot connect: {e}", q.url))
    };
    let key = format!("njord:sweep:{}", sweep_id(sweep));
    let redis_err = |e: redis::RedisError| format!("--queue {} ({key}): {e}", q.url);
    let mut con = connect()?;
    match con.xgroup_create_mkstream::<_, _, _, ()>(&key, GROUP, "0") {
        Err(e) if e.code() != Some("BUSYGROUP") => return Err(redis_err(e)),
        _ => {}
    }
    let script = redis::Script::new(FILL);
    let mut fill = script.prepare_invoke();
    fill.key(&key).key(format!("{key}:filled"));
    for h in sweep.hashes() {
        fill.arg(h);
    }
    let filled: usize = fill.invoke(&mut con).map_err(redis_err)?;
    if filled > 0 {
        tracing::info!("{key}: {filled} trials queued");
    }

    let base = format!("{}-{}", crate::kill::host(), std::process::id());
    let events: OnceLock<Result<Vec<Event<'static>>, String>> = OnceLock::new();
    let (ran, skipped, reclaimed) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    // (consumer, entry id) of the trials running now, touched by the heartbeat.
    let running: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let idle_ms = q.idle.as_millis() as usize;

    let consume = |me: String| -> Result<(), String> {
        let mut con = connect()?;
        loop {
            let Some(entry) = next_entry(&mut con, &key, &me, idle_ms, &reclaimed)? else {
                return Ok(());
            };
            let trial: Option<usize> = entry.get("trial");
            let hash: Option<String> = entry.get("hash");
            let trial = match (trial, hash) {
                (Some(t), Some(h)) if sweep.hash(t) == Some(h.as_str()) => t,
                _ => {
                    return Err(format!(
                        "{key}: entry {} is no trial of this sweep: delete the stream and run again",
                        entry.id
                    ));
                }
            };
            if let Ok(mut r) = running.lock() {
                r.push((me.clone(), entry.id.clone()));
            }
            let outcome = if sweep.stored(trial).is_some() {
                skipped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            } else {
                match events.get_or_init(|| sweep.events()) {
                    Ok(ev) => sweep.run_one(trial, ev).map(|()| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        on_done();
                    }),
                    Err(e) => Err(e.clone()),
                }
            };
            if let Ok(mut r) = running.lock() {
                r.retain(|(_, id)| *id != entry.id);
            }
            outcome?;
            match con.xack::<_, _, _, usize>(&key, GROUP, &[&entry.id]) {
                Err(e) if e.code() != Some("NOGROUP") => return Err(redis_err(e)),
                _ => {}
            }
        }
    };

    let threads = rayon::current_num_threads().max(1);
    std::thread::scope(|s| -> Result<(), String> {
        let (stop, stopped) = mpsc::channel::<()>();
        let (running, key, connect) = (&running, &key, &connect);
        let heartbeat = s.spawn(move || -> Result<(), String> {
            let mut con = connect()?;
            // Until the workers are done (the sender is dropped).
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(q.idle / 3) {
                let now: Vec<(String, String)> =
                    running.lock().map(|r| r.clone()).unwrap_or_default();
                for (consumer, id) in now {
                    let _: redis::RedisResult<redis::Value> = redis::cmd("XCLAIM")
                        .arg(key)
                        .arg(GROUP)
                        .arg(&consumer)
                        .arg(0)
                        .arg(&id)
                        .arg("JUSTID")
                        .query(&mut con);
                }
            }
            Ok(())
        });
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let me = format!("{base}-{t}");
                let consume = &consume;
                s.spawn(move || consume(me))
            })
            .collect();
        let mut outcome = Ok(());
        for w in workers {
            let r = w
                .join()
                .unwrap_or_else(|_| Err("a queue worker panicked".into()));
            if outcome.is_ok() {
                outcome = r;
            }
        }
        drop(stop);
        heartbeat
            .join()
            .unwrap_or_else(|_| Err("the heartbeat panicked".into()))?;
        outcome
    })?;

    let stored = (0..sweep.trial_count()).map(|i| sweep.stored(i)).collect();
    let done = sweep.collect(
        stored,
        ran.load(Ordering::Relaxed),
        skipped.load(Ordering::Relaxed),
    );
    if !done.missing.is_empty() {
        return Err(format!(
            "{key} has no trial left, but {} has no result for trials {:?}: was --out another \
             directory? Delete the queue (redis-cli DEL {key} {key}:filled) and run again",
            sweep.store.dir.display(),
            &done.missing[..done.missing.len().min(20)]
        ));
    }
    // One worker writes the outputs; it deletes the queue, so a later run starts afresh (and
    // finds every trial stored).
    let reports: bool = redis::cmd("SET")
        .arg(format!("{key}:report"))
        .arg(&base)
        .arg("NX")
        .arg("EX")
        .arg(60)
        .query::<Option<String>>(&mut con)
        .map_err(redis_err)?
        .is_some();
    if reports {
        con.del::<_, ()>(&[&key, &format!("{key}:filled")])
            .map_err(redis_err)?;
    }
    Ok(Worked {
        done,
        reports,
        reclaimed: reclaimed.load(Ordering::Relaxed),
    })
}

/// The next entry for consumer `me`: one silent for longer than `idle_ms` (taken over), or
/// a new one; `None` once nothing is new and nothing is pending (or the queue was deleted
/// by the worker that finished it).
fn next_entry(
    con: &mut redis::Connection,
    key: &str,
    me: &str,
    idle_ms: usize,
    reclaimed: &AtomicUsize,
) -> Result<Option<StreamId>, String> {
    // The worker that finished deletes the stream: a read then fails, blocked or not.
    let gone = |e: &redis::RedisError| matches!(e.code(), Some("NOGROUP" | "UNBLOCKED"));
    loop {
        let claim: redis::RedisResult<StreamAutoClaimReply> = con.xautoclaim_options(
            key,
            GROUP,
            me,
            idle_ms,
            "0-0",
            StreamAutoClaimOptions::default().count(1),
        );
        match claim {
            Ok(r) => {
                if let Some(entry) = r.claimed.into_iter().next() {
                    reclaimed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "{key}: took over entry {} (trial {}) from a worker silent for {idle_ms} ms",
                        entry.id,
                        entry.get::<usize>("trial").map_or(0, |t| t + 1)
                    );
                    return Ok(Some(entry));
                }
            }
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(format!("{key}: {e}")),
        }
        let opts = StreamReadOptions::default()
            .group(GROUP, me)
            .count(1)
            .block(BLOCK_MS);
        let read: redis::RedisResult<Option<StreamReadReply>> =
            con.xread_options(&[key], &[">"], &opts);
        match read {
            Ok(Some(r)) => {
                if let Some(entry) = r.keys.into_iter().flat_map(|k| k.ids).next() {
                    return Ok(Some(entry));
                }
            }
            Ok(None) => {}
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(format!("{key}: {e}")),
        }
        let pending: redis::RedisResult<StreamPendingReply> = con.xpending(key, GROUP);
        match pending {
            Ok(p) if p.count() == 0 => return Ok(None),
            Ok(_) => {}
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(format!("{key}: {e}")),
        }
    }
}

/// What identifies a sweep on the queue: its tape, configuration and trials.
fn sweep_id(sweep: &Sweep) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(sweep.store.tape_hash.as_bytes());
    h.update(sweep.store.config_hash.as_bytes());
    for t in sweep.hashes() {
        h.update(t.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}
