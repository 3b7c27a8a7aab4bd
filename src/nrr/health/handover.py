"""The health inputs (read and checked as SQL, `inputs.py`), handed to the SQL layer as
relations in the book's engine, beside the book's lines (`Book.tables`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from nrr.health.inputs import HEALTH_INPUTS
from nrr.sql.render import Relation, parse_query

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["HealthTables", "health_tables"]


@dataclass(frozen=True)
class HealthTables:
    """`seat_lines`: the checked lines with every column, quantity among them; `signals`: each
    health input given, by kind (`inputs.validate_signal`'s columns)."""

    seat_lines: Relation
    signals: dict[str, Relation]


# Parsed once per book, as `Book.tables` names its tables once, so that scoring again (each
# day of a backtest) does not parse the queries again.
_NAMED: WeakKeyDictionary[Book, HealthTables] = WeakKeyDictionary()


def health_tables(book: Book) -> HealthTables:
    """Where `book`'s lines (with quantities) and health inputs are in its engine; reads and
    checks the health inputs on first use (`Book.signals`, whose queries already read the
    book's engine)."""
    found = _NAMED.get(book)
    if found is None:
        signals = book.signals()
        found = HealthTables(
            # The book's lines carry their quantities (`BookTables`).
            seat_lines=book.tables().lines,
            signals={
                kind: parse_query(text)
                for kind in HEALTH_INPUTS
                if (text := getattr(signals, kind)) is not None
            },
        )
        _NAMED[book] = found
    return found
