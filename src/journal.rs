//! Append-only NDJSON journals (DESIGN §5): one event per line, flushed per batch.
//!
//! The writer takes each line's event time so it can rotate by UTC date, and rotates by size
//! too: the open file is always `{stem}.ndjson`; a closed one is renamed
//! `{stem}.{YYYYMMDD}[.{n}].ndjson` (the UTC day of its first line) and gzipped in the
//! background, atomically and verified ([`compress_closed`]). A writer holds an exclusive
//! advisory lock (`flock`) on the file it appends to, so `njord-journal compress` can tell a
//! closed file from an open one. The reader accepts plain and gzip files (detected by their
//! magic bytes), skips blank lines, and reports a torn last line — a crash mid-write — instead
//! of failing on it.

use crate::config::{self, FsyncPolicy};
use crate::event::{self, Event};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// How long a writer waits for a lock `njord-journal compress` holds while renaming an idle
/// file, before concluding another writer owns the journal.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Opens `path` for appending and locks it exclusively, making sure the locked file is still
/// the one at `path` (a compressor may have renamed it between our open and our lock).
fn open_locked(path: &Path) -> Result<File, JournalError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io_err(path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(other(
                    path,
                    "locked by another writer; only one process may append to a journal",
                ));
            }
            Err(TryLockError::Error(e)) => return Err(io_err(path)(e)),
        }
        if same_file(&file, path) {
            return Ok(file);
        }
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

