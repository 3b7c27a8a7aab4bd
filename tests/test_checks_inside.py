"""Inputs checked where they live: with `--url` and `--engine` naming one PostgreSQL database,
the tables are checked there (`nrr.engines.translated`) and no row is copied out, with the
numbers, warnings, problems, rejections and accounts of the usual way (copied into the
embedded DuckDB, checked there, and the checked tables loaded back)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.datasets import generate_demo, write_demo
from nrr.engines.duckdb import DuckDBEngine
from nrr.engines.translated import Translated
from nrr.health.inputs import HEALTH_INPUTS
from nrr.parsing import iso_date, literal, parse_number
from tests.pg import copy_csv_to_table

DATA = Path(__file__).parent / "data" / "adversarial"
DEFECTS = Path(__file__).resolve().parent.parent / "examples" / "defects" / "subscriptions.csv"
TABLES = {"subscriptions": "subscriptions", "customers": "customers", "fx_rates": "fx_rates"}


@pytest.fixture
def tables(postgres_db: str) -> str:
    for name in TABLES:
        copy_csv_to_table(postgres_db, name, DATA / f"{name}.csv")
    copy_csv_to_table(postgres_db, "defects", DEFECTS)
    return postgres_db


@pytest.fixture
def no_local_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded DuckDB is never opened: no input row can be copied into it."""

    def refuse(*args: object, **kwargs: object) -> DuckDBEngine:
        raise AssertionError("the inputs were copied out of PostgreSQL")

    monkeypatch.setattr(DuckDBEngine, "open", refuse)


@pytest.fixture
def no_local_copy_after_copied(monkeypatch: pytest.MonkeyPatch):
    """Call it once the copy path has run: from then on the embedded DuckDB is never opened."""

    def refuse(*args: object, **kwargs: object) -> DuckDBEngine:
        raise AssertionError("the inputs were copied out of PostgreSQL")

    return lambda: monkeypatch.setattr(DuckDBEngine, "open", refuse)


def _load(url: str, inside: bool, subscriptions: str = "subscriptions", **options: object):
    return nrr.load(
        subscriptions,
        customers="customers",
        fx_rates="fx_rates",
        url=url,
        engine=url if inside else None,
        **options,
    )


def test_numbers_and_warnings_equal_the_copy_path(tables: str) -> None:
    copied = _load(tables, inside=False)
    inside = _load(tables, inside=True)
    assert inside.tables().engine.name == "postgres"
    assert inside.metrics("2024-12", by="segment").equals(copied.metrics("2024-12", by="segment"))
    assert inside.movements("2024-01", "2024-12").equals(copied.movements("2024-01", "2024-12"))
    assert inside.intake.warnings == copied.intake.warnings and inside.intake.warnings
    assert inside.values("segment") == copied.values("segment")


def test_no_row_leaves_the_database(tables: str, no_local_copy: None) -> None:
    book = _load(tables, inside=True)
    assert book.row_count > 0
    with pytest.raises(AssertionError, match="copied out"):
        _load(tables, inside=False)  # the fixture would catch a copy


def test_problems_equal_the_copy_path(tables: str) -> None:
    with pytest.raises(nrr.InputError) as copied:
        _load(tables, inside=False, subscriptions="defects", max_problems=100)
    with pytest.raises(nrr.InputError) as inside:
        _load(tables, inside=True, subscriptions="defects", max_problems=100)
    assert [(p.source, p.row, p.column, p.message) for p in inside.value.problems] == [
        (p.source, p.row, p.column, p.message) for p in copied.value.problems
    ]
    assert len(inside.value.problems) > 5


def test_quarantine_equals_the_copy_path(tables: str) -> None:
    copied = _load(tables, inside=False, subscriptions="defects", on_invalid="quarantine")
    inside = _load(tables, inside=True, subscriptions="defects", on_invalid="quarantine")
    assert inside.intake.rejections == copied.intake.rejections
    assert [a.as_dict() for a in inside.intake.accounts.values()] == [
        a.as_dict() for a in copied.intake.accounts.values()
    ]
    assert inside.movements("2024-01", "2024-12").equals(copied.movements("2024-01", "2024-12"))


