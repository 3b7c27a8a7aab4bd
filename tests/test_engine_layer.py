"""The engine layer (`nrr.engines`) on real engines: the embedded DuckDB, a throwaway
PostgreSQL, Spark in local mode, and DB-API connections (DuckDB's own, sqlite3, psycopg).

The same scenario runs on each: small tables in with NULLs and quotes, a CSV file in, a result
kept and read back with its decimals exact to the 18th place, dropped, and names quoted.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from nrr.engines import Engine, open_engine
from nrr.engines.dbapi import DBAPIEngine
from nrr.engines.duckdb import DuckDBEngine
from nrr.engines.postgres import PostgresEngine
from nrr.errors import InputError

BIG = Decimal("123456789012.123456789012345678")
TINY = Decimal("-0.000000000000000001")
TOTAL = Decimal("123456789012.123456789012345677")  # BIG + TINY, past Python's 28 digits
# Quotes, a comma, a tab, a line break and PostgreSQL's text-format NULL marker, as text.
QUOTED = 'O\'Brien "the" one, Ltd.\t\n\\N'
ROWS: list[tuple[Any, ...]] = [
    (BIG, 9_007_199_254_740_993, QUOTED, True),  # 2^53 + 1: no float on the way
    (TINY, -1, "", False),  # an empty text is not NULL
    (None, None, None, None),
]
# Spark reads VARCHAR as its STRING; every other engine here has VARCHAR.
COLUMNS = [
    ("amount", "DECIMAL(38, 18)"),
    ("n", "BIGINT"),
    ("label", "VARCHAR"),
    ("flag", "BOOLEAN"),
]
CSV_TEXT = (
    "id,name,note\n"
    '1,"Smith, ""Jr""",\n'  # a comma and doubled quotes in a field; an empty last field
    '2,"",x\n'  # a quoted empty field
    '3,"two\nlines",  y \n'  # a line break inside quotes; spaces kept
    '4,plain,"a,b"\n'
)
# A quoted empty field ("") is an empty text in PostgreSQL's CSV format (COPY tells it from an
# unquoted empty field, which is NULL); DuckDB's reader, Spark's reader and Python's csv module
# (the DB-API engine) read both as NULL.
QUOTED_EMPTY = {"postgres": "", "duckdb": None, "spark": None, "dbapi-duckdb": None}
ENGINES = list(QUOTED_EMPTY)
TEXT_COLUMNS = [("id", "TEXT"), ("name", "TEXT"), ("note", "TEXT")]
SPARK_REQUIRED = "NRR_REQUIRE_SPARK"


@pytest.fixture(scope="session")
def spark_layer() -> Iterator[Engine]:
    """One local Spark for the session (a process holds one), or the one running already."""
    if importlib.util.find_spec("pyspark") is None:
        reason = "PySpark is not installed (pip install -e '.[dev,spark]')"
        if os.environ.get(SPARK_REQUIRED) == "1":
            pytest.fail(f"Spark required ({SPARK_REQUIRED}=1) but {reason}", pytrace=False)
        pytest.skip(reason)
    from nrr.engines.spark import SparkEngine

    engine = SparkEngine.local()
    yield engine
    engine.close()  # stops Spark only if this fixture started it


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    kind: str = request.param
    if kind == "spark":
        yield request.getfixturevalue("spark_layer")
        return
    if kind == "postgres":
        made: Engine = PostgresEngine.open(request.getfixturevalue("postgres_db"))
    elif kind == "duckdb":
        made = DuckDBEngine.open()
    else:
        made = DBAPIEngine(duckdb.connect(), "duckdb")
    yield made
    made.close()
    if isinstance(made, DBAPIEngine):
        made.con.close()


def _kind(engine: Engine) -> str:
    return "dbapi-duckdb" if isinstance(engine, DBAPIEngine) else engine.name


def _text(engine: Engine) -> str:
    return "STRING" if engine.dialect == "spark" else "VARCHAR"


