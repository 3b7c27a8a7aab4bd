"""Trends: rolling NRR, GRR and logo retention as monthly series (docs/trends-and-cohorts.md).

A series point is the window of METRICS.md section 4 that ends in month `e` and is `k` months
long (start `s = e - k`), exactly as `Book.window(e, window=k)` computes it. Looping over
`window_metrics` would run one query per point; instead every (e, k) pair is computed in one
engine query:

1. a *pairs* table (e, k, s, currency, rate_s, rate_e): one row per pair and currency, with
   the rate that values MRR(s) at s and the rate that values the window's end side (e's
   rates in spot mode, s's in constant mode);
2. per-customer snapshots (customer, currency, month, local) at every month some pair starts
   or ends in, from live lines joined to a months table (`start_m <= m < end_m`);
3. start-side rows (snapshot at s) give s_s and s_e, end-side rows (snapshot at e) give e_e;
   their union summed per pair and customer is `retention.customer_window` for every pair;
4. the sums of METRICS.md section 4, grouped by pair and slice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from nrr.attributes import ALL, PAIR, attribute_names, check_attribute, segment_of, tenure_band
from nrr.book import Book
from nrr.errors import InputError, InternalError, Problem
from nrr.fx import convert
from nrr.ledger import LOCAL_SUM, as_count, first_active, live_lines
from nrr.months import month_label, parse_month
from nrr.results import as_decimal, ratio_of
from nrr.retention import FX_MODES
from nrr.validate import MONEY

__all__ = ["DEFAULT_WINDOWS", "TrendPoint", "TrendResult", "parse_windows", "trends"]

DEFAULT_WINDOWS = (1, 3, 12)
_SUMS = ("starting_mrr", "ending_mrr", "fx", "expansion", "contraction", "churn")


@dataclass(frozen=True)
class TrendPoint:
    """The window of `window_months` months ending `month`, for the book or one slice.

    The amounts are those of `Book.window(month, window=window_months)` (METRICS.md section
    4); `segment` is None for the whole book."""

    month: str
    window_months: int
    segment: str | None
    starting_mrr: Decimal
    ending_mrr: Decimal
    fx: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    customers_start: int
    customers_retained: int

    @property
    def start(self) -> str:
        """The window's start month `s = e - k`."""
        return month_label(parse_month(self.month) - self.window_months)

    @property
    def nrr(self) -> Decimal | None:
        return ratio_of(self.ending_mrr, self.starting_mrr)

    @property
    def grr(self) -> Decimal | None:
        return ratio_of(self.starting_mrr - self.contraction - self.churn, self.starting_mrr)

    @property
    def logo_retention(self) -> Decimal | None:
        return ratio_of(Decimal(self.customers_retained), Decimal(self.customers_start))

    def as_dict(self) -> dict[str, object]:
        values: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["nrr"], values["grr"] = self.nrr, self.grr
        values["logo_retention"] = self.logo_retention
        return values


@dataclass(frozen=True)
class TrendResult:
    """Rolling retention from `start` to `end` (month labels), one point per month and length.

    `overall` holds the whole book's points, ordered by month then window length; `segments`
    (only with `by`) every slice's points, ordered by slice, month, window length. A slice is
    listed for every month and length once it appears in any of them; where it has no customer
    at either end of a window its figures are zero and its ratios None."""

    start: str
    end: str
    currency: str
    fx_mode: str
    windows: tuple[int, ...]
    by: str | None
    overall: tuple[TrendPoint, ...]
    segments: tuple[TrendPoint, ...]

    def points(self) -> tuple[TrendPoint, ...]:
        return self.overall + self.segments

    def frame(self) -> pd.DataFrame:
        """One row per point, rounded as the CLI prints (cents, ratios to 4 places)."""
        from nrr.present.trends import trend_records

        return pd.DataFrame(trend_records(self))


def parse_windows(text: str | Iterable[int]) -> tuple[int, ...]:
    """Window lengths from `1,3,12` (or a sequence of ints): positive, distinct, in order given."""
    items = [part.strip() for part in text.split(",")] if isinstance(text, str) else list(text)
    lengths: list[int] = []
    for item in items:
        try:
            value = int(item)
        except (TypeError, ValueError):
            value = 0
        if value < 1:
            raise InputError(
                Problem(
                    source="--windows",
                    message=f"{item!r} is not a positive number of months; "
                    "give lengths separated by commas, as in 1,3,12",
                )
            )
        if value in lengths:
            raise InputError(
                Problem(source="--windows", message=f"{value} is listed twice; give each once")
            )
        lengths.append(value)
    if not lengths:
        raise InputError(Problem(source="--windows", message="no window length; give e.g. 1,3,12"))
    return tuple(lengths)


