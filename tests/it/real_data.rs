//! Real data in (issue 14): `njord-journal import` of Binance klines and aggTrades dumps,
//! freqtrade candles, mapped CSV and NDJSON without `kind`; `njord-journal download` from a
//! real `njord-sim` on loopback. Nothing here contacts the internet.

use crate::support;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use support::SimServer;

/// A binary run from a scratch directory, journals and logs inside it.
fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::cargo_bin(bin).unwrap();
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.join("log"));
    c
}

fn import(dir: &Path, args: &[&str], file: &str, text: &str) -> assert_cmd::assert::Assert {
    let f = dir.join(file);
    std::fs::write(&f, text).unwrap();
    cmd("njord-journal", dir)
        .arg("import")
        .arg(args[0])
        .arg(&f)
        .args(&args[1..])
        .assert()
}

fn stdout_lines(a: &assert_cmd::assert::Assert) -> Vec<String> {
    String::from_utf8(a.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn stdout(a: &assert_cmd::assert::Assert) -> Vec<Value> {
    stdout_lines(a)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn binance_klines_in_ms_and_us_become_bars() {
    let dir = tempfile::tempdir().unwrap();
    // A header, a millisecond row, a microsecond row (newer dumps), a bad row.
    let csv = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n\
               1735689600000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,1735689659999,769017.4,1226,3.2,300000.1,0\n\
               1735689660000000,93610.93,93652.00,93606.00,93625.36,5.08,1735689719999999,475664.5,949,2.1,200000.0,0\n\
               1735689720000,93625.36,93600,93700,93650,1,1735689779999,1,1,1,1,0\n";
    let a = import(
        dir.path(),
        &["binance-klines", "--symbol", "BTC/USDT"],
        "BTCUSDT-1m-2025-01-01.csv",
        csv,
    );
    let a = a.code(1).stderr(predicate::str::contains(
        "BTCUSDT-1m-2025-01-01.csv:4: low 93700 is above high 93600",
    ));
    let bars = stdout(&a);
    assert_eq!(bars.len(), 2);
    assert_eq!(
        stdout_lines(&a)[0],
        r#"{"kind":"bar","symbol":"BTC/USDT","timeframe":"1m","ts_open_ns":1735689600000000000,"ts_close_ns":1735689660000000000,"open":93576,"high":93610.93,"low":93537.5,"close":93610.93,"volume":8.21827,"trades":1226}"#
    );
    assert_eq!(bars[1]["ts_open_ns"], 1_735_689_660_000_000_000i64);
    // Into the bar journal njord-bars writes, which njord-backtest and replay read.
    import(
        dir.path(),
        &[
            "binance-klines",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "1m",
            "--journal",
        ],
        "k.csv",
        &csv.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .success()
    .stdout(predicate::str::is_empty());
    let j = std::fs::read_to_string(dir.path().join("j/ohlcv.1m.BTCUSDT.ndjson")).unwrap();
    assert_eq!(j.lines().count(), 2);
}

#[test]
fn binance_aggtrades_become_trades() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "26129,0.01633102,4.70443515,27781,27781,1498793709153,true,true\n\
               26130,0.01633000,0.10000000,27782,27783,1498793709154000,false,true\n";
    let a = import(
        dir.path(),
        &["binance-aggtrades", "--symbol", "LTC/BTC"],
        "LTCBTC-aggTrades.csv",
        csv,
    )
    .success();
    let t = stdout(&a);
    assert_eq!(
        stdout_lines(&a)[0],
        r#"{"kind":"trade","venue":"binance","symbol":"LTC/BTC","trade_id":"26129","price":0.01633102,"qty":4.70443515,"side":"sell","ts_ns":1498793709153000000}"#
    );
    assert_eq!(
        (t[1]["side"].as_str(), t[1]["ts_ns"].as_i64()),
        (Some("buy"), Some(1_498_793_709_154_000_000))
    );
}

#[test]
fn the_wrong_format_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let row = "1735689600000,1,2,0.5,1.5,10,1735689659999,15,3,5,7.5,0\n";
    let a = import(
        dir.path(),
        &["binance-trades", "--symbol", "BTC/USDT"],
        "klines.csv",
        &row.repeat(5000),
    )
    .code(1)
    .stdout(predicate::str::is_empty())
    .stderr(predicate::str::contains(
        "klines.csv: this does not look like a Binance trades CSV",
    ))
    .stderr(predicate::str::contains(
        "njord-journal import binance-klines",
    ));
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.lines().count() < 5, "{err}");
    assert!(
        !err.contains(" journal"),
        "the user's file is a file: {err}"
    );
    // A missing file is named as a file too.
    cmd("njord-journal", dir.path())
        .args([
            "import",
            "freqtrade",
            "nope.json",
            "--symbol",
            "A/B",
            "--timeframe",
            "5m",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nope.json").and(predicate::str::contains("journal").not()),
        );
}

#[test]
fn freqtrade_csv_and_ndjson_imports() {
    let dir = tempfile::tempdir().unwrap();
    // freqtrade's JSON, pretty-printed so the bad candle has its own line.
    let json = "[[1704067200000,0.1,0.30000000000000004,0.1,0.2,1e-5],\n [1704067500000,\"x\",1,1,1,1],\n [1704067800000,1,1,1,1,0]]";
    let a = import(
        dir.path(),
        &["freqtrade", "--symbol", "ETH/USDT", "--timeframe", "5m"],
        "ETH_USDT-5m.json",
        json,
    )
    .code(1)
    .stderr(predicate::str::contains(
        "ETH_USDT-5m.json:2: candle 2: open:",
    ));
    let bars = stdout(&a);
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[0]["high"].to_string(), "0.30000000000000004");
    assert_eq!(bars[0]["volume"].to_string(), "0.00001");
    assert_eq!(bars[1]["ts_close_ns"], 1_704_068_100_000_000_000i64);

    // A CSV of someone's own, dates as text.
    let csv = "date,o,h,l,c,v\n2024-01-01 00:00:00+00:00,1.5,2,1,1.75,10\n2024-01-01 01:00:00+00:00,1.75,1.8,1.7,1.8,3.25\n";
    let a = import(
        dir.path(),
        &[
            "csv",
            "--columns",
            "ts=date,open=o,high=h,low=l,close=c,volume=v",
            "--timeframe",
            "1h",
            "--symbol",
            "SOL/USDT",
        ],
        "sol.csv",
        csv,
    )
    .success();
    let bars = stdout(&a);
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[1]["ts_open_ns"], 1_704_070_800_000_000_000i64);
    assert_eq!(bars[1]["volume"].to_string(), "3.25");
    // Trades with seconds and a symbol column.
    let csv = "t,px,sz,dir,sym\n1704067200.25,100.5,0.1,buy,BTC/USDT\n1704067201,100.4,0.2,sell,BTC/USDT\n";
    let a = import(
        dir.path(),
        &[
            "csv",
            "--columns",
            "ts=t,price=px,qty=sz,side=dir,symbol=sym",
            "--ts-unit",
            "s",
        ],
        "t.csv",
        csv,
    )
    .success();
    let t = stdout(&a);
    assert_eq!(
        (t[0]["ts_ns"].as_i64(), t[0]["trade_id"].as_str()),
        (Some(1_704_067_200_250_000_000), Some("2"))
    );
    // A header without the mapped columns stops at once.
    import(
        dir.path(),
        &[
            "csv",
            "--columns",
            "ts=time,price=p,qty=q,side=s",
            "--symbol",
            "A/B",
        ],
        "bad.csv",
        "a,b,c\n1,2,3\n",
    )
    .code(1)
    .stderr(predicate::str::contains(
        "bad.csv:1: the header has no column `time`",
    ));

    // NDJSON without kind, as other tools write it.
    let nd = "{\"symbol\":\"A/B\",\"price\":\"0.10\",\"qty\":2,\"side\":\"buy\",\"ts_ns\":5,\"trade_id\":\"7\"}\n";
    let a = import(dir.path(), &["ndjson"], "t.ndjson", nd).success();
    assert_eq!(stdout(&a)[0]["kind"], "trade");
}

