"""Drill-down (nrr.analysis.drill): a slice's customers add up to the slice's window figures,
and every customer's months add up to the monthly bridge, exactly."""

from __future__ import annotations

from dataclasses import fields
from decimal import Context, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nrr
from nrr.analysis.drill import slice_customers
from nrr.analysis.history import CustomerHistory, UnknownCustomer, customer_history
from nrr.errors import InputError
from nrr.records.drill import history_record, slice_record
from nrr.results import BridgeMonth

from .test_properties import BASE_YEAR, MONTHS, _label, _load, books

DATA = Path(__file__).parent / "data" / "adversarial"
D = Decimal


@pytest.fixture(scope="module")
def book() -> nrr.Book:
    return nrr.load(
        DATA / "subscriptions.csv",
        customers=DATA / "customers.csv",
        fx_rates=DATA / "fx_rates.csv",
    )


def _month(history: CustomerHistory, label: str):
    return next(m for m in history.months if m.month == label)


def test_customer_history_by_hand(book):
    # bolt pays EUR: 99.99 a month from 2023-02 to the end of 2023-08, then 129.99 from
    # 2023-12. EUR rates: 1.0712 (2023-01), 1.0981 (2023-04), 1.0565 (2023-10), 1.0943
    # (2024-01), 1.0712 (2024-06), each carried forward.
    h = customer_history(book, "bolt")
    assert (h.start, h.end, h.cohort) == ("2023-02", "2024-06", "2023-02")
    assert dict(h.attributes) == {"segment": "SMB", "market": "EMEA", "csm": "(none)"}
    assert [(line.start_date, line.mrr_local) for line in h.lines] == [
        ("2023-02-01", D("99.99")),
        ("2023-12-10", D("129.99")),
    ]
    feb = _month(h, "2023-02")
    assert (feb.starting_mrr, feb.new, feb.ending_mrr) == (0, D("107.109288"), D("107.109288"))
    apr = _month(h, "2023-04")  # 99.99 x (1.0981 - 1.0712): a rate effect, no movement
    assert (apr.fx, apr.movement, apr.ending_mrr) == (D("2.689731"), None, D("109.799019"))
    sep = _month(h, "2023-09")  # the line ended on 2023-09-01: no MRR at the end of September
    assert (sep.churn, sep.movement, sep.ending_mrr, sep.active) == (
        D("109.799019"),
        "churn",
        0,
        False,
    )
    dec = _month(h, "2023-12")  # back after three months away: 129.99 x 1.0565
    assert (dec.reactivation, dec.movement) == (D("137.334435"), "reactivation")
    assert _month(h, "2024-01").fx == D("4.913622")  # 129.99 x (1.0943 - 1.0565)
    jun = _month(h, "2024-06")  # 129.99 x (1.0712 - 1.0943)
    assert (jun.fx, jun.ending_mrr) == (D("-3.002769"), D("139.245288"))
    for m in h.months:  # each month's bridge adds up
        flows = m.new + m.reactivation + m.expansion - m.contraction - m.churn
        assert m.starting_mrr + m.fx + flows == m.ending_mrr

    record = history_record(h)
    assert record["months"][0] == {
        "month": "2023-02",
        "starting_mrr": 0.0,
        "fx": 0.0,
        "new": 107.11,
        "reactivation": 0.0,
        "expansion": 0.0,
        "contraction": 0.0,
        "churn": 0.0,
        "ending_mrr": 107.11,
        "active": True,
        "movement": "new",
    }
    assert len(h.frame()) == 17  # 2023-02 .. 2024-06


def test_customer_history_range_and_unknown(book):
    h = customer_history(book, "golf", start="2024-03", end="2024-06")
    assert [m.month for m in h.months] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert h.months[0].starting_mrr == 40  # the level before the range still counts
    assert [m.movement for m in h.months] == [None, "churn", None, "reactivation"]
    # In the customers file but without a line: attributes, and no MRR.
    unused = customer_history(book, "unused")
    assert unused.cohort is None and unused.lines == ()
    assert dict(unused.attributes)["market"] == "APAC"
    assert all(m.ending_mrr == 0 for m in unused.months)
    with pytest.raises(UnknownCustomer, match="no customer 'nobody'"):
        customer_history(book, "nobody")
    # A quote in an id is data, not SQL.
    with pytest.raises(UnknownCustomer):
        customer_history(book, "x' OR '1'='1")
    with pytest.raises(InputError, match="before"):
        customer_history(book, "golf", start="2024-03", end="2024-01")


