"""The demo business: seeded, plausible by segment, and readable through every format."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.datasets import generate_demo, write_demo


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    data = generate_demo(seed=7)
    return data, write_demo(data, folder)


def test_same_seed_same_data():
    a, b = generate_demo(seed=3, customers=150), generate_demo(seed=3, customers=150)
    assert a.subscriptions.equals(b.subscriptions) and a.customers.equals(b.customers)
    assert not a.subscriptions.equals(generate_demo(seed=4, customers=150).subscriptions)


def test_shape(demo_files):
    data, _ = demo_files
    subs, customers = data.subscriptions, data.customers
    assert len(customers) == 2000
    assert set(subs["product"]) == {"Core", "Analytics", "Automation"}
    assert set(subs["interval"]) == {"month", "quarter", "year"}
    assert set(subs["currency"]) == {"USD", "EUR", "GBP"}
    assert set(customers["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    assert subs["start_date"].min() >= "2022-01-01" and subs["start_date"].max() <= "2025-12-31"


def test_segments_behave_like_a_real_book(demo_files):
    _, paths = demo_files
    book = nrr.load(
        paths["subscriptions.csv"], customers=paths["customers.csv"], fx_rates=paths["fx_rates.csv"]
    )
    result = book.window("2025-12", window=12, by="segment")
    nrr_by = {name: f.nrr for name, f in result.segments}
    assert Decimal("1.10") <= nrr_by["Enterprise"] <= Decimal("1.30")
    assert Decimal("0.80") <= nrr_by["SMB"] <= Decimal("0.97")
    assert nrr_by["SMB"] < nrr_by["Mid-Market"] < nrr_by["Enterprise"]
    bridge = book.bridge("2022-01", "2025-12")
    assert sum(r.reactivation for r in bridge) > 0
    assert sum(1 for r in bridge if r.churn > 0) >= 40


def test_csv_parquet_and_duckdb_agree(demo_files):
    _, paths = demo_files
    from_csv = nrr.load(
        paths["subscriptions.csv"], customers=paths["customers.csv"], fx_rates=paths["fx_rates.csv"]
    ).window("2025-06", by="market")
    from_parquet = nrr.load(
        paths["subscriptions.parquet"],
        customers=paths["customers.parquet"],
        fx_rates=paths["fx_rates.parquet"],
    ).window("2025-06", by="market")
    from_db = nrr.load(db=paths["demo.duckdb"]).window("2025-06")
    assert from_csv == from_parquet
    assert from_db.overall == from_csv.overall


WHEN = ("--end", "2025-06", "--format", "json")


def test_a_duckdb_file_is_only_read(demo_files):
    _, paths = demo_files
    held = nrr.load(db=paths["demo.duckdb"])  # as a running `nrr serve` holds it
    # Another process can read the same file meanwhile: nrr opens it read-only.
    other = subprocess.run(
        [sys.executable, "-m", "nrr.cli", "metrics", "--db", str(paths["demo.duckdb"]), *WHEN],
        capture_output=True,
        text=True,
        check=False,
    )
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["overall"]["starting_mrr"] == float(
        round(held.window("2025-06").overall.starting_mrr, 2)
    )
    missing = CliRunner().invoke(app, ["metrics", "--db", str(paths["demo.duckdb"]) + ".nope"])
    assert missing.exit_code == 2
    assert "no such DuckDB file" in missing.stderr


def test_demo_command(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--customers", "300"])
    assert result.exit_code == 0, result.stderr
    for text in ("NRR", "GRR", "Logo retention", "By segment", "MRR bridge, last 12 months"):
        assert text in result.stdout
    assert (tmp_path / "d" / "demo.duckdb").exists()
    moves = CliRunner().invoke(
        app,
        [
            "movements",
            "--db",
            str(tmp_path / "d" / "demo.duckdb"),
            "--by",
            "segment",
            "--format",
            "json",
        ],
    )
    assert moves.exit_code == 0, moves.stderr
