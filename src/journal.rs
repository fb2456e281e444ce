//! Append-only NDJSON journals (DESIGN §5): one event per line, flushed per batch.
//!
//! The writer takes each line's event time so date rotation can be added without changing its
//! callers. The reader accepts plain and gzip files (detected by their magic bytes), skips blank
//! lines, and reports a torn last line — a crash mid-write — instead of failing on it.

use crate::config::FsyncPolicy;
use crate::event::{self, Event};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: String, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Appends lines to `{dir}/{stem}.ndjson`.
pub struct JournalWriter {
    path: PathBuf,
    out: BufWriter<File>,
    fsync: FsyncPolicy,
}

impl JournalWriter {
    /// Opens (creating directories and the file) `{dir}/{stem}.ndjson` for appending.
    pub fn open(dir: &Path, stem: &str, fsync: FsyncPolicy) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(format!("{stem}.ndjson"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(JournalWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            path,
            fsync,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (without its `\n`). `_ts_ns` is the event time the line belongs to.
    pub fn append(&mut self, _ts_ns: i64, line: &[u8]) -> Result<(), JournalError> {
        let path = &self.path;
        self.out.write_all(line).map_err(io_err(path))?;
        self.out.write_all(b"\n").map_err(io_err(path))?;
        if self.fsync == FsyncPolicy::Always {
            self.sync()?;
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
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// A service's journals by stem (`fills.ATOMUSDT`, `risk.decisions`), opened on first use.
pub struct Journals {
    dir: PathBuf,
    fsync: FsyncPolicy,
    writers: HashMap<String, JournalWriter>,
    scratch: Vec<u8>,
}

impl Journals {
    pub fn new(dir: impl Into<PathBuf>, fsync: FsyncPolicy) -> Self {
        Journals {
            dir: dir.into(),
            fsync,
            writers: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Appends `ev` to the journal `stem`.
    pub fn append_event(&mut self, stem: &str, ev: &Event<'_>) -> Result<(), JournalError> {
        if !self.writers.contains_key(stem) {
            let w = JournalWriter::open(&self.dir, stem, self.fsync)?;
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
        let mut buffered = BufReader::with_capacity(256 * 1024, source);
        let gz = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::bufread::MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        Ok(Self::from_reader(name, inner))
    }

    /// Reads from any buffered source (stdin), named `name` in messages.
    pub fn from_reader(name: impl Into<String>, inner: Box<dyn BufRead + Send>) -> Self {
        JournalReader {
            name: name.into(),
            inner,
            lineno: 0,
            buf: Vec::with_capacity(1024),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next non-blank line, `None` at the end. A line that is not UTF-8 or a read error
    /// (a truncated gzip member) is an `Err` naming the file and line.
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, LineError>> {
        loop {
            self.buf.clear();
            match self.inner.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(LineError {
                        file: self.name.clone(),
                        line: self.lineno + 1,
                        reason: format!("read error: {e}"),
                    }));
                }
            }
            self.lineno += 1;
            let terminated = self.buf.last() == Some(&b'\n');
            let mut end = self.buf.len() - usize::from(terminated);
            if end > 0 && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(match std::str::from_utf8(&self.buf[..end]) {
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
                            format!("torn last line (no newline at end of file), skipped: {e}")
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
        let mut j = Journals::new(dir.path().join("deep/er"), FsyncPolicy::Batch);
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
