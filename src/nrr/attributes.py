"""Customer attributes for slicing, including the derived `cohort` and `tenure`."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, InternalError, Problem

__all__ = ["ALL", "DERIVED", "NONE", "check_attribute", "month_text", "segment_of", "tenure_band"]

NONE = "(none)"
DERIVED = ("cohort", "tenure")
ALL = "(all)"


def month_text(month: ir.IntegerValue) -> ir.StringValue:
    """`YYYY-MM` of a month index, computed in the engine."""
    year = (month // 12).cast("string").lpad(4, "0")
    number = (month % 12 + 1).cast("string").lpad(2, "0")
    return year.concat("-", number)


def tenure_band(first_m: ir.IntegerValue, start: int) -> ir.StringValue:
    """Band of whole months from the cohort month to the window start (METRICS.md section 1)."""
    months = start - first_m
    return ibis.cases(
        (months < 0, "new"),
        (months < 6, "0-5"),
        (months < 12, "6-11"),
        (months < 24, "12-23"),
        else_="24+",
    )


def check_attribute(
    by: str | None, customers: ir.Table | None, *, allow_tenure: bool = True
) -> None:
    if by is None:
        return
    available = list(DERIVED) + (
        [c for c in customers.columns if c != "customer_id"] if customers is not None else []
    )
    if by == "tenure" and not allow_tenure:
        raise InputError(
            Problem(
                source="--by",
                message="tenure changes every month, so a monthly bridge by tenure would not chain "
                "(one band's ending MRR is not the next month's starting MRR); use --by cohort, or "
                "`nrr metrics --by tenure` for a window",
            )
        )
    if by not in available:
        raise InputError(
            Problem(
                source="--by",
                message=f"no attribute {by!r}; available: {', '.join(available)}"
                + ("" if customers is not None else " (give --customers for more)"),
            )
        )


def segment_of(
    customer_ids: ir.Table,
    *,
    by: str | None,
    customers: ir.Table | None,
    first: ir.Table,
    window_start: int | None = None,
) -> ir.Table:
    """(customer_id, segment) for every customer in `customer_ids`."""
    ids = customer_ids.select("customer_id").distinct()
    if by is None:
        return ids.mutate(segment=ibis.literal(ALL))
    if by in DERIVED:
        joined = ids.left_join(first, "customer_id")
        if by == "cohort":
            value = month_text(joined.first_m)
        else:
            if window_start is None:
                raise InternalError("tenure needs a window start")
            value = tenure_band(joined.first_m, window_start)
        return joined.select(customer_id=ids.customer_id, segment=ibis.coalesce(value, NONE))
    if customers is None:
        raise InternalError(f"attribute {by!r} asked for without a customers table")
    joined = ids.left_join(customers.select("customer_id", by), "customer_id")
    return joined.select(customer_id=ids.customer_id, segment=ibis.coalesce(joined[by], NONE))