/// The UTC day of the first line of a journal, or of its modification time when the first
/// line has no readable event time.
fn first_line_day(path: &Path) -> Option<i64> {
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

/// `YYYYMMDD` of a UTC day number.
fn day_label(day: i64) -> String {
    let date = time::Date::from_julian_day(2_440_588 + day as i32).unwrap_or(time::Date::MIN);
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The first free rotated name of `stem` for `day`: `{stem}.{YYYYMMDD}.ndjson`, then `.1`, `.2`…
/// A name is taken when the plain file or its `.gz` exists.
fn rotated_path(dir: &Path, stem: &str, day: i64) -> PathBuf {
    let date = day_label(day);
    (0u32..)
        .map(|n| {
            if n == 0 {
                dir.join(format!("{stem}.{date}.ndjson"))
            } else {
                dir.join(format!("{stem}.{date}.{n}.ndjson"))
            }
        })
        .find(|p| !p.exists() && !gz_path(p).exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.{date}.overflow.ndjson")))
}

fn gz_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".gz");
    PathBuf::from(s)
}

/// Appends lines to `{dir}/{stem}.ndjson`, rotating it by UTC date and size.
pub struct JournalWriter {
    dir: PathBuf,
    stem: String,
    path: PathBuf,
    out: BufWriter<File>,
    fsync: FsyncPolicy,
    rotation: Rotation,
    /// Bytes in the open file, buffered ones included.
    size: u64,
    /// UTC day of the open file's first line.
    day: Option<i64>,
    compressors: Vec<JoinHandle<()>>,
}

impl JournalWriter {
    /// Opens (creating directories and the file) `{dir}/{stem}.ndjson` for appending, with the
    /// default rotation.
    pub fn open(dir: &Path, stem: &str, fsync: FsyncPolicy) -> Result<Self, JournalError> {
        Self::open_with(dir, stem, fsync, Rotation::default())
    }

    /// [`JournalWriter::open`] with explicit rotation settings.
    pub fn open_with(
        dir: &Path,
        stem: &str,
        fsync: FsyncPolicy,
        rotation: Rotation,
    ) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(format!("{stem}.ndjson"));
        let file = open_locked(&path)?;
        let mut w = JournalWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            path,
            fsync,
            rotation,
            size: 0,
            day: None,
            compressors: Vec::new(),
        };
        w.adopt_existing()?;
        Ok(w)
    }

    /// Takes over a file left by an earlier run: its size and day, and a newline after a torn
    /// last line so the next line is not glued to it.
    fn adopt_existing(&mut self) -> Result<(), JournalError> {
        let path = &self.path;
        let file = self.out.get_mut();
        let len = file.metadata().map_err(io_err(path))?.len();
        self.size = len;
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8];
        file.seek(SeekFrom::Start(len - 1)).map_err(io_err(path))?;
        file.read_exact(&mut last).map_err(io_err(path))?;
        if last[0] != b'\n' {
            tracing::warn!(journal = %path.display(), "journal {} ends with a torn line (crash mid-write?); it is kept and terminated", path.display());
            file.write_all(b"\n").map_err(io_err(path))?;
            self.size += 1;
        }
        self.day = first_line_day(path);
        Ok(())
    }

    /// The file being appended to: `{dir}/{stem}.ndjson`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (without its `\n`); `ts_ns` is the event time the line belongs to and
    /// decides date rotation.
    pub fn append(&mut self, ts_ns: i64, line: &[u8]) -> Result<(), JournalError> {
        let need = line.len() as u64 + 1;
        let day = crate::time::utc_day(ts_ns);
        if self.size > 0 {
            let new_day = self.rotation.daily && self.day.is_some_and(|d| day > d);
            let full = self.rotation.max_bytes > 0 && self.size + need > self.rotation.max_bytes;
            if new_day || full {
                self.rotate()?;
            }
        }
        if self.size == 0 {
            self.day = Some(day);
        }
        let path = &self.path;
        self.out.write_all(line).map_err(io_err(path))?;
        self.out.write_all(b"\n").map_err(io_err(path))?;
        self.size += need;
        if self.fsync == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(())
    }

    /// Closes the open file under its dated name and starts a new one; the closed file is
    /// gzipped on a background thread that keeps its lock until done.
    fn rotate(&mut self) -> Result<(), JournalError> {
        self.sync()?;
        let day = self.day.unwrap_or(0);
        let target = rotated_path(&self.dir, &self.stem, day);
        std::fs::rename(&self.path, &target).map_err(io_err(&self.path))?;
        sync_dir(&self.dir)?;
        let fresh = open_locked(&self.path)?;
        let old = std::mem::replace(&mut self.out, BufWriter::with_capacity(64 * 1024, fresh));
        self.size = 0;
        self.day = None;
        tracing::info!(journal = %target.display(), "rotated {}", target.display());
        let old = old
            .into_inner()
            .map_err(|e| io_err(&target)(e.into_error()))?;
        if self.rotation.compress {
            self.compressors.retain(|h| !h.is_finished());
            self.compressors.push(std::thread::spawn(move || {
                match compress_locked(&target, &old) {
                    Ok(c) => tracing::info!(journal = %c.dst.display(), lines = c.lines, "compressed {}", c.dst.display()),
                    Err(e) => tracing::warn!("{e}; left uncompressed, `njord-journal compress` retries"),
                }
                drop(old);
            }));
        }
        Ok(())
    }

    /// Appends an event as one line.
    pub fn append_event(
        &mut self,
        ev: &Event<'_>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), JournalError> {
        scratch.clear();
        ev.write_line(scratch);
        scratch.pop();
        self.append(ev.ts_ns(), scratch)
    }

    /// Ends a batch: hands the lines to the OS, and to the disk under `fsync: batch`.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        match self.fsync {
            FsyncPolicy::Never => self.out.flush().map_err(io_err(&self.path)),
            FsyncPolicy::Batch | FsyncPolicy::Always => self.sync(),
        }
    }

    fn sync(&mut self) -> Result<(), JournalError> {
        self.out.flush().map_err(io_err(&self.path))?;
        self.out.get_ref().sync_data().map_err(io_err(&self.path))
    }
}

impl Drop for JournalWriter {
    /// Flushes, and waits for background compressions so none is cut short at exit.
    fn drop(&mut self) {
        let _ = self.out.flush();
        for h in self.compressors.drain(..) {
            let _ = h.join();
        }
    }
}

