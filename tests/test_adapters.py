"""Stripe, invoice and snapshot inputs: the bundled samples give hand-checked bridges."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import nrr
from nrr.conventions import Conventions
from nrr.errors import InputError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STRIPE = EXAMPLES / "stripe" / "subscription_items.csv"
INVOICES = EXAMPLES / "invoices" / "invoice_lines.csv"
SNAPSHOTS = EXAMPLES / "snapshots" / "mrr_snapshots.csv"
MOVES = ("new", "reactivation", "expansion", "contraction", "churn", "ending_mrr")


def bridge(book: nrr.Book, start: str, end: str) -> dict[str, tuple[Decimal, ...]]:
    """month -> (new, reactivation, expansion, contraction, churn, ending), in cents."""
    return {
        row.month: tuple(getattr(row, k).quantize(Decimal("0.01")) for k in MOVES)
        for row in book.bridge(start, end)
    }


def d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


# The Stripe sample, by hand (docs/sources.md walks through each item):
# A1 150 (3 x 50.00) from Jan; B 1200/yr at 25% off until May: 75 Feb-Apr, then 100;
# C 80, cancelled 2024-03-20, paid to 2024-04-15; D 40 after a trial ending 2024-03-01;
# E 60, past due since 2024-04-05; F incomplete; A2 20.00 less 5.00 off from April; G
# cancelled in its trial; H 120 tax-inclusive at 20% = 100; I 100% off; J 7.00 a week
# = 7 x 30.4375 / 7 = 30.4375 a month from March (its start is a Unix timestamp).
STRIPE_PERIOD_END = {
    "2024-01": d("390", "0", "0", "0", "0", "390"),
    "2024-02": d("75", "0", "0", "0", "0", "465"),
    "2024-03": d("70.44", "0", "0", "0", "0", "535.44"),
    "2024-04": d("0", "0", "15", "0", "80", "470.44"),
    "2024-05": d("0", "0", "25", "0", "60", "435.44"),
    "2024-06": d("0", "0", "0", "0", "0", "435.44"),
}


def test_stripe_sample_bridge_churn_at_period_end():
    book = nrr.load(STRIPE, source_format="stripe")
    assert bridge(book, "2024-01", "2024-06") == STRIPE_PERIOD_END
    account = book.intake.accounts["subscription_items.csv"]
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (11, 11, 0)
    assert dict(account.no_mrr) == {
        "cancelled before paying (trial)": 1,
        "fully discounted": 1,
        "never paid (incomplete or paused)": 1,
    }


def test_stripe_churn_at_cancellation_and_no_grace():
    # C leaves on 2024-03-20 (churn in March); E's 60 stops the day its unpaid period began
    # (2024-04-05), so it churns in April instead of May.
    book = nrr.load(
        STRIPE, source_format="stripe", conventions=Conventions(churn_at="cancel", grace_days=0)
    )
    got = bridge(book, "2024-03", "2024-05")
    assert got["2024-03"] == d("70.44", "0", "0", "0", "80", "455.44")
    assert got["2024-04"] == d("0", "0", "15", "0", "60", "410.44")
    assert got["2024-05"] == d("0", "0", "25", "0", "0", "435.44")


def test_stripe_metadata_becomes_attributes():
    book = nrr.load(STRIPE, source_format="stripe")
    result = book.window("2024-06", window=3, by="segment")
    by_segment = {name: f for name, f in result.segments}
    assert by_segment["Enterprise"].starting_mrr == Decimal(150)
    assert by_segment["Enterprise"].expansion == Decimal(15)
    assert by_segment["SMB"].churn == Decimal(140)


def test_stripe_discount_split_is_exact(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start_date,amount,currency,interval,interval_count,quantity,"
        "amount_off,discount_end\n"
        "c1,active,2024-01-01,30.00,eur,month,3,2,15.00,2024-04-01\n"
        "c2,active,2024-01-01,1000,jpy,month,1,1,,\n"
    )
    fx = tmp_path / "fx.csv"
    fx.write_text("month,currency,rate\n2024-01,EUR,1\n2024-01,JPY,0.5\n")
    book = nrr.load(path, source_format="stripe", fx_rates=fx)
    got = bridge(book, "2024-01", "2024-04")
    # c1: (2 x 30 - 15) / 3 = 15 a month until April, then 60 / 3 = 20. c2: 1000 yen x 0.5.
    assert got["2024-01"] == d("515", "0", "0", "0", "0", "515")
    assert got["2024-04"] == d("0", "0", "5", "0", "0", "520")


def test_stripe_minor_units(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start,unit_amount,currency,interval\n"
        "c1,active,2024-01-01,1999,usd,month\n"
        "c2,active,2024-01-01,5000,jpy,month\n"
    )
    fx = tmp_path / "fx.csv"
    fx.write_text("month,currency,rate\n2024-01,JPY,0.01\n")
    book = nrr.load(path, source_format="stripe", fx_rates=fx)
    assert book.bridge("2024-01", "2024-01")[0].ending_mrr == Decimal("19.99") + Decimal(50)


def test_stripe_problems_name_stripe_columns(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start_date,amount,interval,percent_off\n"
        "c1,activ,2024-01-01,10,month,\n"
        "c2,active,yesterday,10,fortnight,120\n"
    )
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="stripe")
    text = str(caught.value)
    assert "items.csv:2:status: status 'activ' is not a Stripe subscription status" in text
    assert "items.csv:3:start_date:" in text
    assert "items.csv:3:interval: interval 'fortnight'" in text
    assert "items.csv:3:percent_off:" in text


# Invoices, by hand: acme 100 (Jan), 100 (Feb), 150 - 50 credit = 100 (Mar), 150 (Apr),
# nothing after; globex 1200 for 2024-01-15..2025-01-15 = 12 months = 100; umbrella 300
# for a quarter less a 30 refund = 90 Jan-Mar; initech 1228.75 over 374 days = 12.2875
# months = 100.00 from Feb. Tax, one-time and usage lines carry no MRR.
INVOICE_BRIDGE = {
    "2024-01": d("290", "0", "0", "0", "0", "290"),
    "2024-02": d("100", "0", "0", "0", "0", "390"),
    "2024-03": d("0", "0", "0", "0", "0", "390"),
    "2024-04": d("0", "0", "50", "0", "90", "350"),
    "2024-05": d("0", "0", "0", "0", "150", "200"),
}


def test_invoice_sample_bridge():
    book = nrr.load(INVOICES, source_format="invoices")
    assert bridge(book, "2024-01", "2024-05") == INVOICE_BRIDGE
    account = book.intake.accounts["invoice_lines.csv"]
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (12, 12, 0)
    assert dict(account.no_mrr) == {"one-time lines": 1, "tax lines": 1, "usage lines": 1}


def test_invoice_negative_net_is_reported_or_quarantined(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "customer_id,document,period_start,period_end,amount\n"
        "a,invoice,2024-01-01,2024-02-01,100\n"
        "b,invoice,2024-01-01,2024-02-01,40\n"
        "b,credit_note,2024-01-01,2024-02-01,60\n"
    )
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="invoices")
    assert "lines.csv:3: invoice lines on rows 3, 4 (b, product default" in str(caught.value)
    assert "net to -20" in str(caught.value)

    book = nrr.load(path, source_format="invoices", on_invalid="quarantine")
    account = book.intake.accounts["lines.csv"]
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (3, 1, 2)
    assert account.mrr_rejected == {"USD": Decimal(-20)}
    assert sorted(r.row for r in book.intake.rejections) == [3, 4]
    assert book.bridge("2024-01", "2024-01")[0].ending_mrr == Decimal(100)


def test_invoice_period_lengths(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "customer_id,period_start,period_end,amount\n"
        "a,2024-01-31,2024-02-29,10\n"  # clamped month end: one month
        "b,2024-01-01,2024-01-16,15\n"  # 15 days: 15 / 30.4375 months
        "c,2024-03-15,2024-06-15,300\n"  # a quarter
    )
    book = nrr.load(path, source_format="invoices")
    mrr = {r["customer_id"]: r["mrr_local"] for r in book.lines.to_dict("records")}
    assert mrr["a"] == Decimal(10)
    assert abs(mrr["b"] - Decimal("30.4375")) < Decimal("0.000001")
    assert mrr["c"] == Decimal(100)


def test_snapshot_sample_bridge():
    book = nrr.load(SNAPSHOTS, source_format="snapshots")
    got = bridge(book, "2024-01", "2024-06")
    assert got["2024-02"] == d("250.50", "0", "0", "0", "80", "350.50")
    assert got["2024-03"] == d("0", "0", "40", "0", "0", "390.50")
    assert got["2024-04"] == d("0", "0", "0", "0", "390.50", "0")
    assert got["2024-05"] == d("0", "250.50", "0", "0", "0", "250.50")


def test_snapshot_repeated_month_is_a_problem(tmp_path):
    path = tmp_path / "snap.csv"
    path.write_text("customer_id,month,mrr\na,2024-01,10\na,2024-01,12\nb,2024-13,5\n")
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="snapshots")
    text = str(caught.value)
    assert (
        "snap.csv:3:month: a second snapshot for this customer in '2024-01' (first on row 2)"
        in (text)
    )
    assert "snap.csv:4:month: month '2024-13' is not a month" in text


def test_reactivation_window(tmp_path):
    path = tmp_path / "snap.csv"
    path.write_text(
        "customer_id,month,mrr\n"
        "a,2024-01,10\na,2024-05,10\n"  # away Feb-Apr: 3 months
        "b,2024-01,20\nb,2024-03,20\n"  # away Feb: 1 month
    )

    def moves(window: int | None) -> dict[str, tuple[Decimal, Decimal]]:
        book = nrr.load(
            path,
            source_format="snapshots",
            conventions=Conventions(reactivation_window=window),
        )
        return {r.month: (r.new, r.reactivation) for r in book.bridge("2024-03", "2024-05")}

    assert moves(None)["2024-03"] == (0, 20) and moves(None)["2024-05"] == (0, 10)
    assert moves(2)["2024-03"] == (0, 20) and moves(2)["2024-05"] == (10, 0)
    assert moves(3)["2024-05"] == (0, 10)
    # The window metrics split the same way: a is outside the Apr->May cohort.
    book = nrr.load(path, source_format="snapshots", conventions=Conventions(reactivation_window=2))
    figures = book.window("2024-05", window=2).overall
    assert (figures.new_mrr, figures.reactivation_mrr) == (10, 0)


def test_stripe_dashboard_export_headers(tmp_path):
    path = tmp_path / "dashboard.csv"
    path.write_text(
        "id,Customer ID,Status,Start (UTC),Current Period Start (UTC),"
        "Current Period End (UTC),Trial End (UTC),Canceled At (UTC),Ended At (UTC),Amount,"
        "Currency,Interval,Quantity,Product,segment (metadata)\n"
        "sub_1,cus_1,active,2024-01-03 10:00,2024-06-03 10:00,2024-07-03 10:00,,,,49.00,usd,"
        "month,2,Pro,SMB\n"
        "sub_2,cus_2,canceled,2024-01-05 10:00,2024-03-05 10:00,2024-04-05 10:00,,"
        "2024-03-10 09:00,2024-04-05 10:00,1200.00,usd,year,1,Pro,Enterprise\n"
    )
    book = nrr.load(path, source_format="stripe")
    got = bridge(book, "2024-01", "2024-04")
    assert got["2024-01"] == d("198", "0", "0", "0", "0", "198")
    assert got["2024-04"] == d("0", "0", "0", "0", "100", "98")
    assert "segment" in book.attributes


def test_stripe_empty_status_currency_or_trial_end_are_problems(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start_date,amount,currency,trial_end\n"
        "c1,,2024-01-01,10,usd,\n"
        "c2,active,2024-01-01,10,,\n"
        "c3,trialing,2024-01-01,10,usd,\n"
    )
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="stripe")
    text = str(caught.value)
    assert "items.csv:2:status: status empty is not a Stripe subscription status" in text
    assert "items.csv:3:currency: currency empty" in text
    assert "items.csv:4:trial_end: a trialing item needs trial_end" in text
