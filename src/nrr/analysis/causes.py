"""Expansion and contraction by cause: seats, price, cross-sell and dropped products.

Terms (docs/causes-and-owners.md). A window ends in month `e`, has `k` months and starts in
`s = e - k`; its cohort `C` is every customer active in `s`, valued exactly as the window
metrics value its movements (MRR at `s` and at `e` both at `s`'s rates, in either fx mode).
For a customer `c` of `C` and a product `p`:

- `prev` / `cur`: `c`'s MRR of `p` at `s` / at `e`, at those same valuation rates;
- `q_prev` / `q_cur`: the sum of `quantity` over `c`'s lines of `p` in service at `s` / `e`;
- `delta = cur - prev`, split into four parts, exactly one rule per row:
  - `cross_sell = delta` when `prev = 0 < cur` (a product the customer did not hold at `s`);
  - `dropped = delta` (negative) when `prev > 0 = cur`;
  - when both are > 0: `seats = (q_cur - q_prev) * prev / q_prev`, rounded half to even to
    17 decimal places (0 when `q_prev = 0`), and `price = delta - seats`.

A customer that expanded (`MRR(e) > MRR(s)`) has expansion = sum of its `delta`s, so its
expansion is the sum of its signed parts; a customer that contracted (still active at `e`)
has contraction = -(sum of its `delta`s), each part negated. Churned customers and customers
outside `C` have no causes. Per cause, overall and per slice, the totals add up exactly to
the window's expansion and contraction; that is checked here on every call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot.expressions as sge

from nrr.attributes import ALL
from nrr.errors import InternalError
from nrr.metrics.tables import physical
from nrr.metrics.window import window_customers, window_rates
from nrr.months import parse_month
from nrr.results import WindowResult, as_decimal
from nrr.sql.render import bind, compose, parse_query, render, statement

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = [
    "CAUSES",
    "CauseLine",
    "CauseParts",
    "CauseSplit",
    "CausesResult",
    "causes",
    "split_causes",
]

CAUSES = ("seats", "price", "cross_sell", "dropped")
MOVEMENTS = ("expansion", "contraction")
# The seat part is rounded half to even to 17 places, which MONEY (18 decimals) holds exactly.
_SCALE = 10**17
# Room for every exact sum and difference of 38-digit amounts (the default context has 28).
_EXACT = Context(prec=100)


@dataclass(frozen=True)
class CauseParts:
    """One movement (expansion or contraction) of a group of customers, split by cause.

    `total = seats + price + cross_sell + dropped` exactly; `customers` counts the customers
    with that movement. Parts are signed: a product dropped by an expanding customer is a
    negative part of its expansion; a product added by a contracting customer a negative part
    of its contraction.
    """

    total: Decimal
    seats: Decimal
    price: Decimal
    cross_sell: Decimal
    dropped: Decimal
    customers: int

    def parts(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in CAUSES}


@dataclass(frozen=True)
class CauseSplit:
    """Expansion and contraction of one group (the book or one slice) by cause."""

    expansion: CauseParts
    contraction: CauseParts


@dataclass(frozen=True)
class CauseLine:
    """One customer x product of a customer that expanded or contracted over the window.

    `mrr_start`/`mrr_end` are `prev`/`cur`; the four parts are signed as parts of the
    customer's `movement` (for a contraction, the negated change), so `amount`, their sum, is
    this product's share of the customer's expansion or contraction.
    """

    NOT_MONEY: ClassVar[frozenset[str]] = frozenset({"quantity_start", "quantity_end"})

    customer_id: str
    product: str
    segment: str
    movement: str
    mrr_start: Decimal
    mrr_end: Decimal
    quantity_start: Decimal
    quantity_end: Decimal
    seats: Decimal
    price: Decimal
    cross_sell: Decimal
    dropped: Decimal

    @property
    def amount(self) -> Decimal:
        with localcontext(_EXACT):
            return self.seats + self.price + self.cross_sell + self.dropped


@dataclass(frozen=True)
class CausesResult:
    """Causes over the window `start` -> `end`, overall and per value of `by`.

    `detail` holds every customer x product row (largest absolute amount first) when asked
    for, else None.
    """

    start: str
    end: str
    window_months: int
    currency: str
    fx_mode: str
    by: str | None
    overall: CauseSplit
    segments: tuple[tuple[str, CauseSplit], ...]
    detail: tuple[CauseLine, ...] | None = None

    def frame(self) -> pd.DataFrame:
        """One row per (segment, movement), `(all)` first; amounts rounded to cents."""
        from nrr.records.causes import causes_frame

        return causes_frame(self)

    def detail_frame(self) -> pd.DataFrame:
        """One row per customer x product (needs `detail=True`); amounts rounded to cents."""
        from nrr.records.causes import detail_frame

        return detail_frame(self)


def seat_part(q_prev: Decimal, q_cur: Decimal, prev: Decimal) -> Decimal:
    """`(q_cur - q_prev) * prev / q_prev` rounded half to even to 17 places; 0 if q_prev = 0.

    Exact rational arithmetic: `round()` of a Fraction rounds half to even.
    """
    if q_prev == 0:
        return Decimal(0)
    scaled = (Fraction(q_cur) - Fraction(q_prev)) * Fraction(prev) * _SCALE / Fraction(q_prev)
    return Decimal(f"{round(scaled)}E-17")


def causes(
    book: Book,
    *,
    end: str,
    window: int = 12,
    by: str | None = None,
    fx_mode: str = "spot",
    detail: bool = False,
) -> CausesResult:
    """Expansion and contraction over `window` months ending `end`, split by cause.

    `by` slices as `Book.window` does (an attribute, `cohort`, `tenure`, or `a,b`); `detail`
    also returns each customer x product row. The window is checked (and computed) first, so
    bad arguments raise the same `InputError`s as `Book.window`.
    """
    totals = book.window(end, window=window, by=by, fx_mode=fx_mode)
    return split_causes(book, totals, detail=detail)


def split_causes(book: Book, totals: WindowResult, *, detail: bool = False) -> CausesResult:
    """Split the expansion and contraction of a computed window by cause, and check the sums."""
    end = parse_month(totals.end, what="--end")
    start = end - totals.window_months
    steps = _steps(book, start, end, totals.fx_mode, totals.by)
    split = _aggregate(book, steps)
    lines = _detail(book, steps, split) if detail else None
    names = [name for name, _ in totals.segments]
    unknown = set(split) - set(names) - ({ALL} if totals.by is None else set())
    if unknown:
        raise InternalError(f"cause slices {sorted(unknown)} are not slices of the window")
    if totals.by is None:
        overall = split.get(ALL, _EMPTY_SPLIT)
        segments: tuple[tuple[str, CauseSplit], ...] = ()
    else:
        segments = tuple((name, split.get(name, _EMPTY_SPLIT)) for name in names)
        overall = _sum_splits([s for _, s in segments])
        for (name, figures), (_, parts) in zip(totals.segments, segments, strict=True):
            _check(parts, figures.expansion, figures.contraction, name)
    _check(overall, totals.overall.expansion, totals.overall.contraction, ALL)
    return CausesResult(
        start=totals.start,
        end=totals.end,
        window_months=totals.window_months,
        currency=totals.currency,
        fx_mode=totals.fx_mode,
        by=totals.by,
        overall=overall,
        segments=segments,
        detail=lines,
    )


# The rows whose seat part needs the exact division, and every row (the detail).
_SEAT_ROWS = """
SELECT segment, movement, prev, q_prev, q_cur
FROM cause_rows
WHERE exact_seats
"""
_ALL_ROWS = """
SELECT customer_id, product, segment, movement, prev, cur, q_prev, q_cur, delta
FROM cause_rows
"""


def _steps(book: Book, start: int, end: int, fx_mode: str, by: str | None) -> dict[str, sge.Query]:
    """The steps up to `cause_rows` (cause_rows.sql), by the names they read each other by:
    the customers valued and sliced exactly as the window's figures value them."""
    sources = physical(book.tables())
    rates = window_rates(book.rates, book.currencies, start, end, fx_mode)
    # Movers are all in the cohort, so whether a customer outside it came back is moot.
    steps = window_customers(
        sources, rates=rates, start=start, end=end, by=by, reactivation_window=None
    )
    rows = statement("analysis/cause_rows.sql")
    steps["cause_rows"] = bind(rows, tables=sources, params={"s": start, "e": end})
    return steps


