"""Retention over a window (METRICS.md section 4), computed by `sql/ledger/window.sql` and
`sql/metrics/window_totals.sql` in the book's engine.

The cohort is every customer active in the start month `s`. Each customer is valued at three
points (MRR(s) at s's rates, MRR(e) at s's rates, MRR(e) at e's rates) and its movement is
netted over the whole window, so a customer that goes up and down inside the window counts
once, by its net change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from decimal import Decimal, localcontext
from typing import Any

import sqlglot.expressions as sge

from nrr.fx import RATE, RateBook
from nrr.metrics.slices import sliced_customers
from nrr.metrics.tables import BookTables, physical
from nrr.months import month_label
from nrr.results import EXACT, RetentionFigures, WindowResult, as_decimal
from nrr.sql.render import Relation, bind, compose, parse_query, render, statement, values

__all__ = ["FX_MODES", "window_customers", "window_metrics", "window_rates", "window_statement"]

# How the end of a window is valued: at its own month's rates, or at the start's.
FX_MODES = ("spot", "constant")

# Customers outside the cohort that come back inside the window: under no reactivation window
# every one active before the start returns.
_ANY_GAP = """
SELECT customer_id, segment, s_s, e_s, e_e, first_m < :s AS is_return
FROM customer_values
"""
_WITHIN_GAP = """
SELECT v.customer_id, v.segment, v.s_s, v.e_s, v.e_e, COALESCE(r.is_return, FALSE) AS is_return
FROM customer_values AS v
LEFT JOIN returns AS r ON r.customer_id = v.customer_id
"""
_CANDIDATES = "SELECT customer_id FROM customer_values WHERE first_m < :s AND s_s = 0"


def window_rates(
    rates: RateBook, currencies: list[str], start: int, end: int, fx_mode: str
) -> sge.Query:
    """(currency, rate_s, rate_e): the rates that value the start and the end; the end is
    valued at the start's rates in constant currency."""
    at = [start, end if fx_mode == "spot" else start]
    rows = [
        (currency, rates.valuation_rate(currency, at[0]), rates.valuation_rate(currency, at[1]))
        for currency in rates.valued(currencies)
    ]
    return values([("currency", "VARCHAR"), ("rate_s", RATE), ("rate_e", RATE)], rows)


def window_customers(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    start: int,
    end: int,
    by: str | None,
    reactivation_window: int | None,
) -> dict[str, sge.Query]:
    """The steps that value, slice and class each customer, by the names they read each other
    by (inputs of `compose`). `sliced_values` is window.sql's rows with each customer's
    `segment`; the last, `customers_valued`, is what `window_totals.sql` sums: (customer_id,
    segment, s_s, e_s, e_e, is_return). `rates` is `window_rates` or a query giving the same
    columns."""
    params = {"s": start, "e": end}
    per_customer = bind(statement("ledger/window.sql"), tables=sources, params=params)
    inputs: dict[str, sge.Query] = {"window_rates": rates, "customer_values": per_customer}
    # Each customer's slice, joined once per customer after its lines are summed.
    inputs["sliced_values"] = bind(sliced_customers(by, window_start=start), tables=sources)
    if reactivation_window is None:
        valued = bind(parse_query(_ANY_GAP), params=params)
    else:
        inputs["candidates"] = bind(parse_query(_CANDIDATES), params=params)
        inputs["returns"] = bind(
            statement("ledger/window_returns.sql"),
            tables=sources,
            params={**params, "gap": reactivation_window},
        )
        valued = parse_query(_WITHIN_GAP)
    inputs["customers_valued"] = bind(valued, tables={"customer_values": "sliced_values"})
    return inputs


def window_statement(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    start: int,
    end: int,
    by: str | None,
    reactivation_window: int | None,
) -> sge.Query:
    """The one statement of a window's figures per slice (`window_totals.sql`'s columns);
    `rates` is `window_rates` or a query giving the same columns."""
    inputs = window_customers(
        sources,
        rates=rates,
        start=start,
        end=end,
        by=by,
        reactivation_window=reactivation_window,
    )
    return compose(statement("metrics/window_totals.sql"), inputs)


def window_metrics(
    tables: BookTables,
    *,
    rates: RateBook,
    currencies: list[str],
    end: int,
    window: int,
    by: str | None,
    fx_mode: str,
    reactivation_window: int | None = None,
) -> WindowResult:
    """The window's figures overall and, with `by`, per value of that attribute.

    A customer outside the cohort that has MRR at the end is new or reactivated by its first
    return inside the window, under the same rule as the monthly bridge."""
    start = end - window
    query = window_statement(
        physical(tables),
        rates=window_rates(rates, currencies, start, end, fx_mode),
        start=start,
        end=end,
        by=by,
        reactivation_window=reactivation_window,
    )
    engine = tables.engine
    found = engine.fetch(render(query, engine.dialect)).records()
    figures = {r["segment"]: _figures(r) for r in found}
    # Every customer is in exactly one slice, so the book's figures are the slices' sums.
    overall = _sum(figures.values())
    segments: tuple[tuple[str, RetentionFigures], ...] = ()
    if by is not None:
        segments = tuple(sorted(figures.items()))
    return WindowResult(
        start=month_label(start),
        end=month_label(end),
        window_months=window,
        currency=rates.base,
        fx_mode=fx_mode,
        by=by,
        overall=overall,
        segments=segments,
    )


_SUMS = (
    "starting_mrr",
    "ending_mrr",
    "fx",
    "expansion",
    "contraction",
    "churn",
    "new_mrr",
    "reactivation_mrr",
)


def _figures(record: dict[str, Any]) -> RetentionFigures:
    return RetentionFigures(
        customers_start=int(record["customers_start"] or 0),
        customers_retained=int(record["customers_retained"] or 0),
        **{name: as_decimal(record[name]) for name in _SUMS},
    )


def _sum(parts: Iterable[RetentionFigures]) -> RetentionFigures:
    names = [f.name for f in fields(RetentionFigures)]
    totals: dict[str, Any] = {n: 0 if n.startswith("customers") else Decimal(0) for n in names}
    with localcontext(EXACT):
        for part in parts:
            for name in names:
                totals[name] += getattr(part, name)
    return RetentionFigures(**totals)
