"""The only code that talks to a database: one module per engine behind `base.Engine`.

    duckdb.py    the embedded DuckDB (the default)
    postgres.py  PostgreSQL through psycopg 3
    spark.py     a Spark session (local, a cluster's, or Spark Connect)
    dbapi.py     any other warehouse through a DB-API connection and its sqlglot dialect

Every statement an engine runs is rendered for its dialect by `nrr.sql`."""

from nrr.engines.base import Engine, Rows

__all__ = ["Engine", "Rows"]
