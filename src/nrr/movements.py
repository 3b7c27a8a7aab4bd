"""The monthly MRR bridge (METRICS.md section 3).

Movements come from customer change months only (`ledger.customer_steps`): both sides of a
change in month `m` are valued at `m-1`'s rates (constant currency at the opening month's
rates, as public companies report growth), so no movement is ever an exchange-rate effect.
Opening and closing balances come from per-slice running sums of the deltas, and the
revaluation of the closing position (MRR(m) at m's rates minus at m-1's) is the separate `fx`
term. The identity
`ending = starting + fx + new + reactivation + expansion - contraction - churn` holds
exactly and is checked for every month and slice before anything is returned.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal, localcontext

import ibis
import ibis.expr.types as ir

from nrr.attributes import ALL, with_segment
from nrr.errors import InternalError
from nrr.fetch import records, values_table
from nrr.fx import RateBook, convert
from nrr.ledger import (
    LOCAL_SUM,
    Ledger,
    as_count,
    cached,
    first_active,
    returns_of,
)
from nrr.months import month_label
from nrr.results import EXACT, BridgeMonth, as_decimal
from nrr.validate import MONEY

__all__ = [
    "MOVEMENT_KINDS",
    "bridge_rates",
    "classified_movements",
    "customer_movements",
    "monthly_bridge",
    "valued_months",
]

MOVEMENT_KINDS = ("new", "reactivation", "expansion", "contraction", "churn")


def _months_table(like: ir.Table, months: list[int]) -> ir.Table:
    return values_table(like, {"cal_month": ("int64", months)})


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


def _sliced(table: ir.Table, segments: ir.Table | None) -> ir.Table:
    """`table` with each customer's `segment`; None: one slice of everyone, with no join."""
    if segments is None:
        return table.mutate(segment=ibis.literal(ALL))
    return table.join(segments, "customer_id")


def _movement_totals(moves: ir.Table, segments: ir.Table | None) -> ir.Table:
    t = _sliced(moves, segments)
    return t.group_by("segment", "month").agg(
        **{kind: t[kind].sum().cast(MONEY) for kind in MOVEMENT_KINDS}
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


def _levels(
    changes: ir.Table, segments: ir.Table | None, rates: ir.Table, months: list[int]
) -> ir.Table:
    """Per slice and month: closing MRR at the month's rates and at the previous month's."""
    by_slice = _sliced(changes, segments)
    net = by_slice.group_by("segment", "currency", "month").agg(delta=by_slice.delta.sum())
    calendar = _months_table(net, months)
    spread = net.join(calendar, net.month <= calendar.cal_month)
    level = spread.group_by("segment", "currency", "cal_month").agg(local=spread.delta.sum())
    valued = level.join(rates, [level.currency == rates.currency, level.cal_month == rates.month])
    return valued.group_by("segment", month=valued.cal_month).agg(
        closing=convert(valued.local, valued.rate).sum().cast(MONEY),
        closing_open=convert(valued.local, valued.opening_rate).sum().cast(MONEY),
    )


def _active_counts(
    per_customer: ir.Table, segments: ir.Table | None, months: list[int]
) -> ir.Table:
    change = as_count(per_customer.after > 0) - as_count(per_customer.before > 0)
    events = _sliced(per_customer.mutate(change=change).filter(change != 0), segments)
    net = events.group_by("segment", "month").agg(change=events.change.sum())
    calendar = _months_table(net, months)
    spread = net.join(calendar, net.month <= calendar.cal_month)
    return spread.group_by("segment", month=spread.cal_month).agg(active=spread.change.sum())


def monthly_bridge(
    lines: ir.Table,
    *,
    ledger: Ledger,
    rates: RateBook,
    currencies: list[str],
    customers: ir.Table | None,
    start: int,
    end: int,
    by: str | None,
    reactivation_window: int | None = None,
) -> list[BridgeMonth]:
    """The bridge for every month from `start` to `end`, overall or per slice of `by`.

    A start after a gap is a reactivation, or new when the customer was away longer than
    `reactivation_window` months (None: any gap is a reactivation)."""
    months = list(range(start - 1, end + 1))
    rate_table = bridge_rates(lines, rates, currencies, months)
    table: dict[str, dict[int, dict[str, object]]] = defaultdict(lambda: defaultdict(dict))
    # The ledger's deltas and steps are kept for the book; each customer's valued months
    # feed several queries, so they are computed once and kept for this call. One
    # aggregation per customer and month gives what the movements, the returns and the
    # active counts each need.
    changes = ledger.changes
    with (
        cached(valued_months(ledger.steps_once(), rate_table)) as per,
        _segments(lines, by, customers) as segments,
    ):
        began = returns_of(per, reactivation_window)
        moves = classified_movements(per, began, start, end)
        for frame in (
            _movement_totals(moves, segments),
            _levels(changes, segments, rate_table, months),
            _active_counts(per, segments, months),
        ):
            for record in records(frame):
                table[record.pop("segment")][record.pop("month")].update(record)

    result: list[BridgeMonth] = []
    with localcontext(EXACT):
        for segment in sorted(table):
            series = table[segment]
            for month in range(start, end + 1):
                before, now = series.get(month - 1, {}), series.get(month, {})
                row = BridgeMonth(
                    month=month_label(month),
                    segment=None if by is None else segment,
                    starting_mrr=as_decimal(before.get("closing")),
                    fx=as_decimal(now.get("closing")) - as_decimal(now.get("closing_open")),
                    ending_mrr=as_decimal(now.get("closing")),
                    active_customers=int(now.get("active") or 0),
                    **{kind: as_decimal(now.get(kind)) for kind in MOVEMENT_KINDS},
                )
                _check_identity(row)
                result.append(row)
    return result


def _segments(
    lines: ir.Table, by: str | None, customers: ir.Table | None
) -> AbstractContextManager[ir.Table | None]:
    """Each customer's slice, computed once for the three queries that join it; None for
    the overall bridge, which needs no join (every customer is in the one slice)."""
    if by is None:
        return nullcontext()
    first = first_active(lines)  # one row per customer already
    tagged = with_segment(first, by=by, customers=customers, first=None)
    return cached(tagged.select("customer_id", "segment"))


def _check_identity(row: BridgeMonth) -> None:
    flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
    if row.starting_mrr + row.fx + flows != row.ending_mrr:
        raise InternalError(
            f"the MRR bridge does not add up for {row.month} ({row.segment or 'overall'}): "
            f"{row.starting_mrr} + {row.fx} + {flows} != {row.ending_mrr}"
        )
