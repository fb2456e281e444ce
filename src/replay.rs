//! Replaying journals (seed 4.3): the reading and merging `njord-replay` and the backtester
//! share.
//!
//! [`Replay`] opens journals — plain or gzip, single files or whole rotated series — and yields
//! their events merged by event time. Ties keep source order (the order the sources were
//! given), and each source keeps its own line order, so the output is deterministic. Each
//! [`Item`] carries the decoded event, borrowed from the line, together with the line's
//! original text, so a replay to stdout writes the journal bytes unchanged and a backtester
//! gets typed events without re-encoding. Bad lines come out as [`LineError`]s
//! (`file:line: reason`) and the replay goes on.
//!
//! Pacing is a pure schedule ([`Pacer`]) driven by an injected [`Clock`], so tests need no
//! sleeping.

use crate::event::{self, Decoder, Event, Kind};
use crate::journal::{self, JournalError, LineError, Series};
use std::collections::VecDeque;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which events a replay yields. Time bounds are half-open: `from <= ts < to`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Symbols as written in events (`ATOM/USDT`); empty: all. Events without a symbol are
    /// excluded when this is set.
    pub symbols: Vec<String>,
    /// Kinds; empty: all.
    pub kinds: Vec<Kind>,
}

impl Filter {
    fn needs_ts(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    fn time_ok(&self, ts: i64) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    fn kind_ok(&self, k: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&k)
    }

    fn symbol_ok(&self, s: Option<&str>) -> bool {
        self.symbols.is_empty() || s.is_some_and(|s| self.symbols.iter().any(|x| x == s))
    }

    /// Whether `ev` passes every condition.
    pub fn accepts(&self, ev: &Event<'_>) -> bool {
        self.kind_ok(ev.kind()) && self.time_ok(ev.ts_ns()) && self.symbol_ok(ev.symbol())
    }
}

/// One replayed event.
#[derive(Debug)]
pub struct Item<'a> {
    pub event: Event<'a>,
    /// The journal line as written, without its `\n`.
    pub line: &'a str,
    /// The file the line came from and its 1-based number there.
    pub file: &'a str,
    pub lineno: u64,
    /// Index of the source (series) it came from, in the order given.
    pub source: usize,
}

/// Counts of a replay so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Non-blank lines read.
    pub lines: u64,
    /// Events yielded.
    pub events: u64,
    /// Lines left out by the filter.
    pub filtered: u64,
    /// Bad lines and unreadable files reported.
    pub bad: u64,
}

/// A reader that counts the (compressed) bytes it hands on, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The head line was consumed (or none read yet).
    Advance,
    /// A line waits, with its event time when the merge needs it.
    Head(i64),
    Done,
}

/// One series being read. Its head line stays where the reading thread put it (a chunk of
/// whole lines) and is decoded in place: no line is ever copied.
struct Cursor {
    files: VecDeque<PathBuf>,
    /// The open file's chunks, or `None` between files.
    chunks: Option<ChunkSource>,
    chunk: Vec<u8>,
    /// The first unread byte of `chunk`.
    pos: usize,
    /// The head line in `chunk`, without its `\n` (or `\r\n`).
    head: Range<usize>,
    decoder: Decoder,
    file: String,
    lineno: u64,
    state: State,
}

