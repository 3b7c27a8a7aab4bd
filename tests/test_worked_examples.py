"""The worked examples of METRICS.md section 5 (from the seed documents), verbatim."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nrr import RetentionFigures
from nrr.present.rounding import ratio

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
