//! When a writer starts a new file, and the UTC day a closed file is named after.

use super::JournalReader;
use crate::config;
use crate::event;
use std::path::Path;

/// When a writer starts a new file, and what happens to the closed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Size limit of one file in bytes; 0: no size rotation.
    pub max_bytes: u64,
    /// A line of a later UTC day (event time) starts a new file.
    pub daily: bool,
    /// Gzip closed files in the background.
    pub compress: bool,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation::from_config(&config::Journal::default())
    }
}

impl Rotation {
    pub fn from_config(j: &config::Journal) -> Self {
        Rotation {
            max_bytes: j.rotate_max_bytes,
            daily: j.rotate_daily,
            compress: j.compress_rotated,
        }
    }
}

/// The UTC day of the first line of a journal, or of its modification time when the first
/// line has no readable event time.
pub(super) fn first_line_day(path: &Path) -> Option<i64> {
    let mut r = JournalReader::open(path).ok()?;
    let from_line = match r.next_line() {
        Some(Ok(l)) => event::decode(l.text).ok().map(|e| e.ts_ns()),
        _ => None,
    };
    let ts = from_line.or_else(|| {
        let m = std::fs::metadata(path).ok()?.modified().ok()?;
        let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(d.as_nanos()).ok()
    })?;
    Some(crate::time::utc_day(ts))
}
