//! Parquet and Arrow IPC files read as the canonical NDJSON lines of their rows, so every
//! reader of journals takes them: a row is a line, numbered as the file's row.
//!
//! A file must hold Njord's columns ([`schema`]): a missing required column, a column of
//! another type (a float where a decimal belongs, a timestamp without UTC) or a column no
//! kind has is an error naming the column and what was expected. Nothing is coerced or dropped.

use super::schema::{self, Col, RecordKind, Ty, meta};
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, RecordBatch};
use arrow::datatypes::{DataType, Int8Type, Int16Type, Int32Type, Int64Type, SchemaRef, TimeUnit};
use arrow::datatypes::{UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use njord_core::event::{Event, Side, Trade, write_json_str};
use njord_core::num;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::io::{self, Read};

/// A columnar format, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columnar {
    Parquet,
    ArrowFile,
    ArrowStream,
}

/// The bytes [`sniff`] needs to see.
pub const MAGIC_LEN: usize = 6;

/// The columnar format whose file starts with `head`, if any.
pub fn sniff(head: &[u8]) -> Option<Columnar> {
    if head.starts_with(b"PAR1") {
        Some(Columnar::Parquet)
    } else if head.starts_with(b"ARROW1") {
        Some(Columnar::ArrowFile)
    } else if head.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
        Some(Columnar::ArrowStream)
    } else {
        None
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>> + Send>;

/// Opens `source` (its head already read into `head`) as lines.
pub fn lines(
    format: Columnar,
    mut source: impl Read + Send + 'static,
) -> io::Result<Box<dyn Read + Send>> {
    let (schema, batches): (SchemaRef, Batches) = match format {
        Columnar::Parquet => {
            let mut all = Vec::new();
            source.read_to_end(&mut all)?;
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                bytes::Bytes::from(all),
            )
            .map_err(|e| invalid(format!("not a readable Parquet file: {e}")))?;
            // The builder's schema keeps the file's metadata (kind and symbol of a partition).
            let schema = builder.schema().clone();
            let reader = builder
                .with_batch_size(8192)
                .build()
                .map_err(|e| invalid(format!("not a readable Parquet file: {e}")))?;
            (schema, Box::new(reader))
        }
        Columnar::ArrowFile => {
            let mut all = Vec::new();
            source.read_to_end(&mut all)?;
            let reader = arrow::ipc::reader::FileReader::try_new(io::Cursor::new(all), None)
                .map_err(|e| invalid(format!("not a readable Arrow IPC file: {e}")))?;
            (reader.schema(), Box::new(reader))
        }
        Columnar::ArrowStream => {
            let reader = arrow::ipc::reader::StreamReader::try_new(source, None)
                .map_err(|e| invalid(format!("not a readable Arrow IPC stream: {e}")))?;
            (reader.schema(), Box::new(reader))
        }
    };
    let plan = Plan::new(&schema)?;
    Ok(Box::new(Lines {
        batches,
        plan,
        batch: None,
        row: 0,
        base: 0,
        failed: None,
        buf: Vec::with_capacity(64 * 1024),
        pos: 0,
        scratch: Vec::with_capacity(256),
    }))
}

/// How the file's columns map to each kind's.
struct Plan {
    /// The `kind` column, or the one kind of the file (a Hive partition's metadata).
    kind_col: Option<usize>,
    kind: Option<RecordKind>,
    /// The symbol of a Hive partition, whose files have no `symbol` column.
    symbol: Option<String>,
    /// For each kind: each of its columns' index in the file (`None`: absent, all null).
    columns: Vec<(RecordKind, Vec<Option<usize>>)>,
    /// Each file column's type as read.
    types: Vec<ColType>,
}

/// A column's Arrow type, as far as rendering cares.
#[derive(Debug, Clone, Copy)]
enum ColType {
    /// Nanoseconds per unit.
    Time(i64),
    Decimal(u32),
    Text,
    Int,
    UInt,
    Bool,
    /// A float companion (`<col>_f64`) or the kind column: not rendered.
    Skip,
}

