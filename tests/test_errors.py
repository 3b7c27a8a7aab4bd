"""Malformed input: exit status 2 and one clear line naming the file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrr.cli import app

GOOD = "customer_id,start_date,end_date,amount,interval,currency\nA,2024-01-01,,100,month,USD\n"
runner = CliRunner()


def run(tmp_path: Path, subscriptions: str | bytes, *extra: str, name: str = "subs.csv"):
    path = tmp_path / name
    if isinstance(subscriptions, bytes):
        path.write_bytes(subscriptions)
    else:
        path.write_text(subscriptions)
    return runner.invoke(
        app,
        ["metrics", "--subscriptions", str(path), "--end", "2024-06", "--format", "json", *extra],
    )


def one_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


HEADER = "customer_id,start_date,end_date,amount,interval,currency\n"


@pytest.mark.parametrize(
    ("row", "place", "words"),
    [
        ("A,2024-01-01,,-5,month,USD", "subs.csv:2:amount", "negative"),
        ("A,2024-02-30,,5,month,USD", "subs.csv:2:start_date", "not a date"),
        ("A,01/02/2024,,5,month,USD", "subs.csv:2:start_date", "YYYY-MM-DD"),
        ("A,2024-03-01,2024-02-01,5,month,USD", "subs.csv:2:end_date", "before start_date"),
        (",2024-03-01,,5,month,USD", "subs.csv:2:customer_id", "empty"),
        ("A,2024-03-01,,5,weekly,USD", "subs.csv:2:interval", "unknown"),
        ("A,2024-03-01,,5,-3,USD", "subs.csv:2:interval", "unknown"),
        ('A,2024-03-01,,"12,50",month,USD', "subs.csv:2:amount", "not a number"),
        ("A,2024-03-01,,$12,month,USD", "subs.csv:2:amount", "not a number"),
        ("A,2024-03-01,,5,month,Dollars", "subs.csv:2:currency", "ISO 4217"),
        ("A,2024-03-01,,1e15,month,USD", "subs.csv:2:amount", "100 billion or more"),
    ],
)
def test_bad_row(tmp_path, row, place, words):
    line = one_error(run(tmp_path, HEADER + row + "\n"))
    assert line.startswith(f"error: {place}: ")
    assert words in line


def test_row_numbers_count_the_header(tmp_path):
    rows = HEADER + "A,2024-01-01,,5,month,USD\n" * 3 + "A,2024-01-01,,-1,month,USD\n"
    assert one_error(run(tmp_path, rows)).startswith("error: subs.csv:5:amount:")


def test_every_problem_is_listed(tmp_path):
    rows = HEADER + "".join(f"C{i},2024-01-01,,-{i + 1},month,USD\n" for i in range(5))
    rows += "D,2024-13-01,,x,fortnight,USD\n"
    result = run(tmp_path, rows)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 8  # five negative amounts, then row 7's three problems
    assert lines[5].startswith("error: subs.csv:7:start_date")
    assert {line.split(":")[3] for line in lines[5:]} == {"start_date", "amount", "interval"}


def test_problem_cap_says_how_many_more(tmp_path):
    rows = HEADER + "".join(f"C{i},2024-01-01,,-1,month,USD\n" for i in range(80))
    lines = run(tmp_path, rows).stderr.strip().splitlines()
    assert len(lines) == 51
    assert lines[-1] == (
        "error: subs.csv: 80 rows have problems; the first 50 are listed above "
        "(or use --on-invalid quarantine to set them aside)"
    )


def test_currency_without_rate(tmp_path):
    rows = HEADER + "A,2024-01-01,,5,month,USD\nB,2024-02-01,,5,month,EUR\n"
    line = one_error(run(tmp_path, rows))
    assert line.startswith("error: subs.csv:3:currency: no exchange rate for EUR in 2024-02")


def test_rate_only_after_first_use(tmp_path):
    fx = tmp_path / "fx.csv"
    fx.write_text("month,currency,rate\n2024-03,EUR,1.1\n")
    rows = HEADER + "B,2024-02-01,,5,month,EUR\n"
    line = one_error(run(tmp_path, rows, "--fx-rates", str(fx)))
    assert "no exchange rate for EUR in 2024-02" in line and "fx.csv" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("month,currency,rate\n2024-01,EUR,0\n", "fx.csv:2:rate"),
        ("month,currency,rate\n2024-1,EUR,1.1\n", "fx.csv:2:month"),
        (
            "month,currency,rate\n2024-01,EUR,1.1\n2024-01,EUR,1.2\n",
            "fx.csv:3:month: a second rate",
        ),
        ("month,currency\n2024-01,EUR\n", "missing required column(s) rate"),
    ],
)
def test_bad_rates(tmp_path, content, words):
    fx = tmp_path / "fx.csv"
    fx.write_text(content)
    assert words in one_error(run(tmp_path, GOOD, "--fx-rates", str(fx)))


def test_missing_column(tmp_path):
    line = one_error(run(tmp_path, "customer_id,start_date\nA,2024-01-01\n"))
    assert "subs.csv: missing required column(s) amount" in line


def test_binary_file(tmp_path):
    line = one_error(run(tmp_path, bytes(range(256)) * 40, name="subs.csv"))
    assert "subs.csv" in line and "binary" in line


def test_empty_file(tmp_path):
    assert "empty" in one_error(run(tmp_path, ""))


def test_missing_file(tmp_path):
    result = runner.invoke(
        app, ["metrics", "--subscriptions", str(tmp_path / "nope.csv"), "--end", "2024-06"]
    )
    line = one_error(result)
    assert "nope.csv" in line and "not found" in line


@pytest.mark.parametrize("month", ["2024-13", "24-01", "June", "2024-00"])
def test_bad_month_argument(tmp_path, month):
    result = run(tmp_path, GOOD)
    assert result.exit_code == 0
    result = runner.invoke(
        app, ["metrics", "--subscriptions", str(tmp_path / "subs.csv"), "--end", month]
    )
    line = one_error(result)
    assert line.startswith("error: --end:") and repr(month) in line


def test_bad_start_month_for_movements(tmp_path):
    (tmp_path / "subs.csv").write_text(GOOD)
    result = runner.invoke(
        app,
        [
            "movements",
            "--subscriptions",
            str(tmp_path / "subs.csv"),
            "--start",
            "2024/01",
            "--end",
            "2024-06",
        ],
    )
    assert one_error(result).startswith("error: --start:")


def test_unknown_attribute(tmp_path):
    line = one_error(run(tmp_path, GOOD, "--by", "segment"))
    assert "no attribute 'segment'" in line and "cohort" in line


def test_movements_by_tenure_is_refused_with_reason(tmp_path):
    (tmp_path / "subs.csv").write_text(GOOD)
    result = runner.invoke(
        app,
        [
            "movements",
            "--subscriptions",
            str(tmp_path / "subs.csv"),
            "--end",
            "2024-06",
            "--by",
            "tenure",
        ],
    )
    assert "would not chain" in one_error(result)


def test_duplicate_customer_rows_name_both(tmp_path):
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,segment\nA,SMB\nB,SMB\nA,Enterprise\n")
    line = one_error(run(tmp_path, GOOD, "--customers", str(customers)))
    assert line.startswith("error: customers.csv:4:customer_id:") and "first on row 2" in line


def test_derived_attribute_name_in_customers(tmp_path):
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,cohort\nA,2020\n")
    assert "derived" in one_error(run(tmp_path, GOOD, "--customers", str(customers)))


def test_ragged_csv_row(tmp_path):
    line = one_error(run(tmp_path, HEADER + "A,2024-01-01,,5,month,USD,extra,more\n"))
    assert line.startswith("error: subs.csv:")


def test_verbose_shows_traceback(tmp_path):
    result = run(tmp_path, HEADER + "A,2024-01-01,,-5,month,USD\n", "--verbose")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_bom_and_semicolons_are_read(tmp_path):
    content = "\ufeffcustomer_id;start_date;amount\nA;2024-01-01;100\n"
    (tmp_path / "subs.csv").write_text(content, encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "metrics",
            "--subscriptions",
            str(tmp_path / "subs.csv"),
            "--end",
            "2024-06",
            "--window",
            "1",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert '"starting_mrr": 100.0' in result.stdout


def test_duplicate_header_column(tmp_path):
    line = one_error(run(tmp_path, "customer_id,start_date,amount,Amount\nA,2024-01-01,1,2\n"))
    assert "'amount' appears twice" in line


def test_header_only_file_without_end(tmp_path):
    (tmp_path / "subs.csv").write_text(HEADER)
    result = runner.invoke(app, ["metrics", "--subscriptions", str(tmp_path / "subs.csv")])
    assert "hold no revenue" in one_error(result)


def test_rate_month_with_impossible_day(tmp_path):
    fx = tmp_path / "fx.csv"
    fx.write_text("month,currency,rate\n2024-07-99,EUR,1.1\n")
    assert "fx.csv:2:month" in one_error(run(tmp_path, GOOD, "--fx-rates", str(fx)))
