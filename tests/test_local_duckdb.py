"""The embedded DuckDB reads schemas as Python values, and gets the ones Ibis's backend gets."""

from __future__ import annotations

import duckdb
import ibis
import ibis.common.exceptions as ibis_errors
import pytest

from nrr.engine import LocalDuckDB, connect_local

_TABLE = """
CREATE TABLE t (
    id VARCHAR NOT NULL, amount DECIMAL(20, 8), money DECIMAL(38, 18), big HUGEINT,
    n BIGINT NOT NULL, small SMALLINT, r REAL, d DOUBLE, flag BOOLEAN, day DATE,
    seen TIMESTAMP, tags VARCHAR[], pair STRUCT(a INTEGER, b VARCHAR), blob BLOB
)
"""


@pytest.fixture
def both(tmp_path):
    path = str(tmp_path / "t.duckdb")
    with duckdb.connect(path) as con:
        con.execute(_TABLE)
    ours = connect_local(path, read_only=True)
    theirs = ibis.duckdb.connect(path, read_only=True)
    yield ours, theirs
    ours.disconnect()
    theirs.disconnect()


def test_a_table_has_the_schema_ibis_gives_it(both):
    ours, theirs = both
    assert isinstance(ours, LocalDuckDB)
    assert ours.table("t").schema() == theirs.table("t").schema()
    assert ours.table("t").schema()["id"].nullable is False


def test_a_query_has_the_schema_ibis_gives_it(both):
    ours, theirs = both
    query = "SELECT id, amount * 2 AS twice, sum(big) OVER () AS total, day + 1 AS next FROM t"
    assert ours.sql(query).schema() == theirs.sql(query).schema()


def test_a_missing_table_is_named(both):
    ours, _ = both
    with pytest.raises(ibis_errors.TableNotFound, match="nowhere"):
        ours.table("nowhere")


def test_in_memory_by_default():
    con = connect_local()
    con.raw_sql("CREATE TEMP TABLE x AS SELECT 1::DECIMAL(9, 2) AS v")
    assert con.table("x").schema() == ibis.schema({"v": "decimal(9, 2)"})