impl Plan {
    fn new(schema: &SchemaRef) -> io::Result<Plan> {
        let md = schema.metadata();
        let kind_meta = md.get(meta::KIND).map(String::as_str);
        let kind =
            match kind_meta {
                Some(k) => Some(RecordKind::parse(k).ok_or_else(|| {
                    invalid(format!("metadata {}: unknown kind `{k}`", meta::KIND))
                })?),
                None => None,
            };
        let kind_col = schema.index_of("kind").ok();
        if kind.is_none() && kind_col.is_none() {
            return Err(invalid(
                "no `kind` column and no njord.kind metadata: which events the rows are is unknown",
            ));
        }
        let kinds: Vec<RecordKind> = match kind {
            Some(k) => vec![k],
            None => RecordKind::all().collect(),
        };
        let mut types = Vec::with_capacity(schema.fields().len());
        for (i, f) in schema.fields().iter().enumerate() {
            let name = f.name().as_str();
            if Some(i) == kind_col {
                check_text(name, f.data_type(), "utf8 text (plain or dictionary)")?;
                types.push(ColType::Skip);
                continue;
            }
            if let Some(base) = name.strip_suffix(schema::F64_SUFFIX)
                && schema.index_of(base).is_ok()
                && f.data_type() == &DataType::Float64
            {
                types.push(ColType::Skip);
                continue;
            }
            let Some(col) = kinds
                .iter()
                .flat_map(|k| k.columns())
                .find(|c| c.name == name)
            else {
                let which = kind.map_or("any kind of".to_string(), |k| k.as_str().to_string());
                return Err(invalid(format!(
                    "column `{name}` is not a field of {which} events (an unknown column is never dropped silently)"
                )));
            };
            types.push(col_type(col, f.data_type())?);
        }
        let mut columns = Vec::new();
        for k in kinds {
            let idx: Vec<Option<usize>> = k
                .columns()
                .iter()
                .map(|c| schema.index_of(c.name).ok())
                .collect();
            if kind.is_some() {
                for (c, i) in k.columns().iter().zip(&idx) {
                    let partition = c.name == "symbol" && md.contains_key(meta::SYMBOL);
                    if c.required && i.is_none() && !partition {
                        return Err(invalid(format!(
                            "no column `{}` ({}), which every {} row needs",
                            c.name,
                            schema::expected(c.ty),
                            k.as_str()
                        )));
                    }
                }
            }
            columns.push((k, idx));
        }
        Ok(Plan {
            kind_col,
            kind,
            symbol: md.get(meta::SYMBOL).cloned(),
            columns,
            types,
        })
    }
}

fn check_text(name: &str, t: &DataType, expected: &str) -> io::Result<()> {
    let ok = match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(k, v) => {
            k.is_dictionary_key_type() && matches!(**v, DataType::Utf8 | DataType::LargeUtf8)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(wrong(name, t, expected))
    }
}

fn wrong(name: &str, t: &DataType, expected: &str) -> io::Error {
    let hint = match t {
        DataType::Float32 | DataType::Float64 => {
            " (a float loses digits: write decimal128, e.g. pyarrow's pa.decimal128(38, 8))"
        }
        DataType::Timestamp(_, None) => " (a time-zone-naive timestamp is ambiguous: write tz=UTC)",
        _ => "",
    };
    invalid(format!("column `{name}` is {t}; expected {expected}{hint}"))
}

fn col_type(col: &Col, t: &DataType) -> io::Result<ColType> {
    let name = col.name;
    let expected = schema::expected(col.ty);
    Ok(match col.ty {
        Ty::Time => match t {
            DataType::Timestamp(unit, Some(tz)) if matches!(&**tz, "UTC" | "+00:00" | "Z") => {
                ColType::Time(match unit {
                    TimeUnit::Second => 1_000_000_000,
                    TimeUnit::Millisecond => 1_000_000,
                    TimeUnit::Microsecond => 1_000,
                    TimeUnit::Nanosecond => 1,
                })
            }
            _ => return Err(wrong(name, t, expected)),
        },
        Ty::Decimal => match t {
            DataType::Decimal128(_, s) if (0..=28).contains(s) => ColType::Decimal(*s as u32),
            DataType::Decimal128(_, _) => {
                return Err(wrong(name, t, "decimal128 with a scale of 0 to 28"));
            }
            _ => return Err(wrong(name, t, expected)),
        },
        Ty::Text | Ty::Label | Ty::Json => {
            check_text(name, t, expected)?;
            ColType::Text
        }
        Ty::Int => match t {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => ColType::Int,
            _ => return Err(wrong(name, t, expected)),
        },
        Ty::UInt => match t {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                ColType::UInt
            }
            _ => return Err(wrong(name, t, expected)),
        },
        Ty::Bool => match t {
            DataType::Boolean => ColType::Bool,
            _ => return Err(wrong(name, t, expected)),
        },
    })
}

/// The rows as lines, rendered a batch at a time.
struct Lines {
    batches: Batches,
    plan: Plan,
    batch: Option<RecordBatch>,
    row: usize,
    /// Rows of the batches before this one: row numbers count from the file's start.
    base: usize,
    /// A row that cannot be rendered, reported once the rows before it are read.
    failed: Option<io::Error>,
    buf: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
}

