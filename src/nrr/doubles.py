"""Likely double counts: exact duplicate lines, and overlapping lines of one customer and
product. Both are valid input and both are counted, so nrr warns with counts and examples
rather than guessing which line to drop."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from nrr.fetch import records, value
from nrr.sources.files import ROW

__all__ = ["line_warnings"]


def line_warnings(lines: ir.Table, source: str, examples: int = 3) -> list[str]:
    """Exact duplicate lines, and overlapping lines of one customer and product: both are
    counted, which is usually a double count, so say so with counts and examples."""
    live = lines.filter(
        (lines.mrr_local > 0) & (lines.end_m.isnull() | (lines.end_m > lines.start_m))
    )
    # Every field of a line as given; the derived month and MRR columns follow from them.
    same = [c for c in lines.columns if c not in (ROW, "start_m", "end_m", "mrr_local")]
    reach_end = live.end_date.fill_null(ibis.date(9999, 12, 31))
    by_start = {"group_by": ["customer_id", "product"], "order_by": [live.start_date, live[ROW]]}
    reach = reach_end.max().over(rows=(None, -1), **by_start)
    # A copy starts before the end of the line it copies, so a book where no line starts
    # before an earlier one ends (the usual case) has neither. Lines before the first that
    # does each start at or after every earlier end, and so does it, but for the line just
    # before it: comparing with that one line finds it, and `lag` is cheaper than a running
    # maximum (0.6 s against 0.75 s at 3M lines).
    previous = reach_end.lag().over(**by_start)
    starts_inside = live.mutate(previous=previous)
    starts_inside = starts_inside.filter(starts_inside.previous > starts_inside.start_date)
    if not int(value(starts_inside.count())):
        return []
    marked = live.mutate(first_row=live[ROW].min().over(group_by=same), reach=reach)
    marked = marked.mutate(duplicate=marked.first_row < marked[ROW])
    marked = marked.mutate(
        overlap=~marked.duplicate & marked.reach.notnull() & (marked.reach > marked.start_date)
    )
    counts = records(
        marked.aggregate(duplicates=marked.duplicate.sum(), overlaps=marked.overlap.sum())
    )[0]
    warnings = []
    if counts["duplicates"]:
        shown = records(
            marked.filter(marked.duplicate).order_by(ROW).select(ROW, "first_row").limit(examples)
        )
        pairs = "; ".join(f"row {r[ROW]} = row {r['first_row']}" for r in shown)
        warnings.append(
            f"{source}: {_lines(counts['duplicates'], 'is an exact copy', 'are exact copies')} "
            "of an earlier line "
            f"({pairs}); each copy is counted, so remove it if it is a double count"
        )
    if counts["overlaps"]:
        shown = records(
            marked.filter(marked.overlap)
            .order_by(ROW)
            .select(ROW, "customer_id", "product", "start_date")
            .limit(examples)
        )
        pairs = "; ".join(
            f"row {r[ROW]} ({r['customer_id']}, {r['product']}, from {r['start_date']})"
            for r in shown
        )
        warnings.append(
            f"{source}: {_lines(counts['overlaps'], 'starts', 'start')} while an earlier line "
            "of the same "
            f"customer and product is still in service ({pairs}); both are counted, so if one "
            "replaces the other, end the old line on the day the new one starts"
        )
    return warnings


def _lines(count: int, one: str = "is", many: str = "are") -> str:
    return f"1 line {one}" if count == 1 else f"{count:,} lines {many}"