def _engine_errors() -> tuple[type[Exception], ...]:
    """What the engines raise for a statement that fails: each its own error."""
    errors: tuple[type[Exception], ...] = (duckdb.Error, psycopg.Error)
    if importlib.util.find_spec("pyspark") is not None:
        from pyspark.errors import PySparkException

        errors += (PySparkException,)
    return errors


def _csv(folder: Path, text: str = CSV_TEXT) -> Path:
    path = folder / "in it's folder.csv"
    path.write_bytes(text.encode())
    return path


def test_rows_in_and_back_exactly(engine: Engine) -> None:
    table = engine.fresh_name("rows")
    engine.load_rows(table, COLUMNS, ROWS)
    got = engine.fetch(
        f"SELECT amount, n, label, flag FROM {engine.quote(table)} ORDER BY n DESC NULLS LAST"
    )
    assert got.columns == ("amount", "n", "label", "flag")
    assert got.rows == ROWS
    assert [type(v) for v in got.rows[0]] == [Decimal, int, str, bool]
    assert str(got.rows[0][0]) == "123456789012.123456789012345678"


def test_no_rows_makes_an_empty_table(engine: Engine) -> None:
    table = engine.fresh_name("empty")
    engine.load_rows(table, COLUMNS, [])
    assert engine.fetch(f"SELECT COUNT(*) AS n FROM {engine.quote(table)}").rows == [(0,)]


def test_keep_fetch_and_drop(engine: Engine) -> None:
    rows, kept = engine.fresh_name("rows"), engine.fresh_name("kept")
    engine.load_rows(rows, COLUMNS, ROWS)
    query = (
        f"SELECT amount + amount AS doubled, label FROM {engine.quote(rows)} "
        "WHERE amount IS NOT NULL"
    )
    engine.keep(kept, query)
    got = engine.fetch(f"SELECT doubled, label FROM {engine.quote(kept)} ORDER BY doubled")
    assert got.rows == [
        (Decimal("-0.000000000000000002"), ""),
        (Decimal("246913578024.246913578024691356"), QUOTED),
    ]
    engine.drop(kept)
    engine.drop(kept)  # dropping what is gone is no error
    # The name is free again: keeping under it would fail if the first result were still there.
    engine.keep(kept, f"SELECT n FROM {engine.quote(rows)} WHERE n = -1")
    assert engine.fetch(f"SELECT n FROM {engine.quote(kept)}").rows == [(-1,)]
    engine.drop(kept)


def test_a_kept_name_is_not_kept_twice(engine: Engine) -> None:
    name = engine.fresh_name("once")
    engine.keep(name, "SELECT 1 AS one")
    with pytest.raises(_engine_errors()):
        engine.keep(name, "SELECT 2 AS one")
    assert engine.fetch(f"SELECT one FROM {engine.quote(name)}").rows == [(1,)]
    engine.drop(name)


def test_csv_file_with_quotes_commas_and_empty_fields(engine: Engine, tmp_path: Path) -> None:
    table = engine.fresh_name("file")
    text = _text(engine)
    engine.load_file(table, _csv(tmp_path), [("id", text), ("name", text), ("note", text)])
    got = engine.fetch(f"SELECT id, name, note FROM {engine.quote(table)} ORDER BY id")
    assert got.rows == [
        ("1", 'Smith, "Jr"', None),
        ("2", QUOTED_EMPTY[_kind(engine)], "x"),
        ("3", "two\nlines", "  y "),
        ("4", "plain", "a,b"),
    ]
    engine.drop(table)


def test_odd_names_are_quoted(engine: Engine, tmp_path: Path) -> None:
    name = f'we"ird {engine.fresh_name("name")}'
    quoted = engine.quote(name)
    mark = "`" if engine.dialect == "spark" else '"'
    inner = name if engine.dialect == "spark" else name.replace('"', '""')
    assert quoted == f"{mark}{inner}{mark}"
    engine.load_rows(name, [('col"umn', "BIGINT")], [(7,)])
    got = engine.fetch(f"SELECT * FROM {quoted}")
    assert got.columns == ('col"umn',) and got.rows == [(7,)]
    engine.drop(name)


