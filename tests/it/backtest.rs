//! `njord-backtest`: golden equity tests (seed 5.3), parity with the stdio pipeline,
//! byte-identical determinism and sweeps that do not depend on the thread count.

use assert_cmd::Command;
use njord::backtest::engine::{Settings, Sink, paper_config};
use njord::backtest::metrics::{Account, EquityPoint, Sample, parse_interval};
use njord::backtest::run::{self, Tape};
use njord::config::Config;
use njord::event::{self, Event, Fill};
use njord::replay::Filter;
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const BACKTEST: &str = env!("CARGO_BIN_EXE_njord-backtest");
const REPLAY: &str = env!("CARGO_BIN_EXE_njord-replay");
const STRAT: &str = env!("CARGO_BIN_EXE_njord-strat");
const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const PAPER: &str = env!("CARGO_BIN_EXE_njord-paper");
const EXEC: &str = env!("CARGO_BIN_EXE_njord-exec");
const BARS: &str = env!("CARGO_BIN_EXE_njord-bars");

#[derive(Default)]
struct Collect {
    equity: Vec<EquityPoint>,
    fills: Vec<Fill<'static>>,
}

impl Sink for Collect {
    fn on_sample(&mut self, s: &Sample, _: &Account) {
        self.equity.push(s.point.clone());
    }
    fn on_fill(&mut self, f: &Fill<'_>) {
        if let Event::Fill(f) = Event::Fill(f.clone()).into_owned() {
            self.fills.push(f);
        }
    }
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("{v} is not a decimal string")),
    )
    .unwrap()
}

/// Compares one metric: decimals exactly, floats to 1e-9 relative, the rest exactly.
fn same(key: &str, got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Null, Value::Null) => true,
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            (g - w).abs() <= 1e-9 * w.abs().max(1.0)
        }
        (g, Value::String(w)) => {
            let g = Decimal::from_str(g.to_string().trim_matches('"')).unwrap();
            g == Decimal::from_str(w).unwrap()
        }
        _ => {
            eprintln!("{key}: {got} vs {want}");
            false
        }
    }
}

