//! Training rows (`njord-strat features`): one symbol's bars from tapes, a
//! [`FeatureSet`] from a YAML file, forward labels from a [`Labeler`], checked by the leakage
//! guard and written to Parquet.
//!
//! Bars are the tapes' `bar` events of the timeframe; a tape without any is aggregated from
//! its trades by the bar core, as `njord-bars` does (gaps stay gaps). Columns: `ts_ns` (the
//! bar's close time, `timestamp[ns, UTC]`), `symbol`, one `Float64` per feature in the file's
//! order, then one per label (`fwd_ret_5`, …). The same input gives the same bytes.

use super::export::{self, ExportError, Format};
use super::schema::{self, Ty, meta};
use crate::bars::{BarAggregator, Timeframe};
use crate::event::{Bar, Event, Kind};
use crate::journal::Series;
use crate::replay::{Filter, Replay};
use arrow::array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch};
use arrow::array::{StringArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Field, Schema};
use njord_core::features::set::{FeatureSet, Label, Labeler, Ohlcv, check_leakage};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub symbol: String,
    pub timeframe: Timeframe,
    /// The features file (a YAML mapping with one key, `features`).
    pub features: PathBuf,
    pub horizon: usize,
    pub labels: Vec<Label>,
    pub out: PathBuf,
}

/// Why nothing was written: the arguments or files are wrong (usage), or the data is.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Data(String),
}

/// What was written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub bars: usize,
    /// The bars were aggregated from trades (the tapes had no bar of the timeframe).
    pub from_trades: bool,
    /// Trades older than a bar already closed, left out of the aggregation.
    pub late_trades: u64,
    pub rows: usize,
    /// Bars without a whole row: the features warming up (or a bar a feature leaves out).
    pub warm_up: usize,
    /// Rows of the last h bars, which never get a label.
    pub horizon: usize,
    /// Rows whose label had no value (a close not positive).
    pub undefined: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = if self.from_trades {
            "aggregated from trades"
        } else {
            "bar events"
        };
        write!(
            f,
            "{} rows written from {} bars ({source}); dropped: {} for warm-up, {} for the horizon",
            self.rows, self.bars, self.warm_up, self.horizon
        )?;
        if self.undefined > 0 {
            write!(
                f,
                ", {} without a label (a close not positive)",
                self.undefined
            )?;
        }
        if self.late_trades > 0 {
            write!(f, "; {} late trades left out", self.late_trades)?;
        }
        Ok(())
    }
}

/// Reads the features file: a mapping with one key, `features`, the list
/// [`FeatureSet::parse`] reads. Errors name the file and the key.
pub fn load_set(path: &Path) -> Result<(FeatureSet, Value), FeaturesError> {
    let shown = path.display();
    let usage = |msg: String| FeaturesError::Usage(format!("{shown}: {msg}"));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let root: Value =
        serde_saphyr::from_str(&text).map_err(|e| usage(format!("not valid YAML: {e}")))?;
    let Value::Object(top) = &root else {
        return Err(usage("expected a mapping with one key, `features`".into()));
    };
    if let Some(k) = top.keys().find(|k| k.as_str() != "features") {
        return Err(usage(format!(
            "{k}: unknown key; the file holds one list, `features`"
        )));
    }
    let list = top
        .get("features")
        .ok_or_else(|| usage("features: required".into()))?;
    let set = FeatureSet::parse(list).map_err(|(k, m)| usage(format!("{k}: {m}")))?;
    Ok((set, list.clone()))
}

/// The symbol's bars of `tf` in the tapes, by close time: their `bar` events, or bars
/// aggregated from their trades when they have none. Bad lines are reported to `on_bad`
/// (`file:line: reason`) and counted; a bar not after the one before is an error.
fn read_bars(
    series: Vec<Series>,
    symbol: &str,
    tf: Timeframe,
    summary: &mut Summary,
    on_bad: &mut dyn FnMut(String),
) -> Result<Vec<(i64, Ohlcv)>, FeaturesError> {
    let filter = Filter {
        symbols: vec![symbol.to_string()],
        kinds: vec![Kind::Bar, Kind::Trade],
        ..Filter::default()
    };
    let mut replay = Replay::from_series(series, filter);
    let mut bars: Vec<(i64, Ohlcv)> = Vec::new();
    let mut agg = BarAggregator::new(vec![tf], false);
    let mut closed: Vec<Bar<'static>> = Vec::new();
    let mut bad = 0u64;
    while let Some(item) = replay.next() {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                bad += 1;
                on_bad(e.to_string());
                continue;
            }
        };
        match &item.event {
            Event::Bar(b) if b.timeframe == tf.label() => {
                if let Some(&(prev, _)) = bars.last()
                    && b.ts_close_ns <= prev
                {
                    return Err(FeaturesError::Data(format!(
                        "{}:{}: a {tf} bar closing at {} is not after the one before ({}): do the tapes overlap?",
                        item.file,
                        item.lineno,
                        njord_core::time::format_rfc3339(b.ts_close_ns),
                        njord_core::time::format_rfc3339(prev),
                    )));
                }
                bars.push(bar_row(b));
            }
            Event::Trade(t) if bars.is_empty() => {
                if let njord_core::bars::Outcome::Late { .. } = agg.on_trade(t, &mut closed) {
                    summary.late_trades += 1;
                }
            }
            _ => {}
        }
    }
    if bad > 0 {
        return Err(FeaturesError::Data(format!(
            "{bad} bad lines in the tapes (listed above); nothing written"
        )));
    }
    if bars.is_empty() {
        agg.finish(&mut closed);
        summary.from_trades = true;
        bars = closed.iter().map(bar_row).collect();
    }
    if bars.is_empty() {
        return Err(FeaturesError::Data(format!(
            "no {tf} bars and no trades of `{symbol}` in the tapes (symbols as the events write them, e.g. ATOM/USDT)"
        )));
    }
    summary.bars = bars.len();
    Ok(bars)
}

