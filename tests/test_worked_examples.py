"""The worked examples of METRICS.md section 5 (from the seed documents), verbatim."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nrr import RetentionFigures
from nrr.records.rounding import ratio

from .conftest import sub

# starting MRR, expansion, contraction, churn, NRR, GRR (as printed in METRICS.md section 5)
EXAMPLES = [
    (100_000, 15_000, 3_000, 5_000, "107%", "92%"),
    (10_000, 1_000, 1_000, 2_000, "80%", "70%"),
    (12_000, 3_000, 0, 2_000, "108.33%", "83.33%"),
]


def _as_percent(value: Decimal | None) -> str:
    assert value is not None
    text = f"{ratio(value) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


@pytest.mark.parametrize(("start", "expansion", "contraction", "churn", "nrr", "grr"), EXAMPLES)
def test_ratio_definitions(start, expansion, contraction, churn, nrr, grr):
    figures = RetentionFigures(
        starting_mrr=Decimal(start),
        ending_mrr=Decimal(start + expansion - contraction - churn),
        fx=Decimal(0),
        expansion=Decimal(expansion),
        contraction=Decimal(contraction),
        churn=Decimal(churn),
        customers_start=3,
        customers_retained=2,
        new_mrr=Decimal(0),
        reactivation_mrr=Decimal(0),
    )
    assert _as_percent(figures.nrr) == nrr
    assert _as_percent(figures.grr) == grr


@pytest.mark.parametrize(("start", "expansion", "contraction", "churn", "nrr", "grr"), EXAMPLES)
def test_examples_from_subscription_lines(
    make_book, start, expansion, contraction, churn, nrr, grr
):
    """Build lines that produce each example over a 12-month window, run the engine."""
    # One customer grows by `expansion`, one shrinks by `contraction`, one churns, one stays.
    shrink_from = 1000 + contraction
    stay = start - 1000 - shrink_from - churn
    rows = [
        sub("grows", "2023-01-10", "2024-06-15", 1000),
        sub("grows", "2024-06-15", None, 1000 + expansion),
        sub("shrinks", "2023-02-01", "2024-03-01", shrink_from),
        sub("shrinks", "2024-03-01", None, 1000),
        sub("churns", "2023-05-05", "2024-09-30", churn),
        sub("stays", "2023-03-31", None, stay),
        sub("new", "2024-04-01", None, 777),
    ]
    book = make_book(rows)
    overall = book.window("2024-12", window=12).overall
    assert overall.starting_mrr == start
    assert overall.expansion == expansion
    assert overall.contraction == contraction
    assert overall.churn == churn
    assert overall.new_mrr == 777
    assert _as_percent(overall.nrr) == nrr
    assert _as_percent(overall.grr) == grr
    assert overall.customers_start == 4
    assert overall.customers_retained == 3


# The README's quickstart, worked by hand in docs/metrics.md under the constant-currency
# convention: EUR at 1.08 from 2024-03 and 1.10 from 2024-07.
QUICKSTART = [
    sub("acme", "2024-01-15", None, 1200, interval="year", product="Core"),
    sub("acme", "2024-07-01", None, 300, interval="quarter", product="Analytics"),
    sub("globex", "2024-03-10", "2024-09-10", 250, currency="EUR", product="Core"),
    sub("initech", "2024-02-01", None, 500, product="Core"),
    sub("umbrella", "2024-09-20", None, 80, product="Core"),
]
SEGMENTS = [
    {"customer_id": "acme", "segment": "Enterprise"},
    {"customer_id": "globex", "segment": "Mid-Market"},
    {"customer_id": "initech", "segment": "SMB"},
]


@pytest.mark.parametrize("fx_mode", ["spot", "constant"])
def test_readme_quickstart_by_hand(make_book, fx_mode):
    book = make_book(
        QUICKSTART, customers=SEGMENTS, fx=[["2024-03", "EUR", "1.08"], ["2024-07", "EUR", "1.10"]]
    )
    result = book.window("2024-12", window=6, by="segment", fx_mode=fx_mode)
    overall = result.overall
    # globex's churn is its 250 EUR at June's 1.08, not at December's 1.10 (275, GRR -1.85%
    # for Mid-Market under the old convention).
    parts = (overall.starting_mrr, overall.expansion, overall.churn, overall.fx)
    assert parts == (870, 100, 270, 0)
    assert overall.ending_mrr == 700 and overall.grr == Decimal(600) / Decimal(870)
    mid = dict(result.segments)["Mid-Market"]
    assert (mid.starting_mrr, mid.churn, mid.grr) == (270, 270, 0)
    months = {r.month: r for r in book.bridge("2024-06", "2024-09")}
    # July: acme's Analytics (+100, at June's rates); globex's 250 EUR revalued 1.08 -> 1.10.
    assert (months["2024-07"].expansion, months["2024-07"].fx) == (100, 5)
    assert months["2024-07"].ending_mrr == 975
    # September: globex leaves at August's 1.10; umbrella arrives.
    assert (months["2024-09"].churn, months["2024-09"].new, months["2024-09"].fx) == (275, 80, 0)
