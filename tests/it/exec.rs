//! End to end: `njord-exec` on pipes, with its journal: children over time, pass-through,
//! restarts that resume the parents still worked, and the kill switch.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const EXEC: &str = env!("CARGO_BIN_EXE_njord-exec");
/// 2026-01-05T00:00:00Z
const T0: i64 = 1_767_571_200_000_000_000;
const MIN: i64 = 60_000_000_000;

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(EXEC);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"))
        .env("NJORD__EXEC__DEFAULT_LOT_STEP", "0.01");
    c
}

fn trade(price: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"t","symbol":"ATOM/USDT","trade_id":"{ts}","price":{price},"qty":5,"side":"buy","ts_ns":{ts}}}"#
    )
}

fn parent(id: &str, qty: &str, exec: &str) -> String {
    format!(
        r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"buy","type":"market","qty":{qty},"limit_price":null,"exec":{exec},"ts_accepted_ns":{T0}}}"#
    )
}

/// One trade a minute from `from` to `to` (minutes after T0).
fn minutes(from: i64, to: i64) -> Vec<String> {
    (from..to).map(|m| trade("10", T0 + m * MIN)).collect()
}

fn run(dir: &Path, lines: &[String], args: &[&str]) -> Vec<Value> {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = cmd(dir).args(args).write_stdin(input).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn children(evs: &[Value]) -> Vec<(String, String)> {
    evs.iter()
        .filter(|e| e["kind"] == "order")
        .map(|e| {
            (
                e["intent_id"].as_str().unwrap().to_string(),
                e["qty"].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_twap_is_cut_over_time_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let plain = r#"{"kind":"order","intent_id":"plain","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"sell","type":"market","qty":1,"limit_price":null,"ts_accepted_ns":1767571200000000000}"#;
    let mut first = vec![
        trade("10", T0 - 1),
        parent("p", "10", r#"{"algo":"twap","duration":"10m","slices":5}"#),
        plain.to_string(),
    ];
    first.extend(minutes(1, 5));
    let evs = run(dir.path(), &first, &[]);
    // The parent is not forwarded; a plain order is, untouched.
    assert!(evs.iter().all(|e| e.get("exec").is_none()));
    assert_eq!(evs.iter().filter(|e| e["intent_id"] == "plain").count(), 1);
    let pair = |id: &str, q: &str| (id.to_string(), q.to_string());
    // Slices due at minutes 0, 2, 4, 6 and 8.
    assert_eq!(
        children(&evs),
        [
            pair("p-1", "2"),
            pair("plain", "1"),
            pair("p-2", "2"),
            pair("p-3", "2")
        ]
    );
    // Restart: the rest of the schedule, ids going on, nothing sent twice.
    let evs = run(dir.path(), &minutes(5, 12), &["--resume", "--emit-only"]);
    assert_eq!(children(&evs), [pair("p-4", "2"), pair("p-5", "2")]);
    let last = evs
        .iter()
        .rev()
        .find(|e| e["kind"] == "exec_status")
        .unwrap();
    assert_eq!(
        (last["state"].as_str(), last["sent"].to_string()),
        (Some("sent"), "10".into())
    );
}

#[test]
fn the_kill_switch_cancels_open_children_and_halts_every_parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = vec![
        trade("10", T0 - 1),
        parent("k", "10", r#"{"algo":"twap","duration":"10m","slices":5}"#),
    ];
    first.extend(minutes(1, 3));
    assert_eq!(
        children(&run(dir.path(), &first, &["--emit-only"])).len(),
        2
    );
    std::fs::write(dir.path().join("halt"), "tripped\n").unwrap();
    let evs = run(dir.path(), &minutes(3, 8), &["--resume", "--emit-only"]);
    let kinds: Vec<String> = evs
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["intent_id"]
                    .as_str()
                    .or(e["state"].as_str())
                    .unwrap_or("")
            )
        })
        .collect();
    assert_eq!(kinds, ["cancel k-1", "cancel k-2", "exec_status halted"]);
    // While tripped a new parent is refused.
    let evs = run(
        dir.path(),
        &[parent("n", "1", r#"{"algo":"pov","rate":0.1}"#)],
        &["--emit-only"],
    );
    assert_eq!(
        (evs[0]["state"].as_str(), evs[0]["reason"].as_str()),
        (Some("rejected"), Some("halted"))
    );
}

/// `njord-exec report` on a pipeline's output and the exec journal: one row per algorithm,
/// strategy and symbol, and every parent in `--json`, with the costs recomputed here.
#[test]
fn report_prints_the_shortfall_of_each_parent_and_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![
        trade("10", T0 - 1),
        parent("p", "4", r#"{"algo":"twap","duration":"2m","slices":2}"#),
    ];
    lines.extend(minutes(1, 3));
    run(dir.path(), &lines, &["--emit-only"]);
    // The paper side of the pipeline: the children's fills, at 10.1 and 10.3.
    let fills = [("p-1", "10.1", "0.02"), ("p-2", "10.3", "0.0206")]
        .iter()
        .map(|(id, px, fee)| format!(
            r#"{{"kind":"fill","order_id":"x","intent_id":"{id}","strategy_id":"s1","symbol":"ATOM/USDT","side":"buy","qty":2,"price":{px},"fee":{fee},"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":{}}}"#,
            T0 + 3 * MIN
        ))
        .collect::<Vec<_>>();
    let mut tape: Vec<String> = vec![trade("10", T0 - 1)];
    tape.extend(minutes(1, 3));
    tape.extend(fills);
    let out = dir.path().join("paper.ndjson");
    std::fs::write(
        &out,
        tape.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let journal = dir.path().join("journal/exec.orders.ndjson");
    let table = cmd(dir.path())
        .args(["report"])
        .arg(&out)
        .arg(&journal)
        .assert()
        .success();
    let table = String::from_utf8_lossy(&table.get_output().stdout).to_string();
    assert!(
        table.contains("twap") && table.contains("ATOM/USDT") && table.contains("s1"),
        "{table}"
    );
    let json = cmd(dir.path())
        .args(["report", "--json"])
        .arg(&out)
        .arg(&journal)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let p = &v["parents"][0];
    // Decision 10 × 4 = 40; impact 2 × 0.1 + 2 × 0.3 = 0.8 (200 bps); fees 0.0406.
    assert_eq!(
        (
            p["decision_price"].to_string(),
            p["impact"].to_string(),
            p["fees"].to_string()
        ),
        ("10".into(), "0.8".into(), "0.0406".into())
    );
    assert!(
        (p["impact_bps"].as_f64().unwrap() - 200.0).abs() < 1e-9,
        "{p}"
    );
    assert_eq!(p["state"], "done");
    // No parent in the files: a clear error.
    cmd(dir.path())
        .args(["report"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no parent orders"));
}

/// A parent id seen twice is ignored the second time, by the engine and by `--resume`:
/// nothing is sent again after a restart.
#[test]
fn a_repeated_parent_id_resends_nothing_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r#"{"algo":"twap","duration":"2m","slices":2}"#;
    let mut first = vec![trade("10", T0 - 1), parent("p", "2", spec)];
    first.extend(minutes(1, 2));
    first.push(parent("p", "2", spec));
    first.extend(minutes(2, 4));
    assert_eq!(
        children(&run(dir.path(), &first, &["--emit-only"])).len(),
        2
    );
    let again = run(dir.path(), &minutes(4, 8), &["--resume", "--emit-only"]);
    assert_eq!(children(&again), Vec::<(String, String)>::new());
}
