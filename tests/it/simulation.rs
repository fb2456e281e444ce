//! The simulation harness (issue 22): synthetic markets from `njord-sim gen --model`. Their
//! moments against the parameters are checked in the core (`njord_core::synth`); here, that
//! every model writes a valid tape on its grid, the same bytes for the same seed, and that a
//! bad parameter is a usage error naming it.

use crate::support::{generated_tape, sim_command};
use njord::event::{self, Event};
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::Path;

fn generate(args: &[&str]) -> std::process::Output {
    sim_command()
        .args(["gen", "--symbol", "ATOM/USDT", "--count", "2000"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_model_writes_a_valid_tape_the_same_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.ndjson");
    std::fs::write(&source, generated_tape("ATOM/USDT", 3_000, 1)).unwrap();
    let source = source.display().to_string();
    let models: [&[&str]; 5] = [
        &["--model", "gbm", "--sigma", "1.2"],
        &["--model", "jump", "--jump-rate", "20000"],
        &[
            "--model", "garch", "--omega", "1e-8", "--alpha", "0.1", "--beta", "0.85",
        ],
        &["--model", "regime", "--switch", "0.01,0.02"],
        &["--model", "bootstrap", "--from", &source, "--block", "20"],
    ];
    for args in models {
        let run = |seed: &str| {
            let mut a = args.to_vec();
            a.extend(["--seed", seed, "--interval", "1m", "--tick", "0.0001"]);
            let o = generate(&a);
            assert!(
                o.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            o.stdout
        };
        let tape = run("7");
        assert_eq!(tape, run("7"), "{args:?}: same seed, same bytes");
        assert_ne!(tape, run("8"), "{args:?}: another seed, another tape");
        let text = String::from_utf8(tape).unwrap();
        let mut prices = std::collections::BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let Ok(Event::Trade(t)) = event::decode(line) else {
                panic!("{args:?}: line {} is not a trade: {line}", i + 1);
            };
            assert_eq!(
                t.ts_ns,
                1_704_067_200_000_000_000 + i as i64 * 60_000_000_000
            );
            assert!(t.price > Decimal::ZERO && (t.price / Decimal::new(1, 4)).fract().is_zero());
            prices.insert(t.price);
        }
        assert_eq!(text.lines().count(), 2000);
        assert!(
            prices.len() > 20,
            "{args:?}: the price moves ({} prices)",
            prices.len()
        );
    }
}

#[test]
fn a_bad_model_parameter_is_a_usage_error_naming_it() {
    for (args, said) in [
        (
            &["--model", "garch", "--alpha", "0.3", "--beta", "0.8"][..],
            "alpha + beta must be below 1",
        ),
        (
            &["--model", "gbm", "--sigma", "-1"][..],
            "sigma must not be negative",
        ),
        (&["--model", "bootstrap"][..], "bootstrap needs --from TAPE"),
        (
            &["--model", "regime", "--switch", "0.5"][..],
            "is not two numbers",
        ),
    ] {
        let o = generate(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

/// A directory with `tape.ndjson`, `count` trades a minute apart of `model` from `seed`, and
/// `strategies.yaml`, one ema_cross on them.
fn model_tape(model: &str, count: &str, seed: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tape = sim_command()
        .args([
            "gen",
            "--symbol",
            "ATOM/USDT",
            "--count",
            count,
            "--model",
            model,
        ])
        .args(["--interval", "1m", "--seed", seed])
        .output()
        .unwrap();
    assert!(
        tape.status.success(),
        "{}",
        String::from_utf8_lossy(&tape.stderr)
    );
    std::fs::write(dir.path().join("tape.ndjson"), tape.stdout).unwrap();
    std::fs::write(
        dir.path().join("strategies.yaml"),
        "strategies:\n  - {id: ema, class: ema_cross, symbols: [ATOM/USDT], events: [trade], params: {fast: 20, slow: 60, qty: 20}}\n",
    )
    .unwrap();
    dir
}

/// `njord-backtest mc`: the same report whatever the thread count; the observed run is the
/// plain backtest; percentiles and ruin are those of the runs it lists.
#[test]
fn monte_carlo_runs_are_seeded_per_run_and_reported() {
    let dir = model_tape("gbm", "20000", "4");
    let d = dir.path();
    std::fs::write(
        d.join("base.yaml"),
        format!(
            "journal:\n  dir: {0}/j\nlogging:\n  json_file: false\nrisk:\n  kill_switch_file: {0}/halt\n  per_order_usd_cap: 100000\n  orders_per_min_cap: 1000\n",
            d.display()
        ),
    )
    .unwrap();
    let backtest = |args: &[&str], threads: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
            .current_dir(d)
            .env("RAYON_NUM_THREADS", threads)
            .args(args)
            .args([
                "--config",
                "base.yaml",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
            ])
            .args(["--allow-short", "--no-progress"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let mc = |out: &str, method: &str, threads: &str| {
        let table = backtest(
            &[
                "mc", "--runs", "24", "--seed", "9", "--method", method, "--ruin", "0.999",
                "--out", out,
            ],
            threads,
        );
        let json = std::fs::read_to_string(d.join(out).join("mc.json")).unwrap();
        let csv = std::fs::read_to_string(d.join(out).join("mc_runs.csv")).unwrap();
        (table, json, csv)
    };
    let one = mc("a", "block-bootstrap", "1");
    assert_eq!(
        one,
        mc("b", "block-bootstrap", "2"),
        "the thread count changes nothing"
    );
    backtest(&["--out", "plain", "-q"], "1");
    let plain: Value =
        serde_json::from_slice(&std::fs::read(d.join("plain/metrics.json")).unwrap()).unwrap();
    let report: Value = serde_json::from_str(&one.1).unwrap();
    assert_eq!(
        report["observed"]["total_return"], plain["metrics"]["total_return"],
        "{report}"
    );
    assert_eq!(report["observed"]["sharpe"], plain["metrics"]["sharpe"]);
    // The percentiles and the ruin count are those of the runs listed.
    let rows: Vec<Vec<f64>> = one
        .2
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 24);
    let mut total: Vec<f64> = rows.iter().map(|r| r[2]).collect();
    total.sort_by(f64::total_cmp);
    let median = (total[11] + total[12]) / 2.0;
    assert!((report["total_return"]["p50"].as_f64().unwrap() - median).abs() < 1e-15);
    assert!(
        total.windows(2).any(|w| w[0] != w[1]),
        "runs differ: {total:?}"
    );
    let p = &report["max_drawdown"];
    assert!(p["p5"].as_f64() <= p["p50"].as_f64() && p["p50"].as_f64() <= p["p95"].as_f64());
    assert!(report["sharpe"]["p50"].is_number(), "{report}");
    let ruined = rows.iter().filter(|r| r[5] < 0.999 * 10_000.0).count();
    assert_eq!(report["ruin"]["runs"], ruined);
    assert!(
        one.0.contains("p5") && one.0.contains("observed"),
        "{}",
        one.0
    );
    for method in ["shuffle", "synthetic"] {
        let (_, json, _) = mc(method, method, "2");
        let r: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(r["method"]["name"], method);
        assert_eq!(r["runs"], 24);
    }
}

/// `njord-backtest wfo`: folds over the tape, the best training trial run on the next test
/// window, the out-of-sample equity stitched from them; the same whatever the thread count;
/// folds without a trial of enough round trips refused.
#[test]
fn walk_forward_trains_tests_and_stitches() {
    let dir = model_tape("regime", "30000", "5");
    let d = dir.path();
    let wfo = |out: &str, threads: &str, extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
            .current_dir(d)
            .env("RAYON_NUM_THREADS", threads)
            .env("NJORD__LOGGING__JSON_FILE", "false")
            .args([
                "wfo",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
                "--train",
                "5d",
            ])
            .args([
                "--test",
                "2d",
                "--param",
                "ema.fast=5,20",
                "--param",
                "ema.slow=40,80",
            ])
            .args(["--equity-interval", "1h", "--no-progress", "--out", out])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let file = |f: &str| std::fs::read_to_string(d.join(out).join(f)).unwrap();
        (
            String::from_utf8(o.stdout).unwrap(),
            file("wfo.json"),
            file("wfo_equity.csv"),
        )
    };
    let one = wfo("a", "1", &[]);
    assert_eq!(one, wfo("b", "2", &[]), "the thread count changes nothing");
    let report: Value = serde_json::from_str(&one.1).unwrap();
    // 30,000 minutes is 20.8 days: folds test [5d, 7d), [7d, 9d), … up to [19d, 21d) minus one.
    let folds = report["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 7, "{report}");
    assert_eq!(folds[1]["train"][0], "2024-01-03T00:00:00Z");
    assert_eq!(folds[1]["test"][0], "2024-01-08T00:00:00Z");
    assert!(folds.iter().all(|f| f["params"]["ema.fast"].is_string()));
    // The stitched return compounds the test windows' returns listed.
    let equity: f64 = one
        .2
        .lines()
        .last()
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stitched = report["stitched_out_of_sample"]["total_return"]
        .as_f64()
        .unwrap();
    assert!(
        (stitched - (equity - 1.0)).abs() < 1e-12,
        "{stitched} vs {equity}"
    );
    assert!(report["efficiency"].is_number());
    assert!(one.0.contains("walk-forward efficiency"), "{}", one.0);
    // Anchored: every training window starts at the tape's start.
    let (_, anchored, _) = wfo("c", "2", &["--anchored"]);
    let anchored: Value = serde_json::from_str(&anchored).unwrap();
    for f in anchored["folds"].as_array().unwrap() {
        assert_eq!(f["train"][0], "2024-01-01T00:00:00Z");
    }
    // No trial makes 100,000 round trips: every fold is refused, with why.
    let (table, refused, _) = wfo("e", "2", &["--min-trades", "100000"]);
    let refused: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(refused["refused"], 7);
    assert!(
        table.contains("refused: no trial made 100000 round trips"),
        "{table}"
    );
    // The same parameters from a grid file: the same report.
    std::fs::write(
        d.join("wfo_grid.yaml"),
        "params:\n  ema.fast: [5, 20]\n  ema.slow: [40, 80]\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
        .current_dir(d)
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .args([
            "wfo",
            "--tape",
            "tape.ndjson",
            "--strategies",
            "strategies.yaml",
        ])
        .args(["--train", "5d", "--test", "2d", "--grid", "wfo_grid.yaml"])
        .args(["--equity-interval", "1h", "--no-progress", "--out", "g"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(d.join("g/wfo.json")).unwrap(),
        one.1
    );
}

/// A sweep split into N shards (N = 1, 2, 7) and merged writes the unsharded sweep's
/// outputs byte for byte; a rerun skips the trials stored; a changed tape runs them again.
#[test]
fn sharded_sweeps_merge_into_the_unsharded_one_and_resume() {
    let (_t, d) = crate::backtest::workdir();
    let sweep = |out: &str, extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
            .current_dir(&d)
            .args(["sweep", "--config", "base.yaml", "--tape", "tape.ndjson"])
            .args([
                "--strategies",
                "strategies.yaml",
                "--allow-short",
                "--equity-interval",
                "1m",
            ])
            .args([
                "--param",
                "rsi_period=7,14",
                "--param",
                "ema.fast=3,5,8,13",
                "--blocks",
                "4",
            ])
            .args(["--no-progress", "--out", out])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let outputs = |out: &str| {
        [
            "sweep.csv",
            "sweep.json",
            "overfitting.json",
            "sweep_returns.csv",
            "sweep.parquet",
        ]
        .map(|f| std::fs::read(d.join(out).join(f)).unwrap())
    };
    let (code, whole_table, err) = sweep("whole", &[]);
    assert_eq!(code, Some(0), "{err}");
    let whole = outputs("whole");
    for n in [1, 2, 7] {
        let out = format!("n{n}");
        for i in 0..n {
            let (code, _, err) = sweep(&out, &["--shard", &format!("{i}/{n}")]);
            assert_eq!(code, Some(0), "{err}");
        }
        let (code, table, err) = sweep(&out, &["--merge"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(outputs(&out), whole, "{n} shards");
        assert_eq!(table, whole_table);
        // Each shard's results and manifest (one shard of one is the whole sweep: none): its
        // trials, with the hashes they are stored with.
        assert_eq!(d.join(&out).join("shards").exists(), n > 1);
        for i in (0..n).filter(|_| n > 1) {
            let stem = d.join(&out).join(format!("shards/shard-{i}-of-{n}"));
            let manifest: Value = serde_json::from_str(
                &std::fs::read_to_string(stem.with_extension("json")).unwrap(),
            )
            .unwrap();
            let trials = manifest["trials"].as_array().unwrap();
            let want: Vec<u64> = (1..=8).filter(|k| (k - 1) % n == i).collect();
            let got: Vec<u64> = trials
                .iter()
                .map(|t| t["trial"].as_u64().unwrap())
                .collect();
            assert_eq!(got, want, "shard {i}/{n}");
            for t in trials {
                let stored: Value = serde_json::from_str(
                    &std::fs::read_to_string(
                        d.join(&out)
                            .join(format!("trials/trial-{}.json", t["trial"])),
                    )
                    .unwrap(),
                )
                .unwrap();
                assert_eq!(stored["hash"], t["hash"]);
                assert_eq!(stored["tape_hash"], manifest["tape_hash"]);
            }
            let csv = std::fs::read_to_string(stem.with_extension("csv")).unwrap();
            assert_eq!(csv.lines().count(), want.len() + 1);
            let parquet = std::fs::File::open(stem.with_extension("parquet")).unwrap();
            let rows = parquet::file::reader::SerializedFileReader::new(parquet)
                .map(|r| {
                    parquet::file::reader::FileReader::metadata(&r)
                        .file_metadata()
                        .num_rows()
                })
                .unwrap();
            assert_eq!(rows as usize, want.len());
        }
    }
    // One shard of two, then a merge: the other shard's trials are named as missing.
    let (_, _, _) = sweep("half", &["--shard", "0/2"]);
    let (code, _, err) = sweep("half", &["--merge"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("4 trials have no result") && err.contains("trials 2, 4, 6, 8"),
        "{err}"
    );
    // A rerun finds every trial done.
    let (code, _, err) = sweep("whole", &[]);
    assert_eq!(code, Some(0));
    assert!(err.contains("8 trials already in"), "{err}");
    assert_eq!(outputs("whole"), whole);
    // Another tape: the stored trials are not this tape's, so they run again.
    let tape = std::fs::read_to_string(d.join("tape.ndjson")).unwrap();
    let cut: String = tape.lines().take(2_000).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("tape.ndjson"), cut).unwrap();
    let (code, _, err) = sweep("whole", &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("already in"), "{err}");
    assert_ne!(outputs("whole"), whole);
}

/// deploy/k8s: an Indexed Job whose pods run one shard each (`JOB_COMPLETION_INDEX` of
/// `completions`) of the same sweep as the merge Job, which runs with --merge; and the
/// commands are ones njord-backtest accepts.
#[test]
fn the_kubernetes_sweep_jobs_shard_and_merge_one_sweep() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s");
    let load = |f: &str| -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let (job, merge) = (load("sweep-job.yaml"), load("sweep-merge-job.yaml"));
    for j in [&job, &merge] {
        assert_eq!(
            (&j["apiVersion"], &j["kind"]),
            (&"batch/v1".into(), &"Job".into())
        );
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
        assert_eq!(
            j["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            true
        );
    }
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(n));
    let command = |j: &Value| {
        j["spec"]["template"]["spec"]["containers"][0]["args"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (shard, merged) = (command(&job), command(&merge));
    assert!(
        shard.contains(&format!("--shard \"${{JOB_COMPLETION_INDEX}}/{n}\"")),
        "{shard}"
    );
    assert!(merged.contains("--merge"));
    // The same sweep: the same arguments but for --shard and --merge.
    let strip = |c: &str, part: &str| c.replace(part, "");
    assert_eq!(
        strip(
            &shard,
            &format!(" --shard \"${{JOB_COMPLETION_INDEX}}/{n}\"")
        ),
        strip(&merged, " --merge")
    );
    // njord-backtest parses it (with the volume's paths missing here, it stops at the tape).
    let args: Vec<String> = shard
        .trim_start_matches("exec ")
        .replace("\"${JOB_COMPLETION_INDEX}/8\"", "3/8")
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
        .args(&args)
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("unexpected argument") && !err.contains("invalid value"),
        "{err}"
    );
}

/// A grid of 15 trials of `model_tape`'s strategy.
const GRID: &str = "params:\n  fast: [5, 8, 13]\n  ema.slow: {from: 30, to: 90, step: 15}\n";

/// `sweep --grid`: the same trials as the same values by --param, byte for byte; --samples
/// draws distinct trials of that grid, the first N of a seed the same whatever N (so more
/// samples later reuse the stored ones); a bad grid file is a usage error naming it.
#[test]
fn grid_files_and_seeded_random_samples() {
    let dir = model_tape("gbm", "20000", "9");
    let d = dir.path();
    std::fs::write(d.join("grid.yaml"), GRID).unwrap();
    let sweep = |extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
            .current_dir(d)
            .args([
                "sweep",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
            ])
            .args([
                "--allow-short",
                "--equity-interval",
                "1h",
                "--progress",
                "none",
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let read = |out: &str, f: &str| std::fs::read_to_string(d.join(out).join(f)).unwrap();
    let (code, _, err) = sweep(&["--grid", "grid.yaml", "--out", "grid"]);
    assert_eq!(code, Some(0), "{err}");
    let by_param = [
        "--param",
        "fast=5,8,13",
        "--param",
        "ema.slow=30,45,60,75,90",
        "--out",
        "param",
    ];
    let (code, _, err) = sweep(&by_param);
    assert_eq!(code, Some(0), "{err}");
    for f in ["sweep.csv", "sweep.json", "sweep_returns.csv"] {
        assert_eq!(read("grid", f), read("param", f), "{f}");
    }
    let trials = |out: &str| -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(&read(out, "sweep.json")).unwrap();
        let mut t: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let p = &t["params"];
                (p["fast"].to_string(), p["ema.slow"].to_string())
            })
            .collect();
        t.sort();
        t
    };
    assert_eq!(trials("grid").len(), 15);
    let (code, _, err) = sweep(&[
        "--grid",
        "grid.yaml",
        "--samples",
        "4",
        "--seed",
        "3",
        "--out",
        "s",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let four = trials("s");
    assert_eq!(four.len(), 4);
    assert!(four.iter().all(|t| trials("grid").contains(t)), "{four:?}");
    assert_eq!(
        four.iter().collect::<std::collections::HashSet<_>>().len(),
        4
    );
    // Six samples of the same seed: the first four are the same trials, found stored.
    let (code, _, err) = sweep(&[
        "--grid",
        "grid.yaml",
        "--samples",
        "6",
        "--seed",
        "3",
        "--out",
        "s",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("4 trials already in"), "{err}");
    let six = trials("s");
    assert!(four.iter().all(|t| six.contains(t)), "{six:?}");
    let (code, _, err) = sweep(&["--grid", "grid.yaml", "--samples", "15", "--out", "s"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not below the grid's 15 combinations"),
        "{err}"
    );
    std::fs::write(
        d.join("bad.yaml"),
        "params:\n  fast: {from: 9, to: 1, step: 1}\n",
    )
    .unwrap();
    let (code, _, err) = sweep(&["--grid", "bad.yaml", "--out", "bad"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.yaml: params.fast: needs step > 0"),
        "{err}"
    );
    let (code, _, err) = sweep(&["--grid", "grid.yaml", "--param", "fast=1", "--out", "bad"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot be used with"), "{err}");
}

/// `--progress ndjson`: JSON lines on stderr counting up to the total, the last one finished,
/// and nothing else changes.
#[test]
fn progress_as_ndjson_for_machines() {
    let dir = model_tape("gbm", "5000", "2");
    let d = dir.path();
    let mc = |progress: &str, out: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"))
            .current_dir(d)
            .args([
                "mc",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
            ])
            .args([
                "--runs",
                "12",
                "--seed",
                "1",
                "--progress",
                progress,
                "--out",
                out,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (o.stdout, String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (table, err) = mc("ndjson", "a");
    let lines: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with("{\"done\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty(), "{err}");
    let last = lines.last().unwrap();
    assert_eq!(
        (
            &last["progress"],
            &last["unit"],
            &last["done"],
            &last["total"],
            &last["finished"]
        ),
        (
            &Value::from("mc"),
            &Value::from("runs"),
            &Value::from(12),
            &Value::from(12),
            &Value::Bool(true)
        )
    );
    let done: Vec<u64> = lines.iter().map(|l| l["done"].as_u64().unwrap()).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["elapsed_s"].as_f64().unwrap() >= 0.0)
    );
    let (quiet_table, quiet_err) = mc("none", "b");
    assert!(!quiet_err.contains("{\"done\""), "{quiet_err}");
    assert_eq!(table, quiet_table);
    assert_eq!(
        std::fs::read(d.join("a/mc.json")).unwrap(),
        std::fs::read(d.join("b/mc.json")).unwrap()
    );
}

/// `sweep --queue`: workers take trials from a Redis stream's consumer group. One worker is
/// killed (`kill -9`) while it runs a trial; two more share what is left, take over the dead
/// one's trial once it has been silent for --queue-idle, and one of them writes outputs equal
/// to the sweep run in one process. The queue is deleted when done.
#[test]
fn queued_sweep_workers_take_over_a_killed_worker() {
    let redis = crate::support::RedisServer::start();
    let dir = model_tape("garch", "200000", "5");
    let d = dir.path();
    std::fs::write(d.join("grid.yaml"), GRID).unwrap();
    let worker = |out: &str, queue: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_njord-backtest"));
        c.current_dir(d)
            .env("RAYON_NUM_THREADS", "1")
            .args([
                "sweep",
                "--tape",
                "tape.ndjson",
                "--strategies",
                "strategies.yaml",
            ])
            .args(["--grid", "grid.yaml", "--allow-short", "--progress", "none"])
            .args(["--out", out])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if queue {
            c.args(["--queue", &redis.url(), "--queue-idle", "3s"]);
        }
        c.spawn().unwrap()
    };
    let whole = worker("whole", false).wait_with_output().unwrap();
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );

    let mut con = redis.conn();
    let mut first = worker("q", true);
    let signal = |sig: &str, pid: u32| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let pending = |con: &mut redis::Connection, key: &str| {
        redis::cmd("XPENDING")
            .arg(key)
            .arg("workers")
            .query::<redis::streams::StreamPendingReply>(con)
            .unwrap()
            .count()
    };
    // Kill it once it has stored a trial and holds another: stopped (SIGSTOP) while it holds
    // one, so that it cannot finish it between the look and the kill.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let key = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the first worker never got going"
        );
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("njord:sweep:*")
            .query(&mut con)
            .unwrap();
        let stream = keys.into_iter().find(|k| k.matches(':').count() == 2);
        let stored = std::fs::read_dir(d.join("q/trials")).map_or(0, |r| r.count());
        if let Some(k) = stream.filter(|k| stored >= 1 && pending(&mut con, k) == 1) {
            signal("-STOP", first.id());
            if pending(&mut con, &k) == 1 {
                break k;
            }
            signal("-CONT", first.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(pending(&mut con, &key), 1);
    let (a, b) = (worker("q", true), worker("q", true));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let said = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        said(&a),
        said(&b)
    );
    let taken_over: usize = [&a, &b]
        .iter()
        .map(|o| {
            let s = said(o);
            let line = s
                .lines()
                .find(|l| l.starts_with("queue: "))
                .unwrap()
                .to_string();
            line.split(", ")
                .nth(2)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(taken_over, 1, "{}\n{}", said(&a), said(&b));
    // One of the two wrote the outputs and printed the table; the other said so.
    let (writer, other) = if a.stdout.is_empty() {
        (&b, &a)
    } else {
        (&a, &b)
    };
    assert_eq!(writer.stdout, whole.stdout);
    assert!(other.stdout.is_empty() && said(other).contains("another worker writes the outputs"));
    for f in [
        "sweep.csv",
        "sweep.json",
        "overfitting.json",
        "sweep_returns.csv",
        "sweep.parquet",
    ] {
        assert_eq!(
            std::fs::read(d.join("q").join(f)).unwrap(),
            std::fs::read(d.join("whole").join(f)).unwrap(),
            "{f}"
        );
    }
    let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut con).unwrap();
    assert!(!exists, "the queue is deleted when done");
}

/// `njord-stress tape`: a scenario's tape is its `njord-sim gen` tape with the transforms
/// applied, the same bytes every time: untouched before the shock, 30 % down at its bottom,
/// back after the recovery, 5 % up after the gap, the missing half-minute gone.
#[test]
fn stress_scenario_tapes_are_the_generated_tape_transformed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stress = || {
        let mut c =
            std::process::Command::new(crate::support::sim_bin().with_file_name("njord-stress"));
        c.env("NJORD__LOGGING__JSON_FILE", "false");
        c
    };
    let run = |scenario: &Path| stress().arg("tape").arg(scenario).output().unwrap();
    let crash = run(&root.join("scenarios/flash_crash.yaml"));
    assert!(
        crash.status.success(),
        "{}",
        String::from_utf8_lossy(&crash.stderr)
    );
    assert_eq!(
        crash.stdout,
        run(&root.join("scenarios/flash_crash.yaml")).stdout
    );
    let base = sim_command()
        .args([
            "gen",
            "--symbol",
            "ATOM/USDT",
            "--count",
            "3600",
            "--model",
            "gbm",
        ])
        .args(["--interval", "1s", "--seed", "7"])
        .output()
        .unwrap();
    let trades = |bytes: &[u8]| -> Vec<(String, Decimal, Decimal, i64)> {
        std::str::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| match event::decode(l).unwrap() {
                Event::Trade(t) => (t.trade_id.to_string(), t.price, t.qty, t.ts_ns),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let (base, shocked) = (trades(&base.stdout), trades(&crash.stdout));
    assert_eq!((base.len(), shocked.len()), (3600, 3570));
    let start = base[0].3;
    let at = |m: i64| start + m * 60_000_000_000;
    let by_id: std::collections::HashMap<&str, &(String, Decimal, Decimal, i64)> =
        shocked.iter().map(|t| (t.0.as_str(), t)).collect();
    for b in &base {
        let ratio = |s: &(String, Decimal, Decimal, i64)| s.1 / b.1;
        let near = |r: Decimal, want: &str| {
            (r - want.parse::<Decimal>().unwrap()).abs() < "0.003".parse().unwrap()
        };
        match by_id.get(b.0.as_str()) {
            None => assert!(
                b.3 >= at(21) && b.3 < at(21) + 30_000_000_000,
                "{b:?} dropped"
            ),
            Some(s) if b.3 < at(20) => assert_eq!(*s, b),
            // The bottom: 30 % down (± the 40 bps spread and rounding), a fifth of the size.
            Some(s) if b.3 >= at(21) && b.3 < at(23) => {
                assert!(near(ratio(s), "0.7"), "{s:?} {b:?}");
                // A fifth of the size, to its own decimals (at least one unit of them).
                let fifth = (b.2 * Decimal::new(2, 1))
                    .round_dp_with_strategy(
                        b.2.scale(),
                        rust_decimal::RoundingStrategy::MidpointNearestEven,
                    )
                    .max(Decimal::new(1, b.2.scale()));
                assert_eq!(s.2, fifth, "{s:?} {b:?}");
            }
            Some(s) if b.3 >= at(28) && b.3 < at(45) => assert_eq!(*s, b),
            Some(s) if b.3 >= at(45) => assert!(near(ratio(s), "1.05"), "{s:?} {b:?}"),
            Some(_) => {}
        }
    }
    // Every shipped scenario writes its tape; a bad one is a usage error naming the file.
    for entry in std::fs::read_dir(root.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let o = run(&path);
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ntape: {gen: [--symbol, ATOM/USDT, --count, '10']}\ntransforms:\n  - {transform: gap, at: 1m, change: -2}\n",
    )
    .unwrap();
    let o = run(&bad);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.yaml") && err.contains("transforms[0]: change -2"),
        "{err}"
    );
    // A tape from a file, beside the scenario.
    std::fs::write(dir.path().join("t.ndjson"), &crash.stdout).unwrap();
    let from_file = dir.path().join("file.yaml");
    std::fs::write(&from_file, "name: f\ntape: {file: t.ndjson}\n").unwrap();
    let o = run(&from_file);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, crash.stdout);
}
