//! Journals to Parquet (zstd) or Arrow IPC: one file, a Hive layout
//! (`kind=trade/symbol=ATOMUSDT/date=2026-01-02/part-00000.parquet`), or an Arrow stream.
//!
//! Rows are sorted by event time (stable, so equal times keep their journal order); decimals
//! get the largest scale of their column, so no digit is lost; the same input always gives the
//! same bytes. Each group is held in memory until it is written.

use super::schema::{self, Col, RecordKind, Ty, meta};
use crate::journal::{JournalReader, LineError, Series};
use arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Array, Float64Array, Int64Builder, RecordBatch,
    StringBuilder, TimestampNanosecondBuilder, UInt32Array, UInt64Builder,
};
use arrow::datatypes::DataType;
use arrow::datatypes::{Field, Int32Type, Schema};
use njord_core::backtest::metrics::EquityPoint;
use njord_core::event::{Decoder, Event};
use njord_core::num;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Parquet,
    Arrow,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }
}

/// Where an export goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One file holding every kind (a `kind` column, the union of the kinds' columns).
    File(PathBuf),
    /// A directory of Hive partitions by kind, symbol and UTC date.
    Hive(PathBuf),
    /// An Arrow IPC stream on stdout.
    Stdout,
    /// An Arrow IPC stream in [`Summary::stream`] (the Python module's `read`).
    Memory,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    pub target: Target,
    /// Adds a `<col>_f64` float companion after every decimal column.
    pub float64: bool,
    /// Only records of this kind.
    pub only: Option<RecordKind>,
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Each file written and its rows (`-` for stdout).
    pub files: Vec<(PathBuf, usize)>,
    pub rows: usize,
    /// The stream written for [`Target::Memory`].
    pub stream: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Data(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |e| ExportError::Io(path.display().to_string(), e)
}

/// One value of a row, in its kind's column order.
#[derive(Debug, Clone)]
enum Cell<'a> {
    Null,
    Time(i64),
    Dec(Decimal),
    Str(&'a str),
    Owned(String),
    Int(i64),
    UInt(u64),
    Bool(bool),
}

