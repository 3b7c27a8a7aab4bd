"""Causes, owners and the drill-down of a slice on every engine: DuckDB, a throwaway
PostgreSQL and Spark in local mode (the books and their loading as in tests/test_engines.py).

Each result must equal DuckDB's to the last digit: compared by `repr`, so a Decimal with other
trailing digits (another scale) is a difference too, not only another value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nrr
from nrr.analysis.drill import slice_customers
from nrr.errors import InputError
from tests.spark import spark_engine  # noqa: F401
from tests.test_engines import _books, demo  # noqa: F401

# The books compared, each with its owner columns and the slices drilled into: the
# adversarial one (an empty cohort slice: the value is checked, not just found), and the demo
# without and with a 3-month reactivation window (its one customer returning after a longer
# gap is reactivated, then new), so the classing (window_returns.sql) is compared.
DEMO = {"csm": "csm", "am": "account_manager", "by": "segment", "value": "SMB", "cohort": "2024-03"}
BOOKS = {
    "adversarial": {
        "csm": "csm",
        "am": "market",
        "by": "market",
        "value": "EMEA",
        "cohort": "2023-05",
    },
    "demo": DEMO,
    "demo, 3-month reactivation window": DEMO,
}


def _drill(book: nrr.Book, end: str, by: str, value: str, **options: Any) -> Any:
    try:
        return slice_customers(book, end=end, by=by, value=value, **options)
    except InputError as error:
        return str(error)


CASES: dict[str, Callable[[nrr.Book, str, dict[str, str]], Any]] = {
    "causes": lambda b, e, o: b.causes(e, window=12),
    "causes by segment with detail": lambda b, e, o: b.causes(
        e, window=12, by="segment", detail=True
    ),
    "causes by tenure and cohort, constant fx": lambda b, e, o: b.causes(
        e, window=6, by="tenure,cohort", fx_mode="constant"
    ),
    "owners": lambda b, e, o: b.owners(e, window=12, csm=o["csm"], am=o["am"]),
    "drill-down": lambda b, e, o: _drill(b, e, o["by"], o["value"], window=12),
    "drill-down of a cohort, constant fx": lambda b, e, o: _drill(
        b, e, "cohort", o["cohort"], window=3, fx_mode="constant"
    ),
    "drill-down of a value no customer has": lambda b, e, o: _drill(
        b, e, "segment", "Nonexistent", window=12
    ),
}
# Spark takes seconds a query however small the data: the cases that cover each statement.
SPARK_CASES = ("causes by segment with detail", "owners", "drill-down")
# Spark takes seconds a query: one book (PostgreSQL runs every one).
SPARK_BOOKS = ("adversarial",)


def _compute(book: nrr.Book, end: str, owners: dict[str, str], cases: tuple[str, ...]) -> dict:
    return {name: CASES[name](book, end, owners) for name in cases}


def _assert_same(
    engine: Any,
    demo: dict[str, Path],  # noqa: F811
    cases: tuple[str, ...],
    names: tuple[str, ...] = tuple(BOOKS),
) -> None:
    books = _books(demo)
    for name in names:
        owners = BOOKS[name]
        arguments, _, end = books[name]
        expected = _compute(nrr.load(**arguments), end, owners, cases)
        got = _compute(nrr.load(**arguments, engine=engine), end, owners, cases)
        # Real figures, not empty ones: both movements split, a slice with customers.
        if "causes by segment with detail" in cases:
            split = expected["causes by segment with detail"]
            assert split.overall.expansion.total > 0 and split.overall.contraction.total > 0
            assert split.detail
        if name.startswith("demo") and "drill-down" in cases:
            movements = {c.movement for c in expected["drill-down"].customers}
            assert {"expanded", "contracted", "churned", "new"} <= movements, movements
            assert ("reactivated" in movements) == (name == "demo"), movements
        if "drill-down of a value no customer has" in cases:
            assert (
                "no customer has segment = 'Nonexistent'"
                in expected["drill-down of a value no customer has"]
            )
        differ = [case for case in cases if repr(got[case]) != repr(expected[case])]
        assert not differ, f"{name}: {differ} differ from DuckDB"


def test_postgres_gives_duckdbs_causes_owners_and_drill_downs(
    postgres_db: str,
    demo: dict[str, Path],  # noqa: F811
) -> None:
    _assert_same(postgres_db, demo, tuple(CASES))


def test_spark_gives_duckdbs_causes_owners_and_drill_downs(
    spark_engine,  # noqa: F811
    demo: dict[str, Path],  # noqa: F811
) -> None:
    _assert_same(spark_engine, demo, SPARK_CASES, SPARK_BOOKS)
