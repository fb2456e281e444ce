"""Njord's research API: journals, Parquet and Arrow files as exact pyarrow tables, and the
backtester's runs as tables you can hand to pandas, polars or DuckDB.

    import njord
    trades = njord.read("var/research/kind=trade/**/*.parquet")   # pyarrow.Table
    run = njord.backtest("tape.ndjson", capital=10_000, tema_period=5)
    run.metrics["sharpe"], run.fills.to_pandas(), run.equity.to_pandas()

Money is ``decimal128`` (exact), times are ``timestamp[ns, tz=UTC]``. Errors are
``njord.NjordError`` with the messages the command-line tools print.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence, Union

import pyarrow as pa

from . import _native
from ._native import NjordError

__all__ = ["read", "backtest", "sweep", "Backtest", "NjordError", "__version__"]
__version__ = _native.__version__

PathLike = Union[str, os.PathLike]


def read(path: Union[PathLike, Sequence[PathLike]], kind: str | None = None,
         float64: bool = False) -> pa.Table:
    """Events as one table: NDJSON journals (plain, .gz, rotated series), Parquet and Arrow
    files, directories and quoted patterns (``'data/**/*.parquet'``), merged by event time.

    With ``kind`` only that kind's rows and columns; otherwise a ``kind`` column and the union
    of the kinds' columns. ``float64`` adds a ``<col>_f64`` float beside every decimal column.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    stream = _native.read_ipc([os.fspath(p) for p in paths], kind, float64)
    table = pa.ipc.open_stream(stream).read_all()
    if kind is not None and "kind" in table.column_names:
        table = table.drop_columns(["kind"])
    return table


class Backtest:
    """One finished run of ``njord-backtest``: ``metrics`` (dict), ``fills``, ``equity`` and
    ``decisions`` (pyarrow tables: risk's answer to every intent, the portfolio's refusals),
    the whole ``metrics.json`` as ``result``, and ``report(path)``."""

    def __init__(self, out: Path):
        self.result = json.loads((out / "metrics.json").read_text())
        self.metrics: dict = self.result["metrics"]
        self.counts: dict = self.result.get("counts", {})
        self.fills: pa.Table = read(out / "fills.ndjson", kind="fill")
        self.equity: pa.Table = read(out / "equity.ndjson", kind="equity")
        self.decisions: pa.Table = read(out / "decisions.ndjson", kind="decision")
        self._report = (out / "report.html").read_bytes()

    def report(self, path: PathLike) -> Path:
        """Writes the run's self-contained HTML report to ``path``."""
        Path(path).write_bytes(self._report)
        return Path(path)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"Backtest(final_equity={m.get('final_equity')}, sharpe={m.get('sharpe')}, "
                f"fills={self.fills.num_rows})")


def _args(tape: Union[PathLike, Sequence[PathLike]], out: Path, strategies: PathLike | None,
          config: PathLike | None, capital, options: Mapping[str, object]) -> list[str]:
    tapes = [tape] if isinstance(tape, (str, os.PathLike)) else list(tape)
    args = ["--tape", *[os.fspath(t) for t in tapes], "--out", os.fspath(out), "--no-progress",
            "--quiet"]
    if strategies is not None:
        args += ["--strategies", os.fspath(strategies)]
    if config is not None:
        args += ["--config", os.fspath(config)]
    if capital is not None:
        args += ["--capital", str(capital)]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    return args


_RUN_OPTIONS = {"equity_interval", "risk_free", "slippage_bps", "allow_short", "partial_fills",
                "quote", "from_", "to", "symbol", "portfolio"}


def _split(params: Mapping[str, object]) -> tuple[dict, dict]:
    options = {k.rstrip("_"): v for k, v in params.items() if k in _RUN_OPTIONS}
    strategy = {k: v for k, v in params.items() if k not in _RUN_OPTIONS}
    return options, strategy


def _param_values(strategy: Mapping[str, object]) -> list[str]:
    out = []
    for key, values in strategy.items():
        values = values if isinstance(values, (list, tuple)) else [values]
        out.append(f"{key}=" + ",".join(_scalar(v) for v in values))
    return out


def _param_args(strategy: Mapping[str, object]) -> list[str]:
    return [a for v in _param_values(strategy) for a in ("--param", v)]


def _scalar(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def backtest(tape: Union[PathLike, Sequence[PathLike]], strategies: PathLike | None = None,
             config: PathLike | None = None, capital=None, out: PathLike | None = None,
             **params) -> Backtest:
    """Runs the engine of ``njord-backtest`` on ``tape`` (NDJSON, Parquet or Arrow; files,
    directories or patterns) and returns its results as tables.

    ``params`` are run options (``equity_interval="1m"``, ``risk_free``, ``slippage_bps``,
    ``allow_short``, ``partial_fills``, ``quote``, ``portfolio``) or strategy parameters
    (``tema_period=5``, ``"rsi_tema_bb_atom.bb_std"``: pass those with ``**{...}``), set on
    every strategy that has them, as ``njord-backtest sweep --param`` does. The GIL is
    released while it runs.
    """
    options, strategy = _split(params)
    keep = out is not None
    out_dir = Path(out) if keep else Path(tempfile.mkdtemp(prefix="njord-backtest-"))
    try:
        if strategy:
            # The parameters are set with the rules (and errors) of `sweep --param`.
            base = strategies if strategies is not None else "config/strategies.yaml"
            text = _native.strategies_with(os.fspath(base), _param_values(strategy))
            strategies = out_dir / "strategies.yaml"
            out_dir.mkdir(parents=True, exist_ok=True)
            strategies.write_text(text)
        args = _args(tape, out_dir, strategies, config, capital, options)
        _native.backtest_cli(["njord-backtest", "--no-summary", "--report",
                              os.fspath(out_dir / "report.html"), *args])
        return Backtest(out_dir)
    finally:
        if not keep:
            # The tables are in memory; the files are not needed any more.
            shutil.rmtree(out_dir, ignore_errors=True)


def sweep(tape: Union[PathLike, Sequence[PathLike]], params: Mapping[str, Iterable],
          strategies: PathLike | None = None, config: PathLike | None = None, capital=None,
          sort: str = "sharpe", **options) -> pa.Table:
    """Every combination of ``params`` (``{"tema_period": [3, 5], "bb_std": [1.5, 2]}``), one
    row per trial with its parameters and metrics, sorted by ``sort`` (best first)."""
    with tempfile.TemporaryDirectory(prefix="njord-sweep-") as tmp:
        args = _args(tape, Path(tmp), strategies, config, capital, options)
        _native.backtest_cli(["njord-backtest", "sweep", "--no-summary", *args,
                              *_param_args({k: list(v) for k, v in params.items()}),
                              "--sort", sort])
        rows = json.loads((Path(tmp) / "sweep.json").read_text())
    flat = [{"trial": r["trial"], **r["params"], **r["metrics"],
             **{f"count_{k}": v for k, v in r["counts"].items() if not isinstance(v, dict)}}
            for r in rows]
    return pa.Table.from_pylist(flat)
