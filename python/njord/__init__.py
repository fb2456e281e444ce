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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
    paths = [os.fspath(p) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
    table = _read_columnar(paths, kind, float64)
    if table is None:
        stream = _native.read_ipc(paths, kind, float64)
        table = pa.ipc.open_stream(stream).read_all()
    if kind is not None and "kind" in table.column_names:
        table = table.drop_columns(["kind"])
    return table


_LABEL = pa.dictionary(pa.int32(), pa.string())
_TYPES = {
    "time": lambda t: t == pa.timestamp("ns", tz="UTC"),
    "decimal": lambda t: pa.types.is_decimal128(t) and t.precision == 38 and 0 <= t.scale <= 28,
    "label": lambda t: t == _LABEL,
    "text": lambda t: t == pa.string(),
    "json": lambda t: t == pa.string(),
    "int": lambda t: t == pa.int64(),
    "uint": lambda t: t == pa.uint64(),
    "bool": lambda t: t == pa.bool_(),
}


def _read_columnar(paths: list, kind: str | None, float64: bool) -> pa.Table | None:
    """``read``'s fast path: Parquet files of one kind written by Njord (an export's
    partitions), read by pyarrow and laid out exactly as the general path (Rust, row by row)
    lays them out. ``None`` when the general path must read them: other inputs (NDJSON,
    Arrow, whose files do not say which tool wrote them), mixed kinds, a file Njord did not
    write or whose schema is not Njord's, values no one table holds (the general path then
    names what is wrong)."""
    files = _native.columnar_files(paths)
    if not files:
        return None
    heads = []
    for f in files:
        try:
            file = _njord_parquet(f)
        except (pa.ArrowException, OSError):
            return None  # corrupt or truncated: the general path says where and why
        if file is None:
            return None
        heads.append((file, file.schema_arrow.metadata[b"njord.kind"].decode()))
    kinds = {k for _, k in heads}
    wanted = kinds if kind is None else kinds & {kind}
    if len(wanted) != 1:
        return None
    try:
        layouts = {k: _native.kind_layout(k) for k in kinds}
    except NjordError:
        return None  # a kind this version does not know
    # Every file's columns are checked, wanted or not, as the general path reads them all.
    if not all(_schema_fits(file.schema_arrow, layouts[k][0]) for file, k in heads):
        return None
    k = wanted.pop()
    layout, time_column = layouts[k]
    parts = []
    for file, file_kind in heads:
        if file_kind != k:
            continue
        try:
            part = _conform(file.read(), layout)
        except (pa.ArrowException, OSError):
            return None
        if part is None:
            return None
        parts.append(part)
    if sum(p["rows"] for p in parts) == 0:
        return None
    try:
        return _merge(parts, k, layout, time_column, float64, with_kind=kind is None)
    except pa.ArrowInvalid:
        return None  # decimals no one decimal128(38, s) holds: the general path names them


def _njord_parquet(path) -> pq.ParquetFile | None:
    """The file, opened as one file (not a dataset: no columns from the Hive path's
    `key=value` folders), when Njord's exporter wrote it: Njord's metadata and a Rust writer
    (a file another tool rewrote keeps the metadata but not necessarily what Njord's reader
    accepts, such as its codecs, JSON text and labels); ``None`` otherwise."""
    with open(path, "rb") as f:
        if f.read(4) != b"PAR1":
            return None
    file = pq.ParquetFile(path)
    meta = file.schema_arrow.metadata or {}
    if (not (file.metadata.created_by or "").startswith("parquet-rs ")
            or meta.get(b"njord.schema_version") != _native.SCHEMA_VERSION.encode()
            or b"njord.version" not in meta or b"njord.kind" not in meta):
        return None
    return file


def _schema_fits(schema: pa.Schema, layout) -> bool:
    """Every column one of the kind's, of the type Njord writes it with (or the float64
    companion of a decimal column there), and every required one there (a Hive partition's
    symbol in its metadata)."""
    known = {name: ty for name, ty, _ in layout}
    for field in schema:
        base = field.name[: -len("_f64")] if field.name.endswith("_f64") else None
        if (base is not None and known.get(base) == "decimal" and base in schema.names
                and field.type == pa.float64()):
            continue
        if field.name not in known or not _TYPES[known[field.name]](field.type):
            return False
    present = set(schema.names)
    if b"njord.symbol" in (schema.metadata or {}):
        present.add("symbol")
    return all(name in present for name, _, required in layout if required)


def _conform(table: pa.Table, layout) -> dict | None:
    """The file's columns by name (its schema checked by ``_schema_fits``), decimals at their
    plain scale, the symbol of a Hive partition (in its metadata) as a column; ``None`` if a
    required value is missing or a decimal needs more than 64 bits."""
    known = {name: (ty, required) for name, ty, required in layout}
    cols = {}
    for name, column in zip(table.column_names, table.columns):
        if name not in known:
            continue  # a float companion: made again when asked for
        ty, required = known[name]
        if required and column.null_count:
            return None
        if ty == "decimal":
            scale = _plain_scale(column)
            if scale is None:
                return None
            column = column.cast(pa.decimal128(38, scale))  # exact: only zeros dropped
        cols[name] = column
    meta = table.schema.metadata or {}
    if "symbol" not in cols and "symbol" in known and b"njord.symbol" in meta:
        indices = pa.nulls(table.num_rows, pa.int32()).fill_null(0)
        symbol = pa.array([meta[b"njord.symbol"].decode()])
        cols["symbol"] = pa.chunked_array([pa.DictionaryArray.from_arrays(indices, symbol)],
                                          _LABEL)
    return {"rows": table.num_rows, "cols": cols}


def _plain_scale(column: pa.ChunkedArray) -> int | None:
    """The smallest scale that holds every value of a decimal column, which is what the row
    reader finds (it reads each value without trailing zeros: a partition written at the
    export's scale reads back at its own); ``None`` when a value needs more than 64 bits."""
    scale = column.type.scale
    chunks = [a for a in column.chunks if len(a)]
    for a in chunks:
        # A value with a last digit at the column's scale settles it, nearly always among
        # the first few.
        head = a.slice(0, 64)
        low, high = _decimal_words(head)
        valid = head.is_valid().to_numpy(zero_copy_only=False)
        if (valid & (high == low >> 63) & (low % 10 != 0)).any():
            return scale
    # Otherwise the zeros every value ends with are those of the mantissas' common divisor.
    divisor = 0
    for a in chunks:
        low, high = _decimal_words(a)
        # np.gcd has no answer for -2**63.
        if not np.array_equal(high, low >> 63) or (low == np.iinfo(np.int64).min).any():
            return None
        if a.null_count:
            low = np.where(a.is_valid().to_numpy(zero_copy_only=False), low, 0)
        divisor = int(np.gcd(divisor, np.gcd.reduce(low)))
    if divisor == 0:
        return 0  # every value is zero (or null)
    while scale > 0 and divisor % 10 == 0:
        divisor //= 10
        scale -= 1
    return scale


def _decimal_words(a: pa.Array):
    """The low and high 64-bit words of each decimal128 of an array (little-endian)."""
    if len(a) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    words = np.frombuffer(a.buffers()[1], dtype=np.int64)[2 * a.offset: 2 * (a.offset + len(a))]
    return words[0::2], words[1::2]


def _merge(parts, kind, layout, time_column, float64, with_kind) -> pa.Table:
    """One table: the files' rows in file order, stable-sorted by event time; decimals at the
    largest of the files' plain scales; optional columns no row has left out."""
    fields, arrays = [], []
    if with_kind:
        rows = sum(p["rows"] for p in parts)
        indices = pa.nulls(rows, pa.int32()).fill_null(0)
        fields.append(pa.field("kind", _LABEL, nullable=False))
        arrays.append(pa.chunked_array(
            [pa.DictionaryArray.from_arrays(indices, pa.array([kind]))], _LABEL))
    for name, ty, required in layout:
        present = [p["cols"][name] for p in parts if name in p["cols"]]
        if not present:
            continue
        if ty == "decimal":
            scale = max(c.type.scale for c in present)
            dtype = pa.decimal128(38, scale)
        else:
            dtype = present[0].type
        chunks = []
        for p in parts:
            column = p["cols"].get(name)
            if column is None:
                chunks.append(pa.nulls(p["rows"], dtype))
                continue
            if column.type != dtype:
                column = column.cast(dtype)  # a larger scale: exact
            chunks.extend(column.chunks)
        column = pa.chunked_array(chunks, dtype)
        if not required and column.null_count == len(column):
            continue
        fields.append(pa.field(name, dtype, nullable=not required))
        arrays.append(column)
        if float64 and ty == "decimal":
            fields.append(pa.field(name + "_f64", pa.float64()))
            arrays.append(_nearest_f64(column))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    times = table.column(time_column)
    if len(times) > 1 and not pc.all(pc.less_equal(times[:-1], times[1:])).as_py():
        # Stable: equal times keep their file order, as the general path keeps them.
        table = table.take(pc.sort_indices(times))
    return table


def _nearest_f64(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each decimal's nearest double, as Njord's exporter computes it: mantissa / 10**scale
    (two exact doubles, so the division rounds correctly) where the mantissa is below 2**53,
    else through the decimal's text (Arrow's parser rounds correctly too)."""
    scale = column.type.scale
    out = []
    for a in column.chunks:
        low, high = _decimal_words(a)
        small = (scale <= 22 and np.array_equal(high, low >> 63)
                 and bool(((low < 2**53) & (low > -2**53)).all()))
        if small:
            values = low.astype(np.float64) / float(f"1e{scale}")
            mask = a.is_null().to_numpy(zero_copy_only=False) if a.null_count else None
            out.append(pa.array(values, pa.float64(), mask=mask))
        else:
            out.append(pc.cast(pc.cast(a, pa.string()), pa.float64()))
    return pa.chunked_array(out, pa.float64())


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
        flag = "--" + key.rstrip("_").replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    return args


# `njord-backtest`'s options, from its own argument parser (`from` is `from_` in Python).
_RUN_OPTIONS = frozenset(_native.run_options())


def _split(params: Mapping[str, object]) -> tuple[dict, dict]:
    options = {k: v for k, v in params.items() if k.rstrip("_") in _RUN_OPTIONS}
    strategy = {k: v for k, v in params.items() if k.rstrip("_") not in _RUN_OPTIONS}
    return options, strategy


def _param_values(strategy: Mapping[str, object]) -> list[str]:
    out = []
    for key, values in strategy.items():
        # One value, or several (a list, a range…); text is one value, never its letters.
        several = isinstance(values, Iterable) and not isinstance(values, (str, bytes))
        out.append(f"{key}=" + ",".join(_scalar(v) for v in (values if several else [values])))
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
            base = strategies if strategies is not None else os.environ.get(
                "NJORD_STRATEGIES", "config/strategies.yaml")  # njord-backtest's default
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
                              *_param_args(params),
                              "--sort", sort])
        rows = json.loads((Path(tmp) / "sweep.json").read_text())
    flat = [{"trial": r["trial"], **r["params"], **r["metrics"],
             **{f"count_{k}": v for k, v in r["counts"].items() if not isinstance(v, dict)}}
            for r in rows]
    return pa.Table.from_pylist(flat)
