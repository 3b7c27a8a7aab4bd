"""Open a CSV file, a Parquet file or a database table as a raw table of text columns.

Everything is read as text first so that validation, not the reader, decides what a bad
value is, and can say which row and column it was in. Each raw table gets a `_row` column
with the row number a user would see (the header of a CSV file is row 1).

A CSV file is checked for what the engine would only report vaguely or not at all (text that
is not UTF-8, rows with more or fewer fields than the header, quotes that never close, mixed
line endings, empty lines that would shift the row numbers), and the row is named
(`csv_layout`). A quick pass over the bytes followed by the engine's strict read clears an
ordinary file at disk speed; a file it has any doubt about is read once more, a row at a time,
to find the row to name. The engine reads the file with the separator and header found, so
both agree on what a row is.

Opened `direct`, an ordinary CSV file is not even stored as text: the checks read it straight
and only the typed rows are stored, numbered then (`Unnumbered`); the careful way above runs
only when some row needs naming.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.errors import InputError
from nrr.memory import memory_limit_error
from nrr.sources.cache import CheckedCache
from nrr.sources.csv_layout import (
    MAX_COLUMNS,
    MAX_ROW_CHARS,
    UTF8_BOM,
    Layout,
    check_text,
    empty_message,
    fail,
    quick_layout,
    scan_csv,
    too_wide,
)

__all__ = ["ROW", "RawSource", "Unnumbered", "named_source", "open_file", "open_table"]

ROW = "_row"
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_SNIFF_BYTES = 64 * 1024
# The engine's limit, in bytes, sits above any row the scan lets through (<= 4 bytes a char).
_ENGINE_MAX_LINE_BYTES = 8 * MAX_ROW_CHARS


@dataclass(frozen=True)
class Unnumbered:
    """Says that a source's `table` reads an ordinary CSV file straight, its rows not yet
    numbered (`_row` is null). Whoever stores what it computes from the rows, in file order,
    numbers them from the stored table's `rowid`: the first row is `first_row`. `careful()`
    opens the file the usual way (stored and numbered), to name what is wrong with a row.
    `cache`, when given, keeps checked copies of `file`, whose bytes had `digest` when it
    had `stamp` (`cache.py`), with `layout`, when it was found in those bytes rather than
    remembered: both are kept only once the bytes are seen unchanged after every read."""

    first_row: int
    careful: Callable[[], RawSource]
    cache: CheckedCache | None = None
    file: Path | None = None
    digest: str = ""
    stamp: tuple[int, int] = (0, 0)
    layout: Layout | None = None

    def unchanged(self) -> bool:
        """Whether the file still has the size and time it had when its digest was taken."""
        return self.file is not None and CheckedCache.stamp(self.file) == self.stamp


@dataclass(frozen=True)
class RawSource:
    """An input as the intake reads it: the name users know it by, and `relation`, a query
    in the embedded DuckDB (its dialect) over text columns `columns` (lower-case names) plus
    `_row`, the row number a user would see.

    `_row` is null while the source is `unnumbered`."""

    name: str
    relation: str
    columns: tuple[str, ...]
    rows: int | None = None  # the number of rows, when reading already counted them
    unnumbered: Unnumbered | None = None
    spaced: bool = True  # whether a value may need trimming (`csv_layout.Layout.spaced`)


def open_file(
    engine: Engine,
    path: str | Path,
    *,
    role: str,
    direct: bool = False,
    cache: CheckedCache | None = None,
) -> RawSource:
    """Open `path` (CSV or Parquet, chosen by suffix or content) for the input `role`, in the
    embedded DuckDB `engine`.

    With `direct`, an ordinary CSV file is not stored first: the source reads it straight
    and is `unnumbered` (see `Unnumbered`), which saves a copy of every value as text;
    `cache` then keeps a checked copy of a clean file for the next command."""
    path = Path(path)
    name = path.name if path.name else str(path)
    if not path.exists():
        raise fail(str(path), f"file not found (given as the {role} input); check the path")
    if path.is_dir():
        raise fail(str(path), f"is a folder, not a file (given as the {role} input)")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if len(head) < _SNIFF_BYTES and not head.removeprefix(UTF8_BOM).strip():
        raise fail(name, empty_message(role))
    if path.suffix.lower() in _PARQUET_SUFFIXES or head[:4] == b"PAR1":
        return _open_parquet(engine, path, name)
    check_text(name, head)
    kept = cache if direct and cache is not None and cache.worth(path) else None
    stamp = kept.stamp(path) if kept is not None else (0, 0)
    digest = kept.digest(path) if kept is not None else ""
    if kept is not None:  # every read the cache keeps comes after the digest (`adopt`)
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    # The layout is a function of the bytes: a file seen before skips the pass over them.
    layout = kept.layout(digest) if kept is not None else None
    found = None
    if layout is None:
        layout = found = quick_layout(path, name, head)
    if direct and layout is not None:
        read = _read_csv(path, layout, max_line_bytes=MAX_ROW_CHARS)
        source = _finish(
            name, f'SELECT *, CAST(NULL AS BIGINT) AS "{ROW}" FROM {read}', layout.columns, 1
        )
        unnumbered = Unnumbered(
            layout.first_row,
            lambda: _open_csv(engine, path, name, head, role, layout),
            cache=kept,
            file=path,
            digest=digest,
            stamp=stamp,
            layout=found,
        )
        return RawSource(
            source.name,
            source.relation,
            source.columns,
            unnumbered=unnumbered,
            spaced=layout.spaced,
        )
    return _open_csv(engine, path, name, head, role, layout)


def _open_csv(
    engine: Engine, path: Path, name: str, head: bytes, role: str, layout: Layout | None
) -> RawSource:
    if layout is not None:
        # Rows longer than the scan allows fail here too, so the scan can say so.
        read = _read_csv(path, layout, max_line_bytes=MAX_ROW_CHARS)
        try:
            stored, rows = _stored(engine, read, layout.first_row)
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise memory_limit_error(exc) from None
            # else the careful scan below finds the row and says what is wrong with it
        else:
            return _finish(name, stored, layout.columns, layout.first_row, rows=rows)
    layout = scan_csv(path, name, head, role)
    try:
        stored, _ = _stored(engine, _read_csv(path, layout), layout.first_row)
    except duckdb.Error as exc:
        raise _unreadable(name, "CSV", exc) from None
    # With a single column the engine reads an empty line as an empty value, so empty lines
    # at the end would become rows (the scan refuses every other empty line).
    last_row = layout.last_row if len(layout.columns) == 1 else None
    return _finish(name, stored, layout.columns, layout.first_row, last_row=last_row)


def _stored(engine: Engine, read: str, first_row: int) -> tuple[str, int]:
    """The rows `read` stored once in a temporary table, numbered by their order in the
    file, and how many there are.

    DuckDB stores a scan's rows in the order read, so `rowid` is the row's place in the
    file: no window function numbers them, and every later query over the rows runs on all
    cores (a row_number() window would hold each of them to one)."""
    name = engine.fresh_name("nrr_raw")
    engine.keep(name, f"SELECT * FROM {read}")
    table = engine.quote(name)
    rows = int(engine.scalar(f"SELECT COUNT(*) FROM {table}"))
    return f'SELECT *, rowid + {first_row:d} AS "{ROW}" FROM {table}', rows


def _read_csv(
    path: Path,
    layout: Layout,
    *,
    max_line_bytes: int = _ENGINE_MAX_LINE_BYTES,
) -> str:
    """DuckDB's strict reader over `path` with the layout found: every column as text."""
    columns = ", ".join(f"{sqltext.string(c)}: 'VARCHAR'" for c in layout.columns)
    return (
        f"read_csv({sqltext.string(path.as_posix())}, header = true, "
        f"skip = {layout.skip:d}, delim = {sqltext.string(layout.separator)}, quote = '\"', "
        f"escape = '\"', strict_mode = true, max_line_size = {int(max_line_bytes):d}, "
        f"auto_detect = false, columns = {{{columns}}})"
    )


