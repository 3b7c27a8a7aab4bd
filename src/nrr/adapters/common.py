"""Parsing helpers shared by the adapters: column aliases, dates and timestamps, numbers."""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, Problem
from nrr.sources.files import ROW, RawSource

__all__ = [
    "DAYS_PER_MONTH",
    "NUMBER",
    "add_days",
    "blank",
    "column_of",
    "date_of",
    "header_key",
    "require",
    "show",
    "text",
]

# 365.25 / 12: the contract's own example (an invoice line covering 374 days is 12.2875).
DAYS_PER_MONTH = "30.4375"
NUMBER = "decimal(38, 10)"
_ISO_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


def show(value: str | None) -> str:
    return "empty" if value is None or value.strip() == "" else repr(value)


def header_key(name: str) -> str:
    """A Dashboard-style header as an API-style name: `Current Period End (UTC)` ->
    `current_period_end`, `segment (metadata)` -> `segment_metadata`."""
    key = name.strip().lower().replace("(utc)", "")
    key = re.sub(r"[^0-9a-z]+", "_", key).strip("_")
    return key or name


def column_of(raw: RawSource, *aliases: str) -> str | None:
    """The first of `aliases` the source has (names are already lower-case)."""
    for alias in aliases:
        if alias in raw.columns:
            return alias
    return None


def require(raw: RawSource, role: str, **needed: tuple[str, ...]) -> dict[str, str]:
    """Resolve each required field to a source column, or fail naming what was looked for."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for field, aliases in needed.items():
        column = column_of(raw, *aliases)
        if column is None:
            missing.append(" or ".join(aliases))
        else:
            found[field] = column
    if missing:
        have = ", ".join(c for c in raw.columns if c != ROW) or "none"
        raise InputError(
            Problem(
                source=raw.name,
                message=f"missing required column(s) for the {role} format: "
                f"{'; '.join(missing)} (found: {have})",
            )
        )
    return found


def text(raw: RawSource, column: str | None) -> ir.StringValue:
    if column is None:
        return ibis.literal("", "string")
    # Empty stays empty, never NULL, so that every check is a definite true or false.
    return raw.table[column].strip().fill_null("")


def blank(value: ir.StringValue) -> ir.BooleanValue:
    return value.isnull() | (value == "")


def date_of(value: ir.StringValue) -> ir.DateValue:
    """A date from `YYYY-MM-DD`, an ISO timestamp (`2024-01-31T10:00:00Z`, `2024-01-31 10:00`)
    or Unix epoch seconds as Stripe's API gives them (UTC); null when unreadable."""
    epoch = value.re_search(r"^[0-9]{9,11}$")
    iso = value.re_search(_ISO_PREFIX)
    return ibis.cases(
        (epoch, ibis.date(1970, 1, 1) + (value.try_cast("int64") // 86400).as_interval("D")),
        (iso, value.left(10).try_cast("date")),
        else_=ibis.null("date"),
    )


def add_days(day: ir.DateValue, days: int) -> ir.DateValue:
    """`day` plus whole days, as a date (some engines turn date + interval into a timestamp,
    whose text would no longer be an ISO date)."""
    return (day + ibis.interval(days=days)).cast("string").left(10).cast("date")
