"""Signup cohorts (`nrr cohorts`): a hand-computed book at every grain, random books against
the bridge by cohort, and the CLI's tables, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nrr.analysis.cohorts import cohorts, period_label
from nrr.cli import app
from nrr.errors import InputError
from nrr.results import in_arr

from .conftest import sub
from .test_properties import BASE_YEAR, MONTHS, _label, _load, books

D = Decimal

# EUR = 1.1 USD from 2024-01, 1.2 from 2024-03, 1.3 from 2024-06.
# MRR in USD at each month's rates:
#        Jan  Feb  Mar  Apr   May   Jun
#   A    100  100  150  150   150   150    (USD 100 from Jan 15, + 50 from Mar)
#   B    200  200    .    .     .     .    (USD 200, ends 2024-03-01)
#   C      .  110  120  120   120   130    (EUR 100 from Feb)
#   D      .   40   40    .    60    60    (USD 40 Feb-Mar, back with 60 from May)
#   E      .    .    . 1000  1000     .    (USD 1000 in Apr and May)
#   Z      never active: a zero amount and a zero-length line
LINES = [
    sub("A", "2024-01-15", None, 100),
    sub("A", "2024-03-01", None, 50, product="extra"),
    sub("B", "2024-01-01", "2024-03-01", 200),
    sub("C", "2024-02-01", None, 100, currency="EUR"),
    sub("D", "2024-02-10", "2024-04-01", 40),
    sub("D", "2024-05-01", None, 60),
    sub("E", "2024-04-01", "2024-06-01", 1000),
    sub("Z", "2024-01-01", None, 0),
    sub("Z", "2024-02-01", "2024-02-01", 500),
]
FX = [["2024-01", "EUR", "1.1"], ["2024-03", "EUR", "1.2"], ["2024-06", "EUR", "1.3"]]


@pytest.fixture
def book(make_book):
    return make_book(LINES, fx=FX)


def _matrix(result) -> dict[str, list[tuple]]:
    return {c.cohort: [(a.month, a.mrr, a.active) for a in c.ages] for c in result.cohorts}


def test_monthly_cohorts(book):
    result = cohorts(book, end="2024-06")
    # Cohorts with no member (2024-03, 2024-05, 2024-06) are not listed
    assert [(c.cohort, c.customers, c.first_month_mrr) for c in result.cohorts] == [
        ("2024-01", 2, 300),  # A 100 + B 200
        ("2024-02", 2, 150),  # C 100 x 1.1 (Feb's rate) + D 40
        ("2024-04", 1, 1000),  # E
    ]
    assert _matrix(result) == {
        "2024-01": [
            ("2024-01", 300, 2),
            ("2024-02", 300, 2),
            ("2024-03", 150, 1),  # B gone, A up to 150
            ("2024-04", 150, 1),
            ("2024-05", 150, 1),
            ("2024-06", 150, 1),
        ],
        "2024-02": [
            ("2024-02", 150, 2),
            ("2024-03", 160, 2),  # C 120 at March's 1.2 + D 40
            ("2024-04", 120, 1),  # D away
            ("2024-05", 180, 2),  # D back with 60
            ("2024-06", 190, 2),  # C 130 at June's 1.3 + D 60
        ],
        "2024-04": [("2024-04", 1000, 1), ("2024-05", 1000, 1), ("2024-06", 0, 0)],
    }
    feb = result.cohorts[1].ages
    assert [a.revenue_retention for a in feb] == [1, D(160) / 150, D("0.8"), D("1.2"), D(190) / 150]
    assert [a.logo_retention for a in feb] == [1, 1, D("0.5"), 1, 1]
    assert [a.age for a in feb] == [0, 1, 2, 3, 4]
    assert result.cohorts[2].ages[-1].revenue_retention == 0


def test_quarter_cohorts(book):
    result = cohorts(book, end="2024-06", grain="quarter")
    assert [(c.cohort, c.start, c.customers, c.first_month_mrr) for c in result.cohorts] == [
        # A, B, C, D, each at its own first month's rates: 300 + 110 + 40
        ("2024-Q1", "2024-01", 4, 450),
        ("2024-Q2", "2024-04", 1, 1000),
    ]
    assert _matrix(result) == {
        # Q0 = March: A 150 + C 120 + D 40 = 310, 3 of 4 active (B gone)
        # Q1 = June:  A 150 + C 130 + D 60 = 340
        "2024-Q1": [("2024-03", 310, 3), ("2024-06", 340, 3)],
        # E was active in April and May but not at the end of its signup quarter
        "2024-Q2": [("2024-06", 0, 0)],
    }
    q1 = result.cohorts[0].ages
    assert q1[0].revenue_retention == D(310) / 450 and q1[0].logo_retention == D("0.75")
    # Ending in May: Q1 has its age 0 only, Q2 is not complete and is not shown
    short = cohorts(book, end="2024-05", grain="quarter")
    assert _matrix(short) == {"2024-Q1": [("2024-03", 310, 3)]}


def test_year_cohorts(book):
    # December is valued at June's rate, carried forward: A 150 + C 130 + D 60 = 340
    result = cohorts(book, end="2024-12", grain="year")
    assert [(c.cohort, c.customers, c.first_month_mrr) for c in result.cohorts] == [
        ("2024", 5, 1450)  # 300 + 150 + 1000
    ]
    assert _matrix(result) == {"2024": [("2024-12", 340, 3)]}
    assert result.cohorts[0].ages[0].logo_retention == D("0.6")
    # 2024 is not over by November: no cohort yet
    assert cohorts(book, end="2024-11", grain="year").cohorts == ()


def test_since_keeps_cohorts_from_the_period_holding_it(book):
    monthly = cohorts(book, end="2024-06", since="2024-02")
    assert [c.cohort for c in monthly.cohorts] == ["2024-02", "2024-04"]
    quarterly = cohorts(book, end="2024-06", grain="quarter", since="2024-02")
    assert [c.cohort for c in quarterly.cohorts] == ["2024-Q1", "2024-Q2"]
    assert cohorts(book, end="2024-06", since="2024-05").cohorts == ()


def test_arr_scales_amounts_not_ratios(book):
    result = cohorts(book, end="2024-06")
    arr = in_arr(result)
    assert arr.cohorts[1].first_month_mrr == 150 * 12
    assert arr.cohorts[1].ages[1].mrr == 160 * 12
    assert arr.cohorts[1].ages[1].revenue_retention == D(160) / 150
    assert arr.cohorts[1].ages[1].active == 2


def test_bad_arguments(book):
    with pytest.raises(InputError, match="month, quarter or year"):
        cohorts(book, end="2024-06", grain="week")
    with pytest.raises(InputError, match="after --end"):
        cohorts(book, end="2024-06", since="2024-07")
    with pytest.raises(InputError, match="not a month"):
        cohorts(book, end="2024-06", since="2024-6")


def test_period_labels():
    assert period_label(2024 * 12, "month") == "2024-01"
    assert period_label(2024 * 4 + 3, "quarter") == "2024-Q4"
    assert period_label(2024, "year") == "2024"


def _first_months(case) -> dict[str, int]:
    """Each customer's first month with MRR, straight from the random lines."""
    lines = case[0]
    first: dict[str, int] = {}
    for customer, start, end, cents, _, _ in lines:
        s = start.year * 12 + start.month - 1
        live = cents > 0 and (end is None or end.year * 12 + end.month - 1 > s)
        if live:
            first[customer] = min(first.get(customer, s), s)
    return first


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=books(), grain=st.sampled_from(["quarter", "year"]))
def test_cohorts_match_the_bridge_by_cohort(tmp_path, case, grain):
    # Books with two currencies and moving rates, gaps, overlaps (tests/test_properties.py)
    book, _ = _load(tmp_path, case)
    start, end = BASE_YEAR * 12, BASE_YEAR * 12 + MONTHS + 2
    bridge = {(r.segment, r.month): r for r in book.bridge(_label(start), _label(end), by="cohort")}
    monthly = cohorts(book, end=_label(end))
    first = _first_months(case)
    sizes: dict[str, int] = defaultdict(int)
    for month in first.values():
        sizes[_label(month)] += 1
    assert {c.cohort: c.customers for c in monthly.cohorts} == sizes
    for c in monthly.cohorts:
        month = int(c.cohort[:4]) * 12 + int(c.cohort[5:]) - 1
        assert len(c.ages) == end - month + 1
        for age in c.ages:
            # The cohort's MRR and active members in every month are the bridge's, exactly
            row = bridge.get((c.cohort, age.month))
            assert age.mrr == (row.ending_mrr if row else 0), (c.cohort, age.month)
            assert age.active == (row.active_customers if row else 0), (c.cohort, age.month)
        # Every member's first month is the cohort month: the base is its age-0 MRR
        assert c.first_month_mrr == bridge[(c.cohort, c.cohort)].ending_mrr

    # A quarter or year cohort is the sum of its monthly cohorts, valued at each period end
    coarse = cohorts(book, end=_label(end), grain=grain)
    size = {"quarter": 3, "year": 12}[grain]
    parts: dict[str, list] = defaultdict(list)
    for c in monthly.cohorts:
        month = int(c.cohort[:4]) * 12 + int(c.cohort[5:]) - 1
        parts[period_label(month // size, grain)].append(c)
    complete = {k: v for k, v in parts.items() if k in {c.cohort for c in coarse.cohorts}}
    assert set(complete) == {c.cohort for c in coarse.cohorts}
    for c in coarse.cohorts:
        members = parts[c.cohort]
        assert c.customers == sum(m.customers for m in members)
        assert c.first_month_mrr == sum(m.first_month_mrr for m in members)
        for age in c.ages:
            at = {m.cohort: next(a for a in m.ages if a.month == age.month) for m in members}
            assert age.mrr == sum(a.mrr for a in at.values()), (c.cohort, age.month)
            assert age.active == sum(a.active for a in at.values()), (c.cohort, age.month)
    # Only periods whose last month is on or before the end are measured
    for c in coarse.cohorts:
        assert c.ages[-1].month <= _label(end) and c.ages[0].age == 0


# The CLI ----------------------------------------------------------------------------------

DATA = Path(__file__).parent / "data" / "adversarial"
INPUTS = [
    "-s",
    str(DATA / "subscriptions.csv"),
    "-c",
    str(DATA / "customers.csv"),
    "--fx-rates",
    str(DATA / "fx_rates.csv"),
]


def _run(*args: str):
    return CliRunner().invoke(app, ["cohorts", *INPUTS, *args])


def test_cli_json_and_csv_agree():
    result = _run("--end", "2024-06", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["end"], data["grain"], data["currency"]) == ("2024-06", "month", "USD")
    first = data["cohorts"][0]
    # acme and golf start in January 2023 (bolt in February): 18 ages to June 2024
    assert (first["cohort"], first["customers"], len(first["ages"])) == ("2023-01", 2, 18)
    assert first["ages"][0] == {
        "age": 0,
        "month": "2023-01",
        "mrr": first["first_month_mrr"],
        "active": 2,
        "revenue_retention": 1.0,
        "logo_retention": 1.0,
    }
    rows = list(csv.DictReader(io.StringIO(_run("--end", "2024-06", "-f", "csv").stdout)))
    assert len(rows) == sum(len(c["ages"]) for c in data["cohorts"])
    assert list(rows[0]) == [
        "cohort",
        "customers",
        "first_month_mrr",
        "age",
        "month",
        "mrr",
        "active",
        "revenue_retention",
        "logo_retention",
    ]
    for row, (cohort, age) in zip(
        rows, ((c, a) for c in data["cohorts"] for a in c["ages"]), strict=True
    ):
        assert row["cohort"] == cohort["cohort"] and float(row["mrr"]) == age["mrr"]


def test_cli_tables():
    table = _run("--end", "2024-06")
    assert table.exit_code == 0, table.output
    assert "Revenue retention by signup month" in table.stdout
    assert "Logo retention" in table.stdout and "M12" in table.stdout
    # 18 ages, 13 shown: the note says where the rest are
    assert "M13" not in table.stdout and "Ages 13 to 17 are not shown" in table.stdout
    quarters = _run("--end", "2024-06", "--grain", "quarter")
    assert quarters.exit_code == 0 and "2023-Q1" in quarters.stdout and "Q5" in quarters.stdout
    empty = _run("--end", "2023-11", "--grain", "year")
    assert empty.exit_code == 0 and "No cohort" in empty.stdout


def test_cli_arr():
    mrr = json.loads(_run("--end", "2024-06", "--grain", "year", "-f", "json").stdout)
    arr = json.loads(_run("--end", "2024-06", "--grain", "year", "-f", "json", "--arr").stdout)
    assert arr["cohorts"][0]["first_month_mrr"] == pytest.approx(
        mrr["cohorts"][0]["first_month_mrr"] * 12, abs=0.061
    )
    assert arr["cohorts"][0]["ages"] == [
        {**a, "mrr": pytest.approx(a["mrr"] * 12, abs=0.061)} for a in mrr["cohorts"][0]["ages"]
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--grain", "week"],
        ["--since", "2024-13"],
        ["--end", "2024-06", "--since", "2024-07"],
        ["--end", "24-06"],
    ],
)
def test_cli_bad_flags_exit_2(args):
    result = _run(*args)
    assert result.exit_code == 2, result.output
