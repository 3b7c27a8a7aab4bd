"""Where a book's checked tables are: the engine, and the names (or queries) of its lines
and customers there."""

from __future__ import annotations

from dataclasses import dataclass

from nrr.engines.base import Engine
from nrr.sql.render import Relation

__all__ = ["BookTables", "physical"]


@dataclass(frozen=True)
class BookTables:
    """`lines` has the columns customer_id, currency, start_m, end_m, mrr_local, product
    (months as integers, year * 12 + month - 1), quantity (DECIMAL(38, 10), read by the
    causes and the seats) and the checked line's other columns (its dates and `_row`, read by
    a customer's history); `customers` customer_id and one text column per attribute, named
    in `attributes`."""

    engine: Engine
    lines: Relation
    customers: Relation | None = None
    attributes: tuple[str, ...] = ()


def physical(tables: BookTables) -> dict[str, Relation]:
    """The book's own tables, by the names the statements read them by."""
    found: dict[str, Relation] = {"lines": tables.lines}
    if tables.customers is not None:
        found["customers"] = tables.customers
    return found
