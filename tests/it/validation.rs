//! Inputs that cannot poison state (issue 26 §5): every reader of events judges a line the
//! same way, names its physical line (blank lines counted), and the stages bound their state.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::Path;

const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const PAPER: &str = env!("CARGO_BIN_EXE_njord-paper");
const BARS: &str = env!("CARGO_BIN_EXE_njord-bars");
const STRAT: &str = env!("CARGO_BIN_EXE_njord-strat");
const BUS: &str = env!("CARGO_BIN_EXE_njord-bus");
const JOURNAL: &str = env!("CARGO_BIN_EXE_njord-journal");
const REPLAY: &str = env!("CARGO_BIN_EXE_njord-replay");

/// 2026-01-05T00:00:00Z
const T0: i64 = 1_767_571_200_000_000_000;

fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"));
    c
}

fn trade_with(sym: &str, price: &str, qty: &str, i: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"t","symbol":"{sym}","trade_id":"{i}","price":{price},"qty":{qty},"side":"buy","ts_ns":{}}}"#,
        T0 + i * 1_000_000_000
    )
}

fn trade(sym: &str, price: &str, i: i64) -> String {
    trade_with(sym, price, "1", i)
}

/// A tape of good and bad lines, blank lines among them, with the numbers of the bad ones.
fn mixed_tape() -> (Vec<u8>, Vec<u64>) {
    let lines: Vec<(Vec<u8>, bool)> = vec![
        (trade("A/USDT", "10", 1), true),
        (String::new(), true),
        ("not json".into(), false),
        (trade("A/USDT", "-1", 2), false),
        ("   ".into(), true),
        (trade_with("A/USDT", "10", "\"1_000\"", 3), false),
        (trade("A/USDT", "\".5\"", 4), false),
        (trade("A/USDT", "\"5.\"", 5), false),
        (trade("A/USDT", "\"+1\"", 6), false),
        (trade("A/USDT", "\"1e5\"", 7), false),
        (trade("A/USDT", "1e30", 8), false),
        (trade("A/USDT", "0.12345678901234567890123456789", 9), false),
        (trade_with("A/USDT", "10", "0", 10), false),
        (trade("A/USDT", "10", 11).replace("\"side\"", "\"kind\":\"bar\",\"side\""), false),
        (trade("A/USDT", "10", 12).replace('}', r#","x":1,"x":2}"#), false),
        (
            r#"{"kind":"bar","symbol":"A/USDT","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60,"open":1,"high":1,"low":1,"close":1,"volume":-1,"trades":1}"#.into(),
            false,
        ),
        (
            r#"{"kind":"ticker","symbol":"A/USDT","last":null,"bid":0,"ask":1,"volume":null,"ts_ns":1}"#.into(),
            false,
        ),
        (r#"{"kind":"nope"}"#.into(), false),
        (trade("A/USDT", "10", 13).replacen("A/USDT", "A/\u{fffd}", 1), true),
        (String::new(), true),
        (trade("A/USDT", "11", 14), true),
    ]
    .into_iter()
    .map(|(l, ok)| (l.into_bytes(), ok))
    .chain([(b"{\"kind\":\"cancel\",\"intent_id\":\"\xff\",\"ts_ns\":1}".to_vec(), false)])
    .chain([(trade("A/USDT", "12", 15).into_bytes(), true)])
    .collect();
    let mut tape = Vec::new();
    let mut bad = Vec::new();
    for (i, (l, ok)) in lines.iter().enumerate() {
        tape.extend_from_slice(l);
        tape.push(b'\n');
        if !ok {
            bad.push(i as u64 + 1);
        }
    }
    (tape, bad)
}

/// `(line, reason)` of every bad line a stdio stage logged (`line N: reason; skipped`).
fn stage_verdicts(stderr: &str) -> BTreeMap<u64, String> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("line ")? + 5..];
            let (n, reason) = rest.split_once(": ")?;
            Some((
                n.parse().ok()?,
                reason.strip_suffix("; skipped")?.to_string(),
            ))
        })
        .collect()
}

/// `(line, reason)` of every `FILE:N: reason` report on `file`.
fn file_verdicts(stderr: &str, file: &str) -> BTreeMap<u64, String> {
    let prefix = format!("{file}:");
    stderr
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find(&prefix)? + prefix.len()..];
            let (n, reason) = rest.split_once(": ")?;
            let reason = reason.strip_suffix("; skipped").unwrap_or(reason);
            Some((n.parse().ok()?, reason.to_string()))
        })
        .collect()
}

