"""Result objects: exact (unrounded) figures, as the engine computed them.

Amounts are `Decimal` in the base currency; presentation rounds them to cents, half to
even, and never before (METRICS.md, fine print).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from decimal import Context, Decimal
from typing import Any

__all__ = [
    "ARR_FACTOR",
    "EXACT",
    "BridgeMonth",
    "RetentionFigures",
    "WindowResult",
    "as_decimal",
    "in_arr",
    "ratio_of",
]

ARR_FACTOR = Decimal(12)


# Money arithmetic in Python: sums and differences of decimal(38, 18) amounts need up to 38
# digits and more, where the default context keeps 28 and would round (a bridge of 12-digit
# base-currency amounts then failed its own identity check).
EXACT = Context(prec=100)


def ratio_of(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator, or None when the denominator is 0."""
    # An empty cohort has no retention: null, never 0 or 1 (METRICS.md section 4).
    return None if denominator == 0 else numerator / denominator


@dataclass(frozen=True)
class RetentionFigures:
    """Window metrics of METRICS.md section 4 for one cohort (the whole book or one slice)."""

    starting_mrr: Decimal
    ending_mrr: Decimal
    fx: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    customers_start: int
    customers_retained: int
    new_mrr: Decimal
    reactivation_mrr: Decimal

    @property
    def nrr(self) -> Decimal | None:
        return ratio_of(self.ending_mrr, self.starting_mrr)

    @property
    def grr(self) -> Decimal | None:
        return ratio_of(self.starting_mrr - self.contraction - self.churn, self.starting_mrr)

    @property
    def logo_retention(self) -> Decimal | None:
        return ratio_of(Decimal(self.customers_retained), Decimal(self.customers_start))

    def as_dict(self) -> dict[str, Decimal | int | None]:
        values: dict[str, Decimal | int | None] = {
            f.name: getattr(self, f.name) for f in fields(self)
        }
        values["nrr"], values["grr"] = self.nrr, self.grr
        values["logo_retention"] = self.logo_retention
        return values


@dataclass(frozen=True)
class WindowResult:
    """Retention over the window `start` -> `end` (month labels `YYYY-MM`)."""

    start: str
    end: str
    window_months: int
    currency: str
    fx_mode: str
    by: str | None
    overall: RetentionFigures
    segments: tuple[tuple[str, RetentionFigures], ...]


@dataclass(frozen=True)
class BridgeMonth:
    """One month of the MRR bridge (METRICS.md section 3), for the book or one slice."""

    month: str
    segment: str | None
    starting_mrr: Decimal
    fx: Decimal
    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    ending_mrr: Decimal
    active_customers: int

    def as_dict(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.segment is None:
            del values["segment"]
        return values


def as_decimal(value: object) -> Decimal:
    """Engines return decimals as Decimal, ints or floats; money arithmetic wants Decimal."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def in_arr(result: Any) -> Any:
    """A copy of a result with every amount as ARR (12 x MRR); ratios and counts unchanged.

    Every `Decimal` field of a result dataclass is an amount, except the fields its class lists
    in `NOT_MONEY` (ratios or rates kept as fields). Ratios computed as properties follow from
    the scaled amounts, unchanged.
    """
    if isinstance(result, Decimal):
        return result * ARR_FACTOR
    if is_dataclass(result) and not isinstance(result, type):
        keep = getattr(result, "NOT_MONEY", frozenset())
        changes = {
            f.name: in_arr(getattr(result, f.name))
            for f in fields(result)
            if f.name not in keep and f.init
        }
        return replace(result, **changes)
    if isinstance(result, tuple):
        return tuple(in_arr(item) for item in result)
    if isinstance(result, list):
        return [in_arr(item) for item in result]
    if isinstance(result, dict):
        return {key: in_arr(value) for key, value in result.items()}
    return result
