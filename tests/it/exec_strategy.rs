//! Strategies beyond one series. `class: exec`, strategies in any language over NDJSON: the
//! Python example trades the same through the pipeline and the backtester; a program that is
//! late, writes nonsense, exits or answers for other params stops its strategy alone, with an
//! error that names it. `pairs`, `xs_momentum` and `ensemble` trade the same through both.

use crate::backtest::{backtest, pipeline_fills, workdir};
use assert_cmd::Command;
use std::path::Path;

/// The example strategy, by absolute path (tests run in temporary directories).
fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/strategies/sma_revert.py")
        .display()
        .to_string()
}

fn python_entry(id: &str) -> String {
    format!(
        "  - id: {id}\n    class: exec\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {{command: [python3, \"{}\"], window: 30, band: 0.0005, qty: \"3\"}}\n",
        example()
    )
}

#[test]
fn a_python_strategy_backtests_like_the_pipeline() {
    let (_t, d) = workdir();
    std::fs::write(
        d.join("strategies.yaml"),
        format!("strategies:\n{}", python_entry("py")),
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert!(ours.len() > 20, "it trades: {} fills", ours.len());
    assert!(ours.iter().all(|f| f.contains("\"strategy_id\":\"py\"")));
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
}

/// `njord-strat --config base.yaml --strategies <file>`, then `args`, in `d` over `input`.
pub(crate) fn run_strat(
    d: &Path,
    file: &str,
    args: &[&str],
    input: impl Into<Vec<u8>>,
) -> std::process::Output {
    Command::cargo_bin("njord-strat")
        .unwrap()
        .current_dir(d)
        .env_remove("NJORD_STRATEGIES")
        .env_remove("NJORD_CONFIG")
        .args(["--config", "base.yaml", "--strategies", file])
        .args(args)
        .write_stdin(input)
        .output()
        .unwrap()
}

/// `njord-strat` over `tape` with the strategies file `yaml`, in `d`: (stdout, stderr).
fn strat(d: &Path, yaml: &str, tape: &[u8]) -> (String, String) {
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let o = run_strat(d, "s.yaml", &["--emit-only"], tape);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

const EMA: &str = "  - id: ema\n    class: ema_cross\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {fast: 8, slow: 21, qty: 4, long_only: false}\n";

/// A Python program that says hello as the protocol asks, then runs `then` on each event
/// line (`line`), printing whatever it returns.
fn program(then: &str) -> String {
    let src = format!(
        "import json, sys\nstart = json.loads(sys.stdin.readline())\nprint(json.dumps({{'kind': 'strategy_hello', 'id': 't', 'version': '0', 'params_hash': start['params_hash']}}), flush=True)\nfor line in sys.stdin:\n    out = {then}\n    print(out, flush=True)\n"
    );
    serde_json::to_string(&src).unwrap()
}

#[test]
fn a_failing_program_stops_its_strategy_alone_with_an_error_naming_it() {
    let (_t, d) = workdir();
    let tape = std::fs::read(d.join("tape.ndjson")).unwrap();
    let (alone, _) = strat(&d, &format!("strategies:\n{EMA}"), &tape);
    let ema_intents = alone.lines().count();
    assert!(ema_intents > 10, "{ema_intents}");
    let cases = [
        (program("__import__('time').sleep(30)"), "an answer did not come within 300 ms"),
        (program("'not json'"), "wrote a line that is not a protocol message"),
        (
            // Two `done`s: the second would answer the next event.
            program("'{\"kind\":\"done\"}\\n{\"kind\":\"done\"}'"),
            "wrote output no event asked for",
        ),
        (program("sys.exit(3)"), "exited before writing an answer (exit status: 3)"),
        (
            program("'{\"kind\":\"intent\",\"side\":\"hold\",\"qty\":\"1\"}'"),
            "malformed intent: side `hold` is not buy or sell",
        ),
        (
            program("'{\"kind\":\"intent\",\"side\":\"buy\",\"qty\":\"1\",\"symbol\":\"BTC/USDT\"}'"),
            "symbol `BTC/USDT` is not one of the symbols it was sent events of",
        ),
        (
            program("'{\"kind\":\"intent\",\"side\":\"buy\",\"qty\":\"1\",\"group_size\":2}'"),
            "malformed intent: group_size needs a group_id",
        ),
        (
            // Hello for other params.
            serde_json::to_string(
                "import sys\nsys.stdin.readline()\nprint('{\"kind\":\"strategy_hello\",\"id\":\"t\",\"version\":\"0\",\"params_hash\":\"00\"}', flush=True)\nsys.stdin.read()\n",
            )
            .unwrap(),
            "strategy_hello has params_hash 00, but the params sent hash to",
        ),
    ];
    for (src, said) in cases {
        let bad = format!(
            "  - id: bad\n    class: exec\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {{command: [python3, -c, {src}], timeout_ms: 300, start_timeout_ms: 5000}}\n"
        );
        let (out, err) = strat(&d, &format!("strategies:\n{EMA}{bad}"), &tape);
        assert!(
            err.contains("strategy `bad` failed and is disabled (the others continue)")
                && err.contains(said),
            "expected `{said}` in:\n{err}"
        );
        assert_eq!(
            out, alone,
            "ema_cross goes on alone, as if bad were not there"
        );
    }
}

#[test]
fn a_bad_exec_entry_is_refused_at_load_with_its_key() {
    let (_t, d) = workdir();
    let cases = [
        ("{window: 3}", "key `params.command`: required"),
        ("{command: []}", "key `params.command`: is empty"),
        (
            "{command: [python3], timeout_ms: 0}",
            "key `params.timeout_ms`",
        ),
    ];
    for (params, said) in cases {
        std::fs::write(
            d.join("s.yaml"),
            format!("strategies:\n  - id: x\n    class: exec\n    symbols: [A/USDT]\n    events: [trade]\n    params: {params}\n"),
        )
        .unwrap();
        let o = run_strat(&d, "s.yaml", &[], "");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("strategy `x`") && err.contains(said),
            "{said}: {err}"
        );
    }
    // exits are per position; an exec strategy manages its own.
    std::fs::write(
        d.join("s.yaml"),
        "strategies:\n  - id: x\n    class: exec\n    symbols: [A/USDT]\n    events: [trade]\n    params: {command: [python3]}\n    exits: {stop_loss: 0.01}\n",
    )
    .unwrap();
    let o = run_strat(&d, "s.yaml", &[], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("key `exits`") && err.contains("runs one instance for all its symbols"),
        "{err}"
    );
}

/// 1-minute bars of three symbols: Y/USDT tracks 2·X/USDT + 5 with mean-reverting noise and a
/// few shocks, Z/USDT wanders on its own.
fn three_symbol_bars(n: i64) -> String {
    const T0: i64 = 1_700_000_000_000_000_000;
    const MIN: i64 = 60_000_000_000;
    let mut s = 7u64;
    let mut u = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let (mut x, mut z, mut noise) = (50.0f64, 30.0f64, 0.0f64);
    let mut out = String::new();
    for i in 1..=n {
        x += 0.3 * u();
        z *= 1.0 + 0.004 * u() + 0.0005 * (i as f64 / 40.0).sin();
        noise = 0.3 * noise + 0.4 * u();
        let shock = if i % 97 < 3 { 3.0 } else { 0.0 };
        let y = 2.0 * x + 5.0 + noise + shock;
        for (sym, c) in [("X/USDT", x), ("Y/USDT", y), ("Z/USDT", z)] {
            out += &format!(
                "{{\"kind\":\"bar\",\"symbol\":\"{sym}\",\"timeframe\":\"1m\",\"ts_open_ns\":{},\"ts_close_ns\":{},\"open\":{c:.4},\"high\":{c:.4},\"low\":{c:.4},\"close\":{c:.4},\"volume\":10,\"trades\":1}}\n",
                T0 + (i - 1) * MIN,
                T0 + i * MIN
            );
        }
    }
    out
}

/// Pairs, cross-sectional momentum and an ensemble trade the same through the pipeline and
/// the backtester; the pair's legs share a group.
#[test]
fn pairs_momentum_and_ensembles_backtest_like_the_pipeline() {
    let (_t, d) = workdir();
    std::fs::write(d.join("tape.ndjson"), three_symbol_bars(600)).unwrap();
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - {id: pair, class: pairs, symbols: [X/USDT, Y/USDT], events: [bar], params: {y: Y/USDT, x: X/USDT, window: 40, entry_z: 2, exit_z: 0.5, qty: 1, step: 0.001}}\n  - {id: mom, class: xs_momentum, symbols: ['*/USDT'], events: [bar], params: {lookback: 30, top: 1, rebalance: 10, quote: 200, step: 0.001}}\n  - {id: ens, class: ensemble, symbols: [Z/USDT], events: [bar], params: {qty: 2, mode: majority, members: [{class: ema_cross, params: {fast: 5, slow: 20, qty: 1}}, {class: ema_cross, params: {fast: 10, slow: 40, qty: 1}}, {class: rsi_tema_bb, params: {qty: 1, tema_period: 3}}]}}\n",
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    for id in ["pair", "mom", "ens"] {
        let n = ours
            .iter()
            .filter(|f| f.contains(&format!("\"strategy_id\":\"{id}\"")))
            .count();
        assert!(n >= 2, "{id} trades: {n} fills");
    }
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
    // The pair's intents come in legs of one group.
    let legs: Vec<serde_json::Value> = intents_upto(&d, None)
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|i| i["strategy_id"] == "pair")
        .collect();
    assert!(legs.len() >= 4 && legs.len().is_multiple_of(2), "{legs:?}");
    for pair in legs.chunks(2) {
        assert_eq!(pair[0]["group_id"], pair[1]["group_id"]);
        assert_eq!(
            (&pair[0]["group_size"], &pair[1]["group_size"]),
            (&2.into(), &2.into())
        );
        assert_eq!(
            (&pair[0]["symbol"], &pair[1]["symbol"]),
            (&"Y/USDT".into(), &"X/USDT".into())
        );
    }
}

