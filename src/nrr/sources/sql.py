"""Tables and queries in a database given by `--url`: PostgreSQL or a DuckDB file.

The rows are copied into the intake's embedded DuckDB as text, in bounded memory, so the rest
of nrr sees the same raw text table as for a file: PostgreSQL writes them with `COPY ... TO
STDOUT` (each value as PostgreSQL's own text for it, timestamps as their date) into a
temporary CSV file DuckDB then reads; a DuckDB file streams Arrow batches. Rows are numbered
in the order the database returns them (add `ORDER BY` to a query for stable numbers).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.sources.files import RawSource, open_table

__all__ = ["Remote", "connect", "duckdb_file", "open_sql"]

_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_BATCH_ROWS = 100_000
_COPY_CHUNK = 1 << 20
# PostgreSQL's type ids for timestamps (with and without zone): read as their date.
_PG_TIMESTAMPS = {1114, 1184}


class Remote:
    """A connection to the database a `--url` names."""

    def __init__(self, url: str, con: Any, kind: str) -> None:
        self.url = url
        self.con = con
        self.kind = kind  # "postgres" or "duckdb"

    def close(self) -> None:
        self.con.close()


def connect(url: str) -> Remote:
    """Connect to a database by URL (`postgresql://user@host:port/db`, `duckdb:///file.duckdb`)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    try:
        if scheme in ("postgresql", "postgres"):
            import psycopg

            options: dict[str, Any] = {"autocommit": True}
            if "connect_timeout" not in url:
                options["connect_timeout"] = 10
            return Remote(url, psycopg.connect(url, **options), "postgres")
        if scheme == "duckdb":
            path = duckdb_file(url)
            if path is None or not path.is_file():
                raise FileNotFoundError(f"no DuckDB file at {path or '(none)'}")
            return Remote(url, duckdb.connect(str(path), read_only=True), "duckdb")
    except Exception as exc:  # each driver raises its own connection error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            Problem(source=_safe(url), message=f"cannot connect: {_safe(first)}")
        ) from None
    raise InputError(
        Problem(
            source=_safe(url),
            message="cannot connect: not a database URL nrr reads; use "
            "postgresql://user@host:port/db or duckdb:///file.duckdb",
        )
    )


def duckdb_file(url: str) -> Path | None:
    """The file a `duckdb://` URL names: `duckdb:///abs/book.duckdb`, or a path relative to
    the working folder, `duckdb://data/book.duckdb`."""
    parsed = urlsplit(url)
    parts = [unquote(p) for p in (parsed.netloc, parsed.path[bool(parsed.netloc) :]) if p]
    return Path(*parts) if parts else None


def open_sql(engine: Engine, remote: Remote, what: str) -> RawSource:
    """Copy a table (`schema.table`) or a query (`SELECT ...`) into `engine` (the intake's
    DuckDB) and open it."""
    is_query = bool(_QUERY.match(what))
    label = f"{_safe(remote.url)}:{what if not is_query else 'query'}"
    dialect = "postgres" if remote.kind == "postgres" else "duckdb"
    source = f"({what})" if is_query else _table(what, dialect)
    local = engine.fresh_name("nrr_sql")
    try:
        if remote.kind == "postgres":
            _copy_postgres(engine, remote.con, source, local)
        else:
            _copy_duckdb(engine, remote.con, source, local)
    except Exception as exc:  # each driver raises its own "no such table" / syntax error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            Problem(
                source=label,
                message=f"cannot be read ({type(exc).__name__}: {first}); check the table "
                "name (schema.table) or the query",
            )
        ) from None
    return open_table(engine, local, label=label)


def _table(what: str, dialect: str) -> str:
    """A table name as written (`schema.table`), each part quoted."""
    return ".".join(sqltext.identifier(part, dialect) for part in what.split("."))


def _copy_postgres(engine: Engine, con: Any, source: str, local: str) -> None:
    with con.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {source} AS nrr_source LIMIT 0")
        described = [(d.name, d.type_code) for d in cursor.description or ()]
    items = []
    for name, type_code in described:
        quoted = sqltext.identifier(name, "postgres")
        value = f"CAST({quoted} AS DATE)" if type_code in _PG_TIMESTAMPS else quoted
        items.append(f"CAST({value} AS TEXT) AS {quoted}")
    query = f"SELECT {', '.join(items)} FROM {source} AS nrr_source"
    with tempfile.TemporaryDirectory(prefix="nrr-url-") as folder:
        path = Path(folder) / "rows.csv"
        with (
            con.cursor() as cursor,
            cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER false)") as pipe,
            path.open("wb") as handle,
        ):
            for chunk in pipe:
                handle.write(chunk)
        columns = ", ".join(f"{sqltext.string(f'c{i}')}: 'VARCHAR'" for i in range(len(items)))
        renamed = ", ".join(
            f"{sqltext.identifier(f'c{i}')} AS {sqltext.identifier(name)}"
            for i, (name, _) in enumerate(described)
        )
        # An unquoted empty field is PostgreSQL's NULL, a quoted one its empty text.
        engine.keep(
            local,
            f"SELECT {renamed} FROM read_csv({sqltext.string(path.as_posix())}, "
            f"header = false, delim = ',', quote = '\"', escape = '\"', "
            f"auto_detect = false, strict_mode = true, columns = {{{columns}}})",
        )


def _copy_duckdb(engine: Engine, con: duckdb.DuckDBPyConnection, source: str, local: str) -> None:
    reader = con.execute(f"SELECT * FROM {source} AS nrr_source").fetch_record_batch(_BATCH_ROWS)
    target: duckdb.DuckDBPyConnection = engine.con  # type: ignore[attr-defined]
    view = f"{local}_reader"
    target.register(view, reader)
    try:
        engine.keep(local, f"SELECT * FROM {sqltext.identifier(view)}")
    finally:
        target.unregister(view)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)
