"""The public API: small, documented, and complete."""

from __future__ import annotations

import pandas as pd
import pytest

import nrr
from nrr.conventions import Conventions
from nrr.metrics.bridge import monthly_bridge
from nrr.months import parse_month


def test_exports_are_complete():
    public = {name for name in dir(nrr) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(nrr, name)).__name__ == "module"}
    assert set(nrr.__all__) == public - modules - {"annotations"}
    for name in nrr.__all__:
        assert getattr(nrr, name).__doc__, name


def test_error_hierarchy():
    assert issubclass(nrr.InputError, nrr.NRRError)
    assert issubclass(nrr.InternalError, nrr.NRRError)
    error = nrr.InputError([nrr.Problem("f.csv", "bad", row=3, column="amount")])
    assert str(error) == "f.csv:3:amount: bad"


def test_load_from_dataframes():
    subs = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "start_date": ["2024-01-01", "2024-02-01"],
            "amount": [120, 60.5],
            "interval": ["year", "month"],
        }
    )
    book = nrr.load(subs)
    frame = book.metrics("2024-03", window=1)
    assert frame.loc["(all)", "starting_mrr"] == 70.5
    assert frame.attrs["fx_mode"] == "spot"
    moves = book.movements("2024-01", "2024-03")
    assert list(moves["new"]) == [10.0, 60.5, 0.0]
    assert "nrr.Book 2 lines" in repr(book)


def test_dataframe_errors_name_the_frame():
    subs = pd.DataFrame({"customer_id": ["a"], "start_date": ["soon"], "amount": [1]})
    with pytest.raises(nrr.InputError) as info:
        nrr.load(subs)
    assert str(info.value).startswith("subscriptions DataFrame:1:start_date:")


def test_bad_arguments():
    book = nrr.load(
        pd.DataFrame({"customer_id": ["a"], "start_date": ["2024-01-01"], "amount": [1]})
    )
    with pytest.raises(nrr.InputError, match="--window"):
        book.window("2024-03", window=0)
    with pytest.raises(nrr.InputError, match="--fx-mode"):
        book.window("2024-03", fx_mode="average")
    with pytest.raises(nrr.InputError, match="before --start"):
        book.bridge("2024-03", "2024-01")
    with pytest.raises(nrr.InputError, match="--currency"):
        nrr.load(pd.DataFrame({"customer_id": ["a"]}), currency="dollars")
    with pytest.raises(nrr.InputError, match="--currency"):  # letters, but not A-Z
        nrr.load(pd.DataFrame({"customer_id": ["a"]}), currency="äöü")


def _three_segments() -> nrr.Book:
    subs = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "start_date": ["2024-01-01"] * 4,
            "end_date": [None, "2024-03-01", None, None],
            "amount": [100, 50, 30, 7],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment": ["Enterprise", "SMB", "SMB"]}
    )
    return nrr.load(subs, customers=customers)


def test_where_restricts_every_figure_to_one_slice():
    book = _three_segments()
    assert book.values("segment") == ["(none)", "Enterprise", "SMB"]
    smb = book.where("segment", "SMB")
    assert smb.filters == (("segment", "SMB"),)
    # b (50) churns at 2024-03, c (30) stays: the slice's own window, overall.
    whole = book.window("2024-03", window=2, by="segment")
    sliced = smb.window("2024-03", window=2)
    assert dict(whole.segments)["SMB"] == sliced.overall
    assert sliced.overall.starting_mrr == 80 and sliced.overall.churn == 50
    # Customers without a customers row are the `(none)` slice; a value is data, not SQL.
    assert book.where("segment", "(none)").row_count == 1
    assert book.where("segment", "x' OR '1'='1").row_count == 0


def test_an_attribute_may_share_a_name_with_a_working_column():
    # The window tags its per-customer rows (s_s, e_e, first_m...) with the attributes
    # directly: a customers column of the same name is still the customer's attribute.
    subs = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "start_date": ["2023-06-01", "2024-01-01", "2024-01-01"],
            "end_date": [None, "2024-03-01", None],
            "amount": [100, 50, 30],
        }
    )
    names = ["x", "y", "y"]
    plain = nrr.load(subs, customers=pd.DataFrame({"customer_id": ["a", "b", "c"], "tier": names}))
    for column in ("first_m", "e_e", "s_s", "returning"):
        customers = pd.DataFrame({"customer_id": ["a", "b", "c"], column: names})
        book = nrr.load(subs, customers=customers)
        for by, expected in ((column, "tier"), (f"{column},cohort", "tier,cohort")):
            got = book.window("2024-03", window=2, by=by).segments
            assert got == plain.window("2024-03", window=2, by=expected).segments


def test_where_checks_the_attribute():
    book = _three_segments()
    with pytest.raises(nrr.InputError, match=r"--filter.*no attribute 'plan'"):
        book.where("plan", "Pro")
    with pytest.raises(nrr.InputError, match="tenure depends on the window"):
        book.where("tenure", "0-6 months")


ADVERSARIAL = {
    "subscriptions": "tests/data/adversarial/subscriptions.csv",
    "customers": "tests/data/adversarial/customers.csv",
    "fx_rates": "tests/data/adversarial/fx_rates.csv",
}


def _computed(book: nrr.Book, start: str, end: str, by: str | None) -> list:
    """The bridge computed afresh, as `Book.bridge` does when it has kept none."""
    return monthly_bridge(
        book.tables(),
        rates=book.rates,
        currencies=book.currencies,
        start=parse_month(start),
        end=parse_month(end),
        by=by,
        reactivation_window=book.conventions.reactivation_window,
    )


def test_a_bridge_kept_for_its_end_month_serves_later_starts_exactly():
    """The book keeps the bridge it computed for an end month; a later start with that end
    is read from it, an earlier one computed afresh: both equal the bridge computed afresh."""
    book = nrr.load(**ADVERSARIAL)
    spans = [("2024-04", "2024-12"), ("2024-09", "2024-12"), ("2024-01", "2024-12")]
    spans += [("2024-03", "2024-10")]
    for by in (None, "segment"):
        for start, end in spans:
            expected = _computed(book, start, end, by)
            assert book.bridge(start, end, by=by) == expected, (start, end, by)
            assert expected[0].month == start and expected[-1].month == end
    # The later start's rows are the very rows kept, not computed again.
    assert book.bridge("2024-09", "2024-12")[0] is book.bridge("2024-01", "2024-12")[8]
    # Changing the book's conventions changes the key: no stale rows.
    book.conventions = Conventions(reactivation_window=1)
    assert book.bridge("2024-09", "2024-12") == _computed(book, "2024-09", "2024-12", None)
