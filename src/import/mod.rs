//! Imports of downloaded history into Njord events, so a backtest can run on real data.
//!
//! Every format is read the same way: one row becomes one `trade` or `bar` event, decimals
//! are parsed from their text (never through a float), a bad row is reported as
//! `file:line: reason` and skipped, and the rows around it are kept. A file whose first
//! [`PROBE_ROWS`] rows are all bad is not the format asked for: the import stops at once and
//! says what the file looks like instead, rather than skipping thousands of rows.

mod binance;
mod columns;
mod freqtrade;
mod ndjson;

pub use binance::{AggTrades, Klines, Trades, binance_trade_row};
pub use columns::{Columns, GenericCsv, TsUnit};
pub use freqtrade::freqtrade_candles;
pub use ndjson::Ndjson;

use crate::event::{Event, compact_symbol};
use crate::journal::JournalReader;
use std::io;

/// How many bad rows, before any good one, make a file "not this format".
pub const PROBE_ROWS: usize = 5;

/// A line-based format: an optional header, then one event per row.
pub trait Format {
    /// The `import` subcommand that reads this format (`binance-klines`).
    fn command(&self) -> &'static str;
    /// What a file of this format holds, for "this does not look like …".
    fn what(&self) -> String;
    /// Looks at the first row: `Ok(true)` when it is a header (and was read as one).
    fn header(&mut self, _row: &str) -> Result<bool, String> {
        Ok(false)
    }
    /// Converts one data row; `lineno` stands in for ids a format lacks. `Ok(None)` skips
    /// the row (a header).
    fn row<'a>(&'a self, row: &'a str, lineno: u64) -> Result<Option<Event<'a>>, String>;
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub events: u64,
    pub bad: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not in the format asked for (or its header cannot be used).
    #[error("{0}")]
    WrongFormat(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The tally of good and bad rows, holding back the first bad ones until a good row shows
/// the file is the right format after all.
struct Tally {
    stats: ImportStats,
    held: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            stats: ImportStats::default(),
            held: Vec::new(),
        }
    }

    fn good(&mut self, on_bad: &mut impl FnMut(String)) {
        if self.stats.events == 0 {
            self.held.drain(..).for_each(&mut *on_bad);
        }
        self.stats.events += 1;
    }

    /// Counts a bad row; `Err` with the first reason once the file is judged the wrong format.
    fn bad(&mut self, msg: String, on_bad: &mut impl FnMut(String)) -> Result<(), String> {
        self.stats.bad += 1;
        if self.stats.events > 0 {
            on_bad(msg);
            return Ok(());
        }
        self.held.push(msg);
        if self.held.len() >= PROBE_ROWS {
            Err(self.held.swap_remove(0))
        } else {
            Ok(())
        }
    }

    /// The result at the end: a file with bad rows and no good one is the wrong format.
    fn finish(mut self) -> Result<ImportStats, String> {
        if self.stats.events == 0 && !self.held.is_empty() {
            Err(self.held.swap_remove(0))
        } else {
            Ok(self.stats)
        }
    }
}

/// `name: this does not look like …: first reason`, with a guess at the right subcommand.
fn wrong_format(name: &str, what: &str, reason: &str, first_row: &str, own: &str) -> ImportError {
    let hint = match guess(first_row) {
        Some(cmd) if cmd != own => format!(" (it looks like `njord-journal import {cmd}`)"),
        _ => String::new(),
    };
    ImportError::WrongFormat(format!(
        "{name}: this does not look like {what}{hint}; first problem: {reason}"
    ))
}

