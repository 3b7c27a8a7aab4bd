"""The public API: small, documented, and complete."""

from __future__ import annotations

import pandas as pd
import pytest

import nrr


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
