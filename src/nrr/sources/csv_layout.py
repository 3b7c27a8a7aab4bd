"""Is a CSV file what it seems? Its layout (separator, header, where the rows start), and the
first row the engine would misread, named as a spreadsheet numbers it.

`quick_layout` clears an ordinary file with one pass over its bytes; `scan_csv` reads a file
row by row with Python's `csv` module and reports the first problem (text that is not UTF-8,
ragged rows, quotes that never close, mixed line endings, empty lines). `check_text` refuses
from the first bytes what is plainly not UTF-8 text.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from nrr.errors import InputError, Problem

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROW_CHARS",
    "UTF8_BOM",
    "Layout",
    "check_text",
    "empty_message",
    "fail",
    "quick_layout",
    "scan_csv",
    "too_wide",
]

UTF8_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (",", ";", "\t", "|")  # the first wins a tie
# A CSV row (all its lines) may hold this many characters; memory stays bounded by it.
MAX_ROW_CHARS = 1 << 20
# An input may have this many columns. Every column costs time in each query built over the
# input (about a millisecond each, in building and compiling it), so a header of a million
# empty names would run for hours; real inputs have a few dozen (docs/inputs.md).
MAX_COLUMNS = 1000
# Bytes that are not UTF-8, as decoded with errors="surrogateescape".
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def fail(name: str, message: str) -> InputError:
    return InputError(Problem(source=name, message=message))


def _fail_row(name: str, row: int, message: str) -> InputError:
    return InputError(Problem(source=name, row=row, message=message))


def too_wide(name: str, columns: int) -> InputError:
    return fail(
        name,
        f"has {columns:,} columns, more than the {MAX_COLUMNS:,} nrr reads; check that the "
        "first line is the header and that the separator is right (an input has a few dozen "
        "columns)",
    )


def empty_message(role: str) -> str:
    return f"the file is empty; the {role} input needs a header row and data rows"


_CHUNK_BYTES = 8 << 20


def quick_layout(path: Path, name: str, head: bytes) -> Layout | None:
    """The layout of an ordinary CSV file from one fast pass over its bytes, or None when
    anything calls for the row-by-row scan. An empty line shows as two line ends in a row
    (or a value with an empty line inside quotes does: the scan tells them apart).
    Also bytes that are not UTF-8, a NUL byte, mixed line endings, a header that is not on
    the first line or has one column."""
    text = head.removeprefix(UTF8_BOM)
    if not text or text[:1] in (b"\n", b"\r") or b"\n" not in text:
        return None
    separator = _guess_separator(head)
    # Bytes that can put whitespace at the edge of a value (`Layout.spaced`): a space, a tab
    # that does not separate, the two rarer space characters, and a quote (a quoted value
    # may hold a line break). Each is a memchr-fast test; pairs of bytes were 15x slower.
    spacers = [b" ", b"\x0b", b"\x0c", b'"'] + ([] if separator == "\t" else [b"\t"])
    spaced = False
    decoder = codecs.getincrementaldecoder("utf-8")()
    lf = cr = crlf = 0
    previous = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            # ASCII is UTF-8: only a chunk with other bytes (or after a character cut in
            # two at the last chunk's end) needs decoding, which costs a copy.
            if not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return None
            if b"\x00" in chunk or b"\n\n" in chunk or (previous[-1:] == b"\n" == chunk[:1]):
                return None
            if _may_hold_long_line(chunk):
                return None
            spaced = spaced or any(byte in chunk for byte in spacers)
            if b"\r" in chunk or cr:  # the rest only matters in a file with CR
                joined = previous + chunk
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
    line = text.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    if '"' in line:
        return None  # a quoted header may span lines
    try:
        header = next(csv.reader([line], delimiter=separator, skipinitialspace=True), [])
    except csv.Error:
        return None
    if len(header) < 2:
        return None
    return Layout(separator, _column_names(name, header), 0, 2, 0, spaced=spaced)


# Half the longest row: a line longer than MAX_ROW_CHARS covers a whole aligned window.
_WINDOW = MAX_ROW_CHARS // 2


def _may_hold_long_line(chunk: bytes) -> bool:
    """Whether an aligned window of `chunk` (read at a multiple of `_CHUNK_BYTES` in the
    file) has no line end, as every line of more than MAX_ROW_CHARS bytes makes one have.
    The engine's reader refuses such a line, except in a file with one data row, where it
    returned no rows at all (DuckDB 1.5): the scan names the row instead. One memchr a
    window, each stopping at the first line end."""
    return any(
        chunk.find(b"\n", start, start + _WINDOW) < 0
        for start in range(0, len(chunk) - _WINDOW + 1, _WINDOW)
    )


def check_text(name: str, head: bytes) -> None:
    """Refuse what is plainly not UTF-8 text, from the first bytes."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise fail(name, "is UTF-32 text, not UTF-8; re-save it as CSV UTF-8")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
        raise fail(name, "is UTF-16 text, not UTF-8; re-save it as CSV UTF-8")
    if head.startswith(b"\x1f\x8b"):
        raise fail(name, "is a gzip-compressed file, not a CSV file; decompress it first")
    if head.startswith(b"PK\x03\x04"):
        raise fail(
            name,
            "is a ZIP archive (an Excel .xlsx workbook is one), not a CSV file; "
            "export the sheet as CSV UTF-8, or as Parquet",
        )
    if b"\x00" in head:
        raise fail(
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
class Layout:
    separator: str
    columns: tuple[str, ...]  # header names, cleaned; unique
    skip: int  # empty lines before the header
    first_row: int  # row number of the first data row
    last_row: int  # row number of the last row that is not empty
    # Whether a value may start or end with whitespace, which reading must trim. False only
    # when the bytes say none can: no space, tab (but a separating one), vertical tab, form
    # feed or quote anywhere, and line ends all LF or all CRLF (the reader drops the CR).
    spaced: bool = True


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
        line = self._handle.readline(MAX_ROW_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.row_chars += len(line)
        if self.row_chars > MAX_ROW_CHARS:
            raise _Unreadable(
                f"the row is longer than {MAX_ROW_CHARS:,} characters; check that it is "
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


def scan_csv(path: Path, name: str, head: bytes, role: str) -> Layout:
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
                    if len(record) > MAX_COLUMNS:
                        raise too_wide(name, len(record))
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
        raise fail(name, empty_message(role))
    return Layout(separator, _column_names(name, header), skip, header_row + 1, last_row)


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
    if len(header) > MAX_COLUMNS:
        raise too_wide(name, len(header))
    columns: dict[str, None] = {}  # a set in header order: each name is looked up once
    for number, column in enumerate(header):
        clean = column.strip().lower().removeprefix("\ufeff").strip() or f"column{number}"
        if clean in columns:
            raise fail(name, f"column {clean!r} appears twice in the header; keep one")
        columns[clean] = None
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
