"""The sweep runners of examples/: the Dask one on a real local Dask cluster (worker processes
on loopback), whose sharded sweep must equal the sweep run in one process, byte for byte.

Run by `make test` (the binaries must be on PATH: target/debug)."""

import os
import py_compile
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ["sweep.csv", "sweep.json", "overfitting.json", "sweep_returns.csv"]


def run(*args, cwd):
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, f"{args}: {out.stderr}"
    return out


def test_the_dask_runner_shards_a_sweep_and_merges_it_into_the_unsharded_one(tmp_path):
    tape = run("njord-sim", "gen", "--symbol", "ATOM/USDT", "--count", "20000", "--model", "garch",
               "--interval", "1m", "--seed", "4", cwd=tmp_path).stdout
    (tmp_path / "tape.ndjson").write_text(tape)
    (tmp_path / "strategies.yaml").write_text(
        "strategies:\n  - {id: ema, class: ema_cross, symbols: [ATOM/USDT], events: [trade],"
        " params: {fast: 20, slow: 60, qty: 20}}\n")
    (tmp_path / "grid.yaml").write_text(
        "params:\n  fast: [5, 8, 13]\n  ema.slow: {from: 30, to: 60, step: 15}\n")
    args = ["--tape", "tape.ndjson", "--strategies", "strategies.yaml", "--grid", "grid.yaml",
            "--allow-short", "--equity-interval", "1h", "--blocks", "4"]
    whole = run("njord-backtest", "sweep", *args, "--out", "whole", "--progress", "none",
                cwd=tmp_path)
    dask = run(sys.executable, str(ROOT / "examples" / "dask_sweep.py"), "--shards", "2", "--",
               *args, "--out", "dask", cwd=tmp_path)
    for name in OUTPUTS:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert dask.stdout == whole.stdout
    # Each of the two shards ran its own trials, stored where the merge found them.
    trials = sorted(os.listdir(tmp_path / "dask" / "trials"))
    assert trials == sorted(f"trial-{k}.json" for k in range(1, 10))


def test_the_ray_runner_compiles():
    """Ray is not installed by `make test` (its wheels are large and not on every Python);
    the runner has the Dask runner's shape and is run where Ray is installed."""
    py_compile.compile(str(ROOT / "examples" / "ray_sweep.py"), doraise=True)
