"""The ranges of the whole numbers a user gives: window lengths, day counts, row limits.

A number outside its range is a mistake of the user (an `InputError` naming the option),
never a number an engine is left to overflow on: the engines hold months and days as 64-bit
integers, and a Python int has no bound at all.
"""

from __future__ import annotations

from nrr.errors import InputError, Problem

__all__ = ["MAX_DAYS", "MAX_MONTHS", "MAX_ROWS", "check_count", "check_months_count"]

# A century: longer than any business's history, and far inside every engine's integers.
MAX_MONTHS = 1200
MAX_DAYS = 36_500
MAX_ROWS = 1_000_000_000


def check_count(value: object, *, flag: str, low: int, high: int, unit: str) -> int:
    """`value` if it is a whole number from `low` to `high`; else an InputError naming `flag`.

    A bool is refused although Python counts it an int: `window=True` is a slip, not 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            Problem(
                source=flag,
                message=f"{value!r} is not a whole number of {unit}; give {low} to {high:,}",
            )
        )
    if not low <= value <= high:
        raise InputError(
            Problem(source=flag, message=f"{value} is out of range; give {low} to {high:,} {unit}")
        )
    return value


def check_months_count(value: object, *, flag: str = "--window") -> int:
    """A number of months: 1 to `MAX_MONTHS`."""
    return check_count(value, flag=flag, low=1, high=MAX_MONTHS, unit="months")
