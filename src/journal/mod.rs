//! Append-only NDJSON journals (DESIGN §5): one event per line, flushed before the output
//! they record leaves the stage (`crate::stage`).
//!
//! The writer takes each line's event time so it can rotate by UTC date, and rotates by size
//! too: the open file is always `{stem}.ndjson`; a closed one is renamed
//! `{stem}.{YYYYMMDD}[.{n}].ndjson` (the UTC day of its first line) and gzipped in the
//! background, atomically and verified ([`compress_closed`]). A writer holds an exclusive
//! advisory lock (`flock`) on the file it appends to, so `njord-journal compress` can tell a
//! closed file from an open one. The reader accepts plain and gzip files (detected by their
//! magic bytes), skips blank lines, and reports a torn last line — a crash mid-write — instead
//! of failing on it.

mod compress;
mod name;
mod reader;
mod rotation;
mod series;
#[cfg(test)]
mod tests;
mod writer;

pub use compress::{Compressed, Skipped, compress_closed};
pub use name::{JournalName, parse_name};
pub use reader::{JournalReader, Line, LineError, decompressed, line_text, torn_reason};
pub use rotation::Rotation;
pub use series::{Series, list_dir, resolve};
pub use writer::{JournalWriter, Journals};

use std::fs::File;
use std::io;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("journal {path}: {msg}")]
    Other { path: String, msg: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn other(path: &Path, msg: impl Into<String>) -> JournalError {
    JournalError::Other {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// True when `file` is the file currently at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Feeds the bytes of the file at `path` to `hasher`: a tape's SHA-256, a source's.
pub fn hash_file(path: &Path, hasher: &mut sha2::Sha256) -> io::Result<()> {
    use sha2::Digest;
    use std::io::Read as _;
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// Replaces the small state file `path` (a kill file, a latch, a watermark) so that a crash
/// leaves the old content or the new one, never half: a temporary file beside it, fsync,
/// rename, then fsync of the directory. Creates the directory.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes a state file; one already absent is fine.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
