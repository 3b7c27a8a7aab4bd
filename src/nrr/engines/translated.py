"""The intake's checks run inside another engine: statements written in DuckDB's dialect (as
every check of `nrr.validate`, `nrr.customers`, `nrr.screen` and the adapters is), each
translated by sqlglot for the engine it runs on, PostgreSQL or Spark.

When the inputs already live in the engine the metrics run on (`--url` and `--engine` naming
one PostgreSQL database, or `--engine spark` and tables of its session), checking them there
means no input row leaves it: only the counts, the problems (bounded) and the results come
back (issue 22). What the checks need that the engine lacks, or does another way, is
rewritten here: PostgreSQL has no `TRY_CAST` (a value that is not a number or a date becomes
NULL, which a check then flags), so it becomes a call of a function nrr creates for its
session only (`pg_temp`), which returns NULL where the cast would fail; Spark's `TRY_CAST`
reads an underscore between digits and a whole number written `12.0` otherwise than DuckDB;
and a few date and text functions sqlglot writes as neither has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlglot
import sqlglot.expressions as sge

from nrr.engines.base import Engine, Rows
from nrr.errors import InternalError

__all__ = ["Translated"]

# Session functions (pg_temp: gone with the connection) for TRY_CAST on PostgreSQL, reading
# text as DuckDB's TRY_CAST does: NULL for what is not a finite number or a date, and for a
# number with more integer digits than its type holds (where the cast would fail).
_POSTGRES_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION pg_temp.nrr_try_numeric(value TEXT, digits INTEGER, places INTEGER)
RETURNS NUMERIC LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parsed NUMERIC;
BEGIN
    -- DuckDB reads an underscore between two digits as a digit separator: so does this.
    IF value !~ '(^|[^0-9])_|_($|[^0-9])' THEN
        value := REPLACE(value, '_', '');
    END IF;
    parsed := CAST(value AS NUMERIC);
    IF parsed = 'NaN' OR parsed = 'Infinity' OR parsed = '-Infinity' THEN
        RETURN NULL;
    END IF;
    parsed := ROUND(parsed, places);
    IF ABS(parsed) >= CAST(10 AS NUMERIC) ^ digits THEN
        RETURN NULL;
    END IF;
    RETURN parsed;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$
""",
    """
CREATE OR REPLACE FUNCTION pg_temp.nrr_try_date(value TEXT)
RETURNS DATE LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CAST(value AS DATE);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$
""",
)


class Translated(Engine):
    """`inner` (PostgreSQL), running statements written in DuckDB's dialect."""

    dialect = "duckdb"

    def __init__(self, inner: Engine) -> None:
        super().__init__(inner.scratch)
        if inner.dialect not in ("postgres", "spark"):
            raise InternalError(f"the checks do not run inside {inner.name} yet")
        self.inner = inner
        self.name = inner.name
        self.temporary = inner.temporary
        if inner.dialect == "postgres":
            for function in _POSTGRES_FUNCTIONS:
                inner.execute(function)

    def translate(self, sql: str) -> str:
        """`sql` (DuckDB's dialect) in the inner engine's."""
        tree = sqlglot.parse_one(sql, read="duckdb")
        postgres = self.inner.dialect == "postgres"
        tree = tree.transform(_postgres_functions if postgres else _spark_functions)
        return tree.transform(_safe_casts if postgres else _spark_casts).sql(self.inner.dialect)

    def execute(self, sql: str) -> None:
        self.inner.execute(self.translate(sql))

    def fetch(self, sql: str) -> Rows:
        return self.inner.fetch(self.translate(sql))

    def keep(self, name: str, sql: str) -> None:
        self.inner.keep(name, self.translate(sql))

    def drop(self, name: str) -> None:
        self.inner.drop(name)

    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.inner.load_rows(name, columns, rows)

    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        self.inner.load_file(name, path, columns)


def _safe_casts(node: sge.Expression) -> sge.Expression:
    """TRY_CAST as PostgreSQL can run it: through the session functions above."""
    if not isinstance(node, sge.TryCast):
        return node
    target = node.to
    if target.is_type(sge.DataType.Type.DATE):
        return _call("nrr_try_date", node.this)
    if target.is_type(sge.DataType.Type.DECIMAL):
        precision, scale = (int(e.name) for e in target.expressions)
        digits, places = sge.Literal.number(precision - scale), sge.Literal.number(scale)
        return sge.Cast(this=_call("nrr_try_numeric", node.this, digits, places), to=target)
    if target.is_type(sge.DataType.Type.BIGINT):
        # nrr casts numbers it has checked to be whole: as text, read as a whole number.
        text = sge.Cast(this=node.this, to=sge.DataType.build("TEXT"))
        whole = _call("nrr_try_numeric", text, sge.Literal.number(19), sge.Literal.number(0))
        return sge.Cast(this=whole, to=target)
    raise InternalError(f"no TRY_CAST to {target.sql()} inside PostgreSQL yet")


