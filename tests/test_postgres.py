"""PostgreSQL for real: the same numbers from a table there as from the CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from nrr.cli import app
from tests.pg import copy_csv_to_table

DATA = Path(__file__).parent / "data" / "adversarial"
STRIPE = Path(__file__).resolve().parent.parent / "examples" / "stripe" / "subscription_items.csv"
runner = CliRunner()
WINDOW = ["--end", "2024-12", "--window", "12", "--by", "segment", "-f", "json"]


def run(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_tables_in_postgres_give_the_csv_numbers(postgres_db: str) -> None:
    for name in ("subscriptions", "customers", "fx_rates"):
        copy_csv_to_table(postgres_db, name, DATA / f"{name}.csv")
    from_csv = run(
        "metrics", "-s", str(DATA / "subscriptions.csv"), "-c", str(DATA / "customers.csv"),
        "--fx-rates", str(DATA / "fx_rates.csv"), *WINDOW,
    )  # fmt: skip
    from_pg = run(
        "metrics", "--url", postgres_db, "-s", "subscriptions", "-c", "customers",
        "--fx-rates", "fx_rates", *WINDOW,
    )  # fmt: skip
    assert from_pg["overall"] == from_csv["overall"]
    assert from_pg["segments"] == from_csv["segments"]

    moves_csv = run(
        "movements", "-s", str(DATA / "subscriptions.csv"), "--fx-rates",
        str(DATA / "fx_rates.csv"), "--start", "2024-01", "--end", "2024-12", "-f", "json",
    )  # fmt: skip
    moves_pg = run(
        "movements", "--url", postgres_db, "-s", "subscriptions", "--fx-rates", "fx_rates",
        "--start", "2024-01", "--end", "2024-12", "-f", "json",
    )  # fmt: skip
    assert moves_pg == moves_csv


def test_typed_table_and_query_with_mapping(postgres_db: str) -> None:
    copy_csv_to_table(postgres_db, "raw_lines", DATA / "subscriptions.csv")
    # A warehouse table has real types and its own column names.
    with psycopg.connect(postgres_db, autocommit=True) as con:
        con.execute(
            "CREATE TABLE billing_lines AS SELECT customer_id AS account, "
            "start_date::date AS began, NULLIF(end_date, '')::date AS ended, "
            "amount::numeric(12, 4) AS price, interval, currency, product FROM raw_lines"
        )
    from_csv = run(
        "metrics", "-s", str(DATA / "subscriptions.csv"), "--fx-rates",
        str(DATA / "fx_rates.csv"), "--end", "2024-12", "-f", "json",
    )  # fmt: skip
    maps = ["--map", "customer_id=account", "--map", "start_date=began", "--map",
            "end_date=ended", "--map", "amount=price"]  # fmt: skip
    copy_csv_to_table(postgres_db, "fx_rates", DATA / "fx_rates.csv")
    from_table = run(
        "metrics", "--url", postgres_db, "-s", "billing_lines", "--fx-rates", "fx_rates",
        *maps, "--end", "2024-12", "-f", "json",
    )  # fmt: skip
    from_query = run(
        "metrics", "--url", postgres_db, "-s",
        "SELECT * FROM billing_lines ORDER BY account, began", "--fx-rates", "fx_rates",
        *maps, "--end", "2024-12", "-f", "json",
    )  # fmt: skip
    assert from_table["overall"] == from_csv["overall"]
    assert from_query["overall"] == from_csv["overall"]


def test_stripe_export_in_postgres(postgres_db: str) -> None:
    copy_csv_to_table(postgres_db, "stripe_items", STRIPE)
    args = ["--from", "stripe", "--start", "2024-01", "--end", "2024-06", "-f", "json"]
    from_pg = run("movements", "--url", postgres_db, "-s", "stripe_items", *args)
    assert from_pg == run("movements", "-s", str(STRIPE), *args)


def test_missing_table_and_bad_url_are_clear(postgres_db: str) -> None:
    result = runner.invoke(app, ["metrics", "--url", postgres_db, "-s", "nowhere"])
    assert result.exit_code == 2
    assert "nowhere: cannot be read (" in result.stderr and "check the table name" in result.stderr
    bad = postgres_db.rsplit("/", 1)[0] + "/no_such_db"
    result = runner.invoke(app, ["metrics", "--url", bad, "-s", "subscriptions"])
    assert result.exit_code == 2
    assert "cannot connect" in result.stderr


def test_files_mix_with_tables(postgres_db: str) -> None:
    copy_csv_to_table(postgres_db, "subscriptions", DATA / "subscriptions.csv")
    from_pg = run(
        "metrics", "--url", postgres_db, "-s", "subscriptions", "-c",
        str(DATA / "customers.csv"), "--fx-rates", str(DATA / "fx_rates.csv"), *WINDOW,
    )  # fmt: skip
    from_csv = run(
        "metrics", "-s", str(DATA / "subscriptions.csv"), "-c", str(DATA / "customers.csv"),
        "--fx-rates", str(DATA / "fx_rates.csv"), *WINDOW,
    )  # fmt: skip
    assert from_pg == from_csv
