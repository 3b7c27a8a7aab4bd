"""Every command has help and is documented; the README starts with the two commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrr.cli import app

ROOT = Path(__file__).parents[1]
COMMANDS = [
    "metrics",
    "movements",
    "methods",
    "rates",
    "trends",
    "cohorts",
    "impact",
    "owners",
    "causes",
    "whatif",
    "report",
    "serve",
    "health",
    "risks",
    "opportunities",
    "demo",
    "sql",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_and_docs(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout
    assert f"nrr {command}" in (ROOT / "docs" / "cli.md").read_text()


def test_health_backtest_has_help_and_docs():
    result = CliRunner().invoke(app, ["health", "backtest", "--help"])
    assert result.exit_code == 0 and "--horizon" in result.stdout
    assert "nrr health backtest" in (ROOT / "docs" / "cli.md").read_text()


def test_analysis_pages_are_linked_and_exist():
    index = (ROOT / "docs" / "analysis.md").read_text()
    for page in (
        "trends-and-cohorts.md",
        "impact-and-whatif.md",
        "causes-and-owners.md",
        "benchmarks.md",
    ):
        assert f"({page}" in index and (ROOT / "docs" / page).is_file(), page
    assert "(docs/analysis.md)" in (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_metric_docs_cover_every_output_key():
    text = (ROOT / "docs" / "metrics.md").read_text()
    for key in (
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
        "reactivation",
        "active_customers",
    ):
        assert f"`{key}`" in text, key
