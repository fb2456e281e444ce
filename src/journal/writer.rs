//! Journal writers: one appending (and rotating) a journal file under an exclusive lock, and
//! a service's set of them by stem.

use super::compress::{compress_closed, compress_locked, unfinished};
use super::name::rotated_path;
use super::rotation::first_line_day;
use super::{JournalError, Rotation, io_err, other, same_file, sync_dir};
use crate::config::{self, FsyncPolicy};
use crate::event::Event;
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a writer waits for a lock `njord-journal compress` holds while renaming an idle
/// file, before concluding another writer owns the journal.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Opens `path` for appending and locks it exclusively, making sure the locked file is still
/// the one at `path` (a compressor may have renamed it between our open and our lock).
pub(super) fn open_locked(path: &Path) -> Result<File, JournalError> {
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
    /// Lines appended since the last flush: a flush without any is free (the stage runner
    /// flushes before every write of its output).
    dirty: bool,
    /// Bytes appended and not yet added to `njord_journal_written_bytes_total`.
    unreported: u64,
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
            dirty: false,
            unreported: 0,
            compressors: Vec::new(),
        };
        crate::telemetry::journal();
        w.adopt_existing()?;
        if rotation.compress {
            w.finish_compressions()?;
        }
        Ok(w)
    }

    /// Compresses, in the background, the rotated files an earlier run left plain (a crash
    /// mid-compression), so an interrupted rotation is finished by the next start.
    fn finish_compressions(&mut self) -> Result<(), JournalError> {
        let left = unfinished(&self.dir, &self.stem)?;
        if left.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            journal = %self.path.display(),
            files = left.len(),
            "{} rotated file(s) of {} left uncompressed by an earlier run; compressing them",
            left.len(),
            self.stem
        );
        self.compressors.push(std::thread::spawn(move || {
            for f in left {
                match compress_closed(&f) {
                    Ok(Ok(c)) => tracing::info!(journal = %c.dst.display(), lines = c.lines, "compressed {}", c.dst.display()),
                    Ok(Err(skipped)) => tracing::info!(journal = %f.display(), "{}: left alone ({skipped:?})", f.display()),
                    Err(e) => tracing::warn!("{e}; left uncompressed, `njord-journal compress` retries"),
                }
            }
        }));
        Ok(())
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
        self.append_parts(ts_ns, &[line])
    }

    /// [`JournalWriter::append`] of a line given in pieces, written one after the other.
    pub fn append_parts(&mut self, ts_ns: i64, parts: &[&[u8]]) -> Result<(), JournalError> {
        let need = parts.iter().map(|p| p.len() as u64).sum::<u64>() + 1;
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
        for p in parts {
            self.out.write_all(p).map_err(io_err(path))?;
        }
        self.out.write_all(b"\n").map_err(io_err(path))?;
        self.size += need;
        self.unreported += need;
        self.dirty = true;
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
        crate::telemetry::journal().rotations.inc();
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

    /// Ends a batch: hands the lines to the OS (which keeps them if the process is killed),
    /// and to the disk under `fsync: batch`.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if !self.dirty {
            return Ok(());
        }
        match self.fsync {
            FsyncPolicy::Never => {
                self.out.flush().map_err(io_err(&self.path))?;
                self.dirty = false;
                self.report();
                Ok(())
            }
            FsyncPolicy::Batch | FsyncPolicy::Always => self.sync(),
        }
    }

    /// Hands the lines to the disk now, whatever the fsync policy.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.out.flush().map_err(io_err(&self.path))?;
        self.out.get_ref().sync_data().map_err(io_err(&self.path))?;
        self.dirty = false;
        self.report();
        Ok(())
    }

    /// Adds the bytes written since the last report to the journal metrics (once per batch,
    /// not per line).
    fn report(&mut self) {
        crate::telemetry::journal()
            .bytes
            .inc_by(std::mem::take(&mut self.unreported));
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
    /// Every event journaled here is also an audit record ([`Journals::audited`]).
    audited: bool,
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
            audited: false,
        }
    }

    /// Records every event journaled here in the process's audit trail too (when one is
    /// open): the stages whose journals hold their state changes (orders, fills, positions,
    /// allocations) are audited through them.
    pub fn audited(mut self) -> Self {
        self.audited = true;
        self
    }

    /// Appends `ev` to the journal `stem`.
    pub fn append_event(&mut self, stem: &str, ev: &Event<'_>) -> Result<(), JournalError> {
        self.append_event_with(stem, ev, &[])
    }

    /// Appends `ev` to the journal `stem`; its audit record carries `extra` fields too.
    pub fn append_event_with(
        &mut self,
        stem: &str,
        ev: &Event<'_>,
        extra: &[(&str, crate::audit::Field<'_>)],
    ) -> Result<(), JournalError> {
        if !self.writers.contains_key(stem) {
            let w = JournalWriter::open_with(&self.dir, stem, self.fsync, self.rotation)?;
            self.writers.insert(stem.to_string(), w);
        }
        let w = self.writers.get_mut(stem).expect("inserted above");
        w.append_event(ev, &mut self.scratch)?;
        if self.audited {
            // The line just journaled, recorded as it is.
            crate::audit::event(ev, Some(&self.scratch), extra)?;
        }
        Ok(())
    }

    /// Ends a batch on every open journal.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.writers.values_mut().try_for_each(JournalWriter::flush)
    }

    /// Puts what was appended to `stem` on disk now, whatever the fsync policy: for a record
    /// that must survive a crash before the action it announces (the broker's `pending_new`
    /// before an order is sent).
    pub fn sync(&mut self, stem: &str) -> Result<(), JournalError> {
        self.writers
            .get_mut(stem)
            .map_or(Ok(()), JournalWriter::sync)?;
        // The audit record of it too, before the action.
        if self.audited {
            crate::audit::sync()?;
        }
        Ok(())
    }
}
