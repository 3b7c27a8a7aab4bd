"""Likely double counts: exact duplicate lines, and overlapping lines of one customer and
product. Both are valid input and both are counted, so nrr warns with counts and examples
rather than guessing which line to drop.

The checked lines are read where the intake keeps them (`sql/checks/doubles_probe.sql`, then
`sql/checks/doubles.sql` only for a book where some line starts inside another)."""

from __future__ import annotations

from typing import Any

from nrr.engines.base import Engine
from nrr.sql.render import Relation, bind, render, statement

__all__ = ["line_warnings"]


def line_warnings(engine: Engine, lines: Relation, source: str, examples: int = 3) -> list[str]:
    """Exact duplicate lines, and overlapping lines of one customer and product: both are
    counted, which is usually a double count, so say so with counts and examples.

    `lines` names the checked lines in `engine` (`validate.LINE_COLUMNS`)."""
    probe = _fetch(engine, "doubles_probe", lines)
    if not int(probe[0]["starts_inside"]):
        return []
    found = _fetch(engine, "doubles", lines, examples=examples)
    copies = [r for r in found if r["kind"] == "copy"]
    overlaps = [r for r in found if r["kind"] == "overlap"]
    warnings = []
    if copies:
        pairs = "; ".join(f"row {r['_row']} = row {r['first_row']}" for r in copies)
        count = int(copies[0]["lines_of_kind"])
        warnings.append(
            f"{source}: {_lines(count, 'is an exact copy', 'are exact copies')} "
            "of an earlier line "
            f"({pairs}); each copy is counted, so remove it if it is a double count"
        )
    if overlaps:
        pairs = "; ".join(
            f"row {r['_row']} ({r['customer_id']}, {r['product']}, from {r['start_date']})"
            for r in overlaps
        )
        count = int(overlaps[0]["lines_of_kind"])
        warnings.append(
            f"{source}: {_lines(count, 'starts', 'start')} while an earlier line "
            "of the same "
            f"customer and product is still in service ({pairs}); both are counted, so if one "
            "replaces the other, end the old line on the day the new one starts"
        )
    return warnings


def _fetch(engine: Engine, name: str, lines: Relation, **params: Any) -> list[dict[str, Any]]:
    query = bind(statement(f"checks/{name}.sql"), tables={"lines": lines}, params=params)
    return engine.fetch(render(query, engine.dialect)).records()


def _lines(count: int, one: str = "is", many: str = "are") -> str:
    return f"1 line {one}" if count == 1 else f"{count:,} lines {many}"
