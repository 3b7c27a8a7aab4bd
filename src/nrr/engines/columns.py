"""A table's columns as the engines create them: names quoted, types parsed by sqlglot.

The types come from nrr's own code (`nrr.sql` renders them for each dialect), never from the
user; they are parsed all the same, so a type no engine knows is caught as nrr's bug here
rather than pasted into a statement."""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot.errors
import sqlglot.expressions as sge

from nrr.errors import InternalError

__all__ = ["column_type", "definitions", "names"]


def column_type(sql_type: str, dialect: str) -> sge.DataType:
    """The SQL type `sql_type`, written in `dialect`, as a sqlglot type."""
    try:
        parsed = sge.DataType.build(sql_type, dialect=dialect)
    except (sqlglot.errors.ParseError, ValueError) as exc:
        raise InternalError(f"{sql_type!r} is not a {dialect} column type: {exc}") from None
    if not isinstance(parsed, sge.DataType) or parsed.this == sge.DataType.Type.USERDEFINED:
        raise InternalError(f"{sql_type!r} is not a {dialect} column type")
    return parsed


def names(columns: Sequence[tuple[str, str]], dialect: str) -> str:
    """`a, b`: the columns' names quoted, for an INSERT or a COPY."""
    return ", ".join(sge.to_identifier(c, quoted=True).sql(dialect) for c, _ in columns)


def definitions(columns: Sequence[tuple[str, str]], dialect: str) -> str:
    """`a DECIMAL(38, 18), b TEXT`: the columns of a CREATE TABLE."""
    return ", ".join(
        f"{sge.to_identifier(c, quoted=True).sql(dialect)} {column_type(t, dialect).sql(dialect)}"
        for c, t in columns
    )
