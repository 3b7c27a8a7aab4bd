"""Drill-down from a slice to its customers (from a customer to its months: history.py).

`slice_customers` gives the customers behind one slice's window figures. Each customer is
valued exactly as `nrr.metrics.window` values it (MRR at the start at the start's rates,
MRR at the end at the start's rates, MRR at the end), and classed by the movement it counts
in. The cohort customers' columns add up to the slice's figures in
`Book.window(...)` exactly; that is checked on every call.

The slice value is compared as data (a bound literal), never spliced into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING

from nrr.attributes import attribute_names
from nrr.errors import InputError, InternalError, Problem
from nrr.metrics.slices import sliced_customers
from nrr.metrics.tables import physical
from nrr.metrics.window import window_customers, window_rates
from nrr.months import month_label, parse_month
from nrr.results import RetentionFigures, as_decimal
from nrr.sql.render import bind, compose, parse_query, render, statement

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = [
    "MOVEMENTS",
    "SliceCustomer",
    "SliceCustomers",
    "slice_customers",
]

# The movement each customer of a slice counts in over the window.
MOVEMENTS = ("expanded", "contracted", "churned", "flat", "new", "reactivated")
# Sums of 38-digit amounts and products of 8- and 9-decimal numbers, exactly (the default
# context keeps 28 digits).
_EXACT = Context(prec=100)
_ZERO = Decimal(0)
# The first month with MRR of every customer with a live line, as ledger/window.sql's first_m.
_FIRSTS = """
SELECT customer_id, MIN(start_m) AS first_m
FROM lines
WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
GROUP BY customer_id
"""
_KNOWN = "SELECT COUNT(*) AS customers FROM sliced_firsts WHERE segment = :value"


SLICE_COLUMNS = (
    "customer_id",
    "cohort",
    "in_cohort",
    "starting_mrr",
    "ending_at_start_rates",
    "fx",
    "ending_mrr",
    "movement",
    "amount",
    "change",
    "nrr",
)


@dataclass(frozen=True)
class SliceCustomer:
    """One customer of a slice over the window.

    `starting_mrr` is its MRR at the start at the start's rates, `ending_at_start_rates` its
    MRR at the end valued at the start's rates (its movement is measured between these two, in
    constant currency) and `ending_mrr` its MRR at the end at the rates the end is valued at
    (the end's in spot mode, the start's in constant mode). `amount` is what it adds to its
    movement's figure (expansion, contraction, churn, new or reactivation MRR); 0 when flat.
    """

    customer_id: str
    cohort: str
    in_cohort: bool
    starting_mrr: Decimal
    ending_at_start_rates: Decimal
    ending_mrr: Decimal
    movement: str
    amount: Decimal

    @property
    def fx(self) -> Decimal:
        """The revaluation of the closing position (METRICS.md section 4)."""
        return self.ending_mrr - self.ending_at_start_rates

    @property
    def change(self) -> Decimal:
        """Signed change at constant rates (the start's): ending less starting MRR."""
        return self.ending_at_start_rates - self.starting_mrr


@dataclass(frozen=True)
class SliceCustomers:
    """The customers of slice `value` of `by` over the window `start` -> `end`.

    `customers` holds the starting cohort (`in_cohort`) and the customers that started or
    returned inside the window, largest absolute change first. `figures` are the slice's own
    figures from `Book.window`; `totals()` adds the customers up to the same numbers.
    """

    start: str
    end: str
    window_months: int
    currency: str
    fx_mode: str
    by: str
    value: str
    figures: RetentionFigures
    customers: tuple[SliceCustomer, ...]

    def totals(self) -> RetentionFigures:
        """The window figures as the sums of the customers' columns."""
        return _totals(self.customers)

    def frame(self) -> pd.DataFrame:
        """One row per customer, rounded as the API gives it (cents)."""
        import pandas as pd

        from nrr.records.drill import slice_record

        return pd.DataFrame(slice_record(self)["customers"], columns=list(SLICE_COLUMNS))


def _totals(rows: tuple[SliceCustomer, ...]) -> RetentionFigures:
    def total(kind: str | None, column: str) -> Decimal:
        with localcontext(_EXACT):
            return sum(
                (
                    getattr(r, column)
                    for r in rows
                    if (r.in_cohort if kind is None else r.movement == kind)
                ),
                _ZERO,
            )

    cohort = [r for r in rows if r.in_cohort]
    with localcontext(_EXACT):
        fx = sum((r.fx for r in cohort), _ZERO)
    return RetentionFigures(
        starting_mrr=total(None, "starting_mrr"),
        ending_mrr=total(None, "ending_mrr"),
        fx=fx,
        expansion=total("expanded", "amount"),
        contraction=total("contracted", "amount"),
        churn=total("churned", "amount"),
        customers_start=len(cohort),
        customers_retained=sum(1 for r in cohort if r.movement != "churned"),
        new_mrr=total("new", "amount"),
        reactivation_mrr=total("reactivated", "amount"),
    )


def _classify(s_s: Decimal, e_s: Decimal, e_e: Decimal, returning: bool) -> tuple[str, Decimal]:
    """The movement and amount, by the same tests as `sql/metrics/window_totals.sql`."""
    if s_s > 0:
        if e_e == 0:
            return "churned", s_s
        if e_s > s_s:
            return "expanded", e_s - s_s
        if e_s < s_s:
            return "contracted", s_s - e_s
        return "flat", _ZERO
    return ("reactivated" if returning else "new"), e_e


def slice_customers(
    book: Book,
    *,
    end: str,
    window: int = 12,
    by: str,
    value: str,
    fx_mode: str = "spot",
) -> SliceCustomers:
    """The customers of the slice `by` = `value` over the `window` months ending `end`."""
    # Checks end, window, fx_mode and by, and gives the figures the customers must add up to.
    result = book.window(end, window=window, by=by, fx_mode=fx_mode)
    e = parse_month(end, what="--end")
    s = e - window
    tables = book.tables()
    sources = physical(tables)
    # Valued, sliced and classed (new or reactivated) exactly as the window's figures.
    steps = window_customers(
        sources,
        rates=window_rates(book.rates, book.currencies, s, e, fx_mode),
        start=s,
        end=e,
        by=by,
        reactivation_window=book.conventions.reactivation_window,
    )
    chosen = bind(statement("analysis/slice_customers.sql"), params={"value": value})
    engine = tables.engine
    records = engine.fetch(render(compose(chosen, steps), engine.dialect)).records()

    rows = []
    for r in records:
        s_s, e_s, e_e = as_decimal(r["s_s"]), as_decimal(r["e_s"]), as_decimal(r["e_e"])
        if s_s <= 0 and e_e <= 0:
            continue  # neither in the cohort nor there at the end: in no figure
        movement, amount = _classify(s_s, e_s, e_e, bool(r["is_return"]))
        rows.append(
            SliceCustomer(
                customer_id=r["customer_id"],
                cohort=month_label(r["first_m"]),
                in_cohort=s_s > 0,
                starting_mrr=s_s,
                ending_at_start_rates=e_s,
                ending_mrr=e_e,
                movement=movement,
                amount=amount,
            )
        )
    rows.sort(key=lambda row: (-abs(row.change), row.customer_id))

    figures = dict(result.segments).get(value)
    if figures is None:
        if rows:
            raise InternalError(f"slice {value!r} has customers but no window figures")
        _check_value(book, by, value, s)
        figures = _totals(())
    found = _totals(tuple(rows))
    if found != figures:
        raise InternalError(
            f"the customers of {by} = {value!r} do not add up to the slice's figures: "
            f"{found} != {figures}"
        )
    return SliceCustomers(
        start=result.start,
        end=result.end,
        window_months=window,
        currency=result.currency,
        fx_mode=fx_mode,
        by=by,
        value=value,
        figures=figures,
        customers=tuple(rows),
    )


def _check_value(book: Book, by: str, value: str, window_start: int) -> None:
    """A value no customer of the book has is a typo, not an empty slice. (A tenure band is
    a value whether or not a customer is in it at this window's start.)"""
    if "tenure" in attribute_names(by):
        return
    tables = book.tables()
    sources = physical(tables)
    sliced = bind(sliced_customers(by, window_start=window_start), tables=sources)
    known = compose(
        bind(parse_query(_KNOWN), params={"value": value}),
        {"customer_values": bind(parse_query(_FIRSTS), tables=sources), "sliced_firsts": sliced},
    )
    engine = tables.engine
    if int(engine.fetch(render(known, engine.dialect)).records()[0]["customers"]) == 0:
        raise InputError(
            Problem(
                source="--value",
                message=f"no customer has {by} = {value!r}; "
                f"the values are those of the slices in `nrr metrics --by {by}`",
            )
        )
