//! `njord-ctl logs`: every process's log (`{state_dir}/logs/NAME.log`) merged by time, each
//! line under its process's name, filtered by process, level and a regular expression, and
//! followed with `-f`.

use regex::Regex;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Log levels, least severe first.
const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// What to show.
pub struct Filter {
    /// Only these processes (all when empty).
    pub stages: Vec<String>,
    /// Only lines at this level or more severe (lines without a level always pass).
    pub level: Option<usize>,
    pub grep: Option<Regex>,
}

impl Filter {
    /// `level`: trace, debug, info, warn or error (any case).
    pub fn level_of(level: &str) -> Result<usize, String> {
        LEVELS
            .iter()
            .position(|l| l.eq_ignore_ascii_case(level))
            .ok_or_else(|| format!("unknown level `{level}` (trace, debug, info, warn, error)"))
    }

    fn shows(&self, line: &str) -> bool {
        let level_ok = match (self.level, level(line)) {
            (Some(min), Some(l)) => l >= min,
            _ => true,
        };
        level_ok && self.grep.as_ref().is_none_or(|re| re.is_match(line))
    }
}

/// The RFC 3339 time a Njord log line starts with, if it does.
fn time(line: &str) -> Option<&str> {
    let t = line.split_whitespace().next()?;
    (t.len() >= 20 && t.as_bytes()[4] == b'-' && t.as_bytes()[10] == b'T').then_some(t)
}

/// The level of a Njord log line (its second word).
fn level(line: &str) -> Option<usize> {
    time(line)?;
    let word = line.split_whitespace().nth(1)?;
    LEVELS.iter().position(|l| *l == word)
}

/// One process's log and how far it has been read.
struct Source {
    name: String,
    path: PathBuf,
    offset: u64,
    /// The time of the last timed line, for lines without one (continuations, other formats).
    last_time: String,
    /// A line not yet ended by a newline (bytes: it may end inside a character).
    partial: Vec<u8>,
}

impl Source {
    /// The complete lines added since the last call, each with its time. Bytes that are not
    /// UTF-8 are shown replaced, never stop the reading.
    fn read_new(&mut self) -> Vec<(String, String)> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // Truncated or replaced: start again.
            self.offset = 0;
            self.partial.clear();
        }
        let mut bytes = std::mem::take(&mut self.partial);
        let before = bytes.len();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_end(&mut bytes).is_err() {
            self.partial = bytes;
            return Vec::new();
        }
        self.offset += (bytes.len() - before) as u64;
        let mut out = Vec::new();
        let mut rest = bytes.as_slice();
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&rest[..end]).into_owned();
            if let Some(t) = time(&line) {
                self.last_time = t.to_string();
            }
            out.push((self.last_time.clone(), line));
            rest = &rest[end + 1..];
        }
        self.partial = rest.to_vec();
        out
    }
}

/// Prints the logs of `dir` (a session's `logs/`) through `print`, merged by time; with
/// `follow`, keeps printing what is added, every `poll`, until `print` fails.
pub fn show(
    dir: &Path,
    filter: &Filter,
    follow: bool,
    mut print: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sources: Vec<Source> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .filter_map(|path| {
            let name = path.file_stem()?.to_string_lossy().into_owned();
            (filter.stages.is_empty() || filter.stages.contains(&name)).then_some(Source {
                name,
                path,
                offset: 0,
                last_time: String::new(),
                partial: Vec::new(),
            })
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    let width = sources.iter().map(|s| s.name.len()).max().unwrap_or(0);
    loop {
        // Merged by time; lines of one time keep their order within a process.
        let mut batch: BTreeMap<(String, usize, usize), String> = BTreeMap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            for (n, (t, line)) in s.read_new().into_iter().enumerate() {
                if filter.shows(&line) {
                    batch.insert((t, i, n), format!("{:<width$} | {line}\n", s.name));
                }
            }
        }
        for line in batch.values() {
            print(line)?;
        }
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_merge_by_time_and_filter_by_level_and_pattern() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("risk.log"),
            "2026-12-07T06:00:01.000Z  INFO subscribed\n2026-12-07T06:00:03.000Z  WARN slow\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ingest.log"),
            "2026-12-07T06:00:02.000Z ERROR gap\n  continued\n2026-12-07T06:00:04.000Z  INFO ok\n",
        )
        .unwrap();
        let run = |f: &Filter| {
            let mut out = String::new();
            show(dir.path(), f, false, |l| {
                out.push_str(l);
                Ok(())
            })
            .unwrap();
            out
        };
        let all = Filter {
            stages: vec![],
            level: None,
            grep: None,
        };
        let got = run(&all);
        let firsts: Vec<&str> = got
            .lines()
            .map(|l| l.split(" | ").nth(1).unwrap())
            .collect();
        assert_eq!(
            firsts,
            [
                "2026-12-07T06:00:01.000Z  INFO subscribed",
                "2026-12-07T06:00:02.000Z ERROR gap",
                "  continued",
                "2026-12-07T06:00:03.000Z  WARN slow",
                "2026-12-07T06:00:04.000Z  INFO ok"
            ]
        );
        assert!(got.starts_with("risk   | "), "{got}");
        let warn = Filter {
            level: Some(Filter::level_of("warn").unwrap()),
            ..all
        };
        assert_eq!(run(&warn).lines().count(), 3, "a continuation has no level");
        let grep = Filter {
            stages: vec!["ingest".into()],
            level: None,
            grep: Some(Regex::new("g[a]p").unwrap()),
        };
        assert_eq!(run(&grep), "ingest | 2026-12-07T06:00:02.000Z ERROR gap\n");
        assert!(Filter::level_of("loud").is_err());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_replaced_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(
            &path,
            b"2026-12-07T06:00:01.000Z  INFO a\xff\n2026-12-07T06:00:02.000Z  INFO b\n",
        )
        .unwrap();
        let mut out = String::new();
        let all = Filter {
            stages: vec![],
            level: None,
            grep: None,
        };
        show(dir.path(), &all, false, |l| {
            out.push_str(l);
            Ok(())
        })
        .unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.contains("INFO a\u{fffd}") && out.contains("INFO b"),
            "{out}"
        );
    }
}
