"""A local Spark engine for the engine tests, one per test process.

``spark_engine`` (session fixture): the `nrr.engines.Engine` that ``--engine spark`` opens
(local mode, Java 17, settings from DESIGN.md). Skipped when PySpark is not installed (it is the
optional extra ``nrr[spark]``), or failed instead when ``NRR_REQUIRE_SPARK=1`` (``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from nrr.engines import Engine, open_engine

REQUIRE_ENV = "NRR_REQUIRE_SPARK"


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    if importlib.util.find_spec("pyspark") is None:
        reason = "PySpark is not installed (pip install -e '.[dev,spark]')"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Spark required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
        pytest.skip(reason)
    engine = open_engine("spark")
    yield engine
    engine.session.stop()  # type: ignore[attr-defined]
