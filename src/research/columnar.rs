//! The backtester's fast path for Parquet trade partitions: trades built straight from the
//! columns (no text in between), a batch at a time, merged by event time across files.
//! Memory stays flat in the tape's length: a file is opened only when its first trade (its
//! footer's smallest time) is due and closed when read, so a year of daily partitions holds
//! one batch per symbol, not one per file (nor a descriptor per file).

use super::schema::meta;
use crate::journal::Series;
use arrow::array::{Array, AsArray, DictionaryArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int32Type, TimeUnit, TimestampNanosecondType};
use njord_core::event::{Event, Side, Trade};
use njord_core::num;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::statistics::Statistics;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Trade partitions being read in event-time order.
pub struct TradeTape {
    /// One per series: a Hive partition's days one after another.
    cursors: Vec<Cursor>,
}

/// One series of partitions, read a file at a time.
struct Cursor {
    /// The file being read (or waiting to be), then the series' later ones.
    files: VecDeque<Partition>,
    state: State,
    batch: Option<Columns>,
    row: usize,
    /// Rows of the current file so far, for messages.
    row_no: u64,
}

/// A partition file as its footer describes it.
struct Partition {
    path: PathBuf,
    file: String,
    symbol: String,
    /// The file's smallest time, from its footer's statistics (`i64::MIN` without them):
    /// its place in the merge until it is opened.
    first_ts: i64,
}

enum State {
    /// `files[0]` is not open yet.
    Waiting,
    Open(ParquetRecordBatchReader),
    Done,
}

/// One batch's columns, downcast once.
struct Columns {
    venue: Labels,
    trade_id: StringArray,
    price: (arrow::array::Decimal128Array, u32),
    qty: (arrow::array::Decimal128Array, u32),
    side: Labels,
    /// The side each of `side`'s dictionary values stands for.
    sides: Vec<Option<Side>>,
    ts: arrow::array::PrimitiveArray<TimestampNanosecondType>,
    ts_local: Option<arrow::array::PrimitiveArray<TimestampNanosecondType>>,
}

impl Columns {
    /// The batch's columns when they are exactly as `njord-journal export` writes trades;
    /// `None` sends the tape through the general reader.
    fn of(b: &RecordBatch) -> Option<Columns> {
        let col = |name: &str| b.column_by_name(name);
        let dict = |name: &str| -> Option<Labels> {
            let a = col(name)?;
            match a.data_type() {
                DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                    let d: &DictionaryArray<Int32Type> = a.as_dictionary();
                    Some(Labels {
                        keys: d.keys().clone(),
                        values: d.values().as_string::<i32>().clone(),
                    })
                }
                _ => None,
            }
        };
        let dec = |name: &str| -> Option<(arrow::array::Decimal128Array, u32)> {
            let a = col(name)?;
            match a.data_type() {
                DataType::Decimal128(_, s) if (0..=28).contains(s) => {
                    Some((a.as_primitive().clone(), *s as u32))
                }
                _ => None,
            }
        };
        let time = |name: &str| -> Option<arrow::array::PrimitiveArray<TimestampNanosecondType>> {
            let a = col(name)?;
            match a.data_type() {
                DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) if &**tz == "UTC" => {
                    Some(a.as_primitive().clone())
                }
                _ => None,
            }
        };
        let known = [
            "venue",
            "trade_id",
            "price",
            "qty",
            "side",
            "ts_ns",
            "ts_local_ns",
        ];
        if b.schema()
            .fields()
            .iter()
            .any(|f| !known.contains(&f.name().as_str()))
        {
            return None;
        }
        let side = dict("side")?;
        let sides = (0..side.values.len())
            .map(|k| Side::parse(side.values.value(k)))
            .collect();
        Some(Columns {
            venue: dict("venue")?,
            trade_id: match col("trade_id")?.data_type() {
                DataType::Utf8 => col("trade_id")?.as_string::<i32>().clone(),
                _ => return None,
            },
            price: dec("price")?,
            qty: dec("qty")?,
            side,
            sides,
            ts: time("ts_ns")?,
            ts_local: match col("ts_local_ns") {
                Some(_) => Some(time("ts_local_ns")?),
                None => None,
            },
        })
    }

    fn trade<'a>(&'a self, symbol: &'a str, r: usize) -> Option<Trade<'a>> {
        let dec = |(a, s): &(arrow::array::Decimal128Array, u32)| {
            a.is_valid(r)
                .then(|| num::plain_decimal(a.value(r), *s))
                .flatten()
        };
        let side = self.side.key(r).and_then(|k| *self.sides.get(k)?)?;
        let ts_local_ns = match &self.ts_local {
            Some(a) if a.is_valid(r) => Some(a.value(r)),
            _ => None,
        };
        (self.ts.is_valid(r) && self.trade_id.is_valid(r)).then_some(())?;
        Some(Trade {
            venue: Cow::Borrowed(self.venue.get(r)?),
            symbol: Cow::Borrowed(symbol),
            trade_id: Cow::Borrowed(self.trade_id.value(r)),
            price: dec(&self.price)?,
            qty: dec(&self.qty)?,
            side,
            ts_ns: self.ts.value(r),
            ts_local_ns,
        })
    }
}

