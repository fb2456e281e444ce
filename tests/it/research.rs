//! Research exports (issue 16): Parquet and Arrow files that give back the NDJSON they came
//! from byte for byte, the same bytes on every export, tapes the replay and the backtester
//! read, and bad files refused with the file, the column and what was expected.

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use assert_cmd::Command;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const JOURNAL: &str = env!("CARGO_BIN_EXE_njord-journal");
const BACKTEST: &str = env!("CARGO_BIN_EXE_njord-backtest");
const REPLAY: &str = env!("CARGO_BIN_EXE_njord-replay");
const EVERY_KIND: &str = "tests/golden/every_kind.ndjson";

fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(EVERY_KIND)
}

fn export(dir: &Path, inputs: &[&Path], out: &str, extra: &[&str]) {
    let mut c = cmd(JOURNAL, dir);
    c.arg("export")
        .args(inputs)
        .args(["--out", out])
        .args(extra);
    c.assert().success();
}

fn cat(dir: &Path, what: &[&str]) -> String {
    let out = cmd(JOURNAL, dir).arg("cat").args(what).output().unwrap();
    assert!(
        out.status.success(),
        "cat {what:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every line of the golden file is what the NDJSON writer writes for its event.
#[test]
fn the_golden_file_is_canonical() {
    let text = std::fs::read_to_string(golden()).unwrap();
    for line in text.lines().filter(|l| !l.contains("\"kind\":\"equity\"")) {
        let ev = njord::event::decode(line).unwrap();
        assert_eq!(ev.to_json(), line);
    }
}

#[test]
fn every_kind_comes_back_byte_identical_from_parquet_arrow_stream_and_hive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let want = std::fs::read_to_string(golden()).unwrap();
    export(dir, &[&golden()], "all.parquet", &[]);
    assert_eq!(cat(dir, &["all.parquet"]), want);
    export(dir, &[&golden()], "all.arrow", &[]);
    assert_eq!(cat(dir, &["all.arrow"]), want);
    export(dir, &[&golden()], "f64.parquet", &["--float64"]);
    assert_eq!(cat(dir, &["f64.parquet"]), want);

    let stream = cmd(JOURNAL, dir)
        .args(["export", golden().to_str().unwrap(), "--out", "-"])
        .output()
        .unwrap();
    assert!(stream.status.success());
    std::fs::write(dir.join("all.arrows"), &stream.stdout).unwrap();
    assert_eq!(cat(dir, &["all.arrows"]), want);

    // The Hive layout: one partition per kind, symbol and day; read back through a pattern,
    // merged by event time (equal times keep no order across files: compare as sets).
    export(dir, &[&golden()], "hive", &[]);
    assert!(
        dir.join("hive/kind=trade/symbol=ATOMUSDT/date=2026-01-02/part-00000.parquet")
            .is_file()
    );
    assert!(
        dir.join("hive/kind=decision/date=2026-01-02/part-00000.parquet")
            .is_file()
    );
    let mut back: Vec<String> = cat(dir, &["hive/**/*.parquet"])
        .lines()
        .map(str::to_owned)
        .collect();
    let mut expected: Vec<String> = want.lines().map(str::to_owned).collect();
    back.sort();
    expected.sort();
    assert_eq!(back, expected);
}

#[test]
fn the_same_input_exports_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for out in ["a.parquet", "b.parquet", "a.arrow", "b.arrow", "ha", "hb"] {
        export(dir, &[&golden()], out, &[]);
    }
    let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
    assert_eq!(read("a.parquet"), read("b.parquet"));
    assert_eq!(read("a.arrow"), read("b.arrow"));
    let part = "kind=trade/symbol=BTCUSDT/date=2026-01-02/part-00000.parquet";
    assert_eq!(read(&format!("ha/{part}")), read(&format!("hb/{part}")));
}

