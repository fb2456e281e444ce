//! The backtester's fast path for Parquet trade partitions: trades built straight from the
//! columns (no text in between), a batch at a time, merged by event time across files.
//! Memory stays flat in the tape's length: one batch per file is held.

use super::schema::meta;
use arrow::array::{Array, AsArray, DictionaryArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int32Type, TimeUnit, TimestampNanosecondType};
use njord_core::event::{Event, Side, Trade};
use njord_core::num;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Trade partitions being read in event-time order.
pub struct TradeTape {
    cursors: Vec<Cursor>,
}

struct Cursor {
    file: String,
    symbol: String,
    reader: ParquetRecordBatchReader,
    batch: Option<Columns>,
    row: usize,
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
            .map(|k| match side.values.value(k) {
                "buy" => Some(Side::Buy),
                "sell" => Some(Side::Sell),
                _ => None,
            })
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
            match self.reader.next() {
                None => {
                    self.batch = None;
                    return Ok(false);
                }
                Some(Err(e)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", self.file),
                    ));
                }
                Some(Ok(b)) => {
                    let cols = Columns::of(&b).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: a batch without the trade columns", self.file),
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

    fn head_ts(&self) -> Option<i64> {
        let b = self.batch.as_ref()?;
        Some(if b.ts.is_valid(self.row) {
            b.ts.value(self.row)
        } else {
            i64::MIN
        })
    }
}

impl TradeTape {
    /// The tape when every file is a Parquet trade partition of `njord-journal export`
    /// (kind and symbol in its metadata, the trade columns and types); `None` otherwise, for
    /// the general reader.
    pub fn open(files: &[PathBuf]) -> io::Result<Option<TradeTape>> {
        let mut cursors = Vec::with_capacity(files.len());
        for f in files {
            let Some(c) = open_partition(f)? else {
                return Ok(None);
            };
            cursors.push(c);
        }
        if cursors.is_empty() {
            return Ok(None);
        }
        for c in &mut cursors {
            c.advance()?;
        }
        Ok(Some(TradeTape { cursors }))
    }

    /// Calls `on_event` with every trade in event-time order (ties: files in the order given)
    /// and `on_bad` with `file:row: reason` for a row that is no valid trade.
    pub fn for_each(
        &mut self,
        mut on_event: impl FnMut(&Event<'_>),
        mut on_bad: impl FnMut(String),
    ) -> io::Result<()> {
        let mut rows = vec![0u64; self.cursors.len()];
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
                rows[i] += 1;
                if let Some(b) = &c.batch {
                    match b.trade(&c.symbol, c.row) {
                        Some(t) => {
                            let ev = Event::Trade(t);
                            match njord_core::event::validate(&ev) {
                                Ok(()) => on_event(&ev),
                                Err(e) => on_bad(format!("{}:{}: {e}", c.file, rows[i])),
                            }
                        }
                        None => on_bad(format!("{}:{}: not a complete trade row", c.file, rows[i])),
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

fn open_partition(path: &Path) -> io::Result<Option<Cursor>> {
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
    let reader = builder.with_batch_size(64 * 1024).build().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    Ok(Some(Cursor {
        file: path.display().to_string(),
        symbol,
        reader,
        batch: None,
        row: 0,
    }))
}
