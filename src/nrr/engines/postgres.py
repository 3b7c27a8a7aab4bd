"""PostgreSQL through psycopg 3: temporary tables, filled with COPY, never row inserts.

COPY is what makes PostgreSQL usable for whole books: 600k rows load in 2.4 s with COPY and
18 s with INSERTs (DESIGN.md). The connection runs in autocommit, so a failed statement
never leaves the session in an aborted transaction; a load runs in a transaction of its own,
so a file that fails halfway leaves no half table behind.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import psycopg.errors

from nrr.engines import columns as cols
from nrr.engines.base import Engine, Rows
from nrr.errors import InputError, Problem

__all__ = ["PostgresEngine"]

_COPY_CHUNK = 1 << 20
# `user:password@` in a URL: the password never reaches a message.
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
# Where a COPY failed: "COPY name, line 3, column amount: ..." (physical lines; the header is 1).
_COPY_LINE = re.compile(r"\bline (\d+)(?:, column ([^:]+))?")


class PostgresEngine(Engine):
    name = "postgres"
    dialect = "postgres"

    def __init__(
        self, con: psycopg.Connection[Any], *, owned: bool = False, scratch: str | None = None
    ) -> None:
        super().__init__(scratch)
        self.con = con
        self._owned = owned

    @classmethod
    def open(cls, url: str, *, scratch: str | None = None) -> PostgresEngine:
        """A new autocommit connection to the server at `url` (postgresql://...)."""
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in url:
            # A server that does not answer is an error in seconds, not a hung command.
            options["connect_timeout"] = 10
        try:
            con = psycopg.connect(url, **options)
        except psycopg.Error as exc:
            raise InputError(
                Problem(
                    source="--engine",
                    message=f"cannot connect to PostgreSQL at {_hide_password(url, url)}: "
                    f"{_hide_password(_first_line(exc), url)}",
                )
            ) from None
        return cls(con, owned=True, scratch=scratch)

    def execute(self, sql: str) -> None:
        with self.con.cursor() as cursor:
            cursor.execute(sql)

    def fetch(self, sql: str) -> Rows:
        with self.con.cursor() as cursor:
            cursor.execute(sql)
            columns = tuple(d.name for d in cursor.description or ())
            return Rows(columns, [tuple(row) for row in cursor.fetchall()])

    def types(self, sql: str) -> list[tuple[str, int]]:
        """Each column of the query `sql` and its PostgreSQL type id, without running it."""
        with self.con.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) AS nrr_shape LIMIT 0")
            return [(d.name, d.type_code) for d in cursor.description or ()]

    def copy_out(self, sql: str, path: Path) -> None:
        """The query's rows written to the CSV file `path` by PostgreSQL's COPY, streamed (no
        header; NULL as an empty field, an empty text as "")."""
        with (
            self.con.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER false)") as pipe,
            path.open("wb") as handle,
        ):
            for chunk in pipe:
                handle.write(chunk)

    def _create(self, name: str, columns: Sequence[tuple[str, str]]) -> tuple[str, str]:
        """CREATE the table `name`; its quoted name and its quoted column list."""
        table = self.quote(name)
        kind = "TEMPORARY TABLE" if self.scratch is None else "TABLE"
        self.execute(f"CREATE {kind} {table} ({cols.definitions(columns, self.dialect)})")
        return table, cols.names(columns, self.dialect)

    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        with self.con.transaction():
            table, names = self._create(name, columns)
            with (
                self.con.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)

    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        """The CSV file `path`, streamed to the server as it is. PostgreSQL's CSV rules apply:
        an empty field is NULL, a quoted empty field ("") is an empty text."""
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise InputError(
                Problem(source=str(path), message=f"cannot read the file: {exc.strerror}")
            ) from None
        try:
            with handle, self.con.transaction():
                table, names = self._create(name, columns)
                statement = (
                    f"COPY {table} ({names}) FROM STDIN (FORMAT csv, HEADER true, ENCODING 'UTF8')"
                )
                with self.con.cursor() as cursor, cursor.copy(statement) as copy:
                    while chunk := handle.read(_COPY_CHUNK):
                        copy.write(chunk)
        except (psycopg.errors.DataError, psycopg.errors.BadCopyFileFormat) as exc:
            raise InputError(_copy_problem(path, exc)) from None

    def close(self) -> None:
        if self._owned:
            self.con.close()


def _copy_problem(path: Path, exc: psycopg.Error) -> Problem:
    """The file, line and column where PostgreSQL's COPY stopped, and why."""
    where = _COPY_LINE.search(exc.diag.context or "")
    row = _record_at(path, int(where.group(1))) if where else None
    column = where.group(2) if where and where.group(2) else None
    return Problem(
        source=str(path),
        message=exc.diag.message_primary or _first_line(exc),
        row=row,
        column=column,
    )


def _record_at(path: Path, line: int) -> int | None:
    """The row, counted as a spreadsheet counts (the header is row 1), of the record that
    PostgreSQL reports at physical `line`: a quoted field may span lines, a record does not
    count twice. Read again only when a load failed."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            for row, _ in enumerate(reader, start=1):
                if reader.line_num >= line:
                    return row
    except (OSError, csv.Error):
        return None
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _hide_password(text: str, url: str) -> str:
    """`text` without the password of `url`, as written or percent-decoded."""
    text = _PASSWORD.sub(r"\1***@", text)
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(secret, "***")
    return text
