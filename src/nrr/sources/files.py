"""Open a CSV file, a Parquet file or a database table as a raw table of text columns.

Everything is read as text first so that validation, not the reader, decides what a bad
value is, and can say which row and column it was in. Each raw table gets a `_row` column
with the row number a user would see (the header of a CSV file is row 1).

A CSV file is checked for what the engine would only report vaguely or not at all (text that
is not UTF-8, rows with more or fewer fields than the header, quotes that never close, mixed
line endings, empty lines that would shift the row numbers), and the row is named. A quick
pass over the bytes (UTF-8, NUL bytes, line endings, empty lines) followed by the engine's
strict count of the rows clears an ordinary file at disk speed; a file it has any doubt about
is read once more by Python's `csv` module, a row at a time, which finds the row to name. The
engine then reads the file with the separator and header found, so both agree on what a row is.
"""

from __future__ import annotations

import codecs
import csv
import re
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
_UTF8_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (",", ";", "\t", "|")  # the first wins a tie
# A CSV row (all its lines) may hold this many characters; memory stays bounded by it.
_MAX_ROW_CHARS = 1 << 20
# The engine's limit, in bytes, sits above any row the scan lets through (<= 4 bytes a char).
_ENGINE_MAX_LINE_BYTES = 8 * _MAX_ROW_CHARS
# Bytes that are not UTF-8, as decoded with errors="surrogateescape".
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class RawSource:
    """A table of text columns (lower-case names) plus `_row`, and the name users know it by."""

    name: str
    table: ibis.Table
    columns: tuple[str, ...]
    rows: int | None = None  # the number of rows, when reading already counted them


def _fail(name: str, message: str) -> InputError:
    return InputError(Problem(source=name, message=message))


def _fail_row(name: str, row: int, message: str) -> InputError:
    return InputError(Problem(source=name, row=row, message=message))


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
    if len(head) < _SNIFF_BYTES and not head.removeprefix(_UTF8_BOM).strip():
        raise _fail(name, _empty(role))
    if path.suffix.lower() in _PARQUET_SUFFIXES or head[:4] == b"PAR1":
        return _open_parquet(con, path, name)
    return _open_csv(con, path, name, head, role)


def _empty(role: str) -> str:
    return f"the file is empty; the {role} input needs a header row and data rows"


def _open_csv(con: DuckDBBackend, path: Path, name: str, head: bytes, role: str) -> RawSource:
    _check_text(name, head)
    layout = _quick_layout(path, name, head)
    if layout is not None:
        # Rows longer than the scan allows fail here too, so the scan can say so.
        table = _read_csv(con, path, name, layout, max_line_bytes=_MAX_ROW_CHARS)
        try:
            stored = _stored(con, table, layout.first_row)
        except duckdb.Error:
            pass  # the careful scan below finds the row and says what is wrong with it
        else:
            rows = int(stored.count().execute())
            return _finish(name, stored, first_row=layout.first_row, rows=rows)
    layout = _scan_csv(path, name, head, role)
    try:
        stored = _stored(con, _read_csv(con, path, name, layout), layout.first_row)
    except duckdb.Error as exc:
        raise _fail(name, f"cannot be read as CSV: {_first_line(exc)}") from None
    # With a single column the engine reads an empty line as an empty value, so empty lines
    # at the end would become rows (the scan refuses every other empty line).
    last_row = layout.last_row if len(layout.columns) == 1 else None
    return _finish(name, stored, first_row=layout.first_row, last_row=last_row)


def _stored(con: DuckDBBackend, table: ibis.Table, first_row: int) -> ibis.Table:
    """`table` read once into a temporary table, numbered by its order in the file.

    DuckDB stores a scan's rows in the order read, so `rowid` is the row's place in the
    file: no window function numbers them, and every later query over the rows runs on all
    cores (a row_number() window would hold each of them to one)."""
    name = ibis.util.gen_name("nrr_raw")
    con.create_table(name, table, temp=True)
    return con.sql(f'SELECT *, rowid + {first_row:d} AS "{ROW}" FROM "{name}"')