/// Intents `njord-strat` emits in `d` with `strategies.yaml` over the tape cut after `lines`
/// lines (all of it with `None`).
fn intents_upto(d: &Path, lines: Option<usize>) -> Vec<String> {
    let tape = std::fs::read_to_string(d.join("tape.ndjson")).unwrap();
    let cut: String = match lines {
        Some(n) => tape.lines().take(n).map(|l| format!("{l}\n")).collect(),
        None => tape,
    };
    let o = run_strat(d, "strategies.yaml", &["--emit-only", "-q"], cut);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What the strategies in `d` emit up to the time of a cut is the same whether the tape ends
/// there or goes on (the tape's times are distinct).
pub(crate) fn assert_no_look_ahead(d: &Path) {
    let tape = std::fs::read_to_string(d.join("tape.ndjson")).unwrap();
    let n = tape.lines().count();
    let whole = intents_upto(d, None);
    assert!(whole.len() > 4, "it trades: {}", whole.len());
    for cut in [n / 3, n / 2, 2 * n / 3] {
        let last: serde_json::Value =
            serde_json::from_str(tape.lines().nth(cut - 1).unwrap()).unwrap();
        let t = last["ts_ns"].as_i64().unwrap();
        let want: Vec<&String> = whole
            .iter()
            .filter(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["ts_ns"].as_i64().unwrap() <= t
            })
            .collect();
        let got = intents_upto(d, Some(cut));
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            want,
            "cut after {cut} lines"
        );
    }
}

