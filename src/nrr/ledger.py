"""The ledger: subscription lines to customer-month MRR (METRICS.md section 2).

A line is in service on the last day of month `m` exactly when
`month(start_date) <= m < month(end_date)`, so each line changes its customer's MRR at
two month boundaries only: `+mrr` at its start month and `-mrr` at its end month. The
ledger therefore works on those deltas and per-customer running sums; it never expands a
line into every month it covers, so cost grows with the number of lines, not with
customers x months.

All amounts here are in each line's own currency (`local`); valuation at a month's rates
happens where a metric needs it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from nrr.validate import LOCAL_MRR

__all__ = [
    "LOCAL_SUM",
    "Ledger",
    "as_count",
    "cached",
    "customer_steps",
    "customer_steps_of",
    "customer_totals",
    "deltas",
    "first_active",
    "live_lines",
    "returns",
    "returns_of",
    "snapshot",
]

# A sum of local MRR: per-line MRR has 8 decimals, and sums need room to grow.
LOCAL_SUM = "decimal(38, 8)"


def cached(table: ir.Table) -> ir.Table:
    """`table.cache()` on any engine: computed once, kept until the `with` block ends.

    Ibis 12's PySpark backend caches a query without first registering the in-memory tables
    (rates, calendars) it reads, so they are registered here, as any execution would."""
    table._find_backend()._run_pre_execute_hooks(table)
    return table.cache()


class Ledger:
    """A book's `deltas` and `customer_steps`, stored when first asked for and kept while
    the ledger lives: the bridge, the trends, the cohorts, the methods and the churn rates
    of one book all start from them."""

    def __init__(self, lines: ir.Table) -> None:
        self._lines = lines
        self._changes: ir.Table | None = None
        self._steps: ir.Table | None = None

    @property
    def changes(self) -> ir.Table:
        if self._changes is None:
            self._changes = cached(deltas(self._lines))
        return self._changes

    @property
    def steps(self) -> ir.Table:
        if self._steps is None:
            self._steps = cached(customer_steps_of(self.changes))
        return self._steps

    def steps_once(self) -> ir.Table:
        """The steps for a caller that reads them in one query: the stored ones if an
        analysis stored them, else their query, so that a command reading them once (`nrr
        movements`) does not pay for storing them."""
        return self._steps if self._steps is not None else customer_steps_of(self.changes)


def as_count(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 where `condition` holds, else 0 (PostgreSQL cannot cast a boolean to bigint)."""
    return ibis.ifelse(condition, 1, 0).cast("int64")


def live_lines(lines: ir.Table) -> ir.Table:
    """Lines that are in service in at least one month and carry MRR."""
    return lines.filter(
        (lines.mrr_local > 0) & (lines.end_m.isnull() | (lines.end_m > lines.start_m))
    )


def deltas(lines: ir.Table) -> ir.Table:
    """(customer_id, currency, month, delta): net change of local MRR at each month boundary."""
    live = live_lines(lines)
    up = live.select("customer_id", "currency", month=live.start_m, delta=live.mrr_local)
    ended = live.filter(live.end_m.notnull())
    down = ended.select(
        "customer_id", "currency", month=ended.end_m, delta=(-ended.mrr_local).cast(LOCAL_MRR)
    )
    both = up.union(down, distinct=False)
    net = both.group_by("customer_id", "currency", "month").agg(
        delta=both.delta.sum().cast(LOCAL_SUM)
    )
    return net.filter(net.delta != 0)


def first_active(lines: ir.Table) -> ir.Table:
    """(customer_id, first_m): the first month with MRR > 0, which defines the signup cohort."""
    live = live_lines(lines)
    return live.group_by("customer_id").agg(first_m=live.start_m.min())


def snapshot(lines: ir.Table, month: int) -> ir.Table:
    """(customer_id, currency, local): MRR in service on the last day of `month`."""
    live = live_lines(lines)
    inside = live.filter((live.start_m <= month) & (live.end_m.isnull() | (live.end_m > month)))
    return inside.group_by("customer_id", "currency").agg(
        local=inside.mrr_local.sum().cast(LOCAL_SUM)
    )