impl Read for Lines {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Lines {
    /// Renders rows into `buf` (about 64 KiB); false at the end.
    fn fill(&mut self) -> io::Result<bool> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        loop {
            let Some(batch) = &self.batch else {
                match self.batches.next() {
                    None => return Ok(false),
                    Some(Err(e)) => return Err(invalid(format!("unreadable data: {e}"))),
                    Some(Ok(b)) => {
                        self.batch = Some(b);
                        self.row = 0;
                        continue;
                    }
                }
            };
            if self.row >= batch.num_rows() {
                self.base += batch.num_rows();
                self.batch = None;
                continue;
            }
            let batch = batch.clone();
            while self.row < batch.num_rows() && self.buf.len() < 64 * 1024 {
                if let Err(e) = render_row(
                    &self.plan,
                    &batch,
                    self.row,
                    &mut self.scratch,
                    &mut self.buf,
                ) {
                    let e = invalid(format!("row {}: {e}", self.base + self.row + 1));
                    if self.buf.is_empty() {
                        return Err(e);
                    }
                    // The rows rendered before it are read first.
                    self.failed = Some(e);
                    return Ok(true);
                }
                self.row += 1;
            }
            return Ok(true);
        }
    }
}

/// Appends row `r` as its canonical line. A row that does not make a valid event is written
/// as rendered, so the reader's validator names it and its row.
fn render_row(
    plan: &Plan,
    batch: &RecordBatch,
    r: usize,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let kind = match (plan.kind, plan.kind_col) {
        (Some(k), _) => k,
        (None, Some(i)) => {
            let name = text_at(batch.column(i), r).unwrap_or_default();
            RecordKind::parse(&name).ok_or_else(|| invalid(format!("unknown kind `{name}`")))?
        }
        (None, None) => unreachable!("Plan::new requires one"),
    };
    let (_, idx) = plan
        .columns
        .iter()
        .find(|(k, _)| *k == kind)
        .ok_or_else(|| invalid(format!("kind `{}` unexpected here", kind.as_str())))?;
    if plan.kind.is_none() {
        // A file of several kinds: a value in another kind's column would be lost.
        for (i, t) in plan.types.iter().enumerate() {
            if matches!(t, ColType::Skip) || idx.contains(&Some(i)) {
                continue;
            }
            if batch.column(i).is_valid(r) {
                return Err(invalid(format!(
                    "a {} row has a value in `{}`, which is not one of its fields",
                    kind.as_str(),
                    batch.schema().field(i).name()
                )));
            }
        }
    }
    if kind == RecordKind::Event(njord_core::event::Kind::Trade)
        && let Some(t) = fast_trade(plan, batch, idx, r)
    {
        Event::Trade(t).write_line(out);
        return Ok(());
    }
    scratch.clear();
    scratch.extend_from_slice(b"{\"kind\":\"");
    scratch.extend_from_slice(kind.as_str().as_bytes());
    scratch.push(b'"');
    for (c, i) in kind.columns().iter().zip(idx) {
        let Some(i) = *i else {
            // A Hive partition's symbol is in its metadata, not a column.
            if let (Some(s), "symbol") = (&plan.symbol, c.name) {
                scratch.extend_from_slice(b",\"symbol\":");
                write_json_str(s, scratch);
            }
            continue;
        };
        let value = batch.column(i);
        if value.is_null(r) {
            continue;
        }
        scratch.push(b',');
        write_json_str(c.name, scratch);
        scratch.push(b':');
        render_value(c, plan.types[i], value, r, scratch)?;
    }
    scratch.push(b'}');
    match kind {
        RecordKind::Equity => out.extend_from_slice(scratch),
        RecordKind::Event(_) => match std::str::from_utf8(scratch)
            .ok()
            .and_then(|s| njord_core::event::decode(s).ok())
        {
            Some(ev) => {
                ev.write_line(out);
                return Ok(());
            }
            None => out.extend_from_slice(scratch),
        },
    }
    out.push(b'\n');
    Ok(())
}