#[test]
fn the_python_example_does_not_look_ahead() {
    let (_t, d) = workdir();
    std::fs::write(
        d.join("strategies.yaml"),
        format!("strategies:\n{}", python_entry("py")),
    )
    .unwrap();
    assert_no_look_ahead(&d);
}

/// A program's legs of one trade carry its group, scoped to the strategy.
#[test]
fn a_program_writes_the_legs_of_one_trade() {
    let (_t, d) = workdir();
    let tape: Vec<u8> = std::fs::read(d.join("tape.ndjson")).unwrap()[..]
        .split_inclusive(|b| *b == b'\n')
        .take(3)
        .flatten()
        .copied()
        .collect();
    // Through the example's helper module.
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/strategies");
    std::fs::write(
        d.join("legs.py"),
        format!(
            "import sys\nsys.path.insert(0, {:?})\nfrom njord_strategy import Strategy, run\n\n\
             class Legs(Strategy):\n    def on_event(self, ev):\n        \
             self.buy('1', group_id='g', group_size=2)\n        \
             self.sell('1', group_id='g', group_size=2)\n\nrun(Legs, id='legs', version='0')\n",
            helper.display().to_string()
        ),
    )
    .unwrap();
    let yaml = format!(
        "strategies:\n  - id: grp\n    class: exec\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params: {{command: [python3, {:?}]}}\n",
        d.join("legs.py").display().to_string()
    );
    let (out, err) = strat(&d, &yaml, &tape);
    let intents: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!intents.is_empty(), "{err}");
    assert_eq!(intents.len() % 2, 0);
    for i in &intents {
        let group = format!("grp:{}:g", i["ts_ns"]);
        assert_eq!(
            (&i["group_id"], &i["group_size"]),
            (&group.into(), &2.into())
        );
    }
}

