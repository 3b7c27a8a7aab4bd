"""`nrr methods` and `nrr rates`: a hand-computed book where every method disagrees, the
reconciliation that explains the gaps exactly, and properties on random books."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nrr
from nrr.analysis.methods import compare_methods
from nrr.analysis.rates import churn_rates
from nrr.cli import app
from nrr.conventions import Conventions
from nrr.months import parse_month
from nrr.results import in_arr

from .conftest import SUB_HEADER, sub, write_csv
from .test_properties import BASE_YEAR, MONTHS, SETTINGS, _label, _load, books

# Window 2024-04 -> 2024-06 (k = 2), all USD, one month = one row of arithmetic:
#            Jan  Feb  Mar  Apr  May  Jun
#   A        100  100  100  100  150  100   up 50 in May, down 50 in June
#   B        200  200  200  200    0  200   churns in May, comes back in June
#   C          .    .    .    .  300  400   new in May, expands in June
#   D        100  100  100  100  100    0   churns in June
LINES = [
    sub("A", "2024-01-01", None, 100),
    sub("A", "2024-05-01", "2024-06-01", 50, product="extra"),
    sub("B", "2024-01-01", "2024-05-01", 200),
    sub("B", "2024-06-01", None, 200),
    sub("C", "2024-05-01", None, 300),
    sub("C", "2024-06-01", None, 100, product="extra"),
    sub("D", "2024-01-01", "2024-06-01", 100),
]


@pytest.fixture
def book(make_book):
    return make_book(LINES)


def test_five_methods_disagree_as_computed_by_hand(book):
    result = compare_methods(book, end="2024-06", window=2)
    nrr = {m.key: m.nrr for m in result.methods}
    # cohort {A, B, D} active in April: 400 -> 100 + 200 + 0 = 300
    assert nrr["cohort"] == Decimal("0.75")
    # 400 + expansion (50 May + 100 June) - contraction 50 - churn (200 May + 100 June) = 200
    assert nrr["bridge_sum"] == Decimal("0.5")
    # May: (400 + 50 - 200) / 400 = 5/8; June: (550 + 100 - 50 - 100) / 550 = 10/11
    assert Fraction(nrr["compounded"]).limit_denominator(1000) == Fraction(5, 8) * Fraction(10, 11)
    # customers active in 2024-02 (A, B, D): Mar+Apr revenue 800, May+Jun 250 + 200 + 100 = 550
    assert nrr["trailing_revenue"] == Decimal("0.6875")
    assert (result.prior_revenue, result.recent_revenue) == (Decimal(800), Decimal(550))
    # 2-month NRRs ending 2024-03: 1, 2024-04: 1, 2024-05: 250/400, 2024-06: 0.75 (earlier: none)
    assert nrr["average_annual"] == (1 + 1 + Decimal("0.625") + Decimal("0.75")) / 4
    assert [m for m, v in result.annual_nrr if v is not None] == [
        "2024-03",
        "2024-04",
        "2024-05",
        "2024-06",
    ]


def test_reconciliation_explains_the_gap_exactly(book):
    r = compare_methods(book, end="2024-06", window=2)
    # netted per customer: only D's churn of 100
    assert (r.cohort.expansion, r.cohort.contraction, r.cohort.churn) == (0, 0, 100)
    # month by month the same customers show A's +50/-50 and B's churn of 200 as well
    assert (r.retiming.expansion, r.retiming.contraction, r.retiming.churn) == (50, 50, 200)
    assert r.retiming.net == -200 == -r.comebacks  # B's comeback is in no NRR numerator
    assert (r.up_and_down, r.comeback_customers, r.retiming.customers) == (1, 1, 2)
    # C started inside the window: its June expansion of 100 counts in the bridge-sum only
    assert (r.started_inside.customers, r.started_inside.expansion, r.started_inside.net) == (
        1,
        100,
        100,
    )
    cohort, bridge = r.method("cohort"), r.method("bridge_sum")
    assert cohort.numerator + r.retiming.net + r.started_inside.net == bridge.numerator == 200
    # compounded implies 400 x 5/8 x 10/11 = 227.27...; the gap to 200 is the compounding
    assert r.method("compounded").numerator - bridge.numerator == r.compounding
    assert abs(r.compounding - Decimal("27.272727")) < Decimal("0.000001")


def test_rates_by_hand(book):
    r = churn_rates(book, end="2024-06", window=2)
    may, june = r.months
    # May: 3 active in April (A, B, D), B churned; losses 200 on 400; gains 300 new + 50
    assert (may.customers_start, may.customers_churned) == (3, 1)
    assert may.gross_mrr_churn_rate == Decimal("0.5")
    assert may.net_mrr_churn_rate == Decimal("0.375")  # (200 - 50) / 400
    assert may.quick_ratio == Decimal("1.75")  # (300 + 50) / 200
    # June: 3 active in May (A, C, D), D churned; losses 50 + 100 on 550; gains 200 + 100
    assert (june.customers_start, june.customers_churned) == (3, 1)
    assert june.gross_mrr_churn_rate == Decimal(150) / Decimal(550)
    assert june.quick_ratio == Decimal(2)
    # the window: the cohort lost D (1 of 3, 100 of 400); quick ratio 650 / 350
    assert r.cohort.customer_churn_rate == Decimal(1) / Decimal(3)
    assert r.cohort.gross_mrr_churn_rate == Decimal("0.25")
    assert r.quick_ratio == Decimal(650) / Decimal(350)


def test_arr_scales_amounts_not_ratios(book):
    r = compare_methods(book, end="2024-06", window=2)
    arr = in_arr(r)
    assert arr.method("cohort").numerator == 12 * r.method("cohort").numerator
    assert [m.nrr for m in arr.methods] == [m.nrr for m in r.methods]
    assert arr.annual_nrr == r.annual_nrr and arr.comebacks == 12 * r.comebacks


def test_cli_methods_and_rates(tmp_path):
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, LINES)
    runner = CliRunner()
    base = ["-s", str(path), "--end", "2024-06", "--window", "2"]
    out = runner.invoke(app, ["methods", *base, "--format", "json"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    assert [m["nrr"] for m in record["methods"]] == [0.75, 0.5, 0.5682, 0.6875, 0.8438]
    assert record["reconciliation"]["comebacks"] == 200.0
    table = runner.invoke(app, ["methods", *base])
    assert "Cohort -> bridge-sum: 300.00 - 200.00 + 100.00 = 200.00." in table.stdout
    csv_out = runner.invoke(app, ["rates", *base, "--format", "csv", "--arr"])
    assert csv_out.exit_code == 0 and "ARR" in csv_out.stderr
    assert csv_out.stdout.splitlines()[1].startswith("2024-05,3,1,4800.0,")
    bad = runner.invoke(app, ["methods", *base[:2], "--end", "2024-13"])
    assert bad.exit_code == 2 and "--end" in bad.stderr


@settings(SETTINGS, max_examples=12)
@given(case=books(), end_offset=st.integers(3, MONTHS + 3), k=st.sampled_from([1, 2, 3]))
def test_methods_reconcile_on_random_books(tmp_path, case, end_offset, k):
    book, oracle = _load(tmp_path, case)
    end = BASE_YEAR * 12 + end_offset
    r = compare_methods(book, end=_label(end), window=k)  # raises if its identities break
    window = book.window(_label(end), window=k).overall
    assert r.method("cohort").nrr == window.nrr
    assert r.starting_mrr == window.starting_mrr and r.cohort.churn == window.churn
    parts = r.method("cohort").numerator + r.retiming.net + r.started_inside.net
    assert parts == r.method("bridge_sum").numerator
    monthly = [book.window(_label(m), window=1).overall.nrr for m in range(end - k + 1, end + 1)]
    assert [v for _, v in r.monthly_nrr] == monthly
    # trailing revenue against the brute-force oracle: every month's MRR at its own rates
    cohort = [c for c in oracle.customers if oracle.mrr(c, end - 2 * k, end - 2 * k) > 0]
    prior = sum(
        (oracle.mrr(c, m, m) for c in cohort for m in range(end - 2 * k + 1, end - k + 1)),
        Decimal(0),
    )
    recent = sum(
        (oracle.mrr(c, m, m) for c in cohort for m in range(end - k + 1, end + 1)), Decimal(0)
    )
    assert (r.prior_revenue, r.recent_revenue) == (prior, recent)
    rates = churn_rates(book, end=_label(end), window=k)
    for month in rates.months:
        m = parse_month(month.month)
        q = month.quick_ratio
        assert q is None or q >= 0
        # churned: had MRR in the month before, none in this one (the oracle's brute force)
        stopped = [
            c
            for c in oracle.customers
            if oracle.mrr(c, m - 1, m - 1) > 0 and oracle.mrr(c, m, m) == 0
        ]
        assert month.customers_churned == len(stopped)
    assert rates.cohort.customer_churn_rate == (
        None if window.logo_retention is None else 1 - window.logo_retention
    )


def test_a_return_counted_as_new_is_still_a_comeback(tmp_path):
    # a leaves after 2024-01 and returns in 2024-08, six months later: with a 3-month
    # reactivation window the bridge counts that return as new. The reconciliation used to
    # assume every return was a reactivation and stopped with an internal error (exit 1).
    rows = [
        sub("a", "2023-01-01", "2024-02-01", 100),
        sub("a", "2024-08-01", None, 150),
        sub("b", "2023-01-01", None, 200),
        sub("c", "2023-06-01", "2024-01-01", 50),
        sub("c", "2024-03-01", None, 60),
    ]
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    plain = compare_methods(nrr.load(path), end="2024-12")
    windowed = nrr.load(path, conventions=Conventions(reactivation_window=3))
    assert windowed.bridge("2024-08", "2024-08")[0].new == 150
    for r in (plain, compare_methods(windowed, end="2024-12")):
        # a's comeback (150) and c's (60): the month-by-month row nets to minus them.
        assert (r.comebacks, r.comeback_customers) == (210, 2)
        assert r.retiming.net == -210
        assert r.method("bridge_sum").numerator == 200


def test_compounded_uses_the_one_month_cohort_nrr(make_book):
    # A euro customer arrives in March as the euro moves: the bridge's March fx revalues it,
    # the 1-month cohort of March (customers active in February) does not hold it.
    book = make_book(
        [sub("a", "2024-01-01", None, 100), sub("e", "2024-03-01", None, 100, currency="EUR")],
        fx=[["2024-01", "EUR", "1.0"], ["2024-03", "EUR", "1.5"]],
    )
    march = {r.month: r for r in book.bridge("2024-03", "2024-03")}["2024-03"]
    assert march.fx == 50  # 100 EUR revalued from February's 1.0 to 1.5
    r = compare_methods(book, end="2024-04", window=3)
    assert dict(r.monthly_nrr)["2024-03"] == 1  # a alone, unchanged
    assert r.method("compounded").nrr == 1


def test_a_currency_without_rates_and_without_mrr_needs_no_rate(make_book):
    # b's only line is in yen and carries no MRR, and the rates have no yen: nothing is ever
    # valued in yen. The trailing revenue used to ask for a yen rate for every month anyway
    # and stopped with an internal error (exit 1).
    book = make_book(
        [sub("a", "2023-01-01", None, 100), sub("b", "2023-01-01", None, 0, currency="JPY")],
        fx=[["2023-01", "EUR", "1.1"]],
    )
    assert book.currencies == ["JPY", "USD"]
    r = compare_methods(book, end="2024-06", window=3)
    assert (r.prior_revenue, r.recent_revenue) == (300, 300)
    assert r.method("trailing_revenue").nrr == 1
    assert churn_rates(book, end="2024-06", window=3).cohort.customers_start == 1
