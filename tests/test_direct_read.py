"""A canonical subscriptions CSV is checked straight from the file (`screen_direct`): the rows
are numbered only when the checked lines are stored, from the stored table's rowid. These
tests hold that numbering to the file's order on a file long enough to be read in parallel
pieces, and check that any row needing a message sends the file down the careful path,
which names it exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nrr
import nrr.sources.files as files
from nrr.engines.duckdb import DuckDBEngine
from nrr.errors import InputError
from nrr.sources import csv_layout
from nrr.sources.files import open_file
from nrr.sources.mapping import apply_mapping
from tests.conftest import SUB_HEADER, sub, write_csv

# Several of DuckDB's row groups (122,880 rows) and CSV buffers, so two threads each read
# some of the file and the order of the stored rows is really tested.
ROWS = 300_000
COPY_OF, COPY_AT = 17, ROWS + 2  # the row a copy repeats; the copy is the file's last row


def _lines(rows: int) -> list[list[object]]:
    # Customer `c<row>` is on spreadsheet row <row> (the header is row 1).
    return [sub(f"c{row}", "2024-01-01", None, row % 997) for row in range(2, rows + 2)]


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> Path:
    rows = _lines(ROWS)
    rows.append(rows[COPY_OF - 2])
    return write_csv(tmp_path_factory.mktemp("direct") / "subs.csv", SUB_HEADER, rows)


def test_rows_are_numbered_in_file_order(long_file, monkeypatch):
    def careful(*args, **kwargs):
        raise AssertionError("a clean file must not need the careful read")

    monkeypatch.setattr(files, "_open_csv", careful)
    book = nrr.load(long_file)
    lines = book.lines
    numbers = lines[lines.customer_id != f"c{COPY_OF}"]
    expected = numbers.customer_id.str[1:].astype("int64")
    assert len(numbers) == ROWS - 1
    assert int((numbers._row != expected).sum()) == 0
    copies = lines[lines.customer_id == f"c{COPY_OF}"]._row.tolist()
    assert sorted(copies) == [COPY_OF, COPY_AT]
    account = book.intake.account("subs.csv")
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (ROWS + 1,) * 2 + (0,)
    assert any(f"row {COPY_AT} = row {COPY_OF}" in w for w in book.intake.warnings)


@pytest.fixture(scope="module")
def bad_amount(tmp_path_factory) -> Path:
    rows = _lines(ROWS)
    rows[250_001 - 2][4] = "12,5"
    return write_csv(tmp_path_factory.mktemp("bad") / "subs.csv", SUB_HEADER, rows)


def test_a_bad_row_is_named_by_the_careful_read(bad_amount):
    with pytest.raises(InputError) as caught:
        nrr.load(bad_amount)
    (problem,) = caught.value.problems
    assert (problem.source, problem.row, problem.column) == ("subs.csv", 250_001, "amount")
    assert "'12,5', not a number" in problem.message


def test_a_quarantined_row_is_accounted_for(bad_amount):
    book = nrr.load(bad_amount, on_invalid="quarantine")
    account = book.intake.account("subs.csv")
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (ROWS, ROWS - 1, 1)
    assert [r.row for r in book.intake.rejections] == [250_001]
    assert len(book.lines) == ROWS - 1


def test_a_row_the_reader_refuses_is_named(tmp_path):
    # One field too many: the byte pass does not count fields, the strict read refuses the file
    # and the careful read names the row.
    rows = _lines(1_000)
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    text = path.read_text().splitlines()
    text[600] += ",extra"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as caught:
        nrr.load(path)
    assert caught.value.problems[0].row == 601


def test_a_mapped_file_keeps_its_column_names_on_the_careful_path(tmp_path):
    header = ["account", *SUB_HEADER[1:]]
    rows = _lines(100)
    rows[40][2] = "2024-13-01"
    path = write_csv(tmp_path / "subs.csv", header, rows)
    with pytest.raises(InputError) as caught:
        nrr.load(path, columns={"customer_id": "account"})
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (42, "start_date")
    clean = write_csv(tmp_path / "clean.csv", header, _lines(100))
    book = nrr.load(clean, columns={"customer_id": "account"})
    assert len(book.lines) == 100


def _customers(tmp_path: Path, rows: int, duplicate_at: int | None = None) -> Path:
    records = [[f"c{row}", "SMB" if row % 2 else " Mid "] for row in range(2, rows + 2)]
    if duplicate_at is not None:
        records[duplicate_at - 2][0] = "c7"
    return write_csv(tmp_path / "customers.csv", ["customer_id", "segment"], records)


def test_customers_clean_file(long_file, tmp_path):
    book = nrr.load(long_file, customers=_customers(tmp_path, 200_000))
    account = book.intake.account("customers.csv")
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (200_000, 200_000, 0)
    assert book.customers is not None
    assert book.customers.segment.value_counts().to_dict() == {
        "SMB": 100_000,
        "Mid": 100_000,
    }


def test_customers_repeated_id_is_named(long_file, tmp_path):
    customers = _customers(tmp_path, 200_000, duplicate_at=190_000)
    with pytest.raises(InputError) as caught:
        nrr.load(long_file, customers=customers)
    (problem,) = caught.value.problems
    where = (problem.source, problem.row, problem.column)
    assert where == ("customers.csv", 190_000, "customer_id")
    assert "first on row 7" in problem.message
    book = nrr.load(long_file, customers=customers, on_invalid="quarantine")
    account = book.intake.account("customers.csv")
    assert (account.rows_used, account.rows_rejected) == (200_000 - 2, 2)


@pytest.mark.parametrize("chunk", [7, 8, 9, 10, 64])
def test_byte_pass_across_chunks(tmp_path, monkeypatch, chunk):
    # A two-byte character cut by a chunk's end is still UTF-8; a bad byte in a later
    # chunk, or an empty line across two chunks, is not an ordinary file.
    monkeypatch.setattr(csv_layout, "_CHUNK_BYTES", chunk)
    head = b"customer_id,segment\n"
    good = head + "caf\u00e9,SMB\nbolt,Mid\n".encode() * 3
    path = tmp_path / "c.csv"
    path.write_bytes(good)
    assert csv_layout.quick_layout(path, "c.csv", good) is not None
    for bad in (good + b"x\xff,SMB\n", good + b"\n" + good[len(head) :]):
        path.write_bytes(bad)
        assert csv_layout.quick_layout(path, "c.csv", bad) is None


def test_byte_pass_keeps_a_cut_character_whole(tmp_path, monkeypatch):
    # The first byte of "é" ends a chunk, a chunk of ASCII follows, then its second byte:
    # that is not UTF-8, though each chunk but the first looks fine alone.
    monkeypatch.setattr(csv_layout, "_CHUNK_BYTES", 8)
    data = b"a,b\nxx,\xc3" + b"yyyyyyyy" + b"\xa9z\n"
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    assert csv_layout.quick_layout(path, "c.csv", data) is None


@pytest.mark.parametrize("chunk", [5, 64, 8 << 20])
def test_byte_pass_says_whether_values_need_trimming(tmp_path, monkeypatch, chunk):
    # Any byte that can put whitespace at a value's edge, wherever it lies (the last chunk
    # too), means trimming; a file without one is read as it is.
    monkeypatch.setattr(csv_layout, "_CHUNK_BYTES", chunk)
    path = tmp_path / "c.csv"

    def spaced(data: bytes) -> bool:
        path.write_bytes(data)
        layout = csv_layout.quick_layout(path, "c.csv", data)
        assert layout is not None
        return layout.spaced

    clean = b"customer_id,segment\nc1,SMB\nc2,Mid-Market\n"
    assert not spaced(clean)
    assert not spaced(clean.replace(b"\n", b"\r\n"))  # the reader drops a CRLF's CR
    for byte in (b" ", b"\t", b"\x0b", b"\x0c"):
        assert spaced(clean.replace(b"Mid-Market", b"Mid" + byte + b"Market"))
        assert spaced(clean + b"c3" + b"," + byte + b"SMB\n")
    assert spaced(clean + b'c3,"SMB"\n')
    tabs = b"customer_id\tsegment\nc1\tSMB\nc2\tMid\n"
    assert not spaced(tabs)
    assert spaced(tabs + b"c3\tMid Market\n")


_EDGES = st.text(alphabet=" \t\x0b\x0c", max_size=2)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2", "c3"]),
            st.sampled_from(["core", "seats"]),
            st.sampled_from(["2024-01-15", "2024-03-01"]),
            st.sampled_from(["", "2024-06-30"]),
            st.sampled_from(["10", "99.5", "1200"]),
            st.sampled_from(["month", "year", ""]),
        ),
        min_size=1,
        max_size=8,
    ),
    pads=st.lists(st.tuples(_EDGES, _EDGES), min_size=64, max_size=64),
    crlf=st.booleans(),
)
def test_whitespace_at_edges_is_trimmed_and_a_clean_file_read_as_is(tmp_path, rows, pads, crlf):
    # The same rows, plain and with whitespace around values: the same lines. The plain file
    # has no whitespace byte, so it is read without trimming; the padded one is trimmed.
    def book(name: str, padded: bool) -> list[dict[str, object]]:
        body = [",".join(SUB_HEADER)]
        for i, (customer, product, start, end, amount, interval) in enumerate(rows):
            values = [customer, product, start, end, amount, interval, "1", "USD"]
            if padded:
                values = [f"{a}{v}{b}" for v, (a, b) in zip(values, pads[i * 8 :], strict=False)]
            body.append(",".join(values))
        ending = "\r\n" if crlf else "\n"
        path = tmp_path / name
        data = (ending.join(body) + ending).encode()
        path.write_bytes(data)
        layout = csv_layout.quick_layout(path, name, data)
        assert layout is not None and layout.spaced == (data != data.translate(None, b" \t\v\f"))
        loaded = nrr.load(path, cache=False)
        lines = loaded.lines.sort_values("_row").drop(columns="_row")
        return lines.to_dict("records")

    plain = book("plain.csv", padded=False)
    assert book("padded.csv", padded=True) == plain


def test_a_column_mapping_keeps_the_untrimmed_read(tmp_path):
    # Renaming columns changes no byte: a file with no whitespace is still read as it is.
    header = ["account", *SUB_HEADER[1:]]
    path = write_csv(tmp_path / "subs.csv", header, [sub("c1", "2024-01-01", None, 10)])
    raw = open_file(DuckDBEngine.open(), path, role="subscriptions", direct=True)
    mapped, _ = apply_mapping(raw, {"customer_id": "account"})
    assert (raw.spaced, mapped.spaced) == (False, False)
    book = nrr.load(path, columns={"customer_id": "account"}, cache=False)
    assert book.row_count == 1