/// Exports the events of `series` (bad lines go to `on_bad` and are left out).
pub fn export(
    series: &[Series],
    opts: &Options,
    on_bad: &mut dyn FnMut(LineError),
) -> Result<Summary, ExportError> {
    let hive = matches!(opts.target, Target::Hive(_));
    if let Target::Hive(dir) = &opts.target
        && dir.read_dir().is_ok_and(|mut d| d.next().is_some())
    {
        return Err(ExportError::Data(format!(
            "{}: the directory is not empty; an export never mixes with older files (remove it or name another)",
            dir.display()
        )));
    }
    let sources = sources_json(series)?;
    let mut groups = Groups {
        hive,
        only: opts.only,
        map: BTreeMap::new(),
        stages: Vec::new(),
        last: None,
    };
    let mut decoder = Decoder::default();
    for file in series.iter().flat_map(|s| &s.files) {
        let mut reader = JournalReader::open(file).map_err(|e| ExportError::Data(e.to_string()))?;
        let name = reader.name().to_string();
        while let Some(line) = reader.next_line() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    on_bad(e);
                    continue;
                }
            };
            let bad = |reason: String| LineError {
                file: name.clone(),
                line: line.lineno,
                reason,
            };
            if line.text.starts_with("{\"kind\":\"equity\"") {
                match serde_json::from_str::<EquityPoint>(line.text) {
                    Ok(p) => {
                        let cells = [
                            Cell::Time(p.ts_ns),
                            Cell::Dec(p.equity),
                            Cell::Dec(p.cash),
                            Cell::Dec(p.position_value),
                        ];
                        groups.push(RecordKind::Equity, p.ts_ns, None, &cells);
                    }
                    Err(e) => on_bad(bad(format!("bad equity line: {e}"))),
                }
                continue;
            }
            match decoder.line(line.text.as_bytes()) {
                None => {}
                Some(Err(reason)) => on_bad(bad(reason)),
                Some(Ok((_, Event::Trade(t)))) => {
                    // The bulk of every export: its cells stay on the stack.
                    let cells = [
                        Cell::Str(&t.venue),
                        Cell::Str(&t.symbol),
                        Cell::Str(&t.trade_id),
                        Cell::Dec(t.price),
                        Cell::Dec(t.qty),
                        Cell::Str(t.side.as_str()),
                        Cell::Time(t.ts_ns),
                        t.ts_local_ns.map_or(Cell::Null, Cell::Time),
                    ];
                    let kind = RecordKind::Event(njord_core::event::Kind::Trade);
                    groups.push(kind, t.ts_ns, Some(&t.symbol), &cells);
                }
                Some(Ok((_, ev))) => {
                    let kind = RecordKind::Event(ev.kind());
                    let mut cells = Vec::with_capacity(12);
                    event_cells(&ev, kind.columns(), &mut cells);
                    groups.push(kind, ev.ts_ns(), ev.symbol(), &cells);
                }
            }
        }
    }
    let mut groups = groups.finish();
    let mut summary = Summary::default();
    if groups.is_empty() && !hive {
        // An empty input still gives a readable (empty) file.
        groups.insert(GroupKey::default(), Stage::new(true, false));
    }
    // One scale per kind and column over the whole export, so engines that read the
    // partitions together (DuckDB takes the first file's type) lose no digit.
    let mut scales: HashMap<(Option<RecordKind>, &'static str), u32> = HashMap::new();
    for (key, stage) in &groups {
        for (name, scale) in stage.decimal_scales() {
            let s = scales.entry((key.kind, name)).or_default();
            *s = (*s).max(scale);
        }
    }
    let mut dirs: HashMap<PathBuf, String> = HashMap::new();
    for (key, stage) in groups {
        let scale_of = |name: &str| scales.get(&(key.kind, name)).copied().unwrap_or(0);
        let rows = stage.rows;
        let mut kvs = vec![
            (meta::SCHEMA_VERSION, schema::SCHEMA_VERSION.to_string()),
            (meta::VERSION, env!("CARGO_PKG_VERSION").to_string()),
            (meta::SOURCES, sources.clone()),
            (meta::ROWS, rows.to_string()),
        ];
        if let Some(k) = key.kind {
            kvs.push((meta::KIND, k.as_str().to_string()));
        }
        if let Some(s) = &key.symbol {
            kvs.push((meta::SYMBOL, s.clone()));
        }
        let (batch, time_col) = stage.finish(opts.float64, &scale_of, kvs)?;
        match &opts.target {
            Target::Stdout => {
                let stdout = std::io::BufWriter::new(std::io::stdout().lock());
                write_arrow_stream(&batch, stdout)?
                    .flush()
                    .map_err(io(Path::new("-")))?;
                summary.files.push((PathBuf::from("-"), rows));
            }
            Target::Memory => {
                summary.stream = write_arrow_stream(&batch, Vec::new())?;
            }
            Target::File(path) => {
                write_file(path, opts.format, &batch, time_col)?;
                summary.files.push((path.clone(), rows));
            }
            Target::Hive(root) => {
                let dir = key.dir(root);
                if let Some(sym) = &key.symbol
                    && let Some(other) = dirs.insert(dir.clone(), sym.clone())
                    && &other != sym
                {
                    return Err(ExportError::Data(format!(
                        "symbols `{other}` and `{sym}` would share the partition {}",
                        dir.display()
                    )));
                }
                std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                let path = dir.join(format!("part-00000.{}", opts.format.extension()));
                write_file(&path, opts.format, &batch, time_col)?;
                summary.files.push((path, rows));
            }
        }
        summary.rows += rows;
    }
    Ok(summary)
}