def _fetch(book: Book, query: sge.Query, steps: Mapping[str, sge.Query]) -> list[dict[str, Any]]:
    engine = book.tables().engine
    return engine.fetch(render(compose(query, steps), engine.dialect)).records()


def _aggregate(book: Book, steps: Mapping[str, sge.Query]) -> dict[str, CauseSplit]:
    # Only the rows that need the seat division come out of SQL (an exact division of
    # decimals means different things on different engines); every other part is a sum.
    picked = _fetch(book, parse_query(_SEAT_ROWS), steps)
    sums = _fetch(book, statement("analysis/cause_totals.sql"), steps)
    seats: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with localcontext(_EXACT):
        for r in picked:
            part = seat_part(as_decimal(r["q_prev"]), as_decimal(r["q_cur"]), as_decimal(r["prev"]))
            seats[(r["segment"], r["movement"])] += part
        parts: dict[str, dict[str, CauseParts]] = defaultdict(dict)
        for r in sums:
            key = (r["segment"], r["movement"])
            values = {
                name: as_decimal(r[name])
                for name in ("total", "cross_sell", "dropped", "plain_price", "exact_delta")
            }
            sign = 1 if r["movement"] == "expansion" else -1
            part_seats = seats[key]
            price = values["plain_price"] + values["exact_delta"] - part_seats
            parts[r["segment"]][r["movement"]] = CauseParts(
                total=_signed(sign, values["total"]),
                seats=_signed(sign, part_seats),
                price=_signed(sign, price),
                cross_sell=_signed(sign, values["cross_sell"]),
                dropped=_signed(sign, values["dropped"]),
                customers=int(r["customers"]),
            )
    return {
        segment: CauseSplit(
            expansion=moves.get("expansion", _EMPTY_PARTS),
            contraction=moves.get("contraction", _EMPTY_PARTS),
        )
        for segment, moves in parts.items()
    }