#[test]
fn every_reader_gives_the_same_verdicts_on_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (tape, bad) = mixed_tape();
    let file = dir.path().join("tape.ndjson");
    std::fs::write(&file, &tape).unwrap();
    let shown = file.display().to_string();
    std::fs::write(dir.path().join("strategies.yaml"), "strategies: []\n").unwrap();

    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let check = cmd(BUS, dir.path())
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let reference = file_verdicts(&stderr(&check), &shown);
    assert_eq!(
        reference.keys().copied().collect::<Vec<_>>(),
        bad,
        "njord-bus check: {reference:#?}"
    );
    for (n, why) in [
        (4, "`price` must be positive"),
        (6, "`1_000` is not a plain decimal"),
        (7, "`.5` is not a plain decimal"),
        (8, "`5.` is not a plain decimal"),
        (9, "`+1` is not a plain decimal"),
        (10, "`1e5` is not a plain decimal"),
        (11, "outside the decimal range"),
        (12, "outside the decimal range"),
        (13, "`qty` must be positive"),
        (14, "duplicate key `kind`"),
        (15, "duplicate key `x`"),
        (16, "`volume` must not be negative"),
        (17, "`bid` must be positive"),
        (18, "unknown kind"),
        (22, "not UTF-8"),
    ] {
        assert!(reference[&n].contains(why), "line {n}: {}", reference[&n]);
    }

    let verify = cmd(JOURNAL, dir.path())
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(1));
    assert_eq!(
        file_verdicts(&stderr(&verify), &shown),
        reference,
        "njord-journal verify"
    );

    let replay = cmd(REPLAY, dir.path()).arg(&file).output().unwrap();
    assert_eq!(
        file_verdicts(&stderr(&replay), &shown),
        reference,
        "njord-replay"
    );
    let replayed = String::from_utf8(replay.stdout).unwrap();
    assert_eq!(replayed.lines().count(), 4, "{replayed}");

    for bin in [RISK, PAPER, BARS, STRAT] {
        let mut c = cmd(bin, dir.path());
        if bin == STRAT {
            c.arg("--strategies")
                .arg(dir.path().join("strategies.yaml"));
        }
        let out = c.write_stdin(tape.clone()).output().unwrap();
        assert!(out.status.success(), "{bin}: {}", stderr(&out));
        assert_eq!(stage_verdicts(&stderr(&out)), reference, "{bin}");
        let forwarded = String::from_utf8(out.stdout).unwrap();
        let trades = forwarded
            .lines()
            .filter(|l| l.starts_with("{\"kind\":\"trade\""))
            .count();
        assert_eq!(
            trades, 4,
            "{bin} forwards the good trades only: {forwarded}"
        );
    }
}

#[test]
fn strict_names_the_physical_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "\n{}\n\n   \n{}\n",
        trade("A/USDT", "10", 1),
        trade("A/USDT", "-5", 2)
    );
    let out = cmd(RISK, dir.path())
        .arg("--strict")
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 5: bad `trade` event: `price` must be positive, found -5"),
        "{err}"
    );
}

#[test]
fn a_negative_trade_price_never_fills_paper_orders() {
    let dir = tempfile::tempdir().unwrap();
    let order = r#"{"kind":"order","intent_id":"i1","strategy_id":"s","venue":"paper","symbol":"A/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"ts_accepted_ns":1767571200000000000}"#;
    let input = format!(
        "{order}\n{}\n{}\n",
        trade("A/USDT", "-1", 1),
        trade("A/USDT", "10", 2)
    );
    let out = cmd(PAPER, dir.path())
        .arg("--emit-only")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fills: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "fill")
        .collect();
    assert_eq!(fills.len(), 1, "{fills:?}");
    assert_eq!(
        (fills[0]["price"].as_i64(), fills[0]["fee"].as_f64()),
        (Some(10), Some(0.01))
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2: bad `trade` event: `price` must be positive"),
        "{err}"
    );
}