/// The cells of an event in `cols` order, through its JSON form, which is what the NDJSON
/// writer writes (trades, the bulk, are taken apart directly by the caller).
fn event_cells<'a>(ev: &'a Event<'_>, cols: &[Col], out: &mut Vec<Cell<'a>>) {
    let value = serde_json::to_value(ev).unwrap_or_default();
    let obj = value.as_object();
    for c in cols {
        let v = obj.and_then(|o| o.get(c.name));
        out.push(match (c.ty, v) {
            (_, None | Some(serde_json::Value::Null)) => Cell::Null,
            (Ty::Json, Some(v)) => Cell::Owned(v.to_string()),
            (Ty::Text | Ty::Label, Some(serde_json::Value::String(s))) => Cell::Owned(s.clone()),
            (Ty::Bool, Some(serde_json::Value::Bool(b))) => Cell::Bool(*b),
            (Ty::Time, Some(serde_json::Value::Number(n))) => {
                n.as_i64().map_or(Cell::Null, Cell::Time)
            }
            (Ty::Int, Some(serde_json::Value::Number(n))) => {
                n.as_i64().map_or(Cell::Null, Cell::Int)
            }
            (Ty::UInt, Some(serde_json::Value::Number(n))) => {
                n.as_u64().map_or(Cell::Null, Cell::UInt)
            }
            (Ty::Decimal, Some(serde_json::Value::Number(n))) => {
                njord_core::num::parse_decimal(&n.to_string()).map_or(Cell::Null, Cell::Dec)
            }
            (_, Some(other)) => Cell::Owned(other.to_string()),
        });
    }
}

/// The files read, with their SHA-256, as the `njord.sources` metadata.
pub(crate) fn sources_json(series: &[Series]) -> Result<String, ExportError> {
    let mut list = Vec::new();
    for f in series.iter().flat_map(|s| &s.files) {
        let mut hasher = Sha256::new();
        crate::journal::hash_file(f, &mut hasher).map_err(io(f))?;
        list.push(serde_json::json!({
            "path": f.display().to_string(),
            "sha256": hex::encode(hasher.finalize()),
        }));
    }
    Ok(serde_json::Value::Array(list).to_string())
}

/// A Hive partition (or, for one file, the single group).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    kind: Option<RecordKind>,
    symbol: Option<String>,
    /// The UTC day (days since 1970-01-01).
    day: i64,
}

impl GroupKey {
    fn dir(&self, root: &Path) -> PathBuf {
        let mut d = root.join(format!(
            "kind={}",
            self.kind.map_or("unknown", RecordKind::as_str)
        ));
        if let Some(s) = &self.symbol {
            // ATOM/USDT → ATOMUSDT, as the venue writes it; the exact symbol is in the metadata.
            let compact: String = s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            d = d.join(format!("symbol={compact}"));
        }
        let date =
            njord_core::time::format_rfc3339(self.day.saturating_mul(njord_core::time::NS_PER_DAY));
        d.join(format!("date={}", date.get(..10).unwrap_or("0000-00-00")))
    }
}

/// The groups being filled, with the last one used at hand: consecutive rows mostly share
/// it, so a row costs a comparison, not a map lookup.
struct Groups {
    hive: bool,
    only: Option<RecordKind>,
    /// Each group's stage, by position in `stages`.
    map: BTreeMap<GroupKey, usize>,
    stages: Vec<Stage>,
    last: Option<(GroupKey, usize)>,
}

impl Groups {
    fn push(&mut self, kind: RecordKind, ts: i64, symbol: Option<&str>, cells: &[Cell<'_>]) {
        if self.only.is_some_and(|k| k != kind) {
            return;
        }
        let day = if self.hive {
            njord_core::time::utc_day(ts)
        } else {
            0
        };
        let at = match &self.last {
            Some((k, at))
                if !self.hive
                    || (k.kind == Some(kind) && k.day == day && k.symbol.as_deref() == symbol) =>
            {
                *at
            }
            _ => {
                let key = if self.hive {
                    GroupKey {
                        kind: Some(kind),
                        symbol: symbol.map(str::to_owned),
                        day,
                    }
                } else {
                    GroupKey::default()
                };
                let hive = self.hive;
                let by_symbol = hive && symbol.is_some();
                let next = self.stages.len();
                let at = *self.map.entry(key.clone()).or_insert(next);
                if at == next {
                    self.stages.push(Stage::new(!hive, by_symbol));
                }
                self.last = Some((key, at));
                at
            }
        };
        self.stages[at].push(kind, ts, cells);
    }

    /// The groups in key order.
    fn finish(self) -> BTreeMap<GroupKey, Stage> {
        let mut stages: Vec<Option<Stage>> = self.stages.into_iter().map(Some).collect();
        self.map
            .into_iter()
            .filter_map(|(k, at)| Some((k, stages.get_mut(at)?.take()?)))
            .collect()
    }
}

/// A dictionary-encoded text column being filled. Rows mostly repeat the row before (one
/// venue, one symbol per partition), which is checked before any hashing.
#[derive(Default)]
struct Labels {
    keys: arrow::array::Int32Builder,
    values: Vec<String>,
    index: HashMap<String, i32>,
    last: Option<i32>,
}

impl Labels {
    fn append_value(&mut self, s: &str) {
        let key = match self.last {
            Some(k) if self.values[k as usize] == s => k,
            // A few values (sides, venues): a scan beats hashing.
            _ => match self.find(s) {
                Some(k) => k,
                None => {
                    let k = self.values.len() as i32;
                    self.values.push(s.to_owned());
                    self.index.insert(s.to_owned(), k);
                    k
                }
            },
        };
        self.last = Some(key);
        self.keys.append_value(key);
    }