/// A service's journals by stem (`fills.ATOMUSDT`, `risk.decisions`), opened on first use.
pub struct Journals {
    dir: PathBuf,
    fsync: FsyncPolicy,
    rotation: Rotation,
    writers: HashMap<String, JournalWriter>,
    scratch: Vec<u8>,
}

impl Journals {
    /// Journals as configured under `journal` (directory, fsync, rotation).
    pub fn from_config(j: &config::Journal) -> Self {
        Self::with_rotation(j.dir.clone(), j.fsync, Rotation::from_config(j))
    }

    pub fn with_rotation(dir: impl Into<PathBuf>, fsync: FsyncPolicy, rotation: Rotation) -> Self {
        Journals {
            dir: dir.into(),
            fsync,
            rotation,
            writers: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Appends `ev` to the journal `stem`.
    pub fn append_event(&mut self, stem: &str, ev: &Event<'_>) -> Result<(), JournalError> {
        if !self.writers.contains_key(stem) {
            let w = JournalWriter::open_with(&self.dir, stem, self.fsync, self.rotation)?;
            self.writers.insert(stem.to_string(), w);
        }
        let w = self.writers.get_mut(stem).expect("inserted above");
        w.append_event(ev, &mut self.scratch)
    }

    /// Ends a batch on every open journal.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.writers.values_mut().try_for_each(JournalWriter::flush)
    }
}

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
fn compress_locked(src: &Path, lock: &File) -> Result<Compressed, JournalError> {
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

/// A journal file name taken apart: `{stem}[.{YYYYMMDD}[.{n}]].ndjson[.gz]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalName {
    pub stem: String,
    /// `YYYYMMDD` of a rotated file; `None` for the open one.
    pub date: Option<u32>,
    /// Sequence within a day (0 for the first file).
    pub n: u32,
    pub gz: bool,
}

impl JournalName {
    /// Position within its series: dated files by date and number, the open file last.
    fn order(&self) -> (bool, u32, u32) {
        (self.date.is_none(), self.date.unwrap_or(0), self.n)
    }
}

/// Parses a journal file name; `None` for anything else (temp files, other names).
pub fn parse_name(name: &str) -> Option<JournalName> {
    let (base, gz) = match name.strip_suffix(".gz") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let base = base.strip_suffix(".ndjson")?;
    if base.is_empty() || base.starts_with('.') {
        return None;
    }
    let is_date = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
    let is_num = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = base.rsplitn(3, '.').collect();
    let named = |stem: &str, date: &str, n: u32| JournalName {
        stem: stem.to_string(),
        date: date.parse().ok(),
        n,
        gz,
    };
    match parts.as_slice() {
        [n, date, stem] if is_num(n) && is_date(date) => Some(named(stem, date, n.parse().ok()?)),
        [date, rest @ ..] if is_date(date) && !rest.is_empty() => {
            let stem = &base[..base.len() - date.len() - 1];
            Some(named(stem, date, 0))
        }
        _ => Some(JournalName {
            stem: base.to_string(),
            date: None,
            n: 0,
            gz,
        }),
    }
}

/// One journal's files in order: rotated ones by date and number, then the open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// `{dir}/{stem}`, for messages.
    pub name: String,
    pub files: Vec<PathBuf>,
}

/// Orders `(name, path)` pairs of one stem; when a file exists both plain and gzipped (a
/// compression cut short), the plain one is kept.
fn order_series(mut files: Vec<(JournalName, PathBuf)>) -> Vec<PathBuf> {
    files.sort_by_key(|(n, _)| (n.order(), n.gz));
    files.dedup_by(|b, a| a.0.order() == b.0.order());
    files.into_iter().map(|(_, p)| p).collect()
}

/// Every journal series in `dir`, by stem.
pub fn list_dir(dir: &Path) -> Result<Vec<Series>, JournalError> {
    let mut by_stem: std::collections::BTreeMap<String, Vec<(JournalName, PathBuf)>> =
        Default::default();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = parse_name(&name)
            && entry.file_type().map(|t| t.is_file()).unwrap_or(false)
        {
            by_stem
                .entry(n.stem.clone())
                .or_default()
                .push((n, entry.path()));
        }
    }
    Ok(by_stem
        .into_iter()
        .map(|(stem, files)| Series {
            name: dir.join(stem).display().to_string(),
            files: order_series(files),
        })
        .collect())
}

