"""The figures of every point of a rolling-retention series (`trends.trends`), computed by
`sql/analysis/rolling.sql` in the book's engine in one statement.

A series point is the window of METRICS.md section 4 that ends in month `e` and is `k` months
long (start `s = e - k`), exactly as `Book.window(e, window=k)` computes it. The statement
values only the customers whose MRR changes inside a window; everyone else's MRR at s comes
from running sums per *profile*: the customers whose slice is named alike in every window
(the same stored attributes of `by` and, when `by` has cohort or tenure, the same first
month), so a tenure band can follow each window's start without a row per customer and
window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot.expressions as sge

from nrr.attributes import ALL, DERIVED, attribute_names
from nrr.book import Book
from nrr.fx import RATE, RateBook
from nrr.metrics.slices import sliced_customers
from nrr.metrics.tables import physical
from nrr.sql.render import Relation, bind, compose, parse_query, render, statement, values

__all__ = [
    "figures",
    "rolling_rates",
    "rolling_statement",
    "rolling_window_months",
    "rolling_windows",
]

# The first month with MRR of each customer with a live line, as `slices` finds it.
_FIRSTS = """
SELECT customer_id, MIN(start_m) AS first_m
FROM lines
WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
GROUP BY customer_id
"""
# One row per profile and start month, the profile's own customer standing for it.
_REPRESENTED = """
SELECT r.customer_id, r.first_m, t.s
FROM (
    SELECT profile AS customer_id, MIN(first_m) AS first_m
    FROM profiles
    GROUP BY profile
) AS r
CROSS JOIN (SELECT DISTINCT s FROM windows) AS t
"""
_SLICES = "SELECT customer_id AS profile, s, segment FROM represented"


def rolling_windows(ends: list[int], lengths: Sequence[int], fx_mode: str) -> sge.Query:
    """(e, k, s, valued_at) for every window: its end, length, start, and the month whose
    rates value its end side (the start's in constant currency)."""
    rows = [(e, k, e - k, e if fx_mode == "spot" else e - k) for e in ends for k in lengths]
    columns = [("e", "BIGINT"), ("k", "BIGINT"), ("s", "BIGINT"), ("valued_at", "BIGINT")]
    return values(columns, rows)


def rolling_window_months(ends: list[int], lengths: Sequence[int]) -> sge.Query:
    """(e, k, s, month) for every window and every month of (s, e]."""
    rows = [(e, k, e - k, m) for e in ends for k in lengths for m in range(e - k + 1, e + 1)]
    columns = [("e", "BIGINT"), ("k", "BIGINT"), ("s", "BIGINT"), ("month", "BIGINT")]
    return values(columns, rows)


def rolling_rates(
    rates: RateBook, currencies: list[str], ends: list[int], lengths: Sequence[int]
) -> sge.Query:
    """(currency, month, rate) for every currency with a rate, at every window's start and
    end (`RateBook.valuation_rate`, as `Book.window` values them)."""
    months = sorted(set(ends) | {e - k for e in ends for k in lengths})
    return values(
        [("currency", "VARCHAR"), ("month", "BIGINT"), ("rate", RATE)],
        rates.rows(currencies, months),
    )


def _profiles(by: str | None) -> sge.Query:
    """(customer_id, first_m, profile): each customer with MRR, and the least id among the
    customers with the same values of what its slice is named from."""
    names = attribute_names(by)
    firsts = sge.Subquery(this=parse_query(_FIRSTS), alias=sge.TableAlias(this="f"))
    keys: list[sge.Expression] = [
        sge.column(sge.to_identifier(name, quoted=True), table="c")
        for name in dict.fromkeys(names)
        if name not in DERIVED
    ]
    if any(name in DERIVED for name in names):
        keys.append(sge.column("first_m", table="f"))
    profile: sge.Expression = sge.Literal.string(ALL)  # without `by`, one slice for all
    if keys:
        least = sge.Min(this=sge.column("customer_id", table="f"))
        profile = sge.Window(this=least, partition_by=keys)
    query = sge.select(
        sge.column("customer_id", table="f"),
        sge.column("first_m", table="f"),
        sge.alias_(profile, "profile"),
    ).from_(firsts)
    if any(name not in DERIVED for name in names):
        query = query.join(
            sge.Table(this=sge.to_identifier("customers"), alias=sge.TableAlias(this="c")),
            on="c.customer_id = f.customer_id",
            join_type="left",
        )
    return query


def rolling_statement(
    sources: Mapping[str, Relation],
    *,
    windows: sge.Query,
    window_months: sge.Query,
    rates: sge.Query,
    by: str | None,
) -> sge.Query:
    """The one statement of every window's figures per slice (`rolling.sql`'s columns);
    `windows`, `window_months` and `rates` are `rolling_windows`, `rolling_window_months`
    and `rolling_rates` or queries giving the same columns."""
    # A profile's slice in each window, named by `slices` with the window's own start.
    window_start = sge.column("s", table="v")
    represented = bind(
        sliced_customers(by, window_start=window_start),
        tables={**sources, "customer_values": parse_query(_REPRESENTED)},
    )
    inputs = {
        "windows": windows,
        "window_months": window_months,
        "rolling_rates": rates,
        "profiles": bind(_profiles(by), tables=sources),
        "profile_slices": bind(parse_query(_SLICES), tables={"represented": represented}),
    }
    return compose(bind(statement("analysis/rolling.sql"), tables=sources), inputs)


def figures(
    book: Book, ends: list[int], lengths: Sequence[int], by: str | None, fx_mode: str
) -> dict[tuple[int, int, str], dict[str, Any]]:
    """(e, k, slice) -> the sums and counts of the window of k months ending e, for every e of
    `ends` and k of `lengths`; the slice is `attributes.ALL` without `by`. A slice with no
    customer at either end of a window has no entry; an amount no customer adds to is None."""
    tables = book.tables()
    query = rolling_statement(
        physical(tables),
        windows=rolling_windows(ends, lengths, fx_mode),
        window_months=rolling_window_months(ends, lengths),
        rates=rolling_rates(book.rates, book.currencies, ends, lengths),
        by=by,
    )
    engine = tables.engine
    found: dict[tuple[int, int, str], dict[str, Any]] = {}
    for record in engine.fetch(render(query, engine.dialect)).records():
        key = (int(record.pop("e")), int(record.pop("k")), record.pop("segment"))
        found[key] = record
    return found
