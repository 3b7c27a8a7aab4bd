"""The same numbers on every engine: DuckDB, a throwaway PostgreSQL and Spark in local mode.

Each book is read and checked once in DuckDB (as nrr always does), then put into the engine,
and the ledger, windows, slices, the monthly bridge, cohorts and trends computed there must equal
DuckDB's exactly: the same Decimal to the last digit, not just to the cent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.conventions import Conventions
from nrr.datasets import generate_demo, write_demo
from nrr.engines import open_engine
from nrr.engines.duckdb import DuckDBEngine
from nrr.errors import InputError
from nrr.health.inputs import HEALTH_INPUTS
from nrr.metrics.movements import customer_movements
from nrr.metrics.tables import physical
from nrr.months import parse_month
from nrr.sources.cache import CheckedCache
from nrr.sql.render import render
from tests.spark import spark_engine  # noqa: F401

DATA = Path(__file__).parent / "data" / "adversarial"


def _movements(book: nrr.Book, start: str, end: str) -> list[dict[str, Any]]:
    """Every customer's movements in every month it changes, from the SQL layer."""
    tables = book.tables()
    query = customer_movements(
        physical(tables),
        rates=book.rates,
        currencies=book.currencies,
        first=parse_month(start),
        last=parse_month(end),
        reactivation_window=book.conventions.reactivation_window,
    )
    rows = tables.engine.fetch(render(query, tables.engine.dialect)).records()
    return sorted(rows, key=lambda r: (r["customer_id"], r["month"]))


