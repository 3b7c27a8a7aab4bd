"""Presentation rounding: cents and ratios, half to even, never a negative zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nrr.records.rounding import cents, ratio


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.675", "2.68"), ("2.665", "2.66"), ("-0.001", "0.00"), ("33.333333333", "33.33")],
)
def test_cents_half_even(value, expected):
    assert str(cents(Decimal(value))) == expected


def test_ratio_four_places():
    assert ratio(Decimal(13000) / Decimal(12000)) == Decimal("1.0833")
    assert ratio(Decimal("0.99995")) == Decimal("1.0000")
    assert ratio(None) is None