impl Cursor {
    /// The next non-blank line of the open file and whether it ended with `\n`; `None` at the
    /// end of the file. Lines are numbered as the file counts them, blank ones included.
    fn next_line(&mut self) -> Option<Result<bool, LineError>> {
        loop {
            if self.pos >= self.chunk.len() {
                let src = self.chunks.as_ref()?;
                match src.rx.recv() {
                    Ok(Ok(chunk)) => {
                        let used = std::mem::replace(&mut self.chunk, chunk);
                        let _ = src.recycle.try_send(used);
                        self.pos = 0;
                        continue;
                    }
                    Ok(Err(e)) => {
                        self.chunks = None;
                        return Some(Err(LineError {
                            file: self.file.clone(),
                            line: self.lineno + 1,
                            reason: format!("read error: {e}"),
                        }));
                    }
                    Err(_) => {
                        self.chunks = None;
                        return None;
                    }
                }
            }
            let start = self.pos;
            let rest = &self.chunk[start..];
            let (len, terminated) = match memchr::memchr(b'\n', rest) {
                Some(n) => (n, true),
                None => (rest.len(), false),
            };
            self.pos = start + len + usize::from(terminated);
            self.lineno += 1;
            let Some(text) = journal::line_text(&self.chunk[start..start + len]) else {
                continue;
            };
            self.head = start..start + text.len();
            return Some(Ok(terminated));
        }
    }
}

/// Merged events of several journals; see the module docs.
pub struct Replay {
    cursors: Vec<Cursor>,
    filter: Filter,
    /// The merge needs every head's event time only with several sources.
    merge: bool,
    stats: ReplayStats,
    bytes_read: Arc<AtomicU64>,
    bytes_total: u64,
}

impl Replay {
    /// Opens files, directories and stems (see [`journal::resolve`]).
    pub fn open(paths: &[PathBuf], filter: Filter) -> Result<Replay, JournalError> {
        Ok(Replay::from_series(journal::resolve(paths)?, filter))
    }

    /// Replays series as given: each is one source, read file after file.
    pub fn from_series(series: Vec<Series>, filter: Filter) -> Replay {
        let bytes_total = series
            .iter()
            .flat_map(|s| &s.files)
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let merge = series.len() > 1;
        Replay {
            cursors: series
                .into_iter()
                .map(|s| Cursor {
                    files: s.files.into(),
                    chunks: None,
                    chunk: Vec::new(),
                    pos: 0,
                    head: 0..0,
                    decoder: Decoder::default(),
                    file: String::new(),
                    lineno: 0,
                    state: State::Advance,
                })
                .collect(),
            filter,
            merge,
            stats: ReplayStats::default(),
            bytes_read: Arc::new(AtomicU64::new(0)),
            bytes_total,
        }
    }

    pub fn stats(&self) -> ReplayStats {
        self.stats
    }

    /// Bytes read from the files so far (compressed size for gzip) and their total size.
    pub fn progress(&self) -> (u64, u64) {
        (self.bytes_read.load(Ordering::Relaxed), self.bytes_total)
    }

