"""Where the metrics are computed: the embedded DuckDB (default), PostgreSQL, Spark, or any
engine Ibis reaches.

Reading and checking the inputs always happens in the embedded DuckDB, which names the file,
row and column of every problem. The checked tables (the subscription lines, the customers'
attributes, the health inputs) are then put into the engine, and every metric is computed
there by the same Ibis expressions, so each engine gives the same numbers to the cent.

    duckdb                          the default: in process, nothing to start
    postgresql://user@host:5432/db  PostgreSQL: temporary tables, bulk-loaded with COPY
    spark                           Apache Spark in local mode (`pip install nrr[spark]`, Java 17)
    any other URL                   `ibis.connect(url)`: Snowflake, BigQuery, Trino...

From Python, `engine=` also takes a connected Ibis backend, such as
`ibis.pyspark.connect(spark)` for an existing session on a Spark cluster.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import ibis.common.exceptions as ibis_errors
import ibis.expr.schema as sch
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends.duckdb import Backend as DuckDBBackend

from nrr import sqltext
from nrr.errors import InputError, Problem
from nrr.sources.sql import connect

__all__ = ["ENGINE_HELP", "Engine", "LocalDuckDB", "connect_local", "open_engine"]

ENGINE_HELP = (
    "Where to compute: duckdb (default, embedded), a PostgreSQL URL "
    "(postgresql://user@host:5432/db), spark (local mode; pip install nrr[spark]), or any "
    "other database URL Ibis knows."
)
_COPY_CHUNK = 1 << 20


@dataclass
class Engine:
    """A connected engine, and how to put a checked DuckDB table into it."""

    name: str
    backend: ibis.BaseBackend
    _scratch: Path | None = field(default=None, repr=False)

    def put(self, local: DuckDBBackend, table: ir.Table, prefix: str) -> ir.Table:
        """Copy `table` (computed in the embedded DuckDB `local`) into the engine."""
        name = ibis.util.gen_name(prefix)
        if self.name == "postgres":
            return _put_postgres(self.backend, local, table, name)
        if self.name == "pyspark":
            return _put_spark(self.backend, local, table, name, self._folder())
        return self.backend.create_table(name, table.to_pyarrow(), temp=True)

    def _folder(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="nrr-engine-"))
            atexit.register(shutil.rmtree, self._scratch, ignore_errors=True)
        return self._scratch


class LocalDuckDB(DuckDBBackend):
    """The embedded DuckDB, which reads a table's or a query's schema as Python values.

    Ibis's own backend reads every schema through Arrow, which imports pyarrow and numpy
    (0.15-0.2 s) into a command that otherwise never needs them: `nrr.fetch` reads results
    as Python values too. The schema is built exactly as Ibis builds it (ibis 12.0.0, which
    pyproject.toml pins)."""

    def get_schema(
        self, table_name: str, *, catalog: str | None = None, database: str | None = None
    ) -> sch.Schema:
        table = sg.table(table_name, db=database, catalog=catalog, quoted=self.compiler.quoted)
        try:
            rows = self.con.sql(sge.Describe(this=table).sql(self.dialect)).fetchall()
        except duckdb.CatalogException:
            raise ibis_errors.TableNotFound(table_name) from None
        return self._from_describe(rows)

    def _get_schema_using_query(self, query: str) -> sch.Schema:
        return self._from_describe(self.con.sql(f"DESCRIBE {query}").fetchall())

    def _from_describe(self, described: list[tuple]) -> sch.Schema:
        """The schema from DESCRIBE's rows: name, type, nullable (YES or NO) first."""
        mapper = self.compiler.type_mapper
        return sch.Schema(
            {row[0]: mapper.from_string(row[1], nullable=row[2] == "YES") for row in described}
        )


def connect_local(db: str | Path | None = None, *, read_only: bool = False) -> LocalDuckDB:
    """The embedded DuckDB: in memory, or the database file `db`."""
    if db is None:
        return LocalDuckDB().connect()
    return LocalDuckDB().connect(db, read_only=read_only)


