"""A research session: load a tape, sweep two strategy parameters, plot the best run's equity.

    make python                                   # builds the njord module into .venv
    .venv/bin/python examples/research.py [TAPE]  # writes research.png

Without TAPE it generates one with `njord-sim gen` (on PATH, or in target/debug)."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt

import njord

ROOT = Path(__file__).resolve().parents[1]


def synthetic_tape(directory: Path) -> Path:
    sim = shutil.which("njord-sim") or str(ROOT / "target" / "debug" / "njord-sim")
    tape = directory / "tape.ndjson"
    with open(tape, "w") as out:
        subprocess.run([sim, "gen", "--symbol", "ATOM/USDT", "--count", "400000", "--seed", "7"],
                       stdout=out, check=True)
    return tape


def main() -> None:
    os.chdir(ROOT)  # the strategies file is config/strategies.yaml
    with tempfile.TemporaryDirectory() as tmp:
        tape = Path(sys.argv[1]) if len(sys.argv) > 1 else synthetic_tape(Path(tmp))
        trades = njord.read(tape, kind="trade").to_pandas()
        print(f"{len(trades)} trades, {trades['ts_ns'].min()} → {trades['ts_ns'].max()}")

        trials = njord.sweep(tape, {"tema_period": [3, 5, 8], "bb_std": [1.5, 2.0]},
                             equity_interval="15m").to_pandas()
        print(trials[["trial", "tema_period", "bb_std", "sharpe", "total_return"]])
        best = trials.iloc[0]  # sorted by Sharpe, best first

        run = njord.backtest(tape, equity_interval="15m", tema_period=int(best["tema_period"]),
                             bb_std=float(best["bb_std"]))
        equity = run.equity.to_pandas()
        plt.figure(figsize=(9, 4))
        plt.plot(equity["ts_ns"], equity["equity"].map(float))
        sharpe = run.metrics["sharpe"]  # None when the run is too short to annualise
        plt.title(f"tema_period={best['tema_period']}, bb_std={best['bb_std']}: "
                  + (f"Sharpe {sharpe:.2f}" if sharpe is not None else "Sharpe n/a"))
        plt.ylabel("equity (USDT)")
        plt.tight_layout()
        plt.savefig("research.png" if len(sys.argv) < 3 else sys.argv[2], dpi=100)
        print("wrote", "research.png" if len(sys.argv) < 3 else sys.argv[2])


if __name__ == "__main__":
    main()
