//! Reading trails back: every chain under the given paths checked from its first file to its
//! last — the hash chain (through the core's [`verify`]), the links between files, the
//! checkpoints' signatures, and the anchors kept outside the trail.

use super::keys::{checkpoint_message, verify_signature};
use super::trail::CHAIN_PREFIX;
use crate::journal::{Series, decompressed, resolve};
use memchr::memmem::Finder;
use njord_core::audit::{Break, GENESIS, Head, Intact, check_line, verify_checked};
use rayon::prelude::*;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A chain's head as written outside the trail (`{chain}.head`, `njord-audit anchor`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Anchor {
    pub chain: String,
    pub seq: u64,
    pub hash: String,
    #[serde(default)]
    pub ts_ns: i64,
}

/// The first thing wrong with a chain, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file:line`, or the anchor's source.
    pub at: String,
    /// modified, inserted or reordered, deleted, file replaced, malformed, bad signature,
    /// truncated.
    pub kind: &'static str,
    pub detail: String,
}

/// What `verify` found in one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainReport {
    pub chain: String,
    pub files: usize,
    pub records: u64,
    pub head: Option<Head>,
    pub checkpoints: u64,
    /// Checkpoints whose signature was checked against the public key.
    pub signed: u64,
    /// `file:line` of a torn last line: a crash mid-write, not tampering.
    pub torn: Option<String>,
    /// Anchors checked.
    pub anchored: usize,
    /// Records after the last signed checkpoint (checked with a public key only).
    pub unsigned_tail: u64,
    pub problem: Option<Problem>,
}

/// The chain a series belongs to, from its stem (`audit.njord-risk` → `njord-risk`).
pub(super) fn chain_of(series: &Series) -> Option<String> {
    let stem = Path::new(&series.name)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    stem.strip_prefix(CHAIN_PREFIX).map(str::to_string)
}

/// A file's bytes, gzip or plain.
fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    // A plain file's size; a gzipped one grows from there.
    let size = f.metadata().map_or(0, |m| m.len());
    let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    decompressed(f)
        .and_then(|mut r| r.read_to_end(&mut text))
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(text)
}

/// Finds the `kind` of checkpoints and stops in a line (built once: a finder's set-up costs
/// more than a search of a short line).
struct MarkFinders([Finder<'static>; 2], [Finder<'static>; 2]);