    fn append_null(&mut self) {
        self.keys.append_null();
    }

    fn find(&self, s: &str) -> Option<i32> {
        if self.values.len() <= 8 {
            return self.values.iter().position(|v| v == s).map(|k| k as i32);
        }
        self.index.get(s).copied()
    }

    fn finish(&mut self) -> arrow::array::DictionaryArray<Int32Type> {
        let values = arrow::array::StringArray::from_iter_values(&self.values);
        arrow::array::DictionaryArray::new(self.keys.finish(), Arc::new(values))
    }
}

/// A column being filled.
enum Data {
    Time(TimestampNanosecondBuilder),
    Dec(Vec<Option<Decimal>>),
    Text(StringBuilder),
    Label(Labels),
    Int(Int64Builder),
    UInt(UInt64Builder),
    Bool(BooleanBuilder),
}

impl Data {
    fn new(ty: Ty) -> Data {
        match ty {
            Ty::Time => Data::Time(TimestampNanosecondBuilder::new()),
            Ty::Decimal => Data::Dec(Vec::new()),
            Ty::Text | Ty::Json => Data::Text(StringBuilder::new()),
            Ty::Label => Data::Label(Labels::default()),
            Ty::Int => Data::Int(Int64Builder::new()),
            Ty::UInt => Data::UInt(UInt64Builder::new()),
            Ty::Bool => Data::Bool(BooleanBuilder::new()),
        }
    }

    fn push_null(&mut self) {
        match self {
            Data::Time(b) => b.append_null(),
            Data::Dec(v) => v.push(None),
            Data::Text(b) => b.append_null(),
            Data::Label(b) => b.append_null(),
            Data::Int(b) => b.append_null(),
            Data::UInt(b) => b.append_null(),
            Data::Bool(b) => b.append_null(),
        }
    }

    fn push(&mut self, cell: &Cell<'_>) {
        match (self, cell) {
            (d, Cell::Null) => d.push_null(),
            (Data::Time(b), Cell::Time(v)) => b.append_value(*v),
            (Data::Dec(d), Cell::Dec(v)) => d.push(Some(*v)),
            (Data::Text(b), Cell::Str(s)) => b.append_value(s),
            (Data::Text(b), Cell::Owned(s)) => b.append_value(s),
            (Data::Label(b), Cell::Str(s)) => b.append_value(s),
            (Data::Label(b), Cell::Owned(s)) => b.append_value(s),
            (Data::Int(b), Cell::Int(v)) => b.append_value(*v),
            (Data::UInt(b), Cell::UInt(v)) => b.append_value(*v),
            (Data::Bool(b), Cell::Bool(v)) => b.append_value(*v),
            // The schema table and the cells are made for each other (tested); a mismatch
            // would be a bug, kept visible as a null rather than a panic.
            (d, _) => d.push_null(),
        }
    }
}

struct StageCol {
    col: Col,
    data: Data,
}

/// The rows of one group, column by column.
struct Stage {
    /// A `kind` column (one file of several kinds).
    with_kind: bool,
    /// No `symbol` column: a Hive partition's symbol is in its path and metadata.
    without_symbol: bool,
    kind: Labels,
    cols: Vec<StageCol>,
    /// For each kind seen: the stage column of each of its columns, and the other columns.
    /// Kinds are few: a scan of this beats hashing the kind on every row.
    layout: Vec<(RecordKind, Vec<usize>, Vec<usize>)>,
    kinds: Vec<RecordKind>,
    times: Vec<i64>,
    sorted: bool,
    rows: usize,
}

impl Stage {
    fn new(with_kind: bool, without_symbol: bool) -> Stage {
        Stage {
            with_kind,
            without_symbol,
            kind: Labels::default(),
            cols: Vec::new(),
            layout: Vec::new(),
            kinds: Vec::new(),
            times: Vec::new(),
            sorted: true,
            rows: 0,
        }
    }

