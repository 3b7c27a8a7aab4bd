"""Exchange rates: validation and the carry-forward rule.

`rate` is units of base currency for one unit of `currency` (METRICS.md section 1). The rate
of a month is that month's, else the latest earlier month's. Rates are kept to 9 decimal
places, which keeps every conversion exact in 38-digit decimals on every engine.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import Any

from nrr.engines.base import Engine
from nrr.errors import InputError, InternalError, Problem
from nrr.months import month_index, month_label
from nrr.sources.files import ROW, RawSource
from nrr.sql.render import Relation, bind, render, statement
from nrr.validate import DEFAULT_MAX_PROBLEMS

__all__ = [
    "MAX_TOTAL",
    "RATE",
    "RateBook",
    "check_coverage",
    "check_range",
    "load_rates",
]

RATE = "decimal(17, 9)"
# The supported range (docs/metrics.md, "Supported range"): a line's MRR below 10^10 in its
# currency (validate), a rate below 10^8, and every monthly total, per currency and in the base
# currency, below 10^15 (`check_range`). Amounts have 8 decimals and rates 9, so a product has
# 17 and MONEY's 18 hold it exactly.
MAX_TOTAL = 10**15
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

    def valued(self, currencies: list[str]) -> list[str]:
        """The currencies of `currencies` that have rates, sorted: a currency seen only on
        lines that never carry MRR needs no rate, and has none."""
        return sorted(c for c in set(currencies) if c == self.base or c in self.series)

    def rows(self, currencies: list[str], months: list[int]) -> list[tuple[str, int, Decimal]]:
        """(currency, month, rate) for each pair asked for, by `valuation_rate`."""
        return [(c, m, self.valuation_rate(c, m)) for c in self.valued(currencies) for m in months]


def load_rates(
    engine: Engine,
    raw: RawSource | None,
    *,
    base: str,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
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
    found = engine.fetch(
        f'SELECT "{ROW}", "month", currency, rate FROM ({raw.relation}) AS rates '
        f'ORDER BY "{ROW}" ASC NULLS LAST'
    ).records()
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


def check_coverage(
    engine: Engine, lines: Relation, rates: RateBook, *, source: str, rates_source: str | None
) -> None:
    """Every foreign currency has a rate in or before the first month it is in service
    (unless `rates_source` is None: quarantine has set those lines aside already), and every
    monthly total is within the supported range (`check_range`). One grouping serves both
    (`sql/checks/currency_totals.sql`). `lines` names the checked lines in `engine`."""
    per = _fetch(engine, "currency_totals", lines)
    problems = []
    for item in per if rates_source is not None else ():
        if item["currency"] == rates.base:
            continue
        have = rates.first_month(item["currency"])
        if have is None or have > item["first_m"]:
            month = month_label(item["first_m"])
            problems.append(
                Problem(
                    source=source,
                    row=int(item["first_row"]),
                    column="currency",
                    message=f"no exchange rate for {item['currency']} in {month} or any earlier "
                    f"month; add a row to {rates_source} (month={month}, currency="
                    f"{item['currency']}, rate = {rates.base} per 1 {item['currency']})",
                )
            )
    if problems:
        raise InputError(problems)
    totals = {r["currency"]: Decimal(r["total"]) for r in per}
    check_range(engine, lines, rates, totals, source=source)


def check_range(
    engine: Engine,
    lines: Relation,
    rates: RateBook,
    totals: dict[str, Decimal],
    *,
    source: str,
) -> None:
    """Every monthly total, per currency and in the base currency, is below MAX_TOTAL.

    Sums of MRR are typed for that range (`sql/metrics/bridge.sql`); past it they would
    overflow in the engine. One grouping of the lines bounds every total from above (all MRR
    in service at once, at each currency's highest rate); only a book near the limit is walked
    month by month, and only a book past it names the largest line of the month that crosses
    it.
    `lines` names the checked lines in `engine` and `totals` is each currency's sum of the MRR
    of its lines in service."""
    with localcontext(Context(prec=60)):
        bound = sum((t * _highest_rate(rates, c) for c, t in totals.items()), Decimal(0))
        if bound < MAX_TOTAL and all(t < MAX_TOTAL for t in totals.values()):
            return
        crossing = _first_crossing(engine, lines, rates)
    if crossing is None:
        return
    month, currency, total, in_base = crossing
    largest = _fetch(engine, "largest_line", lines, currency=currency, month=month)[0]
    where = f"in {rates.base} at {month_label(month)}'s rates" if in_base else f"in {currency}"
    raise InputError(
        Problem(
            source=source,
            row=int(largest["_row"]),
            column="amount",
            message=f"the MRR in service in {month_label(month)} adds up to {total:,.2f} "
            f"{where}, beyond the supported 10^15 a month; this {currency} line is the "
            "largest of them: check its amount and interval"
            + (f" and the {currency} rate" if in_base and currency != rates.base else "")
            + " (docs/metrics.md, Supported range)",
        )
    )


def _fetch(engine: Engine, name: str, lines: Relation, **params: Any) -> list[dict[str, Any]]:
    query = bind(statement(f"checks/{name}.sql"), tables={"lines": lines}, params=params)
    return engine.fetch(render(query, engine.dialect)).records()


def _highest_rate(rates: RateBook, currency: str) -> Decimal:
    if currency == rates.base:
        return Decimal(1)
    points = rates.series.get(currency)
    # A currency without rates fails `check_coverage`; 10^8 is above every rate.
    return max(p[1] for p in points) if points else Decimal(10) ** 8


def _first_crossing(
    engine: Engine, lines: Relation, rates: RateBook
) -> tuple[int, str, Decimal, bool] | None:
    """(month, currency, total, in base) of the first month a total reaches MAX_TOTAL."""
    net = _fetch(engine, "currency_changes", lines)
    if not net:
        return None
    changes: dict[int, list[tuple[str, Decimal]]] = {}
    for r in net:
        changes.setdefault(int(r["change_m"]), []).append((r["currency"], Decimal(r["delta"])))
    rate_months = [m for points in rates.series.values() for m, _ in points]
    first = min(changes)
    last = max([*changes, *rate_months])
    level: dict[str, Decimal] = {}
    for month in range(first, last + 1):
        for currency, delta in changes.get(month, ()):
            level[currency] = level.get(currency, Decimal(0)) + delta
        for currency, local in level.items():
            if local >= MAX_TOTAL:
                return month, currency, local, False
        valued = {c: v * rates.valuation_rate(c, month) for c, v in level.items() if v}
        if valued and sum(valued.values()) >= MAX_TOTAL:
            largest = max(valued, key=lambda c: valued[c])
            return month, largest, sum(valued.values()), True
    return None
