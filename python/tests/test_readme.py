"""The README's ```python examples, run as written in a directory holding what they read: the
tour's tape, its backtest and its export (as tests/it/readme.rs runs the ```sh blocks)."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_every_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 2
    shutil.copytree(ROOT / "config", tmp_path / "config")

    def sh(*args):
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)

    tape = tmp_path / "tape.ndjson"
    with open(tape, "w") as out:
        subprocess.run(["njord-sim", "gen", "--symbol", "ATOM/USDT", "--count", "20000",
                        "--seed", "7"], stdout=out, check=True)
    sh("njord-backtest", "--tape", "tape.ndjson", "--out", "var/backtest", "--no-summary")
    sh("njord-journal", "export", "tape.ndjson", "var/backtest/fills.ndjson",
       "var/backtest/equity.ndjson", "--out", "var/research")
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), {})
