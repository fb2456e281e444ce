//! Reading trails back: every chain under the given paths checked from its first file to its
//! last — the hash chain (through the core's [`verify`]), the links between files, the
//! checkpoints' signatures, and the anchors kept outside the trail.

use super::keys::{checkpoint_message, verify_signature};
use super::trail::CHAIN_PREFIX;
use crate::journal::{Series, decompressed, resolve};
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

/// A file's text, gzip or plain.
fn read_text(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut text = Vec::new();
    decompressed(f)
        .and_then(|mut r| r.read_to_end(&mut text))
        .map_err(|e| format!("{shown}: {e}"))?;
    String::from_utf8(text).map_err(|e| format!("{shown}: not UTF-8: {e}"))
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

fn check_chain(
    series: &Series,
    chain: String,
    public_key: Option<&str>,
    max_unsigned: u64,
    anchors: &[(String, Anchor)],
) -> ChainReport {
    let mut report = ChainReport {
        chain: chain.clone(),
        files: series.files.len(),
        ..ChainReport::default()
    };
    let mut head = Head {
        hash: GENESIS.to_string(),
        seq: 0,
    };
    let mine: Vec<&(String, Anchor)> = anchors.iter().filter(|(_, a)| a.chain == chain).collect();
    // The last record a signed checkpoint covers, and the last `stop` record.
    let mut covered = 0u64;
    let mut last_stop: Option<(u64, String)> = None;
    // The hash of each anchored record, once met.
    let mut anchored: Vec<Option<String>> = vec![None; mine.len()];
    let last_file = series.files.len().saturating_sub(1);
    // Files are read (and inflated) a window at a time, one per core, then followed in order.
    let window = rayon::current_num_threads().max(1);
    let files = series
        .files
        .chunks(window)
        .enumerate()
        .flat_map(|(w, group)| {
            let texts: Vec<Result<String, String>> =
                group.par_iter().map(|f| read_text(f)).collect();
            texts
                .into_iter()
                .enumerate()
                .map(move |(k, t)| (w * window + k, t))
        });
    for (fi, text) in files {
        let file = &series.files[fi];
        let text = match text {
            Ok(t) => t,
            Err(detail) => {
                report.problem = Some(Problem {
                    at: file.display().to_string(),
                    kind: "unreadable",
                    detail,
                });
                break;
            }
        };
        let ends_torn = fi == last_file && !text.is_empty() && !text.ends_with('\n');
        let lines: Vec<(usize, &str)> = text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect();
        let at = |i: usize| format!("{}:{}", file.display(), lines[i - 1].0);
        let start = head.clone();
        let texts: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
        // The per-line check (hashing) on every core; the links are then followed in order.
        let checks: Vec<Intact<'_>> = texts
            .par_iter()
            .with_min_len(4096)
            .map(|l| check_line(l))
            .collect();
        let (good, broken) = match verify_checked(&texts, &checks, start.clone(), ends_torn) {
            Ok(h) => {
                head = h;
                (lines.len(), None)
            }
            Err((Break::TornLastLine { at: i }, h)) => {
                report.torn = Some(at(i));
                head = h;
                (i - 1, None)
            }
            Err((b, h)) => {
                head = h;
                let i = break_at(&b);
                let previous = fi
                    .checked_sub(1)
                    .map(|p| series.files[p].display().to_string());
                (i - 1, Some(problem_of(&b, at(i), previous)))
            }
        };
        // The anchored records among those that passed: record `seq` is line `seq - start - 1`.
        for (k, (_, a)) in mine.iter().enumerate() {
            if a.seq > start.seq && a.seq <= start.seq.saturating_add(good as u64) {
                let line = lines[(a.seq - start.seq - 1) as usize].1;
                anchored[k] = serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v["hash"].as_str().map(str::to_string));
            }
        }
        for (i, (_, line)) in lines.iter().enumerate().take(good) {
            // Checkpoints and stops, by their parsed kind (a line that merely mentions them
            // is read and passed over).
            if !line.contains("checkpoint") && !line.contains("stop") {
                continue;
            }
            let seq = start.seq + i as u64 + 1;
            match check_checkpoint(line, &chain, public_key) {
                Err(detail) => {
                    report.checkpoints += 1;
                    report.problem.get_or_insert(Problem {
                        at: at(i + 1),
                        kind: "bad signature",
                        detail,
                    });
                }
                Ok(Mark::Signed) => {
                    report.checkpoints += 1;
                    report.signed += 1;
                    covered = seq;
                }
                Ok(Mark::Unchecked) => report.checkpoints += 1,
                Ok(Mark::Stop) => {
                    last_stop = Some((seq, at(i + 1)));
                }
                Ok(Mark::Other) => {}
            }
        }
        report.records = head.seq;
        if let Some(p) = broken {
            report.problem.get_or_insert(p);
        }
        if report.problem.is_some() {
            break;
        }
    }
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
