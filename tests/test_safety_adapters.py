"""The Stripe, invoice and snapshot adapters read exactly what their source writes: every other
spelling is an input error naming the file, row and column (docs/sources.md), and a line's
MRR is the exact quotient to 8 decimals, as for a canonical line."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.errors import InputError

runner = CliRunner()
EIGHT = Decimal("0.00000001")

STRIPE_HEADER = "customer,status,start_date,unit_amount,currency,interval,interval_count,quantity"


def stripe_file(tmp_path: Path, column: str, value: str) -> Path:
    """One valid Stripe item with `column` set to `value` (added when not in the header)."""
    base = {
        "customer": "c1",
        "status": "active",
        "start_date": "2024-01-01",
        "unit_amount": "5000",
        "currency": "usd",
        "interval": "month",
        "interval_count": "1",
        "quantity": "1",
    }
    base[column] = value
    path = tmp_path / "items.csv"
    path.write_text(",".join(base) + "\n" + ",".join(f'"{v}"' for v in base.values()) + "\n")
    return path


def mrr_of(book: nrr.Book) -> list[Decimal]:
    return sorted(r["mrr_local"] for r in book.lines.to_dict("records"))


def refused(path: Path, source_format: str, where: str) -> None:
    """Exit 2 from the command line, with one line naming `where` (file:row:column)."""
    result = runner.invoke(
        app,
        ["movements", "-s", str(path), "--from", source_format, "--end", "2024-03"],
        env={"NRR_CACHE_DIR": "off"},
    )
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"error: {where}: " in result.stderr, result.stderr


STRIPE_REFUSED = (
    [
        ("cancel_at_period_end", v)
        for v in ("yes", "y", "no", "2", "maybe", "t", "on", "-1", "true1")
    ]
    + [("interval_count", v) for v in ("1.5", "0", "-1", "", "1e1", "0x2", "two", "37", ".5", "+1")]
    + [("quantity", v) for v in ("1.5", "-1", "1e2", "2 seats", "+3", "0x10")]
    + [("unit_amount", v) for v in ("49.99", "-100", "1e3", "1,000", "1_000", "$50", "")]
    + [("interval", v) for v in ("monthly", "fortnight", "", "months", "quarter")]
    + [("currency", v) for v in ("us", "usdd", "$", "", "u$d")]
    + [
        ("start_date", v)
        for v in ("2024-01-31x", "31/01/2024", "2024-02-30", "1709251200000", "1709251200.5", "")
    ]
    + [("status", v) for v in ("activ", "live", "", "cancelled")]
    + [("percent_off", v) for v in ("120", "-5", "10%", "1e1", "12.345678")]
    + [("tax_behavior", v) for v in ("incl", "yes", "gross")]
    + [("tax_percent", v) for v in ("100", "-1", "20%")]
)


@pytest.mark.parametrize(("column", "value"), STRIPE_REFUSED)
def test_stripe_refuses_what_stripe_does_not_write(tmp_path, column, value):
    path = stripe_file(tmp_path, column, value)
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="stripe", cache=False)
    assert f"items.csv:2:{column}: " in str(caught.value)


def test_stripe_refusals_exit_2_from_the_command_line(tmp_path):
    refused(
        stripe_file(tmp_path, "cancel_at_period_end", "yes"),
        "stripe",
        "items.csv:2:cancel_at_period_end",
    )
    refused(stripe_file(tmp_path, "interval_count", "1.5"), "stripe", "items.csv:2:interval_count")


STRIPE_ACCEPTED = [("cancel_at_period_end", v) for v in ("false", "FALSE", "False", "0", "")] + [
    ("interval_count", "1.0"),
    ("quantity", "1.0"),
    ("unit_amount", "5000.0"),
    ("interval", "Month"),
    ("currency", "USD"),
    ("status", "Active"),
    ("start_date", "2024-01-01T10:00:00Z"),
    ("start_date", "2024-01-01 10:00"),
    ("start_date", "2024-01-01 10:00:00.000"),
    ("start_date", "2024-01-01 10:00:00+00:00"),
    ("start_date", "2024-01-01 10:00:00 UTC"),
    ("start_date", "1704067200"),
    ("tax_behavior", "exclusive"),
    ("tax_behavior", "unspecified"),
    ("tax_behavior", ""),
]


@pytest.mark.parametrize(("column", "value"), STRIPE_ACCEPTED)
def test_stripe_reads_what_stripe_writes(tmp_path, column, value):
    path = stripe_file(tmp_path, column, value)
    book = nrr.load(path, source_format="stripe", cache=False)
    assert book.bridge("2024-02", "2024-02")[0].ending_mrr == Decimal(50)


@pytest.mark.parametrize("flag", ["true", "TRUE", "True", "1"])
def test_cancel_at_period_end_cancels_at_the_period_end(tmp_path, flag):
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start_date,current_period_end,cancel_at_period_end,unit_amount,currency\n"
        f"c1,active,2024-01-01,2024-03-01,{flag},5000,usd\n"
        "c2,active,2024-01-01,2024-03-01,false,2000,usd\n"
    )
    book = nrr.load(path, source_format="stripe", cache=False)
    february, march = book.bridge("2024-02", "2024-03")
    assert february.ending_mrr == Decimal(70)
    assert (march.churn, march.ending_mrr) == (Decimal(50), Decimal(20))


def canonical_mrr(tmp_path: Path, amount: str, interval: str) -> Decimal:
    path = tmp_path / "canonical.csv"
    path.write_text(f"customer_id,start_date,amount,interval\nc,2024-01-01,{amount},{interval}\n")
    (mrr,) = mrr_of(nrr.load(path, cache=False))
    return mrr


def exact(value: Decimal) -> Decimal:
    return value.quantize(EIGHT, rounding=ROUND_HALF_EVEN)


def test_stripe_mrr_is_exact_for_awkward_prices(tmp_path):
    # By hand: 7.00 a week is 7 x 30.4375 / 7 = 30.4375; 99,999,999.99 a week is
    # 3,043,749,999.6956... / 7 = 434,821,428.52794642... (a double is off in the 8th
    # decimal here); 100.00 a month including 7.25% tax is 100 / 1.0725 =
    # 93.24009324...; 33.33% off 10.00 every 3 days: 6.667 x 30.4375 / 3 = 67.64...
    path = tmp_path / "items.csv"
    path.write_text(
        "customer,status,start_date,amount,currency,interval,interval_count,percent_off,"
        "tax_behavior,tax_percent\n"
        "a,active,2024-01-01,7.00,usd,week,1,,,\n"
        "b,active,2024-01-01,99999999.99,usd,week,1,,,\n"
        "c,active,2024-01-01,100.00,usd,month,1,,inclusive,7.25\n"
        "d,active,2024-01-01,10.00,usd,day,3,33.33,,\n"
    )
    got = {
        r["customer_id"]: r["mrr_local"]
        for r in nrr.load(path, source_format="stripe", cache=False).lines.to_dict("records")
    }
    month = Decimal("30.4375")
    assert got["a"] == Decimal("30.4375")
    assert got["b"] == exact(Decimal("99999999.99") * month / 7) == Decimal("434821428.52794643")
    assert got["c"] == exact(Decimal(100) / Decimal("1.0725"))
    assert got["d"] == exact(Decimal("10.00") * Decimal("0.6667") * month / 3)
    # The canonical path, given the same quotient written as one division, agrees.
    assert got["b"] == canonical_mrr(tmp_path, str(Decimal("99999999.99") * month), "7")


def test_invoice_mrr_is_exact_for_awkward_periods(tmp_path):
    # 1228.75 for 374 days: 1228.75 x 30.4375 / 374 = 100.00020889... (docs/sources.md);
    # 1,000,000.01 for 31 days of a 30-day-aligned period is not aligned: by days.
    path = tmp_path / "lines.csv"
    path.write_text(
        "customer_id,period_start,period_end,amount\n"
        "initech,2024-02-01,2025-02-09,1228.75\n"
        "big,2024-01-01,2024-01-20,1000000.01\n"
    )
    got = {
        r["customer_id"]: r["mrr_local"]
        for r in nrr.load(path, source_format="invoices", cache=False).lines.to_dict("records")
    }
    month = Decimal("30.4375")
    assert got["initech"] == exact(Decimal("1228.75") * month / 374) == Decimal("100.00020889")
    assert got["initech"] == canonical_mrr(tmp_path, str(Decimal("1228.75") * month), "374")
    assert got["big"] == exact(Decimal("1000000.01") * month / 19)


INVOICE_REFUSED = (
    [("amount", v) for v in ("1e3", "+5", "1,000", "1_000", "$5", "", "1.1234567", ".5")]
    + [("period_start", v) for v in ("2024-01-01x", "01/01/2024", "2024-13-01", "")]
    + [("period_end", v) for v in ("2024-02-01 25:00", "tomorrow")]
    + [("quantity", v) for v in ("-1", "1e2", "two")]
    + [("currency", v) for v in ("us", "euro")]
    + [("line_type", v) for v in ("rec", "annual")]
    + [("document", v) for v in ("bill", "creditnote")]
)


@pytest.mark.parametrize(("column", "value"), INVOICE_REFUSED)
def test_invoices_refuse_what_billing_systems_do_not_write(tmp_path, column, value):
    row = {
        "customer_id": "a",
        "period_start": "2024-01-01",
        "period_end": "2024-02-01",
        "amount": "100",
        "quantity": "1",
        "currency": "usd",
        "line_type": "recurring",
        "document": "invoice",
    }
    row[column] = value
    path = tmp_path / "lines.csv"
    path.write_text(",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n")
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="invoices", cache=False)
    assert f"lines.csv:2:{column}: " in str(caught.value)
    if column == "amount" and value == "1e3":
        refused(path, "invoices", "lines.csv:2:amount")


def test_invoices_read_negative_credits_and_timestamps(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "customer_id,document,period_start,period_end,amount,quantity\n"
        "a,invoice,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z,100.00,1.5\n"
        "a,credit_note,1704067200,1706745600,-20.00,\n"
    )
    (mrr,) = mrr_of(nrr.load(path, source_format="invoices", cache=False))
    assert mrr == Decimal(80)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("mrr", "1e3"),
        ("mrr", "-5"),
        ("mrr", "+5"),
        ("mrr", "1,000"),
        ("mrr", "1_000"),
        ("mrr", "10.123456789"),
        ("mrr", ""),
        ("month", "2024-1"),
        ("month", "01/2024"),
        ("month", "2024-02-30"),
        ("month", "2024-01-15x"),
        ("currency", "eu"),
    ],
)
def test_snapshots_refuse_what_is_not_a_month_or_an_amount(tmp_path, column, value):
    row = {"customer_id": "a", "month": "2024-01", "mrr": "10", "currency": "usd"}
    row[column] = value
    path = tmp_path / "snap.csv"
    path.write_text(",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n")
    with pytest.raises(InputError) as caught:
        nrr.load(path, source_format="snapshots", cache=False)
    assert f"snap.csv:2:{column}: " in str(caught.value)


def test_snapshots_keep_eight_decimals(tmp_path):
    path = tmp_path / "snap.csv"
    path.write_text("customer_id,month,mrr\na,2024-01,10.12345678\nb,2024-01-31,0\n")
    assert mrr_of(nrr.load(path, source_format="snapshots", cache=False)) == [
        Decimal(0),
        Decimal("10.12345678"),
    ]
