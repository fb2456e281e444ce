//! Tests of the journal writer, rotation, compression, names and reader together.

use super::name::day_label;
use super::*;
use crate::config::FsyncPolicy;
use crate::event;
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

const T: &str =
    r#"{"kind":"trade","symbol":"A/B","trade_id":"1","price":1,"qty":1,"side":"buy","ts_ns":1}"#;

fn collect(path: &Path) -> (usize, Vec<String>) {
    let mut r = JournalReader::open(path).unwrap();
    let (mut good, mut bad) = (0, vec![]);
    r.for_each_event(|_| good += 1, |e| bad.push(e.to_string()));
    (good, bad)
}

/// A reader that listed a rotated file before its compressor replaced it by the `.gz` reads
/// the `.gz`: a restart racing a rotation finds every line (the broker's armed orders, fills).
#[test]
fn a_plain_file_compressed_after_listing_is_read_from_its_gz() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("broker.armed.20240101.ndjson");
    let mut gz = GzEncoder::new(
        std::fs::File::create(dir.path().join("broker.armed.20240101.ndjson.gz")).unwrap(),
        Compression::fast(),
    );
    writeln!(gz, "{T}\n{T}").unwrap();
    gz.finish().unwrap();
    assert_eq!(collect(&plain), (2, vec![]));
    let missing = dir.path().join("nothing.ndjson");
    let err = JournalReader::open(&missing).err().unwrap().to_string();
    assert!(err.contains("nothing.ndjson"), "{err}");
}

#[test]
fn writer_appends_and_reader_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let ev = event::decode(T).unwrap();
    let mut j = Journals::with_rotation(
        dir.path().join("deep/er"),
        FsyncPolicy::Batch,
        Rotation::default(),
    );
    j.append_event("md.trades.AB", &ev).unwrap();
    j.append_event("md.trades.AB", &ev).unwrap();
    j.flush().unwrap();
    let p = dir.path().join("deep/er/md.trades.AB.ndjson");
    assert_eq!(collect(&p), (2, vec![]));
}

#[test]
fn torn_last_line_blank_lines_and_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.ndjson");
    std::fs::write(
        &p,
        format!("{T}\n\n   \n{{\"kind\":\"zap\"}}\n{T}\n{{\"kind\":\"tra"),
    )
    .unwrap();
    let (good, bad) = collect(&p);
    assert_eq!(good, 2);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad[0].ends_with("j.ndjson:4: unknown kind `zap`"),
        "{bad:?}"
    );
    assert!(bad[1].contains("j.ndjson:6: torn last line"), "{bad:?}");
}

fn trade_at(ts: i64, id: u64) -> String {
    format!(
        r#"{{"kind":"trade","symbol":"A/B","trade_id":"{id}","price":1,"qty":1,"side":"buy","ts_ns":{ts}}}"#
    )
}

const DAY: i64 = crate::time::NS_PER_DAY;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every line of a series, in order.
fn series_lines(dir: &Path, stem: &str) -> Vec<String> {
    let series = resolve(&[dir.join(stem)]).unwrap();
    let mut lines = vec![];
    for f in &series[0].files {
        let mut r = JournalReader::open(f).unwrap();
        while let Some(l) = r.next_line() {
            lines.push(l.unwrap().text.to_string());
        }
    }
    lines
}

#[test]
fn rotates_by_day_and_size_and_compresses() {
    let dir = tempfile::tempdir().unwrap();
    let rot = Rotation {
        max_bytes: 300,
        daily: true,
        compress: true,
    };
    let t0 = 20_454 * DAY; // 2026-01-01
    let mut w = JournalWriter::open_with(dir.path(), "md.t", FsyncPolicy::Never, rot).unwrap();
    let mut want = vec![];
    for (i, ts) in [
        t0,
        t0 + 1,
        t0 + 2,
        t0 + 3,
        t0 + DAY,
        t0 + DAY - 5,
        t0 + 2 * DAY,
    ]
    .into_iter()
    .enumerate()
    {
        let l = trade_at(ts, i as u64);
        w.append(ts, l.as_bytes()).unwrap();
        want.push(l);
    }
    drop(w);
    assert_eq!(
        names(dir.path()),
        [
            "md.t.20260101.1.ndjson.gz",
            "md.t.20260101.ndjson.gz",
            "md.t.20260102.ndjson.gz",
            "md.t.ndjson"
        ]
    );
    assert_eq!(
        series_lines(dir.path(), "md.t"),
        want,
        "in order, nothing lost"
    );
}