/// Resolves command-line paths to series, in argument order: a directory gives every series
/// in it, a path that is not a file names a stem (`var/log/njord/md.trades.ATOMUSDT`), and
/// files are grouped by stem and put in series order, whatever order the shell globbed them in.
pub fn resolve(paths: &[PathBuf]) -> Result<Vec<Series>, JournalError> {
    let mut out: Vec<Series> = Vec::new();
    // Named files of each stem, by position in `out`.
    let mut named: Vec<(usize, Vec<(JournalName, PathBuf)>)> = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(list_dir(p)?);
        } else if p.is_file() {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let parsed = parse_name(&name).unwrap_or(JournalName {
                stem: name.clone(),
                date: None,
                n: 0,
                gz: false,
            });
            let key = parent(p).join(&parsed.stem).display().to_string();
            match named.iter_mut().find(|(i, _)| out[*i].name == key) {
                Some((_, v)) => v.push((parsed, p.clone())),
                None => {
                    named.push((out.len(), vec![(parsed, p.clone())]));
                    out.push(Series {
                        name: key,
                        files: Vec::new(),
                    });
                }
            }
        } else {
            let stem = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = stem.strip_suffix(".ndjson").unwrap_or(&stem).to_string();
            let dir = parent(p);
            let want = dir.join(&stem).display().to_string();
            let found: Vec<Series> = if dir.is_dir() {
                list_dir(dir)?
                    .into_iter()
                    .filter(|s| s.name == want)
                    .collect()
            } else {
                Vec::new()
            };
            if found.is_empty() {
                return Err(other(
                    p,
                    "no such file, directory or journal stem (expected e.g. var/log/njord/md.trades.ATOMUSDT)",
                ));
            }
            out.extend(found);
        }
    }
    for (i, mut files) in named {
        // Every file the user named is kept, even two at the same position.
        files.sort_by_key(|(n, _)| (n.order(), n.gz));
        out[i].files = files.into_iter().map(|(_, p)| p).collect();
    }
    Ok(out)
}

/// The reason given for a last line without its `\n` that does not decode: a writer crashed
/// mid-line. Every reader words it the same way.
pub fn torn_reason(decode_error: &dyn std::fmt::Display) -> String {
    format!("torn last line (no newline at end of file), skipped: {decode_error}")
}

/// `source` inflated when it is gzip (recognised by its magic bytes, whatever the name), as
/// it is otherwise. Plain input is not buffered here, so a caller reading big blocks (the
/// replay) copies each byte once.
pub fn decompressed(mut source: impl Read + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = Vec::with_capacity(2);
    (&mut source).take(2).read_to_end(&mut magic)?;
    let gz = magic == [0x1f, 0x8b];
    let raw = io::Cursor::new(magic).chain(source);
    Ok(if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(256 * 1024, raw),
        ))
    } else {
        Box::new(raw)
    })
}

/// A line's text (without its `\n`) less a trailing `\r`; `None` for a blank line, which
/// every reader of NDJSON skips.
pub fn line_text(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

/// One non-blank line of a journal.
#[derive(Debug)]
pub struct Line<'a> {
    /// 1-based line number in the (decompressed) file.
    pub lineno: u64,
    pub text: &'a str,
    /// False for a last line without `\n`: possibly torn by a crash mid-write.
    pub terminated: bool,
}

/// Reads a journal line by line; plain or gzip.
pub struct JournalReader {
    name: String,
    inner: Box<dyn BufRead + Send>,
    lineno: u64,
    buf: Vec<u8>,
    /// A read error ends the file: a broken gzip stream cannot be resynchronised.
    failed: bool,
}

