"""Owners: per-CSM retention and per-account-manager expansion (docs/causes-and-owners.md).

Window 2023-12 -> 2024-12; monthly lines, so each line's MRR is its amount.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrr.analysis.owners import owners
from nrr.cli import app
from nrr.errors import InputError
from nrr.results import in_arr

from .conftest import SUB_HEADER, sub, write_csv

D = Decimal
END = "2024-12"
BEFORE, CHANGE = "2023-01-01", "2024-06-01"

LINES = [
    # A (Ann, Max): 10 seats for 1,000 -> 15 seats for 1,500: expansion 500, all seats
    sub("A", BEFORE, CHANGE, 1000, quantity=10),
    sub("A", CHANGE, None, 1500, quantity=15),
    # B (Ann, Max): 800, gone in 2024-06: churn 800
    sub("B", BEFORE, CHANGE, 800),
    # C (Bob, Max): 10 seats for 1,000 -> 8 seats for 800: contraction 200
    sub("C", BEFORE, CHANGE, 1000, quantity=10),
    sub("C", CHANGE, None, 800, quantity=8),
    # D (Bob, Zoe): core 500 all along + analytics 300 from 2024-03: cross-sell 300
    sub("D", BEFORE, None, 500),
    sub("D", "2024-03-01", None, 300, product="analytics"),
    # E (Bob, Zoe): 200 -> 260 for the same seat: price 60
    sub("E", BEFORE, CHANGE, 200),
    sub("E", CHANGE, None, 260),
    # F (Ann, Zoe): new in 2024-02, outside the cohort: in nobody's book
    sub("F", "2024-02-01", None, 700),
    # G: no customers row, so both owners are (none): 400 all along
    sub("G", BEFORE, None, 400),
]
OWNERS = {
    "A": ("Ann", "Max", "east"),
    "B": ("Ann", "Max", "east"),
    "C": ("Bob", "Max", "west"),
    "D": ("Bob", "Zoe", "west"),
    "E": ("Bob", "Zoe", "west"),
    "F": ("Ann", "Zoe", "east"),
}
CUSTOMERS = [
    {"customer_id": c, "csm": csm, "account_manager": am, "team": team}
    for c, (csm, am, team) in OWNERS.items()
]


def test_per_csm_by_hand(make_book):
    result = owners(make_book(LINES, customers=CUSTOMERS), end=END)
    rows = {r.owner: r for r in result.csm}
    # largest book first: Ann 1,800, Bob 1,700, (none) 400
    assert [r.owner for r in result.csm] == ["Ann", "Bob", "(none)"]
    ann, bob, none = rows["Ann"], rows["Bob"], rows["(none)"]
    # Ann: A 1,000 + B 800 = 1,800 from 2 logos (F is new); ending A 1,500;
    # churn B 800 (1 customer); GRR = (1800 - 0 - 800) / 1800 = 5/9; NRR = 1500 / 1800
    assert (ann.book_size, ann.logos, ann.ending_mrr) == (1800, 2, 1500)
    assert (ann.churn, ann.churned_customers, ann.contraction, ann.mrr_lost) == (800, 1, 0, 800)
    assert ann.grr == D(1000) / D(1800) and ann.nrr == D(1500) / D(1800)
    # Bob: C 1,000 + D 500 + E 200 = 1,700 from 3 logos; ending 800 + 800 + 260 = 1,860;
    # contraction C 200; GRR = 1500 / 1700; NRR = 1860 / 1700
    assert (bob.book_size, bob.logos, bob.ending_mrr) == (1700, 3, 1860)
    assert (bob.churn, bob.churned_customers, bob.contraction, bob.mrr_lost) == (0, 0, 200, 200)
    assert bob.grr == D(1500) / D(1700) and bob.nrr == D(1860) / D(1700)
    assert (none.book_size, none.logos, none.grr, none.nrr) == (400, 1, 1, 1)
    # the whole book: 3,900 from 6 logos, ending 3,760, churn 800, contraction 200
    total = result.csm_total
    assert (total.owner, total.book_size, total.logos, total.ending_mrr) == ("(all)", 3900, 6, 3760)
    assert (total.churn, total.contraction, total.churned_customers) == (800, 200, 1)


def test_per_account_manager_by_hand(make_book):
    result = owners(make_book(LINES, customers=CUSTOMERS), end=END)
    assert [r.owner for r in result.account_manager] == ["Max", "Zoe", "(none)"]
    rows = {r.owner: r for r in result.account_manager}
    # Max: A 1,000 + B 800 + C 1,000 = 2,800 from 3 logos; expansion A 500, all seats;
    # ending 1,500 + 0 + 800 = 2,300; NRR = 2300 / 2800
    max_ = rows["Max"]
    assert (max_.book_size, max_.logos, max_.expansion, max_.seats) == (2800, 3, 500, 500)
    assert (max_.price, max_.cross_sell, max_.dropped, max_.expanding_customers) == (0, 0, 0, 1)
    assert max_.nrr == D(2300) / D(2800)
    # Zoe: D 500 + E 200 = 700 from 2 logos; expansion D 300 (cross-sell) + E 60 (price) = 360;
    # ending 800 + 260 = 1,060; NRR = 1060 / 700
    zoe = rows["Zoe"]
    assert (zoe.book_size, zoe.logos, zoe.expansion) == (700, 2, 360)
    assert (zoe.cross_sell, zoe.price, zoe.seats, zoe.expanding_customers) == (300, 60, 0, 2)
    assert zoe.nrr == D(1060) / D(700)
    assert rows["(none)"].expansion == 0
    total = result.account_manager_total
    assert (total.book_size, total.expansion, total.seats, total.cross_sell) == (
        3900,
        860,
        500,
        300,
    )


def test_rows_add_up_to_the_book(make_book):
    book = make_book(LINES, customers=CUSTOMERS)
    result = owners(book, end=END)
    window = book.window(END)
    assert result.csm_total.book_size == window.overall.starting_mrr
    assert result.account_manager_total.expansion == window.overall.expansion
    for name in ("book_size", "logos", "ending_mrr", "churn", "churned_customers", "contraction"):
        assert sum(getattr(r, name) for r in result.csm) == getattr(result.csm_total, name)
    for name in ("book_size", "logos", "ending_mrr", "expansion", "seats", "price", "cross_sell"):
        summed = sum(getattr(r, name) for r in result.account_manager)
        assert summed == getattr(result.account_manager_total, name)
    for r in (*result.account_manager, result.account_manager_total):
        assert r.seats + r.price + r.cross_sell + r.dropped == r.expansion


def test_other_columns_frame_and_arr(make_book):
    book = make_book(LINES, customers=CUSTOMERS)
    result = owners(book, end=END, csm="team", am="team")
    # team east = A, B (F new): 1,800; west = C, D, E: 1,700
    assert [(r.owner, r.book_size) for r in result.csm] == [
        ("east", 1800),
        ("west", 1700),
        ("(none)", 400),
    ]
    frame = owners(book, end=END).frame()
    assert frame.loc[("csm", "Ann"), "grr"] == 0.5556
    assert frame.loc[("account_manager", "Zoe"), "cross_sell"] == 300.0
    assert frame.loc[("csm", "(all)"), "book_size"] == 3900.0
    arr = in_arr(result)
    assert arr.csm[0].book_size == 12 * 1800 and arr.csm[0].logos == 2
    assert arr.csm[0].grr == result.csm[0].grr


def test_missing_column_is_a_clear_input_error(make_book):
    book = make_book(LINES, customers=CUSTOMERS)
    with pytest.raises(InputError) as caught:
        owners(book, end=END, csm="success_manager")
    message = str(caught.value)
    assert "'success_manager'" in message and "--csm COLUMN" in message
    assert "available: csm, account_manager, team" in message
    with pytest.raises(InputError, match="--am"):
        owners(book, end=END, am="cohort")
    no_customers = make_book(LINES)
    with pytest.raises(InputError, match="--customers"):
        owners(no_customers, end=END)


runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, LINES)
    header = ["customer_id", "csm", "account_manager", "team"]
    customers = write_csv(
        tmp_path / "customers.csv", header, [[c[h] for h in header] for c in CUSTOMERS]
    )
    return ["-s", str(subs), "-c", str(customers), "--end", END]


def test_cli_table_json_csv(files):
    table = runner.invoke(app, ["owners", *files])
    assert table.exit_code == 0, table.stderr
    assert "CSMs (csm)" in table.stdout and "Account managers (account_manager)" in table.stdout
    assert "55.56%" in table.stdout and "1,800.00" in table.stdout and "Total" in table.stdout

    got = json.loads(runner.invoke(app, ["owners", *files, "-f", "json"]).stdout)
    assert [r["owner"] for r in got["csm"]] == ["Ann", "Bob", "(none)"]
    assert got["csm"][0] == {
        "owner": "Ann",
        "book_size": 1800.0,
        "logos": 2,
        "ending_mrr": 1500.0,
        "nrr": 0.8333,
        "grr": 0.5556,
        "churn": 800.0,
        "churned_customers": 1,
        "contraction": 0.0,
        "mrr_lost": 800.0,
    }
    assert got["account_manager"][1]["cross_sell"] == 300.0
    assert got["total"]["account_manager"]["expansion"] == 860.0
    assert got["start"] == "2023-12" and got["columns"]["csm"] == "csm"

    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["owners", *files, "-f", "csv"]).stdout))
    )
    assert [(r["role"], r["owner"]) for r in rows] == [
        ("csm", "(all)"),
        ("csm", "Ann"),
        ("csm", "Bob"),
        ("csm", "(none)"),
        ("account_manager", "(all)"),
        ("account_manager", "Max"),
        ("account_manager", "Zoe"),
        ("account_manager", "(none)"),
    ]
    assert rows[1]["churn"] == "800.0" and rows[1]["expansion"] == ""
    assert rows[6]["price"] == "60.0" and rows[6]["churn"] == ""


def test_cli_missing_column_exits_2(files):
    result = runner.invoke(app, ["owners", *files, "--am", "manager"])
    assert result.exit_code == 2
    assert "'manager'" in result.stderr and "--am COLUMN" in result.stderr
