"""Rounding for output only (results stay exact): money to cents and ratios to 4 places,
half to even."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["cents", "money_number", "ratio", "ratio_number", "rounded_numbers"]

_CENT = Decimal("0.01")
_RATIO = Decimal("0.0001")


def cents(value: Decimal) -> Decimal:
    # Adding zero turns a negative zero (-0.001 rounded) into plain 0.00.
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN) + 0


def ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_RATIO, rounding=ROUND_HALF_EVEN) + 0


def money_number(value: Decimal) -> float:
    """An amount for JSON: rounded to cents, then the shortest float that prints back as the
    same digits."""
    return float(cents(value))


def ratio_number(value: Decimal | None) -> float | None:
    """A ratio for JSON: rounded to 4 places; null when undefined."""
    rounded = ratio(value)
    return None if rounded is None else float(rounded)


def rounded_numbers(
    values: Mapping[str, object], keys: Iterable[str], ratios: Collection[str] = ()
) -> dict[str, object]:
    """`keys` of `values` for JSON: the `ratios` to 4 places, other amounts to cents, anything
    else as it is."""
    record: dict[str, object] = {}
    for key in keys:
        value = values[key]
        if key in ratios:
            record[key] = ratio_number(value)  # type: ignore[arg-type]
        elif isinstance(value, Decimal):
            record[key] = money_number(value)
        else:
            record[key] = value
    return record