#[test]
fn names_parse_and_order() {
    let n = parse_name("ohlcv.1m.ATOMUSDT.20260101.2.ndjson.gz").unwrap();
    assert_eq!(
        (n.stem.as_str(), n.date, n.n, n.gz),
        ("ohlcv.1m.ATOMUSDT", Some(20260101), 2, true)
    );
    let n = parse_name("md.trades.X.20260101.ndjson").unwrap();
    assert_eq!(
        (n.stem.as_str(), n.date, n.n),
        ("md.trades.X", Some(20260101), 0)
    );
    let n = parse_name("md.trades.X.ndjson").unwrap();
    assert_eq!((n.stem.as_str(), n.date), ("md.trades.X", None));
    assert!(parse_name(".md.t.ndjson.gz.tmp").is_none());
    assert!(parse_name(".md.t.ndjson").is_none());
    assert_eq!(day_label(20_454), "20260101");

    let dir = tempfile::tempdir().unwrap();
    for f in [
        "s.ndjson",
        "s.20260102.ndjson",
        "s.20260101.1.ndjson",
        "s.20260101.ndjson.gz",
        "t.ndjson",
    ] {
        std::fs::write(dir.path().join(f), "").unwrap();
    }
    let got: Vec<String> = resolve(&[
        dir.path().join("s.20260102.ndjson"),
        dir.path().join("s.ndjson"),
        dir.path().join("s.20260101.1.ndjson"),
        dir.path().join("s.20260101.ndjson.gz"),
    ])
    .unwrap()[0]
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        got,
        [
            "s.20260101.ndjson.gz",
            "s.20260101.1.ndjson",
            "s.20260102.ndjson",
            "s.ndjson"
        ]
    );
    let all = resolve(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].files.len(), 4);
    assert!(resolve(&[dir.path().join("nope")]).is_err());
}

#[test]
fn a_hive_partitions_days_are_one_series_in_date_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut made = Vec::new();
    for sym in ["symbol=B", "symbol=A"] {
        for day in ["date=2026-01-02", "date=2026-01-01", "date=2026-01-10"] {
            let d = dir.path().join("kind=trade").join(sym).join(day);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("part-00000.parquet"), "").unwrap();
            made.push(d.join("part-00000.parquet"));
        }
    }
    let days = |s: &Series| -> Vec<String> {
        let day = |p: &std::path::PathBuf| {
            p.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        s.files.iter().map(day).collect()
    };
    let pattern = dir.path().join("kind=trade/**/*.parquet");
    for given in [vec![dir.path().to_path_buf()], vec![pattern], made] {
        let series = resolve(&given).unwrap();
        assert_eq!(series.len(), 2, "{given:?}");
        for s in &series {
            assert_eq!(
                days(s),
                ["date=2026-01-01", "date=2026-01-02", "date=2026-01-10"]
            );
        }
    }
    // Files outside a `date=` folder stay sources of their own.
    std::fs::write(dir.path().join("loose.parquet"), "").unwrap();
    assert_eq!(resolve(&[dir.path().to_path_buf()]).unwrap().len(), 3);
}

#[test]
fn writer_terminates_a_torn_last_line_and_keeps_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.ndjson");
    let t0 = 20_454 * DAY;
    std::fs::write(&p, format!("{}\n{{\"kind\":\"tra", trade_at(t0, 1))).unwrap();
    let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
    w.append(t0, trade_at(t0, 2).as_bytes()).unwrap();
    drop(w);
    let (good, bad) = collect(&p);
    assert_eq!((good, bad.len()), (2, 1), "{bad:?}");
    let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
    w.append(t0 + DAY, trade_at(t0 + DAY, 3).as_bytes())
        .unwrap();
    drop(w);
    assert!(
        dir.path().join("j.20260101.ndjson.gz").exists(),
        "{:?}",
        names(dir.path())
    );
}