    /// The next event in merged order, a bad line (`file:line: reason`) to report, or `None`
    /// at the end. A lending iterator: the item borrows the replay until the next call.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Item<'_>, LineError>> {
        for i in 0..self.cursors.len() {
            if self.cursors[i].state == State::Advance
                && let Err(e) = self.advance(i)
            {
                self.stats.bad += 1;
                return Some(Err(e));
            }
        }
        let mut best: Option<(i64, usize)> = None;
        for (i, c) in self.cursors.iter().enumerate() {
            if let State::Head(ts) = c.state
                && best.is_none_or(|(b, _)| ts < b)
            {
                best = Some((ts, i));
            }
        }
        let (_, i) = best?;
        let c = &mut self.cursors[i];
        c.state = State::Advance;
        let Cursor {
            chunk,
            head,
            decoder,
            file,
            lineno,
            ..
        } = c;
        match decoder.line(&chunk[head.clone()]) {
            Some(Ok((line, event))) => {
                self.stats.events += 1;
                Some(Ok(Item {
                    event,
                    line,
                    file,
                    lineno: *lineno,
                    source: i,
                }))
            }
            // `advance` only stops at a line that is not blank.
            None => None,
            Some(Err(reason)) => {
                self.stats.bad += 1;
                Some(Err(LineError {
                    file: file.clone(),
                    line: *lineno,
                    reason,
                }))
            }
        }
    }

    /// Reads cursor `i` up to its next line that passes the filter (as far as can be told
    /// without a full decode, which happens once, when the line is yielded).
    fn advance(&mut self, i: usize) -> Result<(), LineError> {
        let filter = &self.filter;
        let c = &mut self.cursors[i];
        loop {
            if c.chunks.is_none() {
                let Some(path) = c.files.pop_front() else {
                    c.state = State::Done;
                    return Ok(());
                };
                c.file = path.display().to_string();
                c.lineno = 0;
                // A rotated file may have been compressed since the series was listed.
                let opened = ChunkSource::open(&path, &self.bytes_read).or_else(|e| {
                    let gz = PathBuf::from(format!("{}.gz", path.display()));
                    if e.kind() == io::ErrorKind::NotFound && gz.is_file() {
                        c.file = gz.display().to_string();
                        ChunkSource::open(&gz, &self.bytes_read)
                    } else {
                        Err(e)
                    }
                });
                match opened {
                    Ok(src) => c.chunks = Some(src),
                    Err(e) => {
                        return Err(LineError {
                            file: c.file.clone(),
                            line: 0,
                            reason: format!("cannot open: {e}"),
                        });
                    }
                }
                continue;
            }
            let terminated = match c.next_line() {
                None => continue,
                Some(r) => r?,
            };
            self.stats.lines += 1;
            if !terminated {
                // A torn last line (crash mid-write) is reported, never half-replayed.
                if let Some(Err(e)) = event::judge_line(&c.chunk[c.head.clone()]) {
                    return Err(LineError {
                        file: c.file.clone(),
                        line: c.lineno,
                        reason: crate::journal::torn_reason(&e),
                    });
                }
            }
            let needs_ts = self.merge || filter.needs_ts();
            let plain = filter.symbols.is_empty();
            let head = if plain {
                header(&c.chunk[c.head.clone()], needs_ts, !filter.kinds.is_empty())
            } else {
                None
            };
            let (kind, ts) = match head {
                Some(h) => (h.kind, h.ts),
                None => match event::judge_line(&c.chunk[c.head.clone()])
                    .unwrap_or_else(|| Err("blank line".into()))
                {
                    Ok((_, ev)) => {
                        if !filter.symbol_ok(ev.symbol()) {
                            self.stats.filtered += 1;
                            continue;
                        }
                        (Some(ev.kind()), Some(ev.ts_ns()))
                    }
                    Err(reason) => {
                        return Err(LineError {
                            file: c.file.clone(),
                            line: c.lineno,
                            reason,
                        });
                    }
                },
            };
            if kind.is_some_and(|k| !filter.kind_ok(k)) || ts.is_some_and(|t| !filter.time_ok(t)) {
                self.stats.filtered += 1;
                continue;
            }
            c.state = State::Head(ts.unwrap_or(0));
            return Ok(());
        }
    }

    /// Calls `f` for every event and `bad` for every bad line, in merged order.
    pub fn for_each(&mut self, mut f: impl FnMut(Item<'_>), mut bad: impl FnMut(LineError)) {
        while let Some(r) = self.next() {
            match r {
                Ok(item) => f(item),
                Err(e) => bad(e),
            }
        }
    }
}

/// [`Replay`] as a standard iterator of owned events, for callers that keep events or want
/// iterator adapters; costs an allocation per string field.
pub struct OwnedEvents(Replay);

impl Iterator for OwnedEvents {
    type Item = Result<(usize, Event<'static>), LineError>;

    /// `(source, event)` in merged order, or a bad line.
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|i| (i.source, i.event.into_owned())))
    }
}

impl Replay {
    /// Iterates owned events; see [`OwnedEvents`].
    pub fn owned(self) -> OwnedEvents {
        OwnedEvents(self)
    }
}

const CHUNK: usize = 128 * 1024;