def _open_parquet(engine: Engine, path: Path, name: str) -> RawSource:
    # The footer says how wide the file is before the engine builds a reader for every column.
    # (pyarrow only here: a command over CSV files never pays for importing it.)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        width = pq.read_metadata(path).num_columns
    except (OSError, pa.ArrowException):
        width = 0  # the engine says what is wrong with the file
    if width > MAX_COLUMNS:
        raise too_wide(name, width)
    read = f"read_parquet({sqltext.string(path.as_posix())}, file_row_number = true)"
    try:
        types = _types(engine, f"SELECT * FROM {read}")
    except duckdb.Error as exc:
        raise _unreadable(name, "Parquet", exc) from None
    types.pop("file_row_number", None)
    # The reader numbers the rows itself, in parallel (see `_stored`).
    text = _as_text(types)
    relation = f'SELECT {text}, file_row_number + 1 AS "{ROW}" FROM {read}'
    return _finish(name, relation, tuple(types), 1)


def open_table(engine: Engine, table_name: str, *, label: str | None = None) -> RawSource:
    """Open a table that already lives in the embedded DuckDB (a `--db` file's, or rows
    copied in), its columns as text and its rows numbered in the order the engine reads
    them."""
    table = sqltext.identifier(table_name)
    try:
        types = _types(engine, f"SELECT * FROM {table}")
    except duckdb.Error as exc:
        raise fail(
            label or table_name, f"table {table_name!r} not found: {_first_line(exc)}"
        ) from None
    text = _as_text(types)
    relation = f'SELECT {text}, ROW_NUMBER() OVER () AS "{ROW}" FROM {table}'
    return _finish(label or table_name, relation, tuple(types), 1)


