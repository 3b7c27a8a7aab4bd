"""Each customer's monthly movements (`sql/ledger/customer_movements.sql`) and the analyses that
read them, the same on every engine: NRR by five methods, the churn rates and one customer's
history computed in PostgreSQL and Spark must equal DuckDB's exactly, the same Decimal to the
last digit (as in tests/test_engines.py, whose books these are)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nrr
from nrr.analysis.history import customer_history
from tests.spark import spark_engine  # noqa: F401
from tests.test_engines import _books, demo  # noqa: F401

# Customers whose histories are compared, where the book has them: bolt (EUR) leaves and comes
# back after three months away, echo is billed in two currencies, golf leaves and returns
# inside one window; C00035 of the demo comes back after more than three months, so under the
# 3-month reactivation window its return is new.
CUSTOMERS = {
    "adversarial": ("bolt", "echo", "golf"),
    "demo": ("C00035",),
    "demo, 3-month reactivation window": ("C00035",),
    "large amounts": ("id0", "id15"),
}

CASES: dict[str, Callable[[nrr.Book, str, str], Any]] = {
    "methods": lambda b, s, e: b.methods(e, window=6),
    "churn rates": lambda b, s, e: b.churn_rates(e, window=12),
}


def _compute(
    book: tuple[dict[str, Any], str, str], customers: tuple[str, ...], engine: Any
) -> dict[str, Any]:
    arguments, start, end = book
    loaded = nrr.load(**arguments, engine=engine)
    found = {case: compute(loaded, start, end) for case, compute in CASES.items()}
    for customer in customers:
        found[customer] = customer_history(loaded, customer, end=end)
    return found


def _assert_same(engine: Any, demo: dict[str, Path], names: tuple[str, ...]) -> None:  # noqa: F811
    books = _books(demo)
    for name in names:
        expected = _compute(books[name], CUSTOMERS[name], None)
        _check_the_cases_matter(name, expected)
        got = _compute(books[name], CUSTOMERS[name], engine)
        differ = [case for case in expected if got[case] != expected[case]]
        assert not differ, f"{name}: {differ} differ from DuckDB"


def _check_the_cases_matter(name: str, found: dict[str, Any]) -> None:
    """The books hold what the comparison is for: reactivations and churn in the window, a
    comeback counted as new past the reactivation window."""
    assert found["churn rates"].losses > 0 and found["methods"].bridge.customers > 0
    if name == "adversarial":
        assert any(m.reactivation for m in found["bolt"].months)
    if name.startswith("demo"):
        returns = [
            m.movement for m in found["C00035"].months if m.movement in ("new", "reactivation")
        ]
        assert returns[-1] == ("new" if "reactivation window" in name else "reactivation")


def test_postgres_gives_duckdbs_movements(postgres_db: str, demo: dict[str, Path]) -> None:  # noqa: F811
    _assert_same(postgres_db, demo, tuple(CUSTOMERS))


def test_spark_gives_duckdbs_movements(spark_engine, demo: dict[str, Path]) -> None:  # noqa: F811
    # Spark takes seconds a query: the adversarial book alone (several currencies a customer,
    # returns, decimals at their limits); PostgreSQL runs every book.
    _assert_same(spark_engine, demo, ("adversarial",))
