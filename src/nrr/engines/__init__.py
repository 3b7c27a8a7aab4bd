"""The only code that talks to a database: one module per engine behind `base.Engine`.

    duckdb.py    the embedded DuckDB (the default)
    postgres.py  PostgreSQL through psycopg 3
    spark.py     a Spark session (local, a cluster's, or Spark Connect)
    dbapi.py     any other warehouse through a DB-API connection and its sqlglot dialect

Every statement an engine runs is rendered for its dialect by `nrr.sql`. psycopg and PySpark
are imported only when their engine is opened, so importing this package stays fast.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from nrr.engines.base import Engine, Rows
from nrr.errors import InputError, Problem

__all__ = ["Engine", "Rows", "open_engine"]

_NOT_AN_ENGINE = (
    "{spec!r} is not an engine; use duckdb, spark or a database URL such as "
    "postgresql://user@host:5432/db"
)


def open_engine(
    spec: Any = None, *, dialect: str | None = None, scratch: str | None = None
) -> Engine:
    """The engine `spec` names or holds, connected.

    `spec` is None or "duckdb" (the embedded DuckDB, in memory), "spark" (a local Spark
    session), a PostgreSQL URL, an `Engine`, or a connection the caller opened: DuckDB's,
    psycopg's, a SparkSession (a cluster's or Spark Connect), or any other DB-API connection
    together with its sqlglot `dialect` ("snowflake", "bigquery", "trino"...). A connection
    the caller opened stays open when the engine is closed. `scratch` names a schema nrr may
    create its tables in."""
    if isinstance(spec, Engine):
        return spec
    if spec is None or isinstance(spec, str):
        return _from_text((spec or "").strip(), scratch)
    module = type(spec).__module__
    if _is_duckdb(spec):
        from nrr.engines.duckdb import DuckDBEngine

        return DuckDBEngine(spec, scratch=scratch)
    if module.split(".")[0] == "psycopg" and isinstance(spec, sys.modules["psycopg"].Connection):
        from nrr.engines.postgres import PostgresEngine

        return PostgresEngine(spec, scratch=scratch)
    if module.split(".")[0] == "pyspark" and type(spec).__name__ == "SparkSession":
        from nrr.engines.spark import SparkEngine

        return SparkEngine(spec, scratch=scratch)
    if callable(getattr(spec, "cursor", None)):
        if dialect is None:
            raise InputError(
                Problem(
                    source="engine",
                    message=f"a {module} connection needs its SQL dialect: "
                    "open_engine(connection, dialect='snowflake'), or bigquery, trino...",
                )
            )
        from nrr.engines.dbapi import DBAPIEngine

        return DBAPIEngine(spec, dialect, scratch=scratch, temporary=True)
    raise InputError(
        Problem(source="--engine", message=_NOT_AN_ENGINE.format(spec=type(spec).__name__))
    )


def _from_text(text: str, scratch: str | None) -> Engine:
    lowered = text.lower()
    if lowered in ("", "duckdb"):
        from nrr.engines.duckdb import DuckDBEngine

        engine: Engine = DuckDBEngine.open()
        engine.scratch = scratch
        return engine
    if lowered == "spark":
        if importlib.util.find_spec("pyspark") is None:
            raise InputError(
                Problem(
                    source="--engine",
                    message="spark needs PySpark and Java 17: install nrr's spark extra "
                    "(from a clone: pip install -e '.[spark]')",
                )
            )
        from nrr.engines.spark import SparkEngine

        return SparkEngine.local(scratch=scratch)
    if lowered.startswith(("postgresql://", "postgres://")):
        from nrr.engines.postgres import PostgresEngine

        return PostgresEngine.open(text, scratch=scratch)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise InputError(
            Problem(
                source="--engine",
                message=f"{scheme}:// is not an engine nrr opens from a URL; use duckdb, spark "
                "or a database URL such as postgresql://user@host:5432/db (from Python, "
                "other warehouses: open_engine(connection, dialect=...))",
            )
        )
    raise InputError(Problem(source="--engine", message=_NOT_AN_ENGINE.format(spec=text)))


def _is_duckdb(spec: object) -> bool:
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(spec, duckdb.DuckDBPyConnection)
