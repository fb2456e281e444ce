//! `njord-strat features`: training rows from a tape, read back from Parquet: as many as the
//! bars less the warm-up and the horizon, labels that are the forward return recomputed, the
//! same bytes every run, and the leakage guard refusing a feature equal to a label.

use arrow::array::{Array, Float64Array, RecordBatch, TimestampNanosecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use assert_cmd::Command;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

const STRAT: &str = env!("CARGO_BIN_EXE_njord-strat");
const T0: i64 = 1_767_312_000_000_000_000;
const MINUTE: i64 = 60_000_000_000;

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(STRAT);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

fn example_features() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/features.yaml")
}

/// Prices in cents as the tape writes them.
fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A 1m bar tape of ATOM/USDT with these closes (in cents), each bar opening at the close
/// before; returns the tape's path.
fn bar_tape(dir: &Path, closes: &[i64]) -> PathBuf {
    let mut text = String::new();
    let mut open = closes[0];
    for (i, &close) in closes.iter().enumerate() {
        let ts_open = T0 + i as i64 * MINUTE;
        text += &format!(
            r#"{{"kind":"bar","symbol":"ATOM/USDT","timeframe":"1m","ts_open_ns":{ts_open},"ts_close_ns":{},"open":{},"high":{},"low":{},"close":{},"volume":10.5,"trades":3}}"#,
            ts_open + MINUTE,
            price(open),
            price(open.max(close) + 3),
            price(open.min(close) - 3),
            price(close),
        );
        text.push('\n');
        open = close;
    }
    let path = dir.join("ohlcv.1m.ATOMUSDT.ndjson");
    std::fs::write(&path, text).unwrap();
    path
}

/// A walk that never stays flat.
fn walk(n: usize) -> Vec<i64> {
    let mut c = 10_000;
    (0..n)
        .map(|i| {
            let step = (i as i64 * 7919) % 13 - 6;
            c += if step == 0 { 5 } else { step };
            c
        })
        .collect()
}

fn run_features(dir: &Path, tape: &Path, features: &Path, extra: &[&str]) -> std::process::Output {
    cmd(dir)
        .args(["features", "--tape"])
        .arg(tape)
        .args(["--symbol", "ATOM/USDT", "--features"])
        .arg(features)
        .args(extra)
        .output()
        .unwrap()
}

fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn floats<'a>(batch: &'a RecordBatch, name: &str) -> &'a Float64Array {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref()
        .unwrap()
}

#[test]
fn rows_are_the_bars_less_warm_up_and_horizon_with_the_forward_return_as_label() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 200;
    let h = 5;
    let cents = walk(n);
    let tape = bar_tape(dir, &cents);
    let out = run_features(
        dir,
        &tape,
        &example_features(),
        &[
            "--horizon",
            "5",
            "--label",
            "forward_return,forward_direction",
            "--out",
            "rows.parquet",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // close_to_close_vol over 20 needs 21 closes: the first row is bar 20.
    let warm_up = 20;
    let rows = n - warm_up - h;
    assert!(
        stderr.contains(&format!(
            "{rows} rows written from {n} bars (bar events); dropped: {warm_up} for warm-up, {h} for the horizon"
        )),
        "{stderr}"
    );

    let batch = read(&dir.join("rows.parquet"));
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "ts_ns",
            "symbol",
            "ret_1",
            "logret",
            "z20",
            "vol20",
            "park20",
            "gk20",
            "rsi14",
            "ema_gap",
            "fwd_ret_5",
            "fwd_dir_5"
        ]
    );
    assert_eq!(batch.num_rows(), rows);
    let ts_field = batch.schema().field(0).clone();
    assert_eq!(
        ts_field.data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    let ts: &TimestampNanosecondArray = batch.column(0).as_any().downcast_ref().unwrap();
    let symbol = arrow::compute::cast(batch.column(1), &DataType::Utf8).unwrap();
    let symbol: &arrow::array::StringArray = symbol.as_any().downcast_ref().unwrap();
    let closes: Vec<f64> = cents.iter().map(|&c| price(c).parse().unwrap()).collect();
    let (ret_1, label, dir_label) = (
        floats(&batch, "ret_1"),
        floats(&batch, "fwd_ret_5"),
        floats(&batch, "fwd_dir_5"),
    );
    for r in 0..rows {
        let t = warm_up + r;
        // The row's time is its bar's close: bar t.
        assert_eq!(ts.value(r), T0 + (t as i64 + 1) * MINUTE, "row {r}");
        assert_eq!(symbol.value(r), "ATOM/USDT");
        assert_eq!(label.value(r), closes[t + h] / closes[t] - 1.0, "row {r}");
        let sign = (cents[t + h] - cents[t]).signum() as f64;
        assert_eq!(dir_label.value(r), sign, "row {r}");
        assert_eq!(
            ret_1.value(r),
            (closes[t] - closes[t - 1]) / closes[t - 1],
            "row {r}"
        );
    }
    for name in &names[2..] {
        assert_eq!(floats(&batch, name).null_count(), 0, "{name}");
    }
}

