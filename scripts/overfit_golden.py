#!/usr/bin/env python3
"""Writes tests/golden/overfit.json: return series of a few trials and their PSR, DSR and PBO,
computed here from the formulas (standard library only; docs/overfitting.md), independently of
Njord's Rust code, which the test `overfit::tests::golden` checks against these numbers.

Usage: python3 scripts/overfit_golden.py > tests/golden/overfit.json
"""
import itertools
import json
import math
from statistics import NormalDist

N01 = NormalDist()
EULER_GAMMA = 0.5772156649015329


def series(seed, n, drift, vol):
    """Deterministic returns (an LCG, uniform noise plus a few shocks)."""
    s = seed
    out = []
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
        u = (s >> 11) / 2**53 - 0.5
        shock = -2 * vol if i % 37 == 0 else 0.0
        out.append(drift + vol * u + shock)
    return out


def moments(r):
    t = len(r)
    mean = sum(r) / t
    d = [x - mean for x in r]
    sd = math.sqrt(sum(x * x for x in d) / (t - 1))
    m2 = sum(x ** 2 for x in d) / t
    m3 = sum(x ** 3 for x in d) / t
    m4 = sum(x ** 4 for x in d) / t
    return mean, sd, m3 / m2 ** 1.5, m4 / m2 ** 2


def sharpe(r):
    mean, sd, _, _ = moments(r)
    return mean / sd if sd > 0 else 0.0


def psr(r, sr_star):
    mean, sd, skew, kurt = moments(r)
    sr = mean / sd
    return N01.cdf((sr - sr_star) * math.sqrt(len(r) - 1)
                   / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr * sr))


def dsr(trials):
    srs = [sharpe(r) for r in trials]
    best = max(range(len(srs)), key=lambda i: (srs[i], -i))
    n = len(srs)
    mean = sum(srs) / n
    v = sum((s - mean) ** 2 for s in srs) / (n - 1)
    sr0 = math.sqrt(v) * ((1 - EULER_GAMMA) * N01.inv_cdf(1 - 1 / n)
                          + EULER_GAMMA * N01.inv_cdf(1 - 1 / (n * math.e)))
    return best, srs[best], psr(trials[best], 0.0), v, sr0, psr(trials[best], sr0)


def pbo(trials, blocks):
    t = len(trials[0])
    size = t // blocks
    logits = []
    for ins in itertools.combinations(range(blocks), blocks // 2):
        outs = [b for b in range(blocks) if b not in ins]
        pick = lambda r, bs: [x for b in bs for x in r[b * size:(b + 1) * size]]
        is_sr = [sharpe(pick(r, ins)) for r in trials]
        best = max(range(len(trials)), key=lambda i: (is_sr[i], -i))
        oos = [sharpe(pick(r, outs)) for r in trials]
        rank = 1 + sum(1 for s in oos if s < oos[best])
        w = rank / (len(trials) + 1)
        logits.append(math.log(w / (1 - w)))
    return sum(1 for x in logits if x <= 0) / len(logits), len(logits)


def main():
    trials = [series(7 + k, 403, 0.0004 * (k % 3), 0.01 + 0.002 * k) for k in range(6)]
    best, sr, p, v, sr0, d = dsr(trials)
    cases = []
    for blocks in (4, 8, 16):
        value, splits = pbo(trials, blocks)
        cases.append({"blocks": blocks, "pbo": value, "splits": splits})
    json.dump({
        "series": trials,
        "moments": [list(moments(r)) for r in trials],
        "psr0": [psr(r, 0.0) for r in trials],
        "deflated": {"best": best, "sharpe": sr, "psr": p, "variance": v, "sr0": sr0, "dsr": d},
        "pbo": cases,
    }, __import__("sys").stdout)
    print()


if __name__ == "__main__":
    main()
