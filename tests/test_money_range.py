"""The supported money range (docs/metrics.md, "Supported range"), at its edges.

A line's MRR below 10^11 in its currency, rates below 10^8, and every monthly total, per
currency and in the base currency, below 10^15. Inside it every command computes exactly; past
it the input is refused with the file, the row and the column.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

import pytest

from nrr import InputError
from nrr.analysis.cohorts import cohorts
from nrr.analysis.methods import compare_methods
from nrr.analysis.rates import churn_rates
from nrr.analysis.trends import trends
from tests.conftest import sub

D = Decimal
BIG = "99999999999.99999999"  # the largest MRR a line may have
WIDE = Context(prec=80)


def _bridge_adds_up(book, start: str, end: str) -> None:
    for row in book.bridge(start, end):
        with localcontext(WIDE):
            flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
            assert row.starting_mrr + row.fx + flows == row.ending_mrr


def test_a_month_of_100_billion_idr_in_a_usd_book(make_book):
    # The defect: DECIMAL(20, 9) for a currency's monthly total crashed movements, trends,
    # cohorts, methods and rates once a month held 100 billion in one currency.
    lines = [sub(f"c{i}", "2024-01-01", None, "60000000000", currency="IDR") for i in range(3)]
    lines.append(sub("c0", "2024-03-01", None, "1000000000.5", currency="IDR", product="extra"))
    lines.append(sub("usd", "2024-01-01", "2024-04-01", "7", currency="USD"))
    fx = [["2024-01", "IDR", "0.000063"], ["2024-03", "IDR", "0.000061"]]
    book = make_book(lines, fx=fx)
    rows = {r.month: r for r in book.bridge("2024-01", "2024-04")}
    # 180 billion IDR at 0.000063
    assert rows["2024-01"].new == D("11340000") + 7
    # March: c0 adds 1,000,000,000.5 IDR at February's 0.000063 (expansion), and the whole
    # 181,000,000,000.5 IDR is revalued to 0.000061
    assert rows["2024-03"].expansion == D("1000000000.5") * D("0.000063")
    assert rows["2024-03"].fx == D("181000000000.5") * (D("0.000061") - D("0.000063"))
    _bridge_adds_up(book, "2024-01", "2024-04")
    window = book.window("2024-04", window=3).overall
    assert window.churn == 7 and window.starting_mrr == D("11340007")
    # Every analysis built on the bridge and the window runs.
    assert trends(book, end="2024-04", windows=(1, 3)).overall
    assert cohorts(book, end="2024-04").cohorts
    assert compare_methods(book, end="2024-04", window=3).methods
    assert churn_rates(book, end="2024-04", window=3).months


def test_totals_just_under_10_15_in_the_base_currency(make_book):
    # An IDR base currency: 9,999 lines of just under 10^11 IDR (a month just under 10^15),
    # and a USD line at 16,000 IDR per dollar on top, still inside the range.
    lines = [sub(f"c{i}", "2024-01-01", None, BIG, currency="IDR") for i in range(9_999)]
    lines.append(sub("usd", "2024-02-01", "2024-03-01", "6000", currency="USD"))
    book = make_book(lines, fx=[["2024-01", "USD", "16000"]], currency="IDR")
    rows = {r.month: r for r in book.bridge("2024-01", "2024-03")}
    with localcontext(WIDE):
        total = D(BIG) * 9_999
        assert rows["2024-01"].ending_mrr == total
        assert rows["2024-02"].new == D("96000000")
        assert rows["2024-02"].ending_mrr == total + D("96000000")
        assert rows["2024-03"].churn == D("96000000")
    assert total + D("96000000") < 10**15
    _bridge_adds_up(book, "2024-01", "2024-03")
    overall = book.window("2024-03", window=2).overall
    assert overall.nrr == 1 and overall.grr == 1


def test_a_currency_past_10_15_in_a_month_names_the_largest_line(make_book):
    lines = [sub(f"c{i}", "2024-01-01", None, "90000000000", currency="IDR") for i in range(11_111)]
    lines.append(sub("late", "2024-05-01", None, "99000000000", currency="IDR"))
    with pytest.raises(InputError) as caught:
        make_book(lines, fx=[["2024-01", "IDR", "0.000063"]])
    (problem,) = caught.value.problems
    # 11,111 x 90 billion = 999,990 billion; the late line takes 2024-05 past 10^15.
    assert (problem.row, problem.column) == (11_113, "amount")
    assert "in 2024-05 adds up to 1,000,089,000,000,000.00 in IDR" in problem.message
    assert "beyond the supported 10^15" in problem.message


def test_a_base_total_past_10_15_names_the_currency_and_its_rate(make_book):
    # 20,000 EUR lines of 50 billion: 10^15 EUR is past the range on its own; at 2 dollars a
    # euro, 12,000 of them (6 x 10^14 EUR) are 1.2 x 10^15 USD.
    lines = [sub(f"c{i}", "2024-01-01", None, "50000000000", currency="EUR") for i in range(12_000)]
    with pytest.raises(InputError) as caught:
        make_book(lines, fx=[["2024-01", "EUR", "2"]])
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "amount")
    assert "adds up to 1,200,000,000,000,000.00 in USD at 2024-01's rates" in problem.message
    assert "the EUR rate" in problem.message


def test_a_line_at_the_edge(make_book):
    book = make_book([sub("A", "2024-01-01", None, BIG)])
    assert book.window("2024-02", window=1).overall.starting_mrr == D(BIG)
    with pytest.raises(InputError, match="100 billion or more") as caught:
        make_book([sub("A", "2024-01-01", None, "100000000000")])
    assert (caught.value.problems[0].row, caught.value.problems[0].column) == (2, "amount")
    # A yearly charge of 1.2 trillion is 100 billion a month: refused; a cent less is not.
    with pytest.raises(InputError, match="100 billion or more"):
        make_book([sub("A", "2024-01-01", None, "1200000000000", interval="year")])
    book = make_book([sub("A", "2024-01-01", None, "1199999999999.99", interval="year")])
    assert book.window("2024-02", window=1).overall.starting_mrr == D("99999999999.99916667")
