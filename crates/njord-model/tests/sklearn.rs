//! Models trained and exported by scikit-learn and skl2onnx predict in Rust what they predict in
//! scikit-learn.
//!
//! `scripts/train_onnx_model.py` trains a 100-tree gradient-boosting regressor, a random-forest
//! regressor and two binary classifiers (gradient boosting, random forest) on synthetic data with
//! 32 features, exports them, and writes held-out rows with scikit-learn's predictions. Every
//! prediction here must be within 1e-5 of scikit-learn's.
//!
//! Why 1e-5 holds although ONNX stores the trees in float32 and scikit-learn keeps float64:
//! - Splits: scikit-learn itself casts the rows to float32 before walking a tree and compares
//!   them with float64 thresholds; ONNX holds each threshold rounded to the nearest float32. For
//!   a float32 row value x and a float64 threshold t, `x <= t` and `x <= f32(t)` differ only when
//!   x is the float32 t was rounded to (no float32 lies strictly between t and f32(t)). A
//!   threshold is the midpoint of two training values, and the held-out rows are fresh draws, so
//!   no row sits on one: every row reaches the same leaves in both.
//! - Leaves: each leaf value (times the learning rate) is stored as float32 and tract adds them up
//!   in float32; each rounding is at most 2^-24 relative, and with targets of order one (the
//!   script's are) 100 trees stay well below 1e-5 (a few 1e-7 in practice). Probabilities are
//!   in [0, 1], and the logistic function only shrinks a score's error.
//!
//! The test needs the tests' Python environment (`.venv`, made by `make test` or `make python`
//! from python/requirements-test.txt): without it, it fails, it does not skip.

mod common;

use njord_model::Model;
use sha2::Digest;

const TOLERANCE: f64 = 1e-5;

#[test]
fn predictions_match_scikit_learn() {
    let trained = common::train();
    assert!(
        trained.rows.len() >= 100,
        "too few test rows: {}",
        trained.rows.len()
    );
    assert!(trained.rows.iter().all(|row| row.len() == trained.features));
    assert_eq!(trained.models.len(), 4);
    for expected in &trained.models {
        let file = &expected.file;
        let bytes = trained.bytes(file);
        // Pinned with the hash as `sha256sum` prints it.
        let hash = hex::encode(sha2::Sha256::digest(&bytes));
        let model = Model::from_bytes(&bytes, Some(&hash))
            .unwrap_or_else(|e| panic!("{file} ({}): {e}", expected.kind));
        assert_eq!(model.sha256(), hash);
        assert_eq!(model.inputs(), trained.features, "{file}");

        assert_eq!(expected.predictions.len(), trained.rows.len());
        let mut worst = 0f64;
        for (i, (row, &want)) in trained.rows.iter().zip(&expected.predictions).enumerate() {
            let got = f64::from(model.predict(row).unwrap());
            let error = (got - want).abs();
            assert!(
                error <= TOLERANCE,
                "{file}, row {i}: Rust predicts {got}, scikit-learn {want} (off by {error:e})"
            );
            worst = worst.max(error);
        }
        // The predictions are not all alike: a model that ignored its input would not pass.
        let (low, high) = expected
            .predictions
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &p| {
                (l.min(p), h.max(p))
            });
        assert!(
            high - low > 0.1,
            "{file}: predictions span only {low} to {high}"
        );
        eprintln!(
            "{file}: {} rows, largest difference {worst:e}",
            trained.rows.len()
        );
    }
}
