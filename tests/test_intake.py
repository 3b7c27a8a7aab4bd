"""Nothing lost: every input row is used or reported, under both --on-invalid policies."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from nrr.cli import app

DEFECTS = Path(__file__).resolve().parent.parent / "examples" / "defects" / "subscriptions.csv"
runner = CliRunner()
# The ten defective rows of the sample, with the column each one is blamed on.
BAD_ROWS = {
    3: "customer_id",  # empty id
    4: "start_date",  # 2024-13-01
    5: "end_date",  # 2024-02-31
    6: "end_date",  # before the start
    7: "amount",  # "1,200.00"
    8: "amount",  # negative
    9: "interval",  # fortnight
    10: "quantity",  # negative
    11: "currency",  # EURO
    12: "amount",  # MRR of 100 billion or more
}


def metrics(*args: str):
    return runner.invoke(app, ["metrics", "--end", "2024-06", "--window", "3", "-f", "json", *args])


def test_fail_lists_every_defect():
    result = metrics("-s", str(DEFECTS))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(":")[2] for line in errors] == [str(r) for r in BAD_ROWS]
    for line, (row, column) in zip(errors, BAD_ROWS.items(), strict=True):
        assert line.startswith(f"error: subscriptions.csv:{row}:{column}: ")
    assert result.stdout == ""


def test_quarantine_reconciles_exactly(tmp_path):
    rejected = tmp_path / "out" / "rejected.csv"
    result = metrics("-s", str(DEFECTS), "--on-invalid", "quarantine", "--rejected", str(rejected))
    assert result.exit_code == 0, result.stderr
    assert (
        "note: subscriptions.csv: 16 rows read = 6 used + 10 rejected; MRR rejected: "
        "25.00 EURO + 320.00 USD (4 rejected rows have no readable MRR)"
    ) in result.stderr
    with rejected.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in rows] == list(BAD_ROWS)
    for r in rows:
        assert BAD_ROWS[int(r["row"])] in r["columns"].split(";")
        assert r["reasons"] and json.loads(r["record"])
    assert json.loads(rows[0]["record"])["amount"] == "50"

    # The numbers are those of the file without its rejected rows.
    clean = tmp_path / "clean.csv"
    lines = DEFECTS.read_text().splitlines(keepends=True)
    clean.write_text("".join(line for n, line in enumerate(lines, 1) if n not in BAD_ROWS))
    expected = json.loads(metrics("-s", str(clean)).stdout)
    assert json.loads(result.stdout) == expected


def test_quarantine_account_from_python():
    import nrr

    book = nrr.load(DEFECTS, on_invalid="quarantine")
    assert [a.as_dict() for a in book.intake.accounts.values()] == [
        {
            "source": "subscriptions.csv",
            "rows_read": 16,
            "rows_used": 6,
            "rows_rejected": 10,
            "rows_without_mrr": {},
            "mrr_rejected": {"EURO": 25.0, "USD": 320.0},
            "rejected_without_mrr": 4,
        }
    ]
    assert [r.row for r in book.intake.rejections] == list(BAD_ROWS)


def test_duplicates_and_overlaps_are_warned():
    result = metrics("-s", str(DEFECTS), "--on-invalid", "quarantine", "--rejected", "/dev/null")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "1 line is an exact copy of an earlier line (row 14 = row 13)" in warnings[0]
    assert "1 line starts while an earlier line of the same customer and product" in warnings[1]
    assert "row 16 (c13, core, from 2024-04-01)" in warnings[1]


def test_quarantine_sets_aside_lines_without_a_rate(tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text(
        "customer_id,start_date,amount,currency\n"
        "a,2024-01-01,100,USD\n"
        "b,2024-01-01,50,EUR\n"  # EUR has a rate only from March
        "c,2024-03-01,40,EUR\n"
    )
    fx = tmp_path / "fx.csv"
    fx.write_text("month,currency,rate\n2024-03,EUR,1.5\n")
    rejected = tmp_path / "rejected.csv"
    result = metrics(
        "-s", str(subs), "--fx-rates", str(fx), "--on-invalid", "quarantine",
        "--rejected", str(rejected),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "3 rows read = 2 used + 1 rejected; MRR rejected: 50.00 EUR" in result.stderr
    assert "no exchange rate for 'EUR'" in rejected.read_text()
    assert json.loads(result.stdout)["overall"]["starting_mrr"] == 160.0


def test_customers_quarantine_drops_every_copy_of_a_repeated_id(tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,start_date,amount\na,2024-01-01,100\nb,2024-01-01,50\n")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,segment\na,SMB\na,Enterprise\nb,SMB\n,SMB\n")
    result = metrics(
        "-s", str(subs), "-c", str(customers), "--by", "segment",
        "--on-invalid", "quarantine", "--rejected", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "customers.csv: 4 rows read = 1 used + 3 rejected" in result.stderr
    segments = {s["segment"]: s["starting_mrr"] for s in json.loads(result.stdout)["segments"]}
    assert segments == {"(none)": 100.0, "SMB": 50.0}


def test_config_file_and_column_mapping(tmp_path):
    subs = tmp_path / "billing.csv"
    subs.write_text("account,began,mrr_amount,amount\nA,2024-01-01,100,999\nB,2024-02-01,50,999\n")
    (tmp_path / "nrr.toml").write_text(
        'currency = "EUR"\n'
        "reactivation_window = 2\n"
        "[subscriptions]\n"
        'path = "billing.csv"\n'
        "[subscriptions.columns]\n"
        'customer_id = "account"\n'
        'start_date = "began"\n'
        'amount = "mrr_amount"\n'
    )
    result = runner.invoke(
        app,
        ["movements", "--config", str(tmp_path / "nrr.toml"), "--start", "2024-01",
         "--end", "2024-02", "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["new"] for r in rows] == [100.0, 50.0]
    assert "a return after more than 2 months away is new" in result.stderr

    # Flags win over the file.
    result = metrics(
        "--config", str(tmp_path / "nrr.toml"), "--map", "amount=amount", "--map",
        "customer_id=account", "--map", "start_date=began",
    )  # fmt: skip
    assert json.loads(result.stdout)["overall"]["starting_mrr"] == 1998.0
    assert json.loads(result.stdout)["currency"] == "EUR"


def test_mapping_to_a_missing_column_is_clear(tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text("account,start_date,amount\nA,2024-01-01,100\n")
    result = metrics("-s", str(subs), "--map", "customer_id=acct")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: subs.csv: the column mapping names 'acct'")


def test_bad_config_is_clear(tmp_path):
    config = tmp_path / "nrr.toml"
    config.write_text('currency = 5\nchurn = "cancel"\n')
    result = metrics("--config", str(config))
    assert result.exit_code == 2
    assert f"error: {config}:currency: currency must be a str" in result.stderr
    assert f"error: {config}:churn: unknown setting" in result.stderr


def test_conventions_are_named_in_every_output():
    stripe = str(DEFECTS.parent.parent / "stripe" / "subscription_items.csv")
    as_json = metrics("-s", stripe, "--from", "stripe", "--churn-at", "cancel")
    # Machine output keeps the contract's shape; the conventions are named on stderr.
    assert "note: Counted with: churn on the cancellation date;" in as_json.stderr
    for fmt in ("csv", "json"):
        moves = runner.invoke(app, ["movements", "-s", stripe, "--from", "stripe", "-f", fmt])
        assert "churn on the cancellation date" not in moves.stderr
        assert "churn at the end of the paid period" in moves.stderr
    table = runner.invoke(app, ["metrics", "-s", stripe, "--from", "stripe", "--grace-days", "7"])
    assert "past-due/unpaid churn after 7 days" in table.stdout


def test_bad_memory_limit_is_clear(monkeypatch):
    monkeypatch.setenv("NRR_MEMORY_LIMIT", "lots")
    result = metrics("-s", str(DEFECTS))
    assert result.exit_code == 2
    assert result.stderr == "error: NRR_MEMORY_LIMIT: 'lots' is not a size such as 2GB\n"
