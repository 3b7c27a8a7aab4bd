"""Months as integers.

A month is stored as `year * 12 + (month - 1)`, so consecutive months differ by one,
window arithmetic is plain integer arithmetic, and every engine compares them the same way.
"""

from __future__ import annotations

import re
from datetime import date

from nrr.errors import InputError, Problem

__all__ = ["month_index", "month_label", "parse_month"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def month_label(index: int) -> str:
    year, month0 = divmod(index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def month_of(day: date) -> int:
    return month_index(day.year, day.month)


def parse_month(text: str, *, what: str = "month") -> int:
    """Parse `YYYY-MM` into a month index, or raise an InputError naming the argument."""
    match = _MONTH.match(text.strip()) if isinstance(text, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InputError(
            Problem(
                source=what,
                message=f"{text!r} is not a month; write it as YYYY-MM, for example 2024-06",
            )
        )
    return month_index(int(match.group(1)), int(match.group(2)))
