"""The health score and its backtest on Spark equal DuckDB's: the statements of
`sql/health/` run in Spark's dialect (dates, booleans, decimals summed then read as doubles)
give the same rows. PostgreSQL's check is tests/test_engines.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import nrr
from nrr.datasets import generate_demo, write_demo
from nrr.health.backtest import backtest
from nrr.health.inputs import HEALTH_INPUTS
from tests.spark import spark_engine  # noqa: F401


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    return write_demo(generate_demo(seed=11, customers=120), folder)


def test_health_scores_and_backtest_on_spark_equal_duckdbs(
    spark_engine,  # noqa: F811
    demo: dict[str, Path],
) -> None:
    inputs = {role: demo[f"{role}.csv"] for role in ("customers", "fx_rates", *HEALTH_INPUTS)}
    found = []
    for engine in (None, spark_engine):
        book = nrr.load(demo["subscriptions.csv"], **inputs, engine=engine)
        health = book.health("2025-06-01")
        tested = backtest(book, "2025-01-01", horizon=3)
        # Every measure, not only the rounded scores: floats to their last digit, the MRR as
        # exact decimals, stakeholders' names and days.
        found.append(
            (
                health.customers.astype(str).to_json(),
                tested.customers.astype(str).to_json(),
                tested.tiers,
            )
        )
    (embedded, remote) = found
    assert remote == embedded
    assert len(tested.customers) > 50  # a real cohort, not an empty one