def _pairs(book: Book, ends: list[int], windows: Sequence[int], fx_mode: str) -> ir.Table:
    """(e, k, s, currency, rate_s, rate_e) for every pair and every currency with a rate."""
    months = sorted({e for e in ends} | {e - k for e in ends for k in windows})
    # `RateBook.table` applies the carry-forward and first-rate rules, as `Book.window` does.
    rows = book.rates.table(book.currencies, months).to_pyarrow().to_pylist()
    rate = {(r["currency"], r["month"]): r["rate"] for r in rows}
    currencies = sorted({c for c, _ in rate})
    records = []
    for e in ends:
        for k in windows:
            s = e - k
            for c in currencies:
                end_side = rate[(c, e)] if fx_mode == "spot" else rate[(c, s)]
                records.append((e, k, s, c, rate[(c, s)], end_side))
    columns = list(zip(*records, strict=True)) if records else [[]] * 6
    return ibis.memtable(
        pa.table(
            {
                "e": pa.array(columns[0], pa.int64()),
                "k": pa.array(columns[1], pa.int64()),
                "s": pa.array(columns[2], pa.int64()),
                "currency": pa.array(columns[3], pa.string()),
                "rate_s": pa.array(columns[4], pa.decimal128(17, 9)),
                "rate_e": pa.array(columns[5], pa.decimal128(17, 9)),
            }
        )
    )


def _snapshots(lines: ir.Table, months: list[int]) -> ir.Table:
    """(customer_id, currency, m, local): `ledger.snapshot` at each of `months`, in one query."""
    live = live_lines(lines)
    calendar = ibis.memtable(pa.table({"m": pa.array(months, pa.int64())}))
    inside = live.join(
        calendar,
        (live.start_m <= calendar.m) & (live.end_m.isnull() | (live.end_m > calendar.m)),
    )
    return inside.group_by("customer_id", "currency", "m").agg(
        local=inside.mrr_local.sum().cast(LOCAL_SUM)
    )


def _per_customer(snaps: ir.Table, pairs: ir.Table) -> ir.Table:
    """(e, k, s, customer_id, s_s, s_e, e_e) for every customer active in s or in e."""
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    snap_s, pairs_s = snaps.view(), pairs.view()
    at_s = snap_s.join(
        pairs_s, [snap_s.m == pairs_s.s, snap_s.currency == pairs_s.currency]
    ).select(
        e=pairs_s.e,
        k=pairs_s.k,
        s=pairs_s.s,
        customer_id=snap_s.customer_id,
        s_s=convert(snap_s.local, pairs_s.rate_s),
        s_e=convert(snap_s.local, pairs_s.rate_e),
        e_e=zero,
    )
    snap_e, pairs_e = snaps.view(), pairs.view()
    at_e = snap_e.join(
        pairs_e, [snap_e.m == pairs_e.e, snap_e.currency == pairs_e.currency]
    ).select(
        e=pairs_e.e,
        k=pairs_e.k,
        s=pairs_e.s,
        customer_id=snap_e.customer_id,
        s_s=zero,
        s_e=zero,
        e_e=convert(snap_e.local, pairs_e.rate_e),
    )
    both = at_s.union(at_e, distinct=False)
    return both.group_by("e", "k", "s", "customer_id").agg(
        s_s=both.s_s.sum().cast(MONEY),
        s_e=both.s_e.sum().cast(MONEY),
        e_e=both.e_e.sum().cast(MONEY),
    )


def _with_segments(per_customer: ir.Table, book: Book, by: str | None, first: ir.Table) -> ir.Table:
    """Add `segment` to each (pair, customer) row, named as `attributes.segment_of` names it.

    Only tenure depends on the window: its band is measured to each pair's own start `s`."""
    names = attribute_names(by)
    if not names:
        return per_customer.mutate(segment=ibis.literal(ALL))
    t = per_customer.view().join(first, "customer_id")
    for index, name in enumerate(names):
        if name == "tenure":
            continue
        one = segment_of(first, by=name, customers=book.customers, first=first)
        one = one.rename({f"value_{index}": "segment"})
        t = t.view()
        t = t.left_join(one, "customer_id").select(
            *[t[c] for c in t.columns], one[f"value_{index}"]
        )
    # tenure_band(first_m, start) bands `start - first_m`; with start 0 and first_m shifted by
    # each pair's own s, it bands s - first_m for every pair in one expression.
    values = [
        tenure_band(t.first_m - t.s, 0) if name == "tenure" else t[f"value_{index}"]
        for index, name in enumerate(names)
    ]
    segment = values[0]
    for value in values[1:]:
        segment = segment.concat(PAIR, value)
    return t.select("e", "k", "s", "customer_id", "s_s", "s_e", "e_e", segment=segment)


