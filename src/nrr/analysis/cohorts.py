"""Signup cohorts: revenue and logo retention by age (docs/trends-and-cohorts.md).

A customer's cohort is the period (month, quarter or year) of its first month with MRR > 0
(`ledger.first_active`). For a cohort and an age `a` (0, 1, 2... periods), the value is the
members' MRR in the LAST month of period `cohort + a`, at that month's rates; revenue
retention divides it by the members' first-month MRR (each member's MRR in its own first
month, at that month's rates), logo retention divides the members active then by the
cohort's size.

Like the bridge's levels, everything comes from the ledger's deltas: summed per (cohort,
currency, month) and spread to the period-end months by a join on `month <= calendar month`,
so the work grows with cohorts x change months, never with customers x months.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from nrr.book import Book
from nrr.errors import InputError, InternalError, Problem
from nrr.fx import convert
from nrr.ledger import as_count, first_active
from nrr.months import month_label, parse_month
from nrr.results import as_decimal, ratio_of
from nrr.validate import MONEY

__all__ = ["GRAINS", "Cohort", "CohortAge", "CohortResult", "cohorts", "period_label"]

# Months per period of each grain.
GRAINS = {"month": 1, "quarter": 3, "year": 12}


def period_label(period: int, grain: str) -> str:
    """`2024-01`, `2024-Q1` or `2024` for a period index (months // months-per-period)."""
    if grain == "month":
        return month_label(period)
    if grain == "quarter":
        return f"{period // 4:04d}-Q{period % 4 + 1}"
    return f"{period:04d}"


@dataclass(frozen=True)
class CohortAge:
    """A cohort `age` periods after its signup period, measured in `month` (that period's last
    month). `first_month_mrr` and `customers` repeat the cohort's, so each age carries its own
    ratios (and ARR scales both amounts alike)."""

    age: int
    month: str
    mrr: Decimal
    active: int
    first_month_mrr: Decimal
    customers: int

    @property
    def revenue_retention(self) -> Decimal | None:
        """Members' MRR at `month` / their first-month MRR; None for a cohort without MRR."""
        return ratio_of(self.mrr, self.first_month_mrr)

    @property
    def logo_retention(self) -> Decimal | None:
        """Members active (MRR > 0) in `month` / members."""
        return ratio_of(Decimal(self.active), Decimal(self.customers))


@dataclass(frozen=True)
class Cohort:
    """Customers whose first month with MRR falls in period `cohort` (`start`..its last month)."""

    cohort: str
    start: str
    customers: int
    first_month_mrr: Decimal
    ages: tuple[CohortAge, ...]


@dataclass(frozen=True)
class CohortResult:
    """Every cohort whose signup period ended by `end` (and, with `since`, began no earlier
    than the period holding `since`), oldest first; each with every age whose last month is
    on or before `end`."""

    end: str
    grain: str
    since: str | None
    currency: str
    cohorts: tuple[Cohort, ...]

    def frame(self) -> pd.DataFrame:
        """Long format, one row per cohort and age, rounded as the CLI prints."""
        from nrr.present.cohorts import cohort_records

        return pd.DataFrame(cohort_records(self))


def _months_table(months: list[int]) -> ir.Table:
    return ibis.memtable(pa.table({"cal_month": pa.array(months, pa.int64())}))


def _levels(
    changes: ir.Table, members: ir.Table, rates: ir.Table, ends: list[int], size: int
) -> ir.Table:
    """(cohort, month, mrr): each cohort's MRR at every period-end month, at that month's
    rates. Running sums of the deltas, as `levels` in sql/metrics/bridge.sql."""
    joined = changes.join(members, "customer_id")
    net = joined.group_by("cohort", "currency", "month").agg(delta=joined.delta.sum())
    calendar = _months_table(ends)
    # Only months from the cohort's own first period end: earlier ones would be negative ages.
    spread = net.join(
        calendar,
        (net.month <= calendar.cal_month) & (net.cohort * size + size - 1 <= calendar.cal_month),
    )
    level = spread.group_by("cohort", "currency", "cal_month").agg(local=spread.delta.sum())
    valued = level.join(rates, [level.currency == rates.currency, level.cal_month == rates.month])
    return valued.group_by("cohort", month=valued.cal_month).agg(
        mrr=convert(valued.local, valued.rate).sum().cast(MONEY)
    )


def _active(steps: ir.Table, members: ir.Table, ends: list[int], size: int) -> ir.Table:
    """(cohort, month, active): members with MRR > 0 at every period-end month, from the
    months customers start or stop being active, as `active` in sql/metrics/bridge.sql."""
    per = steps.group_by("customer_id", "month").agg(
        before=steps.before.sum(), after=steps.after.sum()
    )
    change = as_count(per.after > 0) - as_count(per.before > 0)
    events = per.mutate(change=change).filter(change != 0).join(members, "customer_id")
    net = events.group_by("cohort", "month").agg(change=events.change.sum())
    calendar = _months_table(ends)
    spread = net.join(
        calendar,
        (net.month <= calendar.cal_month) & (net.cohort * size + size - 1 <= calendar.cal_month),
    )
    return spread.group_by("cohort", month=spread.cal_month).agg(active=spread.change.sum())


def _bases(changes: ir.Table, members: ir.Table, rates: ir.Table) -> ir.Table:
    """(cohort, customers, first_month_mrr). A member's MRR in its first month is its deltas in
    that month: it had no MRR before, and no line can end in the month its first line starts."""
    joined = changes.join(members, "customer_id")
    firsts = joined.filter(joined.month == joined.first_m)
    net = firsts.group_by("cohort", "currency", "month").agg(local=firsts.delta.sum())
    valued = net.join(rates, [net.currency == rates.currency, net.month == rates.month])
    base = valued.group_by("cohort").agg(
        first_month_mrr=convert(valued.local, valued.rate).sum().cast(MONEY)
    )
    counts = members.group_by("cohort").agg(customers=members.count())
    return counts.left_join(base, "cohort").select(counts.cohort, "customers", "first_month_mrr")


def cohorts(
    book: Book, *, end: str, grain: str = "month", since: str | None = None
) -> CohortResult:
    """Signup-cohort retention matrices up to `end` (`YYYY-MM`), by `grain` (month, quarter
    or year). Exact amounts; see the module docstring for the definitions."""
    end_m = parse_month(end, what="--end")
    since_m = None if since is None else parse_month(since, what="--since")
    if grain not in GRAINS:
        raise InputError(
            Problem(source="--grain", message=f"{grain!r} is not month, quarter or year")
        )
    size = GRAINS[grain]
    if since_m is not None and since_m > end_m:
        raise InputError(
            Problem(
                source="--since",
                message=f"{since} is after --end {end}; give a month on or before it",
            )
        )
    last_period = (end_m + 1) // size - 1  # the last period whose last month is <= end
    first_period = None if since_m is None else since_m // size

    first = first_active(book.lines)
    member_period = first.first_m // size
    keep = member_period <= last_period
    if first_period is not None:
        keep &= member_period >= first_period
    members = first.filter(keep).select("customer_id", "first_m", cohort=member_period)

    bounds = members.aggregate(lo=members.first_m.min()).to_pyarrow().to_pylist()[0]
    if bounds["lo"] is None:
        return CohortResult(
            end=month_label(end_m), grain=grain, since=since, currency=book.currency, cohorts=()
        )
    lo = bounds["lo"]
    ends = [p * size + size - 1 for p in range(lo // size, last_period + 1)]
    rates = book.rates.table(book.lines, book.currencies, list(range(lo, end_m + 1)))
    changes = book.ledger.changes

    base_rows = _bases(changes, members.view(), rates).to_pyarrow().to_pylist()
    series: dict[int, dict[int, dict]] = {}
    for frame in (
        _levels(changes, members.view(), rates, ends, size),
        _active(book.ledger.steps, members.view(), ends, size),
    ):
        for record in frame.to_pyarrow().to_pylist():
            series.setdefault(record["cohort"], {}).setdefault(record["month"], {}).update(record)

    result = []
    for row in sorted(base_rows, key=lambda r: r["cohort"]):
        period, customers = row["cohort"], int(row["customers"])
        base = as_decimal(row["first_month_mrr"])
        ages = []
        for age in range(last_period - period + 1):
            month = (period + age) * size + size - 1
            values = series.get(period, {}).get(month, {})
            ages.append(
                CohortAge(
                    age=age,
                    month=month_label(month),
                    mrr=as_decimal(values.get("mrr")),
                    active=int(values.get("active") or 0),
                    first_month_mrr=base,
                    customers=customers,
                )
            )
        cohort = Cohort(
            cohort=period_label(period, grain),
            start=month_label(period * size),
            customers=customers,
            first_month_mrr=base,
            ages=tuple(ages),
        )
        _check(cohort, grain)
        result.append(cohort)
    return CohortResult(
        end=month_label(end_m),
        grain=grain,
        since=since,
        currency=book.currency,
        cohorts=tuple(result),
    )


def _check(cohort: Cohort, grain: str) -> None:
    """Two independent computations must agree: in a monthly cohort's first month, the running
    sums give back the first-month MRR and every member is active."""
    for age in cohort.ages:
        if not 0 <= age.active <= cohort.customers or age.mrr < 0:
            raise InternalError(f"cohort {cohort.cohort} at {age.month}: impossible {age}")
    if grain == "month" and cohort.ages:
        zero = cohort.ages[0]
        if zero.mrr != cohort.first_month_mrr or zero.active != cohort.customers:
            raise InternalError(
                f"cohort {cohort.cohort}: MRR {zero.mrr} and {zero.active} active in its first "
                f"month, but first-month MRR {cohort.first_month_mrr} and "
                f"{cohort.customers} customers"
            )