/// A dictionary column's keys and values, each downcast once per batch.
struct Labels {
    keys: arrow::array::Int32Array,
    values: StringArray,
}

impl Labels {
    fn key(&self, r: usize) -> Option<usize> {
        if self.keys.is_null(r) {
            return None;
        }
        usize::try_from(self.keys.value(r)).ok()
    }

    fn get(&self, r: usize) -> Option<&str> {
        let k = self.key(r)?;
        (k < self.values.len()).then(|| self.values.value(k))
    }
}

impl Cursor {
    /// Moves to the next row, reading the next batch when this one is done.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            if let Some(b) = &self.batch
                && self.row + 1 < b.ts.len()
            {
                self.row += 1;
                return Ok(true);
            }
            let State::Open(reader) = &mut self.state else {
                return Ok(false);
            };
            match reader.next() {
                None => {
                    // Read: the reader and its buffers go; the series' next file waits.
                    self.batch = None;
                    self.files.pop_front();
                    self.state = if self.files.is_empty() {
                        State::Done
                    } else {
                        State::Waiting
                    };
                    return Ok(false);
                }
                Some(Err(e)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", self.file()),
                    ));
                }
                Some(Ok(b)) => {
                    let cols = Columns::of(&b).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: a batch without the trade columns", self.file()),
                        )
                    })?;
                    if cols.ts.is_empty() {
                        continue;
                    }
                    self.batch = Some(cols);
                    self.row = 0;
                    return Ok(true);
                }
            }
        }
    }

    fn file(&self) -> &str {
        self.files.front().map_or("", |p| &p.file)
    }

    /// The time of the next trade, or for a file not opened yet the earliest it can be.
    fn head_ts(&self) -> Option<i64> {
        if let State::Waiting = self.state {
            return self.files.front().map(|p| p.first_ts);
        }
        let b = self.batch.as_ref()?;
        Some(if b.ts.is_valid(self.row) {
            b.ts.value(self.row)
        } else {
            i64::MIN
        })
    }

    /// Opens the file and moves to its first trade.
    fn open(&mut self) -> io::Result<()> {
        let Some(p) = self.files.front() else {
            return Ok(());
        };
        let invalid = |e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", p.file))
        };
        let file = std::fs::File::open(&p.path).map_err(|e| invalid(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(64 * 1024).build())
            .map_err(|e| invalid(&e))?;
        self.state = State::Open(reader);
        self.row_no = 0;
        self.advance()?;
        Ok(())
    }
}

impl TradeTape {
    /// The tape when every file is a Parquet trade partition of `njord-journal export`
    /// (kind and symbol in its metadata, the trade columns and types); `None` otherwise, for
    /// the general reader.
    pub fn open(series: &[Series]) -> io::Result<Option<TradeTape>> {
        let mut cursors = Vec::with_capacity(series.len());
        for s in series {
            let mut files = VecDeque::with_capacity(s.files.len());
            for f in &s.files {
                let Some(p) = open_partition(f)? else {
                    return Ok(None);
                };
                files.push_back(p);
            }
            if !files.is_empty() {
                cursors.push(Cursor {
                    files,
                    state: State::Waiting,
                    batch: None,
                    row: 0,
                    row_no: 0,
                });
            }
        }
        Ok((!cursors.is_empty()).then_some(TradeTape { cursors }))
    }