    fn push(&mut self, kind: RecordKind, ts: i64, cells: &[Cell<'_>]) {
        let at = match self.layout.iter().position(|(k, _, _)| *k == kind) {
            Some(at) => at,
            None => {
                self.add_kind(kind);
                self.layout.len() - 1
            }
        };
        let (_, own, others) = &self.layout[at];
        for (&i, cell) in own.iter().zip(cells) {
            self.cols[i].data.push(cell);
        }
        for &i in others {
            self.cols[i].data.push_null();
        }
        if self.with_kind {
            self.kind.append_value(kind.as_str());
        }
        if self.times.last().is_some_and(|&t| t > ts) {
            self.sorted = false;
        }
        self.times.push(ts);
        self.rows += 1;
    }

    /// Adds a kind's columns that are new (null for the rows before) and redoes the layout.
    fn add_kind(&mut self, kind: RecordKind) {
        self.kinds.push(kind);
        for c in kind.columns() {
            if !self.cols.iter().any(|s| s.col.name == c.name) {
                let mut data = Data::new(c.ty);
                for _ in 0..self.rows {
                    data.push_null();
                }
                self.cols.push(StageCol { col: *c, data });
            }
        }
        self.layout.clear();
        for k in &self.kinds {
            let own: Vec<usize> = k
                .columns()
                .iter()
                .map(|c| {
                    self.cols
                        .iter()
                        .position(|s| s.col.name == c.name)
                        .unwrap_or(0)
                })
                .collect();
            let others = (0..self.cols.len()).filter(|i| !own.contains(i)).collect();
            self.layout.push((*k, own, others));
        }
    }

    /// The largest scale of each decimal column.
    fn decimal_scales(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.cols.iter().filter_map(|s| match &s.data {
            Data::Dec(v) => Some((
                s.col.name,
                v.iter().flatten().map(|d| d.scale()).max().unwrap_or(0),
            )),
            _ => None,
        })
    }

    /// The group as one batch in event-time order, and the index of its time column when
    /// the rows are of one kind.
    fn finish(
        mut self,
        float64: bool,
        scale_of: &dyn Fn(&str) -> u32,
        kvs: Vec<(&str, String)>,
    ) -> Result<(RecordBatch, Option<usize>), ExportError> {
        let single = self.kinds.len() == 1;
        let mut fields: Vec<Field> = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        if self.with_kind {
            fields.push(schema::field("kind", Ty::Label, 0, false));
            arrays.push(Arc::new(self.kind.finish()));
        }
        let mut time_col = None;
        let rows = self.rows;
        for s in &mut self.cols {
            if self.without_symbol && s.col.name == "symbol" {
                continue;
            }
            let (array, scale): (ArrayRef, i8) = match &mut s.data {
                Data::Dec(values) => {
                    let (a, scale) = decimal_array(s.col.name, values, scale_of(s.col.name))?;
                    (Arc::new(a), scale)
                }
                Data::Time(b) => (Arc::new(b.finish().with_timezone("UTC")), 0),
                Data::Text(b) => (Arc::new(b.finish()), 0),
                Data::Label(b) => (Arc::new(b.finish()), 0),
                Data::Int(b) => (Arc::new(b.finish()), 0),
                Data::UInt(b) => (Arc::new(b.finish()), 0),
                Data::Bool(b) => (Arc::new(b.finish()), 0),
            };
            let nullable = !(single && s.col.required);
            if nullable && rows > 0 && array.null_count() == rows {
                // An optional field no row has (a trade's ts_local_ns from a venue without
                // it) is left out: a later export that has it adds the column.
                continue;
            }
            if single && s.col.name == self.kinds[0].time_column() {
                time_col = Some(fields.len());
            }
            fields.push(schema::field(s.col.name, s.col.ty, scale, nullable));
            arrays.push(array);
            if let (true, Data::Dec(values)) = (float64, &s.data) {
                let floats: Float64Array = values.iter().map(|v| v.map(num::nearest_f64)).collect();
                let name = format!("{}{}", s.col.name, schema::F64_SUFFIX);
                fields.push(Field::new(name, arrow::datatypes::DataType::Float64, true));
                arrays.push(Arc::new(floats));
            }
        }
        let metadata = kvs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>();
        let schema = Arc::new(Schema::new(fields).with_metadata(metadata));
        let data_err = |e: arrow::error::ArrowError| ExportError::Data(e.to_string());
        let batch = RecordBatch::try_new(schema, arrays).map_err(data_err)?;
        if self.sorted {
            return Ok((batch, time_col));
        }
        let mut order: Vec<u32> = (0..self.rows as u32).collect();
        order.sort_by_key(|&i| self.times[i as usize]);
        let sorted = arrow::compute::take_record_batch(&batch, &UInt32Array::from(order))
            .map_err(data_err)?;
        Ok((sorted, time_col))
    }
}

/// A decimal column at `scale` (at least each value's own), every value exact.
fn decimal_array(
    name: &str,
    values: &[Option<Decimal>],
    scale: u32,
) -> Result<(Decimal128Array, i8), ExportError> {
    let scale = values
        .iter()
        .flatten()
        .map(|d| d.scale())
        .max()
        .unwrap_or(0)
        .max(scale);
    const LIMIT: i128 = 10i128.pow(38);
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        out.push(match v {
            None => None,
            Some(d) => {
                let m = 10i128
                    .checked_pow(scale - d.scale())
                    .and_then(|f| d.mantissa().checked_mul(f))
                    .filter(|m| m.abs() < LIMIT)
                    .ok_or_else(|| {
                        ExportError::Data(format!(
                            "column `{name}`: {d} does not fit decimal128(38, {scale}) beside the column's other values"
                        ))
                    })?;
                Some(m)
            }
        });
    }
    let array = Decimal128Array::from(out)
        .with_precision_and_scale(38, scale as i8)
        .map_err(|e| ExportError::Data(e.to_string()))?;
    Ok((array, scale as i8))
}

pub(crate) fn write_file(
    path: &Path,
    format: Format,
    batch: &RecordBatch,
    time_col: Option<usize>,
) -> Result<(), ExportError> {
    // Written beside and renamed: a reader never sees half a file.
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let data_err =
        |e: &dyn std::fmt::Display| ExportError::Data(format!("{}: {e}", path.display()));
    match format {
        Format::Parquet => {
            // The metadata in the Parquet footer too, where DuckDB's parquet_kv_metadata and
            // other readers that skip the Arrow schema look.
            let kvs: Vec<KeyValue> = batch
                .schema()
                .metadata()
                .iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect();
            let mut props = WriterProperties::builder()
                .set_key_value_metadata(Some(kvs))
                .set_compression(Compression::ZSTD(
                    ZstdLevel::try_new(9).map_err(|e| data_err(&e))?,
                ))
                .set_statistics_enabled(EnabledStatistics::Page);
            // Times and counts grow by small steps, ids share prefixes: delta encodings
            // beat dictionaries there (and keep the files well under their gzip NDJSON size).
            for f in batch.schema().fields() {
                let encoding = match f.data_type() {
                    DataType::Timestamp(_, _) | DataType::Int64 | DataType::UInt64 => {
                        Encoding::DELTA_BINARY_PACKED
                    }
                    DataType::Utf8 => Encoding::DELTA_BYTE_ARRAY,
                    _ => continue,
                };
                let path = ColumnPath::from(f.name().as_str());
                if encoding == Encoding::DELTA_BYTE_ARRAY {
                    // Ids and JSON: their text order tells an engine nothing.
                    props =
                        props.set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
                }
                props = props
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, encoding);
            }
            if let Some(i) = time_col {
                props = props.set_sorting_columns(Some(vec![SortingColumn {
                    column_idx: i as i32,
                    descending: false,
                    nulls_first: false,
                }]));
            }
            let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props.build()))
                .map_err(|e| data_err(&e))?;
            w.write(batch).map_err(|e| data_err(&e))?;
            w.close().map_err(|e| data_err(&e))?;
        }
        Format::Arrow => {
            let mut w = arrow::ipc::writer::FileWriter::try_new(file, &batch.schema())
                .map_err(|e| data_err(&e))?;
            w.write(batch).map_err(|e| data_err(&e))?;
            w.finish().map_err(|e| data_err(&e))?;
        }
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn write_arrow_stream<W: Write>(batch: &RecordBatch, out: W) -> Result<W, ExportError> {
    let err = |e: arrow::error::ArrowError| ExportError::Data(e.to_string());
    let mut w = arrow::ipc::writer::StreamWriter::try_new(out, &batch.schema()).map_err(err)?;
    w.write(batch).map_err(err)?;
    w.finish().map_err(err)?;
    w.into_inner().map_err(err)
}

