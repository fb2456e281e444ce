//! The defects a new user met in their first hour (issue 14, "Defects"), each on the real
//! binaries.

use crate::support;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000_000;
const DAY: i64 = 86_400_000_000_000;

/// A binary run from a scratch directory, with journals and logs inside it.
fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::cargo_bin(bin).unwrap();
    c.current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.join("log"));
    c
}

#[test]
fn print_config_prints_plain_numbers_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd("njord-risk", dir.path())
        .env("NJORD__RISK__PER_ORDER_USD_CAP", "12.5")
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(!printed.contains("serde_json"), "{printed}");
    assert!(printed.contains("  per_order_usd_cap: 12.5\n"), "{printed}");
    assert!(printed.contains("  orders_per_min_cap: 30\n"), "{printed}");
    // What it prints is a configuration file that loads to the same configuration.
    let file = dir.path().join("printed.yaml");
    std::fs::write(&file, &printed).unwrap();
    cmd("njord-risk", dir.path())
        .arg("--config")
        .arg(&file)
        .arg("--print-config")
        .assert()
        .success()
        .stdout(printed);
}

#[test]
fn verify_of_the_journal_directory_leaves_the_structured_log_out() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("var");
    let tape = format!(
        "{}\n{}\n",
        support::trade_line("ATOM/USDT", 1, "10", T0),
        support::trade_line("ATOM/USDT", 2, "11", T0 + 61_000_000_000)
    );
    // Journals and the structured log in one directory, as by default.
    cmd("njord-bars", dir.path())
        .env("NJORD__JOURNAL__DIR", &shared)
        .env("NJORD__LOGGING__LOG_DIR", &shared)
        .write_stdin(tape)
        .assert()
        .success();
    assert!(shared.join("app.ndjson").exists());
    cmd("njord-journal", dir.path())
        .arg("verify")
        .arg(&shared)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ohlcv.1m.ATOMUSDT.ndjson: 2 events, 0 problems",
        ))
        .stdout(predicate::str::contains("app.ndjson").not());
}

#[test]
fn from_takes_a_bare_date_as_utc_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.ndjson");
    std::fs::write(
        &tape,
        format!(
            "{}\n{}\n{}\n",
            support::trade_line("ATOM/USDT", 1, "10", T0 + DAY - 1),
            support::trade_line("ATOM/USDT", 2, "10", T0 + DAY),
            support::trade_line("ATOM/USDT", 3, "10", T0 + 2 * DAY),
        ),
    )
    .unwrap();
    let out = cmd("njord-replay", dir.path())
        .args(["--from", "2026-01-02", "--to", "2026-01-03"])
        .arg(&tape)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        support::trade_line("ATOM/USDT", 2, "10", T0 + DAY) + "\n"
    );
}

#[test]
fn a_negative_capital_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    cmd("njord-backtest", dir.path())
        .args(["--tape", "none.ndjson", "--capital", "-5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("capital `-5` must be positive"));
}

#[test]
fn misspelt_environment_overrides_are_errors_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "NJORD__RISK__PER_ORDER_USD_CAPP",
        "NJORD_RISK__PER_ORDER_USD_CAP",
        "NJORD__RISK__",
    ] {
        cmd("njord-risk", dir.path())
            .env(name, "5")
            .write_stdin("")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "environment variable {name}"
            )));
    }
}

#[test]
fn a_relative_kill_file_is_resolved_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    let abs = dir.join("run/halt");
    cmd("njord-kill", &dir)
        .args(["--file", "run/halt", "trip"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "file {}: tripped",
            abs.display()
        )))
        .stderr(predicate::str::contains(format!(
            "kill file `run/halt` is a relative path: this is {}",
            abs.display()
        )));
    assert!(abs.exists());
    cmd("njord-kill", &dir)
        .arg("--file")
        .arg(&abs)
        .arg("status")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("relative").not());
}

#[test]
fn logs_carry_time_binary_and_pid_and_no_colours_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd("njord-risk", dir.path())
        .write_stdin("not json\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains('\u{1b}'), "colour codes on a pipe: {err:?}");
    let line = err.lines().next().unwrap();
    // 2026-01-02T03:04:05.678Z  WARN line 1: …
    let (ts, rest) = line.split_once(' ').unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && time_parses(ts),
        "{line}"
    );
    assert!(rest.contains("line 1"), "{line}");
    let log = std::fs::read_to_string(dir.path().join("log/app.ndjson")).unwrap();
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["bin"], "njord-risk", "{l}");
        assert!(v["pid"].as_u64().is_some_and(|p| p > 0), "{l}");
        assert!(time_parses(v["timestamp"].as_str().unwrap()), "{l}");
    }
}