impl Default for MarkFinders {
    fn default() -> Self {
        MarkFinders(
            [
                Finder::new(br#""kind":"checkpoint""#),
                Finder::new(br#""kind":"stop""#),
            ],
            [Finder::new(b"checkpoint"), Finder::new(b"stop")],
        )
    }
}

impl MarkFinders {
    /// Whether `line` may be a checkpoint or a stop record; its parsed kind decides. A line
    /// in canonical form has their `kind` member as written here (in an embedded event line
    /// its quotes are escaped); another may be spaced otherwise.
    fn may_be_mark(&self, line: &str, canonical: bool) -> bool {
        let finders = if canonical { &self.0 } else { &self.1 };
        finders.iter().any(|f| f.find(line.as_bytes()).is_some())
    }
}

/// Checks every chain under `paths` (directories, files, stems). `public_key`: checkpoints
/// must carry its valid signature and cover the chain (a stopped run ends with one, a running
/// one has at most `max_unsigned` records after its last, 0: no limit); `anchors`: heads
/// kept elsewhere that each chain must still contain.
pub fn verify_paths(
    paths: &[PathBuf],
    public_key: Option<&str>,
    max_unsigned: u64,
    anchors: &[(String, Anchor)],
) -> Result<Vec<ChainReport>, String> {
    let series = resolve(paths).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in &series {
        match chain_of(s) {
            Some(chain) => out.push(check_chain(s, chain, public_key, max_unsigned, anchors)),
            // A file named on the command line is checked whatever its name.
            None if paths.iter().any(|p| s.files.contains(p)) => {
                out.push(check_chain(
                    s,
                    s.name.clone(),
                    public_key,
                    max_unsigned,
                    anchors,
                ));
            }
            None => {}
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no audit trail (files named {CHAIN_PREFIX}*.ndjson[.gz]) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(out)
}

/// Bytes read per step of a file's fast pass: enough lines to share among the cores, few
/// enough to stay in cache and to reuse the same pages.
const CHUNK: usize = 4 << 20;

/// What the fast pass found in a file whose records are all canonical, intact and linked to
/// each other (any other file goes to the exact pass, which says what is wrong).
#[derive(Default)]
struct Summary {
    /// The first record's seq and `prev`.
    first: Option<(u64, String)>,
    /// The last record's seq and hash.
    last: Option<Head>,
    /// Lines that may be checkpoints or stops: line number, seq, text.
    marks: Vec<(usize, u64, String)>,
    /// The seq and hash of each anchored record met.
    anchored: Vec<(u64, String)>,
    /// Lines read so far.
    line_no: usize,
}

impl Summary {
    /// Takes the next whole lines of the file; false when one is not as sealed, or does not
    /// link to the one before.
    fn take(&mut self, chunk: &[u8], anchors: &[u64], finders: &MarkFinders) -> bool {
        let Ok(text) = simdutf8::basic::from_utf8(chunk) else {
            return false;
        };
        let mut lines: Vec<(usize, &str)> = Vec::with_capacity(chunk.len() / 256);
        for l in text.split_terminator('\n') {
            self.line_no += 1;
            if !l.is_empty() {
                lines.push((self.line_no, l));
            }
        }
        let checks: Vec<(Intact<'_>, bool)> = lines
            .par_iter()
            .with_min_len(512)
            .map(|(_, l)| {
                let check = check_line(l);
                (check, check.is_some() && finders.may_be_mark(l, true))
            })
            .collect();
        for ((n, l), (check, mark)) in lines.iter().zip(checks) {
            let Some((seq, prev, hash)) = check else {
                return false;
            };
            match &mut self.last {
                Some(head) => {
                    if !head.followed_by(seq, prev) {
                        return false;
                    }
                    head.seq = seq;
                    head.hash.clear();
                    head.hash.push_str(hash);
                }
                None => {
                    self.first = Some((seq, prev.to_string()));
                    self.last = Some(Head {
                        hash: hash.to_string(),
                        seq,
                    });
                }
            }
            if anchors.contains(&seq) {
                self.anchored.push((seq, hash.to_string()));
            }
            if mark {
                self.marks.push((*n, seq, l.to_string()));
            }
        }
        true
    }
}

/// Appends up to `chunk` bytes of `reader` to `buf`; true at the end of the file.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, chunk: usize) -> std::io::Result<bool> {
    let n = reader.take(chunk as u64).read_to_end(buf)?;
    Ok(n < chunk)
}

/// The fast pass over one file: read `chunk` bytes at a time (the next ones while these are
/// checked), each line checked on its own on every core ([`check_line`]), then linked to the
/// one before. `None`: something is not as sealed, for the exact pass to word.
fn fast_pass(
    path: &Path,
    chunk: usize,
    anchors: &[u64],
    finders: &MarkFinders,
) -> Result<Option<Summary>, String> {
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut reader = decompressed(f).map_err(|e| format!("{shown}: {e}"))?;
    let mut summary = Summary::default();
    let (mut cur, mut next) = (Vec::with_capacity(chunk), Vec::with_capacity(chunk));
    let mut eof = fill(&mut reader, &mut cur, chunk).map_err(|e| format!("{shown}: {e}"))?;
    // How much of `cur`, from its start, is known to hold no newline.
    let mut searched = 0;
    loop {
        // Whole lines only; the rest is carried over to the next chunk.
        let end = match memchr::memrchr(b'\n', &cur[searched..]) {
            _ if eof => cur.len(),
            Some(i) => searched + i + 1,
            None => {
                searched = cur.len();
                eof = fill(&mut reader, &mut cur, chunk).map_err(|e| format!("{shown}: {e}"))?;
                continue;
            }
        };
        next.clear();
        next.extend_from_slice(&cur[end..]);
        searched = next.len();
        let (read, fine) = rayon::join(
            || {
                if eof {
                    Ok(true)
                } else {
                    fill(&mut reader, &mut next, chunk)
                }
            },
            || summary.take(&cur[..end], anchors, finders),
        );
        if !fine {
            return Ok(None);
        }
        if eof {
            return Ok(Some(summary));
        }
        eof = read.map_err(|e| format!("{shown}: {e}"))?;
        std::mem::swap(&mut cur, &mut next);
    }
}

/// A chain followed from its first file to its last.
struct Walk<'a> {
    chain: &'a str,
    public_key: Option<&'a str>,
    /// The anchors of this chain, and the hash of each anchored record once met.
    mine: Vec<&'a (String, Anchor)>,
    anchored: Vec<Option<String>>,
    report: ChainReport,
    head: Head,
    /// The last record a signed checkpoint covers, and the last `stop` record.
    covered: u64,
    last_stop: Option<(u64, String)>,
    finders: MarkFinders,
}

impl Walk<'_> {
    /// Counts a record that may be a checkpoint or a stop (by its parsed kind: a line that
    /// merely mentions them is read and passed over).
    fn mark(&mut self, line: &str, seq: u64, at: impl FnOnce() -> String) {
        let report = &mut self.report;
        match check_checkpoint(line, self.chain, self.public_key) {
            Err(detail) => {
                report.checkpoints += 1;
                report.problem.get_or_insert(Problem {
                    at: at(),
                    kind: "bad signature",
                    detail,
                });
            }
            Ok(Mark::Signed) => {
                report.checkpoints += 1;
                report.signed += 1;
                self.covered = seq;
            }
            Ok(Mark::Unchecked) => report.checkpoints += 1,
            Ok(Mark::Stop) => self.last_stop = Some((seq, at())),
            Ok(Mark::Other) => {}
        }
    }

    /// Takes a file the fast pass found intact, if its first record continues the chain
    /// (false: it does not).
    fn take(&mut self, file: &Path, s: Summary) -> bool {
        if let Some((seq, prev)) = &s.first
            && !self.head.followed_by(*seq, prev)
        {
            return false;
        }
        for (seq, hash) in s.anchored {
            for (k, (_, a)) in self.mine.iter().enumerate() {
                if a.seq == seq {
                    self.anchored[k] = Some(hash.clone());
                }
            }
        }
        for (n, seq, line) in &s.marks {
            self.mark(line, *seq, || format!("{}:{n}", file.display()));
        }
        if let Some(last) = s.last {
            self.head = last;
        }
        true
    }

    /// The exact pass over a file: read whole, any break found and worded.
    fn exact(&mut self, file: &Path, previous: Option<&Path>, last_file: bool) {
        let text = match read_bytes(file).and_then(|b| {
            String::from_utf8(b).map_err(|e| format!("{}: not UTF-8: {e}", file.display()))
        }) {
            Ok(t) => t,
            Err(detail) => {
                self.report.problem = Some(Problem {
                    at: file.display().to_string(),
                    kind: "unreadable",
                    detail,
                });
                return;
            }
        };
        let lines: Vec<(usize, &str)> = text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect();
        let texts: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
        let checks: Vec<Intact<'_>> = texts.par_iter().map(|l| check_line(l)).collect();
        let ends_torn = last_file && !text.is_empty() && !text.ends_with('\n');
        let at = |i: usize| format!("{}:{}", file.display(), lines[i - 1].0);
        let start = self.head.clone();
        let (good, broken) = match verify_checked(&texts, &checks, start.clone(), ends_torn) {
            Ok(h) => {
                self.head = h;
                (lines.len(), None)
            }
            Err((Break::TornLastLine { at: i }, h)) => {
                self.report.torn = Some(at(i));
                self.head = h;
                (i - 1, None)
            }
            Err((b, h)) => {
                self.head = h;
                let i = break_at(&b);
                let previous = previous.map(|p| p.display().to_string());
                (i - 1, Some(problem_of(&b, at(i), previous)))
            }
        };
        // The anchored records among those that passed: record `seq` is line `seq - start - 1`.
        for (k, (_, a)) in self.mine.iter().enumerate() {
            if a.seq > start.seq && a.seq <= start.seq.saturating_add(good as u64) {
                let line = lines[(a.seq - start.seq - 1) as usize].1;
                self.anchored[k] = serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v["hash"].as_str().map(str::to_string));
            }
        }
        for (i, (_, line)) in lines.iter().enumerate().take(good) {
            if self.finders.may_be_mark(line, false) {
                self.mark(line, start.seq + i as u64 + 1, || at(i + 1));
            }
        }
        if let Some(p) = broken {
            self.report.problem.get_or_insert(p);
        }
    }
}

fn check_chain(
    series: &Series,
    chain: String,
    public_key: Option<&str>,
    max_unsigned: u64,
    anchors: &[(String, Anchor)],
) -> ChainReport {
    let mine: Vec<&(String, Anchor)> = anchors.iter().filter(|(_, a)| a.chain == chain).collect();
    let mut walk = Walk {
        chain: &chain,
        public_key,
        anchored: vec![None; mine.len()],
        mine,
        report: ChainReport {
            chain: chain.clone(),
            files: series.files.len(),
            ..ChainReport::default()
        },
        head: Head {
            hash: GENESIS.to_string(),
            seq: 0,
        },
        covered: 0,
        last_stop: None,
        finders: MarkFinders::default(),
    };
    let anchor_seqs: Vec<u64> = walk.mine.iter().map(|(_, a)| a.seq).collect();
    let last_file = series.files.len().saturating_sub(1);
    let window = rayon::current_num_threads().max(1);
    'files: for (w, group) in series.files.chunks(window).enumerate() {
        // The files of a window pass at once, one per core, with work stolen between them;
        // they are then followed in order.
        let passes: Vec<Result<Option<Summary>, String>> = group
            .par_iter()
            .map(|f| fast_pass(f, CHUNK, &anchor_seqs, &walk.finders))
            .collect();
        for (k, pass) in passes.into_iter().enumerate() {
            let fi = w * window + k;
            let file = &series.files[fi];
            match pass {
                Err(detail) => {
                    walk.report.problem = Some(Problem {
                        at: file.display().to_string(),
                        kind: "unreadable",
                        detail,
                    });
                }
                Ok(pass) => {
                    if !pass.is_some_and(|s| walk.take(file, s)) {
                        let previous = fi.checked_sub(1).map(|p| series.files[p].as_path());
                        walk.exact(file, previous, fi == last_file);
                    }
                }
            }
            walk.report.records = walk.head.seq;
            if walk.report.problem.is_some() {
                break 'files;
            }
        }
    }
    let Walk {
        mine,
        anchored,
        mut report,
        head,
        covered,
        last_stop,
        ..
    } = walk;
    for (k, (source, a)) in mine.iter().enumerate() {
        report.anchored += 1;
        if report.problem.is_some() {
            break;
        }
        if a.seq > head.seq {
            report.problem = Some(Problem {
                at: source.clone(),
                kind: "truncated",
                detail: format!(
                    "the anchor names record {} of {chain}, but the chain ends at record {}",
                    a.seq, head.seq
                ),
            });
        } else if anchored[k].as_deref() != Some(a.hash.as_str()) {
            report.problem = Some(Problem {
                at: source.clone(),
                kind: "rewritten",
                detail: format!(
                    "record {} of {chain} is not the one anchored (its hash was {})",
                    a.seq, a.hash
                ),
            });
        }
    }
    // After the anchors (a cut end is `truncated`): with a key, signatures must cover the chain: a run that stopped is closed by a signed
    // checkpoint, and a running one has at most `max_unsigned` records after its last one.
    if public_key.is_some() && report.problem.is_none() {
        let tail = head.seq.saturating_sub(covered);
        if let Some((seq, at)) = last_stop.filter(|(seq, _)| *seq > covered) {
            report.problem = Some(Problem {
                at,
                kind: "bad signature",
                detail: format!(
                    "the run that stopped at record {seq} has no signed checkpoint after it: \
                     records {} to {} are not covered",
                    covered + 1,
                    head.seq
                ),
            });
        } else if max_unsigned > 0 && tail > max_unsigned {
            report.problem = Some(Problem {
                at: series.name.clone(),
                kind: "bad signature",
                detail: format!(
                    "records {} to {} ({tail}) follow the last signed checkpoint, more than \
                     audit.checkpoint_records ({max_unsigned})",
                    covered + 1,
                    head.seq
                ),
            });
        }
        report.unsigned_tail = tail;
    }
    report.head = Some(head);
    report
}