/// Why a line of a journal could not be read: `file:line: reason`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct LineError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl JournalReader {
    /// Opens a file; gzip is recognised by its magic bytes, whatever the name.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = File::open(path).map_err(io_err(path))?;
        Self::sniff(path.display().to_string(), file).map_err(io_err(path))
    }

    /// Reads any source (stdin), named `name` in messages; gzip recognised by magic bytes.
    pub fn sniff(name: impl Into<String>, source: impl Read + Send + 'static) -> io::Result<Self> {
        let inner = BufReader::with_capacity(256 * 1024, decompressed(source)?);
        Ok(Self::from_reader(name, Box::new(inner)))
    }

    /// Reads from any buffered source (stdin), named `name` in messages.
    pub fn from_reader(name: impl Into<String>, inner: Box<dyn BufRead + Send>) -> Self {
        JournalReader {
            name: name.into(),
            inner,
            lineno: 0,
            buf: Vec::with_capacity(1024),
            failed: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next non-blank line, `None` at the end. A line that is not UTF-8 or a read error
    /// (a truncated gzip member) is an `Err` naming the file and line.
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, LineError>> {
        loop {
            if self.failed {
                return None;
            }
            self.buf.clear();
            match self.inner.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(LineError {
                        file: self.name.clone(),
                        line: self.lineno + 1,
                        reason: format!("read error: {e}"),
                    }));
                }
            }
            self.lineno += 1;
            let terminated = self.buf.last() == Some(&b'\n');
            let body = &self.buf[..self.buf.len() - usize::from(terminated)];
            let Some(len) = line_text(body).map(<[u8]>::len) else {
                continue;
            };
            return Some(match simdutf8::compat::from_utf8(&self.buf[..len]) {
                Ok(text) => Ok(Line {
                    lineno: self.lineno,
                    text,
                    terminated,
                }),
                Err(e) => Err(LineError {
                    file: self.name.clone(),
                    line: self.lineno,
                    reason: format!("not UTF-8: {e}"),
                }),
            });
        }
    }

    /// Decodes every line into events, calling `on_event` for the good ones and `on_bad` for
    /// each bad one (`file:line: reason`); a torn last line is reported as such.
    pub fn for_each_event(
        &mut self,
        mut on_event: impl FnMut(Event<'_>),
        mut on_bad: impl FnMut(LineError),
    ) {
        let name = self.name.clone();
        while let Some(line) = self.next_line() {
            match line {
                Ok(l) => match event::decode(l.text) {
                    Ok(ev) => on_event(ev),
                    Err(e) => on_bad(LineError {
                        file: name.clone(),
                        line: l.lineno,
                        reason: if l.terminated {
                            e.to_string()
                        } else {
                            torn_reason(&e)
                        },
                    }),
                },
                Err(e) => on_bad(e),
            }
        }
    }
}