fn time_parses(s: &str) -> bool {
    njord::time::parse_time(s).is_ok()
}

/// Runs `bin args` with its stdout a pipe whose reading end is already closed, as after
/// `| head -1`, feeding `stdin`; returns the exit code and stderr. Deterministic: every write
/// to stdout fails with EPIPE, whatever its size or timing.
fn run_closed_stdout(
    bin: &Path,
    dir: &Path,
    args: &[String],
    stdin: &str,
) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = std::process::Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("NJORD_CONFIG")
        .env("NJORD__JOURNAL__DIR", dir.join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.join("log"))
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("halt"))
        .stdin(std::process::Stdio::piped())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_string();
    // The binary may stop reading once its output is gone: a failed write here is expected.
    let feeder = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut input, text.as_bytes());
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{} {args:?} did not end after its stdout closed",
                bin.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `| head -1` on every binary: each ends quietly (its usual exit code, no panic, no
/// "Broken pipe" noise), for its help, its version, its configuration and its data output.
#[test]
fn every_binary_ends_quietly_when_stdout_closes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Enough lines to overflow any pipe buffer, were the pipe open.
    let trades: String = (0..3000)
        .map(|i| support::trade_line("ATOM/USDT", i, "10", T0 + i as i64 * 1_000_000_000) + "\n")
        .collect();
    let tape = d.join("tape.ndjson");
    std::fs::write(&tape, &trades).unwrap();
    std::fs::create_dir_all(d.join("j")).unwrap();
    std::fs::write(d.join("j/md.trades.ATOMUSDT.ndjson"), &trades).unwrap();
    let strategies = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/strategies.yaml");
    let sim = support::SimServer::spawn({
        let mut c = support::sim_command();
        c.args(["-q", "serve", "--speed", "max", "--loop", "--tape"])
            .arg(&tape);
        c
    });
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let p = |p: &Path| p.display().to_string();
    let data: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "njord-backtest",
            vec![
                "--tape".into(),
                p(&tape),
                "--strategies".into(),
                p(&strategies),
                "--out".into(),
                p(&d.join("bt")),
                "--no-progress".into(),
            ],
            "",
        ),
        (
            "njord-alert",
            vec![
                "--alerts".into(),
                p(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/alerts.yaml")),
            ],
            &trades,
        ),
        (
            "njord-audit",
            vec!["keygen".into(), "--out".into(), p(&d.join("audit.key"))],
            "",
        ),
        ("njord-bars", vec![], &trades),
        ("njord-broker", vec![], &trades),
        ("njord-bus", s(&["check"]), &trades),
        (
            "njord-ctl",
            vec![
                "plan".into(),
                "--session".into(),
                p(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rehearsal.yaml")),
            ],
            "",
        ),
        (
            "njord-ingest",
            vec![
                "--rest-url".into(),
                sim.rest.clone(),
                "--ws-url".into(),
                sim.ws.clone(),
                "--symbol".into(),
                "ATOM/USDT".into(),
            ],
            "",
        ),
        ("njord-journal", vec!["cat".into(), p(&d.join("j"))], ""),
        ("njord-journal", vec!["verify".into(), p(&d.join("j"))], ""),
        ("njord-kill", s(&["status"]), ""),
        ("njord-exec", vec![], &trades),
        ("njord-paper", vec![], &trades),
        (
            "njord-portfolio",
            vec![
                "--portfolio".into(),
                p(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/portfolio.yaml")),
            ],
            &trades,
        ),
        ("njord-replay", vec![p(&tape)], ""),
        ("njord-risk", vec![], &trades),
        (
            "njord-strat",
            vec!["--strategies".into(), p(&strategies)],
            &trades,
        ),
        ("njord-strat", s(&["--list"]), ""),
    ];
    let mut runs: Vec<(std::path::PathBuf, Vec<String>, &str)> = Vec::new();
    for c in njord::cli::commands() {
        let name = c.get_name().to_string();
        let bin = assert_cmd::cargo::cargo_bin(&name);
        for flag in ["--help", "--version"] {
            runs.push((bin.clone(), s(&[flag]), ""));
        }
        let mut any = false;
        for (b, args, input) in &data {
            if *b == name {
                let mut print_config = args.clone();
                print_config.push("--print-config".into());
                runs.push((bin.clone(), print_config, ""));
                runs.push((bin.clone(), args.clone(), input));
                any = true;
            }
        }
        assert!(any, "{name} has no data command in this test");
    }
    let sim_bin = support::sim_bin();
    runs.push((sim_bin.clone(), s(&["--help"]), ""));
    runs.push((sim_bin.clone(), s(&["--version"]), ""));
    runs.push((
        sim_bin,
        s(&["gen", "--symbol", "ATOM/USDT", "--count", "100000"]),
        "",
    ));
    for (bin, args, input) in runs {
        let (code, err) = run_closed_stdout(&bin, d, &args, input);
        let what = format!("{} {args:?}: exit {code:?}, stderr:\n{err}", bin.display());
        assert_eq!(code, Some(0), "{what}");
        for noise in ["panicked", "Broken pipe", "os error 32", "RUST_BACKTRACE"] {
            assert!(!err.contains(noise), "{what}");
        }
    }
}

/// What bash offers for `words` (the last one being completed) with `script` loaded.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let func = format!("_{}", words[0].replace('-', "__"));
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; \
         {func} '{}' '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.join(" "),
        words[0],
        words[cword],
        words[cword - 1],
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The committed bash completions complete after a subcommand too, for every subcommand of
/// every binary (hyphenated names hit a clap_complete bug; `njord::docs` works around it).
#[test]
fn bash_completion_offers_a_subcommands_own_flags() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for cmd in njord::cli::commands() {
        let name = cmd.get_name().to_string();
        let script = root.join(format!("completions/{name}.bash"));
        let top = bash_complete(&script, &[&name, ""]);
        for sub in cmd.get_subcommands() {
            assert!(top.contains(&sub.get_name().to_string()), "{name}: {top:?}");
            let Some(flag) = sub
                .get_arguments()
                .filter(|a| !a.is_global_set())
                .find_map(|a| a.get_long())
            else {
                continue;
            };
            let got = bash_complete(&script, &[&name, sub.get_name(), "--"]);
            assert!(
                got.contains(&format!("--{flag}")),
                "{name} {} --<TAB> offers {got:?}",
                sub.get_name()
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} subcommands checked");
    // A nested subcommand, and njord-sim's script (generated by its own crate).
    let journal = root.join("completions/njord-journal.bash");
    let got = bash_complete(&journal, &["njord-journal", "import", "b"]);
    assert_eq!(
        got,
        ["binance-trades", "binance-aggtrades", "binance-klines"]
    );
    let got = bash_complete(
        &journal,
        &["njord-journal", "import", "binance-trades", "--sy"],
    );
    assert_eq!(got, ["--symbol"]);
    let got = bash_complete(
        &root.join("completions/njord-sim.bash"),
        &["njord-sim", "serve", "--tap"],
    );
    assert_eq!(got, ["--tape"]);
}

/// `njord-bars --bus` on a tape whose event time is not now: bars close by event time, so
/// wall time passing between two trades of one bucket does not split it; the quiet stream's
/// last bar is still flushed.
#[test]
fn bars_daemon_closes_bars_by_event_time_not_the_wall_clock() {
    const MIN: i64 = 60_000_000_000;
    // 2023-01-02T00:00:00Z: long ago.
    const OLD: i64 = 1_672_617_600_000_000_000;
    let redis = support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut conn = redis.conn();
    let mut ps = conn.as_pubsub();
    ps.psubscribe("md.ohlcv.*").unwrap();
    ps.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let mut daemon = std::process::Command::new(assert_cmd::cargo::cargo_bin("njord-bars"))
        .current_dir(dir.path())
        .env("NJORD__JOURNAL__DIR", dir.path().join("j"))
        .env("NJORD__LOGGING__LOG_DIR", dir.path().join("log"))
        .args([
            "--timeframes",
            "1m",
            "--grace-ms",
            "100",
            "--bus",
            &redis.url(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut publisher = redis.conn();
    // Ready once the daemon's pattern is there beside ours.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n: i64 = redis::cmd("PUBSUB")
            .arg("NUMPAT")
            .query(&mut publisher)
            .unwrap();
        if n >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "njord-bars never subscribed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let publish = |c: &mut redis::Connection, id: u64, px: &str, ts: i64| {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("md.trades.ATOM/USDT")
            .arg(support::trade_line("ATOM/USDT", id, px, ts))
            .query(c)
            .unwrap();
    };
    publish(&mut publisher, 1, "10", OLD + 1_000_000_000);
    // Wall time passes (several of the daemon's 250 ms ticks): under the old wall-clock rule
    // this closed the bar after one trade. Nothing can signal that a tick has passed, hence
    // the sleep.
    std::thread::sleep(std::time::Duration::from_millis(700));
    publish(&mut publisher, 2, "12", OLD + 30_000_000_000);
    publish(&mut publisher, 3, "9", OLD + 50_000_000_000);
    // Event time enters the next minute: the first bar closes, whole, once past the grace.
    publish(&mut publisher, 4, "11", OLD + MIN + 50_000_000);
    publish(&mut publisher, 5, "11.5", OLD + MIN + 200_000_000);
    // The last trade, 1 ms before its bucket ends: quiet time flushes it.
    publish(&mut publisher, 6, "11.25", OLD + 2 * MIN - 1_000_000);
    let got = collect_bars(&mut ps, 2, std::time::Duration::from_secs(10));
    let _ = daemon.kill();
    let _ = daemon.wait();
    let rows: Vec<String> = got
        .iter()
        .map(|v| {
            format!(
                "{} {} {} {} {} {} {}",
                (v["ts_open_ns"].as_i64().unwrap() - OLD) / MIN,
                v["open"],
                v["high"],
                v["low"],
                v["close"],
                v["volume"],
                v["trades"]
            )
        })
        .collect();
    assert_eq!(rows, ["0 10 12 9 9 4.5 3", "1 11 11.5 11 11.25 4.5 3"]);
}

/// Bars published on `md.ohlcv.*`, up to `n` of them or until `wait` has passed.
fn collect_bars(
    ps: &mut redis::PubSub<'_>,
    n: usize,
    wait: std::time::Duration,
) -> Vec<serde_json::Value> {
    let end = std::time::Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < end {
        if let Ok(m) = ps.get_message() {
            let payload: String = m.get_payload().unwrap();
            out.push(serde_json::from_str(&payload).unwrap());
        }
    }
    out
}

#[test]
fn urls_that_do_not_parse_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cmd("njord-risk", d)
        .args(["--bus", "redis//127.0.0.1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`redis//127.0.0.1` is not a Redis URL",
        ));
    cmd("njord-ingest", d)
        .args(["--symbol", "ATOM/USDT", "--rest-url", "htp:/bad"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the scheme must be http or https"));
    cmd("njord-ingest", d)
        .env("NJORD__EXCHANGE__WS_URL", "nope")
        .args(["--symbol", "ATOM/USDT"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("exchange.ws_url").and(predicate::str::contains("`nope`")),
        );
    cmd("njord-kill", d)
        .env("NJORD__REDIS__URL", "localhost:6379")
        .arg("status")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("redis.url"));
}

#[test]
fn an_unreachable_venue_keeps_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refused = format!("http://127.0.0.1:{}", support::free_port());
    cmd("njord-ingest", d)
        .args(["--symbol", "ATOM/USDT", "--rest-url", &refused])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Connection refused"));
    // TLS spoken to a plain HTTP server: the handshake fails, and says so.
    let tape = d.join("tape.ndjson");
    std::fs::write(&tape, support::trade_line("ATOM/USDT", 1, "10", T0) + "\n").unwrap();
    let sim = support::SimServer::spawn({
        let mut c = support::sim_command();
        c.args(["-q", "serve", "--tape"]).arg(&tape);
        c
    });
    let https = sim.rest.replacen("http://", "https://", 1);
    cmd("njord-ingest", d)
        .args(["--symbol", "ATOM/USDT", "--rest-url", &https])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TLS handshake failed"));
}

/// A strategy whose symbols never appear on the tape is reported at the end, by njord-strat
/// and by njord-backtest; one that ran is not.
#[test]
fn a_strategy_whose_symbols_never_appear_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let strategies = d.join("strategies.yaml");
    std::fs::write(
        &strategies,
        concat!(
            "strategies:\n",
            "  - {id: atom, class: ema_cross, symbols: [ATOM/USDT], events: [trade], params: {qty: 1}}\n",
            "  - {id: typo, class: ema_cross, symbols: [ATMO/USDT], events: [trade], params: {qty: 1}}\n",
        ),
    )
    .unwrap();
    let trades: String = (0..5)
        .map(|i| support::trade_line("ATOM/USDT", i, "10", T0 + i as i64) + "\n")
        .collect();
    let tape = d.join("tape.ndjson");
    std::fs::write(&tape, &trades).unwrap();
    let never = "strategy `typo` never ran: none of its symbols (ATMO/USDT) appeared";
    cmd("njord-strat", d)
        .arg("--strategies")
        .arg(&strategies)
        .write_stdin(trades)
        .assert()
        .success()
        .stderr(predicate::str::contains(never))
        .stderr(predicate::str::contains("strategy `atom` never ran").not());
    cmd("njord-backtest", d)
        .arg("--tape")
        .arg(&tape)
        .arg("--strategies")
        .arg(&strategies)
        .arg("--out")
        .arg(d.join("bt"))
        .assert()
        .success()
        .stderr(predicate::str::contains(never))
        .stderr(predicate::str::contains("strategy `atom` never ran").not());
}
