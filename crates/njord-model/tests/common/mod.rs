//! Models from `scripts/train_onnx_model.py`, for the tests and the benchmark.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What the script wrote: held-out rows and, for each model, its file and scikit-learn's
/// predictions for those rows.
pub struct Trained {
    pub dir: tempfile::TempDir,
    pub features: usize,
    pub rows: Vec<Vec<f32>>,
    pub models: Vec<Expected>,
}

pub struct Expected {
    pub file: String,
    pub kind: String,
    pub predictions: Vec<f64>,
}

impl Trained {
    pub fn bytes(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(file)).unwrap()
    }
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// Runs the script with the tests' Python environment (`.venv` at the workspace root, made by
/// `make test` or `make python`), into a fresh directory. Without that environment it panics:
/// the check must not be skipped.
pub fn train() -> Trained {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test` (or `make python`) at the workspace root to create the \
         tests' Python environment (python/requirements-test.txt)",
        python.display()
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let status = Command::new(&python)
        .arg(root.join("scripts/train_onnx_model.py"))
        .arg(dir.path())
        .status()
        .expect("running scripts/train_onnx_model.py");
    assert!(
        status.success(),
        "scripts/train_onnx_model.py failed: {status}"
    );

    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let features = expected["features"].as_u64().unwrap() as usize;
    // float32 values written as the float64 numbers they are: the casts give them back exactly.
    let rows = expected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| number(v) as f32)
                .collect()
        })
        .collect();
    let models = expected["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Expected {
            file: m["file"].as_str().unwrap().to_owned(),
            kind: m["kind"].as_str().unwrap().to_owned(),
            predictions: m["predictions"]
                .as_array()
                .unwrap()
                .iter()
                .map(number)
                .collect(),
        })
        .collect();
    Trained {
        dir,
        features,
        rows,
        models,
    }
}
