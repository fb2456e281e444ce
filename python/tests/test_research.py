"""The research API against the real libraries: every export read by pyarrow, pandas, polars
and DuckDB with exact decimals and UTC times, and `njord.backtest` equal to `njord-backtest`.

Run by `make test` (the binaries must be on PATH: target/debug)."""

import json
import math
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import njord

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "every_kind.ndjson"


def run(*args, cwd=None):
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, f"{args}: {out.stderr}"
    return out.stdout


def ndjson_rows(path):
    """The NDJSON lines as dicts with every number an exact Decimal."""
    with open(path) as f:
        return [json.loads(line, parse_float=Decimal, parse_int=Decimal) for line in f if line.strip()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    run("njord-journal", "export", str(GOLDEN), "--out", str(d / "hive"))
    run("njord-journal", "export", str(GOLDEN), "--out", str(d / "all.parquet"))
    return d


@pytest.fixture(scope="module")
def tape(tmp_path_factory):
    """Two days of synthetic trades: long enough for annualised metrics."""
    d = tmp_path_factory.mktemp("tape")
    path = d / "tape.ndjson"
    path.write_text(run("njord-sim", "gen", "--symbol", "ATOM/USDT", "--count", "700000",
                        "--seed", "11"))
    return path


def decimals_equal(column, source):
    """Exact: every value of the column equals its NDJSON number as a Decimal."""
    assert len(column) == len(source)
    for got, want in zip(column, source):
        if want is None:
            assert got is None
        else:
            assert Decimal(got) == want, (got, want)


def test_every_kind_reads_exactly_in_pyarrow_pandas_and_polars(exported):
    source = ndjson_rows(GOLDEN)
    kinds = sorted({r["kind"] for r in source})
    assert len(kinds) == 20  # every event kind, and the backtester's equity samples
    for kind in kinds:
        want = [r for r in source if r["kind"] == kind]
        files = sorted((exported / "hive").glob(f"kind={kind}/**/*.parquet"))
        assert files, kind
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
        assert table.num_rows == len(want), kind
        for field in table.schema:
            if pa.types.is_timestamp(field.type):
                assert field.type.tz == "UTC", (kind, field.name)
                assert field.type.unit == "ns"
            if pa.types.is_decimal(field.type):
                got = table.column(field.name).to_pylist()
                # Hive files of one kind are one symbol each: compare per symbol's rows.
                by_file = []
                for f in files:
                    sym = pq.read_schema(f).metadata.get(b"njord.symbol")
                    by_file += [r.get(field.name) for r in want
                                if sym is None or r.get("symbol") == sym.decode()]
                decimals_equal(got, by_file)
        frame = table.to_pandas()
        assert len(frame) == len(want)
        for field in table.schema:
            if pa.types.is_timestamp(field.type):
                assert str(frame[field.name].dt.tz) == "UTC"
        assert pl.from_arrow(table).height == len(want)


def test_one_file_of_every_kind_and_njord_read(exported):
    source = ndjson_rows(GOLDEN)
    table = pq.read_table(exported / "all.parquet")
    assert table.num_rows == len(source)
    assert table.column("kind").to_pylist() == [r["kind"] for r in source]
    via_njord = njord.read(exported / "all.parquet")
    assert via_njord.equals(njord.read(GOLDEN))
    trades = njord.read(str(exported / "hive" / "kind=trade" / "**" / "*.parquet"), kind="trade")
    assert trades.num_rows == 2
    decimals_equal(sorted(trades.column("qty").to_pylist()),
                   sorted(r["qty"] for r in source if r["kind"] == "trade"))
    assert pl.from_arrow(trades).height == 2


def general_path(paths, kind=None, float64=False):
    """What `njord.read` gives through Njord's row reader, which its pyarrow path must equal."""
    table = pa.ipc.open_stream(njord._native.read_ipc([str(p) for p in paths], kind,
                                                      float64)).read_all()
    return table.drop_columns(["kind"]) if kind is not None else table


def same_table(got, want):
    """Equal schemas and values (dictionaries compared by value: each file has its own)."""
    assert got.schema.remove_metadata().equals(want.schema.remove_metadata()), (got.schema,
                                                                                want.schema)
    decoded = [
        pa.table([c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in t.columns],
                 names=t.column_names) for t in (got, want)]
    assert decoded[0].equals(decoded[1])


def test_parquet_reads_directly_as_the_row_reader_reads_it(exported, tmp_path):
    hive = exported / "hive"
    for part in sorted(hive.iterdir()):
        kind = part.name.split("=")[1]
        for float64 in (False, True):
            assert njord._read_columnar([str(part)], kind, float64) is not None, part
            same_table(njord.read(part, kind=kind, float64=float64),
                       general_path([part], kind, float64))
            same_table(njord.read(part, float64=float64), general_path([part], None, float64))
    # Two exports with different decimal scales and interleaved (and equal) times, one in
    # Arrow: merged by event time, ties in file order, decimals at the larger scale.
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text("".join(
        f'{{"kind":"trade","venue":"v","symbol":"A/USD","trade_id":"{i}","price":1.5,'
        f'"qty":2,"side":"buy","ts_ns":{86_400_000_000_000 * (i % 3) + 10 * (i // 3)}}}\n'
        for i in range(60)))
    b.write_text("".join(
        f'{{"kind":"trade","venue":"v","symbol":"B/USD","trade_id":"b{i}","price":0.0001,'
        f'"qty":3.25,"side":"sell","ts_ns":{5 * i},"ts_local_ns":{5 * i + 1}}}\n'
        for i in range(40)))
    run("njord-journal", "export", str(a), "--out", str(tmp_path / "pa"))
    run("njord-journal", "export", str(b), "--out", str(tmp_path / "pb"), "--format", "arrow")
    inputs = [tmp_path / "pa", tmp_path / "pb"]
    assert njord._read_columnar([str(inputs[0])], "trade", False) is not None
    assert njord._read_columnar([str(p) for p in inputs], "trade", False) is None  # Arrow
    for float64 in (False, True):
        got = njord.read(inputs, kind="trade", float64=float64)
        same_table(got, general_path(inputs, "trade", float64))
    assert got.num_rows == 100
    assert got.schema.field("price").type == pa.decimal128(38, 4)
    # One export of both: its partitions are written at the larger scale, and one of them
    # alone reads back at its own (the row reader sees 1.5, not 1.5000).
    both = tmp_path / "both.ndjson"
    both.write_text(a.read_text() + b.read_text())
    run("njord-journal", "export", str(both), "--out", str(tmp_path / "pboth"))
    a_only = sorted((tmp_path / "pboth" / "kind=trade").glob("symbol=AUSD/**/*.parquet"))
    assert pq.read_schema(a_only[0]).field("price").type == pa.decimal128(38, 4)
    alone = njord.read(a_only, kind="trade")
    assert alone.schema.field("price").type == pa.decimal128(38, 1)
    same_table(alone, general_path(a_only, "trade"))
    times = got.column("ts_ns").cast(pa.int64()).to_pylist()
    assert times == sorted(times)
    assert got.column("ts_local_ns").null_count == 60


def test_what_the_direct_read_cannot_vouch_for_goes_through_the_row_reader(tmp_path):
    # A column whose export scale pushes a value past 96 bits reads back whole on both paths.
    wide = tmp_path / "wide.ndjson"
    wide.write_text(
        '{"kind":"balance","asset":"SHIB","free":100000000000,"locked":0,"ts_ns":1}\n'
        '{"kind":"balance","asset":"ETH","free":0.000000000000000001,"locked":0,"ts_ns":2}\n'
        '{"kind":"trade","venue":"v","symbol":"A/USD","trade_id":"1","price":2,"qty":1,'
        '"side":"buy","ts_ns":3}\n')
    run("njord-journal", "export", str(wide), "--out", str(tmp_path / "wide"))
    balances = njord.read(tmp_path / "wide", kind="balance")
    same_table(balances, general_path([tmp_path / "wide"], "balance"))
    assert balances.column("free").to_pylist() == [Decimal(100000000000), Decimal("1E-18")]

    # Another kind's partition that is not as Njord writes it fails the read, as the row
    # reader fails it, even when only trades are asked for.
    odd = tmp_path / "odd"
    shutil.copytree(tmp_path / "wide", odd)
    part = next((odd / "kind=balance").rglob("*.parquet"))
    table = pq.read_table(part, partitioning=None)
    table = table.append_column("funding_rate", pa.array([1.0] * table.num_rows))
    with pa.ipc.new_file(part.with_suffix(".arrow"), table.schema) as w:
        w.write_table(table)
    part.unlink()
    with pytest.raises(njord.NjordError, match="funding_rate"):
        njord.read(odd, kind="trade")

    # Decimals that no one decimal128(38, s) holds together: the row reader's error.
    big, tiny = tmp_path / "big.ndjson", tmp_path / "tiny.ndjson"
    big.write_text('{"kind":"equity","ts_ns":1,"equity":79228162514264337593543950335,'
                   '"cash":0,"position_value":0}\n')
    tiny.write_text('{"kind":"equity","ts_ns":2,"equity":0.00000000000000000001,'
                    '"cash":0,"position_value":0}\n')
    run("njord-journal", "export", str(big), "--out", str(tmp_path / "big"))
    run("njord-journal", "export", str(tiny), "--out", str(tmp_path / "tiny"))
    with pytest.raises(njord.NjordError, match="does not fit decimal128"):
        njord.read([tmp_path / "big", tmp_path / "tiny"], kind="equity")

    # A partition another tool rewrote keeps Njord's metadata, not Njord's text: read as the
    # row reader reads it (JSON re-serialised).
    run("njord-journal", "export", str(GOLDEN), "--out", str(tmp_path / "golden"))
    intents = next((tmp_path / "golden" / "kind=intent").rglob("*.parquet"))
    table = pq.read_table(intents, partitioning=None)
    meta = pa.array(['{"z":1,"a":2}'] * table.num_rows)
    table = table.set_column(table.column_names.index("meta"), "meta", meta)
    pq.write_table(table, intents)
    assert njord._read_columnar([str(intents)], "intent", False) is None
    assert njord.read(intents, kind="intent").column("meta").to_pylist()[0] == '{"a":2,"z":1}'


def test_duckdb_aggregates_the_hive_layout_as_njord_counts(exported, tape, tmp_path):
    run("njord-journal", "export", str(tape), "--out", str(tmp_path / "t"))
    got = duckdb.sql(f"""
        select count(*), sum(qty), sum(price * qty), min(ts_ns), max(ts_ns)
        from read_parquet('{tmp_path}/t/**/*.parquet', hive_partitioning = true)
        where symbol = 'ATOMUSDT'""").fetchall()[0]
    want = ndjson_rows(tape)
    assert got[0] == len(want) == 700000
    assert got[1] == sum(r["qty"] for r in want)
    assert got[2] == sum(r["price"] * r["qty"] for r in want)
    first = pd.Timestamp(int(want[0]["ts_ns"]), unit="ns", tz="UTC")
    assert pd.Timestamp(got[3]) == first


def test_an_added_column_reads_with_union_by_name(tmp_path):
    old = tmp_path / "old.ndjson"
    new = tmp_path / "new.ndjson"
    line = GOLDEN.read_text().splitlines()[0]
    assert '"ts_local_ns"' in line
    new.write_text(line + "\n")
    row = json.loads(line)
    del row["ts_local_ns"]
    row["trade_id"] = "1000"
    old.write_text(json.dumps(row, separators=(",", ":")) + "\n")
    run("njord-journal", "export", str(old), "--out", str(tmp_path / "a.parquet"))
    run("njord-journal", "export", str(new), "--out", str(tmp_path / "b.parquet"))
    assert "ts_local_ns" not in pq.read_schema(tmp_path / "a.parquet").names
    rows = duckdb.sql(f"""select trade_id, ts_local_ns from read_parquet(
        ['{tmp_path}/a.parquet', '{tmp_path}/b.parquet'], union_by_name = true)
        order by trade_id""").fetchall()
    assert rows[0][1] is None and rows[1][1] is not None


def test_backtest_metrics_recomputed_in_pandas_and_fills_equal_the_cli(tape, tmp_path):
    result = njord.backtest(tape, capital=10000, equity_interval="1m")
    m = result.metrics
    eq = result.equity.to_pandas()
    assert str(eq["ts_ns"].dt.tz) == "UTC"
    equity = eq["equity"].map(float)
    returns = (equity / equity.shift(1) - 1.0).dropna()
    periods = 365 * 86400 / 60
    sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(periods)
    assert m["sharpe"] is not None
    assert abs(sharpe - m["sharpe"]) <= 1e-12 * max(1.0, abs(sharpe))
    peak = pd.concat([pd.Series([10000.0]), equity]).cummax().iloc[1:].reset_index(drop=True)
    drawdown = ((peak - equity.reset_index(drop=True)) / peak).max()
    assert abs(drawdown - m["max_drawdown"]) <= 1e-12

    out = tmp_path / "cli"
    run("njord-backtest", "--tape", str(tape), "--capital", "10000", "--equity-interval", "1m",
        "--out", str(out), "--no-summary", "--no-progress", cwd=ROOT)
    cli_fills = njord.read(out / "fills.ndjson", kind="fill")
    assert result.fills.num_rows > 10
    assert result.fills.equals(cli_fills)
    # One decision per intent, as the counts say.
    assert result.decisions.num_rows == result.counts["intents"] > 0
    assert result.decisions.equals(njord.read(out / "decisions.ndjson", kind="decision"))
    assert json.loads((out / "metrics.json").read_text())["metrics"] == m
    report = result.report(tmp_path / "report.html")
    assert "<svg" in report.read_text()


def test_strategy_parameters_and_a_sweep(tape):
    a = njord.backtest(tape, tema_period=3)
    b = njord.backtest(tape, tema_period=5)
    assert a.metrics != b.metrics
    rows = njord.sweep(tape, {"tema_period": [3, 5], "bb_std": [1.5, 2]})
    assert rows.num_rows == 4
    assert set(rows.column_names) >= {"trial", "tema_period", "bb_std", "sharpe"}
    # One value is one trial (text is a value, not its letters); a range is its values.
    assert njord.sweep(tape, {"tema_period": "5"}).num_rows == 1
    assert njord.sweep(tape, {"tema_period": range(3, 6)}).num_rows == 3
    # A backtest takes one value per parameter: several is an error, not the first of them.
    with pytest.raises(njord.NjordError, match="a backtest takes one"):
        njord.backtest(tape, tema_period=[3, 5])


def test_errors_are_python_exceptions_with_the_cli_messages(tmp_path):
    with pytest.raises(njord.NjordError, match="no such file"):
        njord.backtest(tmp_path / "missing.ndjson")
    with pytest.raises(njord.NjordError, match="no strategy in the file has the parameter"):
        njord.backtest(GOLDEN, no_such_parameter=1)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(njord.NjordError, match="bad.parquet"):
        njord.read(bad)


def test_the_research_example_runs_and_plots(tmp_path):
    png = tmp_path / "best.png"
    tape = tmp_path / "tape.ndjson"
    tape.write_text(run("njord-sim", "gen", "--symbol", "ATOM/USDT", "--count", "100000",
                        "--seed", "7"))
    import sys
    run(sys.executable, str(ROOT / "examples" / "research.py"), str(tape), str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_null_kind_with_a_stray_dictionary_key_is_an_error_not_a_crash(tmp_path):
    # Arrow does not check the key of a null dictionary slot; Njord must not look it up.
    kind = pa.DictionaryArray.from_arrays(np.array([99, 0], np.int32), pa.array(["trade"]),
                                          mask=np.array([True, False]), safe=False)
    table = pa.table({
        "kind": kind, "venue": ["v", "v"], "symbol": ["A/B", "A/B"], "trade_id": ["1", "2"],
        "price": pa.array([1, 2]).cast(pa.decimal128(38, 0)),
        "qty": pa.array([1, 1]).cast(pa.decimal128(38, 0)), "side": ["buy", "buy"],
        "ts_ns": pa.array([1, 2], pa.timestamp("ns", tz="UTC"))})
    path = tmp_path / "null-kind.arrow"
    with pa.ipc.new_file(path, table.schema) as w:
        w.write_table(table)
    out = subprocess.run(["njord-journal", "cat", str(path)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "row 1: unknown kind" in out.stderr and "panicked" not in out.stderr, out.stderr
