"""The machine interface of METRICS.md section 6, checked against golden files.

The golden files were produced by nrr on tests/data/adversarial (three currencies, overlaps,
reactivations, zero-length and zero-amount lines, fractional intervals) and reviewed by hand:
e.g. metrics to 2024-06: starting 597.49 = acme 200 + bolt 99.99 x 1.0981 + cirrus 200 x
1.2301 + delta 250/6. Rewrite them with NRR_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrr.cli import app

DATA = Path(__file__).parent / "data" / "adversarial"
GOLDEN = Path(__file__).parent / "golden"
INPUTS = [
    "--subscriptions",
    str(DATA / "subscriptions.csv"),
    "--customers",
    str(DATA / "customers.csv"),
    "--fx-rates",
    str(DATA / "fx_rates.csv"),
]

CASES = {
    "metrics_2024-06_w12.json": ["metrics", *INPUTS, "--end", "2024-06", "--format", "json"],
    "metrics_2024-06_w12_segment.json": [
        "metrics",
        *INPUTS,
        "--end",
        "2024-06",
        "--by",
        "segment",
        "--format",
        "json",
    ],
    "metrics_2024-03_w3_cohort_constant.json": [
        "metrics",
        *INPUTS,
        "--end",
        "2024-03",
        "--window",
        "3",
        "--by",
        "cohort",
        "--fx-mode",
        "constant",
        "--format",
        "json",
    ],
    "metrics_2024-06_w12_tenure.json": [
        "metrics",
        *INPUTS,
        "--end",
        "2024-06",
        "--by",
        "tenure",
        "--format",
        "json",
    ],
    "movements_2023-01_2024-06.json": [
        "movements",
        *INPUTS,
        "--start",
        "2023-01",
        "--end",
        "2024-06",
        "--format",
        "json",
    ],
    "movements_2023-10_2024-06_segment.json": [
        "movements",
        *INPUTS,
        "--start",
        "2023-10",
        "--end",
        "2024-06",
        "--by",
        "segment",
        "--format",
        "json",
    ],
}

runner = CliRunner()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_json(name):
    result = runner.invoke(app, CASES[name])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    path = GOLDEN / name
    if os.environ.get("NRR_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(path.read_text())


def test_metrics_json_shape():
    got = json.loads(runner.invoke(app, CASES["metrics_2024-06_w12_segment.json"]).stdout)
    assert list(got) == [
        "start",
        "end",
        "window_months",
        "currency",
        "fx_mode",
        "overall",
        "segments",
    ]
    keys = [
        "starting_mrr",
        "ending_mrr",
        "fx",
        "expansion",
        "contraction",
        "churn",
        "nrr",
        "grr",
        "customers_start",
        "customers_retained",
        "logo_retention",
        "new_mrr",
        "reactivation_mrr",
    ]
    assert sorted(got["overall"]) == sorted(keys)
    assert all(sorted(s) == sorted(["segment", *keys]) for s in got["segments"])
    none = json.loads(runner.invoke(app, CASES["metrics_2024-06_w12.json"]).stdout)
    assert none["segments"] == []


def test_movements_json_shape_and_identity():
    rows = json.loads(runner.invoke(app, CASES["movements_2023-01_2024-06.json"]).stdout)
    assert [r["month"] for r in rows][:2] == ["2023-01", "2023-02"] and len(rows) == 18
    for row in rows:
        assert list(row) == [
            "month",
            "starting_mrr",
            "fx",
            "new",
            "reactivation",
            "expansion",
            "contraction",
            "churn",
            "ending_mrr",
            "active_customers",
        ]
        flows = (
            row["fx"]
            + row["new"]
            + row["reactivation"]
            + row["expansion"]
            - row["contraction"]
            - row["churn"]
        )
        # printed values may differ by the rounding of each term: at most a cent per term
        assert abs(row["starting_mrr"] + flows - row["ending_mrr"]) <= 0.065
    segmented = json.loads(
        runner.invoke(app, CASES["movements_2023-10_2024-06_segment.json"]).stdout
    )
    assert all(next(iter(r)) == "segment" for r in segmented)


def test_csv_format():
    result = runner.invoke(
        app, ["metrics", *INPUTS, "--end", "2024-06", "--by", "segment", "--format", "csv"]
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("start,end,window_months,currency,fx_mode,segment,starting_mrr")
    assert lines[1].split(",")[5] == "(all)"
    moves = runner.invoke(
        app, ["movements", *INPUTS, "--start", "2024-01", "--end", "2024-06", "--format", "csv"]
    ).stdout.splitlines()
    assert moves[0] == (
        "month,starting_mrr,fx,new,reactivation,expansion,contraction,churn,"
        "ending_mrr,active_customers"
    )
    assert len(moves) == 7


def test_table_output_adds_up_visibly():
    result = runner.invoke(app, ["metrics", *INPUTS, "--end", "2024-06", "--by", "segment"])
    assert result.exit_code == 0
    for label in (
        "Starting MRR",
        "+ Expansion",
        "- Contraction",
        "- Churn",
        "= Ending MRR",
        "106.95%",
        "93.03%",
        "By segment",
    ):
        assert label in result.stdout
    moves = runner.invoke(app, ["movements", *INPUTS, "--end", "2024-06"])
    assert "2023-07..2024-06" in moves.stdout and "= ending" in moves.stdout


def test_default_end_is_last_month_in_data():
    result = runner.invoke(app, ["metrics", *INPUTS, "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["end"] == "2024-06"
    assert "note: using --end 2024-06" in result.stderr


def test_console_script_runs_as_a_process():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nrr.cli",
            "metrics",
            *INPUTS,
            "--end",
            "2024-06",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["overall"]["nrr"] == 1.0695


def test_python_api_gives_the_cli_numbers():
    import nrr

    book = nrr.load(
        DATA / "subscriptions.csv", customers=DATA / "customers.csv", fx_rates=DATA / "fx_rates.csv"
    )
    frame = book.metrics("2024-06", window=12, by="segment")
    golden = json.loads((GOLDEN / "metrics_2024-06_w12_segment.json").read_text())
    assert frame.loc["(all)"].to_dict() == golden["overall"]
    for segment in golden["segments"]:
        name = segment.pop("segment")
        assert frame.loc[name].to_dict() == segment
    moves = book.movements("2023-01", "2024-06")
    assert moves.to_dict("records") == json.loads(
        (GOLDEN / "movements_2023-01_2024-06.json").read_text()
    )