/// A pair whose x leg is above the per-order cap while its y leg is under it goes out whole
/// or not at all: risk holds y for x's verdict, so no order (and no fill) is ever one leg
/// alone; the backtester decides the same.
#[test]
fn a_pair_is_allowed_whole_or_not_at_all() {
    let (_t, d) = workdir();
    std::fs::write(d.join("tape.ndjson"), three_symbol_bars(600)).unwrap();
    // y = X (about 50 USD a unit), x = Y at β ≈ 0.5 (about 52 USD): a cap of 51 lies
    // between the legs on many entries.
    std::fs::write(
        d.join("strategies.yaml"),
        "strategies:\n  - {id: pair, class: pairs, symbols: [X/USDT, Y/USDT], events: [bar], params: {y: X/USDT, x: Y/USDT, window: 40, entry_z: 1.5, exit_z: 0.5, qty: 1, step: 0.001}}\n",
    )
    .unwrap();
    let base = std::fs::read_to_string(d.join("base.yaml")).unwrap();
    std::fs::write(
        d.join("base.yaml"),
        base.replace("per_order_usd_cap: 100000", "per_order_usd_cap: 51"),
    )
    .unwrap();
    backtest(&d, "out", &[]);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    assert_eq!(ours.lines().collect::<Vec<_>>(), pipeline_fills(&d));
    let sh = format!(
        "{} tape.ndjson -q | {} --config base.yaml --strategies strategies.yaml -q | {} --config base.yaml -q",
        env!("CARGO_BIN_EXE_njord-replay"),
        env!("CARGO_BIN_EXE_njord-strat"),
        env!("CARGO_BIN_EXE_njord-risk"),
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&sh)
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut orders: std::collections::BTreeMap<String, usize> = Default::default();
    for e in events.iter().filter(|e| e["kind"] == "intent") {
        orders.insert(e["group_id"].as_str().unwrap().to_string(), 0);
    }
    for e in events.iter().filter(|e| e["kind"] == "order") {
        *orders.get_mut(e["group_id"].as_str().unwrap()).unwrap() += 1;
    }
    assert!(orders.values().all(|&n| n == 0 || n == 2), "{orders:?}");
    assert!(
        orders.values().any(|&n| n == 2),
        "some pairs go out: {orders:?}"
    );
    // The y leg alone was under the cap: without the hold it would have gone out alone.
    let held_back = events
        .iter()
        .filter(|e| e["kind"] == "decision" && e["reason"] == "group_leg_denied")
        .count();
    assert!(held_back > 0, "some y legs are held back by their x leg");
}
