"""The monthly MRR bridge (METRICS.md section 3), computed by `sql/metrics/bridge.sql` in the
book's engine.

Both sides of a change in month `m` are valued at `m-1`'s rates (constant currency at the
opening month's rates), so no movement is ever an exchange-rate effect; `fx` is the
revaluation of the closing position. The identity
`ending = starting + fx + new + reactivation + expansion - contraction - churn` holds exactly
and is checked for every month and slice before anything is returned."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import localcontext
from typing import Any

import sqlglot.expressions as sge

from nrr.errors import InternalError
from nrr.fx import RATE, RateBook
from nrr.metrics.slices import sliced_lines
from nrr.metrics.tables import BookTables, physical
from nrr.months import month_label
from nrr.results import EXACT, BridgeMonth, as_decimal
from nrr.sql.render import Relation, bind, compose, render, statement, values

__all__ = ["bridge_rates", "bridge_statement", "calendar", "monthly_bridge"]


def bridge_rates(rates: RateBook, currencies: list[str], first: int, last: int) -> sge.Query:
    """(currency, month, rate, opening_rate) for months `first - 1` to `last`."""
    rows = [
        (c, m, rates.valuation_rate(c, m), rates.valuation_rate(c, m - 1))
        for c in rates.valued(currencies)
        for m in range(first - 1, last + 1)
    ]
    columns = [("currency", "VARCHAR"), ("month", "BIGINT"), ("rate", RATE)]
    return values([*columns, ("opening_rate", RATE)], rows)


def calendar(first: int, last: int) -> sge.Query:
    """(month): the months `first - 1` to `last`."""
    return values([("month", "BIGINT")], [(m,) for m in range(first - 1, last + 1)])


def bridge_statement(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    months: sge.Query,
    first: int,
    last: int,
    by: str | None,
    reactivation_window: int | None,
) -> sge.Query:
    """The one statement of the bridge per slice and month (`bridge.sql`'s columns)."""
    lines = bind(sliced_lines(by), tables=sources)
    starts = "starts_any_gap" if reactivation_window is None else "starts_within_gap"
    query = bind(
        statement("metrics/bridge.sql"),
        tables={"starts": starts},
        params={"first": first, "last": last, "gap": reactivation_window},
    )
    return compose(query, {"lines": lines, "bridge_rates": rates, "calendar": months})


def monthly_bridge(
    tables: BookTables,
    *,
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    by: str | None,
    reactivation_window: int | None = None,
) -> list[BridgeMonth]:
    """The bridge for every month from `start` to `end`, overall or per slice of `by`.

    A start after a gap is a reactivation, or new when the customer was away longer than
    `reactivation_window` months (None: any gap is a reactivation)."""
    query = bridge_statement(
        physical(tables),
        rates=bridge_rates(rates, currencies, start, end),
        months=calendar(start, end),
        first=start,
        last=end,
        by=by,
        reactivation_window=reactivation_window,
    )
    engine = tables.engine
    found = engine.fetch(render(query, engine.dialect)).records()
    by_slice: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for record in found:
        by_slice[record.pop("segment")][record.pop("month")] = record
    result: list[BridgeMonth] = []
    with localcontext(EXACT):
        for segment in sorted(by_slice):
            for month, record in sorted(by_slice[segment].items()):
                row = BridgeMonth(
                    month=month_label(month),
                    segment=None if by is None else segment,
                    active_customers=int(record.pop("active_customers") or 0),
                    **{key: as_decimal(value) for key, value in record.items()},
                )
                _check_identity(row)
                result.append(row)
    return result


def _check_identity(row: BridgeMonth) -> None:
    flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
    if row.starting_mrr + row.fx + flows != row.ending_mrr:
        raise InternalError(
            f"the MRR bridge does not add up for {row.month} ({row.segment or 'overall'}): "
            f"{row.starting_mrr} + {row.fx} + {flows} != {row.ending_mrr}"
        )
