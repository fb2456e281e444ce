//! `sweep --queue redis://…`: any number of workers, on any hosts, take one sweep's trials
//! from a Redis stream through a consumer group, and a worker that dies leaves its trials
//! to the others.
//!
//! - The stream is `njord:sweep:{id}`, where `id` hashes the tape, the configuration and
//!   every trial: workers of one sweep meet there, other sweeps never do. It holds one entry
//!   per trial (`trial`, `hash`), added in order by Lua scripts of 10,000 entries that each
//!   check and advance a count (`{key}:filled`), so whichever workers fill it, each trial is
//!   added once. Every worker fills it to the end before it reads.
//! - Each worker thread (`RAYON_NUM_THREADS` of them) is a consumer named
//!   `{host}-{pid}-{thread}`. It takes one entry at a time (`XREADGROUP … >`), runs the trial
//!   unless the store already has it, stores it, and only then `XACK`s it.
//! - While a trial runs, the worker touches its entry (`XCLAIM` to itself) every third of
//!   `--queue-idle`. An entry untouched for longer, a dead worker's, is taken over by another
//!   with `XAUTOCLAIM`.
//! - A worker stops when nothing is left to read and nothing is pending. The one whose `DEL`
//!   of the stream deletes it writes the outputs; the others leave them to it.
//!
//! It needs Redis 6.2 or later (`XAUTOCLAIM`).
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

/// Adds the entries of trials `ARGV[1]`, `ARGV[1] + 1`, … (hashes `ARGV[2…]`) when the stream
/// holds exactly `ARGV[1]` (the count in `KEYS[2]`); returns the count after.
const FILL: &str = r"
local filled = tonumber(redis.call('GET', KEYS[2]) or '0')
if filled ~= tonumber(ARGV[1]) then
  return filled
end
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'trial', filled + i - 2, 'hash', ARGV[i])
end
redis.call('SET', KEYS[2], filled + #ARGV - 1)
return filled + #ARGV - 1
";

/// Deletes the stream and its count at once; 1 for the caller that deleted the stream.
const DELETE: &str = r"
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return n
";

/// Entries one fill script adds.
const FILL_BATCH: usize = 10_000;

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
    let filled_key = format!("{key}:filled");
    let script = redis::Script::new(FILL);
    let hashes: Vec<&str> = sweep.hashes().collect();
    let mut filled: usize = con
        .get::<_, Option<usize>>(&filled_key)
        .map_err(redis_err)?
        .unwrap_or(0);
    while filled < hashes.len() {
        let batch = &hashes[filled..(filled + FILL_BATCH).min(hashes.len())];
        let mut fill = script.prepare_invoke();
        fill.key(&key).key(&filled_key).arg(filled);
        for h in batch {
            fill.arg(*h);
        }
        filled = fill.invoke(&mut con).map_err(redis_err)?;
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
        let mut cursor = String::from("0-0");
        loop {
            let Some(entry) = next_entry(&mut con, &key, &me, idle_ms, &mut cursor, &reclaimed)?
            else {
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
            // Acknowledging an entry of a deleted stream is 0, not an error.
            con.xack::<_, _, _, usize>(&key, GROUP, &[&entry.id])
                .map_err(redis_err)?;
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
    // The one worker whose DEL deletes the stream writes the outputs; a later run of this
    // sweep starts a new stream and finds every trial stored.
    let reports: usize = redis::Script::new(DELETE)
        .key(&key)
        .key(&filled_key)
        .invoke(&mut con)
        .map_err(redis_err)?;
    let reports = reports == 1;
    Ok(Worked {
        done,
        reports,
        reclaimed: reclaimed.load(Ordering::Relaxed),
    })
}

/// The next entry for consumer `me`: one silent for longer than `idle_ms` (taken over), or
/// a new one; `None` once nothing is new and nothing is pending (or the queue was deleted
/// by the worker that finished it). `cursor` is where the next look for silent entries starts.
fn next_entry(
    con: &mut redis::Connection,
    key: &str,
    me: &str,
    idle_ms: usize,
    cursor: &mut String,
    reclaimed: &AtomicUsize,
) -> Result<Option<StreamId>, String> {
    loop {
        let claim: redis::RedisResult<StreamAutoClaimReply> = con.xautoclaim_options(
            key,
            GROUP,
            me,
            idle_ms,
            cursor.as_str(),
            StreamAutoClaimOptions::default().count(1),
        );
        let claim = match claim {
            Ok(r) => r,
            Err(e) => return deleted(key, e).map(|()| None),
        };
        *cursor = claim.next_stream_id;
        if let Some(entry) = claim.claimed.into_iter().next() {
            reclaimed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "{key}: took over entry {} (trial {}) from a worker silent for {idle_ms} ms",
                entry.id,
                entry.get::<usize>("trial").map_or(0, |t| t + 1)
            );
            return Ok(Some(entry));
        }
        let opts = StreamReadOptions::default()
            .group(GROUP, me)
            .count(1)
            .block(BLOCK_MS);
        let read: redis::RedisResult<Option<StreamReadReply>> =
            con.xread_options(&[key], &[">"], &opts);
        match read {
            Ok(r) => {
                if let Some(entry) = r
                    .into_iter()
                    .flat_map(|r| r.keys)
                    .flat_map(|k| k.ids)
                    .next()
                {
                    return Ok(Some(entry));
                }
            }
            Err(e) => return deleted(key, e).map(|()| None),
        }
        let pending: redis::RedisResult<StreamPendingReply> = con.xpending(key, GROUP);
        match pending {
            Ok(p) if p.count() == 0 => return Ok(None),
            Ok(_) => {}
            Err(e) => return deleted(key, e).map(|()| None),
        }
    }
}

/// `Ok` when `e` says the stream is gone (the worker that finished deleted it: a read then
/// fails, blocked or not); any other error is returned.
fn deleted(key: &str, e: redis::RedisError) -> Result<(), String> {
    if matches!(e.code(), Some("NOGROUP" | "UNBLOCKED")) {
        Ok(())
    } else {
        Err(format!("{key}: {e}"))
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