fn break_at(b: &Break) -> usize {
    match b {
        Break::Malformed { at, .. }
        | Break::Modified { at, .. }
        | Break::Deleted { at, .. }
        | Break::Reordered { at, .. }
        | Break::TornLastLine { at } => *at,
    }
}

/// Words a chain break. A file whose first record does not link to the previous file is a
/// file replaced.
fn problem_of(b: &Break, at: String, previous: Option<String>) -> Problem {
    let first = break_at(b) == 1;
    let (kind, detail) = match (b, previous) {
        (Break::Malformed { why, .. }, _) => ("malformed", format!("not an audit record: {why}")),
        (Break::Modified { seq, .. }, _) => (
            "modified",
            format!("record {seq}: its content no longer gives its hash"),
        ),
        (
            Break::Deleted {
                expected, found, ..
            },
            Some(prev),
        ) if first => (
            "deleted",
            format!(
                "records {expected} to {} are missing between {prev} and this file",
                found - 1
            ),
        ),
        (
            Break::Deleted {
                expected, found, ..
            },
            _,
        ) => (
            "deleted",
            format!(
                "records {expected} to {} are missing before this one",
                found - 1
            ),
        ),
        (Break::Reordered { found, .. }, Some(prev)) if first => (
            "file replaced",
            format!(
                "its first record ({found}) does not continue the chain from the last record of {prev}"
            ),
        ),
        (
            Break::Reordered {
                expected, found, ..
            },
            _,
        ) => (
            "inserted or reordered",
            format!("record {found} where record {expected}, linked to the one before, was due"),
        ),
        (Break::TornLastLine { .. }, _) => ("torn", "a torn last line".to_string()),
    };
    Problem { at, kind, detail }
}

