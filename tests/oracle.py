"""A brute-force reference implementation of METRICS.md, for tests only.

It expands every line into every month and follows each definition literally, in exact
Decimal arithmetic: slow, obvious, and independent of the engine's delta algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)
# The money sums of a window (METRICS.md section 4), written out here so the oracle owes
# nothing to the code it checks.
WINDOW_SUMS = (
    "starting_mrr",
    "ending_mrr",
    "fx",
    "expansion",
    "contraction",
    "churn",
    "new_mrr",
    "reactivation_mrr",
)


@dataclass(frozen=True)
class Line:
    customer: str
    start: date
    end: date | None
    mrr: Decimal  # local currency per month
    currency: str
    product: str = "default"


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def in_service(line: Line, month: int) -> bool:
    # start_date <= last_day(m) < end_date  <=>  month(start) <= m < month(end)
    return month_of(line.start) <= month and (line.end is None or month < month_of(line.end))


class Oracle:
    def __init__(
        self,
        lines: list[Line],
        rates: dict[str, dict[int, Decimal]],
        base: str = "USD",
        attributes: dict[str, str] | None = None,
    ):
        self.lines = lines
        self.rates = rates
        self.base = base
        self.attributes = attributes or {}
        self.customers = sorted({line.customer for line in lines})

    def rate(self, currency: str, month: int) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        known = [m for m in self.rates[currency] if m <= month]
        if not known:
            return self.rates[currency][min(self.rates[currency])]
        return self.rates[currency][max(known)]

    def mrr(self, customer: str, month: int, rates_month: int) -> Decimal:
        return sum(
            (
                line.mrr * self.rate(line.currency, rates_month)
                for line in self.lines
                if line.customer == customer and in_service(line, month)
            ),
            ZERO,
        )

    def first_active(self, customer: str) -> int | None:
        months = [
            month_of(line.start)
            for line in self.lines
            if line.customer == customer
            and line.mrr > 0
            and (line.end is None or month_of(line.end) > month_of(line.start))
        ]
        return min(months) if months else None

    def segment(self, customer: str, by: str | None, start: int | None = None) -> str:
        if by is None:
            return "(all)"
        if by == "cohort":
            first = self.first_active(customer)
            return "(none)" if first is None else f"{first // 12:04d}-{first % 12 + 1:02d}"
        return self.attributes.get(customer, "(none)")

    def bridge(self, month: int, by: str | None = None) -> dict[str, dict[str, Decimal | int]]:
        out: dict[str, dict[str, Decimal | int]] = {}
        for c in self.customers:
            seg = out.setdefault(
                self.segment(c, by),
                {
                    k: ZERO
                    for k in (
                        "starting_mrr",
                        "fx",
                        "new",
                        "reactivation",
                        "expansion",
                        "contraction",
                        "churn",
                        "ending_mrr",
                    )
                }
                | {"active_customers": 0},
            )
            # Movements in constant currency at the opening month's rates; fx revalues the
            # closing position (METRICS.md section 3).
            prev = self.mrr(c, month - 1, month - 1)
            cur = self.mrr(c, month, month - 1)
            closing = self.mrr(c, month, month)
            seg["starting_mrr"] += prev
            seg["fx"] += closing - cur
            seg["ending_mrr"] += closing
            seg["active_customers"] += 1 if closing > 0 else 0
            if prev == 0 and cur > 0:
                first = self.first_active(c)
                seg["new" if first == month else "reactivation"] += cur
            elif 0 < prev < cur:
                seg["expansion"] += cur - prev
            elif 0 < cur < prev:
                seg["contraction"] += prev - cur
            elif prev > 0 and cur == 0:
                seg["churn"] += prev
        return out

    def window(
        self, end: int, k: int, by: str | None = None, fx_mode: str = "spot"
    ) -> dict[str, dict[str, Decimal | int]]:
        s = end - k
        e_rates = end if fx_mode == "spot" else s
        out: dict[str, dict[str, Decimal | int]] = {}
        for c in self.customers:
            s_s = self.mrr(c, s, s)
            e_s = self.mrr(c, end, s)
            e_e = self.mrr(c, end, e_rates)
            if s_s == 0 and e_e == 0:
                continue
            seg = out.setdefault(
                self.segment(c, by, s),
                dict.fromkeys(WINDOW_SUMS, ZERO) | {"customers_start": 0, "customers_retained": 0},
            )
            if s_s > 0:
                seg["starting_mrr"] += s_s
                seg["ending_mrr"] += e_e
                seg["fx"] += e_e - e_s
                seg["customers_start"] += 1
                if e_e > 0:
                    seg["customers_retained"] += 1
                    seg["expansion"] += max(e_s - s_s, ZERO)
                    seg["contraction"] += max(s_s - e_s, ZERO)
                else:
                    seg["churn"] += s_s
            else:
                first = self.first_active(c)
                seg["new_mrr" if first > s else "reactivation_mrr"] += e_e
        return out

    # --- line-level slices (METRICS.md section 4, "Line-level slices: --by product") ---

    def mrr_of(self, customer: str, product: str, month: int, rates_month: int) -> Decimal:
        return sum(
            (
                line.mrr * self.rate(line.currency, rates_month)
                for line in self.lines
                if line.customer == customer
                and line.product == product
                and line.mrr > 0
                and in_service(line, month)
            ),
            ZERO,
        )

    def products_in_service(self, months: list[int]) -> list[str]:
        return sorted(
            {
                line.product
                for line in self.lines
                if line.mrr > 0 and any(in_service(line, m) for m in months)
            }
        )

    def product_window(self, end: int, k: int, fx_mode: str = "spot") -> dict[str, dict]:
        s = end - k
        e_rates = end if fx_mode == "spot" else s
        out: dict[str, dict] = {}
        for v in self.products_in_service([s, end]):
            seg = dict.fromkeys(WINDOW_SUMS, ZERO) | {"customers_start": 0, "customers_retained": 0}
            for c in self.customers:
                in_c = self.mrr(c, s, s) > 0
                kept = self.mrr(c, end, end) > 0
                v_s = self.mrr_of(c, v, s, s)
                v_e_s = self.mrr_of(c, v, end, s)
                v_e = self.mrr_of(c, v, end, e_rates)
                if in_c:
                    seg["starting_mrr"] += v_s
                    seg["ending_mrr"] += v_e
                    seg["fx"] += v_e - v_e_s
                    if kept:
                        seg["expansion"] += max(v_e_s - v_s, ZERO)
                        seg["contraction"] += max(v_s - v_e_s, ZERO)
                    else:
                        seg["churn"] += v_s
                    if v_s > 0:
                        seg["customers_start"] += 1
                        seg["customers_retained"] += 1 if v_e > 0 else 0
                elif kept:
                    first = self.first_active(c)
                    seg["new_mrr" if first > s else "reactivation_mrr"] += v_e
            out[v] = seg
        return out

    def product_bridge(self, month: int, first_shown: int, last_shown: int) -> dict[str, dict]:
        out: dict[str, dict] = {}
        shown = list(range(first_shown - 1, last_shown + 1))
        for v in self.products_in_service(shown):
            seg = dict.fromkeys(
                ("starting_mrr", "fx", "new", "reactivation", "expansion", "contraction", "churn"),
                ZERO,
            ) | {"ending_mrr": ZERO, "active_customers": 0}
            for c in self.customers:
                was = self.mrr(c, month - 1, month - 1) > 0
                now = self.mrr(c, month, month) > 0
                prev = self.mrr_of(c, v, month - 1, month - 1)
                cur = self.mrr_of(c, v, month, month - 1)
                closing = self.mrr_of(c, v, month, month)
                seg["starting_mrr"] += prev
                seg["fx"] += closing - cur
                seg["ending_mrr"] += closing
                seg["active_customers"] += 1 if closing > 0 else 0
                if not was and now:
                    first = self.first_active(c)
                    seg["new" if first == month else "reactivation"] += cur
                elif was and not now:
                    seg["churn"] += prev
                elif was and now:
                    seg["expansion"] += max(cur - prev, ZERO)
                    seg["contraction"] += max(prev - cur, ZERO)
            out[v] = seg
        return out