/// The import subcommand whose format a first row resembles.
fn guess(row: &str) -> Option<&'static str> {
    let row = row.trim_start();
    if row.starts_with('[') {
        return Some("freqtrade");
    }
    if row.starts_with('{') {
        return Some("ndjson");
    }
    let cols: Vec<&str> = row.split(',').map(str::trim).collect();
    let numeric = cols.iter().all(|c| {
        c.parse::<f64>().is_ok()
            || c.eq_ignore_ascii_case("true")
            || c.eq_ignore_ascii_case("false")
    });
    match (numeric, cols.len()) {
        (true, 12) => Some("binance-klines"),
        (true, 8) => Some("binance-aggtrades"),
        (true, 6 | 7) => Some("binance-trades"),
        (false, n) if n > 1 => Some("csv"),
        _ => None,
    }
}

/// Converts a line-based file into events handed to `emit` (which writes them to stdout or
/// a journal). Bad rows go to `on_bad` as `file:line: reason` and are skipped.
pub fn import_lines(
    reader: &mut JournalReader,
    format: &mut impl Format,
    mut emit: impl FnMut(&Event<'_>) -> io::Result<()>,
    mut on_bad: impl FnMut(String),
) -> Result<ImportStats, ImportError> {
    let name = reader.name().to_string();
    let mut tally = Tally::new();
    let mut first_row: Option<String> = None;
    // A header repeated inside the file (dumps joined with `cat`) is skipped.
    let mut header: Option<String> = None;
    let fail = |first: &Option<String>, reason: String, what: String, cmd: &str| {
        wrong_format(&name, &what, &reason, first.as_deref().unwrap_or(""), cmd)
    };
    while let Some(line) = reader.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                if let Err(r) = tally.bad(e.to_string(), &mut on_bad) {
                    return Err(fail(&first_row, r, format.what(), format.command()));
                }
                continue;
            }
        };
        if first_row.is_none() {
            if line.text.starts_with("PK\u{3}\u{4}") {
                return Err(ImportError::WrongFormat(format!(
                    "{name}: a zip archive; unzip it first (unzip -p FILE.zip > FILE.csv)"
                )));
            }
            first_row = Some(line.text.chars().take(200).collect());
            match format.header(line.text) {
                Ok(true) => {
                    header = Some(line.text.to_string());
                    continue;
                }
                Ok(false) => {}
                Err(reason) => {
                    return Err(ImportError::WrongFormat(format!(
                        "{name}:{}: {reason}",
                        line.lineno
                    )));
                }
            }
        }
        if header.as_deref() == Some(line.text) {
            continue;
        }
        match format.row(line.text, line.lineno) {
            Ok(Some(ev)) => {
                emit(&ev)?;
                tally.good(&mut on_bad);
            }
            Ok(None) => {}
            Err(reason) => {
                let msg = format!("{name}:{}: {reason}", line.lineno);
                if let Err(r) = tally.bad(msg, &mut on_bad) {
                    return Err(fail(&first_row, r, format.what(), format.command()));
                }
            }
        }
    }
    tally
        .finish()
        .map_err(|r| fail(&first_row, r, format.what(), format.command()))
}

/// The journal stem an imported event belongs to: `md.trades.{SYM}` for trades (where
/// `njord-ingest` writes them) and `ohlcv.{tf}.{SYM}` for bars (where `njord-bars` does).
pub fn journal_stem(ev: &Event<'_>) -> Option<String> {
    match ev {
        Event::Trade(t) => Some(format!("md.trades.{}", compact_symbol(&t.symbol))),
        Event::Bar(b) => Some(crate::bars::journal_stem(b)),
        _ => None,
    }
}

/// Milliseconds (before year 5138) or microseconds (before 2286) since the epoch, to ns;
/// values already in nanoseconds pass through. Binance's dumps switched from ms to µs.
fn ms_or_us_to_ns(t: i64) -> Option<i64> {
    if t < 0 {
        None
    } else if t < 100_000_000_000_000 {
        t.checked_mul(1_000_000)
    } else if t < 100_000_000_000_000_000 {
        t.checked_mul(1_000)
    } else {
        Some(t)
    }
}

/// An integer column, named in the error.
fn int(text: &str, what: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what} `{}` is not an integer", text.trim()))
}