def customer_steps(lines: ir.Table) -> ir.Table:
    """Each customer's local MRR per currency just before and after every month it changes.

    Returns (customer_id, currency, month, delta, before, after, several). Every currency a
    customer ever used gets a row at each of that customer's change months, so a
    customer-level sum over currencies sees its whole MRR, not only the currency that moved;
    `several` says the customer used more than one (else its rows are one per month).
    """
    return customer_steps_of(deltas(lines))


def customer_steps_of(changes: ir.Table) -> ir.Table:
    """`customer_steps` from the lines' `deltas`, for a caller that has them already.

    Only a customer billed in several currencies needs the grid of its change months times
    its currencies; the others' deltas are their steps already, so they skip it."""
    kinds = changes.group_by("customer_id").agg(currencies=changes.currency.nunique())
    several = kinds.filter(kinds.currencies > 1).customer_id
    single = changes.filter(~changes.customer_id.isin(several))
    mixed = changes.filter(changes.customer_id.isin(several)).view()
    change_months = mixed.select("customer_id", "month").distinct()
    currencies = mixed.select("customer_id", "currency").distinct()
    grid = change_months.join(currencies, "customer_id")
    joined = grid.left_join(mixed, ["customer_id", "currency", "month"])
    gridded = joined.select(
        customer_id=grid.customer_id,
        currency=grid.currency,
        month=grid.month,
        delta=ibis.coalesce(mixed.delta, ibis.literal(0).cast(LOCAL_SUM)).cast(LOCAL_SUM),
    )
    alone = single.select(
        "customer_id",
        "currency",
        "month",
        delta=single.delta.cast(LOCAL_SUM),
        several=ibis.literal(False),
    )
    steps = alone.union(gridded.mutate(several=ibis.literal(True)), distinct=False)
    after = steps.delta.sum().over(
        group_by=[steps.customer_id, steps.currency], order_by=steps.month, rows=(None, 0)
    )
    steps = steps.mutate(after=after.cast(LOCAL_SUM))
    return steps.mutate(before=(steps.after - steps.delta).cast(LOCAL_SUM))


def returns(steps: ir.Table, reactivation_window: int | None) -> ir.Table:
    """(customer_id, month, returning) for every month a customer goes from no MRR to some.

    `returning` is true when the start counts as a reactivation: the customer had MRR
    before, and (with a window of N months) was away N months or fewer. A customer that
    churns in month c (last MRR in c-1) and returns in m was away m - c months.
    """
    return returns_of(customer_totals(steps), reactivation_window)


def customer_totals(steps: ir.Table) -> ir.Table:
    """(customer_id, month, before, after): `customer_steps` summed over currencies.

    The sums mix currencies, so they only say whether the customer has MRR (> 0) or not."""
    return steps.group_by("customer_id", "month").agg(
        before=steps.before.sum(), after=steps.after.sum()
    )


def returns_of(per: ir.Table, reactivation_window: int | None) -> ir.Table:
    """`returns` from `customer_totals` (or any table with its columns)."""
    starts = per.filter((per.before == 0) & (per.after > 0))
    if reactivation_window is None:
        # Any gap counts, so every start but a customer's first is a return: no need to find
        # the stop before each one.
        first = starts.month.min().over(group_by=starts.customer_id)
        return starts.select("customer_id", "month", returning=starts.month > first)
    stopped = ibis.ifelse((per.before > 0) & (per.after == 0), per.month, ibis.null("int64"))
    last_stop = stopped.max().over(group_by=per.customer_id, order_by=per.month, rows=(None, -1))
    per = per.mutate(last_stop=last_stop)
    began = per.filter((per.before == 0) & (per.after > 0))
    returning = began.last_stop.notnull()
    returning = returning & (began.month - began.last_stop <= reactivation_window)
    return began.select("customer_id", "month", returning=returning)
