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
from dataclasses import dataclass, fields
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar

import ibis
import ibis.expr.types as ir

from nrr.attributes import ALL, segment_of
from nrr.errors import InternalError
from nrr.fx import convert
from nrr.ledger import LOCAL_SUM, cached, first_active, live_lines
from nrr.months import parse_month
from nrr.results import WindowResult, as_decimal
from nrr.retention import customer_window
from nrr.validate import MONEY

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
_QUANTITY = "decimal(38, 10)"
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
        from nrr.present.causes import causes_frame

        return causes_frame(self)

    def detail_frame(self) -> pd.DataFrame:
        """One row per customer x product (needs `detail=True`); amounts rounded to cents."""
        from nrr.present.causes import detail_frame

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
    # Materialized once: the aggregate, the exact seat rows and the detail all read it.
    with cached(_rows(book, start, end, totals.fx_mode, totals.by)) as rows:
        split = _aggregate(rows)
        lines = _detail(rows, split) if detail else None
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


def _product_mrr(
    live: ir.Table, pivot: ir.Table, month: int, rate: str, value: str, units: str
) -> ir.Table:
    """(customer_id, product, value, units): MRR and quantity of each product in `month`."""
    inside = live.filter((live.start_m <= month) & (live.end_m.isnull() | (live.end_m > month)))
    per_currency = inside.group_by("customer_id", "product", "currency").agg(
        local=inside.mrr_local.sum().cast(LOCAL_SUM),
        units=inside.quantity.sum().cast(_QUANTITY),
    )
    joined = per_currency.join(pivot, "currency")
    return joined.group_by("customer_id", "product").agg(
        **{
            value: convert(joined.local, joined[rate]).sum().cast(MONEY),
            units: joined.units.sum().cast(_QUANTITY),
        }
    )


def _rows(book: Book, start: int, end: int, fx_mode: str, by: str | None) -> ir.Table:
    """Customer x product rows of the customers of C that expanded or contracted."""
    table = book.rates.table(book.lines, book.currencies, [start])
    pivot = table.select("currency", rate_s=table.rate)
    # Movements are in constant currency at s's rates in both fx modes, as customer_window
    # values s_s and e_s (METRICS.md section 4).
    rate = "rate_s"
    live = live_lines(book.lines)
    at_s = _product_mrr(live.view(), pivot, start, rate, "prev", "q_prev")
    at_e = _product_mrr(live.view(), pivot.view(), end, rate, "cur", "q_cur")
    joined = at_s.outer_join(at_e, ["customer_id", "product"])
    money_zero = ibis.literal(Decimal(0)).cast(MONEY)
    units_zero = ibis.literal(Decimal(0)).cast(_QUANTITY)
    pairs = joined.select(
        customer_id=ibis.coalesce(at_s.customer_id, at_e.customer_id),
        product=ibis.coalesce(at_s.product, at_e.product),
        prev=ibis.coalesce(at_s.prev, money_zero),
        cur=ibis.coalesce(at_e.cur, money_zero),
        q_prev=ibis.coalesce(at_s.q_prev, units_zero),
        q_cur=ibis.coalesce(at_e.q_cur, units_zero),
    ).view()
    window = customer_window(book.lines, book.rates, book.currencies, start, end, fx_mode)
    # In C, still active at e, and changed: exactly the customers with expansion or contraction.
    moved = window.filter((window.s_s > 0) & (window.e_e > 0) & (window.e_s != window.s_s))
    segments = segment_of(
        moved,
        by=by,
        customers=book.customers,
        first=first_active(book.lines),
        window_start=start,
    )
    moved = moved.join(segments, "customer_id").view()
    rows = pairs.join(moved, "customer_id")
    return rows.select(
        customer_id=pairs.customer_id,
        product=pairs.product,
        segment=moved.segment,
        movement=ibis.ifelse(moved.e_s > moved.s_s, "expansion", "contraction"),
        prev=pairs.prev,
        cur=pairs.cur,
        q_prev=pairs.q_prev,
        q_cur=pairs.q_cur,
        delta=(pairs.cur - pairs.prev).cast(MONEY),
    )


def _flags(rows: ir.Table) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    both = (rows.prev > 0) & (rows.cur > 0)
    # Only these rows need the seat division, done exactly in Python (DuckDB divides
    # decimals as DOUBLE); every other both-sides row is all price.
    exact = both & (rows.q_prev > 0) & (rows.q_prev != rows.q_cur)
    return both, exact


def _aggregate(rows: ir.Table) -> dict[str, CauseSplit]:
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    both, exact = _flags(rows)

    def total(condition: ir.BooleanValue) -> ir.NumericValue:
        return ibis.ifelse(condition, rows.delta, zero).cast(MONEY).sum().cast(MONEY)

    sums = rows.group_by("segment", "movement").agg(
        total=rows.delta.sum().cast(MONEY),
        cross_sell=total(rows.prev == 0),
        dropped=total(rows.cur == 0),
        plain_price=total(both & ~exact),
        exact_delta=total(exact),
        customers=rows.customer_id.nunique(),
    )
    picked = rows.filter(exact).select("segment", "movement", "prev", "q_prev", "q_cur")
    seats: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with localcontext(_EXACT):
        for r in picked.to_pyarrow().to_pylist():
            part = seat_part(as_decimal(r["q_prev"]), as_decimal(r["q_cur"]), as_decimal(r["prev"]))
            seats[(r["segment"], r["movement"])] += part
        parts: dict[str, dict[str, CauseParts]] = defaultdict(dict)
        for r in sums.to_pyarrow().to_pylist():
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


def _detail(rows: ir.Table, split: dict[str, CauseSplit]) -> tuple[CauseLine, ...]:
    lines = []
    with localcontext(_EXACT):
        for r in rows.to_pyarrow().to_pylist():
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
