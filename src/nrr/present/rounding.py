"""Rounding for presentation only: money to cents and ratios to 4 places, half to even."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["cents", "ratio"]

_CENT = Decimal("0.01")
_RATIO = Decimal("0.0001")


def cents(value: Decimal) -> Decimal:
    # Adding zero turns a negative zero (-0.001 rounded) into plain 0.00.
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN) + 0


def ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_RATIO, rounding=ROUND_HALF_EVEN) + 0
