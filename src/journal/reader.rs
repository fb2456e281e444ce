//! Reading journals line by line, plain or gzip, with the blank-line and torn-line rules every
//! reader of NDJSON shares.

use super::{JournalError, io_err};
use crate::event::{self, Event};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The reason given for a last line without its `\n` that does not decode: a writer crashed
/// mid-line. Every reader words it the same way.
pub fn torn_reason(decode_error: &dyn std::fmt::Display) -> String {
    format!("torn last line (no newline at end of file), skipped: {decode_error}")
}

/// `source` inflated when it is gzip, rendered as lines when it is Parquet or Arrow IPC (each
/// recognised by its magic bytes, whatever the name), as it is otherwise. Plain input is not buffered here, so a caller reading big blocks (the
/// replay) copies each byte once.
pub fn decompressed(mut source: impl Read + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = Vec::with_capacity(crate::research::read::MAGIC_LEN);
    (&mut source)
        .take(crate::research::read::MAGIC_LEN as u64)
        .read_to_end(&mut magic)?;
    let gz = magic.starts_with(&[0x1f, 0x8b]);
    let columnar = crate::research::read::sniff(&magic);
    let raw = io::Cursor::new(magic).chain(source);
    if let Some(format) = columnar {
        // Parquet and Arrow files read as the canonical lines of their rows.
        return crate::research::read::lines(format, raw);
    }
    Ok(if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(256 * 1024, raw),
        ))
    } else {
        Box::new(raw)
    })
}

pub use crate::event::line_text;

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
        let file = match File::open(path) {
            Ok(f) => f,
            // Listed plain, compressed since: a rotated file's `.gz` is complete before the
            // plain file goes, so a reader racing the compressor reads that instead.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && path.extension().is_some_and(|x| x == "ndjson") =>
            {
                let mut gz = path.as_os_str().to_owned();
                gz.push(".gz");
                File::open(Path::new(&gz)).map_err(|_| io_err(path)(e))?
            }
            Err(e) => return Err(io_err(path)(e)),
        };
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

    /// Reads the next line into `buf` (blank ones too): its number, its length without the
    /// `\n` and whether it had one; `None` at the end. A read error (a truncated gzip member)
    /// ends the file.
    fn next_raw(&mut self) -> Option<Result<(u64, usize, bool), LineError>> {
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
        Some(Ok((
            self.lineno,
            self.buf.len() - usize::from(terminated),
            terminated,
        )))
    }

    /// The next non-blank line, `None` at the end. A line that is not UTF-8 or a read error
    /// (a truncated gzip member) is an `Err` naming the file and line.
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, LineError>> {
        loop {
            let (lineno, len, terminated) = match self.next_raw()? {
                Ok(raw) => raw,
                Err(e) => return Some(Err(e)),
            };
            let Some(len) = line_text(&self.buf[..len]).map(<[u8]>::len) else {
                continue;
            };
            return Some(match simdutf8::compat::from_utf8(&self.buf[..len]) {
                Ok(text) => Ok(Line {
                    lineno,
                    text,
                    terminated,
                }),
                Err(e) => Err(LineError {
                    file: self.name.clone(),
                    line: lineno,
                    reason: format!("not UTF-8: {e}"),
                }),
            });
        }
    }

    /// Decodes every line into events with [`Decoder::line`](event::Decoder::line), the
    /// judgement every reader of events shares, calling `on_event` for the good ones and
    /// `on_bad` for each bad one (`file:line: reason`); a torn last line is reported as such.
    pub fn for_each_event(
        &mut self,
        mut on_event: impl FnMut(Event<'_>),
        mut on_bad: impl FnMut(LineError),
    ) {
        let name = self.name.clone();
        let mut decoder = event::Decoder::default();
        while let Some(raw) = self.next_raw() {
            let (lineno, len, terminated) = match raw {
                Ok(raw) => raw,
                Err(e) => {
                    on_bad(e);
                    continue;
                }
            };
            match decoder.line(&self.buf[..len]) {
                None => {}
                Some(Ok((_, ev))) => on_event(ev),
                Some(Err(e)) => on_bad(LineError {
                    file: name.clone(),
                    line: lineno,
                    reason: if terminated { e } else { torn_reason(&e) },
                }),
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
