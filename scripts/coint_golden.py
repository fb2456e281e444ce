#!/usr/bin/env python3
"""Generate the statsmodels goldens that src/coint.rs (njord_core::coint) is checked against.

    python3 -m venv /tmp/sm && /tmp/sm/bin/pip install statsmodels numpy
    /tmp/sm/bin/python scripts/coint_golden.py

Writes, under tests/golden/:
- coint_series.csv: deterministic series, one column each, written with repr() so both sides
  read the very same doubles:
  x1, y1   a cointegrated pair (x1 a random walk, y1 = 10 + 1.5·x1 + AR(1) noise, φ = 0.6)
  x2, y2   two independent random walks
  nr       a near-unit-root AR(1), φ = 0.98
- coint.csv: one result per line, `kind,a,b,lags,trend,stat,pvalue,nobs,usedlag`:
  adf      adfuller(a, maxlag=lags, regression=trend, autolag=None): stat, p-value, nobs
           (the test checks the p-value for trend `c` only: Njord has MacKinnon's tables
           for a constant only)
  adf_aic  adfuller(a, maxlag=lags, regression=trend, autolag='AIC'): also the lag it chose
  coint    coint(a, b, trend='c', maxlag=lags, autolag=None): stat and p-value
  p        mackinnonp(stat, regression='c', N=lags) (lags holds N here)
  cdf      scipy.stats.norm.cdf(stat)
  Empty cells do not apply.
"""

import os
import warnings

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import adfuller, coint

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


def series():
    rng = np.random.default_rng(20261207)
    x1 = 100.0 + np.cumsum(rng.standard_normal(300))
    u = np.zeros(300)
    e = rng.standard_normal(300)
    for t in range(1, 300):
        u[t] = 0.6 * u[t - 1] + e[t]
    y1 = 10.0 + 1.5 * x1 + u
    x2 = 50.0 + np.cumsum(rng.standard_normal(400))
    y2 = 80.0 + np.cumsum(rng.standard_normal(400))
    nr = np.zeros(250)
    e = rng.standard_normal(250)
    for t in range(1, 250):
        nr[t] = 0.98 * nr[t - 1] + e[t]
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "nr": nr}


def main():
    cols = series()
    longest = max(len(v) for v in cols.values())
    with open(os.path.join(ROOT, "coint_series.csv"), "w") as f:
        f.write(",".join(cols) + "\n")
        for i in range(longest):
            f.write(",".join(repr(float(v[i])) if i < len(v) else "" for v in cols.values()) + "\n")

    rows = []
    for name in ["x1", "y1", "x2", "y2", "nr"]:
        for lags in [0, 1, 4, 12]:
            for trend in ["c", "n"]:
                stat, p, used, nobs, _ = adfuller(
                    cols[name], maxlag=lags, regression=trend, autolag=None, result_object=False
                )
                rows.append(["adf", name, "", lags, trend, stat, p, nobs, used])
        for lags in [0, 6, 14]:
            stat, p, used, nobs, _, _ = adfuller(
                cols[name], maxlag=lags, regression="c", autolag="AIC", result_object=False
            )
            rows.append(["adf_aic", name, "", lags, "c", stat, p, nobs, used])
    for a, b in [("y1", "x1"), ("x1", "y1"), ("y2", "x2"), ("nr", "x1")]:
        n = min(len(cols[a]), len(cols[b]))
        for lags in [0, 1, 3, 8]:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                stat, p, _ = coint(cols[a][:n], cols[b][:n], trend="c", maxlag=lags, autolag=None)
            rows.append(["coint", a, b, lags, "c", stat, p, n - 1 - lags, lags])
    for n in [1, 2]:
        for stat in np.linspace(-30.0, 4.0, 69):
            rows.append(["p", "", "", n, "c", stat, mackinnonp(stat, regression="c", N=n), "", ""])
    for x in np.linspace(-37.5, 8.5, 93):
        rows.append(["cdf", "", "", "", "", x, norm.cdf(x), "", ""])

    def cell(v):
        if isinstance(v, str):
            return v
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        return repr(float(v))

    with open(os.path.join(ROOT, "coint.csv"), "w") as f:
        f.write("kind,a,b,lags,trend,stat,pvalue,nobs,usedlag\n")
        for r in rows:
            f.write(",".join(cell(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
