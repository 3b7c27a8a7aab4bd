"""Rounding as the machine interface prints (METRICS.md section 6), in SQL: money to cents
and ratios to 4 places, half to even, exactly.

SQL's ROUND goes half away from zero, and a decimal quotient is a double on some engines, so
neither is used: a value is rounded by its floor and the exact rest, and a ratio's quotient
(taken in doubles, which can be one unit off) is corrected by its exact remainder."""

from __future__ import annotations

from decimal import Decimal

import sqlglot.expressions as sge

from nrr.sql.render import bind, literal, parse

__all__ = ["half_even", "ratio_rounded", "ratio_steps"]

_HALF_EVEN = """
CAST(
    CASE
        WHEN :x * :scale - FLOOR(:x * :scale) > 0.5 THEN FLOOR(:x * :scale) + 1
        WHEN :x * :scale - FLOOR(:x * :scale) < 0.5 THEN FLOOR(:x * :scale)
        WHEN MOD(FLOOR(:x * :scale), 2) = 0 THEN FLOOR(:x * :scale)
        ELSE FLOOR(:x * :scale) + 1
    END * :unit AS DECIMAL(38, :places)
)
"""
# q0: the quotient's units of 1/10000, from doubles; r: its exact remainder.
_FIRST_QUOTIENT = """
CAST(FLOOR(CAST(:top AS DOUBLE) * 10000 / CAST(NULLIF(:bottom, 0) AS DOUBLE)) AS DECIMAL(38, 0))
"""
_REMAINDER = "CAST(:top AS DECIMAL(38, 18)) * 10000 - :q0 * :bottom"
# The doubles' quotient is at most one unit off: one step corrects it.
_STEP = "CASE WHEN :r < 0 THEN -1 WHEN :r >= :bottom THEN 1 ELSE 0 END"
_ROUNDED = """
CAST(
    CASE
        WHEN 2 * :rest > :bottom THEN :q + 1
        WHEN 2 * :rest < :bottom THEN :q
        WHEN MOD(:q, 2) = 0 THEN :q
        ELSE :q + 1
    END * :unit AS DECIMAL(38, 4)
)
"""


def _expression(text: str, **params: object) -> sge.Expression:
    return bind(parse(text), params=params)  # type: ignore[arg-type]


def half_even(value: sge.Expression, places: int) -> sge.Expression:
    """`value` (a decimal) rounded to `places` decimals, half to even."""
    scale = sge.cast(sge.Literal.number(10**places), sge.DataType.build("DECIMAL(38, 0)"))
    unit = literal(Decimal(1).scaleb(-places))
    return _expression(
        _HALF_EVEN, x=value, scale=scale, unit=unit, places=sge.Literal.number(places)
    )


def ratio_steps(
    name: str, top: sge.Expression, bottom: sge.Expression
) -> list[dict[str, sge.Expression]]:
    """top / bottom rounded to 4 places half to even, exactly, as columns added in three
    steps (each reads the columns of the one before): the approximate quotient `q0_<name>`,
    its exact remainder `r_<name>`, then the corrected quotient `q_<name>` and remainder
    `rest_<name>`. `ratio_rounded(name, bottom)` rounds them; null when bottom is 0."""
    q0, r = sge.column(f"q0_{name}"), sge.column(f"r_{name}")
    step = _expression(_STEP, r=r, bottom=bottom)
    return [
        {f"q0_{name}": _expression(_FIRST_QUOTIENT, top=top, bottom=bottom)},
        {f"r_{name}": _expression(_REMAINDER, top=top, bottom=bottom, q0=q0)},
        {
            f"q_{name}": _expression(":q0 + :step", q0=q0, step=step),
            f"rest_{name}": _expression(":r - :step * :bottom", r=r, step=step, bottom=bottom),
        },
    ]


def ratio_rounded(name: str, bottom: sge.Expression) -> sge.Expression:
    """The ratio `name` of `ratio_steps`, rounded."""
    q, rest = sge.column(f"q_{name}"), sge.column(f"rest_{name}")
    unit = literal(Decimal("0.0001"))
    return _expression(_ROUNDED, q=q, rest=rest, bottom=bottom, unit=unit)
