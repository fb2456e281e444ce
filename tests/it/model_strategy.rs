//! `class: onnx_model`: a scikit-learn model, exported with skl2onnx, scores a feature set
//! on every event; the backtester and the pipeline fill alike, and a file whose hash is not the
//! pinned one refuses to start. (That Rust's predictions equal scikit-learn's is checked in
//! crates/njord-model.)

use crate::backtest::{backtest, pipeline_fills, workdir};
use crate::exec_strategy::run_strat;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Trains a small gradient-boosted model on three features (a mean reversion on the z-score)
/// with the tests' Python environment, into `dir/model.onnx`; its SHA-256.
fn train(dir: &Path) -> String {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test` (or `make python`), which creates it",
        python.display()
    );
    let script = r#"
import sys
import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from skl2onnx import to_onnx
rng = np.random.default_rng(5)
X = np.column_stack([rng.normal(0, 0.001, 2000), rng.normal(0, 1.5, 2000), rng.uniform(0, 100, 2000)]).astype(np.float32)
y = -X[:, 1] + rng.normal(0, 0.1, 2000)
model = GradientBoostingRegressor(n_estimators=30, max_depth=2, random_state=0).fit(X, y)
open(sys.argv[1], "wb").write(to_onnx(model, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString())
"#;
    let path = dir.join("model.onnx");
    let o = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    hex::encode(Sha256::digest(std::fs::read(&path).unwrap()))
}

fn entry(sha256: &str) -> String {
    format!(
        "strategies:\n  - id: gbm\n    class: onnx_model\n    symbols: [\"ATOM/USDT\"]\n    events: [trade]\n    params:\n      model: model.onnx\n      sha256: \"{sha256}\"\n      features:\n        - {{name: ret_1, feature: returns}}\n        - {{name: z10, feature: zscore, window: 10}}\n        - {{name: rsi5, feature: rsi, window: 5}}\n      buy_above: 0.5\n      sell_below: -0.5\n      qty: 2\n"
    )
}

#[test]
fn a_model_strategy_backtests_like_the_pipeline_and_refuses_another_file() {
    let (_t, d) = workdir();
    let sha = train(&d);
    std::fs::write(d.join("strategies.yaml"), entry(&sha)).unwrap();
    backtest(&d, "out", &[]);
    let piped = pipeline_fills(&d);
    let ours = std::fs::read_to_string(d.join("out/fills.ndjson")).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert!(ours.len() > 10, "it trades: {} fills", ours.len());
    assert_eq!(ours, piped, "fills equal the pipeline's line for line");
    crate::exec_strategy::assert_no_look_ahead(&d);

    // The intents carry the score and the features that made it.
    let tape = std::fs::read(d.join("tape.ndjson")).unwrap();
    let o = run_strat(&d, "strategies.yaml", &["--emit-only"], tape);
    assert!(o.status.success());
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["side"], "buy");
    assert!(first["meta"]["score"].as_f64().unwrap() >= 0.5, "{first}");
    assert!(first["meta"]["z10"].as_f64().unwrap() < 0.0, "{first}");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains(&format!("model model.onnx loaded: sha256 {sha}")),
        "{log}"
    );

    // Any other pinned hash: the strategies file is refused, naming both hashes.
    let wrong = "0".repeat(64);
    std::fs::write(d.join("strategies.yaml"), entry(&wrong)).unwrap();
    let o = run_strat(&d, "strategies.yaml", &[], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("key `params.sha256`") && err.contains(&wrong) && err.contains(&sha),
        "{err}"
    );
    // A feature list the model does not take.
    let three = entry(&sha);
    let two = three.replace("        - {name: rsi5, feature: rsi, window: 5}\n", "");
    std::fs::write(d.join("strategies.yaml"), two).unwrap();
    let o = run_strat(&d, "strategies.yaml", &[], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the model takes 3 features, the list gives 2"),
        "{err}"
    );
}