/// A journal read and decompressed on its own thread, so inflating and decoding overlap. The
/// thread reads straight into chunks of whole lines (about [`CHUNK`] bytes) and sends them
/// over a small bounded channel; consumed chunks come back for reuse, so a long replay
/// allocates only a few and copies nothing but the line cut at each chunk's end.
struct ChunkSource {
    rx: crossbeam_channel::Receiver<io::Result<Vec<u8>>>,
    recycle: crossbeam_channel::Sender<Vec<u8>>,
}

impl ChunkSource {
    fn open(path: &Path, count: &Arc<AtomicU64>) -> io::Result<ChunkSource> {
        let source = journal::decompressed(Counting {
            inner: std::fs::File::open(path)?,
            count: count.clone(),
        })?;
        let (tx, rx) = crossbeam_channel::bounded::<io::Result<Vec<u8>>>(2);
        let (recycle, recycled) = crossbeam_channel::bounded::<Vec<u8>>(4);
        std::thread::Builder::new()
            .name("replay-read".into())
            .spawn(move || read_chunks(source, &tx, &recycled))?;
        Ok(ChunkSource { rx, recycle })
    }
}

/// The reading thread: sends chunks of whole lines, then, if reading fails, the error. Only
/// the file's last line can lack its `\n`; a line cut by a read error is part of the error.
fn read_chunks(
    mut source: Box<dyn Read + Send>,
    tx: &crossbeam_channel::Sender<io::Result<Vec<u8>>>,
    recycled: &crossbeam_channel::Receiver<Vec<u8>>,
) {
    let mut carry = Vec::new();
    loop {
        let mut buf = recycled.try_recv().unwrap_or_default();
        buf.clear();
        buf.append(&mut carry);
        // Reads until the chunk holds a line end (a line may be longer than a chunk); the
        // bytes before `from` have none. `cut`: where the whole lines end, `None` at the end
        // of the input, where everything goes.
        let mut from = buf.len();
        let whole =
            |buf: &[u8], from: usize| memchr::memrchr(b'\n', &buf[from..]).map(|i| from + i + 1);
        let (cut, failure) = loop {
            buf.reserve(CHUNK);
            match (&mut source).take(CHUNK as u64).read_to_end(&mut buf) {
                Ok(n) if n < CHUNK => break (None, None),
                Ok(_) => match whole(&buf, from) {
                    Some(end) => break (Some(end), None),
                    None => from = buf.len(),
                },
                Err(e) => break (Some(whole(&buf, from).unwrap_or(0)), Some(e)),
            }
        };
        if let Some(end) = cut {
            carry.extend_from_slice(&buf[end..]);
            buf.truncate(end);
        }
        if !buf.is_empty() && tx.send(Ok(buf)).is_err() {
            return;
        }
        if let Some(e) = failure {
            let _ = tx.send(Err(e));
            return;
        }
        if cut.is_none() {
            return;
        }
    }
}

/// What the merge and filter need of a line, read without a full decode.
struct Header {
    kind: Option<Kind>,
    ts: Option<i64>,
}

/// Reads kind and event time straight from the text of lines Njord writes (`kind` first, one
/// top-level time key); `None` sends the line through a full decode instead. Only asked for
/// what is needed.
fn header(line: &[u8], want_ts: bool, want_kind: bool) -> Option<Header> {
    if !want_ts && !want_kind {
        return Some(Header {
            kind: None,
            ts: None,
        });
    }
    let rest = line.strip_prefix(b"{\"kind\":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    let kind = Kind::parse(std::str::from_utf8(&rest[..end]).ok()?)?;
    let ts = if want_ts {
        Some(scan_ts(line, ts_key(kind)?)?)
    } else {
        None
    };
    Some(Header {
        kind: Some(kind),
        ts,
    })
}

/// The key holding an event's time ([`Event::ts_ns`]); `None` for kinds with free-form maps
/// (`meta`, `caps`) or defaults, which take the full decode.
fn ts_key(kind: Kind) -> Option<&'static [u8]> {
    Some(match kind {
        Kind::Trade
        | Kind::Book
        | Kind::Ticker
        | Kind::Cancel
        | Kind::Position
        | Kind::Echo
        | Kind::Ack
        | Kind::OrderUpdate
        | Kind::Balance
        | Kind::AllocationRejected
        | Kind::ReconcileBreak
        | Kind::ExecStatus
        | Kind::Regime => b"\"ts_ns\":",
        Kind::Bar => b"\"ts_close_ns\":",
        Kind::Fill => b"\"ts_fill_ns\":",
        // An order's `exec` is a free-form map too.
        Kind::Intent | Kind::Decision | Kind::Allocation | Kind::Order => return None,
    })
}

