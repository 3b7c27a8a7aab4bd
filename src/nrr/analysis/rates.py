"""Churn rates and the quick ratio, per month and over a window (docs/analysis.md).

Per month `m` of the bridge (customers and MRR at the end of `m-1` as the base):
- customer churn rate = customers who churned in `m` / customers active in `m-1`
- gross MRR churn rate = (contraction + churn) / starting MRR
- net MRR churn rate = (contraction + churn - expansion) / starting MRR; negative when
  expansion outweighs the losses (exchange-rate effects and reactivations are not in it)
- quick ratio = (new + reactivation + expansion) / (contraction + churn)

Over the window, the churn rates are the cohort's (METRICS.md section 4: 1 - logo retention,
1 - GRR, and the netted losses less expansion), and the quick ratio sums the bridge's months.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd

from nrr.limits import check_months_count
from nrr.metrics.tables import physical
from nrr.months import month_label, parse_month
from nrr.results import BridgeMonth, ratio_of
from nrr.sql.render import bind, render, statement

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["Churn", "MonthRates", "RatesResult", "churn_rates"]


@dataclass(frozen=True)
class Churn:
    """A base (customers and MRR at the start) and what it lost and gained."""

    customers_start: int
    customers_churned: int
    starting_mrr: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal

    @property
    def customer_churn_rate(self) -> Decimal | None:
        return ratio_of(Decimal(self.customers_churned), Decimal(self.customers_start))

    @property
    def gross_mrr_churn_rate(self) -> Decimal | None:
        return ratio_of(self.contraction + self.churn, self.starting_mrr)

    @property
    def net_mrr_churn_rate(self) -> Decimal | None:
        return ratio_of(self.contraction + self.churn - self.expansion, self.starting_mrr)


@dataclass(frozen=True)
class MonthRates(Churn):
    """One month of the bridge with its rates."""

    month: str = ""
    new: Decimal = Decimal(0)
    reactivation: Decimal = Decimal(0)

    @property
    def quick_ratio(self) -> Decimal | None:
        return ratio_of(
            self.new + self.reactivation + self.expansion, self.contraction + self.churn
        )


@dataclass(frozen=True)
class RatesResult:
    """Monthly rates from `start` to `end`, and the window's.

    `cohort` holds the window's churn as the cohort method nets it (the customers active the
    month before `start`); `gains` and `losses` are the bridge's new + reactivation + expansion
    and contraction + churn summed over the months, for the window's quick ratio.
    """

    start: str
    end: str
    currency: str
    months: tuple[MonthRates, ...]
    cohort: Churn
    gains: Decimal
    losses: Decimal

    @property
    def quick_ratio(self) -> Decimal | None:
        return ratio_of(self.gains, self.losses)

    def frame(self) -> pd.DataFrame:
        """One row per month, rounded as the CLI prints."""
        from nrr.records.methods import rates_record

        return pd.DataFrame(rates_record(self)["months"])  # type: ignore[arg-type]

    @property
    def monthly_customer_churn_rate(self) -> Decimal | None:
        """The months' churned customers over the months' starting customers: the average
        monthly customer churn rate, each month weighted by its customers."""
        churned = sum(m.customers_churned for m in self.months)
        return ratio_of(Decimal(churned), Decimal(sum(m.customers_start for m in self.months)))


def churn_rates(book: Book, *, end: str, window: int = 12) -> RatesResult:
    """Rates for each month of the `window` months ending `end`, and for the whole window."""
    e = parse_month(end, what="--end")
    check_months_count(window)
    s = e - window
    # The bridge of the window's own months, which the book keeps (the report has asked for
    # it already): a month's base is the customers active at the end of the month before. For
    # the first month that is the window's starting customers, the same count (customers with
    # a line in service in month `s`: every line's MRR and every rate is above zero), so no
    # bridge starting one month earlier is computed for that one number.
    rows = book.bridge(month_label(s + 1), end)
    figures = book.window(end, window=window).overall
    before = [figures.customers_start, *(row.active_customers for row in rows)]
    churned = _churned_customers(book, s + 1, e)
    months = tuple(
        _month(row, prior, churned.get(row.month, 0))
        for prior, row in zip(before, rows, strict=False)
    )
    cohort = Churn(
        customers_start=figures.customers_start,
        customers_churned=figures.customers_start - figures.customers_retained,
        starting_mrr=figures.starting_mrr,
        expansion=figures.expansion,
        contraction=figures.contraction,
        churn=figures.churn,
    )
    return RatesResult(
        start=month_label(s + 1),
        end=end,
        currency=book.currency,
        months=months,
        cohort=cohort,
        gains=sum((m.new + m.reactivation + m.expansion for m in months), Decimal(0)),
        losses=sum((m.contraction + m.churn for m in months), Decimal(0)),
    )


def _month(row: BridgeMonth, active_before: int, churned: int) -> MonthRates:
    return MonthRates(
        month=row.month,
        customers_start=active_before,
        customers_churned=churned,
        starting_mrr=row.starting_mrr,
        new=row.new,
        reactivation=row.reactivation,
        expansion=row.expansion,
        contraction=row.contraction,
        churn=row.churn,
    )


def _churned_customers(book: Book, lo: int, hi: int) -> dict[str, int]:
    """The customers who churned in each month from `lo` to `hi` that has any
    (`sql/ledger/stops.sql`)."""
    tables = book.tables()
    query = bind(
        statement("ledger/stops.sql"), tables=physical(tables), params={"first": lo, "last": hi}
    )
    counts = tables.engine.fetch(render(query, tables.engine.dialect)).records()
    return {month_label(r["month"]): int(r["stopped"]) for r in counts}
