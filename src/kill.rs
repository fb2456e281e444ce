//! The kill switch (DESIGN §9): a file and a Redis key. While either says tripped, no order
//! goes out. A source that cannot be read counts as tripped (fail closed).

use crate::bus::{BusError, RedisBus};
use std::io::{self, Write};
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

/// Writes the kill file atomically (temp file, fsync, rename), creating its directory.
pub fn trip_file(path: &Path, record: &TripRecord) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    let line = serde_json::to_string(record).map_err(io::Error::other)?;
    writeln!(tmp.1, "{line}")?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn tempfile_in(dir: &Path) -> io::Result<(std::path::PathBuf, std::fs::File)> {
    let p = dir.join(format!(".njord-kill.{}.tmp", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&p)?;
    Ok((p, f))
}

/// Removes the kill file; absent is fine.
pub fn clear_file(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether the Redis key is "1". An error means the state is unknown (treat as tripped).
pub fn redis_tripped(redis: &mut RedisBus, key: &str) -> Result<bool, BusError> {
    Ok(redis.get(key)?.as_deref() == Some("1"))
}

/// Sets the Redis key to "1".
pub fn trip_redis(redis: &mut RedisBus, key: &str) -> Result<(), BusError> {
    redis.set(key, "1")
}

/// Deletes the Redis key.
pub fn clear_redis(redis: &mut RedisBus, key: &str) -> Result<(), BusError> {
    redis.del(key)
}

/// The state of one source, as `njord-kill status` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    Clear,
    Tripped,
    Unreadable(String),
}

/// Reads the file source.
pub fn file_state(path: &Path) -> SourceState {
    match file_tripped(path) {
        Ok(false) => SourceState::Clear,
        Ok(true) => SourceState::Tripped,
        Err(e) => SourceState::Unreadable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trip_and_clear_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run/halt");
        assert_eq!(file_state(&p), SourceState::Clear);
        let rec = TripRecord {
            tripped_at: "2026-01-01T00:00:00Z".into(),
            ts_ns: 1,
            by: "me".into(),
            reason: Some("test".into()),
        };
        trip_file(&p, &rec).unwrap();
        assert_eq!(file_state(&p), SourceState::Tripped);
        let back: TripRecord =
            serde_json::from_str(std::fs::read_to_string(&p).unwrap().trim()).unwrap();
        assert_eq!(back, rec);
        clear_file(&p).unwrap();
        clear_file(&p).unwrap();
        assert_eq!(file_state(&p), SourceState::Clear);
    }
}
