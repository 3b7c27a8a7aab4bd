"""Tables and queries in a database given by `--url`: PostgreSQL or a DuckDB file.

The database is opened as an engine (`nrr.engines`), and the rows are copied into the intake's
embedded DuckDB as text, in bounded memory, so the rest of nrr sees the same raw text table as
for a file: PostgreSQL writes them with `COPY ... TO STDOUT` (each value as PostgreSQL's own
text for it, timestamps as their date) into a temporary CSV file DuckDB then reads; a DuckDB
file streams Arrow batches. Rows are numbered
in the order the database returns them (add `ORDER BY` to a query for stable numbers).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.engines.duckdb import DuckDBEngine
from nrr.errors import InputError, Problem
from nrr.sources.files import ROW, RawSource, named_source, open_table

if TYPE_CHECKING:
    from nrr.engines.postgres import PostgresEngine
    from nrr.engines.translated import Translated

__all__ = ["connect", "duckdb_file", "open_inside", "open_sql"]

_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_BATCH_ROWS = 100_000
# PostgreSQL's type ids for timestamps (with and without zone): read as their date.
_PG_TIMESTAMPS = {1114, 1184}


def connect(url: str) -> Engine:
    """Connect to the database a `--url` names (`postgresql://user@host:port/db`,
    `duckdb:///file.duckdb`, opened read-only)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    try:
        if scheme in ("postgresql", "postgres"):
            from nrr.engines.postgres import PostgresEngine

            return PostgresEngine.open(url)
        if scheme == "duckdb":
            path = duckdb_file(url)
            if path is None or not path.is_file():
                raise FileNotFoundError(f"no DuckDB file at {path or '(none)'}")
            return DuckDBEngine.open(path, read_only=True)
    except InputError as exc:  # the engine's own words, said of the URL
        raise InputError(Problem(source=_safe(url), message=exc.problems[0].message)) from None
    except (OSError, duckdb.Error) as exc:
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


def open_sql(local: DuckDBEngine, remote: Engine, what: str, *, url: str) -> RawSource:
    """Copy a table (`schema.table`) or a query (`SELECT ...`) of `remote`, the database
    `url` names, into `local` (the intake's DuckDB) and open it."""
    is_query = bool(_QUERY.match(what))
    label = f"{_safe(url)}:{what if not is_query else 'query'}"
    source = f"({what})" if is_query else _table(what, remote.dialect)
    name = local.fresh_name("nrr_sql")
    try:
        if isinstance(remote, DuckDBEngine):
            local.load_batches(name, remote.batches(f"SELECT * FROM {source} AS s", _BATCH_ROWS))
        else:
            _copy_postgres(local, remote, source, name)  # type: ignore[arg-type]
    except Exception as exc:  # each driver raises its own "no such table" / syntax error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            Problem(
                source=label,
                message=f"cannot be read ({type(exc).__name__}: {first}); check the table "
                "name (schema.table) or the query",
            )
        ) from None
    return open_table(local, name, label=label)


def open_inside(engine: Translated, what: str, *, url: str) -> RawSource:
    """A table (`schema.table`) or a query (`SELECT ...`) of the database the checks run in
    (`engines.translated`: PostgreSQL at `url`, or the Spark session, `url` "spark"), opened
    there: its columns as text in a temporary table (a cached view on Spark), rows numbered
    in the order it returns them. No row leaves it."""
    is_query = bool(_QUERY.match(what))
    label = f"{_safe(url)}:{what if not is_query else 'query'}"
    inner = engine.inner
    source = f"({what})" if is_query else _table(what, inner.dialect)
    name = engine.fresh_name("nrr_raw")
    try:
        if inner.dialect == "spark":
            described = _spark_numbered(engine, source, name)
        else:
            described = inner.types(f"SELECT * FROM {source} AS s")  # type: ignore[attr-defined]
            items = [_as_text(column, type_code) for column, type_code in described]
            number = f"ROW_NUMBER() OVER () AS {sqltext.identifier(ROW, 'postgres')}"
            inner.keep(name, f"SELECT {', '.join(items)}, {number} FROM {source} AS s")
    except Exception as exc:  # the driver's "no such table" / syntax error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        no_file = "no such file, and Spark " if inner.dialect == "spark" else ""
        raise InputError(
            Problem(
                source=label,
                message=f"{no_file}cannot be read ({type(exc).__name__}: {first}); check the "
                "table name (schema.table) or the query",
            )
        ) from None
    columns = tuple(column for column, _ in described)
    return named_source(label, f"SELECT * FROM {engine.quote(name)}", columns)