/// A sweep's trials as one Parquet file (`sweep.parquet`, and each shard's results): the trial
/// number, each parameter as written, and the metrics of `sweep.csv`, money in exact decimals.
/// Rows in the order given.
pub fn write_sweep(
    path: &Path,
    axes: &[njord_core::backtest::sweep::Axis],
    rows: &[njord_core::backtest::sweep::Row],
) -> Result<(), ExportError> {
    use arrow::array::{StringArray, UInt64Array};
    use njord_core::backtest::metrics::Summary;
    let mut fields = vec![Field::new("trial", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(
        rows.iter().map(|r| r.index as u64 + 1),
    ))];
    for (k, axis) in axes.iter().enumerate() {
        fields.push(Field::new(axis.label(), DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.values[k].as_str()),
        )));
    }
    type Ratio = fn(&Summary) -> Option<f64>;
    let ratios: [(&str, Ratio); 11] = [
        ("total_return", |m| Some(m.total_return)),
        ("cagr", |m| m.cagr),
        ("sharpe", |m| m.sharpe),
        ("sortino", |m| m.sortino),
        ("calmar", |m| m.calmar),
        ("annual_volatility", |m| m.annual_volatility),
        ("max_drawdown", |m| Some(m.max_drawdown)),
        ("max_drawdown_duration_s", |m| {
            Some(m.max_drawdown_duration_s)
        }),
        ("win_rate", |m| m.win_rate),
        ("profit_factor", |m| m.profit_factor),
        ("exposure", |m| Some(m.exposure)),
    ];
    for (name, get) in ratios {
        fields.push(Field::new(name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| get(&r.result.metrics)),
        )));
    }
    fields.push(Field::new("round_trips", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from_iter_values(
        rows.iter().map(|r| r.result.metrics.round_trips),
    )));
    // Money to 12 decimals: one column holds every trial's, within decimal128's 38 digits.
    type Money = fn(&Summary) -> Decimal;
    let money: [(&str, Money); 2] = [
        ("fees_paid", |m| m.fees_paid),
        ("final_equity", |m| m.final_equity),
    ];
    for (name, get) in money {
        let values: Vec<Option<Decimal>> = rows
            .iter()
            .map(|r| Some(get(&r.result.metrics).round_dp(12)))
            .collect();
        let (array, scale) = decimal_array(name, &values, 0)?;
        fields.push(Field::new(name, DataType::Decimal128(38, scale), false));
        columns.push(Arc::new(array));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| ExportError::Data(format!("{}: {e}", path.display())))?;
    write_file(path, Format::Parquet, &batch, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_every_digit_at_the_columns_largest_scale() {
        use arrow::array::Array;
        let v = [
            Some(Decimal::new(15, 1)),
            None,
            Some(Decimal::new(12345, 4)),
        ];
        let (a, s) = decimal_array("price", &v, 0).unwrap();
        assert_eq!(s, 4);
        assert_eq!(a.value(0), 15000);
        assert!(a.is_null(1));
        assert_eq!(a.value(2), 12345);
    }

    #[test]
    fn a_value_beyond_38_digits_is_an_error_naming_the_column() {
        let v = [
            Some(Decimal::from_i128_with_scale(
                79_228_162_514_264_337_593_543_950_335,
                0,
            )),
            Some(Decimal::from_i128_with_scale(1, 28)),
        ];
        let e = decimal_array("qty", &v, 0).unwrap_err().to_string();
        assert!(e.contains("column `qty`"), "{e}");
    }
}