def _postgres_functions(node: sge.Expression) -> sge.Expression:
    """DuckDB's functions that sqlglot writes as PostgreSQL lacks them: MAKE_DATE (written
    DATE_FROM_PARTS), a date plus a number of days (TO_DAYS: a date plus an integer, which
    stays a date), REGEXP_EXTRACT of a group (SUBSTRING by a pattern, '' when none matches,
    as DuckDB gives) and FIRST (the least: nrr takes it only of values that are all the
    same, functions of the grouping key)."""
    if isinstance(node, sge.DateFromParts):
        parts = [
            sge.Cast(this=node.args[k].transform(_postgres_functions), to=_int())
            for k in ("year", "month", "day")
        ]
        return sge.Anonymous(this="MAKE_DATE", expressions=parts)
    if isinstance(node, sge.Add) and isinstance(node.expression, sge.ToDays):
        days = sge.Cast(this=node.expression.this.transform(_postgres_functions), to=_int())
        return sge.Add(this=node.this.transform(_postgres_functions), expression=days)
    if isinstance(node, sge.RegexpExtract):
        group = node.args.get("group")
        if group is None or group.name != "1":
            raise InternalError(f"no REGEXP_EXTRACT of {node.sql()} inside PostgreSQL yet")
        found = sge.Anonymous(
            this="SUBSTRING",
            expressions=[
                node.this.transform(_postgres_functions),
                node.expression.copy(),
            ],
        )
        return sge.Coalesce(this=found, expressions=[sge.Literal.string("")])
    if isinstance(node, sge.First):
        return sge.Min(this=node.this.transform(_postgres_functions))
    return node


def _spark_functions(node: sge.Expression) -> sge.Expression:
    """DuckDB's date plus a number of days (TO_DAYS) as Spark's DATE_ADD."""
    if isinstance(node, sge.Add) and isinstance(node.expression, sge.ToDays):
        days = sge.Cast(this=node.expression.this.transform(_spark_functions), to=_int())
        return sge.DateAdd(
            this=node.this.transform(_spark_functions), expression=days, unit=sge.Var(this="DAY")
        )
    return node


def _int() -> sge.DataType:
    return sge.DataType.build("INT")


# An underscore that is not between two digits: DuckDB then reads no number at all.
_LONE_UNDERSCORE = "(^|[^0-9])_|_($|[^0-9])"


def _spark_casts(node: sge.Expression) -> sge.Expression:
    """TRY_CAST as Spark runs it, reading text as DuckDB does: an underscore between digits
    is a digit separator (`1_000`), and a date in year 0 (DuckDB's 1 BC, which Spark reads
    as a day Python cannot hold) is no date. (A replaced node's children are not visited
    again, so the TRY_CAST inside is left as it is.)"""
    if not isinstance(node, sge.TryCast):
        return node
    value, target = node.this, node.to
    if target.is_type(sge.DataType.Type.DATE):
        year_zero = sge.Like(this=value.copy(), expression=sge.Literal.string("0000%"))
        return sge.If(this=year_zero, true=sge.Null(), false=node.copy())
    if target.is_type(*sge.DataType.NUMERIC_TYPES):
        text = sge.Cast(this=value.copy(), to=sge.DataType.build("TEXT"))
        lone = sge.RegexpLike(this=text.copy(), expression=sge.Literal.string(_LONE_UNDERSCORE))
        joined = sge.Replace(
            this=text.copy(),
            expression=sge.Literal.string("_"),
            replacement=sge.Literal.string(""),
        )
        chosen: sge.Expression = sge.If(this=lone, true=text, false=joined)
        if target.is_type(*sge.DataType.INTEGER_TYPES):
            # DuckDB reads `12.0`, `12.5` and `1e3` as whole numbers (rounded): read as a
            # number first, as it does.
            whole = node.copy()
            whole.set("this", chosen)
            whole.set("to", sge.DataType.build("DECIMAL(38, 0)"))
            chosen = whole
        cast = node.copy()
        cast.set("this", chosen)
        return cast
    return node


def _call(function: str, *arguments: sge.Expression) -> sge.Expression:
    return sge.Dot(
        this=sge.to_identifier("pg_temp"),
        expression=sge.Anonymous(this=function, expressions=list(arguments)),
    )