#[test]
fn paper_refuses_orders_beyond_max_open_orders() {
    let dir = tempfile::tempdir().unwrap();
    let limit = |id: &str| {
        format!(
            r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"paper","symbol":"A/USDT","side":"buy","type":"limit","qty":1,"limit_price":5,"ts_accepted_ns":{T0}}}"#
        )
    };
    let input = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        trade("A/USDT", "10", 1),
        limit("a"),
        limit("b"),
        limit("c"),
        limit("d")
    );
    let out = cmd(PAPER, dir.path())
        .env("NJORD__PAPER__MAX_OPEN_ORDERS", "2")
        .args(["--emit-only", "--summary"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rejected: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<(&str, &str)> = rejected
        .iter()
        .map(|v| {
            (
                v["client_order_id"].as_str().unwrap(),
                v["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [("c", "open_orders_cap"), ("d", "open_orders_cap")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 orders refused with open_orders_cap"),
        "{err}"
    );
    assert!(
        err.contains("orders refused (open_orders_cap, paper.max_open_orders): 2"),
        "{err}"
    );
}

#[test]
fn bars_refuse_symbols_beyond_max_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let input: String = ["A/USDT", "B/USDT", "C/USDT", "A/USDT", "D/USDT"]
        .iter()
        .enumerate()
        .map(|(i, s)| trade(s, "10", i as i64) + "\n")
        .collect();
    let out = cmd(BARS, dir.path())
        .env("NJORD__BARS__MAX_SYMBOLS", "2")
        .args(["--timeframes", "1m", "--emit-only", "--no-journal"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let symbols: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["symbol"].to_string())
        .collect();
    assert_eq!(symbols, ["\"A/USDT\"", "\"B/USDT\""]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trade 2 of C/USDT refused: 2 symbols"),
        "{err}"
    );
    assert_eq!(
        err.matches("refused: 2 symbols").count(),
        1,
        "logged once: {err}"
    );
    assert!(
        err.contains("2 trades refused: their symbol was beyond bars.max_symbols (2)"),
        "{err}"
    );
}

#[test]
fn strat_refuses_symbols_beyond_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let strategies = dir.path().join("strategies.yaml");
    std::fs::write(
        &strategies,
        "strategies:\n  - {id: all, class: ema_cross, symbols: ['*/USDT'], events: [trade], params: {qty: 1}}\n",
    )
    .unwrap();
    let input: String = (0..10)
        .map(|i| trade(&format!("S{}/USDT", i % 5), "10", i) + "\n")
        .collect();
    let out = cmd(STRAT, dir.path())
        .env("NJORD__STRAT__MAX_SYMBOLS", "4")
        .env("NJORD__STRAT__MAX_SYMBOLS_PER_STRATEGY", "3")
        .arg("--strategies")
        .arg(&strategies)
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // S4: beyond the 4 routed symbols, twice; S3: routed, but beyond the strategy's 3.
    assert!(
        err.contains("2 events refused: their symbol was beyond strat.max_symbols"),
        "{err}"
    );
    assert!(
        err.contains("strategy `all`: 2 events not run: their symbol was beyond strat.max_symbols_per_strategy"),
        "{err}"
    );
}

/// `njord-journal validate`: what valid lines get wrong about the market, each at its line.
#[test]
fn validate_names_every_market_inconsistency_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = |id: u64, price: &str, qty: &str, ts: i64| {
        format!(
            r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{id}","price":{price},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
        )
    };
    let lines = [
        t(1, "10", "1", 0),
        t(2, "11", "2", 30_000_000_000),
        t(5, "10.5", "1", 40_000_000_000),
        t(5, "10.5", "1", 40_000_000_000),
        t(6, "10.5", "1", 35_000_000_000),
        r#"{"kind":"book","symbol":"A/USDT","bids":[[11,1]],"asks":[[10.9,1]],"ts_ns":41000000000}"#
            .to_string(),
        r#"{"kind":"fill","order_id":"o","intent_id":"i","symbol":"A/USDT","side":"buy","qty":1,"price":12,"fee":0,"ts_fill_ns":42000000000}"#
            .to_string(),
        r#"{"kind":"bar","symbol":"A/USDT","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60000000000,"open":10,"high":11,"low":10,"close":10.5,"volume":9,"trades":4}"#
            .to_string(),
        t(7, "10.5", "1", 61_000_000_000),
        "not json".to_string(),
    ];
    std::fs::write(dir.path().join("tape.ndjson"), lines.join("\n") + "\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-journal"))
        .current_dir(dir.path())
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args(["validate", "tape.ndjson"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    for (line, what) in [
        (3, "gap in trade ids: 3–4 missing"),
        (4, "trade id 5 repeats"),
        (5, "time goes back"),
        (6, "crossed book"),
        (7, "fill at 12 outside the traded range 10–11"),
        (8, "bar volume 9 but its trades sum to 6"),
        (8, "bar counts 4 trades but 5 are inside it"),
    ] {
        let want = format!("tape.ndjson:{line}: A/USDT: ");
        assert!(
            out.lines()
                .any(|l| l.starts_with(&want) && l.contains(what)),
            "{want}…{what} missing from:\n{out}"
        );
    }
    assert!(err.contains("tape.ndjson:10: "), "{err}");
    assert!(err.contains("7 problems, 1 bad lines"), "{err}");
    // The same tape without its faults passes.
    let clean = [t(1, "10", "1", 0), t(2, "11", "2", 30_000_000_000)];
    std::fs::write(dir.path().join("clean.ndjson"), clean.join("\n") + "\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-journal"))
        .current_dir(dir.path())
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args(["validate", "clean.ndjson"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