def open_engine(engine: str | ibis.BaseBackend | None) -> Engine | None:
    """The engine `engine` names, connected; None for the embedded DuckDB."""
    if engine is None:
        return None
    if isinstance(engine, ibis.BaseBackend):
        return None if isinstance(engine, DuckDBBackend) else Engine(engine.name, engine)
    text = engine.strip()
    if text.lower() in ("", "duckdb"):
        return None
    if text.lower() == "spark":
        return Engine("pyspark", _local_spark())
    if "://" not in text:
        raise InputError(
            Problem(
                source="--engine",
                message=f"{text!r} is not an engine; use duckdb, spark or a database URL "
                "such as postgresql://user@host:5432/db",
            )
        )
    backend = connect(text)
    return Engine(backend.name, backend)


def _export(local: DuckDBBackend, table: ir.Table, path: Path, options: str) -> None:
    """Write `table` to `path` with DuckDB's COPY, at disk speed."""
    local.con.execute(
        f"COPY ({ibis.to_sql(table, dialect='duckdb')}) TO {sqltext.string(path.as_posix())} "
        f"({options})"
    )


def _put_postgres(
    backend: ibis.BaseBackend, local: DuckDBBackend, table: ir.Table, name: str
) -> ir.Table:
    """A temporary table loaded with COPY from a CSV file DuckDB writes (DESIGN.md: COPY, not
    row inserts). DuckDB writes NULL as an empty field and an empty text as "", which is
    exactly how PostgreSQL's CSV format tells them apart."""
    schema = table.schema()
    columns = ", ".join(
        column.sql(dialect="postgres") for column in schema.to_sqlglot_column_defs("postgres")
    )
    with tempfile.TemporaryDirectory(prefix="nrr-copy-") as folder:
        path = Path(folder) / f"{name}.csv"
        _export(local, table, path, "FORMAT csv, HEADER false")
        con = backend.con
        with con.cursor() as cursor, con.transaction():
            quoted = sqltext.identifier(name, "postgres")
            cursor.execute(f"CREATE TEMPORARY TABLE {quoted} ({columns})")
            names = ", ".join(sqltext.identifier(c, "postgres") for c in schema.names)
            with (
                cursor.copy(f"COPY {quoted} ({names}) FROM STDIN (FORMAT csv)") as pipe,
                path.open("rb") as handle,
            ):
                while chunk := handle.read(_COPY_CHUNK):
                    pipe.write(chunk)
    return backend.table(name)


def _put_spark(
    backend: ibis.BaseBackend, local: DuckDBBackend, table: ir.Table, name: str, folder: Path
) -> ir.Table:
    """A temporary view over a Parquet file DuckDB writes; Spark keeps the exact types."""
    path = folder / f"{name}.parquet"
    _export(local, table, path, "FORMAT parquet")
    session = backend._session
    session.read.parquet(path.as_posix()).createOrReplaceTempView(name)
    return backend.table(name)


def _local_spark() -> ibis.BaseBackend:
    """A local Spark session set up as DESIGN.md says (Java 17, loopback only, no UI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            Problem(
                source="--engine",
                message="spark needs PySpark and Java 17: install nrr's spark extra "
                "(from a clone: pip install -e '.[spark]')",
            )
        ) from None
    if not os.environ.get("JAVA_HOME"):
        # Spark 4.0 runs on Java 17; a newer JDK on the same machine breaks it.
        found = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk*"))
        if found:
            os.environ["JAVA_HOME"] = found[0]
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Spark's Python workers run this interpreter, with the packages nrr runs with.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse = tempfile.mkdtemp(prefix="nrr-spark-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    builder = (
        SparkSession.builder.master(os.environ.get("NRR_SPARK_MASTER", "local[*]"))
        .appName("nrr")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.shuffle.partitions", os.environ.get("NRR_SPARK_PARTITIONS", "2"))
        .config("spark.sql.session.timeZone", "UTC")
        # Small tables (rates, calendars) go in through Arrow, not row by row.
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Exact decimals: never round a result to fit 38 digits (fail instead).
        .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing or the wrong version
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            Problem(source="--engine", message=f"cannot start Spark (Java 17 needed): {first}")
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)
