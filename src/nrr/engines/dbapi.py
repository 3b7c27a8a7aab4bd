"""Any other warehouse: a DB-API (PEP 249) connection and the sqlglot dialect of its SQL.

Snowflake, BigQuery, Trino, Databricks, ClickHouse and Redshift all ship a DB-API driver;
nrr renders its statements for the dialect given and runs them through the connection.

Loading is the slow path here: rows go in with the driver's `executemany`, a batch at a
time, and `load_file` reads the CSV in Python. A warehouse reads large files faster by
itself (a stage, an external table): load them there and compute on the table in place.

A warehouse that cannot keep temporary tables (Trino, Athena, Databricks SQL) is opened
with `temporary=False`. Given a `scratch` schema, nrr keeps its tables there; without one
`keep` raises `InputError`, and nrr keeps each intermediate result inside the one statement
that needs it, as common table expressions, instead.

nrr commits after each statement that creates or fills a table, and rolls back after a
failed one so the connection stays usable: give nrr a connection of its own.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import sqlglot

from nrr.engines import columns as cols
from nrr.engines.base import Engine, Rows
from nrr.errors import InputError, Problem

__all__ = ["DBAPIEngine"]

_BATCH = 10_000
_PARAMSTYLES = ("qmark", "format", "pyformat", "numeric", "named")


class DBAPIEngine(Engine):
    def __init__(
        self,
        con: Any,
        dialect: str,
        *,
        scratch: str | None = None,
        temporary: bool = True,
        paramstyle: str | None = None,
    ) -> None:
        super().__init__(scratch)
        try:
            sqlglot.Dialect.get_or_raise(dialect)
        except ValueError:
            raise InputError(
                Problem(source="dialect", message=f"{dialect!r} is not a SQL dialect sqlglot knows")
            ) from None
        self.con = con
        self.dialect = dialect
        self.name = dialect
        self.temporary = temporary
        # One cursor for every statement: in some drivers (DuckDB's) each cursor is a session
        # of its own, which would not see the temporary tables of another.
        self.cursor = con.cursor()
        self.paramstyle = paramstyle or _paramstyle(con)
        if self.paramstyle not in _PARAMSTYLES:
            raise InputError(
                Problem(
                    source="paramstyle",
                    message=f"{self.paramstyle!r} is not a DB-API paramstyle; use one of "
                    + ", ".join(_PARAMSTYLES),
                )
            )

    def execute(self, sql: str) -> None:
        self._run(lambda cursor: cursor.execute(sql))

    def fetch(self, sql: str) -> Rows:
        self.cursor.execute(sql)
        columns = tuple(d[0] for d in self.cursor.description or ())
        return Rows(columns, [tuple(row) for row in self.cursor.fetchall()])

    def keep(self, name: str, sql: str) -> None:
        self._require_place()
        super().keep(name, sql)

    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        self._fill(name, columns, iter(rows))

    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        """The CSV file `path`, read in Python and inserted in batches: the slow path. An
        empty field is NULL, and so is a quoted empty field ("") (Python's csv module does
        not tell them apart), as in DuckDB and Spark."""
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                self._fill(name, columns, _records(path, handle, len(columns)))
        except OSError as exc:
            raise InputError(
                Problem(source=str(path), message=f"cannot read the file: {exc.strerror}")
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                Problem(source=str(path), message=f"not UTF-8 text: {exc.reason}")
            ) from None
        except csv.Error as exc:
            raise InputError(Problem(source=str(path), message=f"not a CSV file: {exc}")) from None

    def _fill(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Iterator[Sequence[Any]]
    ) -> None:
        """Create the table `name` and insert `rows`; on any failure, no table is left."""
        self._require_place()
        table = self.quote(name)
        kind = "TEMPORARY TABLE" if self.scratch is None else "TABLE"
        self.execute(f"CREATE {kind} {table} ({cols.definitions(columns, self.dialect)})")
        insert = (
            f"INSERT INTO {table} ({cols.names(columns, self.dialect)}) "
            f"VALUES ({self._marks(len(columns))})"
        )
        bind = self._binder()
        try:
            while batch := [bind(row) for row in islice(rows, _BATCH)]:
                self._run(lambda cursor, batch=batch: cursor.executemany(insert, batch))
        except BaseException:
            with contextlib.suppress(Exception):
                self.drop(name)
            raise

    def _require_place(self) -> None:
        if not self.temporary and self.scratch is None:
            raise InputError(
                Problem(
                    source="--engine",
                    message=f"{self.name} cannot keep temporary tables: name a scratch schema "
                    "nrr may create its tables in",
                )
            )

    def _marks(self, count: int) -> str:
        """The placeholders of one row, in the driver's paramstyle."""
        marks = {
            "qmark": lambda i: "?",
            "format": lambda i: "%s",
            "pyformat": lambda i: f"%(p{i})s",
            "numeric": lambda i: f":{i + 1}",
            "named": lambda i: f":p{i}",
        }[self.paramstyle]
        return ", ".join(marks(i) for i in range(count))

    def _binder(self) -> Callable[[Sequence[Any]], Sequence[Any] | dict[str, Any]]:
        """How one row is passed: a sequence, or a mapping for the named styles."""
        if self.paramstyle in ("pyformat", "named"):
            return lambda row: {f"p{i}": value for i, value in enumerate(row)}
        return list

    def _run(self, step: Callable[[Any], object]) -> None:
        try:
            step(self.cursor)
        except BaseException:
            with contextlib.suppress(Exception):
                self.con.rollback()
            raise
        self.con.commit()

    def close(self) -> None:
        """The engine's cursor; the connection is the caller's, and stays open."""
        with contextlib.suppress(Exception):
            self.cursor.close()


def _records(path: Path, handle: Any, width: int) -> Iterator[list[str | None]]:
    """The data records of a CSV file after its header, an empty field as None."""
    reader = csv.reader(handle)
    if next(reader, None) is None:
        raise InputError(Problem(source=str(path), message="the file is empty: no header row"))
    # Rows count as in a spreadsheet: the header is row 1.
    for row, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != width:
            raise InputError(
                Problem(
                    source=str(path),
                    row=row,
                    message=f"{len(record)} fields where the header has {width}",
                )
            )
        yield [value if value != "" else None for value in record]


def _paramstyle(con: Any) -> str:
    """The paramstyle of the driver `con` comes from (PEP 249: a global of its module)."""
    module = type(con).__module__
    parts = module.split(".")
    # The package first (sqlite3, snowflake.connector...), then the modules inside it.
    for depth in [1, *range(len(parts), 1, -1)]:
        style = getattr(sys.modules.get(".".join(parts[:depth])), "paramstyle", None)
        if isinstance(style, str):
            return style
    raise InputError(
        Problem(
            source="paramstyle",
            message=f"cannot tell the paramstyle of the driver {module!r}; pass paramstyle=",
        )
    )
