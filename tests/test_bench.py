"""The benchmark's yardstick stays true: on a small generated book, the hand-written SQL prints
exactly what `nrr metrics` and `nrr movements` print (bench/scale.py compares them at scale)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from nrr.cli import app

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import handwritten  # noqa: E402
from scale import SESSION, _same  # noqa: E402


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate.generate(400, tmp_path_factory.mktemp("bench"))


def _nrr(*args: str) -> object:
    result = CliRunner().invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_generated_book_has_what_the_benchmark_needs(book: dict[str, Path]) -> None:
    stats = duckdb.sql(
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS customers, "
        "count(DISTINCT currency) AS currencies, count(DISTINCT product) AS products, "
        "count(*) FILTER (WHERE end_date IS NOT NULL) AS ended, min(start_date) AS first "
        f"FROM '{book['subscriptions.parquet']}'"
    ).fetchall()[0]
    n, customers, currencies, products, ended, first = stats
    assert customers == 400 and 2.5 < n / customers < 3.5
    assert currencies == 4 and products == 3 and ended > 0
    assert str(first).startswith("2021-01")
    csv_rows = duckdb.sql(f"SELECT count(*) FROM '{book['subscriptions.csv']}'").fetchall()[0]
    assert csv_rows == (n,)
    assert generate.generate(400, book["subscriptions.csv"].parent) == book  # kept, not redone


def test_hand_written_sql_prints_nrrs_numbers(book: dict[str, Path]) -> None:
    folder = book["subscriptions.csv"].parent
    con = duckdb.connect()
    con.execute(handwritten.lines_sql(folder.as_posix(), "USD"))
    inputs = ["-s", str(book["subscriptions.csv"]), "-c", str(book["customers.csv"])]
    inputs += ["--fx-rates", str(book["fx_rates.csv"])]
    mine = _nrr("metrics", *inputs, "--end", "2025-12", "--window", "12", "--by", "segment")
    theirs = handwritten.metrics(con, folder.as_posix(), "2025-12", 12)
    assert _same(mine, theirs) and len(theirs["segments"]) == 3
    moves = _nrr("movements", *inputs, "--start", "2022-01", "--end", "2025-12")
    hand = handwritten.movements(con, "2022-01", "2025-12")
    assert len(hand) == 48 and _same(moves, hand)
    # The comparison can fail: one cent off anywhere is a difference.
    hand[5]["churn"] += 0.01
    assert not _same(moves, hand)


def test_hand_written_sql_reads_the_parquet_files_to_the_same_numbers(
    book: dict[str, Path],
) -> None:
    # The yardstick for nrr over its checked copy reads the typed Parquet files instead.
    folder = book["subscriptions.csv"].parent.as_posix()
    from_csv, from_parquet = duckdb.connect(), duckdb.connect()
    from_csv.execute(handwritten.lines_sql(folder, "USD"))
    from_parquet.execute(handwritten.lines_sql(folder, "USD", parquet=True))
    assert handwritten.metrics(from_parquet, folder, "2025-12", 12, parquet=True) == (
        handwritten.metrics(from_csv, folder, "2025-12", 12)
    )
    assert handwritten.movements(from_parquet, "2022-01", "2025-12") == (
        handwritten.movements(from_csv, "2022-01", "2025-12")
    )


def test_one_process_session_prints_the_same_numbers(book: dict[str, Path]) -> None:
    # bench/scale.py times the API session against the yardstick reading the CSV once.
    files = [str(book[n]) for n in ("subscriptions.csv", "customers.csv", "fx_rates.csv")]
    args = [*files, "2025-12", "12", "2022-01"]
    out = subprocess.run(
        [sys.executable, "-c", SESSION, *args], capture_output=True, text=True, check=True
    ).stdout
    folder = book["subscriptions.csv"].parent
    con = duckdb.connect()
    con.execute(handwritten.lines_sql(folder.as_posix(), "USD"))
    hand = {
        "metrics": handwritten.metrics(con, folder.as_posix(), "2025-12", 12),
        "movements": handwritten.movements(con, "2022-01", "2025-12"),
    }
    session = json.loads(out)
    assert _same(session, hand) and len(session["movements"]) == 48
    hand["metrics"]["overall"]["churn"] += 0.01
    assert not _same(session, hand)


def test_the_floor_times_nrrs_own_checking_query(book: dict[str, Path]) -> None:
    # bench/floor.py times the query `nrr.load` runs to check the subscriptions file: the one
    # it records must read every row of that file, and leave nrr's cache as it found it.
    import floor

    from nrr.sources.cache import CheckedCache

    write = CheckedCache.write
    backend, sql = floor.checking_query(book)
    assert CheckedCache.write is write
    con = backend.con  # type: ignore[attr-defined]
    rows, bad, mrr = con.execute(
        f'SELECT count(*), sum(CAST("_bad" AS INT)), sum(mrr_local) FROM ({sql})'
    ).fetchone()
    lines = duckdb.sql(f"SELECT count(*) FROM '{book['subscriptions.csv']}'").fetchall()[0]
    assert (rows,) == lines and bad == 0 and mrr > 0
    typed = handwritten.READ_SUBSCRIPTIONS.format(dir=book["subscriptions.csv"].parent.as_posix())
    assert con.execute(f"SELECT count(*) FROM {typed}").fetchone() == lines