fn render_value(c: &Col, t: ColType, a: &ArrayRef, r: usize, out: &mut Vec<u8>) -> io::Result<()> {
    match t {
        ColType::Time(per) => {
            let v = int_at(a, r).unwrap_or_default();
            let ns = v
                .checked_mul(per)
                .ok_or_else(|| invalid(format!("`{}` is beyond the nanosecond range", c.name)))?;
            out.extend_from_slice(itoa::Buffer::new().format(ns).as_bytes());
        }
        ColType::Decimal(scale) => {
            let d = decimal_at(a, r, scale).ok_or_else(|| {
                invalid(format!(
                    "`{}` does not fit an exact decimal (96 bits, 28 places)",
                    c.name
                ))
            })?;
            num::write_plain(d, out);
        }
        ColType::Text => {
            let s = text_at(a, r).unwrap_or_default();
            if c.ty == Ty::Json {
                out.extend_from_slice(s.as_bytes());
            } else {
                write_json_str(&s, out);
            }
        }
        ColType::Int => out.extend_from_slice(
            itoa::Buffer::new()
                .format(int_at(a, r).unwrap_or_default())
                .as_bytes(),
        ),
        ColType::UInt => out.extend_from_slice(
            itoa::Buffer::new()
                .format(uint_at(a, r).unwrap_or_default())
                .as_bytes(),
        ),
        ColType::Bool => {
            let v = a
                .as_any()
                .downcast_ref::<BooleanArray>()
                .is_some_and(|b| b.value(r));
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        ColType::Skip => {}
    }
    Ok(())
}

/// A trade built straight from its columns, without a JSON round trip; `None` when a value
/// is missing or odd (the general path then renders it for the validator to judge).
fn fast_trade<'a>(
    plan: &'a Plan,
    batch: &'a RecordBatch,
    idx: &[Option<usize>],
    r: usize,
) -> Option<Trade<'a>> {
    let col = |k: usize| idx[k].map(|i| batch.column(i));
    let text = |k: usize| -> Option<Cow<'a, str>> {
        let a = col(k)?;
        a.is_valid(r).then(|| text_at(a, r)).flatten()
    };
    let dec = |k: usize| -> Option<Decimal> {
        let ColType::Decimal(s) = plan.types[idx[k]?] else {
            return None;
        };
        let a = col(k)?;
        a.is_valid(r).then(|| decimal_at(a, r, s)).flatten()
    };
    let time = |k: usize| -> Option<i64> {
        let ColType::Time(per) = plan.types[idx[k]?] else {
            return None;
        };
        let a = col(k)?;
        a.is_valid(r)
            .then(|| int_at(a, r)?.checked_mul(per))
            .flatten()
    };
    let symbol = match text(1) {
        Some(s) => s,
        None => Cow::Borrowed(plan.symbol.as_deref()?),
    };
    let side = Side::parse(&text(5)?)?;
    let ts_local_ns = match idx[7] {
        Some(i) if batch.column(i).is_valid(r) => Some(time(7)?),
        _ => None,
    };
    Some(Trade {
        venue: text(0)?,
        symbol,
        trade_id: text(2)?,
        price: dec(3)?,
        qty: dec(4)?,
        side,
        ts_ns: time(6)?,
        ts_local_ns,
    })
}

fn decimal_at(a: &ArrayRef, r: usize, scale: u32) -> Option<Decimal> {
    let v = a.as_any().downcast_ref::<Decimal128Array>()?.value(r);
    njord_core::num::plain_decimal(v, scale)
}

/// A signed integer or timestamp (in its own unit) at `r`.
fn int_at(a: &dyn Array, r: usize) -> Option<i64> {
    use arrow::datatypes::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    Some(match a.data_type() {
        DataType::Int8 => i64::from(a.as_primitive::<Int8Type>().value(r)),
        DataType::Int16 => i64::from(a.as_primitive::<Int16Type>().value(r)),
        DataType::Int32 => i64::from(a.as_primitive::<Int32Type>().value(r)),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(r),
        DataType::Timestamp(TimeUnit::Second, _) => {
            a.as_primitive::<TimestampSecondType>().value(r)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            a.as_primitive::<TimestampMillisecondType>().value(r)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            a.as_primitive::<TimestampMicrosecondType>().value(r)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            a.as_primitive::<TimestampNanosecondType>().value(r)
        }
        _ => return None,
    })
}

/// An unsigned integer at `r`.
fn uint_at(a: &dyn Array, r: usize) -> Option<u64> {
    Some(match a.data_type() {
        DataType::UInt8 => u64::from(a.as_primitive::<UInt8Type>().value(r)),
        DataType::UInt16 => u64::from(a.as_primitive::<UInt16Type>().value(r)),
        DataType::UInt32 => u64::from(a.as_primitive::<UInt32Type>().value(r)),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(r),
        _ => return None,
    })
}

/// The text of a plain or dictionary-encoded string column at `r`.
fn text_at(a: &ArrayRef, r: usize) -> Option<Cow<'_, str>> {
    if a.is_null(r) {
        // A null dictionary slot's key can be anything: it is never looked up.
        return None;
    }
    match a.data_type() {
        DataType::Utf8 => Some(Cow::Borrowed(a.as_string::<i32>().value(r))),
        DataType::LargeUtf8 => Some(Cow::Borrowed(a.as_string::<i64>().value(r))),
        DataType::Utf8View => Some(Cow::Borrowed(a.as_string_view().value(r))),
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let keys = d.keys();
            let key = if keys.data_type().is_signed_integer() {
                usize::try_from(int_at(keys, r)?).ok()?
            } else {
                usize::try_from(uint_at(keys, r)?).ok()?
            };
            (key < d.values().len()).then(|| text_at(d.values(), key))?
        }
        _ => None,
    }
}
