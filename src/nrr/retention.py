"""Retention over a window (METRICS.md section 4): NRR, GRR, logo retention and their parts.

The cohort is every customer active in the start month `s`. Each customer is valued at
three points (MRR(s) at s's rates, MRR(e) at s's rates, MRR(e) at e's rates) and its
movement is netted over the whole window, so a customer that goes up and down inside the
window counts once, by its net change. Movements compare the first two, in constant currency
at the opening month's rates; `fx` is the revaluation of the closing position (the third
minus the second), so GRR never carries an exchange-rate effect.

The window's figures themselves are `nrr.metrics.window` (SQL in `sql/ledger/window.sql`);
these Ibis expressions serve the analyses that still read each customer's values.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from nrr.fx import RateBook, convert_line
from nrr.ledger import as_count, customer_steps, live_lines, returns
from nrr.validate import MONEY

__all__ = [
    "FX_MODES",
    "classified_window",
    "customer_window",
    "ends_of_lines",
    "window_sums",
]

FX_MODES = ("spot", "constant")


def customer_window(
    lines: ir.Table,
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    fx_mode: str,
    *,
    with_first: bool = False,
) -> ir.Table:
    """(customer_id, s_s, e_s, e_e) for every customer active in `start` or in `end`.

    `s_s` is MRR(s) at s's rates, `e_s` MRR(e) at s's rates and `e_e` MRR(e) at e's rates
    (at s's rates under `fx_mode="constant"`, where `e_e` equals `e_s`).

    One pass over the lines in service at either month: each line is valued at the rates it
    needs and summed per customer (exact: products of 8- and 9-decimal numbers fit MONEY's
    scale, so summing per line equals converting per-currency sums).

    `with_first` adds each customer's `first_m` (`ledger.first_active`) from the same pass,
    which then reads every line: one grouping of the lines instead of two and a join, 0.5 s
    of a 1M-customer window."""
    t = ends_of_lines(
        lines, rates, currencies, start, end, fx_mode, keep=("start_m",), every_line=with_first
    )
    e_rate = t.end_rate
    zero = ibis.literal(Decimal(0)).cast(MONEY)

    def total(condition: ir.BooleanValue, rate: ir.NumericValue) -> ir.NumericValue:
        return ibis.ifelse(condition, convert_line(t.mrr_local, rate), zero).sum().cast(MONEY)

    sums = {
        "s_s": total(t.at_s, t.rate_s),
        "e_s": total(t.at_e, t.rate_s),
        "e_e": total(t.at_e, e_rate),
    }
    if not with_first:
        return t.group_by("customer_id").agg(**sums)
    per = t.group_by("customer_id").agg(**sums, first_m=t.start_m.min())
    # Live lines carry MRR > 0 and every rate is > 0 (`fx`), so a customer has a line in
    # service at a month exactly when its sum there is > 0.
    return per.filter((per.s_s > 0) | (per.e_e > 0))


def ends_of_lines(
    lines: ir.Table,
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    fx_mode: str,
    *,
    keep: tuple[str, ...] = (),
    every_line: bool = False,
) -> ir.Table:
    """The live lines in service at `start` or `end` (all of them with `every_line`):
    customer_id, currency, mrr_local and `keep`, flags `at_s` and `at_e`, and the rates that
    value them: `rate_s` (s's) and `end_rate` (e's in spot mode, s's in constant mode)."""
    table = rates.table(lines, currencies, [start, end])
    pivot = table.group_by("currency").agg(
        rate_s=table.rate.max(where=table.month == start),
        rate_e=table.rate.max(where=table.month == end),
    )
    live = live_lines(lines)

    def in_service(month: int) -> ir.BooleanValue:
        return (live.start_m <= month) & (live.end_m.isnull() | (live.end_m > month))

    flagged = live.select(
        "customer_id",
        "currency",
        "mrr_local",
        *keep,
        at_s=in_service(start),
        at_e=in_service(end),
    )
    if not every_line:
        flagged = flagged.filter(flagged.at_s | flagged.at_e)
    t = flagged.join(pivot, "currency")
    return t.mutate(end_rate=t.rate_e if fx_mode == "spot" else t.rate_s)


def classified_window(
    lines: ir.Table,
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    fx_mode: str,
    reactivation_window: int | None,
) -> ir.Table:
    """`customer_window` plus each customer's `first_m` and `returning`.

    `returning` says whether a customer that starts inside the window does so as a
    reactivation: its first return inside the window decides, as in the monthly bridge.
    Only customers active before the window can return; without a reactivation window every
    one of them does, so the full history of starts and stops is walked only for them, and
    only when a window of N months makes the length of the gap matter."""
    per_customer = customer_window(lines, rates, currencies, start, end, fx_mode, with_first=True)
    came_before = per_customer.first_m < start
    if reactivation_window is None:
        return per_customer.mutate(returning=came_before)
    candidates = per_customer.filter(came_before & (per_customer.s_s == 0))
    theirs = lines.filter(lines.customer_id.isin(candidates.customer_id))
    began = returns(customer_steps(theirs), reactivation_window)
    inside = began.filter((began.month > start) & (began.month <= end))
    first_return = inside.group_by("customer_id").agg(
        returning=inside.returning.argmin(inside.month)
    )
    per_customer = per_customer.left_join(first_return, "customer_id").select(
        *[per_customer[c] for c in per_customer.columns],
        returning=first_return.returning.fill_null(False),
    )
    return per_customer


def _total(condition: ir.BooleanValue, value: ir.NumericValue) -> ir.NumericValue:
    """The sum of `value` over the rows where `condition` holds, as MONEY."""
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    return ibis.ifelse(condition, value, zero).cast(MONEY).sum().cast(MONEY)


def window_sums(t: ir.Table) -> dict[str, ir.Value]:
    """The cohort's sums and counts of METRICS.md section 4, as aggregates over per-customer
    rows (s_s, e_s, e_e: `customer_window`), for a `group_by(...).agg(**...)`."""
    in_c = t.s_s > 0
    kept = t.e_e > 0
    return {
        "starting_mrr": _total(in_c, t.s_s),
        "ending_mrr": _total(in_c, t.e_e),
        "fx": _total(in_c, t.e_e - t.e_s),
        "expansion": _total(in_c & (t.e_s > t.s_s), t.e_s - t.s_s),
        "contraction": _total(in_c & kept & (t.s_s > t.e_s), t.s_s - t.e_s),
        "churn": _total(in_c & ~kept, t.s_s),
        "customers_start": as_count(in_c).sum(),
        "customers_retained": as_count(in_c & kept).sum(),
    }