    /// Calls `on_event` with every trade in event-time order (ties: files in the order given)
    /// and `on_bad` with `file:row: reason` for a row that is no valid trade.
    pub fn for_each(
        &mut self,
        mut on_event: impl FnMut(&Event<'_>),
        mut on_bad: impl FnMut(String),
    ) -> io::Result<()> {
        loop {
            let head = |c: &Cursor, i: usize| c.head_ts().map(|ts| (ts, i));
            let Some((_, i)) = self
                .cursors
                .iter()
                .enumerate()
                .filter_map(|(i, c)| head(c, i))
                .min()
            else {
                return Ok(());
            };
            if let State::Waiting = self.cursors[i].state {
                // Its first trade may be due: open it, then look again.
                self.cursors[i].open()?;
                continue;
            }
            // The next head of another file: this file runs until it passes it.
            let other = self
                .cursors
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .filter_map(|(j, c)| head(c, j))
                .min();
            let c = &mut self.cursors[i];
            loop {
                c.row_no += 1;
                if let (Some(b), Some(p)) = (&c.batch, c.files.front()) {
                    match b.trade(&p.symbol, c.row) {
                        Some(t) => {
                            let ev = Event::Trade(t);
                            match njord_core::event::validate(&ev) {
                                Ok(()) => on_event(&ev),
                                Err(e) => on_bad(format!("{}:{}: {e}", p.file, c.row_no)),
                            }
                        }
                        None => {
                            on_bad(format!("{}:{}: not a complete trade row", p.file, c.row_no))
                        }
                    }
                }
                if !c.advance()? {
                    break;
                }
                match (c.head_ts(), other) {
                    (Some(ts), Some(o)) if (ts, i) > o => break,
                    _ => {}
                }
            }
        }
    }
}

/// A Parquet trade partition of an export, its footer read (kind, symbol, columns, smallest
/// time) and the file closed again; `None` for any other file.
fn open_partition(path: &Path) -> io::Result<Option<Partition>> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    if file.read(&mut magic)? < 4 || &magic != b"PAR1" {
        return Ok(None);
    }
    // The reader reads at absolute offsets: the four bytes read do not matter.
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    let md = builder.schema().metadata().clone();
    if Columns::of(&RecordBatch::new_empty(builder.schema().clone())).is_none() {
        return Ok(None);
    }
    if md.get(meta::KIND).map(String::as_str) != Some("trade") {
        return Ok(None);
    }
    let Some(symbol) = md.get(meta::SYMBOL).cloned() else {
        return Ok(None);
    };
    let ts = builder
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.name() == "ts_ns");
    let first_ts = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| match ts.and_then(|i| rg.column(i).statistics()) {
            Some(Statistics::Int64(s)) => s.min_opt().copied().unwrap_or(i64::MIN),
            _ => i64::MIN,
        })
        .min()
        .unwrap_or(i64::MIN);
    Ok(Some(Partition {
        path: path.to_path_buf(),
        file: path.display().to_string(),
        symbol,
        first_ts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::research::export::{self, Format, Options, Target};

    const DAY: i64 = 86_400_000_000_000;

    /// Hive trade partitions of `symbols`, each trading every hour for `days` days.
    fn partitions(dir: &Path, symbols: &[&str], days: i64) -> Vec<Series> {
        let mut lines = String::new();
        for h in 0..days * 24 {
            for (k, s) in symbols.iter().enumerate() {
                lines.push_str(&format!(
                    "{{\"kind\":\"trade\",\"venue\":\"v\",\"symbol\":\"{s}\",\"trade_id\":\"{h}\",\"price\":1.{k},\"qty\":1,\"side\":\"buy\",\"ts_ns\":{}}}\n",
                    h * DAY / 24
                ));
            }
        }
        let tape = dir.join("tape.ndjson");
        std::fs::write(&tape, lines).unwrap();
        let series = crate::journal::resolve(&[tape]).unwrap();
        let opts = Options {
            format: Format::Parquet,
            target: Target::Hive(dir.join("parts")),
            float64: false,
            only: None,
        };
        export::export(&series, &opts, &mut |e| panic!("{e}")).unwrap();
        crate::journal::resolve(&[dir.join("parts")]).unwrap()
    }

    /// The trades in the order read, and how many files can be open at once (one per cursor).
    fn read_all(series: &[Series]) -> (Vec<(i64, String)>, usize) {
        let mut tape = TradeTape::open(series).unwrap().unwrap();
        let mut seen = Vec::new();
        tape.for_each(
            |ev| seen.push((ev.ts_ns(), ev.symbol().unwrap_or("").to_string())),
            |bad| panic!("{bad}"),
        )
        .unwrap();
        (seen, tape.cursors.len())
    }

    #[test]
    fn files_open_only_while_their_trades_are_due() {
        let tmp = tempfile::tempdir().unwrap();
        let series = partitions(tmp.path(), &["A/USD"], 30);
        assert_eq!(series.iter().map(|s| s.files.len()).sum::<usize>(), 30);
        let (seen, most_open) = read_all(&series);
        assert_eq!(seen.len(), 30 * 24);
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
        // One day at a time: a long tape holds one file's batch, not thirty.
        assert_eq!(most_open, 1);

        let tmp = tempfile::tempdir().unwrap();
        let series = partitions(tmp.path(), &["A/USD", "B/USD"], 3);
        let (seen, most_open) = read_all(&series);
        assert_eq!(seen.len(), 2 * 3 * 24);
        // Equal times: the file given first (A) first, as in every merge of tapes.
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(most_open, 2);
    }
}
