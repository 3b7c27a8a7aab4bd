"""`--by product` on every engine: the product slices of the window and of the monthly bridge
computed in PostgreSQL and in Spark must equal DuckDB's to the last digit (the Decimals' digits
and scale, not only their values), and their statements render for every dialect nrr names.

The books are tests/test_engines.py's: the adversarial book (products switched, dropped and
added, several currencies) and the demo under a 3-month reactivation window (reactivations
and customers away too long to count as one), plus, on PostgreSQL, the demo under the default rule
(any return is a reactivation) and the amounts near the top of the supported range.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import sqlglot.expressions as sge

import nrr
from nrr.fx import RateBook
from nrr.metrics.bridge import bridge_rates, calendar
from nrr.metrics.window import window_rates
from nrr.months import parse_month
from nrr.products import product_bridge_statement, product_window_statement
from nrr.sql.render import DIALECTS, render
from tests.spark import spark_engine  # noqa: F401
from tests.test_engines import _books, demo  # noqa: F401

CASES: dict[str, Callable[[nrr.Book, str, str], Any]] = {
    "window by product": lambda b, s, e: b.window(e, window=12, by="product"),
    "quarter by product, constant fx": lambda b, s, e: b.window(
        e, window=3, by="product", fx_mode="constant"
    ),
    "bridge by product": lambda b, s, e: b.bridge(s, e, by="product"),
}
BOOKS = ("adversarial", "demo, 3-month reactivation window")


def _compute(book_name: str, files: dict[str, Path], engine: Any) -> dict[str, str]:
    arguments, start, end = _books(files)[book_name]
    book = nrr.load(**arguments, engine=engine)
    # repr keeps each Decimal's scale: 1.50 and 1.5 are the same value, not the same digits.
    return {name: repr(case(book, start, end)) for name, case in CASES.items()}


def _assert_same(engine: Any, files: dict[str, Path], books: tuple[str, ...]) -> None:
    for name in books:
        expected = _compute(name, files, None)
        got = _compute(name, files, engine)
        differ = [case for case in CASES if got[case] != expected[case]]
        assert not differ, f"{name}: {differ} differ from DuckDB"


def test_the_books_move_every_way(demo: dict[str, Path]) -> None:  # noqa: F811
    # The comparison means something only if each kind of movement happens in the products.
    books = _books(demo)
    arguments, start, end = books["adversarial"]
    rows = nrr.load(**arguments).bridge(start, end, by="product")
    for kind in ("new", "reactivation", "expansion", "contraction", "churn", "fx"):
        assert any(getattr(row, kind) != 0 for row in rows), kind
    # A return after a gap of more than 3 months is new under the demo's reactivation window.
    found = {}
    for name in ("demo", "demo, 3-month reactivation window"):
        arguments, start, end = books[name]
        found[name] = dict(nrr.load(**arguments).window(end, window=12, by="product").segments)
    anyway, within = found.values()
    assert anyway.keys() == within.keys() and len(anyway) > 1
    late = sum((f.reactivation_mrr - within[p].reactivation_mrr for p, f in anyway.items()), 0)
    assert late > 0
    assert sum((within[p].new_mrr - f.new_mrr for p, f in anyway.items()), 0) == late
    assert any(f.contraction > 0 and f.expansion > 0 for f in anyway.values())


def test_postgres_gives_duckdbs_product_slices(
    postgres_db: str,
    demo: dict[str, Path],  # noqa: F811
) -> None:
    _assert_same(postgres_db, demo, (*BOOKS, "demo", "large amounts"))


def test_spark_gives_duckdbs_product_slices(
    spark_engine,  # noqa: F811
    demo: dict[str, Path],  # noqa: F811
) -> None:
    # Spark takes seconds a query: the book with the reactivation window alone (its bridge
    # walks the gaps); PostgreSQL runs every book.
    _assert_same(spark_engine, demo, ("demo, 3-month reactivation window",))


END = parse_month("2025-12", what="--end")
_RATES = RateBook(base="USD")
STATEMENTS = {
    "window": lambda: product_window_statement(
        {"lines": "nrr_lines"},
        rates=window_rates(_RATES, ["USD"], END - 12, END, "spot"),
        start=END - 12,
        end=END,
        reactivation_window=3,
    ),
    "bridge": lambda: product_bridge_statement(
        {"lines": "nrr_lines"},
        rates=bridge_rates(_RATES, ["USD"], END - 11, END),
        months=calendar(END - 11, END),
        first=END - 11,
        last=END,
        reactivation_window=None,
    ),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_the_statements_render_for_every_dialect(name: str, dialect: str) -> None:
    query = STATEMENTS[name]()
    parsed = sqlglot.parse(render(query, dialect, pretty=True), read=dialect)
    assert len(parsed) == 1 and isinstance(parsed[0], sge.Query)
    for ordered in query.find_all(sge.Ordered):
        assert ordered.args.get("nulls_first") is not None, ordered.sql()
    assert not list(query.find_all(sge.Div)), "a division in the product statements"


def test_only_the_steps_read_of_the_books_bridge_are_kept() -> None:
    names = [cte.alias for cte in STATEMENTS["bridge"]().ctes]
    assert len(names) == len(set(names))
    assert {"customer_kinds_steps", "customer_kinds_starts_any_gap"} <= set(names)
    unread = ("starts_within_gap", "movements", "balances", "levels", "active", "calendar")
    assert not {f"customer_kinds_{name}" for name in unread} & set(names)