/// A `njord-sim` serving a generated tape, nothing played: its history is the whole tape.
fn sim(dir: &Path, count: &str) -> (SimServer, std::path::PathBuf, std::path::PathBuf) {
    let tape = dir.join("tape.ndjson");
    let out = support::sim_command()
        .args([
            "gen", "--symbol", "BTC/USDT", "--count", count, "--seed", "5",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&tape, out.stdout).unwrap();
    let journal = dir.join("sim.journal.ndjson");
    let mut c = support::sim_command();
    c.arg("serve")
        .arg("--tape")
        .arg(&tape)
        .arg("--journal")
        .arg(&journal)
        .args(["--speed", "step", "--rest-port", "0", "--ws-port", "0"])
        .current_dir(dir);
    (SimServer::spawn(c), tape, journal)
}

fn download(dir: &Path, rest: &str, what: &str, to: &str) -> assert_cmd::assert::Assert {
    let mut c = cmd("njord-journal", dir);
    c.args([
        "download",
        what,
        "--symbol",
        "BTC/USDT",
        "--from",
        "2024-01-01",
        "--to",
        to,
    ])
    .args(["--rest-url", rest]);
    if what == "binance-klines" {
        c.args(["--interval", "1m"]);
    }
    c.assert()
}

fn sim_requests(journal: &Path, path: &str) -> Vec<Value> {
    std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "http_request" && v["path"] == path)
        .collect()
}