#[test]
fn one_writer_per_journal_and_compress_skips_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = JournalWriter::open(dir.path(), "j", FsyncPolicy::Never).unwrap();
    w.append(0, trade_at(0, 1).as_bytes()).unwrap();
    w.flush().unwrap();
    assert_eq!(compress_closed(w.path()).unwrap(), Err(Skipped::InUse));
    let p = w.path().to_path_buf();
    drop(w);
    let c = compress_closed(&p).unwrap().unwrap();
    assert_eq!(c.lines, 1);
    assert_eq!(names(dir.path()), ["j.19700101.ndjson.gz"]);
}

#[test]
fn compression_under_a_concurrent_writer_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let rot = Rotation {
        max_bytes: 2_000,
        daily: true,
        compress: true,
    };
    let n = 3_000u64;
    let writer = std::thread::spawn(move || {
        let mut w = JournalWriter::open_with(&d, "c", FsyncPolicy::Never, rot).unwrap();
        for i in 0..n {
            let ts = i as i64 * (DAY / 700);
            w.append(ts, trade_at(ts, i).as_bytes()).unwrap();
            if i % 50 == 0 {
                w.flush().unwrap();
            }
        }
    });
    let mut compressed = 0;
    while !writer.is_finished() {
        for s in list_dir(dir.path()).unwrap() {
            for f in s.files {
                if f.extension().is_some_and(|e| e == "ndjson")
                    && let Ok(Ok(_)) = compress_closed(&f)
                {
                    compressed += 1;
                }
            }
        }
    }
    writer.join().unwrap();
    let got = series_lines(dir.path(), "c");
    let want: Vec<String> = (0..n)
        .map(|i| trade_at(i as i64 * (DAY / 700), i))
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "compressed by the checker: {compressed}"
    );
    assert!(got == want, "lines lost, duplicated or reordered");
    assert!(names(dir.path()).iter().all(|n| !n.contains(".tmp")));
}

#[test]
fn reads_gzip_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.ndjson.gz");
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    writeln!(enc, "{T}\n{T}").unwrap();
    std::fs::write(&p, enc.finish().unwrap()).unwrap();
    assert_eq!(collect(&p), (2, vec![]));
}

/// A rotation killed mid-compression leaves the rotated file plain beside a partial
/// `.gz.tmp` (or a finished `.gz`); the next writer of that journal finishes the work.
#[test]
fn next_writer_finishes_an_interrupted_compression() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rot = Rotation {
        max_bytes: 0,
        daily: true,
        compress: true,
    };
    let (a, b) = (trade_at(0, 1), trade_at(DAY, 2));
    std::fs::write(d.join("j.19700101.ndjson"), format!("{a}\n")).unwrap();
    std::fs::write(d.join(".j.19700101.ndjson.gz.tmp"), b"\x1f\x8bpartial").unwrap();
    // Cut short after the rename, before the original was removed.
    std::fs::write(d.join("j.19700102.ndjson"), format!("{b}\n")).unwrap();
    std::fs::write(d.join("j.19700102.ndjson.gz"), b"\x1f\x8bstale").unwrap();
    // A temporary file whose original is gone, and another journal's file, left alone.
    std::fs::write(d.join(".j.19700103.ndjson.gz.tmp"), b"x").unwrap();
    std::fs::write(d.join("k.19700101.ndjson"), format!("{a}\n")).unwrap();
    let w = JournalWriter::open_with(d, "j", FsyncPolicy::Never, rot).unwrap();
    drop(w);
    assert_eq!(
        names(d),
        [
            "j.19700101.ndjson.gz",
            "j.19700102.ndjson.gz",
            "j.ndjson",
            "k.19700101.ndjson"
        ]
    );
    assert_eq!(series_lines(d, "j"), [a, b]);
}
