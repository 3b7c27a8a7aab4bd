"""Apache Spark: a local session, a cluster's session, or Spark Connect.

Spark has no temporary tables. A result nrr keeps is a temporary view that is cached at once
(`CACHE TABLE name AS query`), so it is computed one time and read from memory afterwards; with
a scratch schema it is a table there instead. Files are read by Spark itself (on a cluster, by
its executors), never row by row through Python.

PySpark is an optional extra: this module imports it, so `nrr.engines.open_engine` imports
this module only when Spark is asked for (and says how to install it when it is missing).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlglot.expressions as sge
from pyspark.errors import PySparkException
from pyspark.sql import types as st

from nrr.engines import columns as cols
from nrr.engines.base import Engine, Rows
from nrr.errors import InputError, InternalError, Problem

__all__ = ["SparkEngine"]

# What a failed Spark statement raises: PySpark's own errors, and in a classic (not Spark
# Connect) session a Java error that PySpark does not translate, such as a failed read.
_FAILURES: tuple[type[Exception], ...] = (PySparkException,)
try:
    from py4j.protocol import Py4JJavaError
except ImportError:  # the Spark Connect client alone has no py4j
    pass
else:
    _FAILURES = (PySparkException, Py4JJavaError)

_T = sge.DataType.Type
_TEXT = {_T.VARCHAR, _T.CHAR, _T.NVARCHAR, _T.NCHAR, _T.TEXT}
_SIMPLE: dict[sge.DataType.Type, type[st.DataType]] = {
    _T.BIGINT: st.LongType,
    _T.INT: st.IntegerType,
    _T.SMALLINT: st.ShortType,
    _T.TINYINT: st.ByteType,
    _T.BOOLEAN: st.BooleanType,
    _T.DATE: st.DateType,
    _T.TIMESTAMP: st.TimestampType,
    _T.TIMESTAMPLTZ: st.TimestampType,
    _T.TIMESTAMPTZ: st.TimestampType,
    _T.TIMESTAMPNTZ: st.TimestampNTZType,
    _T.DOUBLE: st.DoubleType,
    _T.FLOAT: st.FloatType,
}


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self, session: Any, *, scratch: str | None = None, owned: bool = False) -> None:
        super().__init__(scratch)
        self.session = session
        self._owned = owned

    @classmethod
    def local(cls, *, scratch: str | None = None) -> SparkEngine:
        """A local Spark session set up as DESIGN.md says (Java 17, loopback only, no UI).
        A session already running in this process is used as it is (there can be one)."""
        from pyspark.sql import SparkSession

        running = SparkSession.getActiveSession()
        if running is not None:
            return cls(running, scratch=scratch)
        return cls(_start_local(), scratch=scratch, owned=True)

    def execute(self, sql: str) -> None:
        # Spark runs a command (CREATE, CACHE, DROP) when the statement is parsed.
        self.session.sql(sql)

    def fetch(self, sql: str) -> Rows:
        frame = self.session.sql(sql)
        # Row is a tuple already; DecimalType arrives as Decimal, DateType as date.
        return Rows(tuple(frame.columns), [tuple(row) for row in frame.collect()])

    def keep(self, name: str, sql: str) -> None:
        if self.scratch is not None:
            super().keep(name, sql)
        else:
            # CACHE TABLE is eager: the query runs now, once, and later reads hit memory.
            self.execute(f"CACHE TABLE {self.quote(name)} AS {sql}")

    def drop(self, name: str) -> None:
        if self.scratch is not None:
            super().drop(name)
            return
        view = self.quote(name)
        self.execute(f"UNCACHE TABLE IF EXISTS {view}")
        self.execute(f"DROP VIEW IF EXISTS {view}")

    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        frame = self.session.createDataFrame([tuple(r) for r in rows], _schema(columns))
        self._register(name, frame, cache=False)

    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        """The CSV file `path` as RFC 4180 writes it: a doubled quote inside a quoted field,
        fields that span lines. An empty field is NULL, and so is a quoted empty field ("").
        A line with more or fewer fields than `columns` stops the load (FAILFAST) instead of
        being padded or cut."""
        reader = self.session.read.options(
            header=True, escape='"', multiLine=True, mode="FAILFAST", encoding="UTF-8"
        )
        try:
            frame = reader.csv(path.absolute().as_posix(), schema=_schema(columns))
            self._register(name, frame, cache=True)
        except _FAILURES as exc:
            with contextlib.suppress(*_FAILURES):
                self.drop(name)
            raise InputError(
                Problem(source=str(path), message=f"Spark cannot read it: {_cause(exc)}")
            ) from None

    def load_parquet(self, name: str, path: Path) -> None:
        """The Parquet file `path` (nrr's own, written by DuckDB), with its exact types."""
        self._register(name, self.session.read.parquet(path.absolute().as_posix()), cache=True)

    def _register(self, name: str, frame: Any, *, cache: bool) -> None:
        """`frame` as the table `name`: a table in the scratch schema, or a temporary view,
        cached when reading it again would cost (a file)."""
        table = self.quote(name)
        if self.scratch is not None:
            frame.write.saveAsTable(table)
            return
        frame.createOrReplaceTempView(table)
        if cache:
            self.execute(f"CACHE TABLE {table}")

    def close(self) -> None:
        if self._owned:
            self.session.stop()


def _schema(columns: Sequence[tuple[str, str]]) -> st.StructType:
    return st.StructType([st.StructField(c, _spark_type(t)) for c, t in columns])


def _spark_type(sql_type: str) -> st.DataType:
    """The PySpark type of the Spark SQL type `sql_type` (DECIMAL(38, 18), BIGINT, STRING...)."""
    parsed = cols.column_type(sql_type, "spark")
    if parsed.this == _T.DECIMAL:
        params = [int(p.name) for p in parsed.expressions]
        return st.DecimalType(*params) if params else st.DecimalType(10, 0)
    if parsed.this in _TEXT:
        return st.StringType()
    simple = _SIMPLE.get(parsed.this)
    if simple is None:
        raise InternalError(f"no Spark column type for {sql_type!r}")
    return simple()


def _cause(exc: BaseException) -> str:
    """What went wrong at the root: a failed read surfaces as a Java exception whose own
    message only says which call failed, and whose innermost cause says why."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return _first_line(exc)
    while java.getCause() is not None:
        java = java.getCause()
    message = str(java.getMessage() or "").strip()
    return message.splitlines()[0] if message else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _start_local() -> Any:
    """A new local session: the settings of DESIGN.md, "Dependencies"."""
    from pyspark.sql import SparkSession

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
        raise InputError(
            Problem(
                source="--engine",
                message=f"cannot start Spark (Java 17 needed): {_first_line(exc)}",
            )
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session
