#!/usr/bin/env python3
"""Reference figures for njord_core::portfolio (crates/njord-core/src/portfolio/goldens/).

Seeded return matrices and, for each, what the standard libraries compute: sample covariance
(pandas, T-1), Ledoit-Wolf (scikit-learn LedoitWolf, covariance and shrinkage), HRP weights
(PyPortfolioOpt HRPOpt, single linkage, on the sample covariance) and long-only minimum
variance on the sample covariance (cvxpy, Clarabel at tight tolerances). The Rust test reads
the committed JSON; Python is needed only to regenerate it:

    python3 -m venv /tmp/pfvenv
    /tmp/pfvenv/bin/pip install numpy scipy scikit-learn pandas PyPortfolioOpt cvxpy packaging
    /tmp/pfvenv/bin/python scripts/gen-portfolio-goldens.py
"""

import json
import pathlib

import cvxpy as cp
import numpy as np
import pandas as pd
import pypfopt
import scipy
import sklearn
from pypfopt import HRPOpt
from sklearn.covariance import LedoitWolf

OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "crates/njord-core/src/portfolio/goldens/goldens.json"
)

# (seed, T, n, factors): returns = loadings @ factors + noise, with varied volatilities so
# that the methods disagree and some strategies leave the min-variance portfolio.
CASES = [(1, 60, 5, 2), (2, 120, 8, 3), (3, 40, 6, 1), (4, 100, 10, 3)]


def returns(seed, t, n, k):
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0, 0.01, size=(t, k))
    load = rng.normal(0.0, 1.0, size=(k, n))
    vol = rng.uniform(0.5, 3.0, size=n)
    noise = rng.normal(0.0, 0.01, size=(t, n))
    return (f @ load + noise) * vol


def min_variance(cov):
    n = cov.shape[0]
    w = cp.Variable(n)
    prob = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(cov))), [cp.sum(w) == 1, w >= 0])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-14, tol_gap_rel=1e-14, tol_feas=1e-14)
    assert prob.status == "optimal", prob.status
    x = np.clip(np.asarray(w.value), 0.0, None)
    return x / x.sum()


def main():
    cases = []
    for seed, t, n, k in CASES:
        r = returns(seed, t, n, k)
        names = [f"s{i:02d}" for i in range(n)]
        df = pd.DataFrame(r, columns=names)
        sample = df.cov().to_numpy()
        lw = LedoitWolf().fit(r)
        hrp = HRPOpt(returns=df).optimize(linkage_method="single")
        cases.append(
            {
                "seed": seed,
                "returns": r.tolist(),
                "sample_cov": sample.tolist(),
                "lw_cov": lw.covariance_.tolist(),
                "lw_shrinkage": float(lw.shrinkage_),
                "hrp": [float(hrp[s]) for s in names],
                "min_variance": min_variance(sample).tolist(),
            }
        )
    doc = {
        "generator": "scripts/gen-portfolio-goldens.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "PyPortfolioOpt": pypfopt.__version__,
            "cvxpy": cp.__version__,
        },
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
