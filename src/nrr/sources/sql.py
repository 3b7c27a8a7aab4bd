"""Tables and queries in any database Ibis reaches (PostgreSQL, DuckDB files, ...).

The rows are streamed in Arrow batches into the working DuckDB database, so memory stays
bounded and the rest of nrr sees the same raw text table as for a file. Rows are numbered
in the order the database returns them (add `ORDER BY` to a query for stable numbers).
"""

from __future__ import annotations

import re

import ibis
from ibis.backends.duckdb import Backend as DuckDBBackend

from nrr.errors import InputError, Problem
from nrr.sources.files import RawSource, open_table

__all__ = ["connect", "open_sql"]

_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_BATCH_ROWS = 100_000


def connect(url: str) -> ibis.BaseBackend:
    """Connect to a database by URL (`postgresql://user@host:port/db`, `duckdb:///file.duckdb`)."""
    try:
        return ibis.connect(url)
    except Exception as exc:  # each driver raises its own connection error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(Problem(source=_safe(url), message=f"cannot connect: {first}")) from None


def open_sql(con: DuckDBBackend, remote: ibis.BaseBackend, what: str, *, url: str) -> RawSource:
    """Copy a table (`schema.table`) or a query (`SELECT ...`) into `con` and open it."""
    label = f"{_safe(url)}:{what if not _QUERY.match(what) else 'query'}"
    try:
        if _QUERY.match(what):
            table = remote.sql(what)
        else:
            schema, _, name = what.rpartition(".")
            table = remote.table(name, database=schema or None)
        reader = table.to_pyarrow_batches(chunk_size=_BATCH_ROWS)
    except Exception as exc:  # each backend raises its own "no such table" / syntax error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            Problem(
                source=label,
                message=f"cannot be read ({type(exc).__name__}: {first}); check the table "
                "name (schema.table) or the query",
            )
        ) from None
    local = ibis.util.gen_name("nrr_sql")
    con.con.register(f"{local}_reader", reader)
    con.con.execute(f'CREATE TEMP TABLE "{local}" AS SELECT * FROM "{local}_reader"')
    con.con.unregister(f"{local}_reader")
    return open_table(con, local, label=label)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)
