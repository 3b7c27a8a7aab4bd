"""Exchange rates: validation, the carry-forward rule, and rate tables for the engine.

`rate` is units of base currency for one unit of `currency` (METRICS.md section 1). The rate
of a month is that month's, else the latest earlier month's. Rates are kept to 9 decimal
places, which keeps every conversion exact in 38-digit decimals on every engine.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import ibis.expr.types as ir

from nrr.errors import InputError, InternalError, Problem
from nrr.fetch import records, values_table
from nrr.months import month_index, month_label
from nrr.sources.files import ROW, RawSource
from nrr.validate import DEFAULT_MAX_PROBLEMS, MONEY

__all__ = ["RATE", "RateBook", "check_coverage", "convert", "load_rates"]

RATE = "decimal(17, 9)"
# A customer's local MRR in one currency, widened to the rate's scale so the product is exact:
# 8 decimals x 9 decimals fits 17, and 20 + 17 digits stays within every engine's 38.
_LOCAL_AT_RATE_SCALE = "decimal(20, 9)"
_RATE_QUANTUM = Decimal("0.000000001")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})(-[0-9]{2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class RateBook:
    """Monthly rates per currency, sorted by month; the base currency is always 1."""

    base: str
    series: dict[str, tuple[tuple[int, Decimal], ...]] = field(default_factory=dict)

    def first_month(self, currency: str) -> int | None:
        points = self.series.get(currency)
        return points[0][0] if points else None

    def first_months(self) -> dict[str, int]:
        """Each currency's first month with a rate."""
        return {c: points[0][0] for c, points in self.series.items() if points}

    def rate(self, currency: str, month: int) -> Decimal | None:
        """The rate in force in `month` (carried forward), or None before the first rate."""
        if currency == self.base:
            return Decimal(1)
        points = self.series.get(currency)
        if not points:
            return None
        at = bisect.bisect_right(points, month, key=lambda p: p[0])
        return points[at - 1][1] if at else None

    def valuation_rate(self, currency: str, month: int) -> Decimal:
        """The rate for valuing revenue at `month`'s rates.

        Only constant-currency windows ask for a month before a currency's first rate (new
        revenue in a currency not yet in use at the window start); the first known rate is
        the closest fact there is, so it stands in.
        """
        rate = self.rate(currency, month)
        if rate is None:
            points = self.series.get(currency)
            if not points:
                raise InternalError(
                    f"no exchange rate at all for {currency}; coverage was not checked"
                )
            rate = points[0][1]
        return rate

    def rows(self, currencies: list[str], months: list[int]) -> list[tuple[str, int, Decimal]]:
        """(currency, month, rate) for each pair asked for, by `valuation_rate`."""
        # A currency seen only on lines that never carry MRR needs no rate, and has none.
        valued = sorted(c for c in set(currencies) if c == self.base or c in self.series)
        return [(c, m, self.valuation_rate(c, m)) for c in valued for m in months]

    def table(self, like: ir.Table, currencies: list[str], months: list[int]) -> ir.Table:
        """The `rows` as a (currency, month, rate) table on the engine that computes `like`."""
        rows = self.rows(currencies, months)
        return values_table(
            like,
            {
                "currency": ("string", [r[0] for r in rows]),
                "month": ("int64", [r[1] for r in rows]),
                "rate": (str(RATE), [r[2] for r in rows]),
            },
        )


def convert(local: ir.NumericValue, rate: ir.NumericValue) -> ir.NumericValue:
    """Local MRR times a rate, in base currency, exactly (no rounding)."""
    return (local.cast(_LOCAL_AT_RATE_SCALE) * rate.cast(RATE)).cast(MONEY)


def load_rates(
    raw: RawSource | None, *, base: str, max_problems: int = DEFAULT_MAX_PROBLEMS
) -> RateBook:
    """Validate an fx_rates source (small: it is checked in Python) into a RateBook."""
    if raw is None:
        return RateBook(base=base)
    missing = [c for c in ("month", "currency", "rate") if c not in raw.columns]
    if missing:
        raise InputError(
            Problem(
                source=raw.name,
                message=f"missing required column(s) {', '.join(missing)} for the fx_rates input; "
                "expected columns: month (YYYY-MM), currency (ISO code), "
                "rate (base units per unit)",
            )
        )
    found = records(raw.table.select(ROW, "month", "currency", "rate").order_by(ROW))
    problems: list[Problem] = []
    seen: dict[tuple[str, int], int] = {}
    series: dict[str, list[tuple[int, Decimal]]] = {}
    for record in found:
        row = record[ROW]
        month_text = (record["month"] or "").strip()
        currency = (record["currency"] or "").strip().upper()
        rate_text = (record["rate"] or "").strip()

        def problem(column: str, message: str, row: int = row) -> None:
            problems.append(Problem(source=raw.name, row=row, column=column, message=message))

        match = _MONTH.match(month_text)
        month = None
        if match and 1 <= int(match.group(2)) <= 12 and _valid_day(month_text):
            month = month_index(int(match.group(1)), int(match.group(2)))
        else:
            problem("month", f"month {month_text!r} is not a month; write it as YYYY-MM")
        if not _CURRENCY.match(currency):
            problem("currency", f"currency {currency!r} is not an ISO 4217 code such as EUR")
        rate = _parse_rate(rate_text)
        if rate is None:
            problem(
                "rate",
                f"rate {rate_text!r} is not a number between 0 and 100,000,000; give units of "
                f"{base} per one unit of the currency",
            )
        if month is None or not _CURRENCY.match(currency) or rate is None:
            continue
        if currency == base:
            continue  # the base currency's rate is 1 by definition
        if (currency, month) in seen:
            first = seen[(currency, month)]
            problem(
                "month",
                f"a second rate for {currency} in {month_label(month)} (first on row {first}); "
                "keep one rate per currency and month",
            )
            continue
        seen[(currency, month)] = row
        series.setdefault(currency, []).append((month, rate))
    if problems:
        note = None
        if len(problems) > max_problems:
            note = (
                f"{raw.name}: {len(problems)} problems; the first {max_problems} are listed above"
            )
        raise InputError(problems[:max_problems], note=note)
    return RateBook(base=base, series={c: tuple(sorted(p)) for c, p in series.items()})


def _valid_day(text: str) -> bool:
    if len(text) == 7:
        return True
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_rate(text: str) -> Decimal | None:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0 or rate >= Decimal(10) ** 8:
        return None
    rate = rate.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
    return rate if rate > 0 else None


def check_coverage(lines: ir.Table, rates: RateBook, *, source: str, rates_source: str) -> None:
    """Every foreign currency needs a rate in or before the first month it is in service."""
    foreign = lines.filter(
        (lines.currency != rates.base)
        & (lines.mrr_local > 0)
        & (lines.end_m.isnull() | (lines.end_m > lines.start_m))
    )
    firsts = records(
        foreign.group_by("currency")
        .agg(
            first=foreign.start_m.min(),
            row=foreign[ROW].argmin(foreign.start_m * 10**12 + foreign[ROW]),
        )
        .order_by("currency")
    )
    problems = []
    for item in firsts:
        have = rates.first_month(item["currency"])
        if have is None or have > item["first"]:
            month = month_label(item["first"])
            problems.append(
                Problem(
                    source=source,
                    row=item["row"],
                    column="currency",
                    message=f"no exchange rate for {item['currency']} in {month} or any earlier "
                    f"month; add a row to {rates_source} (month={month}, currency="
                    f"{item['currency']}, rate = {rates.base} per 1 {item['currency']})",
                )
            )
    if problems:
        raise InputError(problems)
