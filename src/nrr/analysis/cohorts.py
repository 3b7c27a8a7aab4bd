"""Signup cohorts: revenue and logo retention by age (docs/trends-and-cohorts.md), computed
by `sql/analysis/cohorts.sql` in the book's engine in one statement.

A customer's cohort is the period (month, quarter or year) of its first month with MRR > 0.
For a cohort and an age `a` (0, 1, 2... periods), the value is the members' MRR in the LAST
month of period `cohort + a`, at that month's rates; revenue retention divides it by the
members' first-month MRR (each member's MRR in its own first month, at that month's rates),
logo retention divides the members active then by the cohort's size.

Like the bridge's levels, everything comes from the lines' changes: summed per (cohort,
currency, month) and spread to the period-end months by a join on `month <= calendar month`,
so the work grows with cohorts x change months, never with customers x months.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import sqlglot.expressions as sge

from nrr.book import Book
from nrr.errors import InputError, InternalError, Problem
from nrr.fx import RATE, RateBook
from nrr.metrics.tables import physical
from nrr.months import month_label, parse_month
from nrr.results import as_decimal, ratio_of
from nrr.sql.render import Relation, bind, compose, render, statement, values

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
        from nrr.records.cohorts import cohort_records

        return pd.DataFrame(cohort_records(self))


def cohort_rates(rates: RateBook, currencies: list[str], first: int, last: int) -> sge.Query:
    """(currency, month, rate) for every currency with a rate, months `first` to `last`."""
    return values(
        [("currency", "VARCHAR"), ("month", "BIGINT"), ("rate", RATE)],
        rates.rows(currencies, list(range(first, last + 1))),
    )


def cohort_calendar(first_period: int, last_period: int, size: int) -> sge.Query:
    """(month): the last month of every period from `first_period` to `last_period`."""
    ends = [(p * size + size - 1,) for p in range(first_period, last_period + 1)]
    return values([("month", "BIGINT")], ends)


def cohort_statement(
    sources: Mapping[str, Relation],
    *,
    rates: sge.Query,
    calendar: sge.Query,
    size: int,
    last_period: int,
    since_period: int | None,
) -> sge.Query:
    """The one statement of every cohort's size, base and values (`cohorts.sql`'s columns);
    `rates` and `calendar` are `cohort_rates` and `cohort_calendar` or queries giving the
    same columns."""
    params = {"size": size, "last_period": last_period, "since_period": since_period}
    query = bind(statement("analysis/cohorts.sql"), tables=sources, params=params)
    return compose(query, {"cohort_rates": rates, "cohort_calendar": calendar})


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

    # No cohort starts before the book's first line (or the `since` period): the rates and
    # the calendar start there.
    if book.first_month is None:
        return CohortResult(
            end=month_label(end_m), grain=grain, since=since, currency=book.currency, cohorts=()
        )
    first_month = book.first_month
    if first_period is not None:
        first_month = max(first_month, first_period * size)
    tables = book.tables()
    query = cohort_statement(
        physical(tables),
        rates=cohort_rates(book.rates, book.currencies, first_month, end_m),
        calendar=cohort_calendar(first_month // size, last_period, size),
        size=size,
        last_period=last_period,
        since_period=first_period,
    )
    engine = tables.engine
    base_rows: dict[int, dict] = {}
    series: dict[int, dict[int, dict]] = {}
    for record in engine.fetch(render(query, engine.dialect)).records():
        period = int(record["cohort"])
        base_rows.setdefault(period, record)
        if record["month"] is not None:
            series.setdefault(period, {})[int(record["month"])] = record

    result = []
    for period, row in sorted(base_rows.items()):
        customers = int(row["customers"])
        base = as_decimal(row["first_month_mrr"])
        ages = []
        for age in range(last_period - period + 1):
            month = (period + age) * size + size - 1
            at = series.get(period, {}).get(month, {})
            ages.append(
                CohortAge(
                    age=age,
                    month=month_label(month),
                    mrr=as_decimal(at.get("mrr")),
                    active=int(at.get("active") or 0),
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
