#!/usr/bin/env python3
"""Train small scikit-learn tree ensembles on synthetic data and export them to ONNX.

Usage: train_onnx_model.py OUTDIR

Writes into OUTDIR, for njord-model's tests and benchmark:

- regressor.onnx       GradientBoostingRegressor, 100 trees of depth 3 (TreeEnsembleRegressor)
- forest_regressor.onnx  RandomForestRegressor, 30 trees of depth 6 (TreeEnsembleRegressor)
- classifier.onnx      GradientBoostingClassifier, 50 trees of depth 3, binary
                       (TreeEnsembleClassifier, LOGISTIC post-transform)
- forest_classifier.onnx  RandomForestClassifier, 30 trees of depth 6, binary
                       (TreeEnsembleClassifier, averaged class votes)
- expected.json        {"features": 32, "rows": [[f32; 32]...], "models": [{"file", "kind",
                       "predictions"}]}: held-out rows and scikit-learn's predictions for them
                       (the regressors' `predict`, the classifiers' `predict_proba[:, 1]`)

Every model takes one float32 input of shape [N, 32]; the classifiers are exported without
ZipMap, so their second output is a plain [N, 2] probability tensor. The rows are float32 values
written as the float64 numbers they are exactly, so a reader gets the very same float32 back.
Everything is seeded: the same versions write the same files.
"""

import json
import os
import sys

import numpy as np
from skl2onnx import to_onnx
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

FEATURES = 32
TRAIN_ROWS = 4000
TEST_ROWS = 500
# The ai.onnx.ml domain at opset 3, where skl2onnx writes TreeEnsembleRegressor and
# TreeEnsembleClassifier with float attributes (opset 5 would replace both with TreeEnsemble).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


def synthetic(rng, rows):
    """Features and a target of order one: a few features matter, non-linearly, plus noise."""
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    y = (
        0.6 * x[:, 0]
        - 0.4 * x[:, 1] * x[:, 2]
        + 0.5 * np.sin(2.0 * x[:, 3])
        + 0.3 * np.abs(x[:, 4])
        + 0.1 * rng.standard_normal(rows)
    )
    return x, y


def export(model, sample, path, zipmap):
    options = {id(model): {"zipmap": False}} if zipmap is False else None
    onx = to_onnx(model, sample, options=options, target_opset=TARGET_OPSET)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: train_onnx_model.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    rng = np.random.default_rng(20240521)
    x_train, y_train = synthetic(rng, TRAIN_ROWS)
    x_test, _ = synthetic(rng, TEST_ROWS)
    label_train = (y_train > np.median(y_train)).astype(np.int64)

    models = [
        (
            "regressor.onnx",
            "regressor",
            GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=1),
            y_train,
        ),
        (
            "forest_regressor.onnx",
            "regressor",
            RandomForestRegressor(n_estimators=30, max_depth=6, random_state=2),
            y_train,
        ),
        (
            "classifier.onnx",
            "classifier",
            GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=3),
            label_train,
        ),
        (
            "forest_classifier.onnx",
            "classifier",
            RandomForestClassifier(n_estimators=30, max_depth=6, random_state=4),
            label_train,
        ),
    ]
    expected = {
        "features": FEATURES,
        "rows": [[float(v) for v in row] for row in x_test],
        "models": [],
    }
    for file, kind, model, target in models:
        model.fit(x_train, target)
        if kind == "regressor":
            export(model, x_train[:1], os.path.join(out, file), zipmap=None)
            predictions = model.predict(x_test)
        else:
            export(model, x_train[:1], os.path.join(out, file), zipmap=False)
            predictions = model.predict_proba(x_test)[:, 1]
        expected["models"].append(
            {"file": file, "kind": kind, "predictions": [float(p) for p in predictions]}
        )
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