@pytest.mark.parametrize("kind", ["postgres", "spark", "dbapi-duckdb"])
@pytest.mark.parametrize(
    "line", ["5,short\n", "5,too,many,fields\n"], ids=["too few fields", "too many fields"]
)
def test_a_malformed_csv_line_stops_the_load(
    request: pytest.FixtureRequest, kind: str, line: str, tmp_path: Path
) -> None:
    """A line with the wrong number of fields is an input error naming the file, never padded
    with NULLs or cut; and no half-loaded table is left under the name."""
    if kind == "spark":
        engine: Engine = request.getfixturevalue("spark_layer")
    elif kind == "postgres":
        engine = PostgresEngine.open(request.getfixturevalue("postgres_db"))
    else:
        engine = DBAPIEngine(duckdb.connect(), "duckdb")
    path = _csv(tmp_path, CSV_TEXT + line)
    table = engine.fresh_name("bad")
    text = _text(engine)
    with pytest.raises(InputError) as caught:
        engine.load_file(table, path, [("id", text), ("name", text), ("note", text)])
    problem = caught.value.problems[0]
    assert problem.source == str(path)
    if kind != "spark":  # Spark names the record, not its line
        assert problem.row == 6
    engine.keep(table, "SELECT 1 AS one")  # the name is free
    engine.drop(table)
    if kind != "spark":
        engine.close()


def test_postgres_csv_error_names_line_and_column(postgres_db: str, tmp_path: Path) -> None:
    engine = PostgresEngine.open(postgres_db)
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"id,name\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError) as caught:
        engine.load_file("t", path, [("id", "TEXT"), ("name", "TEXT")])
    assert caught.value.problems[0].source == str(path)
    assert caught.value.problems[0].row == 3
    assert "UTF8" in caught.value.problems[0].message
    engine.close()


def test_postgres_scratch_schema(postgres_db: str, tmp_path: Path) -> None:
    with psycopg.connect(postgres_db, autocommit=True) as con:
        con.execute('CREATE SCHEMA "nrr scratch"')
        engine = PostgresEngine(con, scratch="nrr scratch")
        engine.load_rows("rows", COLUMNS, ROWS)
        engine.keep("kept", f"SELECT SUM(amount) AS total FROM {engine.quote('rows')}")
        engine.load_file("file", _csv(tmp_path), TEXT_COLUMNS)
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'nrr scratch' ORDER BY 1"
        ).fetchall()
        assert tables == [("file",), ("kept",), ("rows",)]
        assert engine.fetch(f"SELECT total FROM {engine.quote('kept')}").rows == [(TOTAL,)]
        engine.close()  # the caller's connection stays open
        assert not con.closed


def test_postgres_connection_is_only_closed_when_opened(postgres_db: str) -> None:
    opened = PostgresEngine.open(postgres_db)
    opened.close()
    assert opened.con.closed


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nrr:s3cr%3Et@127.0.0.1:1/db",  # nothing listens on port 1
        "postgresql://nrr:s3cr>t@[bad/db",  # not a URL psycopg can parse (it echoes it)
        "postgres://nrr:s3cr>t@127.0.0.1:5432/db?sslmode=bogus",
    ],
)
def test_a_bad_postgres_url_is_one_line_without_the_password(url: str) -> None:
    with pytest.raises(InputError) as caught:
        open_engine(url)
    message = str(caught.value)
    assert message.startswith("--engine: cannot connect to PostgreSQL at ")
    assert "\n" not in message
    assert "s3cr" not in message and "***" in message


