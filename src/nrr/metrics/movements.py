"""Each customer's movements per month (METRICS.md section 3), computed by
`sql/ledger/customer_movements.sql` in the book's engine: the rows the monthly bridge sums, for
the analyses that read them per customer (the methods, the churn rates, one customer's history).

Both sides of a change in month `m` are valued at `m-1`'s rates (constant currency at the
opening month's rates), so no movement is ever an exchange-rate effect."""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot.expressions as sge

from nrr.fx import RateBook
from nrr.metrics.bridge import bridge_rates
from nrr.sql.render import Relation, bind, borrow, compose, statement

__all__ = ["MOVEMENT_KINDS", "customer_movements"]

MOVEMENT_KINDS = ("new", "reactivation", "expansion", "contraction", "churn")


def customer_movements(
    sources: Mapping[str, Relation],
    *,
    rates: RateBook,
    currencies: list[str],
    first: int,
    last: int,
    reactivation_window: int | None,
) -> sge.Query:
    """(customer_id, month, prev, cur, new, reactivation, expansion, contraction, churn) for
    every month from `first` to `last` in which a customer's MRR changes (not ordered).

    `prev` and `cur` are the customer's MRR before and after, both at the opening month's
    rates and in all its currencies; exactly one movement is non-zero, or none when the change
    nets to zero in the base currency. A start after a gap is a reactivation, or new when the
    customer was away longer than `reactivation_window` months (None: any gap is a
    reactivation). `sources` names the `lines` to read (`physical(tables)`, or a query giving
    some of them, such as one customer's)."""
    starts = "starts_any_gap" if reactivation_window is None else "starts_within_gap"
    # What a return is, as the bridge says it: its steps, read over this statement's steps.
    own = borrow(
        statement("ledger/customer_movements.sql"), statement("metrics/bridge.sql"), [starts]
    )
    query = bind(
        own,
        tables={**sources, "starts": starts},
        params={"first": first, "last": last, "gap": reactivation_window},
    )
    return compose(query, {"bridge_rates": bridge_rates(rates, currencies, first, last)})