/// What a record that may be a checkpoint or a stop is.
enum Mark {
    /// A checkpoint whose signature was checked.
    Signed,
    /// A checkpoint, signatures not checked (no public key).
    Unchecked,
    Stop,
    Other,
}

/// A checkpoint closes the record before it; with a public key, its signature must verify.
fn check_checkpoint(line: &str, chain: &str, public_key: Option<&str>) -> Result<Mark, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    match v["kind"].as_str() {
        Some("checkpoint") => {}
        Some("stop") => return Ok(Mark::Stop),
        _ => return Ok(Mark::Other),
    }
    let (Some(seq), Some(count), Some(head)) =
        (v["seq"].as_u64(), v["count"].as_u64(), v["head"].as_str())
    else {
        return Err("a checkpoint needs count and head".into());
    };
    if count.checked_add(1) != Some(seq) || v["prev"].as_str() != Some(head) {
        return Err("the checkpoint does not close the record before it".into());
    }
    let Some(public) = public_key else {
        return Ok(Mark::Unchecked);
    };
    let Some(sig) = v["sig"].as_str() else {
        return Err("unsigned checkpoint (the writer had no audit.key_file)".into());
    };
    let key = v["key"].as_str().unwrap_or("");
    if !key.eq_ignore_ascii_case(public.trim()) {
        return Err(format!("signed by key {key}, not by audit.public_key"));
    }
    if !verify_signature(public.trim(), &checkpoint_message(chain, count, head), sig) {
        return Err("the signature does not verify".into());
    }
    Ok(Mark::Signed)
}

