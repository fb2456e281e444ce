//! The kill switch (DESIGN §9): a file and a Redis key. While either says tripped, no order
//! goes out. A source that cannot be read counts as tripped (fail closed). The Redis key is
//! clear only while it holds exactly [`REDIS_CLEAR`]; the rules are the core's
//! [`crate::broker::guard::redis_kill`].

use crate::broker::guard::{self, Denial, KillRead, REDIS_CLEAR, redis_kill};
use crate::bus::{BusError, Reconnect, RedisBus};
use crate::journal;
use std::io;
use std::path::Path;

/// Whether the kill file exists. An error (other than absence) means the state is unknown.
pub fn file_tripped(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// What a kill file records.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TripRecord {
    pub tripped_at: String,
    pub ts_ns: i64,
    pub by: String,
    pub reason: Option<String>,
}

impl TripRecord {
    /// A trip now, by `by`, for `reason`.
    pub fn now(by: String, reason: Option<String>) -> TripRecord {
        let now = crate::stage::wall_clock_ns();
        TripRecord {
            tripped_at: crate::time::format_rfc3339(now),
            ts_ns: now,
            by,
            reason,
        }
    }
}

/// The audit record of a change to the kill switch (`kill_switch`): what was done (`trip`,
/// `clear`), by whom, from where, why, and how it went (`done` or what failed).
pub fn audit_fields(
    action: &str,
    by: &str,
    source: &str,
    reason: Option<&str>,
    result: &str,
) -> serde_json::Map<String, serde_json::Value> {
    crate::audit::fields(serde_json::json!({
        "action": action, "by": by, "source": source, "reason": reason, "result": result,
    }))
}

/// Writes the kill file atomically (see [`journal::write_atomic`]), creating its directory.
pub fn trip_file(path: &Path, record: &TripRecord) -> io::Result<()> {
    let line = serde_json::to_string(record).map_err(io::Error::other)?;
    journal::write_atomic(path, &(line + "\n"))
}

/// Removes the kill file; absent is fine.
pub fn clear_file(path: &Path) -> io::Result<()> {
    journal::remove_if_present(path)
}

/// What the Redis key says; `seen` remembers, for this process, that the key existed, so
/// its disappearance fails closed. An error means the state is unknown (tripped).
pub fn redis_state(redis: &mut RedisBus, key: &str, seen: &mut bool) -> KillRead {
    match redis.get(key) {
        Ok(v) => redis_kill(v.as_deref(), seen),
        Err(e) => KillRead::Unreadable(e.to_string()),
    }
}

/// Sets the Redis key to "1".
pub fn trip_redis(redis: &mut RedisBus, key: &str) -> Result<(), BusError> {
    redis.set(key, "1")
}

/// Sets the Redis key to the clear value (never deletes it: a missing key that was seen
/// before reads as a lost state, and halts).
pub fn clear_redis(redis: &mut RedisBus, key: &str) -> Result<(), BusError> {
    redis.set(key, REDIS_CLEAR)
}

/// The kill switch as a long-running process reads it before every send: the file, then the
/// Redis key when configured, over one connection kept between reads.
pub struct KillSwitch {
    file: std::path::PathBuf,
    redis_url: Option<String>,
    key: String,
    conn: Option<RedisBus>,
    seen: bool,
}

impl KillSwitch {
    pub fn new(file: std::path::PathBuf, redis_url: Option<String>, key: String) -> Self {
        KillSwitch {
            file,
            redis_url,
            key,
            conn: None,
            seen: false,
        }
    }

    /// `Ok` when trading is allowed now; the denial says which source halted it.
    pub fn check(&mut self) -> Result<(), Denial> {
        let file = file_state(&self.file);
        if file != KillRead::Clear {
            return guard::kill_switch(&file, None);
        }
        let redis = self.redis_url.as_deref().map(|url| {
            let conn = match self.conn.take() {
                Some(c) => Ok(c),
                None => RedisBus::connect(url, Reconnect::default()),
            };
            match conn {
                Ok(mut c) => {
                    let r = redis_state(&mut c, &self.key, &mut self.seen);
                    // After a failed read, the next one connects afresh.
                    if !matches!(r, KillRead::Unreadable(_)) {
                        self.conn = Some(c);
                    }
                    r
                }
                Err(e) => KillRead::Unreadable(e.to_string()),
            }
        });
        guard::kill_switch(&file, redis.as_ref())
    }
}

/// Reads the file source.
pub fn file_state(path: &Path) -> KillRead {
    match file_tripped(path) {
        Ok(false) => KillRead::Clear,
        Ok(true) => KillRead::Tripped,
        Err(e) => KillRead::Unreadable(format!("{}: {e}", path.display())),
    }
}

/// This machine's name, for records of who did what; never fails.
pub fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// `user@host (pid N)` of this process, from the environment: who tripped, cleared or
/// corrected something; never fails.
pub fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{} (pid {})", host(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trip_and_clear_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run/halt");
        assert_eq!(file_state(&p), KillRead::Clear);
        let rec = TripRecord {
            tripped_at: "2026-01-01T00:00:00Z".into(),
            ts_ns: 1,
            by: "me".into(),
            reason: Some("test".into()),
        };
        trip_file(&p, &rec).unwrap();
        assert_eq!(file_state(&p), KillRead::Tripped);
        let back: TripRecord =
            serde_json::from_str(std::fs::read_to_string(&p).unwrap().trim()).unwrap();
        assert_eq!(back, rec);
        clear_file(&p).unwrap();
        clear_file(&p).unwrap();
        assert_eq!(file_state(&p), KillRead::Clear);
    }
}