#[test]
fn download_klines_from_the_sim_equals_bars_of_its_tape_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tape, journal) = sim(dir.path(), "6000");
    // Bars of the tape, as njord-bars makes them (trades > 0: the venue has no empty klines).
    let bars = cmd("njord-bars", dir.path())
        .args(["--emit-only", "--no-journal"])
        .pipe_stdin(&tape)
        .unwrap()
        .output()
        .unwrap();
    let want: Vec<String> = String::from_utf8(bars.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"trades\":0"))
        .map(String::from)
        .collect();
    assert!(want.len() > 20, "{}", want.len());
    // Half first, then the rest: the second run resumes after the journal's last bar.
    let mid: Value = serde_json::from_str(&want[want.len() / 2]).unwrap();
    let mid_t = mid["ts_open_ns"].as_i64().unwrap().to_string();
    download(dir.path(), &sim.rest, "binance-klines", &mid_t).success();
    download(dir.path(), &sim.rest, "binance-klines", "2024-01-02")
        .success()
        .stderr(predicate::str::contains("resumed after"));
    let got = std::fs::read_to_string(dir.path().join("j/ohlcv.1m.BTCUSDT.ndjson")).unwrap();
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    // The second run asked only for what was missing.
    let reqs = sim_requests(&journal, "/api/v3/klines");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    // Nothing left to fetch: a third run asks the venue for no more than one empty page.
    download(dir.path(), &sim.rest, "binance-klines", "2024-01-02").success();
    let again = std::fs::read_to_string(dir.path().join("j/ohlcv.1m.BTCUSDT.ndjson")).unwrap();
    assert_eq!(again, got);
}

#[test]
fn download_aggtrades_pages_through_the_tape_and_honours_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tape, journal) = sim(dir.path(), "2500");
    // One 429 with a short Retry-After on the first page.
    let addr = sim.rest.trim_start_matches("http://").to_string();
    let body =
        r#"{"fault":"http_error","path":"/api/v3/aggTrades","status":429,"retry_after_s":1}"#;
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "POST /control/fault HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let want: Vec<Value> = std::fs::read_to_string(&tape)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Part first (through a 429), then the rest, resumed from the last trade's id.
    let mid = want[1200]["ts_ns"].as_i64().unwrap().to_string();
    download(dir.path(), &sim.rest, "binance-aggtrades", &mid).success();
    download(dir.path(), &sim.rest, "binance-aggtrades", "2024-01-02")
        .success()
        .stderr(predicate::str::contains("resumed after"));
    let got: Vec<Value> = std::fs::read_to_string(dir.path().join("j/md.trades.BTCUSDT.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        for k in ["trade_id", "price", "qty", "side", "ts_ns"] {
            assert_eq!(g[k], w[k], "{k}: {g} vs {w}");
        }
    }
    // One 429 answered by waiting; the second run pages by id from where the first stopped.
    let statuses: Vec<u64> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "http_response" && v["status"].is_u64())
        .map(|v| v["status"].as_u64().unwrap())
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let reqs = sim_requests(&journal, "/api/v3/aggTrades");
    assert!(reqs[0]["query"].as_str().unwrap().contains("startTime="));
    let resumed = reqs
        .iter()
        .filter(|r| r["query"].as_str().unwrap().contains("fromId="))
        .count();
    assert!(resumed >= 2 && reqs.len() <= 6, "{reqs:?}");
}

#[test]
fn download_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    cmd("njord-journal", dir.path())
        .args([
            "download",
            "binance-klines",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "1m",
        ])
        .args([
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--rest-url",
            "not a url",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--rest-url `not a url` is not an http(s) URL",
        ));
    cmd("njord-journal", dir.path())
        .args(["download", "binance-aggtrades", "--symbol", "BTC/USDT"])
        .args(["--from", "2024-01-02", "--to", "2024-01-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--to must be after --from"));
}