/// Anchors from files (`{chain}.head`, or lines of them as `njord-audit anchor` prints),
/// directories of such files, or `redis://` URLs (the keys under `redis_prefix`); each with
/// where it came from.
pub fn anchors_from(
    sources: &[String],
    redis_prefix: Option<&str>,
) -> Result<Vec<(String, Anchor)>, String> {
    let mut out = Vec::new();
    let parse = |text: &str, source: &str, out: &mut Vec<(String, Anchor)>| {
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let a: Anchor = serde_json::from_str(line)
                .map_err(|e| format!("{source}:{}: not an anchor: {e}", n + 1))?;
            out.push((format!("{source}:{}", n + 1), a));
        }
        Ok::<(), String>(())
    };
    for s in sources {
        if s.starts_with("redis://") || s.starts_with("rediss://") {
            let prefix = redis_prefix.ok_or("a redis:// anchor needs audit.anchor_redis_prefix")?;
            let mut c = redis::Client::open(s.as_str())
                .and_then(|c| c.get_connection_with_timeout(std::time::Duration::from_secs(5)))
                .map_err(|e| format!("{s}: {e}"))?;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query(&mut c)
                .map_err(|e| format!("{s}: {e}"))?;
            for k in keys {
                let v: String = redis::cmd("GET")
                    .arg(&k)
                    .query(&mut c)
                    .map_err(|e| format!("{s} {k}: {e}"))?;
                parse(&v, &format!("{s} {k}"), &mut out)?;
            }
            continue;
        }
        let p = Path::new(s);
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut f: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{s}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "head"))
                .collect();
            f.sort();
            f
        } else {
            vec![p.to_path_buf()]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            parse(&text, &f.display().to_string(), &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A chain of `n` records (blank lines, a checkpoint every `every`; with `long`, record 7
    /// bigger than a chunk), as lines with their 1-based line numbers.
    fn chain(n: u64, every: u64, long: bool) -> Vec<(usize, String)> {
        let (mut prev, mut lines, mut line_no) = (GENESIS.to_string(), Vec::new(), 0);
        for seq in 1..=n {
            let body = if seq % every == 0 {
                json!({"kind": "checkpoint", "chain": "t", "count": seq - 1, "head": prev})
            } else if long && seq == 7 {
                json!({"kind": "x", "pad": "p".repeat(CHUNK + 1000)})
            } else {
                json!({"kind": "x", "pad": "\"q\"".repeat(usize::try_from(seq % 300).unwrap())})
            };
            let (line, hash) =
                njord_core::audit::seal_line(body.as_object().unwrap().clone(), (&prev, seq - 1))
                    .unwrap();
            if seq % 997 == 0 {
                lines.push((line_no + 1, String::new()));
                line_no += 1;
            }
            line_no += 1;
            lines.push((line_no, line));
            prev = hash;
        }
        lines
    }

    fn verify_text(dir: &Path, lines: &[(usize, String)]) -> ChainReport {
        let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
        std::fs::write(dir.join("audit.t.ndjson"), text).unwrap();
        let mut reports = verify_paths(&[dir.to_path_buf()], None, 0, &[]).unwrap();
        reports.remove(0)
    }

    /// The fast pass reads any file the same whatever its chunk size: plain or gzipped, with
    /// or without a last newline; a torn last line sends it to the exact pass.
    #[test]
    fn the_fast_pass_reads_the_same_at_every_chunk_size() {
        let dir = tempfile::tempdir().unwrap();
        let lines = chain(40, 10, false);
        let (n, text) = (
            lines.len(),
            lines
                .iter()
                .map(|(_, l)| format!("{l}\n"))
                .collect::<String>(),
        );
        let last_seq = lines.iter().filter(|(_, l)| !l.is_empty()).count() as u64;
        let plain = dir.path().join("plain.ndjson");
        let gz = dir.path().join("gz.ndjson.gz");
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, text.as_bytes()).unwrap();
        std::fs::write(&gz, z.finish().unwrap()).unwrap();
        let finders = MarkFinders::default();
        for (content, torn) in [
            (text.clone(), false),
            (text.trim_end().to_string(), false),
            (text.clone() + &lines[n - 1].1[..30], true),
        ] {
            std::fs::write(&plain, &content).unwrap();
            for chunk in (1..=16).chain([63, 64, 1000, CHUNK]) {
                for path in [&plain, &gz] {
                    let pass = fast_pass(path, chunk, &[5], &finders).unwrap();
                    if torn && path == &plain {
                        assert!(pass.is_none(), "chunk {chunk}");
                        continue;
                    }
                    let s = pass.unwrap();
                    assert_eq!(s.first.as_ref().map(|f| f.0), Some(1));
                    assert_eq!(s.last.as_ref().map(|h| h.seq), Some(last_seq));
                    assert_eq!(s.anchored.iter().map(|a| a.0).collect::<Vec<_>>(), [5]);
                    let marks: Vec<u64> = s.marks.iter().map(|m| m.1).collect();
                    assert_eq!(marks, [10, 20, 30, 40], "chunk {chunk}");
                    assert_eq!(s.line_no, n, "chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn a_file_of_many_chunks_is_checked_whole_and_a_break_past_the_first_chunk_is_placed() {
        let dir = tempfile::tempdir().unwrap();
        let lines = chain(12_000, 1000, true);
        let report = verify_text(dir.path(), &lines);
        assert_eq!(report.problem, None);
        assert_eq!((report.records, report.checkpoints), (12_000, 12));
        // A record edited, then one deleted, far past the first chunk.
        let file = dir.path().join("audit.t.ndjson").display().to_string();
        let at = lines.len() - 500;
        let mut edited = lines.clone();
        edited[at].1 = edited[at].1.replace("\"kind\":\"x\"", "\"kind\":\"y\"");
        let report = verify_text(dir.path(), &edited);
        let problem = report.problem.unwrap();
        assert_eq!(
            (problem.kind, problem.at),
            ("modified", format!("{file}:{}", lines[at].0))
        );
        let mut cut = lines.clone();
        cut.remove(at);
        let problem = verify_text(dir.path(), &cut).problem.unwrap();
        assert_eq!(problem.kind, "deleted");
        assert_eq!(problem.at, format!("{file}:{}", lines[at + 1].0 - 1));
        // A checkpoint that no longer closes the record before it, in a later chunk.
        let mut forged = lines.clone();
        let cp = lines
            .iter()
            .rposition(|(_, l)| l.contains("checkpoint"))
            .unwrap();
        forged[cp].1 = forged[cp].1.replace("\"count\":11999", "\"count\":11998");
        assert_eq!(
            verify_text(dir.path(), &forged).problem.unwrap().kind,
            "modified"
        );
        // An anchor past the first chunk: the record it names, or a rewritten one.
        verify_text(dir.path(), &lines);
        let hash_of = |seq: usize| {
            let v: Value = serde_json::from_str(
                &lines
                    .iter()
                    .filter(|(_, l)| !l.is_empty())
                    .nth(seq - 1)
                    .unwrap()
                    .1,
            )
            .unwrap();
            v["hash"].as_str().unwrap().to_string()
        };
        for (hash, problem) in [
            (hash_of(11_000), None),
            (hash_of(10_999), Some("rewritten")),
        ] {
            let anchor = Anchor {
                chain: "t".into(),
                seq: 11_000,
                hash,
                ts_ns: 0,
            };
            let report = verify_paths(
                &[dir.path().to_path_buf()],
                None,
                0,
                &[("cron".into(), anchor)],
            )
            .unwrap()
            .remove(0);
            assert_eq!(
                (report.anchored, report.problem.map(|p| p.kind)),
                (1, problem)
            );
        }
    }
}
