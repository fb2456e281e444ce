//! `njord-portfolio` and `njord-backtest --portfolio`: netting that reduces what reaches the
//! (paper) venue, a one-strategy portfolio equal to a plain backtest, deterministic
//! attribution that sums exactly, configuration errors, latches kept across a restart until
//! cleared, and reconcile breaks.

use assert_cmd::Command;
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::Path;
use std::str::FromStr;

const PORTFOLIO: &str = env!("CARGO_BIN_EXE_njord-portfolio");
const RISK: &str = env!("CARGO_BIN_EXE_njord-risk");
const PAPER: &str = env!("CARGO_BIN_EXE_njord-paper");
const BACKTEST: &str = env!("CARGO_BIN_EXE_njord-backtest");
const KILL: &str = env!("CARGO_BIN_EXE_njord-kill");

const TWO: &str = "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n    - id: b\n  \
risk:\n    max_drawdown: 0.1\n  rebalance:\n    interval: 1w\n    min_interval: 1w\n";

fn cmd(bin: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .env("NJORD__JOURNAL__DIR", dir.join("journal"))
        .env("NJORD__RISK__KILL_SWITCH_FILE", dir.join("run/halt"))
        .env("NJORD__RISK__PER_ORDER_USD_CAP", "100000");
    c
}

fn trade(price: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"binanceus","symbol":"X/USDT","trade_id":"{ts}","price":{price},"qty":100,"side":"buy","ts_ns":{ts}}}"#
    )
}

fn intent(id: &str, strategy: &str, side: &str, qty: &str, ts: i64) -> String {
    format!(
        r#"{{"kind":"intent","id":"{id}","ts_ns":{ts},"strategy_id":"{strategy}","symbol":"X/USDT","side":"{side}","type":"market","qty":{qty},"limit_price":null}}"#
    )
}

fn lines_of(out: &[u8], kind: &str) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == kind)
        .collect()
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(&v.to_string()).unwrap()
}

/// `njord-portfolio | njord-risk | njord-paper`: the output of each stage is the next one's
/// input.
fn pipeline(dir: &Path, input: &str, portfolio_args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let p = cmd(PORTFOLIO, dir)
        .args(["--portfolio", "portfolio.yaml"])
        .args(portfolio_args)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    let r = cmd(RISK, dir)
        .write_stdin(p.stdout.clone())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v = cmd(PAPER, dir).write_stdin(r.stdout).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    (p.stdout, v.stdout)
}

#[test]
fn opposite_intents_reach_the_venue_as_their_net_quantity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portfolio.yaml"), TWO).unwrap();
    let input = [
        trade("10", 1_000),
        intent("b0", "b", "buy", "4", 2_000),
        trade("10", 3_000),
        intent("a1", "a", "buy", "3", 4_000),
        intent("b1", "b", "sell", "1", 4_000),
        trade("10", 5_000),
    ]
    .join("\n");
    let (portfolio, venue) = pipeline(dir.path(), &input, &["--assume-fills"]);
    // The strategies' own intents never reach risk: the portfolio replaced them.
    let ids: Vec<String> = lines_of(&portfolio, "intent")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec!["b0", "net:a1"]);
    let orders = lines_of(&venue, "order");
    let qty: Vec<(String, Decimal)> = orders
        .iter()
        .map(|o| (o["side"].as_str().unwrap().to_owned(), dec(&o["qty"])))
        .collect();
    // 3 + 1 asked, 3 − 1 = 2 sent: the venue's quantity is reduced by exactly the offset.
    assert_eq!(
        qty,
        vec![
            ("buy".into(), Decimal::from(4)),
            ("buy".into(), Decimal::from(2))
        ]
    );
    let filled: Decimal = lines_of(&venue, "fill")
        .iter()
        .map(|f| dec(&f["qty"]))
        .sum();
    assert_eq!(filled, Decimal::from(6));
}

/// A strategies file with one strategy, and a portfolio of just it.
fn one_strategy(dir: &Path) {
    std::fs::write(
        dir.join("strategies.yaml"),
        "strategies:\n  - id: rsi\n    class: rsi_tema_bb\n    symbols: [\"ATOM/USDT\"]\n    \
         events: [trade]\n    params: {rsi_period: 14, tema_period: 3, bb_period: 20, bb_std: 2.0, qty: 1.5}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("portfolio.yaml"),
        "portfolio:\n  capital: 10000\n  strategies:\n    - id: rsi\n",
    )
    .unwrap();
    let tape = crate::support::generated_tape("ATOM/USDT", 20_000, 7);
    std::fs::write(dir.join("tape.ndjson"), tape).unwrap();
}