def _types(engine: Engine, sql: str) -> dict[str, str]:
    """Each column of the query `sql` and its DuckDB type."""
    return {str(r[0]): str(r[1]) for r in engine.fetch(f"DESCRIBE {sql}").rows}


def _as_text(types: dict[str, str]) -> str:
    """A select list casting every column to text; timestamps become their ISO date."""
    items = []
    for column, kind in types.items():
        quoted = sqltext.identifier(column)
        if kind.startswith("TIMESTAMP"):
            items.append(f"CAST(CAST({quoted} AS DATE) AS VARCHAR) AS {quoted}")
        elif kind == "VARCHAR":
            items.append(quoted)
        else:
            items.append(f"CAST({quoted} AS VARCHAR) AS {quoted}")
    return ", ".join(items)


def named_source(name: str, relation: str, columns: tuple[str, ...]) -> RawSource:
    """A source over `relation` (its `columns` as read, plus `_row`), with the clean
    lower-case names and the checks of the header every source gets."""
    return _finish(name, relation, columns, 1)


def _finish(
    name: str,
    relation: str,
    columns: tuple[str, ...],
    first_row: int,
    *,
    last_row: int | None = None,
    rows: int | None = None,
) -> RawSource:
    """`relation` (the source's columns as read, `columns`, plus `_row` counted from 1, or
    from `first_row` when stored) with clean lower-case names."""
    renames: dict[str, str] = {}
    if len(columns) > MAX_COLUMNS:
        raise too_wide(name, len(columns))
    for column in columns:
        clean = column.strip().lower().removeprefix("\ufeff")
        if clean in renames:
            raise fail(name, f"column {clean!r} appears twice in the header; keep one")
        renames[clean] = column
    for clean in renames:
        # The CSV reader renames a repeated header `amount` to `amount_1`; using one and
        # ignoring the other would silently drop data.
        stem, _, suffix = clean.rpartition("_")
        if suffix.isdigit() and stem in renames:
            raise fail(name, f"column {stem!r} appears twice in the header; keep one")
    select = ", ".join(
        f"{sqltext.identifier(given)} AS {sqltext.identifier(clean)}"
        for clean, given in renames.items()
    )
    kept = f'SELECT {select}, "{ROW}" FROM ({relation}) AS source'
    if last_row is not None:
        kept += f' WHERE "{ROW}" <= {last_row:d}'
    return RawSource(name=name, relation=kept, columns=tuple(renames), rows=rows)


def _unreadable(name: str, kind: str, exc: duckdb.Error) -> InputError:
    """Why a file cannot be read; running out of memory is the memory limit's fault, not the
    file's, and is said so."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return memory_limit_error(exc)
    return fail(name, f"cannot be read as {kind}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
