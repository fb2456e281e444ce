//! Journal file names: taking `{stem}[.{YYYYMMDD}[.{n}]].ndjson[.gz]` apart, and the names a
//! rotated or compressed file gets.

use std::path::{Path, PathBuf};

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
    pub(super) fn order(&self) -> (bool, u32, u32) {
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

/// `YYYYMMDD` of a UTC day number.
pub(super) fn day_label(day: i64) -> String {
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
pub(super) fn rotated_path(dir: &Path, stem: &str, day: i64) -> PathBuf {
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

pub(super) fn gz_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".gz");
    PathBuf::from(s)
}
