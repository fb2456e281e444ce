//! Gzip compression of closed journal files: atomic, verified, and never of a file a writer
//! holds open.

use super::name::{gz_path, parse_name, rotated_path};
use super::rotation::first_line_day;
use super::{JournalError, io_err, other, parent, same_file, sync_dir};
use std::fs::{File, TryLockError};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A compressed journal: `src` was replaced by `dst` holding the same `lines` and `bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub lines: u64,
    pub bytes: u64,
}

/// Line count, byte count and CRC-32 of a stream, to check a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest {
    lines: u64,
    bytes: u64,
    crc: u32,
}

/// Copies `r` to `w`, digesting what passes.
fn copy_digest(mut r: impl Read, mut w: impl Write) -> io::Result<Digest> {
    let mut crc = flate2::Crc::new();
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        crc.update(chunk);
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        bytes += n as u64;
        w.write_all(chunk)?;
    }
    Ok(Digest {
        lines,
        bytes,
        crc: crc.sum(),
    })
}

/// Gzips `src` (level 6) to `src.gz` atomically: a hidden temp file, fsync, rename, then the
/// result is read back and must match the original's line count and CRC-32 before the original
/// is deleted. `lock` is an open handle of `src` holding its exclusive lock.
pub(super) fn compress_locked(src: &Path, lock: &File) -> Result<Compressed, JournalError> {
    if !same_file(lock, src) {
        return Err(other(src, "gone (compressed by someone else?)"));
    }
    let dir = parent(src);
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dst = gz_path(src);
    let tmp = dir.join(format!(".{name}.gz.tmp"));
    let input = File::open(src).map_err(io_err(src))?;
    let out = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut enc = flate2::write::GzEncoder::new(
        BufWriter::with_capacity(256 * 1024, out),
        flate2::Compression::new(6),
    );
    let written = copy_digest(input, &mut enc).map_err(io_err(src))?;
    let out = enc
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(io_err(&tmp))?;
    out.sync_all().map_err(io_err(&tmp))?;
    drop(out);
    std::fs::rename(&tmp, &dst).map_err(io_err(&tmp))?;
    sync_dir(dir)?;
    let check = File::open(&dst)
        .and_then(|f| {
            copy_digest(
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, f)),
                io::sink(),
            )
        })
        .map_err(io_err(&dst))?;
    if check != written {
        let _ = std::fs::remove_file(&dst);
        return Err(other(
            &dst,
            format!(
                "verification failed ({} lines, crc {:08x} written; {} lines, crc {:08x} read back); original kept",
                written.lines, written.crc, check.lines, check.crc
            ),
        ));
    }
    std::fs::remove_file(src).map_err(io_err(src))?;
    sync_dir(dir)?;
    Ok(Compressed {
        src: src.to_path_buf(),
        dst,
        lines: written.lines,
        bytes: written.bytes,
    })
}

/// Rotated files of `stem` in `dir` still waiting for their compression: a rotation (or a
/// `njord-journal compress`) cut short by a crash leaves the plain file, maybe a partial
/// `.{name}.gz.tmp`, maybe even the finished `.gz` beside it. Compressing the plain file again
/// ([`compress_closed`]) redoes the work over whatever was left; a temporary file whose plain
/// file is gone is removed here.
pub(super) fn unfinished(dir: &Path, stem: &str) -> Result<Vec<PathBuf>, JournalError> {
    let mut plain = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(src) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".gz.tmp"))
        {
            let ours = parse_name(src).is_some_and(|n| n.stem == stem && n.date.is_some());
            if ours && !dir.join(src).exists() {
                std::fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
            }
        } else if parse_name(&name).is_some_and(|n| n.stem == stem && n.date.is_some() && !n.gz) {
            plain.push(entry.path());
        }
    }
    plain.sort();
    Ok(plain)
}

/// Why `njord-journal compress` left a file alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// A writer holds it open.
    InUse,
    /// An idle open journal with no lines.
    Empty,
    /// Gone meanwhile (a writer's own compression finished first).
    Gone,
}

/// Compresses a closed journal. A rotated file (`{stem}.{YYYYMMDD}[.n].ndjson`) is gzipped
/// unless a writer still holds its lock; an idle open journal (`{stem}.ndjson` whose writer
/// has exited) is first renamed to its dated name. Never touches a file a writer has open.
pub fn compress_closed(path: &Path) -> Result<Result<Compressed, Skipped>, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Err(Skipped::Gone)),
        Err(e) => return Err(io_err(path)(e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Err(Skipped::InUse)),
        Err(TryLockError::Error(e)) => return Err(io_err(path)(e)),
    }
    if !same_file(&file, path) {
        return Ok(Err(Skipped::Gone));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = parse_name(&name).ok_or_else(|| other(path, "not a journal name"))?;
    if parsed.gz {
        return Err(other(path, "already compressed"));
    }
    if parsed.date.is_some() {
        return compress_locked(path, &file).map(Ok);
    }
    let len = file.metadata().map_err(io_err(path))?.len();
    if len == 0 {
        return Ok(Err(Skipped::Empty));
    }
    let dir = parent(path);
    let day = first_line_day(path).unwrap_or(0);
    let target = rotated_path(dir, &parsed.stem, day);
    std::fs::rename(path, &target).map_err(io_err(path))?;
    sync_dir(dir)?;
    compress_locked(&target, &file).map(Ok)
}
