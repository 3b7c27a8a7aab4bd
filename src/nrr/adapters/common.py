"""Parsing helpers shared by the adapters: column aliases, dates and timestamps, numbers.

The value helpers take and return SQL expressions (DuckDB's dialect), as `nrr.parsing`."""

from __future__ import annotations

import re

from nrr import sqltext
from nrr.errors import InputError, Problem
from nrr.parsing import column as _column
from nrr.sources.files import ROW, RawSource

__all__ = [
    "DAYS_PER_MONTH",
    "MONTH_DAYS",
    "NUMBER",
    "add_days",
    "blank",
    "column_of",
    "date_of",
    "decimal_of",
    "flag_of",
    "header_key",
    "require",
    "show",
    "text",
    "whole_of",
]

# 365.25 / 12: the contract's own example (an invoice line covering 374 days is 12.2875).
DAYS_PER_MONTH = "30.4375"
# The same as a fraction, 487 / 16: a line priced per day carries its amount x 487 over its
# days x 16, so that the canonical check divides once, exactly (`validate`), instead of the
# adapter dividing by a rounded 30.4375ths of a month.
MONTH_DAYS = (487, 16)
NUMBER = "decimal(38, 10)"
# A date, then optionally a time (seconds, fractions) and a zone, as Stripe's Dashboard, Sigma
# and SQL exports write timestamps: 2024-01-31, 2024-01-31 10:00, 2024-01-31T10:00:00.000Z,
# 2024-01-31 10:00:00+00:00, 2024-01-31 10:00:00 UTC. Only the date is used, as written.
_ISO = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
    r"( ?(Z|UTC|[+-][0-9]{2}:?[0-9]{2}))?)?$"
)
# Unix time in seconds (1973 to 5138), as Stripe's API writes every timestamp.
_EPOCH = r"^[0-9]{9,11}$"
_SPACE = " \t\n\r\x0b\x0c"  # what a trim removes


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


def text(raw: RawSource, column: str | None) -> str:
    """The column's text trimmed; empty stays empty, never NULL, so that every check is a
    definite true or false. A column the source lacks is empty."""
    if column is None:
        return "''"
    return f"COALESCE(TRIM({_column(column)}, {sqltext.string(_SPACE)}), '')"


def blank(value: str) -> str:
    return f"({value} IS NULL OR {value} = '')"


def date_of(value: str) -> str:
    """A date from `YYYY-MM-DD`, an ISO timestamp (`2024-01-31T10:00:00Z`, `2024-01-31 10:00`)
    or Unix epoch seconds as Stripe's API gives them (UTC); NULL when unreadable, also when
    anything but a time follows the date (`2024-01-31x` is not read as January 31)."""
    # Whole days since 1970 by FLOOR of a double quotient: exact for the 9 to 11 digits the
    # pattern lets through (below 2^53).
    return (
        f"CASE WHEN REGEXP_MATCHES({value}, {sqltext.string(_EPOCH)}) "
        "THEN CAST(MAKE_DATE(1970, 1, 1) + TO_DAYS(CAST(FLOOR("
        f"CAST(TRY_CAST({value} AS BIGINT) AS DOUBLE) / CAST(86400 AS DOUBLE)) AS BIGINT)) "
        "AS DATE) "
        f"WHEN REGEXP_MATCHES({value}, {sqltext.string(_ISO)}) "
        f"THEN TRY_CAST(SUBSTRING({value}, 1, 10) AS DATE) "
        "ELSE CAST(NULL AS DATE) END"
    )


def add_days(day: str, days: int) -> str:
    """`day` plus whole days, as a date (some engines turn date + interval into a timestamp,
    whose text would no longer be an ISO date)."""
    return f"CAST(SUBSTRING(CAST({day} + INTERVAL {int(days):d} DAY AS VARCHAR), 1, 10) AS DATE)"


def decimal_of(value: str, *, digits: int, decimals: int, negative: bool = False) -> str:
    """Plain decimal digits (`1234.5`, at most `digits` before the point and `decimals` after
    it, a leading `-` only when `negative`) as DECIMAL(38, decimals), exactly; NULL for
    anything else. Not `1e3`, `+5`, `.5`, `1_000` or `1,000`, which the engine's cast would
    read, nor more decimals than the field has, which it would round."""
    sign = "-?" if negative else ""
    pattern = f"^{sign}[0-9]{{1,{int(digits)}}}(\\.[0-9]{{1,{int(decimals)}}})?$"
    kind = f"DECIMAL(38, {int(decimals):d})"
    return (
        f"CASE WHEN REGEXP_MATCHES({value}, {sqltext.string(pattern)}) "
        f"THEN TRY_CAST({value} AS {kind}) ELSE CAST(NULL AS {kind}) END"
    )


def whole_of(value: str, *, digits: int) -> str:
    """A whole number >= 0 of at most `digits` digits, as BIGINT; `2.0` is 2, as a data
    pipeline that went through floating point writes it; NULL for anything else (the
    engine's cast would round `1.5` to 2 and read `0x1F` as 31)."""
    pattern = f"^[0-9]{{1,{int(digits)}}}(\\.0+)?$"
    whole = f"REGEXP_EXTRACT({value}, {sqltext.string(f'^([0-9]{{1,{int(digits)}}})')}, 1)"
    return (
        f"CASE WHEN REGEXP_MATCHES({value}, {sqltext.string(pattern)}) "
        f"THEN CAST({whole} AS BIGINT) ELSE CAST(NULL AS BIGINT) END"
    )


def flag_of(value: str) -> str:
    """Stripe's booleans: `true` or `false` in any case (the API and CSV exports write them
    lower-case, a spreadsheet re-saves them as TRUE/FALSE), `1` or `0` (Sigma and data
    warehouses), empty for false; NULL for anything else (`yes`, `y`, `2`, `maybe`)."""
    return (
        f"CASE WHEN LOWER({value}) IN ('true', '1') THEN TRUE "
        f"WHEN LOWER({value}) IN ('false', '0', '') THEN FALSE "
        "ELSE CAST(NULL AS BOOLEAN) END"
    )