/// The integer after the only occurrence of `key`. The key text cannot occur inside a JSON
/// string (its closing quote would have to be escaped), so a single match is the key itself.
fn scan_ts(b: &[u8], key: &[u8]) -> Option<i64> {
    let at = memchr::memmem::find(b, key)?;
    let after = at + key.len();
    if memchr::memmem::find(&b[after..], key).is_some() {
        return None;
    }
    let v = &b[after..];
    let v = &v[v.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let neg = v.first() == Some(&b'-');
    let digits = &v[usize::from(neg)..];
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 19 || (n > 1 && digits[0] == b'0') {
        return None;
    }
    match digits.get(n) {
        Some(b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n') => {}
        _ => return None,
    }
    let text = std::str::from_utf8(&v[..n + usize::from(neg)]).ok()?;
    text.parse().ok()
}

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as possible; never sleeps.
    Max,
    /// Event-time gaps divided by this factor (`1x` real time, `10x` ten times faster).
    Factor(f64),
}

impl Speed {
    /// Parses `max`, `1x`, `10x`, `0.5x`.
    pub fn parse(s: &str) -> Result<Speed, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        let n = s
            .strip_suffix('x')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n > 0.0)
            .ok_or_else(|| format!("invalid speed `{s}` (use max, 1x, 10x, 0.5x, …)"))?;
        Ok(Speed::Factor(n))
    }
}

/// Wall time for pacing; injected so tests run without sleeping.
pub trait Clock {
    /// Monotonic nanoseconds.
    fn now_ns(&mut self) -> i64;
    fn sleep_until(&mut self, ns: i64);
}

/// The real clock.
pub struct SystemClock {
    start: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_ns(&mut self) -> i64 {
        i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }
    fn sleep_until(&mut self, ns: i64) {
        let now = self.now_ns();
        if ns > now {
            std::thread::sleep(std::time::Duration::from_nanos((ns - now) as u64));
        }
    }
}

/// The pacing schedule: event `ts` is due at `wall0 + (ts - ts0) / factor`, measured from the
/// first event, so delays do not accumulate; an event behind schedule goes at once, and an
/// event earlier than the first never waits.
#[derive(Debug, Clone)]
pub struct Pacer {
    speed: Speed,
    origin: Option<(i64, i64)>,
}

impl Pacer {
    pub fn new(speed: Speed) -> Self {
        Pacer {
            speed,
            origin: None,
        }
    }

    /// When the event at `ts` is due, given the wall time `now`; `None`: now.
    pub fn due(&mut self, ts: i64, now: i64) -> Option<i64> {
        let Speed::Factor(f) = self.speed else {
            return None;
        };
        let (ts0, wall0) = *self.origin.get_or_insert((ts, now));
        let gap = ts.saturating_sub(ts0);
        if gap <= 0 {
            return None;
        }
        let at = wall0.saturating_add((gap as f64 / f) as i64);
        (at > now).then_some(at)
    }