impl JournalReader {
    /// Reads whole lines, about `target` bytes of them, into `buf` (cleared first), for
    /// callers that validate blocks in parallel. Returns the number of the block's first line,
    /// or `None` at the end. Only the very last line of the input can lack its `\n`.
    pub fn next_block(
        &mut self,
        buf: &mut Vec<u8>,
        target: usize,
    ) -> Result<Option<u64>, LineError> {
        buf.clear();
        let err = |me: &Self, e: io::Error| LineError {
            file: me.name.clone(),
            line: me.lineno + 1,
            reason: format!("read error: {e}"),
        };
        while buf.len() < target {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) => return Err(err(self, e)),
            };
            if avail.is_empty() {
                break;
            }
            let take = avail.len().min(target - buf.len());
            buf.extend_from_slice(&avail[..take]);
            self.inner.consume(take);
        }
        if buf.last().is_some_and(|b| *b != b'\n')
            && let Err(e) = self.inner.read_until(b'\n', buf)
        {
            return Err(err(self, e));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let first = self.lineno + 1;
        let newlines = memchr::memchr_iter(b'\n', buf).count() as u64;
        self.lineno += newlines + u64::from(buf.last() != Some(&b'\n'));
        Ok(Some(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};

    const T: &str = r#"{"kind":"trade","symbol":"A/B","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":1}"#;

    fn collect(path: &Path) -> (usize, Vec<String>) {
        let mut r = JournalReader::open(path).unwrap();
        let (mut good, mut bad) = (0, vec![]);
        r.for_each_event(|_| good += 1, |e| bad.push(e.to_string()));
        (good, bad)
    }

    #[test]
    fn writer_appends_and_reader_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let ev = event::decode(T).unwrap();
        let mut j = Journals::with_rotation(
            dir.path().join("deep/er"),
            FsyncPolicy::Batch,
            Rotation::default(),
        );
        j.append_event("md.trades.AB", &ev).unwrap();
        j.append_event("md.trades.AB", &ev).unwrap();
        j.flush().unwrap();
        let p = dir.path().join("deep/er/md.trades.AB.ndjson");
        assert_eq!(collect(&p), (2, vec![]));
    }

    #[test]
    fn torn_last_line_blank_lines_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.ndjson");
        std::fs::write(
            &p,
            format!("{T}\n\n   \n{{\"kind\":\"zap\"}}\n{T}\n{{\"kind\":\"tra"),
        )
        .unwrap();
        let (good, bad) = collect(&p);
        assert_eq!(good, 2);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].ends_with("j.ndjson:4: unknown kind `zap`"),
            "{bad:?}"
        );
        assert!(bad[1].contains("j.ndjson:6: torn last line"), "{bad:?}");
    }

    fn trade_at(ts: i64, id: u64) -> String {
        format!(
            r#"{{"kind":"trade","symbol":"A/B","trade_id":"{id}","price":1,"qty":1,"side":"buy","ts_ns":{ts}}}"#
        )
    }

    const DAY: i64 = crate::time::NS_PER_DAY;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Every line of a series, in order.
    fn series_lines(dir: &Path, stem: &str) -> Vec<String> {
        let series = resolve(&[dir.join(stem)]).unwrap();
        let mut lines = vec![];
        for f in &series[0].files {
            let mut r = JournalReader::open(f).unwrap();
            while let Some(l) = r.next_line() {
                lines.push(l.unwrap().text.to_string());
            }
        }
        lines
    }

    #[test]
    fn rotates_by_day_and_size_and_compresses() {
        let dir = tempfile::tempdir().unwrap();
        let rot = Rotation {
            max_bytes: 300,
            daily: true,
            compress: true,
        };
        let t0 = 20_454 * DAY; // 2026-01-01
        let mut w = JournalWriter::open_with(dir.path(), "md.t", FsyncPolicy::Never, rot).unwrap();
        let mut want = vec![];
        for (i, ts) in [
            t0,
            t0 + 1,
            t0 + 2,
            t0 + 3,
            t0 + DAY,
            t0 + DAY - 5,
            t0 + 2 * DAY,
        ]
        .into_iter()
        .enumerate()
        {
            let l = trade_at(ts, i as u64);
            w.append(ts, l.as_bytes()).unwrap();
            want.push(l);
        }
        drop(w);
        assert_eq!(
            names(dir.path()),
            [
                "md.t.20260101.1.ndjson.gz",
                "md.t.20260101.ndjson.gz",
                "md.t.20260102.ndjson.gz",
                "md.t.ndjson"
            ]
        );
        assert_eq!(
            series_lines(dir.path(), "md.t"),
            want,
            "in order, nothing lost"
        );
    }

    #[test]
    fn names_parse_and_order() {
        let n = parse_name("ohlcv.1m.ATOMUSDT.20260101.2.ndjson.gz").unwrap();
        assert_eq!(
            (n.stem.as_str(), n.date, n.n, n.gz),
            ("ohlcv.1m.ATOMUSDT", Some(20260101), 2, true)
        );
        let n = parse_name("md.trades.X.20260101.ndjson").unwrap();
        assert_eq!(
            (n.stem.as_str(), n.date, n.n),
            ("md.trades.X", Some(20260101), 0)
        );
        let n = parse_name("md.trades.X.ndjson").unwrap();
        assert_eq!((n.stem.as_str(), n.date), ("md.trades.X", None));
        assert!(parse_name(".md.t.ndjson.gz.tmp").is_none());
        assert!(parse_name(".md.t.ndjson").is_none());
        assert_eq!(day_label(20_454), "20260101");

        let dir = tempfile::tempdir().unwrap();
        for f in [
            "s.ndjson",
            "s.20260102.ndjson",
            "s.20260101.1.ndjson",
            "s.20260101.ndjson.gz",
            "t.ndjson",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let got: Vec<String> = resolve(&[
            dir.path().join("s.20260102.ndjson"),
            dir.path().join("s.ndjson"),
            dir.path().join("s.20260101.1.ndjson"),
            dir.path().join("s.20260101.ndjson.gz"),
        ])
        .unwrap()[0]
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "s.20260101.ndjson.gz",
                "s.20260101.1.ndjson",
                "s.20260102.ndjson",
                "s.ndjson"
            ]
        );
        let all = resolve(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].files.len(), 4);
        assert!(resolve(&[dir.path().join("nope")]).is_err());
    }

    #[test]
    fn writer_terminates_a_torn_last_line_and_keeps_its_day() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.ndjson");
        let t0 = 20_454 * DAY;
        std::fs::write(&p, format!("{}\n{{\"kind\":\"tra", trade_at(t0, 1))).unwrap();
        let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
        w.append(t0, trade_at(t0, 2).as_bytes()).unwrap();
        drop(w);
        let (good, bad) = collect(&p);
        assert_eq!((good, bad.len()), (2, 1), "{bad:?}");
        let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
        w.append(t0 + DAY, trade_at(t0 + DAY, 3).as_bytes())
            .unwrap();
        drop(w);
        assert!(
            dir.path().join("j.20260101.ndjson.gz").exists(),
            "{:?}",
            names(dir.path())
        );
    }

    #[test]
    fn one_writer_per_journal_and_compress_skips_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
        w.append(0, trade_at(0, 1).as_bytes()).unwrap();
        w.flush().unwrap();
        assert_eq!(compress_closed(w.path()).unwrap(), Err(Skipped::InUse));
        let p = w.path().to_path_buf();
        drop(w);
        let c = compress_closed(&p).unwrap().unwrap();
        assert_eq!(c.lines, 1);
        assert_eq!(names(dir.path()), ["j.19700101.ndjson.gz"]);
    }

    #[test]
    fn compression_under_a_concurrent_writer_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let rot = Rotation {
            max_bytes: 2_000,
            daily: true,
            compress: true,
        };
        let n = 3_000u64;
        let writer = std::thread::spawn(move || {
            let mut w = JournalWriter::open_with(&d, "c", FsyncPolicy::Never, rot).unwrap();
            for i in 0..n {
                let ts = i as i64 * (DAY / 700);
                w.append(ts, trade_at(ts, i).as_bytes()).unwrap();
                if i % 50 == 0 {
                    w.flush().unwrap();
                }
            }
        });
        let mut compressed = 0;
        while !writer.is_finished() {
            for s in list_dir(dir.path()).unwrap() {
                for f in s.files {
                    if f.extension().is_some_and(|e| e == "ndjson")
                        && let Ok(Ok(_)) = compress_closed(&f)
                    {
                        compressed += 1;
                    }
                }
            }
        }
        writer.join().unwrap();
        let got = series_lines(dir.path(), "c");
        let want: Vec<String> = (0..n)
            .map(|i| trade_at(i as i64 * (DAY / 700), i))
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "compressed by the checker: {compressed}"
        );
        assert!(got == want, "lines lost, duplicated or reordered");
        assert!(names(dir.path()).iter().all(|n| !n.contains(".tmp")));
    }

    #[test]
    fn reads_gzip_whatever_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.ndjson.gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        writeln!(enc, "{T}\n{T}").unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        assert_eq!(collect(&p), (2, vec![]));
    }
}
