"""The health inputs (read and checked through Ibis, `inputs.py`), handed to the SQL layer by
a name in the book's engine, as `nrr.handover` hands over the lines and customers. Goes away
with the last Ibis module (issue 22)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from nrr.handover import engine_relation
from nrr.health.inputs import HEALTH_INPUTS
from nrr.sql.render import Relation

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["HealthTables", "health_tables"]


@dataclass(frozen=True)
class HealthTables:
    """`seat_lines`: the checked lines with every column, quantity among them; `signals`: each
    health input given, by kind (`inputs.validate_signal`'s columns)."""

    seat_lines: Relation
    signals: dict[str, Relation]


# Named once per book, as `Book.tables` does, so that scoring again adds no view.
_NAMED: WeakKeyDictionary[Book, HealthTables] = WeakKeyDictionary()


def health_tables(book: Book) -> HealthTables:
    """Where `book`'s lines (with quantities) and health inputs are in its engine; reads and
    checks the health inputs on first use (`Book.signals`)."""
    found = _NAMED.get(book)
    if found is None:
        engine = book.tables().engine
        signals = book.signals()
        found = HealthTables(
            # The book's lines carry their quantities (`BookTables`).
            seat_lines=book.tables().lines,
            signals={
                kind: engine_relation(book.con, engine, getattr(signals, kind), f"nrr_{kind}")
                for kind in HEALTH_INPUTS
                if getattr(signals, kind) is not None
            },
        )
        _NAMED[book] = found
    return found
