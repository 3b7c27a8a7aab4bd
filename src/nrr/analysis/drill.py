"""Drill-down: from a slice to its customers, and from a customer to its months.

- `slice_customers`: the customers behind one slice's window figures. Each customer is
  valued exactly as `retention.window_metrics` values it (MRR at the start at the start's
  rates, the same revalued at the rates the end is valued at, MRR at the end), and classed by
  the movement it counts in. The cohort customers' columns add up to the slice's figures in
  `Book.window(...)` exactly; that is checked on every call.
- `customer_history`: one customer's month-end MRR (base currency at each month's rates, as
  the monthly bridge values it) and its movements per month, with its attributes and its
  lines. Every customer's months added together give `Book.bridge(...)`.

The customer and the slice value are compared as data (ibis literals), never spliced into SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING

import ibis

from nrr.attributes import attribute_names, segment_of
from nrr.errors import InputError, InternalError, Problem
from nrr.ledger import customer_steps, deltas, first_active, returns
from nrr.months import month_label, parse_month
from nrr.movements import MOVEMENT_KINDS, bridge_rates, customer_movements
from nrr.results import RetentionFigures, as_decimal
from nrr.retention import classified_window

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = [
    "MOVEMENTS",
    "CustomerHistory",
    "CustomerLine",
    "CustomerMonth",
    "SliceCustomer",
    "SliceCustomers",
    "UnknownCustomer",
    "customer_history",
    "slice_customers",
]

# The movement each customer of a slice counts in over the window.
MOVEMENTS = ("expanded", "contracted", "churned", "flat", "new", "reactivated")
# Sums of 38-digit amounts and products of 8- and 9-decimal numbers, exactly (the default
# context keeps 28 digits).
_EXACT = Context(prec=100)
_ZERO = Decimal(0)


class UnknownCustomer(InputError):
    """No line and no customers row has this customer id."""


# --- slice -> customers ---------------------------------------------------------------------

SLICE_COLUMNS = (
    "customer_id",
    "cohort",
    "in_cohort",
    "starting_mrr",
    "revalued_mrr",
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

    `starting_mrr` is its MRR at the start at the start's rates, `revalued_mrr` the same
    revalued at the rates the end is valued at (the end's in spot mode, the start's in constant
    mode) and `ending_mrr` its MRR at the end. `amount` is what it adds to its movement's
    figure (expansion, contraction, churn, new or reactivation MRR); 0 when flat.
    """

    customer_id: str
    cohort: str
    in_cohort: bool
    starting_mrr: Decimal
    revalued_mrr: Decimal
    ending_mrr: Decimal
    movement: str
    amount: Decimal

    @property
    def fx(self) -> Decimal:
        return self.revalued_mrr - self.starting_mrr

    @property
    def change(self) -> Decimal:
        """Signed change at constant rates: ending less revalued starting MRR."""
        return self.ending_mrr - self.revalued_mrr


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

        from nrr.present.drill import slice_record

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


