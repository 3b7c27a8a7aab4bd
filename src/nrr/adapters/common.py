"""Parsing helpers shared by the adapters: column aliases, dates and timestamps, numbers."""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, Problem
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
    or Unix epoch seconds as Stripe's API gives them (UTC); null when unreadable, also when
    anything but a time follows the date (`2024-01-31x` is not read as January 31)."""
    epoch = value.re_search(_EPOCH)
    iso = value.re_search(_ISO)
    return ibis.cases(
        (epoch, ibis.date(1970, 1, 1) + (value.try_cast("int64") // 86400).as_interval("D")),
        (iso, value.left(10).try_cast("date")),
        else_=ibis.null("date"),
    )


def add_days(day: ir.DateValue, days: int) -> ir.DateValue:
    """`day` plus whole days, as a date (some engines turn date + interval into a timestamp,
    whose text would no longer be an ISO date)."""
    return (day + ibis.interval(days=days)).cast("string").left(10).cast("date")


def decimal_of(
    value: ir.StringValue, *, digits: int, decimals: int, negative: bool = False
) -> ir.DecimalValue:
    """Plain decimal digits (`1234.5`, at most `digits` before the point and `decimals` after
    it, a leading `-` only when `negative`) as decimal(38, decimals), exactly; null for
    anything else. Not `1e3`, `+5`, `.5`, `1_000` or `1,000`, which the engine's cast would
    read, nor more decimals than the field has, which it would round."""
    sign = "-?" if negative else ""
    pattern = f"^{sign}[0-9]{{1,{digits}}}(\\.[0-9]{{1,{decimals}}})?$"
    kind = f"decimal(38, {decimals})"
    return ibis.ifelse(value.re_search(pattern), value.try_cast(kind), ibis.null(kind))


def whole_of(value: ir.StringValue, *, digits: int) -> ir.IntegerValue:
    """A whole number >= 0 of at most `digits` digits, as int64; `2.0` is 2, as a data
    pipeline that went through floating point writes it; null for anything else (the
    engine's cast would round `1.5` to 2 and read `0x1F` as 31)."""
    pattern = f"^[0-9]{{1,{digits}}}(\\.0+)?$"
    whole = value.re_extract(f"^([0-9]{{1,{digits}}})", 1)
    return ibis.ifelse(value.re_search(pattern), whole.cast("int64"), ibis.null("int64"))


def flag_of(value: ir.StringValue) -> ir.BooleanValue:
    """Stripe's booleans: `true` or `false` in any case (the API and CSV exports write them
    lower-case, a spreadsheet re-saves them as TRUE/FALSE), `1` or `0` (Sigma and data
    warehouses), empty for false; null for anything else (`yes`, `y`, `2`, `maybe`)."""
    lower = value.lower()
    return ibis.cases(
        (lower.isin(("true", "1")), ibis.literal(True)),
        (lower.isin(("false", "0", "")), ibis.literal(False)),
        else_=ibis.null("boolean"),
    )
