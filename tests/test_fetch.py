"""Results and small tables without pandas (`nrr.fetch`): the same values as Ibis's own
conversion, and `nrr metrics` / `nrr movements` never import pandas (0.6 s of start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import ibis
import pytest

from nrr.fetch import records, value
from tests.conftest import SUB_HEADER, sub, write_csv


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def test_records_equal_ibis_conversion(con):
    t = con.sql(
        "SELECT * FROM (VALUES (1, 2.5::DECIMAL(38, 18), 'a', DATE '2024-01-31'), "
        "(3, 0.000000000000000001::DECIMAL(38, 18), NULL, NULL)) AS v(i, d, s, dt)"
    )
    for expr in (
        t,
        t.aggregate(n=t.count(), total=t.i.sum(), money=t.d.sum(), seen=t.s.nunique()),
        t.select("s", "dt").order_by("dt"),
    ):
        assert records(expr) == expr.to_pyarrow().to_pylist()
    # DuckDB sums integers as 128-bit integers; the expression's type (int64) is what comes out.
    total = value(t.i.sum())
    assert total == 4 and type(total) is int
    assert value(t.d.sum()) == Decimal("2.500000000000000001")
    assert value(t.filter(t.i > 5).i.max()) is None


def test_records_take_the_expression_types_where_the_engine_differs(con):
    # Ibis reads a 128-bit integer column as decimal(38, 0), where DuckDB's own values are
    # ints, and a float32 cast as float32, where they are Python floats of the double:
    # those results go through Arrow, cast to the expression's types, as Ibis does.
    t = con.sql("SELECT 12::HUGEINT AS big, 0.1::REAL AS small, 1.5::DECIMAL(9, 2) AS money")
    expected = t.to_pyarrow().to_pylist()
    got = records(t)
    assert got == expected
    assert [type(v) for v in got[0].values()] == [type(v) for v in expected[0].values()]
    assert type(got[0]["big"]) is Decimal and str(got[0]["money"]) == "1.50"


def test_an_in_memory_table_is_served_by_ibis(con):
    memtable = ibis.memtable({"a": [1, 2, 3]})
    joined = con.sql("SELECT 2 AS a").join(memtable, "a")
    assert records(joined) == [{"a": 2}]


def _files(folder: Path) -> list[str]:
    rows = [
        sub("c1", "2023-01-01", None, 100),
        sub("c2", "2023-03-01", "2024-06-01", 50, currency="EUR"),
        sub("c3", "2024-02-01", None, 1200, interval="year"),
    ]
    subs = write_csv(folder / "subs.csv", SUB_HEADER, rows)
    customers = write_csv(
        folder / "customers.csv",
        ["customer_id", "segment"],
        [["c1", "SMB"], ["c2", "Enterprise"], ["c3", "SMB"]],
    )
    months = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]
    fx_rows = [[m, "EUR", "1.1"] for m in months]
    fx = write_csv(folder / "fx.csv", ["month", "currency", "rate"], fx_rows)
    return ["-s", str(subs), "-c", str(customers), "--fx-rates", str(fx)]


@pytest.mark.parametrize(
    "command",
    [
        ["metrics", "--end", "2024-12", "--window", "12", "--by", "segment", "-f", "json"],
        ["movements", "--start", "2024-01", "--end", "2024-12", "-f", "json"],
        ["movements", "--start", "2024-01", "--end", "2024-12", "--by", "segment"],
    ],
)
def test_metrics_and_movements_never_import_pandas_or_pyarrow(command, tmp_path):
    # A fresh process: this one imported both long ago. The first run reads and checks the
    # text and keeps a checked copy (kept here whatever the file's size); the second reads it.
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        import nrr.loading
        from nrr.cli import app
        from nrr.sources.cache import CheckedCache

        kept = CheckedCache(Path(sys.argv[1]), smallest=0)
        nrr.loading.default_cache = lambda setting=None: kept
        try:
            app(sys.argv[2:], standalone_mode=False)
        finally:
            found = sorted(p.suffix for p in kept.directory.glob("*.parquet"))
            imported = {m: m in sys.modules for m in ("pandas", "pyarrow")}
            print(json.dumps({**imported, "kept": found}), file=sys.stderr)
        """
    )
    args = [str(tmp_path / "cache"), *command, *_files(tmp_path)]
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        last = json.loads(done.stderr.strip().splitlines()[-1])
        assert last == {"pandas": False, "pyarrow": False, "kept": [".parquet", ".parquet"]}