def test_slice_customers_by_hand(book):
    result = slice_customers(book, end="2024-06", by="segment", value="SMB")
    rows = {c.customer_id: c for c in result.customers}
    assert set(rows) == {"bolt", "golf"}
    bolt = rows["bolt"]
    assert (bolt.starting_mrr, bolt.ending_at_start_rates, bolt.ending_mrr) == (
        D("109.799019"),  # 99.99 EUR at 2023-06's 1.0981
        D("142.742019"),  # 129.99 EUR at 2023-06's 1.0981
        D("139.245288"),  # 129.99 EUR at 2024-06's 1.0712
    )
    assert (bolt.movement, bolt.amount, bolt.fx) == ("expanded", D("32.943"), D("-3.496731"))
    golf = rows["golf"]  # away from 2024-04, back in 2024-06: reactivated, not in the cohort
    assert (golf.in_cohort, golf.movement, golf.amount) == (False, "reactivated", D(55))
    assert [c.customer_id for c in result.customers] == ["golf", "bolt"]  # |55| > |32.94|
    assert result.totals() == result.figures
    record = slice_record(result)
    assert record["figures"]["reactivation_mrr"] == 55.0
    assert record["customers"][1]["movement"] == "expanded"
    assert list(result.frame().columns)[:3] == ["customer_id", "cohort", "in_cohort"]


def test_slice_customers_add_up_to_the_window(book):
    # Slices of two attributes at constant rates; one attribute and tenure are in the property
    # test below.
    expected = book.window("2024-06", by="segment,market", fx_mode="constant")
    for name, figures in expected.segments:
        result = slice_customers(
            book, end="2024-06", by="segment,market", value=name, fx_mode="constant"
        )
        assert result.totals() == figures
        cohort = [c for c in result.customers if c.in_cohort]
        assert len(cohort) == figures.customers_start


def test_slice_customers_unknown_value(book):
    with pytest.raises(InputError, match="no customer has segment = 'Nope'"):
        slice_customers(book, end="2024-06", by="segment", value="Nope")
    # A value of the book with no customer in this window is an empty slice, not an error.
    empty = slice_customers(book, end="2023-01", window=1, by="market", value="EMEA")
    assert empty.customers == () and empty.figures.starting_mrr == 0
    assert empty.frame().empty
    # A tenure band is a value even when no customer is in it at this window's start.
    assert slice_customers(book, end="2024-06", by="tenure", value="24+").customers == ()


NOT_AMOUNTS = ("month", "segment", "active_customers")
SETTINGS = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    case=books(),
    end_offset=st.integers(1, MONTHS + 3),
    k=st.sampled_from([1, 3, 12, 5]),
    by=st.sampled_from(["region", "cohort", "tenure"]),
    fx_mode=st.sampled_from(["spot", "constant"]),
    pick=st.integers(0, 10),
)
def test_slice_customers_property(tmp_path, case, end_offset, k, by, fx_mode, pick):
    book, _ = _load(tmp_path, case)
    end = _label(BASE_YEAR * 12 + end_offset)
    expected = book.window(end, window=k, by=by, fx_mode=fx_mode)
    if not expected.segments:
        return
    name, figures = expected.segments[pick % len(expected.segments)]
    result = slice_customers(book, end=end, window=k, by=by, value=name, fx_mode=fx_mode)
    assert result.totals() == figures
    for c in result.customers:
        assert c.in_cohort == (c.starting_mrr > 0)
        assert c.movement in ("expanded", "contracted", "churned", "flat", "new", "reactivated")


@SETTINGS
@given(case=books(), lo=st.integers(0, MONTHS), span=st.integers(0, 8))
def test_customer_months_add_up_to_the_bridge(tmp_path, case, lo, span):
    book, _ = _load(tmp_path, case)
    start, end = _label(BASE_YEAR * 12 + lo), _label(BASE_YEAR * 12 + lo + span)
    ids = sorted({line[0] for line in case[0]})
    histories = [customer_history(book, c, start=start, end=end) for c in ids]
    bridge = book.bridge(start, end)
    amounts = [f.name for f in fields(BridgeMonth) if f.name not in NOT_AMOUNTS]
    if not bridge:  # no customer ever had MRR
        assert all(m.ending_mrr == 0 and m.movement is None for h in histories for m in h.months)
        return
    for i, row in enumerate(bridge):
        months = [h.months[i] for h in histories]
        assert {m.month for m in months} == {row.month}
        for name in amounts:
            with localcontext(Context(prec=100)):
                total = sum((getattr(m, name) for m in months), D(0))
            assert total == getattr(row, name), name
        assert sum(m.active for m in months) == row.active_customers
