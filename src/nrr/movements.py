"""Customer movements of the monthly bridge (METRICS.md section 3) as Ibis expressions, for
the analyses that still read them per customer (history, rates, methods).

Both sides of a change in month `m` are valued at `m-1`'s rates (constant currency at the
opening month's rates), so no movement is ever an exchange-rate effect. The bridge itself is
`nrr.metrics.bridge` (SQL in `sql/metrics/bridge.sql`).
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from nrr.fx import RateBook, convert
from nrr.ledger import (
    LOCAL_SUM,
)
from nrr.validate import MONEY

__all__ = [
    "MOVEMENT_KINDS",
    "bridge_rates",
    "classified_movements",
    "customer_movements",
    "valued_months",
]

MOVEMENT_KINDS = ("new", "reactivation", "expansion", "contraction", "churn")


def customer_movements(
    steps: ir.Table, rates: ir.Table, began: ir.Table, lo: int, hi: int
) -> ir.Table:
    """Each customer's movements in every month from `lo` to `hi` in which its MRR changes.

    Returns (customer_id, month, prev, cur, new, reactivation, expansion, contraction, churn):
    `prev` and `cur` are the customer's MRR before and after, both at the opening month's
    rates (`rates`: `bridge_rates`), and exactly one movement is non-zero, or none when the
    change nets to zero in the base currency. `began` is `ledger.returns(steps, ...)`.
    """
    inside = steps.filter((steps.month >= lo) & (steps.month <= hi))
    return classified_movements(valued_months(inside, rates), began, lo, hi)


def valued_months(steps: ir.Table, rates: ir.Table) -> ir.Table:
    """(customer_id, month, before, after, prev, cur) for every month a customer changes.

    `before` and `after` are `ledger.customer_totals`; `prev` and `cur` the same MRR valued
    at the previous month's rates (`rates`: `bridge_rates`), null in a month without rates."""
    rate = rates.select(r_currency="currency", r_month="month", rate="opening_rate")
    valued = steps.left_join(rate, [steps.currency == rate.r_currency, steps.month == rate.r_month])
    # A customer in one currency has one row a month already: only the others are summed.
    alone = valued.filter(~valued.several)
    alone = alone.select(
        "customer_id",
        "month",
        before=alone.before.cast(LOCAL_SUM),
        after=alone.after.cast(LOCAL_SUM),
        prev=convert(alone.before, alone.rate).cast(MONEY),
        cur=convert(alone.after, alone.rate).cast(MONEY),
    )
    mixed = valued.filter(valued.several)
    summed = mixed.group_by("customer_id", "month").agg(
        before=mixed.before.sum().cast(LOCAL_SUM),
        after=mixed.after.sum().cast(LOCAL_SUM),
        prev=convert(mixed.before, mixed.rate).sum().cast(MONEY),
        cur=convert(mixed.after, mixed.rate).sum().cast(MONEY),
    )
    return alone.union(summed, distinct=False)


def classified_movements(per: ir.Table, began: ir.Table, lo: int, hi: int) -> ir.Table:
    """`customer_movements` from `valued_months` (kept for several queries by the bridge)."""
    per = per.filter((per.month >= lo) & (per.month <= hi))
    t = per.left_join(began, ["customer_id", "month"])
    zero = ibis.literal(Decimal(0)).cast(MONEY)

    def amount(condition: ir.BooleanValue, value: ir.NumericValue) -> ir.NumericValue:
        return ibis.ifelse(condition, value, zero).cast(MONEY)

    starts = (t.prev == 0) & (t.cur > 0)
    returning = t.returning.fill_null(False)
    return t.select(
        customer_id=per.customer_id,
        month=per.month,
        prev=t.prev,
        cur=t.cur,
        new=amount(starts & ~returning, t.cur),
        reactivation=amount(starts & returning, t.cur),
        expansion=amount((t.prev > 0) & (t.cur > t.prev), t.cur - t.prev),
        contraction=amount((t.cur > 0) & (t.cur < t.prev), t.prev - t.cur),
        churn=amount((t.prev > 0) & (t.cur == 0), t.prev),
    )


def bridge_rates(
    like: ir.Table, rates: RateBook, currencies: list[str], months: list[int]
) -> ir.Table:
    """(currency, month, rate, opening_rate) for `months`: each month's rate and the previous
    month's (the rates a month's movements are valued at), on the engine that computes `like`."""
    table = rates.table(like, currencies, [months[0] - 1, *months])
    opening = table.rate.lag().over(group_by="currency", order_by="month")
    table = table.mutate(opening_rate=opening)
    return table.filter(table.month >= months[0])