/// A decimal column, named in the error; exact.
fn dec(text: &str, what: &str) -> Result<rust_decimal::Decimal, String> {
    crate::num::parse_decimal(text).map_err(|e| format!("{what}: {e}"))
}

/// Checks a candle's prices agree with each other (a swapped column shows up here).
fn check_ohlc(
    o: rust_decimal::Decimal,
    h: rust_decimal::Decimal,
    l: rust_decimal::Decimal,
    c: rust_decimal::Decimal,
    v: rust_decimal::Decimal,
) -> Result<(), String> {
    if l > h {
        return Err(format!("low {l} is above high {h}"));
    }
    if o < l || o > h || c < l || c > h {
        return Err(format!(
            "open {o} or close {c} lies outside low {l} .. high {h}"
        ));
    }
    if v.is_sign_negative() && !v.is_zero() {
        return Err(format!("volume {v} is negative"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        format: &mut impl Format,
        text: &str,
    ) -> (Result<ImportStats, String>, Vec<String>, Vec<String>) {
        let mut r =
            JournalReader::from_reader("f.csv", Box::new(io::Cursor::new(text.to_string())));
        let mut out = Vec::new();
        let mut bad = Vec::new();
        let res = import_lines(
            &mut r,
            format,
            |ev| {
                out.push(ev.to_json());
                Ok(())
            },
            |b| bad.push(b),
        )
        .map_err(|e| e.to_string());
        (res, out, bad)
    }

    #[test]
    fn a_bad_row_among_good_ones_is_reported_and_skipped() {
        let mut f = Trades::new("A/B", "binance");
        let (res, out, bad) = run(&mut f, "x,1,1,1,1,true\n1,1,1,1,1,true\n2,1,1,1,2,false\n");
        assert_eq!(res, Ok(ImportStats { events: 2, bad: 1 }));
        assert_eq!(out.len(), 2);
        assert_eq!(bad, ["f.csv:1: id `x` is not an integer"]);
    }

    #[test]
    fn the_wrong_format_stops_at_once_with_a_guess() {
        let kline = "1700000000000,1,2,0.5,1.5,10,1700000059999,15,3,5,7.5,0\n";
        let mut f = Trades::new("A/B", "binance");
        let (res, out, bad) = run(&mut f, &kline.repeat(1000));
        let e = res.unwrap_err();
        assert!(e.starts_with("f.csv: this does not look like"), "{e}");
        assert!(e.contains("`njord-journal import binance-klines`"), "{e}");
        assert!(e.contains("f.csv:1: expected 6 or 7 columns"), "{e}");
        assert!(out.is_empty() && bad.is_empty());
        // Even a short file of nothing but bad rows.
        let (res, _, _) = run(&mut f, "a;b;c\n");
        assert!(res.unwrap_err().contains("this does not look like"));
    }

    #[test]
    fn guesses() {
        assert_eq!(guess("[[1,2,3,4,5,6]]"), Some("freqtrade"));
        assert_eq!(guess(r#"{"price":1}"#), Some("ndjson"));
        assert_eq!(guess("1,2,3,4,5,6,7,8"), Some("binance-aggtrades"));
        assert_eq!(guess("1,2,3,4,5,true"), Some("binance-trades"));
        assert_eq!(guess("date,open,close"), Some("csv"));
        assert_eq!(guess("garbage"), None);
    }

    #[test]
    fn ohlc_checks() {
        let d = |s: &str| crate::num::parse_decimal(s).unwrap();
        assert!(check_ohlc(d("1"), d("2"), d("0.5"), d("1.5"), d("0")).is_ok());
        assert!(
            check_ohlc(d("1"), d("0.5"), d("2"), d("1"), d("0"))
                .unwrap_err()
                .contains("above high")
        );
        assert!(
            check_ohlc(d("3"), d("2"), d("0.5"), d("1"), d("0"))
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            check_ohlc(d("1"), d("2"), d("0.5"), d("1"), d("-1"))
                .unwrap_err()
                .contains("negative")
        );
    }
}