#[test]
fn the_same_tape_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tape = bar_tape(dir, &walk(80));
    for out in ["a.parquet", "b.parquet"] {
        let o = run_features(
            dir,
            &tape,
            &example_features(),
            &["--horizon", "3", "--out", out],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let a = std::fs::read(dir.join("a.parquet")).unwrap();
    assert_eq!(a, std::fs::read(dir.join("b.parquet")).unwrap());
    assert_eq!(read(&dir.join("a.parquet")).num_rows(), 80 - 20 - 3);
}

#[test]
fn a_feature_equal_to_the_label_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Closes that double every bar: the return of the bar that ended is the return of the
    // next, exactly, so `returns` equals the one-bar forward return on every row.
    let tape = bar_tape(dir, &(0..12).map(|i| 100i64 << i).collect::<Vec<_>>());
    let features = dir.join("leaky.yaml");
    std::fs::write(
        &features,
        "features:\n  - {name: z5, feature: zscore, window: 5}\n  - {name: ret_1, feature: returns}\n",
    )
    .unwrap();
    let out = run_features(
        dir,
        &tape,
        &features,
        &["--horizon", "1", "--out", "rows.parquet"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "leaky.yaml: label `fwd_ret_1` equals feature `ret_1` — a feature that sees the future"
        ),
        "{stderr}"
    );
    assert!(!dir.join("rows.parquet").exists());
    // Over two bars the feature looks back, not ahead: no longer equal.
    let out = run_features(
        dir,
        &tape,
        &features,
        &["--horizon", "2", "--out", "rows.parquet"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_features_files_name_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tape = bar_tape(dir, &walk(30));
    let features = dir.join("bad.yaml");
    for (yaml, want) in [
        (
            "features:\n  - {name: r, feature: rsi, windw: 14}\n",
            "bad.yaml: features[0].window: required",
        ),
        (
            "features:\n  - {name: r, feature: returns, window: 3}\n",
            "bad.yaml: features[0].window: unknown key for returns",
        ),
        (
            "features:\n  - {name: fwd_ret_5, feature: returns}\n",
            "bad.yaml: features[0].name: `fwd_ret_5` is the name of another column",
        ),
        ("feature: []\n", "bad.yaml: feature: unknown key"),
    ] {
        std::fs::write(&features, yaml).unwrap();
        let out = run_features(
            dir,
            &tape,
            &features,
            &["--horizon", "5", "--out", "x.parquet"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{yaml}: {stderr}");
        assert!(stderr.contains(want), "{yaml}: {stderr}");
    }
}

#[test]
fn a_tape_of_trades_is_aggregated_into_bars() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Three trades a minute for 30 minutes.
    let mut text = String::new();
    for (i, c) in walk(90).into_iter().enumerate() {
        let ts = T0 + i as i64 * (MINUTE / 3) + 1;
        text += &crate::support::trade_line("ATOM/USDT", i as u64 + 1, &price(c), ts);
        text.push('\n');
    }
    let tape = dir.join("md.trades.ATOMUSDT.ndjson");
    std::fs::write(&tape, text).unwrap();
    let features = dir.join("f.yaml");
    std::fs::write(
        &features,
        "features:\n  - {name: ret_1, feature: returns}\n",
    )
    .unwrap();
    let out = run_features(
        dir,
        &tape,
        &features,
        &["--horizon", "2", "--out", "rows.parquet"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("27 rows written from 30 bars (aggregated from trades); dropped: 1 for warm-up, 2 for the horizon"),
        "{stderr}"
    );
    assert_eq!(read(&dir.join("rows.parquet")).num_rows(), 27);
}