def test_the_command_line_checks_inside(tables: str, no_local_copy: None) -> None:
    args = ["metrics", "--url", tables, "--engine", tables, "-s", "subscriptions"]
    args += ["-c", "customers", "--fx-rates", "fx_rates", "--end", "2024-12", "-f", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["overall"]["nrr"] is not None


def test_a_file_among_the_inputs_takes_the_usual_way(tables: str) -> None:
    # A file cannot be checked in the database: every input then goes through DuckDB.
    given = {"customers": "customers", "fx_rates": "fx_rates", "url": tables, "engine": tables}
    book = nrr.load(str(DATA / "subscriptions.csv"), **given)
    assert book.row_count > 0 and book.tables().engine.name == "postgres"


@pytest.mark.parametrize(
    "text",
    ["12.5", "1e3", "NaN", "Infinity", "abc", "", "-0", "+5", ".5", "5.", "0x1F", "1_000", "_1",
     "1__0", "1,5", "99999999999999999999999999999", "9999999999999999999999999999.99999999999",
     "0.000000000050", "-0.000000000049"],
)  # fmt: skip
def test_numbers_read_as_duckdb_reads_them(postgres_db: str, text: str) -> None:
    from nrr.engines import open_engine

    query = f"SELECT {parse_number('x')} AS n FROM (SELECT {literal(text)} AS x) AS t"
    inside = Translated(open_engine(postgres_db)).fetch(query).rows
    assert inside == DuckDBEngine.open().fetch(query).rows


@pytest.mark.parametrize(
    "text", ["2024-02-29", "2024-02-30", "2023-02-29", "2024-13-01", "2024-1-5"]
)
def test_dates_read_as_duckdb_reads_them(postgres_db: str, text: str) -> None:
    from nrr.engines import open_engine

    query = f"SELECT {iso_date('x')} AS d FROM (SELECT {literal(text)} AS x) AS t"
    inside = Translated(open_engine(postgres_db)).fetch(query).rows
    assert inside == DuckDBEngine.open().fetch(query).rows


def test_health_inputs_are_checked_inside_too(postgres_db: str, tmp_path: Path) -> None:
    demo = write_demo(generate_demo(seed=11, customers=120), tmp_path)
    roles = ("subscriptions", "customers", "fx_rates", *HEALTH_INPUTS)
    for role in roles:
        copy_csv_to_table(postgres_db, role, demo[f"{role}.csv"])
    given = {role: role for role in roles[1:]}
    books = [
        nrr.load("subscriptions", **given, url=postgres_db, engine=engine)
        for engine in (None, postgres_db)
    ]
    copied, inside = (book.health("2025-06-01").frame() for book in books)
    assert inside.to_json() == copied.to_json() and len(inside) > 50
    assert books[1].intake.warnings == books[0].intake.warnings


def test_typed_columns_read_as_the_copy_path_reads_them(tables: str) -> None:
    # Warehouse tables have types: numbers, dates and timestamps are read as their text (a
    # timestamp as its date) inside as on the way out.
    with psycopg.connect(tables, autocommit=True) as con:
        con.execute(
            "CREATE TABLE typed AS SELECT customer_id, product, "
            "CAST(start_date AS TIMESTAMP) AS start_date, "
            "CAST(NULLIF(end_date, '') AS DATE) AS end_date, "
            'CAST(amount AS NUMERIC(14, 4)) AS amount, "interval", '
            "CAST(NULLIF(quantity, '') AS NUMERIC) AS quantity, currency FROM subscriptions"
        )
    books = [_load(tables, inside, subscriptions="typed") for inside in (False, True)]
    text = _load(tables, inside=True)
    copied, inside = (b.movements("2023-01", "2024-12") for b in books)
    assert inside.equals(copied) and inside.equals(text.movements("2023-01", "2024-12"))


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FORMATS = {
    "stripe": EXAMPLES / "stripe" / "subscription_items.csv",
    "invoices": EXAMPLES / "invoices" / "invoice_lines.csv",
    "snapshots": EXAMPLES / "snapshots" / "mrr_snapshots.csv",
}
# Rows each format's checks refuse (tests/test_adapters.py says why each is wrong).
FORMAT_DEFECTS = {
    "stripe": "customer,status,start_date,amount,interval,percent_off,currency\n"
    "c1,activ,2024-01-01,10,month,,usd\n"
    "c2,active,yesterday,10,fortnight,120,usd\n"
    "c3,active,1706745600,1_000,month,,eur\n"
    "c4,canceled,2024-01-01T10:00:00Z,12.5,year,10,usd\n",
    "invoices": "customer_id,document,period_start,period_end,amount\n"
    "a,invoice,2024-01-01,2024-02-01,100\n"
    "b,invoice,2024-01-01,2024-02-01,40\n"
    "b,credit_note,2024-01-01,2024-02-01,60\n"
    "c,invoice,2024-01-15,2024-13-01,10\n",
    "snapshots": "customer_id,month,mrr\na,2024-01,10\na,2024-01,12\nb,2024-13,5\nc,2024-02,x\n",
}


def _format_load(url: str, name: str, fmt: str, inside: bool, **options: object) -> nrr.Book:
    return nrr.load(name, source_format=fmt, url=url, engine=url if inside else None, **options)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_checked_inside_as_on_the_copy_path(
    postgres_db: str, fmt: str, no_local_copy_after_copied: None
) -> None:
    copy_csv_to_table(postgres_db, fmt, FORMATS[fmt])
    copied = _format_load(postgres_db, fmt, fmt, inside=False)
    no_local_copy_after_copied()
    inside = _format_load(postgres_db, fmt, fmt, inside=True)
    assert inside.tables().engine.name == "postgres"
    end = copied.latest_month()
    assert end is not None
    last = f"{end // 12:04d}-{end % 12 + 1:02d}"
    assert inside.metrics(last).equals(copied.metrics(last))
    assert inside.movements("2024-01", last).equals(copied.movements("2024-01", last))
    assert inside.intake.warnings == copied.intake.warnings
    assert inside.attributes == copied.attributes


@pytest.mark.parametrize("fmt", FORMAT_DEFECTS)
def test_each_formats_problems_and_quarantine_equal_the_copy_path(
    postgres_db: str, fmt: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{fmt}.csv"
    path.write_text(FORMAT_DEFECTS[fmt])
    copy_csv_to_table(postgres_db, "defects", path)
    found = []
    for inside in (False, True):
        with pytest.raises(nrr.InputError) as caught:
            _format_load(postgres_db, "defects", fmt, inside, max_problems=100)
        found.append([(p.source, p.row, p.column, p.message) for p in caught.value.problems])
    assert found[1] == found[0] and found[0]
    books = [
        _format_load(postgres_db, "defects", fmt, inside, on_invalid="quarantine")
        for inside in (False, True)
    ]
    assert books[1].intake.rejections == books[0].intake.rejections
    assert [a.as_dict() for a in books[1].intake.accounts.values()] == [
        a.as_dict() for a in books[0].intake.accounts.values()
    ]