def _read_csv(
    con: DuckDBBackend,
    path: Path,
    name: str,
    layout: _Layout,
    *,
    max_line_bytes: int = _ENGINE_MAX_LINE_BYTES,
) -> ibis.Table:
    try:
        return con.read_csv(
            str(path),
            columns=dict.fromkeys(layout.columns, "VARCHAR"),
            header=True,
            skip=layout.skip,
            delim=layout.separator,
            quote='"',
            escape='"',
            strict_mode=True,
            max_line_size=max_line_bytes,
        )
    except duckdb.Error as exc:
        raise _fail(name, f"cannot be read as CSV: {_first_line(exc)}") from None


_CHUNK_BYTES = 8 << 20


def _quick_layout(path: Path, name: str, head: bytes) -> _Layout | None:
    """The layout of an ordinary CSV file from one fast pass over its bytes, or None when
    anything calls for the row-by-row scan. An empty line shows as two line ends in a row
    (or a value with an empty line inside quotes does: the scan tells them apart).
    Also bytes that are not UTF-8, a NUL byte, mixed line endings, a header that is not on
    the first line or has one column."""
    text = head.removeprefix(_UTF8_BOM)
    if not text or text[:1] in (b"\n", b"\r") or b"\n" not in text:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    lf = cr = crlf = 0
    previous = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            joined = previous + chunk
            if b"\x00" in chunk or b"\n\n" in joined:
                return None
            if b"\r" in chunk or cr:  # the rest only matters in a file with CR
                if b"\r\r" in joined or b"\n\r\n" in joined:
                    return None
                lf, cr = lf + chunk.count(b"\n"), cr + chunk.count(b"\r")
                crlf += joined.count(b"\r\n") - previous.count(b"\r\n")
            previous = chunk[-2:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if cr and not (cr == crlf == lf):
        return None  # CR line endings, or a mix: the scan says which line
    separator = _guess_separator(head)
    line = text.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    if '"' in line:
        return None  # a quoted header may span lines
    try:
        header = next(csv.reader([line], delimiter=separator, skipinitialspace=True), [])
    except csv.Error:
        return None
    if len(header) < 2:
        return None
    return _Layout(separator, _column_names(name, header), 0, 2, 0)


def _check_text(name: str, head: bytes) -> None:
    """Refuse what is plainly not UTF-8 text, from the first bytes."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise _fail(name, "is UTF-32 text, not UTF-8; re-save it as CSV UTF-8")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
        raise _fail(name, "is UTF-16 text, not UTF-8; re-save it as CSV UTF-8")
    if head.startswith(b"\x1f\x8b"):
        raise _fail(name, "is a gzip-compressed file, not a CSV file; decompress it first")
    if head.startswith(b"PK\x03\x04"):
        raise _fail(
            name,
            "is a ZIP archive (an Excel .xlsx workbook is one), not a CSV file; "
            "export the sheet as CSV UTF-8, or as Parquet",
        )
    if b"\x00" in head:
        raise _fail(
            name,
            "is not a text CSV file (it contains binary data); export it as CSV (UTF-8) or Parquet",
        )


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: most even or most odd bytes are NUL, not both."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 8:
        return False
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return max(nul_even, nul_odd) > 0.7 and min(nul_even, nul_odd) < 0.1


@dataclass(frozen=True)
class _Layout:
    separator: str
    columns: tuple[str, ...]  # header names, cleaned; unique
    skip: int  # empty lines before the header
    first_row: int  # row number of the first data row
    last_row: int  # row number of the last row that is not empty


class _Unreadable(Exception):
    def __init__(self, message: str, *, too_long: bool = False):
        super().__init__(message)
        self.message = message
        self.too_long = too_long


class _Lines:
    """The lines of a text file for `csv.reader`, checked as they pass; memory stays bounded."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.number = 0  # physical lines read so far
        self.row_chars = 0  # characters of the row being read; the caller resets it
        self.ending = ""  # the line ending of the last line read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._handle.readline(_MAX_ROW_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.row_chars += len(line)
        if self.row_chars > _MAX_ROW_CHARS:
            raise _Unreadable(
                f"the row is longer than {_MAX_ROW_CHARS:,} characters; check that it is "
                "one row of the table (a CSV row holds short values: ids, dates, amounts)",
                too_long=True,
            )
        if not line.isascii() and (bad := _NOT_UTF8.search(line)):
            byte = ord(line[bad.start()]) - 0xDC00
            before = line[: bad.start()][-20:]
            where = f"after {before!r}" if before else "at the start of a line"
            raise _Unreadable(
                f"is not UTF-8 text (byte 0x{byte:02X} {where}); re-save it as CSV UTF-8"
            )
        if "\x00" in line:
            raise _Unreadable(
                "contains a NUL byte (binary data); export the file as CSV (UTF-8) or Parquet"
            )
        last = line[-1]
        if last == "\n":
            self.ending = "\r\n" if line.endswith("\r\n") else "\n"
        else:
            self.ending = "\r" if last == "\r" else ""
        return line


_ENDINGS = {"\n": "LF", "\r\n": "CR LF", "\r": "CR"}


def _scan_csv(path: Path, name: str, head: bytes, role: str) -> _Layout:
    """Read the file once, a row at a time, and report the first row the engine would misread.

    Rows are numbered as a spreadsheet shows them: the header is row 1 (after any empty
    lines above it), and a value with line breaks inside quotes is still one row.
    """
    separator = _guess_separator(head)
    header: list[str] | None = None
    header_ending = ""
    skip = rows = header_row = last_row = 0
    empty_row: int | None = None
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        lines = _Lines(handle)
        reader = csv.reader(
            lines,
            delimiter=separator,
            quotechar='"',
            doublequote=True,
            skipinitialspace=True,
            strict=True,
        )
        while True:
            lines.row_chars = 0
            first_line = lines.number + 1
            try:
                record = next(reader, None)
            except _Unreadable as exc:
                message = exc.message
                if exc.too_long and lines.number > first_line:
                    message = _quote_runs_on(first_line, lines.number, ends="past")
                raise _fail_row(name, rows + 1, message) from None
            except csv.Error as exc:
                message = _csv_error(str(exc), separator, first_line, lines.number)
                raise _fail_row(name, rows + 1, message) from None
            if record is None:
                break
            rows += 1
            blank = not record or (
                len(record) == 1 and not record[0].strip() and (header is None or len(header) == 1)
            )
            if header is None:
                if blank:
                    skip += lines.number - first_line + 1
                else:
                    header, header_ending, header_row = record, lines.ending, rows
                continue
            if lines.ending and lines.ending != header_ending:
                raise _fail_row(
                    name,
                    rows,
                    f"this line ends with {_ENDINGS[lines.ending]} but the header line ends "
                    f"with {_ENDINGS.get(header_ending, 'the end of the file')}; save the file "
                    "with one kind of line ending",
                )
            if blank:
                empty_row = empty_row or rows
                continue
            if empty_row is not None:
                raise _fail_row(
                    name,
                    empty_row,
                    "the row is empty; delete empty lines between the rows, so that rows are "
                    "numbered as in the file",
                )
            if len(record) != len(header):
                raise _fail_row(
                    name, rows, _ragged(record, header, separator, first_line, lines.number)
                )
            last_row = rows
    if header is None:
        raise _fail(name, _empty(role))
    return _Layout(separator, _column_names(name, header), skip, header_row + 1, last_row)


def _guess_separator(head: bytes) -> str:
    """The separator that splits the header line into the most fields."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = next((line for line in text.splitlines() if line.strip()), "")

    def fields(separator: str) -> int:
        try:
            return len(next(csv.reader([line], delimiter=separator), []))
        except csv.Error:
            return 0

    return max(_SEPARATORS, key=fields)


def _column_names(name: str, header: list[str]) -> tuple[str, ...]:
    columns: list[str] = []
    for number, column in enumerate(header):
        clean = column.strip().lower().removeprefix("\ufeff").strip() or f"column{number}"
        if clean in columns:
            raise _fail(name, f"column {clean!r} appears twice in the header; keep one")
        columns.append(clean)
    return tuple(columns)


def _show_separator(separator: str) -> str:
    return "tab" if separator == "\t" else repr(separator)


_QUOTE_FIX = 'close the quote where the value ends, and write a quote inside a value as two ("")'


def _quote_runs_on(first_line: int, last_line: int, *, ends: str = "to") -> str:
    """`ends`: "to" (the value ends on `last_line`), "past" (reading gave up there) or "never"."""
    if ends == "never":
        return f'a quote (") on line {first_line} of the file is never closed; {_QUOTE_FIX}'
    return (
        f'a quote (") on line {first_line} of the file opens a value that runs on {ends} line '
        f"{last_line}; {_QUOTE_FIX}"
    )


def _csv_error(error: str, separator: str, first_line: int, last_line: int) -> str:
    if "unexpected end of data" in error:
        return _quote_runs_on(first_line, last_line, ends="never")
    if last_line > first_line:
        ends = "past" if "field limit" in error else "to"
        return _quote_runs_on(first_line, last_line, ends=ends)
    if "expected after" in error:
        return (
            "a quoted value is followed by more text before the next "
            f"{_show_separator(separator)}; put quotes around the whole value, and write a quote "
            'inside it as two quotes ("")'
        )
    if "field larger than field limit" in error:
        return (
            f"a value is longer than {csv.field_size_limit():,} characters; check that the row "
            "is not damaged (a CSV row holds short values: ids, dates, amounts)"
        )
    return f"cannot be read as CSV: {error}"


def _ragged(
    record: list[str], header: list[str], separator: str, first_line: int, last_line: int
) -> str:
    fields = f"{len(record)} field" + ("" if len(record) == 1 else "s")
    message = f"the row has {fields} but the header has {len(header)}"
    if last_line > first_line:
        return f"{message}: {_quote_runs_on(first_line, last_line)}"
    if len(record) == 1 and not record[0].strip():
        return f"{message}: the line holds only spaces; delete it"
    hint = ""
    if len(record) == len(header) - 1 and not header[-1].strip():
        hint = " (the header line ends with a separator: remove it)"
    example = ' (for example "Acme, Inc.")' if separator == "," else ""
    return (
        f"{message}{hint}; give every row one value per column, and put quotes around a value "
        f"that contains {_show_separator(separator)}{example}"
    )


def _open_parquet(con: DuckDBBackend, path: Path, name: str) -> RawSource:
    try:
        table = con.read_parquet(str(path), file_row_number=True)
    except duckdb.Error as exc:
        raise _fail(name, f"cannot be read as Parquet: {_first_line(exc)}") from None
    # The reader numbers the rows itself, in parallel (see `_stored`).
    text = _as_text(table.rename({ROW: "file_row_number"}), keep=(ROW,))
    return _finish(name, text.mutate(**{ROW: text[ROW] + 1}), first_row=1)


def open_table(con: ibis.BaseBackend, table_name: str, *, label: str | None = None) -> RawSource:
    """Open a table that already lives in the connected database."""
    try:
        table = con.table(table_name)
    except Exception as exc:  # each backend raises its own "no such table"
        raise _fail(
            label or table_name, f"table {table_name!r} not found: {_first_line(exc)}"
        ) from None
    return _finish(label or table_name, _as_text(table), first_row=1)


def _as_text(table: ibis.Table, keep: tuple[str, ...] = ()) -> ibis.Table:
    """Cast every column but those in `keep` to text; timestamps become their ISO date."""
    columns = {}
    for column, dtype in table.schema().items():
        value = table[column]
        if column in keep:
            columns[column] = value
            continue
        if isinstance(dtype, dt.Timestamp):
            value = value.date()
        columns[column] = value if dtype.is_string() else value.cast("string")
    return table.select(**columns)


def _finish(
    name: str,
    table: ibis.Table,
    *,
    first_row: int,
    last_row: int | None = None,
    rows: int | None = None,
) -> RawSource:
    renames: dict[str, str] = {}
    numbered = ROW in table.columns  # numbered by the reader (see `_stored`)
    for column in table.columns:
        if column == ROW and numbered:
            continue
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
    if not numbered:
        table = table.mutate(**{ROW: (ibis.row_number() + first_row).cast("int64")})
    if last_row is not None:
        table = table.filter(table[ROW] <= last_row)
    return RawSource(name=name, table=table, columns=tuple(renames), rows=rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
