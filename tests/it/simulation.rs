//! The simulation harness (issue 22): synthetic markets from `njord-sim gen --model`. Their
//! moments against the parameters are checked in the core (`njord_core::synth`); here, that
//! every model writes a valid tape on its grid, the same bytes for the same seed, and that a
//! bad parameter is a usage error naming it.

use crate::support::{generated_tape, sim_command};
use njord::event::{self, Event};
use rust_decimal::Decimal;

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