def test_postgres_connection_given_by_the_caller(postgres_db: str) -> None:
    with psycopg.connect(postgres_db, autocommit=True) as con:
        engine = open_engine(con)
        assert isinstance(engine, PostgresEngine) and engine.con is con
        assert engine.fetch("SELECT 1::bigint AS one, '50%' AS pct").rows == [(1, "50%")]
        engine.close()
        assert not con.closed


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nonsense", "--engine: 'nonsense' is not an engine; use duckdb, spark or a database URL"),
        ("mysql://me:pw@host/db", "--engine: mysql:// is not an engine nrr opens from a URL"),
        (object(), "--engine: 'object' is not an engine; use duckdb, spark or a database URL"),
    ],
)
def test_what_is_not_an_engine(spec: Any, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        open_engine(spec)
    assert str(caught.value).startswith(expected)
    assert "pw" not in str(caught.value)


def test_open_engine_names_and_connections() -> None:
    for spec in (None, "duckdb", " DuckDB "):
        engine = open_engine(spec)
        assert isinstance(engine, DuckDBEngine) and engine._owned
        engine.close()
    con = duckdb.connect()
    given = open_engine(con)
    assert isinstance(given, DuckDBEngine) and given.con is con
    given.close()
    assert con.execute("SELECT 1").fetchall() == [(1,)]  # still open
    assert open_engine(given) is given


def test_a_dbapi_connection_needs_a_known_dialect() -> None:
    con = sqlite3.connect(":memory:")
    with pytest.raises(InputError, match="needs its SQL dialect"):
        open_engine(con)
    with pytest.raises(InputError, match="'nope' is not a SQL dialect"):
        open_engine(con, dialect="nope")
    engine = open_engine(con, dialect="sqlite")
    assert isinstance(engine, DBAPIEngine) and engine.paramstyle == "qmark"
    con.close()


def test_importing_the_engines_imports_no_driver() -> None:
    """psycopg and PySpark are imported only when their engine is opened."""
    code = "import sys, nrr.engines; print(sorted({'psycopg', 'pyspark'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert done.stdout.strip() == "[]"


# DB-API: sqlite3 (qmark, named, numeric) and psycopg (pyformat, format). SQLite keeps a DECIMAL
# as a 15-digit REAL, so its scenario has no decimals: it checks the plumbing, not the money.
SQLITE_COLUMNS = [("n", "BIGINT"), ("label", "VARCHAR"), ("flag", "BOOLEAN")]
SQLITE_ROWS: list[tuple[Any, ...]] = [(9_007_199_254_740_993, QUOTED, 1), (-1, "", 0), (None,) * 3]


@pytest.mark.parametrize("paramstyle", [None, "named", "numeric"])
def test_dbapi_over_sqlite(paramstyle: str | None, tmp_path: Path) -> None:
    con = sqlite3.connect(":memory:")
    engine = DBAPIEngine(con, "sqlite", paramstyle=paramstyle)
    assert engine.paramstyle == (paramstyle or "qmark")
    engine.load_rows("rows", SQLITE_COLUMNS, SQLITE_ROWS)
    got = engine.fetch(f"SELECT n, label, flag FROM {engine.quote('rows')} ORDER BY n DESC")
    assert got.rows == sorted(SQLITE_ROWS, key=lambda r: r[0] is None)
    engine.keep("kept", "SELECT label FROM rows WHERE n > 0")
    assert engine.fetch("SELECT label FROM kept").rows == [(QUOTED,)]
    engine.drop("kept")
    engine.load_file("file", _csv(tmp_path), TEXT_COLUMNS)
    assert engine.fetch("SELECT name FROM file WHERE id = '1'").rows == [('Smith, "Jr"',)]
    # Both are temporary tables, gone with the connection.
    assert con.execute("SELECT name FROM sqlite_temp_master ORDER BY name").fetchall() == [
        ("file",),
        ("rows",),
    ]
    con.close()


def test_dbapi_without_temporary_tables_needs_a_scratch_schema(tmp_path: Path) -> None:
    con = sqlite3.connect(":memory:")
    engine = DBAPIEngine(con, "sqlite", temporary=False)
    for step in (
        lambda: engine.keep("kept", "SELECT 1 AS one"),
        lambda: engine.load_rows("rows", SQLITE_COLUMNS, SQLITE_ROWS),
    ):
        with pytest.raises(InputError, match="name a scratch schema"):
            step()
    assert con.execute("SELECT COUNT(*) FROM sqlite_master").fetchall() == [(0,)]
    scratch = DBAPIEngine(con, "sqlite", temporary=False, scratch="main")
    scratch.keep("kept", "SELECT 1 AS one")
    scratch.load_rows("rows", SQLITE_COLUMNS, SQLITE_ROWS)
    names = con.execute("SELECT name FROM main.sqlite_master ORDER BY name").fetchall()
    assert names == [("kept",), ("rows",)]
    con.close()


def test_dbapi_csv_without_header_or_not_utf8(tmp_path: Path) -> None:
    engine = DBAPIEngine(sqlite3.connect(":memory:"), "sqlite")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="no header row"):
        engine.load_file("t", empty, [("a", "TEXT")])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a\ncaf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        engine.load_file("t", latin, [("a", "TEXT")])
    missing = tmp_path / "missing.csv"
    with pytest.raises(InputError, match="cannot read the file"):
        engine.load_file("t", missing, [("a", "TEXT")])
    engine.keep("t", "SELECT 1 AS one")  # no failed load left a table behind


