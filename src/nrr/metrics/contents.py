"""What a book holds (its size, currencies and months, the values of a slice, its customers)
and a book restricted to one slice, as statements in `sql/book/` run in the book's engine."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nrr.metrics.slices import sliced_lines
from nrr.metrics.tables import BookTables, physical
from nrr.sql.render import bind, compose, render, statement, values

__all__ = ["Span", "customer_ids", "restricted", "slice_values", "span"]


@dataclass(frozen=True)
class Span:
    """A book's size, currencies and months: `first` and `last` are the first month a line
    starts and the last month one is in service (None in an empty book)."""

    line_count: int
    currencies: list[str]
    first: int | None
    last: int | None


def span(tables: BookTables) -> Span:
    query = bind(statement("book/span.sql"), tables=physical(tables))
    rows = tables.engine.fetch(render(query, tables.engine.dialect)).records()
    firsts = [int(r["first_start"]) for r in rows if r["first_start"] is not None]
    # The last month in service: the last start, or the month before the last end.
    lasts = [int(r["last_start"]) for r in rows if r["last_start"] is not None]
    lasts += [int(r["last_end"]) - 1 for r in rows if r["last_end"] is not None]
    return Span(
        line_count=sum(int(r["line_count"]) for r in rows),
        # In Python's order: an engine's collation may order text otherwise.
        currencies=sorted(str(r["currency"]) for r in rows if r["currency"] is not None),
        first=min(firsts, default=None),
        last=max(lasts, default=None),
    )


def customer_ids(tables: BookTables) -> frozenset[str]:
    """Every customer id of the lines and of the customers input."""
    found = physical(tables)
    if tables.customers is None:
        found["customers"] = values([("customer_id", "VARCHAR")], [])
    query = bind(statement("book/customer_ids.sql"), tables=found)
    rows = tables.engine.fetch(render(query, tables.engine.dialect)).rows
    return frozenset(str(row[0]) for row in rows)


def slice_values(tables: BookTables, by: str) -> list[str]:
    """The values `by` takes among the book's customers, sorted."""
    sliced = bind(sliced_lines(by), tables=physical(tables))
    query = compose(statement("book/slice_values.sql"), {"sliced": sliced})
    rows = tables.engine.fetch(render(query, tables.engine.dialect)).rows
    return sorted(str(row[0]) for row in rows)


def restricted(tables: BookTables, by: str, value: str) -> BookTables:
    """`tables` with only the lines of the customers whose slice of `by` is `value`: a query
    over the same tables, so nothing is copied."""
    sliced = bind(sliced_lines(by), tables=physical(tables))
    query = compose(statement("book/restricted.sql"), {"sliced": sliced})
    lines = bind(query, tables=physical(tables), params={"value": value})
    return replace(tables, lines=lines)