def _aggregate(t: ir.Table) -> ir.Table:
    """The sums of `retention._aggregate`, grouped by pair and slice."""
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    in_c = t.s_s > 0
    kept = t.e_e > 0

    def total(condition: ir.BooleanValue, value: ir.NumericValue) -> ir.NumericValue:
        return ibis.ifelse(condition, value, zero).cast(MONEY).sum().cast(MONEY)

    return t.group_by("e", "k", "segment").agg(
        starting_mrr=total(in_c, t.s_s),
        ending_mrr=total(in_c, t.e_e),
        fx=total(in_c, t.s_e - t.s_s),
        expansion=total(in_c & (t.e_e > t.s_e), t.e_e - t.s_e),
        contraction=total(in_c & kept & (t.s_e > t.e_e), t.s_e - t.e_e),
        churn=total(in_c & ~kept, t.s_e),
        customers_start=as_count(in_c).sum(),
        customers_retained=as_count(in_c & kept).sum(),
    )


def _summed(found: dict[tuple[int, int, str], dict]) -> dict[tuple[int, int, str], dict]:
    """The slices' figures added up per (e, k), keyed as the book's own query keys them."""
    totals: dict[tuple[int, int, str], dict] = {}
    for (e, k, _), record in found.items():
        total = totals.setdefault((e, k, ALL), {})
        for name in (*_SUMS, "customers_start", "customers_retained"):
            total[name] = total.get(name, 0) + (record.get(name) or 0)
    return totals


def _point(e: int, k: int, segment: str | None, record: dict | None) -> TrendPoint:
    record = record or {}
    point = TrendPoint(
        month=month_label(e),
        window_months=k,
        segment=segment,
        customers_start=int(record.get("customers_start") or 0),
        customers_retained=int(record.get("customers_retained") or 0),
        **{name: as_decimal(record.get(name)) for name in _SUMS},
    )
    flows = point.starting_mrr + point.fx + point.expansion - point.contraction - point.churn
    if flows != point.ending_mrr:
        raise InternalError(
            f"the {k}-month window ending {point.month} ({segment or 'overall'}) does not add "
            f"up: {point.starting_mrr} + fx + expansion - contraction - churn = {flows} "
            f"!= {point.ending_mrr}"
        )
    return point


def trends(
    book: Book,
    *,
    end: str,
    start: str | None = None,
    windows: str | Iterable[int] = DEFAULT_WINDOWS,
    by: str | None = None,
    fx_mode: str = "spot",
) -> TrendResult:
    """Rolling retention: for each month `e` from `start` (default: 11 months before `end`) to
    `end` and each window length `k` in `windows`, the window of `Book.window(e, window=k,
    by=by, fx_mode=fx_mode)`, overall and (with `by`) per slice. Exact amounts."""
    end_m = parse_month(end, what="--end")
    start_m = end_m - 11 if start is None else parse_month(start, what="--start")
    if start_m > end_m:
        raise InputError(
            Problem(
                source="--start",
                message=f"{month_label(start_m)} is after --end {end}; give the months in order",
            )
        )
    lengths = parse_windows(windows)
    if fx_mode not in FX_MODES:
        raise InputError(
            Problem(source="--fx-mode", message=f"{fx_mode!r} is not spot or constant")
        )
    check_attribute(by, book.customers)

    ends = list(range(start_m, end_m + 1))
    months = sorted(set(ends) | {e - k for e in ends for k in lengths})
    per_customer = _per_customer(
        _snapshots(book.lines, months), _pairs(book, ends, lengths, fx_mode)
    )
    first = first_active(book.lines)

    def run(attribute: str | None) -> dict[tuple[int, int, str], dict]:
        table = _aggregate(_with_segments(per_customer, book, attribute, first))
        rows = table.to_pyarrow().to_pylist()
        return {(r["e"], r["k"], r["segment"]): r for r in rows}

    order = [(e, k) for e in ends for k in lengths]
    segments: tuple[TrendPoint, ...] = ()
    if by is None:
        totals = run(None)
    else:
        found = run(by)
        names = sorted({name for _, _, name in found})
        segments = tuple(
            _point(e, k, name, found.get((e, k, name))) for name in names for e, k in order
        )
        # Every customer is in exactly one slice, so the book's figures are the slices' sums:
        # one query serves both, as in `retention.window_metrics`.
        totals = _summed(found)
    overall = tuple(_point(e, k, None, totals.get((e, k, ALL))) for e, k in order)
    return TrendResult(
        start=month_label(start_m),
        end=month_label(end_m),
        currency=book.currency,
        fx_mode=fx_mode,
        windows=lengths,
        by=by,
        overall=overall,
        segments=segments,
    )
