"""What a book holds (currencies, months, a slice's values, its customers) and a book restricted
to one slice, computed by the SQL in `sql/book/` on DuckDB and on PostgreSQL, against values
worked out by hand from a small book."""

from __future__ import annotations

from pathlib import Path

import pytest

import nrr
from nrr.months import parse_month

SUBSCRIPTIONS = """customer_id,product,start_date,end_date,amount,interval,quantity,currency
a,core,2023-03-05,,100,month,1,USD
a,addon,2023-06-01,2024-02-01,120,year,1,USD
b,core,2023-05-10,2023-09-01,50,month,2,EUR
c,core,2024-01-15,2024-07-20,30,month,1,GBP
c,core,2022-11-01,2023-01-01,30,month,1,GBP
d,core,2024-02-01,,0,month,1,USD
"""
CUSTOMERS = """customer_id,segment
a,SMB
b,Enterprise
c,
e,SMB
"""
RATES = """month,currency,rate
2022-11,EUR,1.1
2022-11,GBP,1.25
"""


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    found = {}
    for name, text in (("s", SUBSCRIPTIONS), ("c", CUSTOMERS), ("f", RATES)):
        found[name] = tmp_path / f"{name}.csv"
        found[name].write_text(text)
    return found


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request: pytest.FixtureRequest) -> str | None:
    if request.param == "duckdb":
        return None
    return str(request.getfixturevalue("postgres_db"))


def _load(paths: dict[str, Path], engine: str | None) -> nrr.Book:
    return nrr.load(paths["s"], customers=paths["c"], fx_rates=paths["f"], engine=engine)


def test_currencies_months_and_customers(paths: dict[str, Path], engine: str | None) -> None:
    book = _load(paths, engine)
    assert book.currencies == ["EUR", "GBP", "USD"]
    assert book.row_count == 6
    assert book.first_month == parse_month("2022-11")
    # The last start is 2024-02 (d's line); c's last line ends in July, so its last month in
    # service is 2024-06, later.
    assert book.latest_month() == parse_month("2024-06")
    from nrr.metrics.contents import customer_ids

    # e has no line, d no MRR: both are customers the book knows.
    assert customer_ids(book.tables()) == frozenset("abcde")


def test_slice_values_and_a_restricted_book(paths: dict[str, Path], engine: str | None) -> None:
    book = _load(paths, engine)
    # d has no customers row, c an empty segment: both are (none).
    assert book.values("segment") == ["(none)", "Enterprise", "SMB"]
    # The first month with MRR: d never had any.
    assert book.values("cohort") == ["(none)", "2022-11", "2023-03", "2023-05"]
    smb = book.where("segment", "SMB")
    assert smb.currencies == ["USD"] and smb.row_count == 2
    # Its public view of the lines holds those lines alone, with every column.
    lines = smb.lines.to_dict("records")
    assert sorted((r["customer_id"], str(r["start_date"])) for r in lines) == [
        ("a", "2023-03-05"),
        ("a", "2023-06-01"),
    ]
    assert smb.first_month == parse_month("2023-03")
    window = smb.window("2024-01", window=6)
    assert window.overall.customers_start == 1
    assert window.overall.starting_mrr == 110  # a: 100 + 120 / 12
    returning = book.where("cohort", "2022-11")
    assert returning.currencies == ["GBP"] and returning.row_count == 2
    nobody = book.where("segment", "no such'; DROP TABLE x; --")
    assert nobody.row_count == 0 and nobody.currencies == [] and nobody.latest_month() is None


def test_every_statement_file_is_packaged() -> None:
    # The statements are read from the installed package: each must be package data.
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["nrr"]
    package = root / "src" / "nrr"
    files = [p.relative_to(package).as_posix() for p in package.joinpath("sql").rglob("*.sql")]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing


def test_a_restricted_book_keeps_every_column_of_the_lines(
    paths: dict[str, Path], engine: str | None
) -> None:
    # Analyses read more than the money (the causes read quantity): a restricted book's
    # lines are its parent's, with every column.
    book = _load(paths, engine)
    smb = book.where("segment", "SMB")
    sliced = dict(book.causes("2024-01", window=6, by="segment").segments)
    assert smb.causes("2024-01", window=6).overall == sliced["SMB"]