def _classify(s_s: Decimal, s_e: Decimal, e_e: Decimal, returning: bool) -> tuple[str, Decimal]:
    """The movement and amount, by the same tests as `retention._aggregate`."""
    if s_s > 0:
        if e_e == 0:
            return "churned", s_e
        if e_e > s_e:
            return "expanded", e_e - s_e
        if e_e < s_e:
            return "contracted", s_e - e_e
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
    lines = book.lines
    # Valued and classed (new or reactivated) exactly as window_metrics does it.
    per_customer, first = classified_window(
        lines, book.rates, book.currencies, s, e, fx_mode, book.conventions.reactivation_window
    )
    segments = segment_of(
        per_customer, by=by, customers=book.customers, first=first, window_start=s
    )
    chosen = segments.filter(segments.segment == ibis.literal(value, type="string"))
    records = per_customer.join(chosen, "customer_id").to_pyarrow().to_pylist()

    rows = []
    for r in records:
        s_s, s_e, e_e = as_decimal(r["s_s"]), as_decimal(r["s_e"]), as_decimal(r["e_e"])
        if s_s <= 0 and e_e <= 0:
            continue  # neither in the cohort nor there at the end: in no figure
        movement, amount = _classify(s_s, s_e, e_e, bool(r["returning"]))
        rows.append(
            SliceCustomer(
                customer_id=r["customer_id"],
                cohort=month_label(r["first_m"]),
                in_cohort=s_s > 0,
                starting_mrr=s_s,
                revalued_mrr=s_e,
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
    first = first_active(book.lines)
    segments = segment_of(
        first, by=by, customers=book.customers, first=first, window_start=window_start
    )
    known = segments.filter(segments.segment == ibis.literal(value, type="string")).count()
    if int(known.to_pyarrow().as_py()) == 0:
        raise InputError(
            Problem(
                source="--value",
                message=f"no customer has {by} = {value!r}; "
                f"the values are those of the slices in `nrr metrics --by {by}`",
            )
        )


# --- customer -> months ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerMonth:
    """One month of one customer's bridge: the parts of `BridgeMonth` for one customer.

    `starting_mrr` is the previous month-end's MRR at that month's rates, `ending_mrr` this
    month-end's at this month's rates, and `fx` the revaluation of the starting MRR to this
    month's rates; at most one movement is non-zero.
    """

    month: str
    starting_mrr: Decimal
    fx: Decimal
    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    ending_mrr: Decimal

    @property
    def active(self) -> bool:
        return self.ending_mrr > 0

    @property
    def movement(self) -> str | None:
        """The movement this month (`new`, ..., `churn`), or None."""
        return next((kind for kind in MOVEMENT_KINDS if getattr(self, kind) != 0), None)


@dataclass(frozen=True)
class CustomerLine:
    """One subscription line of the customer, as validated (MRR in the line's currency)."""

    product: str | None
    currency: str
    start_date: str
    end_date: str | None
    mrr_local: Decimal
    quantity: Decimal | None


@dataclass(frozen=True)
class CustomerHistory:
    """A customer's months from `start` to `end`, its attributes and its lines.

    `cohort` is its first month with MRR (None when it never had any); `attributes` are the
    customers input's columns for it (empty without a customers row).
    """

    customer_id: str
    currency: str
    start: str
    end: str
    cohort: str | None
    attributes: tuple[tuple[str, str | None], ...]
    months: tuple[CustomerMonth, ...]
    lines: tuple[CustomerLine, ...]

    def frame(self) -> pd.DataFrame:
        """One row per month, rounded as the API gives it (cents)."""
        import pandas as pd

        from nrr.present.drill import history_record

        return pd.DataFrame(history_record(self)["months"])  # type: ignore[arg-type]


def customer_history(
    book: Book, customer_id: str, *, start: str | None = None, end: str | None = None
) -> CustomerHistory:
    """`customer_id`'s month-end MRR and movements for every month from `start` to `end`.

    `start` defaults to the customer's first line's month, `end` to the book's last month.
    Raises `UnknownCustomer` (an InputError) when no line and no customers row has the id.
    """
    lo_given = parse_month(start, what="--start") if start is not None else None
    hi_given = parse_month(end, what="--end") if end is not None else None
    key = ibis.literal(customer_id, type="string")
    lines = book.lines.filter(book.lines.customer_id == key)
    own = lines.order_by(["start_m", "_row"]).to_pyarrow().to_pylist()
    attributes = _attributes(book, key)
    if not own and attributes is None:
        raise UnknownCustomer(
            Problem(source="customer", message=f"no customer {customer_id!r} in the data")
        )
    latest = book.latest_month()
    first_line = min((r["start_m"] for r in own), default=None)
    hi = next((m for m in (hi_given, latest, first_line, lo_given) if m is not None), None)
    lo = next((m for m in (lo_given, first_line, hi) if m is not None), None)
    if lo is None or hi is None:
        raise InputError(
            Problem(source="--end", message="the data holds no month; give --start and --end")
        )
    if hi < lo:
        raise InputError(
            Problem(
                source="--end",
                message=f"{month_label(hi)} is before --start {month_label(lo)}; "
                "give the months in order",
            )
        )

    months = _months(book, lines, lo, hi)
    first = first_active(lines).to_pyarrow().to_pylist()
    return CustomerHistory(
        customer_id=customer_id,
        currency=book.currency,
        start=month_label(lo),
        end=month_label(hi),
        cohort=month_label(first[0]["first_m"]) if first else None,
        attributes=tuple((attributes or {}).items()),
        months=months,
        lines=tuple(_line(r) for r in own),
    )


def _attributes(book: Book, key: ibis.expr.types.StringValue) -> dict[str, str | None] | None:
    if book.customers is None:
        return None
    row = book.customers.filter(book.customers.customer_id == key).to_pyarrow().to_pylist()
    if not row:
        return None
    return {k: v for k, v in row[0].items() if k != "customer_id"}


def _line(r: dict) -> CustomerLine:
    def day(value: object) -> str | None:
        return None if value is None else str(value)

    quantity = r.get("quantity")
    return CustomerLine(
        product=r.get("product"),
        currency=r["currency"],
        start_date=str(r["start_date"]),
        end_date=day(r.get("end_date")),
        mrr_local=as_decimal(r["mrr_local"]),
        quantity=None if quantity is None else as_decimal(quantity),
    )


def _months(
    book: Book, lines: ibis.expr.types.Table, lo: int, hi: int
) -> tuple[CustomerMonth, ...]:
    # Month-end levels per currency from the deltas, valued at each month's rates: exactly the
    # bridge's closing balances (8-decimal MRR times 9-decimal rates, no rounding).
    changes = deltas(lines).to_pyarrow().to_pylist()
    by_currency: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for r in changes:
        by_currency[r["currency"]].append((r["month"], as_decimal(r["delta"])))

    def level(month: int, rate_month: int) -> Decimal:
        with localcontext(_EXACT):
            total = _ZERO
            for currency, steps in by_currency.items():
                local = sum((d for m, d in steps if m <= month), _ZERO)
                if local:
                    total += local * book.rates.valuation_rate(currency, rate_month)
            return total

    moves: dict[int, dict[str, Decimal]] = {}
    if changes:
        steps = customer_steps(lines)
        began = returns(steps, book.conventions.reactivation_window)
        rates = bridge_rates(book.rates, book.currencies, list(range(lo, hi + 1)))
        for r in customer_movements(steps, rates, began, lo, hi).to_pyarrow().to_pylist():
            moves[r["month"]] = {kind: as_decimal(r[kind]) for kind in MOVEMENT_KINDS}

    result = []
    closing = level(lo - 1, lo - 1)
    for month in range(lo, hi + 1):
        revalued = level(month - 1, month)
        ending = level(month, month)
        parts = moves.get(month, dict.fromkeys(MOVEMENT_KINDS, _ZERO))
        row = CustomerMonth(
            month=month_label(month),
            starting_mrr=closing,
            fx=revalued - closing,
            ending_mrr=ending,
            **parts,
        )
        flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
        if row.starting_mrr + row.fx + flows != row.ending_mrr:
            raise InternalError(f"the customer's bridge does not add up for {row.month}: {row}")
        result.append(row)
        closing = ending
    return tuple(result)
