//! A journal's series of files in reading order, listed from a directory or resolved from
//! command-line paths.

use super::name::{JournalName, parse_name};
use super::{JournalError, io_err, other, parent};
use std::path::{Path, PathBuf};

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

/// Every journal series in `dir`, by stem. The structured log ([`crate::logging::APP_LOG`])
/// shares the default directory but holds log records, not events, so it is left out.
pub fn list_dir(dir: &Path) -> Result<Vec<Series>, JournalError> {
    let mut by_stem: std::collections::BTreeMap<String, Vec<(JournalName, PathBuf)>> =
        Default::default();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == crate::logging::APP_LOG {
            continue;
        }
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
/// in it (or, when it holds no journal, every Parquet and Arrow file under it: an export's
/// Hive partitions), a pattern (`'data/**/*.parquet'`, quoted so the shell leaves it) gives
/// the files it matches (the daily files of a Hive partition as one series, see
/// `hive_days_as_series`), a path that is not a file names a stem
/// (`var/log/njord/md.trades.ATOMUSDT`), and files are grouped by stem and put in series order,
/// whatever order the shell globbed them in.
pub fn resolve(paths: &[PathBuf]) -> Result<Vec<Series>, JournalError> {
    let mut out: Vec<Series> = Vec::new();
    // Named files of each stem, by position in `out`.
    let mut named: Vec<(usize, Vec<(JournalName, PathBuf)>)> = Vec::new();
    for p in expand_patterns(paths)? {
        let p = &p;
        if p.is_dir() {
            let found = list_dir(p)?;
            if found.is_empty() {
                out.extend(columnar_files(p)?.into_iter().map(|f| Series {
                    name: f.display().to_string(),
                    files: vec![f],
                }));
            } else {
                out.extend(found);
            }
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
    Ok(hive_days_as_series(out))
}

/// The daily files of one Hive partition (`…/kind=K/symbol=S/date=D/part-00000.parquet`) as
/// one series in date order, like a journal's rotated files: a day's events all come before
/// the next day's, so a reader opens one day at a time instead of every file of the tape at
/// once to merge them.
fn hive_days_as_series(series: Vec<Series>) -> Vec<Series> {
    let day_key = |s: &Series| -> Option<PathBuf> {
        let [file] = s.files.as_slice() else {
            return None;
        };
        let columnar = file
            .extension()
            .is_some_and(|e| e == "parquet" || e == "arrow");
        let date_dir = file.parent()?;
        if !columnar || !date_dir.file_name()?.to_str()?.starts_with("date=") {
            return None;
        }
        Some(date_dir.parent()?.join(file.file_name()?))
    };
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    let mut groups: Vec<(PathBuf, usize)> = Vec::new();
    for s in series {
        let Some(key) = day_key(&s) else {
            out.push(s);
            continue;
        };
        match groups.iter().find(|(k, _)| *k == key) {
            Some(&(_, i)) => out[i].files.extend(s.files),
            None => {
                groups.push((key.clone(), out.len()));
                out.push(Series {
                    name: key.display().to_string(),
                    files: s.files,
                });
            }
        }
    }
    for (_, i) in groups {
        // `date=YYYY-MM-DD` sorts by date.
        out[i].files.sort();
    }
    out
}

/// Paths with the patterns among them (`*`, `?`, `[`, not an existing path) replaced by the
/// files they match, in sorted order.
fn expand_patterns(paths: &[PathBuf]) -> Result<Vec<PathBuf>, JournalError> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let text = p.to_string_lossy();
        if p.exists() || !text.contains(['*', '?', '[']) {
            out.push(p.clone());
            continue;
        }
        let pattern = glob::glob(&text).map_err(|e| other(p, format!("bad pattern: {e}")))?;
        let mut matched: Vec<PathBuf> = pattern
            .filter_map(Result::ok)
            .filter(|m| m.is_file())
            .collect();
        if matched.is_empty() {
            return Err(other(p, "no file matches the pattern"));
        }
        matched.sort();
        out.extend(matched);
    }
    Ok(out)
}

/// Every `.parquet` and `.arrow` file under `dir`, sorted, each its own source.
fn columnar_files(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(super::io_err(&d))? {
            let path = entry.map_err(super::io_err(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "parquet" || e == "arrow")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
