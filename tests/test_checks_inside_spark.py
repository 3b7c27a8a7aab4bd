"""Inputs checked where they live, on Spark: with `engine=` a Spark session (or `--engine
spark`) and every input a table or query of that session, the tables are checked there
(`nrr.engines.translated`) and no row is copied out, with the numbers, warnings, problems,
rejections and accounts of the usual way.

The usual way here is the same rows handed over as pandas DataFrames (copied into the
embedded DuckDB and checked there), so both read exactly the same values; only the name an
input is known by differs (`spark:subscriptions` against `subscriptions DataFrame`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.engines import Engine
from nrr.engines.duckdb import DuckDBEngine
from nrr.engines.translated import Translated
from nrr.parsing import iso_date, literal, parse_number
from tests.spark import spark_engine  # noqa: F401

DATA = Path(__file__).parent / "data" / "adversarial"
DEFECTS = Path(__file__).resolve().parent.parent / "examples" / "defects" / "subscriptions.csv"
FILES = {
    "subscriptions": DATA / "subscriptions.csv",
    "customers": DATA / "customers.csv",
    "fx_rates": DATA / "fx_rates.csv",
    "defects": DEFECTS,
}


@pytest.fixture(scope="module")
def views(spark_engine: Engine) -> dict[str, Any]:  # noqa: F811
    """Each file as a temporary view of text columns, and the same rows as a DataFrame."""
    session = spark_engine.session  # type: ignore[attr-defined]
    frames = {}
    for name, path in FILES.items():
        frame = session.read.options(header=True, multiLine=True, escape='"').csv(str(path))
        frame.createOrReplaceTempView(name)
        frames[name] = frame.toPandas().astype(object).where(lambda f: f.notna(), None)
    return frames


def _inside(engine: Engine, subscriptions: str = "subscriptions", **options: Any) -> nrr.Book:
    return nrr.load(
        subscriptions, customers="customers", fx_rates="fx_rates", engine=engine, **options
    )


def _copied(
    frames: dict[str, Any], subscriptions: str = "subscriptions", **options: Any
) -> nrr.Book:
    """The same rows the usual way, computed in the embedded DuckDB (every engine gives the
    same numbers: tests/test_engines.py), which halves the Spark time of these tests."""
    return nrr.load(
        frames[subscriptions], customers=frames["customers"], fx_rates=frames["fx_rates"], **options
    )


def _same_names(text: str, subscriptions: str = "subscriptions") -> str:
    """`text` of the copy path with the inside path's names for the inputs."""
    text = text.replace("subscriptions DataFrame", f"spark:{subscriptions}")
    for role in ("customers", "fx_rates"):
        text = text.replace(f"{role} DataFrame", f"spark:{role}")
    return text


def test_numbers_and_warnings_equal_the_copy_path(
    spark_engine: Engine,  # noqa: F811
    views: dict[str, Any],
) -> None:
    copied = _copied(views)
    inside = _inside(spark_engine)
    assert isinstance(inside.tables().lines, str)  # a table kept in Spark, not a query of DuckDB
    assert inside.metrics("2024-12", by="segment").equals(copied.metrics("2024-12", by="segment"))
    assert inside.movements("2024-01", "2024-12").equals(copied.movements("2024-01", "2024-12"))
    assert inside.intake.warnings == [_same_names(w) for w in copied.intake.warnings]
    assert inside.intake.warnings
    assert inside.values("segment") == copied.values("segment")