fn bar_row(b: &Bar<'_>) -> (i64, Ohlcv) {
    (b.ts_close_ns, Ohlcv::of_bar(b))
}

/// Makes the rows of `tapes` and writes them to `opts.out`; bad tape lines go to `on_bad`.
pub fn features(
    tapes: &[PathBuf],
    opts: &Options,
    on_bad: &mut dyn FnMut(String),
) -> Result<Summary, FeaturesError> {
    let (mut set, spec) = load_set(&opts.features)?;
    let label_cols: Vec<String> = opts.labels.iter().map(|l| l.column(opts.horizon)).collect();
    for (at, name) in set.names().iter().enumerate() {
        if ["ts_ns", "symbol"].contains(&name.as_str()) || label_cols.contains(name) {
            return Err(FeaturesError::Usage(format!(
                "{}: features[{at}].name: `{name}` is the name of another column (ts_ns, symbol, {})",
                opts.features.display(),
                label_cols.join(", ")
            )));
        }
    }
    let series = crate::journal::resolve(tapes).map_err(|e| FeaturesError::Usage(e.to_string()))?;
    let sources = export::sources_json(&series).map_err(export_err)?;
    let mut summary = Summary::default();
    let bars = read_bars(series, &opts.symbol, opts.timeframe, &mut summary, on_bad)?;

    let width = set.names().len();
    let mut labeler = Labeler::new(opts.horizon, opts.labels.clone(), width);
    let mut ts: Vec<i64> = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); width];
    let mut label_values: Vec<Vec<f64>> = vec![Vec::new(); opts.labels.len()];
    for (ts_ns, bar) in &bars {
        let row = set.update(bar);
        if row.is_none() {
            summary.warm_up += 1;
        }
        if let Some(l) = labeler.push(*ts_ns, bar.ohlc.close, row) {
            ts.push(l.ts_ns);
            for (c, v) in cols.iter_mut().zip(l.row) {
                c.push(*v);
            }
            for (c, v) in label_values.iter_mut().zip(l.labels) {
                c.push(*v);
            }
        }
    }
    summary.rows = ts.len();
    summary.horizon = labeler.pending();
    summary.undefined = labeler.undefined();

    let (feature_cols, label_named) =
        (pairs(set.names(), &cols), pairs(&label_cols, &label_values));
    check_leakage(&feature_cols, &label_named)
        .map_err(|e| FeaturesError::Data(format!("{}: {e}", opts.features.display())))?;

    let mut kvs: HashMap<String, String> = HashMap::new();
    kvs.insert(meta::VERSION.into(), env!("CARGO_PKG_VERSION").into());
    kvs.insert(meta::SOURCES.into(), sources);
    kvs.insert(meta::ROWS.into(), ts.len().to_string());
    kvs.insert(meta::SYMBOL.into(), opts.symbol.clone());
    kvs.insert("njord.timeframe".into(), opts.timeframe.label().into());
    kvs.insert("njord.horizon".into(), opts.horizon.to_string());
    kvs.insert("njord.features".into(), spec.to_string());
    kvs.insert("njord.labels".into(), label_cols.join(","));

    let rows = ts.len();
    let mut fields = vec![
        schema::field("ts_ns", Ty::Time, 0, false),
        schema::field("symbol", Ty::Label, 0, false),
    ];
    let keys = Int32Array::from(vec![0; rows]);
    let symbols = Arc::new(StringArray::from(vec![opts.symbol.as_str()]));
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(TimestampNanosecondArray::from(ts).with_timezone("UTC")),
        Arc::new(DictionaryArray::new(keys, symbols)),
    ];
    for (name, values) in feature_cols.into_iter().chain(label_named) {
        fields.push(Field::new(name, DataType::Float64, false));
        arrays.push(Arc::new(Float64Array::from(values.to_vec())));
    }
    let schema = Arc::new(Schema::new(fields).with_metadata(kvs));
    let batch = RecordBatch::try_new(schema, arrays)
        .map_err(|e| FeaturesError::Data(format!("{}: {e}", opts.out.display())))?;
    export::write_file(&opts.out, Format::Parquet, &batch, Some(0)).map_err(export_err)?;
    Ok(summary)
}

/// Columns with their names.
fn pairs<'a>(names: &'a [String], cols: &'a [Vec<f64>]) -> Vec<(&'a str, &'a [f64])> {
    names
        .iter()
        .map(String::as_str)
        .zip(cols.iter().map(Vec::as_slice))
        .collect()
}

fn export_err(e: ExportError) -> FeaturesError {
    FeaturesError::Data(e.to_string())
}