# What each engine must compute exactly as DuckDB does, on books ending `end`.
CASES: dict[str, Callable[[nrr.Book, str, str], Any]] = {
    "customer movements": lambda b, s, e: _movements(b, s, e),
    "window by segment": lambda b, s, e: b.window(e, window=12, by="segment"),
    "window by tenure, constant fx": lambda b, s, e: b.window(
        e, window=6, by="tenure", fx_mode="constant"
    ),
    "quarter by cohort": lambda b, s, e: b.window(e, window=3, by="cohort"),
    "bridge": lambda b, s, e: b.bridge(s, e),
    "bridge by segment": lambda b, s, e: b.bridge(s, e, by="segment"),
    "cohorts by quarter": lambda b, s, e: b.cohorts(e, grain="quarter").frame().to_json(),
    "filtered book": lambda b, s, e: b.where("segment", "SMB").window(e, window=12),
    "trends by segment and tenure": lambda b, s, e: b.trends(
        e, windows=(1, 3, 12), by="segment,tenure"
    ),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    return write_demo(generate_demo(seed=11, customers=120), folder)


def _large_book(folder: Path) -> dict[str, Path]:
    """Monthly totals near the top of the supported range (docs/metrics.md): hundreds of
    billions of IDR a customer, 10^13 IDR in all, and a few euros and dollars beside them,
    with rates that move every month."""
    folder.mkdir(exist_ok=True)
    subs = ["customer_id,product,start_date,end_date,amount,interval,quantity,currency"]
    customers = ["customer_id,segment"]
    for i in range(60):
        start = f"2024-{i % 6 + 1:02d}-0{i % 9 + 1}"
        end = f"2024-{i % 5 + 7:02d}-15" if i % 4 == 0 else ""
        subs.append(f"id{i},core,{start},{end},99999999999.{i:02d}345678,month,1,IDR")
        if i % 3 == 0:
            subs.append(f"id{i},extra,2024-0{i % 8 + 2}-01,,{i}87654321.1,year,2,IDR")
        if i % 5 == 0:
            subs.append(f"id{i},eu,2024-03-01,,{i + 1}0.01,month,1,EUR")
        customers.append(f"id{i},{('SMB', 'Enterprise', 'Mid-Market')[i % 3]}")
    rates = ["month,currency,rate"]
    for m in range(1, 13):
        rates.append(f"2024-{m:02d},IDR,0.0000{6000 + m * 37}{m}")
        rates.append(f"2024-{m:02d},EUR,1.0{m}456789{m % 7}")
    paths = {}
    for name, rows in (("subscriptions", subs), ("customers", customers), ("fx_rates", rates)):
        paths[name] = folder / f"{name}.csv"
        paths[name].write_text("\n".join(rows) + "\n")
    return paths


def _books(demo: dict[str, Path]) -> dict[str, tuple[dict[str, Any], str, str]]:
    """Name -> (load() arguments, first bridge month, window end)."""
    adversarial = {
        "subscriptions": DATA / "subscriptions.csv",
        "customers": DATA / "customers.csv",
        "fx_rates": DATA / "fx_rates.csv",
    }
    sample = {
        "subscriptions": demo["subscriptions.csv"],
        "customers": demo["customers.csv"],
        "fx_rates": demo["fx_rates.csv"],
    }
    large = _large_book(demo["subscriptions.csv"].parent / "large")
    return {
        "adversarial": (adversarial, "2024-01", "2024-12"),
        "large amounts": (large, "2024-02", "2024-12"),
        "demo": (sample, "2024-07", "2025-06"),
        "demo, 3-month reactivation window": (
            sample | {"conventions": Conventions(reactivation_window=3)},
            "2024-07",
            "2025-06",
        ),
        # DuckDB's load writes the checked copies; the engine's load reads them.
        "demo, from its checked copies": (
            sample | {"cache": CheckedCache(demo["subscriptions.csv"].parent / "kept", smallest=0)},
            "2024-07",
            "2025-06",
        ),
    }


# Spark takes seconds a query however small the data, so it computes, on the demo book with
# the reactivation window only, the cases that exercise what the adversarial book does not
# (reactivations, renewals, the window's gap rule).
SPARK_ON_DEMO = ("window by segment", "bridge by segment")
SPARK_BOOKS = ("adversarial", "demo, 3-month reactivation window", "large amounts")


def _compute(
    arguments: dict[str, Any], start: str, end: str, engine: Any, cases: tuple[str, ...]
) -> dict[str, Any]:
    book = nrr.load(**arguments, engine=engine)
    return {name: CASES[name](book, start, end) for name in cases}


def _assert_same(
    engine: Any,
    demo: dict[str, Path],
    on_demo: tuple[str, ...],
    books: tuple[str, ...] | None = None,
) -> None:
    for name, (arguments, start, end) in _books(demo).items():
        if books is not None and name not in books:
            continue
        cases = tuple(CASES) if name == "adversarial" else on_demo
        expected = _compute(arguments, start, end, None, cases)
        got = _compute(arguments, start, end, engine, cases)
        differ = [case for case in cases if got[case] != expected[case]]
        assert not differ, f"{name}: {differ} differ from DuckDB"


def test_postgres_gives_duckdbs_numbers(postgres_db: str, demo: dict[str, Path]) -> None:
    _assert_same(postgres_db, demo, tuple(CASES))
    # The subscriptions' and the customers' copies, which the engine's load read.
    assert len(list((demo["subscriptions.csv"].parent / "kept").glob("*.parquet"))) == 2


def test_spark_gives_duckdbs_numbers(spark_engine, demo: dict[str, Path]) -> None:  # noqa: F811
    _assert_same(spark_engine, demo, SPARK_ON_DEMO, SPARK_BOOKS)


def test_the_cli_takes_engine_from_the_flag_and_from_nrr_toml(
    postgres_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    inputs = ["-s", str(DATA / "subscriptions.csv"), "-c", str(DATA / "customers.csv")]
    inputs += ["--fx-rates", str(DATA / "fx_rates.csv")]
    args = ["metrics", *inputs, "--end", "2024-12", "--by", "segment", "-f", "json"]
    embedded = runner.invoke(app, args)
    flagged = runner.invoke(app, [*args, "--engine", postgres_db])
    (tmp_path / "nrr.toml").write_text(f'engine = "{postgres_db}"\n')
    monkeypatch.chdir(tmp_path)
    # A database engine is taken from a settings file the user names, not one merely found.
    found = runner.invoke(app, args)
    assert found.exit_code == 2 and "nrr.toml:engine: a settings file found" in found.stderr
    configured = runner.invoke(app, [*args, "--config", "nrr.toml"])
    for result in (embedded, flagged, configured):
        assert result.exit_code == 0, result.stderr
    assert json.loads(flagged.stdout) == json.loads(embedded.stdout)
    assert json.loads(configured.stdout) == json.loads(embedded.stdout)


def test_unknown_engine_and_unreachable_server_are_clear_errors(postgres_db: str) -> None:
    with pytest.raises(InputError, match="not an engine; use duckdb, spark or a database URL"):
        open_engine("oracle")
    unreachable = postgres_db.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(InputError, match="cannot connect"):
        open_engine(unreachable)
    assert isinstance(open_engine("duckdb"), DuckDBEngine)
    assert isinstance(open_engine(None), DuckDBEngine)
    runner = CliRunner()
    result = runner.invoke(
        app, ["metrics", "-s", str(DATA / "subscriptions.csv"), "--engine", "mainframe"]
    )
    assert result.exit_code == 2
    assert "--engine: 'mainframe' is not an engine" in result.stderr


def test_health_scores_on_postgres_equal_duckdbs(postgres_db: str, demo: dict[str, Path]) -> None:
    inputs = {role: demo[f"{role}.csv"] for role in ("customers", "fx_rates", *HEALTH_INPUTS)}
    books = [
        nrr.load(demo["subscriptions.csv"], **inputs, engine=engine)
        for engine in (None, postgres_db)
    ]
    embedded, remote = (book.health("2025-06-01") for book in books)
    assert remote.frame().to_json() == embedded.frame().to_json()
    assert len(embedded.frame()) > 50  # a real book of scores, not an empty one
