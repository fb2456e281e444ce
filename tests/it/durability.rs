//! Journals under faults (issue 26 §4): a stage killed with SIGKILL at a random moment has
//! journaled every event the next stage received, and a rotation cut short is finished by the
//! next start.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const PAPER: &str = env!("CARGO_BIN_EXE_njord-paper");

/// 2026-01-05T00:00:00Z
const T0: i64 = 1_767_571_200_000_000_000;
/// Kill rounds per stage.
const ROUNDS: u64 = 12;
/// Input lines offered per round, far more than a stage handles before its kill.
const LINES: u64 = 3_000_000;

fn stage(bin: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"))
        .arg("-q");
    c
}

fn trade(i: u64) -> String {
    let price = 10 + i % 3;
    format!(
        r#"{{"kind":"trade","venue":"t","symbol":"ATOM/USDT","trade_id":"{i}","price":{price},"qty":5,"side":"buy","ts_ns":{}}}"#,
        T0 + i as i64
    )
}

/// Risk input: trades, and an intent every 10th line (some allowed, many over the rate cap).
fn risk_line(i: u64) -> String {
    if i % 10 == 9 {
        format!(
            r#"{{"kind":"intent","id":"k{i}","ts_ns":{},"strategy_id":"s1","symbol":"ATOM/USDT","side":"buy","type":"market","qty":1,"limit_price":null,"meta":{{}}}}"#,
            T0 + i as i64
        )
    } else {
        trade(i)
    }
}

/// Paper input: trades, and a market order every 10th line, sides alternating, each filled by
/// the next trade.
fn paper_line(i: u64) -> String {
    if i % 10 == 9 {
        let side = if i % 20 == 9 { "buy" } else { "sell" };
        format!(
            r#"{{"kind":"order","intent_id":"k{i}","strategy_id":"s1","venue":"binanceus","symbol":"ATOM/USDT","side":"{side}","type":"market","qty":1,"limit_price":null,"ts_accepted_ns":{}}}"#,
            T0 + i as i64
        )
    } else {
        trade(i)
    }
}

/// A small xorshift generator: kill moments differ from run to run, and the seed is printed
/// on failure to replay one.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(ns | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Complete lines of a journal file (a torn last line is no event).
fn journal_lines(path: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete.lines().map(str::to_string).collect()
}

/// What one round saw: events of the watched kinds downstream, and how many of them the
/// journals lack.
struct Round {
    seen: usize,
    missing: Vec<String>,
}

/// Runs `bin` on a stream of `line`s through pipes, kills it with SIGKILL `delay` after its
/// first output, and checks every complete output line of a journaled kind against the
/// journals.
fn kill_round(
    bin: &str,
    line: fn(u64) -> String,
    kinds: &[(&str, &str)],
    delay: Duration,
) -> Round {
    let dir = tempfile::tempdir().unwrap();
    let mut child = stage(bin, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut chunk = String::new();
        for i in 0..LINES {
            chunk.push_str(&line(i));
            chunk.push('\n');
            if chunk.len() >= 64 * 1024 {
                // The stage is killed mid-stream: a broken pipe ends the feed.
                if stdin.write_all(chunk.as_bytes()).is_err() {
                    return;
                }
                chunk.clear();
            }
        }
        let _ = stdin.write_all(chunk.as_bytes());
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut out = vec![0u8; 1];
    // The first output byte says the stage is running; the kill comes `delay` later.
    stdout.read_exact(&mut out).unwrap();
    std::thread::sleep(delay);
    child.kill().unwrap();
    stdout.read_to_end(&mut out).unwrap();
    child.wait().unwrap();
    feeder.join().unwrap();
    let text = String::from_utf8_lossy(&out);
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let mut journaled: HashSet<String> = HashSet::new();
    for (_, stem) in kinds {
        journaled.extend(journal_lines(
            &dir.path().join("journal").join(format!("{stem}.ndjson")),
        ));
    }
    let mut round = Round {
        seen: 0,
        missing: Vec::new(),
    };
    for l in complete.lines() {
        if kinds
            .iter()
            .any(|(kind, _)| l.starts_with(&format!(r#"{{"kind":"{kind}""#)))
        {
            round.seen += 1;
            if !journaled.contains(l) {
                round.missing.push(l.to_string());
            }
        }
    }
    round
}

fn kill_rounds(bin: &str, line: fn(u64) -> String, kinds: &[(&str, &str)]) {
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    let (mut seen, mut missing) = (0, Vec::new());
    for _ in 0..ROUNDS {
        let delay = Duration::from_millis(rng.below(400));
        let r = kill_round(bin, line, kinds, delay);
        seen += r.seen;
        missing.extend(r.missing);
    }
    assert!(seen > 0, "no journaled event reached stdout (seed {seed})");
    assert!(
        missing.is_empty(),
        "{} of {seen} events seen downstream are missing from the journals (seed {seed}); first: {}",
        missing.len(),
        missing[0]
    );
}

#[test]
fn risk_killed_at_random_has_journaled_every_decision_sent_on() {
    kill_rounds(RISK, risk_line, &[("decision", "risk.decisions")]);
}

#[test]
fn paper_killed_at_random_has_journaled_every_fill_and_position_sent_on() {
    kill_rounds(
        PAPER,
        paper_line,
        &[
            ("fill", "fills.ATOMUSDT"),
            ("position", "positions.ATOMUSDT"),
        ],
    );
}

/// A rotation killed mid-compression leaves the rotated file plain beside a partial
/// `.gz.tmp`; the next start of the stage compresses it again and removes the leftovers.
#[test]
fn next_start_finishes_an_interrupted_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("journal");
    std::fs::create_dir_all(&j).unwrap();
    let old = r#"{"kind":"decision","intent_id":"old","allowed":true,"reason":null,"caps":{},"ts_ns":1767484800000000000}"#;
    std::fs::write(j.join("risk.decisions.20260104.ndjson"), format!("{old}\n")).unwrap();
    std::fs::write(
        j.join(".risk.decisions.20260104.ndjson.gz.tmp"),
        b"\x1f\x8b\x08 cut short",
    )
    .unwrap();
    let input = format!("{}\n{}\n", trade(0), risk_line(9).replace("k9", "new"));
    let mut child = stage(RISK, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        crate::support::file_names(&j),
        ["risk.decisions.20260104.ndjson.gz", "risk.decisions.ndjson"]
    );
    let mut r =
        njord::journal::JournalReader::open(&j.join("risk.decisions.20260104.ndjson.gz")).unwrap();
    let mut lines = Vec::new();
    while let Some(l) = r.next_line() {
        lines.push(l.unwrap().text.to_string());
    }
    assert_eq!(lines, [old]);
}
