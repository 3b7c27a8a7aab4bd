"""Malformed files never give a traceback: either exit 2 with a clear message, or a correct result.

A small valid subscriptions CSV is damaged by hand (encodings, separators, quotes, huge
numbers, line endings, ragged rows, binary data...) and by random byte mutations. For every
variant the CLI exits 0 with valid JSON, or 2 with `error: ` lines that name the file; never
a traceback or an internal error. Variants that only change the form of the file (a BOM,
another separator, other line endings) must give exactly the clean file's numbers, and the
errors that can say where they are name the row as a spreadsheet shows it (header = row 1).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nrr.cli import app
from tests.conftest import SUB_HEADER

runner = CliRunner()
NAME = "subs.csv"
HEADER = SUB_HEADER
# Accents (for the encodings), a quoted separator, expansion, churn, a yearly and a quarterly
# line and a new customer: every number of the window is non-trivial.
ROWS = [
    ["Société Générale", "Café Pro", "2023-01-01", "", "1000", "month", "1", "USD"],
    ["Société Générale", "Add-on, seats", "2024-01-01", "", "200.50", "month", "3", "USD"],
    ["bolt", "core", "2023-03-01", "2024-02-01", "500", "month", "1", "USD"],
    ["Acme, Inc.", "core", "2023-01-01", "", "12000", "year", "5", "USD"],
    ["dyn", "core", "2023-05-01", "", "300.25", "quarter", "1", "USD"],
    ["zed", "core", "2024-03-01", "", "100", "month", "1", "USD"],
]
# Rows that change nothing in the window (amount 1 before it, ended before it), ASCII only.
FILLER = [[f"c{i}", "core", "2020-01-01", "2020-02-01", "1", "month", "1", "USD"] for i in range(3)]


def to_csv(
    rows: list[list[str]] | None = None,
    *,
    header: list[str] | None = None,
    delimiter: str = ",",
    newline: str = "\n",
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(HEADER if header is None else header)
    writer.writerows(ROWS if rows is None else rows)
    return out.getvalue()


def with_value(row: int, column: str, value: str) -> bytes:
    """The clean CSV with one value replaced (`row` counts data rows from 0, so row 0 is on
    spreadsheet row 2)."""
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(column)] = value
    return to_csv(rows).encode()


CLEAN = to_csv()
CLEAN_BYTES = CLEAN.encode()
LINES = CLEAN.splitlines(keepends=True)  # one line per row: the clean file has no line breaks


def splice(index: int, *new: str, drop: int = 1) -> bytes:
    """The clean CSV with `drop` lines from LINES[index] replaced by `new` lines."""
    return "".join([*LINES[:index], *new, *LINES[index + drop :]]).encode()


def invoke(path: Path, *extra: str):
    return runner.invoke(
        app, ["metrics", "-s", str(path), "--end", "2024-06", "--format", "json", *extra]
    )


def check_no_traceback(result, name: str = NAME) -> None:
    """The property every input must have: exit 0 with JSON, or exit 2 naming the file."""
    context = (result.exit_code, result.stdout[-2000:], result.stderr[-2000:])
    assert result.exit_code in (0, 2), context
    assert "Traceback" not in result.stderr, context
    assert "internal error" not in result.stderr, context
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines, context
        assert all(line.startswith("error: ") for line in lines), context
        assert lines[0].startswith(f"error: {name}"), context
        assert result.stdout == "", context
    else:
        json.loads(result.stdout)


def numbers(result) -> dict:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return json.loads(result.stdout)["overall"]


# Each variant: the file's bytes, what must happen, and for an error what its first line says
# right after `error: subs.csv` (":4: " is row 4 without a column; None: anything).
SAME, ERROR, EITHER = "same", "error", "either"
VARIANTS: dict[str, tuple[bytes, str, str | None]] = {
    # encodings
    "utf-8 BOM": (b"\xef\xbb\xbf" + CLEAN_BYTES, SAME, None),
    "utf-8 BOM twice": (b"\xef\xbb\xbf\xef\xbb\xbf" + CLEAN_BYTES, SAME, None),
    "latin-1": (CLEAN.encode("latin-1"), ERROR, ":2: is not UTF-8 text (byte 0xE9 after 'Soci')"),
    "cp1252 quotes and euro": (
        to_csv([["acme", "Pro ’25 – €", *ROWS[0][2:]], *ROWS[1:]]).encode("cp1252"),
        ERROR,
        ":2: is not UTF-8 text (byte 0x92 after 'acme,Pro ')",
    ),
    "latin-1 after the first 64 KB": (
        to_csv(FILLER * 1000 + [["Français", *ROWS[0][1:]]]).encode("latin-1"),
        ERROR,
        ":3002: is not UTF-8 text",
    ),
    "utf-8 cut inside a character": (CLEAN_BYTES + "é".encode()[:1], ERROR, ":8: is not UTF-8"),
    "utf-16 with BOM": (CLEAN.encode("utf-16"), ERROR, ": is UTF-16 text"),
    "utf-16-be with BOM": (b"\xfe\xff" + CLEAN.encode("utf-16-be"), ERROR, ": is UTF-16 text"),
    "utf-16-le without BOM": (CLEAN.encode("utf-16-le"), ERROR, ": is UTF-16 text"),
    "utf-32 with BOM": (CLEAN.encode("utf-32"), ERROR, ": is UTF-32 text"),
    # separators and line endings
    "semicolons": (to_csv(delimiter=";").encode(), SAME, None),
    "tabs": (to_csv(delimiter="\t").encode(), SAME, None),
    "pipes": (to_csv(delimiter="|").encode(), SAME, None),
    "semicolons, BOM and CR LF": (
        b"\xef\xbb\xbf" + to_csv(delimiter=";", newline="\r\n").encode(),
        SAME,
        None,
    ),
    "CR LF": (to_csv(newline="\r\n").encode(), SAME, None),
    "CR only": (to_csv(newline="\r").encode(), SAME, None),
    "CR LF rows, LF inside a quoted value (Excel)": (
        to_csv([*ROWS[:2], ["bolt", "co\nre", *ROWS[2][2:]], *ROWS[3:]], newline="\r\n").encode(),
        SAME,
        None,
    ),
    "LF and CR LF mixed": (splice(1, LINES[1].replace("\n", "\r\n")), ERROR, ":2: this line ends"),
    "no final newline": (CLEAN_BYTES.rstrip(b"\n"), SAME, None),
    "empty lines at the end": (CLEAN_BYTES + b"\n\n\n", SAME, None),
    "a CR LF empty line at the end of an LF file": (CLEAN_BYTES + b"\n\r\n", ERROR, ":9: "),
    "empty line between rows": (splice(3, "\n", LINES[3], drop=1), ERROR, ":4: the row is empty"),
    "empty lines before the header": (b"\n\n" + CLEAN_BYTES, SAME, None),
    "empty lines before the header, then a bad amount": (
        b"\r\n\r\n" + with_value(2, "amount", "-5").replace(b"\n", b"\r\n"),
        ERROR,
        ":6:amount: ",
    ),
    "spaces-only line at the end": (CLEAN_BYTES + b"   \n", ERROR, ":8: the row has 1 field"),
    "spaces around values": (to_csv([[f" {v} " for v in r] for r in ROWS]).encode(), SAME, None),
    "a separator at the end of every line": (
        "".join(line.replace("\n", ",\n") for line in LINES).encode(),
        SAME,
        None,
    ),
    "a separator at the end of the header only": (
        splice(0, LINES[0].replace("\n", ",\n")),
        ERROR,
        ":2: the row has 8 fields but the header has 9 (the header line ends with a separator",
    ),
    # quotes
    "stray quote inside a value": (CLEAN.replace("bolt,", 'bo"lt,', 1).encode(), SAME, None),
    "quote at the end of a value": (CLEAN.replace("bolt,", 'bolt",', 1).encode(), SAME, None),
    "quote opens a value and closes on a later row": (
        CLEAN.replace("bolt,", '"bolt,', 1).encode(),
        ERROR,
        ':4: a quote (") on line 4 of the file opens a value that runs on to line 5',
    ),
    "quote opens a value and never closes": (
        CLEAN.replace("zed,", '"zed,', 1).encode(),
        ERROR,
        ':7: a quote (") on line 7 of the file is never closed',
    ),
    "unclosed quote in a long file": (
        (CLEAN + '"x,core,2023-01-01,,1,month,1,USD\n' + to_csv(FILLER * 2000)).encode(),
        ERROR,
        ':8: a quote (") on line 8 of the file opens a value that runs on past line',
    ),
    "text after the closing quote": (
        CLEAN.replace("bolt,", '"bo"lt,', 1).encode(),
        ERROR,
        ":4: a quoted value is followed by more text before the next ','",
    ),
    "backslash-escaped quote": (
        with_value(2, "product", "x").replace(b",x,", b',"say \\"hi\\"",'),
        ERROR,
        ":4: a quoted value is followed by more text",
    ),
    "space after the closing quote": (
        CLEAN.replace('"Acme, Inc.",', '"Acme, Inc." ,', 1).encode(),
        EITHER,
        None,
    ),
    "space before the opening quote": (
        CLEAN.replace('"Acme, Inc.",', ' "Acme, Inc.",', 1).encode(),
        SAME,
        None,
    ),
    "single quotes": (CLEAN.replace("bolt", "'bolt'").encode(), SAME, None),
    "every value quoted": (
        "".join(",".join(f'"{v}"' for v in r) + "\n" for r in [HEADER, *ROWS]).encode(),
        SAME,
        None,
    ),
    "quoted line break in a value": (with_value(2, "product", "co\nre"), SAME, None),
    "quoted line break, then a bad amount": (
        to_csv([[*ROWS[0][:1], "a\nb\nc", *ROWS[0][2:]], *ROWS[1:3], ["x", *ROWS[3][1:4], "-1"]])
        .replace(",-1\n", ",-1,year,5,USD\n")
        .encode(),
        ERROR,
        ":5:amount: ",
    ),
    # numbers
    "amount 1e400": (with_value(2, "amount", "1e400"), ERROR, ":4:amount: "),
    "amount with 40 digits": (with_value(2, "amount", "9" * 40), ERROR, ":4:amount: "),
    "amount with 40 decimals": (with_value(2, "amount", "500." + "0" * 39 + "1"), SAME, None),
    "amount -0": (with_value(2, "amount", "-0"), EITHER, None),
    "amount NaN": (with_value(2, "amount", "NaN"), ERROR, ":4:amount: "),
    "amount inf": (with_value(2, "amount", "inf"), ERROR, ":4:amount: "),
    "amount -inf": (with_value(2, "amount", "-inf"), ERROR, ":4:amount: "),
    "amount 1e-30": (with_value(2, "amount", "1e-30"), EITHER, None),
    "amount 1e308": (with_value(2, "amount", "1e308"), ERROR, ":4:amount: "),
    "interval 1e-30": (with_value(2, "interval", "1e-30"), ERROR, ":4:interval: "),
    "interval 1e400": (with_value(2, "interval", "1e400"), ERROR, ":4:interval: "),
    "interval NaN": (with_value(2, "interval", "nan"), ERROR, ":4:interval: "),
    "quantity with 40 digits": (with_value(2, "quantity", "9" * 40), ERROR, ":4:quantity: "),
    "quantity inf": (with_value(2, "quantity", "inf"), ERROR, ":4:quantity: "),
    "start_date with a 40-digit year": (
        with_value(2, "start_date", "9" * 40 + "-01-01"),
        ERROR,
        ":4:start_date: ",
    ),
    "end_date in year 99999": (with_value(2, "end_date", "99999-01-01"), ERROR, ":4:end_date: "),
    "start_date in year 0000": (with_value(2, "start_date", "0000-01-01"), EITHER, None),
    "end_date in year 9999": (with_value(2, "end_date", "9999-12-31"), EITHER, None),
    # empty and nearly empty files
    "empty": (b"", ERROR, ": the file is empty"),
    "only newlines": (b"\n\n\r\n\r\n", ERROR, ": the file is empty"),
    "only whitespace": (b"  \t \n   \n", ERROR, ": the file is empty"),
    "only a BOM": (b"\xef\xbb\xbf", ERROR, ": the file is empty"),
    "a BOM and newlines": (b"\xef\xbb\xbf\n\n", ERROR, ": the file is empty"),
    "only newlines, more than 64 KB": (b"\n" * 70_000, ERROR, ": the file is empty"),
    "header only": (LINES[0].encode(), EITHER, None),
    "header only, no newline": (LINES[0].rstrip("\n").encode(), EITHER, None),
    "one column": (b"customer_id\nA\nB\n", ERROR, ": missing required column(s)"),
    "one value": (b"x", ERROR, ": missing required column(s)"),
    # binary
    "binary garbage": (bytes(range(256)) * 8, ERROR, ": is not a text CSV file"),
    "NUL bytes mid-file": (CLEAN_BYTES[:150] + b"\x00\x00" + CLEAN_BYTES[150:], ERROR, ": "),
    "NUL byte after the first 64 KB": (
        to_csv(FILLER * 1000 + [["a\x00", *ROWS[0][1:]]]).encode(),
        ERROR,
        ":3002: contains a NUL byte",
    ),
    "high bytes, no NUL": (bytes(range(128, 256)) * 16, ERROR, ":1: is not UTF-8 text"),
    "gzip file named .csv": (b"\x1f\x8b\x08\x00" + bytes(range(1, 200)), ERROR, ": is a gzip"),
    "xlsx (zip) named .csv": (b"PK\x03\x04" + bytes(range(1, 200)), ERROR, ": is a ZIP archive"),
    "Parquet magic, then garbage": (b"PAR1garbage", ERROR, ": cannot be read as Parquet"),
    # truncated and ragged rows
    "truncated last line": (CLEAN_BYTES[: CLEAN_BYTES.rindex(b",core")], ERROR, ":7: the row has"),
    "truncated inside a date": (CLEAN_BYTES[: CLEAN_BYTES.rindex(b"-03-01")], ERROR, ":7: "),
    "row with too many fields": (
        splice(3, LINES[3].replace("\n", ",extra,more\n")),
        ERROR,
        ":4: the row has 10 fields but the header has 8",
    ),
    "row with too few fields": (
        splice(4, "dyn,core,2023-05-01\n"),
        ERROR,
        ":5: the row has 3 fields but the header has 8",
    ),
    "first data row one field too many": (splice(1, LINES[1].replace("\n", ",x\n")), ERROR, ":2: "),
    "every data row one field short": (
        "".join([LINES[0], *(line.rsplit(",", 1)[0] + "\n" for line in LINES[1:])]).encode(),
        ERROR,
        ":2: the row has 7 fields",
    ),
    "a row of separators only": (splice(3, ",,,,,,,\n"), ERROR, ":4:customer_id: "),
    "ragged row after 25,000 rows (beyond any sample)": (
        to_csv(ROWS + FILLER * 8400).encode() + b"a,core,2024-01-01,,1,month,1,USD,extra\n",
        ERROR,
        ":25208: the row has 9 fields",
    ),
    # long values and headers
    "a 100 KB value": (with_value(2, "customer_id", "b" * 100_000), SAME, None),
    "a 3 MB value": (with_value(2, "customer_id", "b" * 3_000_000), ERROR, ":4: "),
    "a 3 MB line of one value": (b"x" * 3_000_000 + b"\n", ERROR, ":1: the row is longer"),
    "duplicate header column": (
        to_csv(header=[*HEADER[:-1], "amount"]).encode(),
        ERROR,
        ": column 'amount' appears twice in the header",
    ),
    "duplicate header column, other case": (
        to_csv(header=[*HEADER[:-1], " Amount "]).encode(),
        ERROR,
        ": column 'amount' appears twice in the header",
    ),
    "header line repeated as a row": ((LINES[0] + CLEAN).encode(), ERROR, ":2:"),
    "header in upper case": (CLEAN.replace(LINES[0], LINES[0].upper(), 1).encode(), SAME, None),
    "empty column name": (to_csv(header=[*HEADER[:-1], ""]).encode(), EITHER, None),
}


@pytest.fixture(scope="module")
def clean_numbers(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("clean") / NAME
    path.write_bytes(CLEAN_BYTES)
    return numbers(invoke(path))


def test_clean_file_numbers(clean_numbers):
    assert clean_numbers["starting_mrr"] == 2600.08
    assert clean_numbers["ending_mrr"] == 2300.58
    assert clean_numbers["churn"] == 500.0
    assert clean_numbers["expansion"] == 200.5
    assert clean_numbers["new_mrr"] == 100.0


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_malformed_variant(tmp_path, clean_numbers, variant):
    content, expect, message = VARIANTS[variant]
    path = tmp_path / NAME
    path.write_bytes(content)
    result = invoke(path)
    check_no_traceback(result)
    if expect == SAME:
        assert numbers(result) == clean_numbers
    elif expect == ERROR:
        assert result.exit_code == 2, (result.stdout, result.stderr)
        if message is not None:
            assert result.stderr.startswith(f"error: {NAME}{message}"), result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # one column: the engine reads an empty line as an empty value, so the empty lines at
        # the end must not become rows without a customer_id
        ('customer_id\n"Acme, Inc."\nbolt\n\n\n', None),
        ('customer_id,segment\n"Acme, Inc.",SMB\nbolt,SMB,extra\n', "customers.csv:3: "),
        ('customer_id,segment\n"Acme, Inc.",SMB\n\nbolt,SMB\n', "customers.csv:3: "),
        ('customer_id;segment\r\n"Acme, Inc.";SMB\r\nbolt;Mid\r\n', None),
    ],
)
def test_customers_file(tmp_path, content, expected):
    (tmp_path / NAME).write_bytes(CLEAN_BYTES)
    customers = tmp_path / "customers.csv"
    customers.write_bytes(content.encode())
    result = invoke(tmp_path / NAME, "--customers", str(customers))
    check_no_traceback(result, name="customers.csv")
    if expected is None:
        assert result.exit_code == 0, result.stderr
    else:
        assert result.stderr.startswith(f"error: {expected}"), result.stderr


SPECIAL = b"\",;\t|\n\r\x00\xff\xe9\xc3\xef\xbb\xbf \\'0-.e"
mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.one_of(st.sampled_from(list(SPECIAL)), st.integers(0, 255)),
)


def mutate(data: bytes, edits: list[tuple[str, float, int]]) -> bytes:
    buffer = bytearray(data)
    for op, where, byte in edits:
        at = int(where * len(buffer)) if buffer else 0
        if op == "insert" or not buffer:
            buffer.insert(at, byte)
        elif op == "delete":
            del buffer[at]
        else:
            buffer[at] = byte
    return bytes(buffer)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=8))
def test_random_byte_mutations(edits):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / NAME
        path.write_bytes(mutate(CLEAN_BYTES, edits))
        check_no_traceback(invoke(path))