fn golden(name: &str) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/backtest_{name}.json"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let s = &doc["settings"];
    let dir = tempfile::tempdir().unwrap();
    let tape_path = dir.path().join("tape.ndjson");
    let lines: Vec<String> = doc["tape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string() + "\n")
        .collect();
    std::fs::write(&tape_path, lines.concat()).unwrap();

    let capital = dec(&s["capital"]);
    let mut cfg = Config::default();
    cfg.risk.per_order_usd_cap = Decimal::from(1_000_000);
    // The hand-written tapes place some intents hours after the last trade: a fill-model
    // golden, not a test of the reference price's age.
    cfg.risk.max_ref_age_ms = u64::MAX;
    cfg.paper.maker_fee_bps = dec(&s["maker_fee_bps"]);
    cfg.paper.taker_fee_bps = dec(&s["taker_fee_bps"]);
    cfg.paper.slippage_bps = dec(&s["slippage_bps"]);
    cfg.paper.allow_short = s["allow_short"].as_bool().unwrap();
    cfg.paper = paper_config(&cfg, capital, "USDT");
    let settings = Settings {
        capital,
        interval_ns: parse_interval(s["equity_interval"].as_str().unwrap()).unwrap(),
        risk_free: 0.0,
        partial_fills: false,
        // The hand-made tapes span days with a handful of daily samples: annualised anyway,
        // so the goldens check the formulas (the threshold has its own unit test).
        min_returns: 1,
    };
    let tape = Tape {
        files: vec![tape_path],
        filter: Filter::default(),
    };
    let mut sink = Collect::default();
    let (result, _) = run::run(
        &cfg,
        vec![],
        &settings,
        &tape,
        None,
        &mut sink,
        &mut |_, _| {},
    )
    .unwrap();

    let want = &doc["expected"];
    let want_fills: Vec<Fill> = want["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(
            |f| match event::decode(&f.to_string()).unwrap().into_owned() {
                Event::Fill(f) => f,
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(sink.fills, want_fills, "{name}: fills");

    let want_equity: Vec<EquityPoint> = serde_json::from_value(want["equity"].clone()).unwrap();
    assert_eq!(sink.equity, want_equity, "{name}: equity points");

    let got = serde_json::to_value(&result.metrics).unwrap();
    let wm = want["metrics"].as_object().unwrap();
    assert!(
        got.as_object().unwrap().keys().eq(wm.keys()),
        "{name}: every metric is checked"
    );
    for (k, w) in wm {
        assert!(same(k, &got[k], w), "{name}: {k}: got {}, want {w}", got[k]);
    }
    let c = &want["counts"];
    assert_eq!(
        result.counts.intents,
        c["intents"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        result.counts.orders,
        c["orders"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(result.counts.fills, c["fills"].as_u64().unwrap(), "{name}");
    assert_eq!(
        result.counts.unfunded,
        c["unfunded"].as_u64().unwrap(),
        "{name}"
    );
}

#[test]
fn golden_buy_and_hold() {
    golden("buy_and_hold");
}

#[test]
fn golden_losing() {
    golden("losing");
}

#[test]
fn golden_volatile() {
    golden("volatile");
}

#[test]
fn golden_short() {
    golden("short");
}

/// A deterministic random walk of `n` trades, 1.5 s apart on average, over several days.
fn synthetic_tape(path: &Path, n: u64) {
    let mut s = String::new();
    let (mut x, mut p, mut ts) = (42u64, 100_000i64, 1_767_225_600_000_000_000i64);
    for i in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        p = (p + ((x >> 33) % 41) as i64 - 20).max(1_000);
        ts += ((x >> 20) % 300_000) as i64 * 10_000;
        s.push_str(&format!(
            "{{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"{i}\",\"price\":{}.{:04},\"qty\":1.5,\"side\":\"{}\",\"ts_ns\":{ts}}}\n",
            p / 10_000,
            p % 10_000,
            if x & 1 == 0 { "buy" } else { "sell" }
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// A work directory with a tape, a strategies file and a config keeping every file inside.
pub(crate) fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    synthetic_tape(&d.join("tape.ndjson"), 3_000);
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - id: ema\n    class: ema_cross\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {fast: 8, slow: 21, qty: 4, long_only: false}\n  - id: rsi\n    class: rsi_tema_bb\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {rsi_period: 14, qty: 3}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("base.yaml"),
        format!(
            "journal:\n  dir: {0}/j\nlogging:\n  json_file: false\n  log_dir: {0}/log\nrisk:\n  kill_switch_file: {0}/halt\n  per_order_usd_cap: 100000\n  orders_per_min_cap: 1000\npaper:\n  initial_balances: {{USDT: 10000}}\n  allow_short: true\n  slippage_bps: 2\n",
            d.display()
        ),
    )
    .unwrap();
    let p = d.to_path_buf();
    (dir, p)
}

pub(crate) fn backtest(d: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut c = Command::new(BACKTEST);
    c.current_dir(d).args([
        "--config",
        "base.yaml",
        "--tape",
        "tape.ndjson",
        "--strategies",
        "strategies.yaml",
        "--allow-short",
        "--slippage-bps",
        "2",
        "--equity-interval",
        "1h",
        "--out",
        out,
        "-q",
    ]);
    c.args(extra);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// The fills of `njord-replay tape.ndjson | njord-strat | njord-risk | njord-paper` in `d`.
pub(crate) fn pipeline_fills(d: &Path) -> Vec<String> {
    let sh = format!(
        "{REPLAY} tape.ndjson -q | {STRAT} --config base.yaml --strategies strategies.yaml -q | {RISK} --config base.yaml -q | {PAPER} --config base.yaml -q"
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&sh)
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"kind\":\"fill\""))
        .map(str::to_string)
        .collect()
}

#[test]
fn parity_with_the_stdio_pipeline() {
    let (_t, d) = workdir();
    backtest(&d, "out", &[]);
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert!(
        ours.len() > 20,
        "the strategies trade: {} fills",
        ours.len()
    );
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
}

/// Exits and stakes from the strategies file run the same in the backtester and the pipeline:
/// the exit intents (stop-loss, take-profit, time stop) reach the fills, entries are
/// sized by the stake, and the fills agree line for line.
#[test]
fn strategy_exits_and_stakes_backtest_like_the_pipeline() {
    let (_t, d) = workdir();
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - id: ema\n    class: ema_cross\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {fast: 20, slow: 60, qty: 4}\n    exits: {stop_loss: 0.0003, take_profit: 0.001, roi: {\"0\": 0.003, \"2\": 0.0005}, time_stop: 1}\n    stake: {quote: 500, step: 0.01}\n",
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert!(ours.len() > 20, "it trades: {} fills", ours.len());
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
    // The intents the pipeline saw: every entry is 500 USDT worth (to the step), and exits of
    // several rules fire.
    let sh = format!(
        "{REPLAY} tape.ndjson -q | {STRAT} --config base.yaml --strategies strategies.yaml --emit-only -q"
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&sh)
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let intents: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut rules: Vec<&str> = intents
        .iter()
        .filter_map(|i| i["meta"]["exit"].as_str())
        .collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules, ["stop_loss", "take_profit", "time_stop"]);
    for i in intents.iter().filter(|i| i["side"] == "buy") {
        let num = |v: &Value| Decimal::from_str(&v.to_string()).unwrap();
        let notional = num(&i["qty"]) * num(&i["meta"]["price"]);
        assert!(
            notional <= Decimal::from(500) && notional > Decimal::from(499),
            "{i}"
        );
    }
}

/// A TWAP on a strategy's intents (`exec` in the strategies file): the backtester runs the
/// execution core between risk and paper as `njord-exec` does in the pipeline, and the fills
/// agree line for line; every parent is cut into its slices.
#[test]
fn a_twap_backtests_like_the_pipeline_through_njord_exec() {
    let (_t, d) = workdir();
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - id: ema\n    class: ema_cross\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {fast: 20, slow: 60, qty: 4}\n    exec: {algo: twap, duration: 2m, slices: 4, jitter: 0.2}\n",
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let sh = format!(
        "{REPLAY} tape.ndjson -q | {STRAT} --config base.yaml --strategies strategies.yaml -q | {RISK} --config base.yaml -q | {EXEC} --config base.yaml -q | {PAPER} --config base.yaml -q"
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&sh)
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let piped: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("{\"kind\":\"fill\""))
        .collect();
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert!(ours.len() > 20, "it trades: {} fills", ours.len());
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
    let parents = text
        .lines()
        .filter(|l| {
            l.contains("\"kind\":\"exec_status\"")
                && l.contains("\"state\":\"working\",\"qty\":4,\"sent\":0,")
        })
        .count();
    assert!(parents > 5, "{parents} parents");
    for f in &ours {
        let v: Value = serde_json::from_str(f).unwrap();
        let id = v["intent_id"].as_str().unwrap();
        assert!(
            id.ends_with("-1") || id.ends_with("-2") || id.ends_with("-3") || id.ends_with("-4"),
            "{id}"
        );
    }
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/metrics.json")).unwrap())
            .unwrap();
    assert!(
        metrics["counts"]["children"].as_u64().unwrap() > 20,
        "{metrics}"
    );
    // The execution costs of every parent, by algorithm.
    let tca = &metrics["tca"];
    assert_eq!(tca["by_algo"][0]["key"], "twap", "{tca}");
    assert_eq!(
        tca["by_algo"][0]["parents"].as_u64(),
        Some(parents as u64),
        "{tca}"
    );
    // A fill reaches its parent once, even when an intent or a decision comes between it
    // and the next trade: never more filled than asked.
    for p in tca["parents"].as_array().unwrap() {
        assert!(p["filled"].as_f64() <= p["qty"].as_f64(), "{p}");
    }
    // Parents still open at the end are costed at the last trade of the tape.
    let tape = std::fs::read_to_string(d.join("tape.ndjson")).unwrap();
    let last_trade = tape
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["kind"] == "trade" && v["symbol"] == "ATOM/USDT")
        .unwrap()["price"]
        .clone();
    let open: Vec<&Value> = tca["parents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "working" || p["state"] == "sent")
        .collect();
    assert!(!open.is_empty(), "a parent is still open at the end: {tca}");
    for p in open {
        assert_eq!(p["end_price"], last_trade, "{p}");
    }
    // With latency the children fill on later events: their fills still reach the parents.
    let mut c = Command::new(BACKTEST);
    c.current_dir(&d)
        .env("NJORD__PAPER__LATENCY_MS", "250")
        .args([
            "--config",
            "base.yaml",
            "--tape",
            "tape.ndjson",
            "--strategies",
            "strategies.yaml",
        ])
        .args(["--allow-short", "--out", "late", "-q"]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let late: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("late/metrics.json")).unwrap())
            .unwrap();
    let first = &late["tca"]["parents"][0];
    assert_eq!(first["filled"], first["qty"], "{first}");
    assert_eq!(first["state"], "done", "{first}");
}

/// A tape of 1-minute bars alone (no trades): intents get prices from the last close, orders
/// fill at a later bar (its open, or a limit inside its range), and the backtest agrees with
/// the pipeline fill for fill.
#[test]
fn a_tape_of_bars_alone_backtests_like_the_pipeline() {
    let (_t, d) = workdir();
    synthetic_tape(&d.join("tape.ndjson"), 30_000);
    let bars = std::process::Command::new(BARS)
        .current_dir(&d)
        .args([
            "--config",
            "base.yaml",
            "--timeframes",
            "1m",
            "--emit-only",
            "-q",
        ])
        .stdin(std::fs::File::open(d.join("tape.ndjson")).unwrap())
        .output()
        .unwrap();
    assert!(
        bars.status.success(),
        "{}",
        String::from_utf8_lossy(&bars.stderr)
    );
    std::fs::write(d.join("tape.ndjson"), &bars.stdout).unwrap();
    let strategies = std::fs::read_to_string(d.join("strategies.yaml")).unwrap();
    std::fs::write(
        d.join("strategies.yaml"),
        strategies.replace("[trade]", "[bar]"),
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/metrics.json")).unwrap())
            .unwrap();
    let counts = &metrics["counts"];
    assert!(counts["intents"].as_u64().unwrap() > 10, "{counts}");
    assert!(counts["denied"].get("no_ref_price").is_none(), "{counts}");
    let fills = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let fills: Vec<Value> = fills
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(fills.len() > 10, "{} fills", fills.len());
    // Each fill happens at the open of a bar, within that bar's range (2 bps of slippage).
    let bars: Vec<Value> = String::from_utf8(bars.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let num = |v: &Value| v.to_string().trim_matches('"').parse::<f64>().unwrap();
    for f in &fills {
        let b = bars
            .iter()
            .find(|b| b["ts_open_ns"] == f["ts_fill_ns"])
            .unwrap_or_else(|| panic!("a fill not at a bar's open: {f}"));
        let p = num(&f["price"]);
        assert!(
            p >= num(&b["low"]) * 0.99979 && p <= num(&b["high"]) * 1.00021,
            "{f} outside {b}"
        );
    }
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    assert_eq!(ours.lines().collect::<Vec<_>>(), piped);
}

/// The report as a browser sees it: headless Chromium (installed by `make test`) loads the
/// file, and its DOM holds every section, a chart per symbol and the trades, with no console
/// message.
#[test]
fn the_report_renders_in_chromium() {
    let (_t, d) = workdir();
    backtest(&d, "out", &["--report", "report.html"]);
    let (dom, stderr) = crate::support::chromium_dom(&d.join("report.html"));
    for id in [
        "metrics",
        "equity",
        "drawdown",
        "prices",
        "trades",
        "by-strategy",
        "by-symbol",
        "monthly",
        "fill-model",
        "run",
        "strategies",
        "configuration",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    assert!(
        dom.contains("data-symbol=\"ATOM/USDT\""),
        "a chart per symbol"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        3,
        "equity, drawdown, ATOM/USDT"
    );
    let trades = dom.split("<section id=\"trades\">").nth(1).unwrap();
    let trades = trades.split("</section>").next().unwrap();
    assert!(trades.matches("<tr>").count() > 10, "{trades}");
    let by_strategy = dom.split("<section id=\"by-strategy\">").nth(1).unwrap();
    assert!(by_strategy.contains(">ema<"), "{by_strategy}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "script errors: {console:?}");
}

/// A new user's first run: the shipped strategies on the simulator's default tape trade.
#[test]
fn the_default_strategies_trade_on_the_default_tape() {
    let dir = tempfile::tempdir().unwrap();
    let tape = crate::support::sim_command()
        .args(["gen", "--symbol", "ATOM/USDT"])
        .output()
        .unwrap();
    assert!(tape.status.success());
    std::fs::write(dir.path().join("tape.ndjson"), &tape.stdout).unwrap();
    let strategies = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/strategies.yaml");
    let o = Command::new(BACKTEST)
        .current_dir(dir.path())
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .arg("--strategies")
        .arg(&strategies)
        .args(["--tape", "tape.ndjson", "--out", "out", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let metrics: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/metrics.json")).unwrap())
            .unwrap();
    assert!(
        metrics["counts"]["fills"].as_u64().unwrap() > 10,
        "{metrics}"
    );
}

#[test]
fn two_runs_are_byte_identical() {
    let (_t, d) = workdir();
    let a = backtest(&d, "a", &["--report", "a/report.html"]);
    let b = backtest(&d, "b", &["--report", "b/report.html"]);
    assert_eq!(a.stdout, b.stdout);
    for f in [
        "fills.ndjson",
        "equity.ndjson",
        "metrics.json",
        "report.html",
    ] {
        let (x, y) = (
            std::fs::read(d.join("a").join(f)).unwrap(),
            std::fs::read(d.join("b").join(f)).unwrap(),
        );
        assert!(!x.is_empty() && x == y, "{f} differs");
    }
    let html = std::fs::read_to_string(d.join("a/report.html")).unwrap();
    // Self-contained: nothing is fetched (URLs of the configuration appear as text only).
    for fetch in ["src=", "href=", "<link", "<script", "@import", "url("] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    for part in [
        "<svg",
        "Monthly returns",
        "Fill model",
        "Configuration",
        "Sharpe",
    ] {
        assert!(html.contains(part), "{part}");
    }
    let m: Value =
        serde_json::from_slice(&std::fs::read(d.join("a/metrics.json")).unwrap()).unwrap();
    assert!(m["metrics"]["round_trips"].as_u64().unwrap() > 0);
    let json = backtest(&d, "c", &["--json"]);
    let j: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(j, m);
}

#[test]
fn sweeps_do_not_depend_on_the_thread_count() {
    let (_t, d) = workdir();
    let run = |threads: &str, out: &str| {
        let mut c = Command::new(BACKTEST);
        c.current_dir(&d).env("RAYON_NUM_THREADS", threads).args([
            "sweep",
            "--config",
            "base.yaml",
            "--tape",
            "tape.ndjson",
            "--strategies",
            "strategies.yaml",
            "--allow-short",
            "--param",
            "rsi_period=7,14",
            "--param",
            "ema.fast=5,8,13",
            "--sort",
            "sharpe",
            "--out",
            out,
            "-q",
        ]);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            o.stdout,
            std::fs::read(d.join(out).join("sweep.csv")).unwrap(),
        )
    };
    let one = run("1", "s1");
    let two = run("2", "s2");
    assert_eq!(one, two);
    let csv = String::from_utf8(one.1).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with("rsi_period,ema.fast,total_return,"));
    let json: Value =
        serde_json::from_slice(&std::fs::read(d.join("s1/sweep.json")).unwrap()).unwrap();
    let trials = json.as_array().unwrap();
    assert_eq!(trials.len(), 6);
    assert!(trials.iter().all(|t| t["params"]["ema.fast"].is_string()
        && t["metrics"]["sharpe"].is_number() != t["metrics"]["annualised_note"].is_string()));
    // Rounded as the run summary prints them: percentages with two decimals.
    let table = String::from_utf8(one.0).unwrap();
    assert!(table.lines().nth(1).unwrap().contains('%'), "{table}");

    // A combination that never trades is named, with why; what a trial logs names the trial.
    let mut bad = std::fs::read_to_string(d.join("tape.ndjson")).unwrap();
    bad.push_str("garbage\n");
    std::fs::write(d.join("bad.ndjson"), bad).unwrap();
    let o = Command::new(BACKTEST)
        .current_dir(&d)
        .args([
            "sweep",
            "--config",
            "base.yaml",
            "--tape",
            "bad.ndjson",
            "--strategies",
            "strategies.yaml",
            "--param",
            "ema.qty=4,10000000",
            "--out",
            "s3",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("(ema.qty=10000000) never traded") && stderr.contains("per_order_usd_cap"),
        "{stderr}"
    );
    assert!(!stderr.contains("(ema.qty=4) never traded"), "{stderr}");
    // The tape is decoded once for every trial: its bad line is reported once.
    let plain = String::from_utf8(strip_ansi(stderr.as_bytes())).unwrap();
    assert_eq!(
        plain.matches("bad.ndjson:3001: not JSON").count(),
        1,
        "{plain}"
    );
}

/// Text without ANSI colour sequences.
fn strip_ansi(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b {
            while i < b.len() && b[i] != b'm' {
                i += 1;
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

#[test]
fn usage_errors_exit_2() {
    let (_t, d) = workdir();
    let mut c = Command::new(BACKTEST);
    c.current_dir(&d)
        .args(["--tape", "tape.ndjson", "--capital", "-5"])
        .assert()
        .code(2);
    let mut c = Command::new(BACKTEST);
    c.current_dir(&d)
        .args([
            "--config",
            "base.yaml",
            "--tape",
            "tape.ndjson",
            "--strategies",
            "nope.yaml",
            "-q",
        ])
        .assert()
        .code(2);
    let mut c = Command::new(BACKTEST);
    c.current_dir(&d)
        .args([
            "sweep",
            "--config",
            "base.yaml",
            "--tape",
            "tape.ndjson",
            "--strategies",
            "strategies.yaml",
            "--param",
            "nope=1",
            "-q",
        ])
        .assert()
        .code(2);
}

#[test]
fn njord_paper_rejects_unfunded_orders_too() {
    let (_t, d) = workdir();
    std::fs::write(
        d.join("poor.yaml"),
        format!(
            "journal:\n  dir: {0}/j\nlogging:\n  json_file: false\npaper:\n  initial_balances: {{USDT: 50}}\n",
            d.display()
        ),
    )
    .unwrap();
    let input = concat!(
        "{\"kind\":\"trade\",\"symbol\":\"ATOM/USDT\",\"trade_id\":\"1\",\"price\":10,\"qty\":1,\"side\":\"buy\",\"ts_ns\":1}\n",
        "{\"kind\":\"order\",\"intent_id\":\"a\",\"strategy_id\":\"s\",\"venue\":\"v\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":4,\"limit_price\":null,\"ts_accepted_ns\":2}\n",
        "{\"kind\":\"order\",\"intent_id\":\"b\",\"strategy_id\":\"s\",\"venue\":\"v\",\"symbol\":\"ATOM/USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":4,\"limit_price\":null,\"ts_accepted_ns\":3}\n",
    );
    let o = Command::new(PAPER)
        .current_dir(&d)
        .args(["--config", "poor.yaml", "--emit-only", "-q"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    let kinds: Vec<&str> = out
        .lines()
        .map(|l| l.split('"').nth(3).unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["fill", "position", "order_update"], "{out}");
    assert!(out.contains("\"client_order_id\":\"b\"") && out.contains("\"status\":\"rejected\""));
}

/// A sweep keeps every trial's returns and reports the deflated Sharpe ratio and PBO of them:
/// the same whatever the thread count, and the numbers `scripts/overfit_golden.py` computes
/// from `sweep_returns.csv` with Python's standard library.
#[test]
fn a_sweep_reports_its_overfitting_statistics() {
    let (_t, d) = workdir();
    let run = |threads: &str, out: &str| {
        let o = Command::new(BACKTEST)
            .current_dir(&d)
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "sweep",
                "--config",
                "base.yaml",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
                "--allow-short",
                "--equity-interval",
                "30s",
                "--param",
                "rsi_period=7,14",
                "--param",
                "ema.fast=3,5,8,13",
                "--blocks",
                "8",
                "--out",
                out,
                "--no-progress",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let file = |f: &str| std::fs::read_to_string(d.join(out).join(f)).unwrap();
        (
            String::from_utf8(o.stdout).unwrap(),
            file("overfitting.json"),
            file("sweep_returns.csv"),
        )
    };
    let one = run("1", "o1");
    assert_eq!(one, run("2", "o2"));
    let (stdout, report, returns) = one;
    assert!(
        stdout.contains("overfitting: 8 trials")
            && stdout.contains("DSR")
            && stdout.contains("PBO"),
        "{stdout}"
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["trials"], 8);
    let periods = returns.lines().count() - 1;
    assert!(periods >= 100, "{periods} returns");
    assert_eq!(report["returns_per_trial"], periods);
    assert!(returns.starts_with("period,trial_1,trial_2,"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/overfit_golden.py");
    let check = format!(
        "import importlib.util, json, sys\n\
         spec = importlib.util.spec_from_file_location('g', {script:?})\n\
         g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)\n\
         rows = [l.split(',')[1:] for l in open('o1/sweep_returns.csv').read().splitlines()[1:]]\n\
         trials = [[float(r[k]) for r in rows] for k in range(len(rows[0]))]\n\
         best, sr, psr, v, sr0, dsr = g.dsr(trials)\n\
         pbo, splits = g.pbo(trials, 8)\n\
         print(json.dumps({{'best_trial': best + 1, 'sharpe': sr, 'psr': psr, 'dsr': dsr, 'pbo': pbo, 'splits': splits}}))\n",
        script = script.display().to_string()
    );
    let o = std::process::Command::new("python3")
        .current_dir(&d)
        .args(["-c", &check])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py: Value = serde_json::from_slice(&o.stdout).unwrap();
    let ds = &report["deflated_sharpe"];
    assert_eq!(ds["best_trial"], py["best_trial"], "{report}");
    for (ours, theirs) in [
        (&ds["sharpe"], &py["sharpe"]),
        (&ds["psr"], &py["psr"]),
        (&ds["dsr"], &py["dsr"]),
        (&report["pbo"]["pbo"], &py["pbo"]),
    ] {
        let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
            "{a} vs {b}: {report}"
        );
    }
    assert_eq!(report["pbo"]["splits"], py["splits"]);
}