#[test]
fn the_schema_is_exact_and_self_describing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    export(dir, &[&golden()], "h", &[]);
    let path = dir.join("h/kind=trade/symbol=ATOMUSDT/date=2026-01-02/part-00000.parquet");
    let file = std::fs::File::open(&path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(
        ty("ts_ns"),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, Some("UTC".into()))
    );
    // One scale per column over the whole export (BTC/USDT's 0.00012345 sets the quantity's),
    // so partitions read together lose no digit.
    assert_eq!(ty("price"), DataType::Decimal128(38, 2));
    assert_eq!(ty("qty"), DataType::Decimal128(38, 8));
    assert!(matches!(ty("side"), DataType::Dictionary(_, _)));
    // The partition's kind and symbol are in the path and the metadata, not in columns.
    assert!(schema.field_with_name("symbol").is_err());
    let md = schema.metadata();
    assert_eq!(md["njord.kind"], "trade");
    assert_eq!(md["njord.symbol"], "ATOM/USDT");
    assert_eq!(md["njord.rows"], "1");
    assert_eq!(md["njord.schema_version"], "1");
    let sources: serde_json::Value = serde_json::from_str(&md["njord.sources"]).unwrap();
    assert_eq!(sources[0]["sha256"].as_str().unwrap().len(), 64);
    // Statistics are on for the time column, so engines skip row groups by time.
    let meta = reader.metadata();
    let rg = meta.row_group(0);
    let ts = rg
        .columns()
        .iter()
        .find(|c| c.column_path().string() == "ts_ns")
        .unwrap();
    assert!(ts.statistics().is_some_and(|s| s.min_bytes_opt().is_some()));
}

