"""Trends: rolling NRR, GRR and logo retention as monthly series (docs/trends-and-cohorts.md).

A series point is the window of METRICS.md section 4 that ends in month `e` and is `k` months
long (start `s = e - k`), exactly as `Book.window(e, window=k)` computes it. Every point's
figures come from one statement on the book's engine (`rolling.figures`,
`sql/analysis/rolling.sql`), whose cost grows with the lines' changes, not with customers x
points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal, localcontext

import pandas as pd

from nrr.analysis.rolling import figures
from nrr.attributes import ALL, check_attribute
from nrr.book import Book
from nrr.errors import InputError, InternalError, Problem
from nrr.limits import MAX_MONTHS
from nrr.metrics.window import FX_MODES
from nrr.months import month_label, parse_month
from nrr.results import EXACT, as_decimal, ratio_of

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
        from nrr.records.trends import trend_records

        return pd.DataFrame(trend_records(self))


def parse_windows(text: str | Iterable[int]) -> tuple[int, ...]:
    """Window lengths from `1,3,12` (or a sequence of ints): positive, distinct, in order given."""
    if isinstance(text, str):
        items: list[object] = [part.strip() for part in text.split(",")]
    elif isinstance(text, Iterable):
        items = list(text)
    else:
        items = [text]  # windows=12 from Python: one length, checked as the others
    lengths: list[int] = []
    for item in items:
        try:
            # Only text or a whole number is a length: int() would take 1.5 or True as 1.
            whole = isinstance(item, str | int) and not isinstance(item, bool)
            value = int(item) if whole else 0
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_MONTHS:
            raise InputError(
                Problem(
                    source="--windows",
                    message=f"{item!r} is not a positive number of months up to {MAX_MONTHS:,}; "
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


def _summed(found: dict[tuple[int, int, str], dict]) -> dict[tuple[int, int, str], dict]:
    """The slices' figures added up per (e, k), keyed as the book's own query keys them."""
    totals: dict[tuple[int, int, str], dict] = {}
    with localcontext(EXACT):
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
    with localcontext(EXACT):
        flows = point.starting_mrr + point.fx + point.expansion - point.contraction - point.churn
    if flows != point.ending_mrr:
        raise InternalError(
            f"the {k}-month window ending {point.month} ({segment or 'overall'}) does not add "
            f"up: {point.starting_mrr} + fx + expansion - contraction - churn = {flows} "
            f"!= {point.ending_mrr}"
        )
    return point


def _taken(
    within: TrendResult, ends: list[int], lengths: tuple[int, ...], fx_mode: str
) -> TrendResult | None:
    """The whole-book points of `ends` x `lengths` from `within`, or None if it lacks one.

    A sliced series is never taken this way: it lists the slices found in its own windows,
    which a wider series may not."""
    if within.by is not None or within.fx_mode != fx_mode:
        return None
    points = {(p.month, p.window_months): p for p in within.overall}
    wanted = [(month_label(e), k) for e in ends for k in lengths]
    if any(key not in points for key in wanted):
        return None
    return TrendResult(
        start=month_label(ends[0]),
        end=month_label(ends[-1]),
        currency=within.currency,
        fx_mode=fx_mode,
        windows=lengths,
        by=None,
        overall=tuple(points[key] for key in wanted),
        segments=(),
    )


def trends(
    book: Book,
    *,
    end: str,
    start: str | None = None,
    windows: str | Iterable[int] = DEFAULT_WINDOWS,
    by: str | None = None,
    fx_mode: str = "spot",
    within: TrendResult | None = None,
) -> TrendResult:
    """Rolling retention: for each month `e` from `start` (default: 11 months before `end`) to
    `end` and each window length `k` in `windows`, the window of `Book.window(e, window=k,
    by=by, fx_mode=fx_mode)`, overall and (with `by`) per slice. Exact amounts.

    `within`: an earlier whole-book result of this book; when it holds every point asked for
    (same fx mode, no `by`), they are taken from it instead of computed again."""
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
    check_attribute(by, book.customer_columns)

    ends = list(range(start_m, end_m + 1))
    if within is not None and by is None:
        found_before = _taken(within, ends, lengths, fx_mode)
        if found_before is not None:
            return found_before
    found = figures(book, ends, lengths, by, fx_mode)

    order = [(e, k) for e in ends for k in lengths]
    segments: tuple[TrendPoint, ...] = ()
    if by is None:
        totals = found
    else:
        slices = sorted({name for _, _, name in found})
        segments = tuple(
            _point(e, k, name, found.get((e, k, name))) for name in slices for e, k in order
        )
        # Every customer is in exactly one slice, so the book's figures are the slices' sums:
        # one query serves both, as in `nrr.metrics.window.window_metrics`.
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
