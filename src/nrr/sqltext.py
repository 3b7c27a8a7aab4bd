"""Text from users and the environment, made safe to stand in a SQL statement.

nrr's statements are its own SQL, bound and rendered by sqlglot (`nrr.sql`); the intake's
checks and a few other statements (settings, COPY to a file, a temporary table's columns)
are written as text. Wherever they take paths, sizes, column names or values from the user
or the environment, those are rendered by sqlglot as a quoted literal or a quoted identifier
here, never formatted into the statement as they are (DESIGN.md, data safety). A quote in a
folder name is then a character of the name, not the end of a string.
"""

from __future__ import annotations

import sqlglot.expressions as sge

__all__ = ["identifier", "string"]


def string(text: str, dialect: str = "duckdb") -> str:
    """`text` as a SQL string literal: `it's` -> `'it''s'`."""
    return sge.Literal.string(text).sql(dialect=dialect)


def identifier(name: str, dialect: str = "duckdb") -> str:
    """`name` as a quoted SQL identifier: `seg"ment` -> `"seg""ment"`."""
    return sge.to_identifier(name, quoted=True).sql(dialect=dialect)