def _detail(
    book: Book, steps: Mapping[str, sge.Query], split: dict[str, CauseSplit]
) -> tuple[CauseLine, ...]:
    lines = []
    with localcontext(_EXACT):
        for r in _fetch(book, parse_query(_ALL_ROWS), steps):
            prev, cur = as_decimal(r["prev"]), as_decimal(r["cur"])
            q_prev, q_cur = as_decimal(r["q_prev"]), as_decimal(r["q_cur"])
            delta = as_decimal(r["delta"])
            values = dict.fromkeys(CAUSES, Decimal(0))
            if prev == 0:
                values["cross_sell"] = delta
            elif cur == 0:
                values["dropped"] = delta
            else:
                values["seats"] = seat_part(q_prev, q_cur, prev)
                values["price"] = delta - values["seats"]
            sign = 1 if r["movement"] == "expansion" else -1
            lines.append(
                CauseLine(
                    customer_id=r["customer_id"],
                    product=r["product"],
                    segment=r["segment"],
                    movement=r["movement"],
                    mrr_start=prev,
                    mrr_end=cur,
                    quantity_start=q_prev,
                    quantity_end=q_cur,
                    **{name: _signed(sign, value) for name, value in values.items()},
                )
            )
        # The detail is computed row by row; it must give the same totals as the aggregate.
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for line in lines:
            for name in CAUSES:
                sums[(line.segment, line.movement, name)] += getattr(line, name)
        for segment, moves in split.items():
            for movement in MOVEMENTS:
                expected = getattr(moves, movement)
                for name in CAUSES:
                    got = sums[(segment, movement, name)]
                    if got != getattr(expected, name):
                        raise InternalError(
                            f"detail of {segment!r}: {movement} {name} {got} != "
                            f"{getattr(expected, name)}"
                        )
    lines.sort(key=lambda line: (-abs(line.amount), line.customer_id, line.product))
    return tuple(lines)


def _signed(sign: int, value: Decimal) -> Decimal:
    # A contraction negates the change; adding 0 turns -0 into 0 so zero parts print as 0.
    return value if sign == 1 else -value + 0


def _sum_splits(splits: list[CauseSplit]) -> CauseSplit:
    def add(items: list[CauseParts]) -> CauseParts:
        with localcontext(_EXACT):
            values = {
                f.name: sum((getattr(i, f.name) for i in items), Decimal(0))
                for f in fields(CauseParts)
                if f.name != "customers"
            }
        return CauseParts(customers=sum(i.customers for i in items), **values)

    return CauseSplit(
        expansion=add([s.expansion for s in splits]),
        contraction=add([s.contraction for s in splits]),
    )


def _check(split: CauseSplit, expansion: Decimal, contraction: Decimal, name: str) -> None:
    """The identities the result promises; a failure is a bug in nrr, never in the input."""
    for movement, expected in (("expansion", expansion), ("contraction", contraction)):
        parts: CauseParts = getattr(split, movement)
        with localcontext(_EXACT):
            summed = sum(parts.parts().values(), Decimal(0))
        if parts.total != expected or summed != expected:
            raise InternalError(
                f"{movement} causes of {name!r} do not add up: total {parts.total}, parts sum "
                f"{summed}, window {expected}"
            )


_EMPTY_PARTS = CauseParts(
    total=Decimal(0),
    seats=Decimal(0),
    price=Decimal(0),
    cross_sell=Decimal(0),
    dropped=Decimal(0),
    customers=0,
)
_EMPTY_SPLIT = CauseSplit(expansion=_EMPTY_PARTS, contraction=_EMPTY_PARTS)