    /// Waits on `clock` until the event at `ts` is due.
    pub fn pace(&mut self, ts: i64, clock: &mut dyn Clock) {
        if self.speed == Speed::Max {
            return;
        }
        let now = clock.now_ns();
        if let Some(at) = self.due(ts, now) {
            clock.sleep_until(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn trade(ts: i64, sym: &str, id: u32) -> String {
        format!(
            r#"{{"kind":"trade","venue":"v","symbol":"{sym}","trade_id":"{id}","price":1.5,"qty":2,"side":"buy","ts_ns":{ts}}}"#
        )
    }

    fn bar(close: i64) -> String {
        format!(
            r#"{{"kind":"bar","symbol":"A/B","timeframe":"1m","ts_open_ns":{},"ts_close_ns":{close},"open":1,"high":1,"low":1,"close":1,"volume":1,"trades":1}}"#,
            close - 60
        )
    }

    fn write(dir: &Path, name: &str, lines: &[String], gz: bool) -> PathBuf {
        let p = dir.join(name);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(text.as_bytes()).unwrap();
            std::fs::write(&p, e.finish().unwrap()).unwrap();
        } else {
            std::fs::write(&p, text).unwrap();
        }
        p
    }

    fn ids(r: &mut Replay) -> (Vec<String>, Vec<String>) {
        let (mut ok, mut bad) = (vec![], vec![]);
        r.for_each(
            |i| {
                let id = match &i.event {
                    Event::Trade(t) => t.trade_id.to_string(),
                    other => format!("{}@{}", other.kind(), other.ts_ns()),
                };
                ok.push(id)
            },
            |e| bad.push(e.to_string()),
        );
        (ok, bad)
    }

    #[test]
    fn merges_by_event_time_with_stable_ties() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.ndjson",
            &[trade(1, "A/B", 1), trade(5, "A/B", 2), trade(5, "A/B", 3)],
            false,
        );
        let b = write(
            dir.path(),
            "b.ndjson.gz",
            &[trade(0, "C/D", 10), trade(5, "C/D", 11), bar(6)],
            true,
        );
        let mut r = Replay::open(&[a.clone(), b.clone()], Filter::default()).unwrap();
        let (got, bad) = ids(&mut r);
        assert_eq!(got, ["10", "1", "2", "3", "11", "bar@6"]);
        assert!(bad.is_empty());
        let mut r = Replay::open(&[b, a], Filter::default()).unwrap();
        assert_eq!(ids(&mut r).0, ["10", "1", "11", "2", "3", "bar@6"]);
    }