def _spark_numbered(engine: Translated, source: str, name: str) -> list[tuple[str, str]]:
    """The Spark table or query `source` as the view `name`: its columns as text (a timestamp
    as its date's) and `_row`, each row's place in the order Spark returns them. Returns the
    (column, type) pairs.

    The text is kept once (cached), each row with its `monotonically_increasing_id()`: the
    partition in its upper 31 bits, the row's place in the partition in the lower 33 (as
    Spark documents it). A row's place in the whole is then the rows of the partitions
    before its own plus its place in its own: counted per partition, never by moving every
    row into one task (as a ROW_NUMBER over the whole table would)."""
    inner = engine.inner
    frame = inner.session.sql(f"SELECT * FROM {source} AS s")  # type: ignore[attr-defined]
    described = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
    texts = ", ".join(_spark_text(column, kind) for column, kind in described)
    read = engine.fresh_name("nrr_read")
    inner.keep(read, f"SELECT {texts}, MONOTONICALLY_INCREASING_ID() AS nrr_id FROM {source} AS s")
    part = "SHIFTRIGHT(nrr_id, 33)"
    counts = inner.fetch(
        f"SELECT {part} AS part, COUNT(*) AS rows FROM {inner.quote(read)} GROUP BY 1 ORDER BY 1"
    ).rows
    before, arms = 0, []
    for number, rows in counts:
        arms.append(f"WHEN {int(number):d} THEN {before:d}")
        before += int(rows)
    start = f"CASE {part} {' '.join(arms)} END" if arms else "0"
    place = f"nrr_id - SHIFTLEFT({part}, 33) + 1"
    columns = ", ".join(sqltext.identifier(column, "spark") for column, _ in described)
    numbered = (
        f"SELECT {columns}, {start} + {place} AS {sqltext.identifier(ROW, 'spark')} "
        f"FROM {inner.quote(read)}"
    )
    if inner.scratch is not None:
        inner.keep(name, numbered)
    else:
        # A view over the kept text: no second copy of the rows.
        inner.execute(f"CREATE OR REPLACE TEMPORARY VIEW {inner.quote(name)} AS {numbered}")
    return described


def _spark_text(column: str, kind: str) -> str:
    """A Spark column as its text (a timestamp as its date's), under its own name."""
    quoted = sqltext.identifier(column, "spark")
    value = f"CAST({quoted} AS DATE)" if kind.startswith("timestamp") else quoted
    return f"CAST({value} AS STRING) AS {quoted}"


def _as_text(column: str, type_code: int) -> str:
    """A PostgreSQL column as its text (a timestamp as its date's), under its own name."""
    quoted = sqltext.identifier(column, "postgres")
    value = f"CAST({quoted} AS DATE)" if type_code in _PG_TIMESTAMPS else quoted
    return f"CAST({value} AS TEXT) AS {quoted}"


def _table(what: str, dialect: str) -> str:
    """A table name as written (`schema.table`), each part quoted."""
    return ".".join(sqltext.identifier(part, dialect) for part in what.split("."))


def _copy_postgres(local: DuckDBEngine, remote: PostgresEngine, source: str, name: str) -> None:
    """The rows as PostgreSQL's own text for each value (timestamps as their date), written
    by COPY to a temporary CSV file that DuckDB reads."""
    described = remote.types(f"SELECT * FROM {source} AS s")
    items = [_as_text(column, type_code) for column, type_code in described]
    with tempfile.TemporaryDirectory(prefix="nrr-url-") as folder:
        path = Path(folder) / "rows.csv"
        remote.copy_out(f"SELECT {', '.join(items)} FROM {source} AS s", path)
        columns = ", ".join(f"{sqltext.string(f'c{i}')}: 'VARCHAR'" for i in range(len(items)))
        renamed = ", ".join(
            f"{sqltext.identifier(f'c{i}')} AS {sqltext.identifier(column)}"
            for i, (column, _) in enumerate(described)
        )
        # An unquoted empty field is PostgreSQL's NULL, a quoted one its empty text.
        local.keep(
            name,
            f"SELECT {renamed} FROM read_csv({sqltext.string(path.as_posix())}, "
            "header = false, delim = ',', quote = '\"', escape = '\"', "
            f"auto_detect = false, strict_mode = true, columns = {{{columns}}})",
        )


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)