def test_no_row_leaves_spark(
    spark_engine: Engine,  # noqa: F811
    views: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> DuckDBEngine:
        raise AssertionError("the inputs were copied out of Spark")

    monkeypatch.setattr(DuckDBEngine, "open", refuse)
    assert _inside(spark_engine).row_count > 0


def test_problems_equal_the_copy_path(
    spark_engine: Engine,  # noqa: F811
    views: dict[str, Any],
) -> None:
    with pytest.raises(nrr.InputError) as copied:
        _copied(views, subscriptions="defects", max_problems=100)
    with pytest.raises(nrr.InputError) as inside:
        _inside(spark_engine, subscriptions="defects", max_problems=100)
    assert [(p.source, p.row, p.column, p.message) for p in inside.value.problems] == [
        (_same_names(p.source, "defects"), p.row, p.column, _same_names(p.message, "defects"))
        for p in copied.value.problems
    ]
    assert len(inside.value.problems) > 5


def test_quarantine_equals_the_copy_path(
    spark_engine: Engine,  # noqa: F811
    views: dict[str, Any],
) -> None:
    options = {"subscriptions": "defects", "on_invalid": "quarantine"}
    copied = _copied(views, **options)
    inside = _inside(spark_engine, **options)
    assert [r.row for r in inside.intake.rejections] == [r.row for r in copied.intake.rejections]
    assert [_same_names(str(r), "defects") for r in copied.intake.rejections] == [
        str(r) for r in inside.intake.rejections
    ]
    counts = [
        {k: v for k, v in a.as_dict().items() if k != "source"}
        for a in inside.intake.accounts.values()
    ]
    assert counts == [
        {k: v for k, v in a.as_dict().items() if k != "source"}
        for a in copied.intake.accounts.values()
    ]
    assert inside.movements("2024-01", "2024-12").equals(copied.movements("2024-01", "2024-12"))


def test_the_command_line_checks_inside(views: dict[str, Any]) -> None:
    # `--engine spark` takes the session running in this process, whose views these are.
    args = ["metrics", "--engine", "spark", "-s", "subscriptions", "-c", "customers"]
    args += ["--fx-rates", "fx_rates", "--end", "2024-12", "-f", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["overall"]["nrr"] is not None


def test_a_query_is_an_input_too(spark_engine: Engine, views: dict[str, Any]) -> None:  # noqa: F811
    query = "SELECT * FROM subscriptions WHERE currency = 'USD'"
    book = nrr.load(query, customers="customers", fx_rates="fx_rates", engine=spark_engine)
    frame = views["subscriptions"]
    assert book.row_count == (frame["currency"] == "USD").sum() < len(frame)


def test_a_missing_table_is_said_plainly(spark_engine: Engine, views: dict[str, Any]) -> None:  # noqa: F811
    with pytest.raises(
        nrr.InputError, match=r"no_such_table.*no such file, and Spark cannot be read"
    ):
        nrr.load("no_such_table", engine=spark_engine)


NUMBERS = ["12.5", "1e3", "NaN", "Infinity", "abc", "", "-0", "+5", ".5", "5.", "0x1F", "1_000",
           "_1", "1__0", "1,5", "1_0.5", "99999999999999999999999999999",
           "9999999999999999999999999999.99999999999",
           "0.000000000050", "-0.000000000049"]  # fmt: skip
WHOLE = ["12", "12.0", "12.5", "-12.5", "1e3", "1_2", "abc", "1" * 20]
DATES = ["2024-02-29", "2024-02-30", "2023-02-29", "2024-13-01", "2024-1-5", "9999-12-31"]


def _read_both(engine: Engine, expression: str, texts: list[str]) -> tuple[list, list]:
    """`expression` over column x of `texts`, inside Spark and in DuckDB, in one query each."""
    rows = " UNION ALL ".join(
        f"SELECT {i:d} AS i, {literal(text)} AS x" for i, text in enumerate(texts)
    )
    query = f"SELECT i, {expression} AS v FROM ({rows}) AS t ORDER BY i"
    return Translated(engine).fetch(query).rows, DuckDBEngine.open().fetch(query).rows


def test_numbers_read_as_duckdb_reads_them(spark_engine: Engine) -> None:  # noqa: F811
    inside, duckdb = _read_both(spark_engine, parse_number("x"), NUMBERS)
    assert inside == duckdb


def test_whole_numbers_read_as_duckdb_reads_them(spark_engine: Engine) -> None:  # noqa: F811
    inside, duckdb = _read_both(spark_engine, "TRY_CAST(x AS BIGINT)", WHOLE)
    assert inside == duckdb


def test_dates_read_as_duckdb_reads_them(spark_engine: Engine) -> None:  # noqa: F811
    inside, duckdb = _read_both(spark_engine, iso_date("x"), DATES)
    assert inside == duckdb


def test_year_zero_is_no_date_inside(spark_engine: Engine) -> None:  # noqa: F811
    # DuckDB reads 0000-01-01 as 1 BC; inside Spark (as inside PostgreSQL) it is no date.
    query = f"SELECT {iso_date('x')} AS d FROM (SELECT {literal('0000-01-01')} AS x) AS t"
    assert Translated(spark_engine).fetch(query).rows == [(None,)]


def test_health_inputs_are_checked_inside_too(
    spark_engine: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    from nrr.datasets import generate_demo, write_demo
    from nrr.health.inputs import HEALTH_INPUTS

    demo = write_demo(generate_demo(seed=11, customers=120), tmp_path)
    session = spark_engine.session  # type: ignore[attr-defined]
    roles = ("subscriptions", "customers", "fx_rates", *HEALTH_INPUTS)
    frames = {}
    for role in roles:
        frame = session.read.options(header=True, multiLine=True, escape='"').csv(
            str(demo[f"{role}.csv"])
        )
        frame.createOrReplaceTempView(f"h_{role}")
        frames[role] = frame.toPandas().astype(object).where(lambda f: f.notna(), None)
    inside = nrr.load("h_subscriptions", **{r: f"h_{r}" for r in roles[1:]}, engine=spark_engine)
    copied = nrr.load(frames["subscriptions"], **{r: frames[r] for r in roles[1:]})
    found, expected = (b.health("2025-06-01").frame() for b in (inside, copied))
    assert found.to_json() == expected.to_json() and len(found) > 50


def test_rows_are_numbered_across_partitions(spark_engine: Engine) -> None:  # noqa: F811
    # Each row's place in the order Spark returns them, counted per partition (no single
    # task holds every row): row n of 7 partitions is row n.
    from nrr.sources.sql import open_inside

    session = spark_engine.session  # type: ignore[attr-defined]
    frame = session.range(0, 50_000, numPartitions=7).selectExpr("CAST(id AS STRING) AS v")
    frame.createOrReplaceTempView("numbered_rows")
    checks = Translated(spark_engine)
    source = open_inside(checks, "numbered_rows", url="spark")
    counted = checks.fetch(
        f"SELECT CAST(v AS BIGINT) + 1 = _row AS placed, COUNT(*) AS n "
        f"FROM ({source.relation}) AS r GROUP BY 1"
    ).rows
    assert counted == [(True, 50_000)]


def test_each_format_is_checked_inside_too(spark_engine: Engine) -> None:  # noqa: F811
    # The adapters' statements run in Spark as well: Stripe's and the invoices' (lists of
    # rows, UNNEST); the snapshots', simpler, are compared on PostgreSQL only
    # (tests/test_checks_inside.py), as every format's problems and quarantine are.
    examples = Path(__file__).resolve().parent.parent / "examples"
    files = {
        "stripe": examples / "stripe" / "subscription_items.csv",
        "invoices": examples / "invoices" / "invoice_lines.csv",
    }
    session = spark_engine.session  # type: ignore[attr-defined]
    for fmt, path in files.items():
        frame = session.read.options(header=True, multiLine=True, escape='"').csv(str(path))
        frame.createOrReplaceTempView(f"format_{fmt}")
        rows = frame.toPandas().astype(object).where(lambda f: f.notna(), None)
        copied = nrr.load(rows, source_format=fmt)
        inside = nrr.load(f"format_{fmt}", source_format=fmt, engine=spark_engine)
        assert isinstance(inside.tables().lines, str), fmt
        # The checked lines, row by row (every number is computed from them alone).
        key = ["_row", "customer_id", "product", "start_date"]
        found, expected = (
            b.lines.sort_values(key).reset_index(drop=True) for b in (inside, copied)
        )
        assert found.equals(expected) and len(found) > 5, fmt