#[test]
fn a_backtest_from_parquet_fills_exactly_as_from_ndjson() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tape = dir.join("tape.ndjson");
    let generated = crate::support::generated_tape("ATOM/USDT", 20_000, 7);
    std::fs::write(&tape, &generated).unwrap();
    export(dir, &[&tape], "tape", &[]);
    let run = |tape: &str, out: &str| {
        cmd(BACKTEST, dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--tape", tape, "--out"])
            .arg(dir.join(out))
            .args(["-q", "--no-progress"])
            .assert()
            .success();
        std::fs::read_to_string(dir.join(out).join("fills.ndjson")).unwrap()
    };
    let from_ndjson = run(tape.to_str().unwrap(), "n");
    let pattern = format!("{}/tape/**/*.parquet", dir.display());
    let from_parquet = run(&pattern, "p");
    assert!(from_ndjson.lines().count() > 10, "the tape should trade");
    assert_eq!(from_parquet, from_ndjson);
    // Risk's answer to every intent is kept beside the fills.
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("n/metrics.json")).unwrap())
            .unwrap();
    let decisions = std::fs::read_to_string(dir.join("n/decisions.ndjson")).unwrap();
    assert_eq!(
        decisions.lines().count() as u64,
        metrics["counts"]["intents"].as_u64().unwrap()
    );
    assert!(
        decisions
            .lines()
            .all(|l| l.starts_with(r#"{"kind":"decision""#))
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("p/decisions.ndjson")).unwrap(),
        decisions
    );
    // Two symbols' partitions are merged by event time as two NDJSON tapes are.
    let other = dir.join("other.ndjson");
    std::fs::write(&other, crate::support::generated_tape("BTC/USDT", 5_000, 8)).unwrap();
    export(dir, &[&tape, &other], "two", &[]);
    let two_ndjson = {
        cmd(BACKTEST, dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--tape")
            .args([&tape, &other])
            .arg("--out")
            .arg(dir.join("n2"))
            .args(["-q", "--no-progress"])
            .assert()
            .success();
        std::fs::read_to_string(dir.join("n2/equity.ndjson")).unwrap()
    };
    run(&format!("{}/two/**/*.parquet", dir.display()), "p2");
    let two_parquet = std::fs::read_to_string(dir.join("p2/equity.ndjson")).unwrap();
    assert_eq!(two_parquet, two_ndjson);
    // The replay gives the tape back as it was.
    let replayed = cmd(REPLAY, dir)
        .args(["--speed", "max", &pattern])
        .output()
        .unwrap();
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert_eq!(replayed.stdout, generated);
}

fn write_parquet(path: &Path, fields: Vec<Field>, arrays: Vec<ArrayRef>, kind: Option<&str>) {
    let mut md = HashMap::new();
    if let Some(k) = kind {
        md.insert("njord.kind".to_string(), k.to_string());
    }
    let schema = Arc::new(Schema::new(fields).with_metadata(md));
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn fails_with(dir: &Path, file: &str, needles: &[&str]) {
    let out = cmd(JOURNAL, dir).args(["cat", file]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{file} should be refused");
    assert!(out.stdout.is_empty(), "{file}: nothing may be printed");
    for n in needles.iter().chain([&file]) {
        assert!(err.contains(n), "{file}: `{n}` not in: {err}");
    }
}

#[test]
fn bad_files_are_refused_naming_the_file_the_column_and_what_was_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    export(dir, &[&golden()], "good.parquet", &[]);
    let good = std::fs::read(dir.join("good.parquet")).unwrap();
    std::fs::write(dir.join("truncated.parquet"), &good[..good.len() / 2]).unwrap();
    fails_with(dir, "truncated.parquet", &["Parquet"]);

    let text = |v: &[&str]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
    let ts = |v: i64| -> ArrayRef {
        Arc::new(arrow::array::TimestampNanosecondArray::from(vec![v]).with_timezone("UTC"))
    };
    // A float price: digits would be lost.
    write_parquet(
        &dir.join("float.parquet"),
        vec![
            Field::new("venue", DataType::Utf8, false),
            Field::new("symbol", DataType::Utf8, false),
            Field::new("trade_id", DataType::Utf8, false),
            Field::new("price", DataType::Float64, false),
        ],
        vec![
            text(&["v"]),
            text(&["A/B"]),
            text(&["1"]),
            Arc::new(Float64Array::from(vec![0.1])),
        ],
        Some("trade"),
    );
    fails_with(dir, "float.parquet", &["`price`", "Float64", "decimal128"]);
    // A required column missing.
    write_parquet(
        &dir.join("missing.parquet"),
        vec![
            Field::new("intent_id", DataType::Utf8, false),
            Field::new("ts_ns", ts(0).data_type().clone(), false),
        ],
        vec![text(&["x"]), ts(1)],
        Some("decision"),
    );
    fails_with(dir, "missing.parquet", &["`allowed`", "boolean"]);
    // A time without a zone.
    write_parquet(
        &dir.join("naive.parquet"),
        vec![
            Field::new("intent_id", DataType::Utf8, false),
            Field::new(
                "ts_ns",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
                false,
            ),
        ],
        vec![
            text(&["x"]),
            Arc::new(arrow::array::TimestampNanosecondArray::from(vec![1])),
        ],
        Some("cancel"),
    );
    fails_with(dir, "naive.parquet", &["`ts_ns`", "UTC"]);
    // An unknown column is never dropped silently.
    write_parquet(
        &dir.join("extra.parquet"),
        vec![
            Field::new("intent_id", DataType::Utf8, false),
            Field::new("ts_ns", ts(0).data_type().clone(), false),
            Field::new("note", DataType::Utf8, false),
        ],
        vec![text(&["x"]), ts(1), text(&["hello"])],
        Some("cancel"),
    );
    fails_with(dir, "extra.parquet", &["`note`"]);
}

#[test]
fn a_bad_row_is_named_by_file_and_row_and_valid_rows_still_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dec = |v: i128| -> ArrayRef {
        Arc::new(
            arrow::array::Decimal128Array::from(vec![v, v])
                .with_precision_and_scale(38, 2)
                .unwrap(),
        )
    };
    let text = |v: &[&str]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
    let ty = arrow::datatypes::TimeUnit::Nanosecond;
    write_parquet(
        &dir.join("neg.parquet"),
        vec![
            Field::new("venue", DataType::Utf8, false),
            Field::new("symbol", DataType::Utf8, false),
            Field::new("trade_id", DataType::Utf8, false),
            Field::new("price", DataType::Decimal128(38, 2), false),
            Field::new("qty", DataType::Decimal128(38, 2), false),
            Field::new("side", DataType::Utf8, false),
            Field::new("ts_ns", DataType::Timestamp(ty, Some("UTC".into())), false),
        ],
        vec![
            text(&["v", "v"]),
            text(&["A/B", "A/B"]),
            text(&["1", "2"]),
            Arc::new(
                arrow::array::Decimal128Array::from(vec![150, -150])
                    .with_precision_and_scale(38, 2)
                    .unwrap(),
            ),
            dec(100),
            text(&["buy", "sell"]),
            Arc::new(arrow::array::TimestampNanosecondArray::from(vec![1, 2]).with_timezone("UTC")),
        ],
        Some("trade"),
    );
    let out = cmd(JOURNAL, dir)
        .args(["verify", "neg.parquet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("neg.parquet:2:"), "{err}");
    let printed = cat(dir, &["neg.parquet"]);
    assert!(printed.starts_with(
        r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"1","price":1.5,"qty":1,"side":"buy","ts_ns":1}"#
    ));
}
