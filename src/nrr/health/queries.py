"""The health score's ledger statements (`sql/health/cohort.sql` over `ledger/window.sql`)
bound to a book's tables, and any statement's rows read back as a typed data frame."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlglot.expressions as sge

from nrr.engines.base import Engine
from nrr.fx import RateBook
from nrr.metrics.tables import BookTables, physical
from nrr.metrics.window import window_rates
from nrr.results import as_decimal
from nrr.sql.render import bind, compose, parse_query, render, statement

__all__ = ["Kind", "cohort_statement", "fetch_frame", "population_statement"]

# How a column of a statement's rows becomes a data frame column: `float` (NULL is NaN),
# `count` (a whole number; int64, or float64 once a NULL is among them), `bool`, `date`,
# `text` (pandas' text type, NULL as NaN, as Arrow reads gave) and `money` (Decimal).
Kind = Literal["float", "count", "bool", "date", "text", "money"]

# One customer's MRR in a reference month, tagged with the as-of day it is the population of.
_ON_DAY = """
SELECT CAST(:as_of AS DATE) AS as_of, customer_id, s_s AS mrr, first_m
FROM cohort
"""


def _cohort_inputs(
    tables: BookTables, rates: RateBook, currencies: list[str], start: int, end: int, tag: str
) -> dict[str, sge.Query]:
    """The inputs of `health/cohort.sql` for (`start`, `end`), named with `tag`, and the
    cohort itself last (as `cohort<tag>`)."""
    per_customer = bind(
        statement("ledger/window.sql"),
        tables={**physical(tables), "window_rates": f"window_rates{tag}"},
        params={"s": start, "e": end},
    )
    cohort = bind(statement("health/cohort.sql"), tables={"customer_values": f"values{tag}"})
    return {
        f"window_rates{tag}": window_rates(rates, currencies, start, end, "spot"),
        f"values{tag}": per_customer,
        f"cohort{tag}": cohort,
    }


def cohort_statement(
    tables: BookTables, rates: RateBook, currencies: list[str], start: int, end: int
) -> sge.Query:
    """`health/cohort.sql`: the customers active in `start`, valued there and at `end`, at
    spot rates (what `retention.customer_window` gave, active at the start)."""
    inputs = _cohort_inputs(tables, rates, currencies, start, end, "")
    return compose(inputs.pop("cohort"), inputs)


def population_statement(
    tables: BookTables, rates: RateBook, currencies: list[str], refs: Mapping[date, int]
) -> sge.Query:
    """(as_of, customer_id, mrr, first_m): for each day of `refs`, the customers active in its
    reference month with their MRR there (base currency, that month's rates); one cohort per
    distinct month, however many days share it."""
    months = sorted(set(refs.values()))
    inputs: dict[str, sge.Query] = {}
    for i, month in enumerate(months):
        inputs |= _cohort_inputs(tables, rates, currencies, month, month, f"_{i}")
    per_day = [
        bind(
            parse_query(_ON_DAY),
            tables={"cohort": f"cohort_{months.index(month)}"},
            params={"as_of": day},
        )
        for day, month in sorted(refs.items())
    ]
    union: sge.Query = per_day[0]
    for part in per_day[1:]:
        union = sge.union(union, part, distinct=False)
    return compose(union, inputs)


def fetch_frame(engine: Engine, query: sge.Query, kinds: Mapping[str, Kind]) -> pd.DataFrame:
    """The rows of `query`, run on `engine`, as a data frame with the columns of `kinds`
    typed as they say (the same dtypes whatever the engine returns, and when no row)."""
    found = engine.fetch(render(query, engine.dialect))
    position = {name: i for i, name in enumerate(found.columns)}
    columns = list(zip(*found.rows, strict=True)) or [() for _ in found.columns]
    return pd.DataFrame(
        {name: _column(list(columns[position[name]]), kind) for name, kind in kinds.items()}
    )


def _column(items: list[Any], kind: Kind) -> pd.Series:
    if kind == "float":
        return pd.Series(np.array(items, dtype="float64"))  # NULL is NaN
    if kind == "count":
        whole = None not in items
        return pd.Series(np.array(items, dtype="int64" if whole else "float64"))
    if kind == "bool":
        return pd.Series(items, dtype="bool" if None not in items else object)
    if kind == "money":
        return pd.Series([as_decimal(v) for v in items], dtype=object)
    if kind == "date":
        # A driver may give a DATE as a datetime at midnight.
        days = [v.date() if isinstance(v, datetime) else v for v in items]
        return pd.Series(days, dtype=object)
    return pd.Series(items, dtype="str")  # pandas' text, NULL as NaN
