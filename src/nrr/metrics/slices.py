"""Each line tagged with its customer's slice: the value of one attribute, or of several
joined by ` × ` (`SMB × US`); `(none)` where a customer has no value, `(all)` without `by`.

The derived attributes (METRICS.md section 1) come from the customer's first month with MRR:
`cohort` is that month as `YYYY-MM`, `tenure` its band of whole months to the window start."""

from __future__ import annotations

import sqlglot.expressions as sge

from nrr.attributes import ALL, DERIVED, NONE, PAIR, attribute_names
from nrr.errors import InternalError
from nrr.sql.render import bind, parse

__all__ = ["sliced_customers", "sliced_lines"]

_COLUMNS = ("customer_id", "currency", "start_m", "end_m", "mrr_local", "product")

# The first month with MRR of each customer with a live line.
_FIRSTS = """
SELECT customer_id, MIN(start_m) AS first_m
FROM lines
WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
GROUP BY customer_id
"""
# `YYYY-MM` of a month index, dividing an exact multiple of 12 in doubles (integer division
# means different things on different engines).
_COHORT = """
LPAD(CAST(CAST(CAST(f.first_m - MOD(f.first_m, 12) AS DOUBLE) / 12 AS BIGINT) AS VARCHAR), 4, '0')
|| '-' || LPAD(CAST(MOD(f.first_m, 12) + 1 AS VARCHAR), 2, '0')
"""
_TENURE = """
CASE
    WHEN :window_start - f.first_m < 0 THEN 'new'
    WHEN :window_start - f.first_m < 6 THEN '0-5'
    WHEN :window_start - f.first_m < 12 THEN '6-11'
    WHEN :window_start - f.first_m < 24 THEN '12-23'
    ELSE '24+'
END
"""


def _value(name: str, window_start: int | sge.Expression | None, *, first: str) -> sge.Expression:
    """One attribute's value, `(none)` when missing; `first` is the table holding first_m."""
    if name == "cohort":
        value = parse(_COHORT.replace("f.first_m", f"{first}.first_m"))
    elif name == "tenure":
        if window_start is None:
            raise InternalError("tenure needs a window start")
        text = _TENURE.replace("f.first_m", f"{first}.first_m")
        value = bind(parse(text), params={"window_start": window_start})  # type: ignore[arg-type]
    else:
        value = sge.column(sge.to_identifier(name, quoted=True), table="c")
    return sge.Coalesce(this=value, expressions=[sge.Literal.string(NONE)])


def _joined(parts: list[sge.Expression]) -> sge.Expression:
    segment = parts[0]
    for part in parts[1:]:
        segment = sge.DPipe(
            this=sge.DPipe(this=segment, expression=sge.Literal.string(PAIR)), expression=part
        )
    return segment


def sliced_lines(by: str | None, *, window_start: int | None = None) -> sge.Query:
    """(customer_id, currency, start_m, end_m, mrr_local, product, segment) for every line."""
    names = attribute_names(by)
    columns = [sge.column(c, table="l") for c in _COLUMNS]
    lines = sge.Table(this=sge.to_identifier("lines"), alias=sge.TableAlias(this="l"))
    if not names:
        return sge.select(*columns, sge.alias_(sge.Literal.string(ALL), "segment")).from_(lines)
    query = sge.select(*columns).from_(lines)
    stored = [n for n in names if n not in ("cohort", "tenure")]
    if stored:
        query = query.join(
            sge.Table(this=sge.to_identifier("customers"), alias=sge.TableAlias(this="c")),
            on="c.customer_id = l.customer_id",
            join_type="left",
        )
    if len(stored) < len(names):
        firsts = sge.Subquery(this=parse(_FIRSTS), alias=sge.TableAlias(this="f"))
        query = query.join(firsts, on="f.customer_id = l.customer_id", join_type="left")
    parts = [_value(name, window_start, first="f") for name in names]
    segment = _joined(parts)
    return query.select(sge.alias_(segment, "segment"))


def sliced_customers(by: str | None, *, window_start: int | sge.Expression) -> sge.Query:
    """`customer_values` (one row per customer, with its `first_m`) and each customer's
    `segment`: the slice is joined once per customer, after the lines are summed.
    `window_start` may be a column of `customer_values` (`v.s`): each row's own start."""
    names = attribute_names(by)
    query = sge.select(sge.Column(this=sge.Star(), table=sge.to_identifier("v"))).from_(
        sge.Table(this=sge.to_identifier("customer_values"), alias=sge.TableAlias(this="v"))
    )
    if not names:
        return query.select(sge.alias_(sge.Literal.string(ALL), "segment"))
    if any(n not in DERIVED for n in names):
        query = query.join(
            sge.Table(this=sge.to_identifier("customers"), alias=sge.TableAlias(this="c")),
            on="c.customer_id = v.customer_id",
            join_type="left",
        )
    parts = [_value(name, window_start, first="v") for name in names]
    return query.select(sge.alias_(_joined(parts), "segment"))