fn backtest(dir: &Path, out: &str, extra: &[&str]) -> Value {
    let o = cmd(BACKTEST, dir)
        .args([
            "--tape",
            "tape.ndjson",
            "--strategies",
            "strategies.yaml",
            "-q",
        ])
        .args(["--equity-interval", "1m", "--out", out])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(dir.join(out).join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn a_one_strategy_portfolio_fills_as_a_plain_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_strategy(d);
    let plain = backtest(d, "plain", &[]);
    let port = backtest(d, "port", &["--portfolio", "portfolio.yaml"]);
    let fills = |out: &str| std::fs::read(d.join(out).join("fills.ndjson")).unwrap();
    assert!(plain["counts"]["fills"].as_u64().unwrap() > 10, "{plain}");
    assert_eq!(fills("plain"), fills("port"), "fill for fill");
    assert_eq!(plain["metrics"], port["metrics"]);
    let p = &port["portfolio"];
    assert_eq!(p["strategies"][0]["strategy_id"], "rsi");
    assert_eq!(p["strategies"][0]["pnl"], p["pnl"]);
}

#[test]
fn portfolio_backtests_are_byte_identical_and_attribute_every_cent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_strategy(d);
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - id: rsi\n    class: rsi_tema_bb\n    symbols: [\"ATOM/USDT\"]\n    \
         events: [trade]\n    params: {rsi_period: 14, tema_period: 3, bb_period: 20, bb_std: 2.0, qty: 1.5}\n  \
         - id: trend\n    class: trendline_break\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    \
         params: {lookback_periods: 20, breakout_threshold: 0.02, qty: 2}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("portfolio.yaml"),
        "portfolio:\n  capital: 1000\n  method: inverse_volatility\n  return_interval: 5m\n  \
         min_history: 3\n  strategies:\n    - id: rsi\n    - id: trend\n  rebalance:\n    \
         interval: 15m\n    min_interval: 15m\n    drift_band: 0.001\n    min_notional: 1\n",
    )
    .unwrap();
    let args = ["--portfolio", "portfolio.yaml", "--report", "report.html"];
    let first = backtest(d, "one", &args);
    let report = std::fs::read_to_string(d.join("report.html")).unwrap();
    let second = backtest(d, "two", &args);
    for f in ["fills.ndjson", "equity.ndjson", "metrics.json"] {
        assert_eq!(
            std::fs::read(d.join("one").join(f)).unwrap(),
            std::fs::read(d.join("two").join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(first, second);
    assert!(report.contains("<section id=\"portfolio\">"));
    assert!(report.contains("data-strategy=\"trend\""));
    let p = &first["portfolio"];
    let sum: Decimal = p["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| dec(&s["pnl"]))
        .sum();
    assert_eq!(sum, dec(&p["pnl"]), "the strategies' PnL sums exactly");
    let end = first["metrics"]["end_equity"]
        .as_f64()
        .or_else(|| first["metrics"]["final_equity"].as_f64());
    if let Some(end) = end {
        let pnl: f64 = p["pnl"].to_string().parse().unwrap();
        assert!((end - 1000.0 - pnl).abs() < 1e-6, "{end} vs {pnl}");
    }
    let c = &p["counts"];
    assert!(c["rebalances"].as_u64().unwrap() > 0, "{c}");
}

#[test]
fn a_bad_portfolio_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portfolio.yaml"),
        "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n      maxx: 0.5\n",
    )
    .unwrap();
    let o = cmd(PORTFOLIO, dir.path())
        .args(["--portfolio", "portfolio.yaml"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("portfolio.yaml: key `portfolio.strategies[0]"),
        "{err}"
    );
    assert!(err.contains("maxx"), "{err}");
    std::fs::write(
        dir.path().join("portfolio.yaml"),
        "portfolio:\n  capital: 1000\n  strategies:\n    - id: a\n      min: 0.7\n      max: 0.5\n",
    )
    .unwrap();
    let o = cmd(PORTFOLIO, dir.path())
        .args(["--portfolio", "portfolio.yaml"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("portfolio.strategies[0].min"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_drawdown_latch_outlives_a_restart_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("portfolio.yaml"), TWO).unwrap();
    let run = |input: String| {
        let o = cmd(PORTFOLIO, d)
            .args([
                "--portfolio",
                "portfolio.yaml",
                "--assume-fills",
                "--emit-only",
            ])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        lines_of(&o.stdout, "decision")
            .iter()
            .map(|d| d["reason"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    // a buys 50 at 10, the price falls to 7: 150 lost of 1000 is past the 10 % limit.
    let crash = [
        trade("10", 1),
        intent("a0", "a", "buy", "50", 2),
        trade("7", 3),
        intent("b1", "b", "buy", "1", 4),
        trade("7", 5),
    ];
    assert_eq!(run(crash.join("\n")), vec!["portfolio_reduce_only"]);
    assert!(d.join("run/portfolio.main.latched").exists());
    // A new process, with no memory of the loss, keeps the latch.
    let later = [
        trade("7", 10),
        intent("b2", "b", "buy", "1", 11),
        trade("7", 12),
    ]
    .join("\n");
    assert_eq!(run(later.clone()), vec!["portfolio_reduce_only"]);
    let o = cmd(KILL, d)
        .args(["clear", "--portfolio"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.join("run/portfolio.main.latched").exists());
    assert!(run(later).is_empty(), "cleared: the buy passes");
}

#[test]
fn a_venue_balance_that_differs_from_the_ledgers_is_a_reconcile_break() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portfolio.yaml"), TWO).unwrap();
    let balance = |free: &str, ts: i64| {
        format!(r#"{{"kind":"balance","asset":"X","free":{free},"locked":0,"ts_ns":{ts}}}"#)
    };
    let input = [
        trade("10", 1),
        intent("a0", "a", "buy", "2", 2),
        trade("10", 3),
        balance("2", 4),
        balance("2", 5),
        balance("3.5", 6),
    ]
    .join("\n");
    let o = cmd(PORTFOLIO, dir.path())
        .args([
            "--portfolio",
            "portfolio.yaml",
            "--assume-fills",
            "--emit-only",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let breaks = lines_of(&o.stdout, "reconcile_break");
    assert_eq!(breaks.len(), 1, "{breaks:?}");
    assert_eq!(dec(&breaks[0]["ledger_qty"]), Decimal::from(2));
    assert_eq!(
        dec(&breaks[0]["venue_qty"]),
        Decimal::from_str("3.5").unwrap()
    );
    assert_eq!(dec(&breaks[0]["diff"]), Decimal::from_str("1.5").unwrap());
}
