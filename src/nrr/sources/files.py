"""Open a CSV file, a Parquet file or a database table as a raw table of text columns.

Everything is read as text first so that validation, not the reader, decides what a bad
value is, and can say which row and column it was in. Each raw table gets a `_row` column
with the row number a user would see (the header of a CSV file is row 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
from ibis.backends.duckdb import Backend as DuckDBBackend

from nrr.errors import InputError, Problem

__all__ = ["ROW", "RawSource", "open_file", "open_table"]

ROW = "_row"
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class RawSource:
    """A table of text columns (lower-case names) plus `_row`, and the name users know it by."""

    name: str
    table: ibis.Table
    columns: tuple[str, ...]


def _fail(name: str, message: str) -> InputError:
    return InputError(Problem(source=name, message=message))


def open_file(con: DuckDBBackend, path: str | Path, *, role: str) -> RawSource:
    """Open `path` (CSV or Parquet, chosen by suffix or content) for the input `role`."""
    path = Path(path)
    name = path.name if path.name else str(path)
    if not path.exists():
        raise _fail(str(path), f"file not found (given as the {role} input); check the path")
    if path.is_dir():
        raise _fail(str(path), f"is a folder, not a file (given as the {role} input)")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise _fail(name, f"the file is empty; the {role} input needs a header row and data rows")
    if path.suffix.lower() in _PARQUET_SUFFIXES or head[:4] == b"PAR1":
        return _open_parquet(con, path, name)
    return _open_csv(con, path, name, head)


def _open_csv(con: DuckDBBackend, path: Path, name: str, head: bytes) -> RawSource:
    if b"\x00" in head:
        raise _fail(
            name,
            "is not a text CSV file (it contains binary data); export it as CSV (UTF-8) or Parquet",
        )
    try:
        head.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the sniff boundary is not an error.
        if exc.start < len(head) - 4:
            raise _fail(
                name,
                f"is not UTF-8 text (bad byte at offset {exc.start}); re-save it as CSV UTF-8",
            ) from None
    try:
        table = con.read_csv(str(path), all_varchar=True, header=True)
    except duckdb.Error as exc:
        raise _fail(name, f"cannot be read as CSV: {_first_line(exc)}") from None
    return _finish(name, table, first_row=2)


def _open_parquet(con: DuckDBBackend, path: Path, name: str) -> RawSource:
    try:
        table = con.read_parquet(str(path))
    except duckdb.Error as exc:
        raise _fail(name, f"cannot be read as Parquet: {_first_line(exc)}") from None
    return _finish(name, _as_text(table), first_row=1)


def open_table(con: ibis.BaseBackend, table_name: str, *, label: str | None = None) -> RawSource:
    """Open a table that already lives in the connected database."""
    try:
        table = con.table(table_name)
    except Exception as exc:  # each backend raises its own "no such table"
        raise _fail(
            label or table_name, f"table {table_name!r} not found: {_first_line(exc)}"
        ) from None
    return _finish(label or table_name, _as_text(table), first_row=1)


def _as_text(table: ibis.Table) -> ibis.Table:
    """Cast every column to text; timestamps become their ISO date."""
    columns = {}
    for column, dtype in table.schema().items():
        value = table[column]
        if isinstance(dtype, dt.Timestamp):
            value = value.date()
        columns[column] = value if dtype.is_string() else value.cast("string")
    return table.select(**columns)


def _finish(name: str, table: ibis.Table, *, first_row: int) -> RawSource:
    renames: dict[str, str] = {}
    for column in table.columns:
        clean = column.strip().lower().removeprefix("\ufeff")
        if clean in renames:
            raise _fail(name, f"column {clean!r} appears twice in the header; keep one")
        renames[clean] = column
    for clean in renames:
        # The CSV reader renames a repeated header `amount` to `amount_1`; using one and
        # ignoring the other would silently drop data.
        stem, _, suffix = clean.rpartition("_")
        if suffix.isdigit() and stem in renames:
            raise _fail(name, f"column {stem!r} appears twice in the header; keep one")
    table = table.rename(renames)
    table = table.mutate(**{ROW: (ibis.row_number() + first_row).cast("int64")})
    return RawSource(name=name, table=table, columns=tuple(renames))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
