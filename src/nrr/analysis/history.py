"""Drill-down to one customer: its month-end MRR (base currency at each month's rates, as
the monthly bridge values it) and its movements per month, with its attributes and lines.
Every customer's months added together give `Book.bridge(...)`.

The movements are `sql/ledger/customer_movements.sql` over the customer's lines alone; its
month-end levels are summed from those lines here. The customer id is compared as data (a
bound literal), never spliced into SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING

from nrr.errors import InputError, InternalError, Problem
from nrr.metrics.movements import MOVEMENT_KINDS, customer_movements
from nrr.metrics.tables import BookTables, physical
from nrr.months import month_label, parse_month
from nrr.results import as_decimal
from nrr.sql.render import bind, parse_query, render

if TYPE_CHECKING:
    import pandas as pd
    import sqlglot.expressions as sge

    from nrr.book import Book

__all__ = [
    "CustomerHistory",
    "CustomerLine",
    "CustomerMonth",
    "UnknownCustomer",
    "customer_history",
]

# Sums of 38-digit amounts, exactly (the default context keeps 28 digits).
_EXACT = Context(prec=100)
_ZERO = Decimal(0)
# One customer's rows of a book table (`lines` or `customers`, bound as `book_table`).
_THEIRS = "SELECT * FROM book_table WHERE customer_id = :customer_id"


class UnknownCustomer(InputError):
    """No line and no customers row has this customer id."""


@dataclass(frozen=True)
class CustomerMonth:
    """One month of one customer's bridge: the parts of `BridgeMonth` for one customer.

    `starting_mrr` is the previous month-end's MRR at that month's rates, `ending_mrr` this
    month-end's at this month's rates, its movement valued at the previous month's rates and
    `fx` the revaluation of this month-end's MRR from the previous month's rates to this
    month's; at most one movement is non-zero.
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

        from nrr.records.drill import history_record

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
    tables = book.tables()
    # The lines as checked, with their dates, quantities and row numbers.
    engine = tables.engine
    found = engine.fetch(render(_theirs(tables, "lines", customer_id), engine.dialect))
    own = sorted(found.records(), key=lambda r: (r["start_m"], r["_row"]))
    attributes = _attributes(tables, customer_id)
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

    live = [r for r in own if _in_service(r)]
    months = _months(book, tables, customer_id, live, lo, hi)
    first = min((r["start_m"] for r in live), default=None)
    return CustomerHistory(
        customer_id=customer_id,
        currency=book.currency,
        start=month_label(lo),
        end=month_label(hi),
        cohort=month_label(first) if first is not None else None,
        attributes=tuple((attributes or {}).items()),
        months=months,
        lines=tuple(_line(r) for r in own),
    )


def _theirs(tables: BookTables, table: str, customer_id: str) -> sge.Query:
    """The rows of `table` (`lines` or `customers`) with this customer id, as a query."""
    return bind(
        parse_query(_THEIRS),
        tables={"book_table": physical(tables)[table]},
        params={"customer_id": customer_id},
    )


def _attributes(tables: BookTables, customer_id: str) -> dict[str, str | None] | None:
    if tables.customers is None:
        return None
    query = _theirs(tables, "customers", customer_id)
    row = tables.engine.fetch(render(query, tables.engine.dialect)).records()
    if not row:
        return None
    return {k: v for k, v in row[0].items() if k != "customer_id"}


def _in_service(r: dict) -> bool:
    """Whether a line is in service in at least one month and carries MRR (`live` in the
    statements)."""
    return r["mrr_local"] > 0 and (r["end_m"] is None or r["end_m"] > r["start_m"])


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
    book: Book, tables: BookTables, customer_id: str, live: list[dict], lo: int, hi: int
) -> tuple[CustomerMonth, ...]:
    # Month-end levels per currency from the live lines' changes, valued at each month's
    # rates: exactly the bridge's closing balances (8-decimal MRR times 9-decimal rates, no
    # rounding).
    by_currency: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for r in live:
        mrr = as_decimal(r["mrr_local"])
        by_currency[r["currency"]].append((r["start_m"], mrr))
        if r["end_m"] is not None:
            by_currency[r["currency"]].append((r["end_m"], -mrr))

    def level(month: int, rate_month: int) -> Decimal:
        with localcontext(_EXACT):
            total = _ZERO
            for currency, steps in by_currency.items():
                local = sum((d for m, d in steps if m <= month), _ZERO)
                if local:
                    total += local * book.rates.valuation_rate(currency, rate_month)
            return total

    moves: dict[int, dict[str, Decimal]] = {}
    if live:
        query = customer_movements(
            {"lines": _theirs(tables, "lines", customer_id)},
            rates=book.rates,
            currencies=book.currencies,
            first=lo,
            last=hi,
            reactivation_window=book.conventions.reactivation_window,
        )
        for r in tables.engine.fetch(render(query, tables.engine.dialect)).records():
            moves[r["month"]] = {kind: as_decimal(r[kind]) for kind in MOVEMENT_KINDS}

    result = []
    closing = level(lo - 1, lo - 1)
    for month in range(lo, hi + 1):
        # Movements at the opening month's rates; fx revalues the closing position.
        at_opening_rates = level(month, month - 1)
        ending = level(month, month)
        parts = moves.get(month, dict.fromkeys(MOVEMENT_KINDS, _ZERO))
        with localcontext(_EXACT):
            row = CustomerMonth(
                month=month_label(month),
                starting_mrr=closing,
                fx=ending - at_opening_rates,
                ending_mrr=ending,
                **parts,
            )
            flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
            if row.starting_mrr + row.fx + flows != row.ending_mrr:
                raise InternalError(f"the customer's bridge does not add up for {row.month}: {row}")
        result.append(row)
        closing = ending
    return tuple(result)
