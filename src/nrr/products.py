"""Line-level slices: `--by product` (METRICS.md section 4, "Line-level slices: --by product"),
computed by `sql/products/window.sql` and `sql/products/bridge.sql` in the book's engine.

`product` is a column of the subscription lines, not of the customer, so one customer sits in
every product it pays for. The customer's own state decides what kind of movement it has (in
the cohort or not, still active or gone; new, reactivated, churned or active in both months);
its per-product MRR decides the amounts. A customer moving 100 from product A to product B has
contraction 100 in A, expansion 100 in B and no movement overall, so expansion and contraction
of the slices can exceed the totals; every other sum adds up to them.

The customer's own state comes from the book's own statements (`nrr.metrics.window`,
`nrr.metrics.bridge`), so a product slice calls a customer new, returning or gone exactly when
the book's figures do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

import sqlglot.expressions as sge

from nrr.errors import InternalError
from nrr.fx import RateBook
from nrr.metrics.bridge import bridge_rates, bridge_statement, calendar
from nrr.metrics.tables import BookTables, physical
from nrr.metrics.window import window_rates, window_statement
from nrr.months import month_label
from nrr.results import EXACT, BridgeMonth, RetentionFigures, WindowResult, as_decimal
from nrr.sql.render import Relation, bind, compose, parse_query, reading, render, statement

__all__ = [
    "PRODUCT",
    "product_bridge",
    "product_bridge_statement",
    "product_window",
    "product_window_statement",
]

PRODUCT = "product"

# Each customer's own state over the window, from the book's window statement.
_CUSTOMER_STATE = "SELECT customer_id, s_s, e_e, is_return FROM customers_valued"


def product_window_statement(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    start: int,
    end: int,
    reactivation_window: int | None,
) -> sge.Query:
    """The one statement of a window's figures per product (`products/window.sql`'s columns);
    `rates` is `window_rates` or a query giving the same columns."""
    book = window_statement(
        sources,
        rates=rates,
        start=start,
        end=end,
        by=None,
        reactivation_window=reactivation_window,
    )
    state = reading(book, parse_query(_CUSTOMER_STATE))
    query = bind(statement("products/window.sql"), tables=sources, params={"s": start, "e": end})
    return compose(query, {"window_rates": rates, "customer_state": state})


def product_window(
    tables: BookTables,
    *,
    total: WindowResult,
    rates: RateBook,
    currencies: list[str],
    end: int,
    window: int,
    fx_mode: str,
    reactivation_window: int | None = None,
) -> WindowResult:
    """The window of METRICS.md section 4 per product; `total` is the book's own window (no
    slices), whose figures the products' sums must equal."""
    start = end - window
    query = product_window_statement(
        physical(tables),
        rates=window_rates(rates, currencies, start, end, fx_mode),
        start=start,
        end=end,
        reactivation_window=reactivation_window,
    )
    engine = tables.engine
    segments = [
        (record.pop("product"), _figures(record))
        for record in engine.fetch(render(query, engine.dialect)).records()
    ]
    # In Python's order, the same on every engine (a database's collation may sort text
    # otherwise).
    segments.sort(key=lambda segment: segment[0])
    _check_window(total.overall, segments)
    return WindowResult(
        start=total.start,
        end=total.end,
        window_months=window,
        currency=rates.base,
        fx_mode=fx_mode,
        by=PRODUCT,
        overall=total.overall,
        segments=tuple(segments),
    )


def _figures(record: dict[str, Any]) -> RetentionFigures:
    return RetentionFigures(
        customers_start=int(record.pop("customers_start") or 0),
        customers_retained=int(record.pop("customers_retained") or 0),
        **{name: as_decimal(value) for name, value in record.items()},
    )


def _check_window(overall: RetentionFigures, segments: list[tuple[str, RetentionFigures]]) -> None:
    """The sums METRICS.md says add up must add up, to the last digit."""
    additive = ("starting_mrr", "ending_mrr", "fx", "churn", "new_mrr", "reactivation_mrr")
    with localcontext(EXACT):
        for name in additive:
            got = sum((getattr(f, name) for _, f in segments), Decimal(0))
            if got != getattr(overall, name):
                raise InternalError(f"the product slices' {name} do not add up: {got}")
        net = sum((f.expansion - f.contraction for _, f in segments), Decimal(0))
        if net != overall.expansion - overall.contraction:
            raise InternalError("the product slices' expansion less contraction do not add up")


def product_bridge_statement(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    months: sge.Query,
    first: int,
    last: int,
    reactivation_window: int | None,
) -> sge.Query:
    """The one statement of the bridge per product and month (`products/bridge.sql`'s
    columns); the customers' kinds come from the book's own bridge statement."""
    book = bridge_statement(
        sources,
        rates=rates,
        months=months,
        first=first,
        last=last,
        by=None,
        reactivation_window=reactivation_window,
    )
    starts = "starts_any_gap" if reactivation_window is None else "starts_within_gap"
    kinds = bind(
        statement("products/customer_kinds.sql"),
        tables={"starts": starts},
        params={"first": first, "last": last},
    )
    query = bind(
        statement("products/bridge.sql"), tables=sources, params={"first": first, "last": last}
    )
    return compose(
        query,
        {"bridge_rates": rates, "calendar": months, "customer_kinds": reading(book, kinds)},
    )


def product_bridge(
    tables: BookTables,
    *,
    overall: list[BridgeMonth],
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    reactivation_window: int | None = None,
) -> list[BridgeMonth]:
    """The monthly bridge per product from `start` to `end` (METRICS.md section 4); `overall`
    is the book's own bridge for those months, whose rows the products' rows must add up to."""
    query = product_bridge_statement(
        physical(tables),
        rates=bridge_rates(rates, currencies, start, end),
        months=calendar(start, end),
        first=start,
        last=end,
        reactivation_window=reactivation_window,
    )
    engine = tables.engine
    result = []
    with localcontext(EXACT):
        for record in engine.fetch(render(query, engine.dialect)).records():
            product = record.pop("product")
            row = BridgeMonth(
                month=month_label(record.pop("month")),
                segment=product,
                active_customers=int(record.pop("active_customers") or 0),
                **{name: as_decimal(value) for name, value in record.items()},
            )
            flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
            if row.starting_mrr + row.fx + flows != row.ending_mrr:
                raise InternalError(f"the bridge of product {product} does not add up")
            result.append(row)
    result.sort(key=lambda row: (row.segment, row.month))  # as the window's, in Python's order
    _check_bridge(overall, result)
    return result


def _check_bridge(overall: list[BridgeMonth], rows: list[BridgeMonth]) -> None:
    additive = ("starting_mrr", "ending_mrr", "fx", "new", "reactivation", "churn")
    by_month: dict[str, list[BridgeMonth]] = defaultdict(list)
    for row in rows:
        by_month[row.month].append(row)
    with localcontext(EXACT):
        for total in overall:
            parts = by_month.get(total.month, [])
            for name in additive:
                got = sum((getattr(p, name) for p in parts), Decimal(0))
                if got != getattr(total, name):
                    raise InternalError(
                        f"the product bridge's {name} for {total.month} does not add up: {got}"
                    )
            net = sum((p.expansion - p.contraction for p in parts), Decimal(0))
            if net != total.expansion - total.contraction:
                raise InternalError(f"the product bridge's net movement for {total.month}")