    #[test]
    fn owned_events_iterate() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.ndjson",
            &[trade(2, "A/B", 1), bar(60)],
            false,
        );
        let b = write(dir.path(), "b.ndjson", &[trade(1, "C/D", 2)], false);
        let evs: Vec<(usize, Event<'static>)> = Replay::open(&[a, b], Filter::default())
            .unwrap()
            .owned()
            .collect::<Result<_, _>>()
            .unwrap();
        let order: Vec<(usize, i64)> = evs.iter().map(|(s, e)| (*s, e.ts_ns())).collect();
        assert_eq!(order, [(1, 1), (0, 2), (0, 60)]);
    }

    #[test]
    fn raw_lines_come_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let odd = r#"{"kind":"trade", "symbol":"A/B","trade_id":7,"price":"1.50","qty":2,"side":"buy","ts_ns":3,"extra":{"x":1}}"#;
        let p = write(dir.path(), "a.ndjson", &[odd.to_string()], false);
        let mut r = Replay::open(&[p], Filter::default()).unwrap();
        let item = r.next().unwrap().unwrap();
        assert_eq!(item.line, odd);
        assert_eq!((item.lineno, item.source), (1, 0));
    }

    #[test]
    fn filters_time_half_open_symbol_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.ndjson",
            &[
                trade(10, "A/B", 1),
                trade(20, "C/D", 2),
                trade(30, "A/B", 3),
                bar(20),
            ],
            false,
        );
        let b = write(dir.path(), "b.ndjson", &[trade(25, "A/B", 4)], false);
        let f = Filter {
            from: Some(20),
            to: Some(30),
            ..Default::default()
        };
        let mut r = Replay::open(std::slice::from_ref(&a), f.clone()).unwrap();
        assert_eq!(ids(&mut r).0, ["2", "bar@20"]);
        let mut r = Replay::open(&[a.clone(), b.clone()], f).unwrap();
        assert_eq!(ids(&mut r).0, ["2", "bar@20", "4"]);
        let f = Filter {
            symbols: vec!["A/B".into()],
            kinds: vec![Kind::Trade],
            ..Default::default()
        };
        let mut r = Replay::open(&[a.clone(), b.clone()], f.clone()).unwrap();
        assert_eq!(ids(&mut r).0, ["1", "4", "3"]);
        // What the fast header path lets through is exactly what `accepts` says.
        let mut r = Replay::open(&[a.clone(), b], Filter::default()).unwrap();
        let mut kept = 0;
        r.for_each(
            |i| kept += usize::from(f.accepts(&i.event)),
            |e| panic!("{e}"),
        );
        assert_eq!(kept, 3);
        let f = Filter {
            kinds: vec![Kind::Bar],
            ..Default::default()
        };
        let mut r = Replay::open(&[a], f).unwrap();
        assert_eq!(ids(&mut r).0, ["bar@20"]);
    }

    #[test]
    fn bad_and_torn_lines_are_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ndjson");
        std::fs::write(
            &p,
            format!(
                "{}\nnot json\n{}\n{{\"kind\":\"trade\",\"ts_ns\":4}}\n{{\"kind\":\"tra",
                trade(1, "A/B", 1),
                trade(2, "A/B", 2)
            ),
        )
        .unwrap();
        let other = write(dir.path(), "b.ndjson", &[trade(3, "A/B", 3)], false);
        let mut r = Replay::open(&[p, other], Filter::default()).unwrap();
        let (got, bad) = ids(&mut r);
        assert_eq!(got, ["1", "2", "3"]);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].contains("a.ndjson:2: not JSON"), "{bad:?}");
        assert!(bad[1].contains("a.ndjson:4: bad `trade`"), "{bad:?}");
        assert!(bad[2].contains("a.ndjson:5: torn last line"), "{bad:?}");
        assert_eq!(r.stats().bad, 3);
    }

    #[test]
    fn a_rotated_series_is_one_source_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "s.ndjson", &[trade(9, "A/B", 4)], false);
        write(
            dir.path(),
            "s.20260101.1.ndjson",
            &[trade(5, "A/B", 2)],
            false,
        );
        write(
            dir.path(),
            "s.20260101.ndjson.gz",
            &[trade(1, "A/B", 1)],
            true,
        );
        write(
            dir.path(),
            "s.20260102.ndjson",
            &[trade(7, "A/B", 3)],
            false,
        );
        let mut r = Replay::open(&[dir.path().join("s")], Filter::default()).unwrap();
        assert_eq!(ids(&mut r).0, ["1", "2", "3", "4"]);
    }

    #[test]
    fn a_file_compressed_since_listing_is_read_from_its_gz() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "s.20260101.ndjson",
            &[trade(1, "A/B", 1)],
            false,
        );
        let mut r = Replay::open(&[dir.path().join("s")], Filter::default()).unwrap();
        write(
            dir.path(),
            "s.20260101.ndjson.gz",
            &[trade(1, "A/B", 1)],
            true,
        );
        std::fs::remove_file(p).unwrap();
        let (got, bad) = ids(&mut r);
        assert_eq!((got, bad), (vec!["1".to_string()], vec![]));
    }

    #[test]
    fn a_cut_gzip_yields_its_whole_lines_then_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = (0..3_000).map(|i| trade(i, "A/B", i as u32)).collect();
        let full = write(dir.path(), "full.ndjson.gz", &lines, true);
        let bytes = std::fs::read(&full).unwrap();
        let cut = dir.path().join("cut.ndjson.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
        let mut r = Replay::open(&[cut], Filter::default()).unwrap();
        let (got, bad) = ids(&mut r);
        assert!(!got.is_empty() && got.len() < lines.len());
        assert_eq!(got.last().unwrap(), &(got.len() - 1).to_string());
        assert_eq!(bad.len(), 1, "{bad:?}");
        let want = format!(":{}: read error: ", got.len() + 1);
        assert!(
            bad[0].contains(&want) && !bad[0].contains("error: read error"),
            "{bad:?}"
        );
    }

    #[test]
    fn lines_across_many_chunks_are_intact() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = (0..5_000).map(|i| trade(i, "A/B", i as u32)).collect();
        let a = write(dir.path(), "a.ndjson.gz", &lines, true);
        let mut r = Replay::open(&[a], Filter::default()).unwrap();
        let mut got = Vec::new();
        r.for_each(|i| got.push(i.line.to_string()), |e| panic!("{e}"));
        assert!(lines.join("\n").len() > 3 * CHUNK);
        assert!(got == lines);
    }

    #[test]
    fn header_scan_agrees_with_decode() {
        for line in [
            trade(1_700_000_000_000_000_000, "A/B", 1),
            trade(-5, "A/B", 1),
            bar(120),
            r#"{"kind":"fill","order_id":"o","symbol":"A/B","side":"buy","qty":1,"price":1,"ts_fill_ns":42}"#.to_string(),
        ] {
            let h = header(line.as_bytes(), true, true).unwrap();
            let ev = event::decode(&line).unwrap();
            assert_eq!((h.kind, h.ts), (Some(ev.kind()), Some(ev.ts_ns())), "{line}");
        }
        for odd in [
            r#"{"kind":"trade","ts_ns":1.5e3}"#,
            r#"{"kind":"trade","ts_ns":"5"}"#,
            r#"{"kind":"trade","ts_ns":1,"x":{"ts_ns":2}}"#,
            r#"{"kind":"intent","ts_ns":1}"#,
            r#"{"symbol":"A/B","kind":"trade","ts_ns":1}"#,
            r#"{"kind":"trade","ts_ns":01}"#,
        ] {
            assert!(header(odd.as_bytes(), true, false).is_none(), "{odd}");
        }
    }

    /// Records sleeps instead of sleeping; time moves only when told.
    struct FakeClock {
        now: i64,
        sleeps: Vec<i64>,
    }

    impl Clock for FakeClock {
        fn now_ns(&mut self) -> i64 {
            self.now
        }
        fn sleep_until(&mut self, ns: i64) {
            self.sleeps.push(ns);
            self.now = self.now.max(ns);
        }
    }

    #[test]
    fn speed_parses() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("10x"), Ok(Speed::Factor(10.0)));
        assert_eq!(Speed::parse("0.5x"), Ok(Speed::Factor(0.5)));
        assert!(Speed::parse("0x").is_err());
        assert!(Speed::parse("fast").is_err());
    }

    #[test]
    fn pacing_follows_event_gaps_divided_by_speed() {
        let mut clock = FakeClock {
            now: 1_000,
            sleeps: vec![],
        };
        let mut p = Pacer::new(Speed::Factor(2.0));
        for ts in [100, 100, 300, 250, 1_100] {
            p.pace(ts, &mut clock);
        }
        assert_eq!(clock.sleeps, [1_100, 1_500]);
        // Behind schedule: the consumer was slow, so nothing waits.
        clock.now = 10_000;
        p.pace(1_200, &mut clock);
        assert_eq!(clock.sleeps.len(), 2);

        let mut max = Pacer::new(Speed::Max);
        for ts in [0, 1_000_000_000, 5_000_000_000] {
            max.pace(ts, &mut clock);
        }
        assert_eq!(clock.sleeps.len(), 2, "max never sleeps");
    }
}