@pytest.mark.parametrize("paramstyle", [None, "format"])
def test_dbapi_over_psycopg(postgres_db: str, paramstyle: str | None, tmp_path: Path) -> None:
    """psycopg's module says pyformat (`%(name)s`); it takes format (`%s`) too. The
    connection is not in autocommit: the engine commits its own tables."""
    with psycopg.connect(postgres_db) as con:
        engine = DBAPIEngine(con, "postgres", paramstyle=paramstyle)
        assert engine.paramstyle == (paramstyle or "pyformat")
        engine.load_rows("rows", COLUMNS, ROWS)
        got = engine.fetch("SELECT amount, n, label, flag FROM rows ORDER BY n DESC NULLS LAST")
        assert got.rows == ROWS
        with pytest.raises(psycopg.Error):
            engine.execute("SELECT * FROM no_such_table")
        # A failed statement was rolled back, so the connection still works.
        engine.keep("kept", "SELECT SUM(amount) AS total FROM rows")
        assert engine.fetch("SELECT total FROM kept").rows == [(TOTAL,)]
        engine.load_file("file", _csv(tmp_path), TEXT_COLUMNS)
        assert engine.fetch("SELECT COUNT(*) FROM file").rows == [(4,)]


# Spark only.


def test_spark_keep_is_computed_once(spark_layer: Engine) -> None:
    """CACHE TABLE: the kept result is in memory, and a query on it reads the cache."""
    name = spark_layer.fresh_name("cached")
    spark_layer.keep(name, "SELECT id FROM range(5)")
    session = spark_layer.session  # type: ignore[attr-defined]
    assert session.catalog.isCached(name)
    spark_layer.drop(name)
    assert not session.catalog.tableExists(name)


def test_spark_session_given_by_the_caller(spark_layer: Engine) -> None:
    session = spark_layer.session  # type: ignore[attr-defined]
    engine = open_engine(session)
    assert engine.name == "spark" and engine.session is session  # type: ignore[attr-defined]
    engine.close()  # not ours to stop
    assert engine.fetch("SELECT 1 AS one").rows == [(1,)]


def test_spark_scratch_schema(spark_layer: Engine, tmp_path: Path) -> None:
    from nrr.engines.spark import SparkEngine

    session = spark_layer.session  # type: ignore[attr-defined]
    schema = spark_layer.fresh_name("scratch")
    session.sql(f"CREATE DATABASE `{schema}`")
    try:
        engine = SparkEngine(session, scratch=schema)
        engine.load_rows("rows", COLUMNS, ROWS)
        engine.keep("kept", f"SELECT SUM(amount) AS total FROM {engine.quote('rows')}")
        engine.load_file("file", _csv(tmp_path), [(c, "STRING") for c in ("id", "name", "note")])
        tables = sorted(t.name for t in session.catalog.listTables(schema) if not t.isTemporary)
        assert tables == ["file", "kept", "rows"]
        assert engine.fetch(f"SELECT total FROM {engine.quote('kept')}").rows == [(TOTAL,)]
        engine.drop("kept")
        assert not session.catalog.tableExists(f"{schema}.kept")
    finally:
        session.sql(f"DROP DATABASE IF EXISTS `{schema}` CASCADE")
