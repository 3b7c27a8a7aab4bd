"""Statements from their files, bound to tables and values, rendered for one dialect."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

import sqlglot
import sqlglot.expressions as sge

__all__ = [
    "DIALECTS",
    "Relation",
    "bind",
    "borrow",
    "compose",
    "literal",
    "parse",
    "parse_query",
    "reading",
    "render",
    "statement",
    "values",
]

# What a table input is bound to: a table's name in the engine, or a query.
Relation = str | sge.Query
# The dialects nrr's statements are rendered and checked for (tests/test_sql_dialects.py);
# DuckDB, PostgreSQL and Spark also run them in the tests.
DIALECTS = (
    "duckdb",
    "postgres",
    "spark",
    "databricks",
    "snowflake",
    "bigquery",
    "trino",
    "clickhouse",
    "redshift",
)


def parse(text: str) -> sge.Expression:
    """SQL text nrr wrote (never a user's), in the dialect its statements are written in."""
    return sqlglot.parse_one(text, read="duckdb")


def parse_query(text: str) -> sge.Query:
    """`text` (nrr's own SQL) as a query tree of its own, free to change."""
    return _parsed_text(text).copy()


@functools.lru_cache(maxsize=256)
def _parsed_text(text: str) -> sge.Query:
    # A copy of a tree costs a fraction of parsing its text again, and the same text (a
    # checked table's query, a constant step) is read by several statements.
    parsed = parse(text)
    if not isinstance(parsed, sge.Query):
        raise TypeError(f"not a query: {text[:60]!r}")
    return parsed


@functools.cache
def _parsed(name: str) -> sge.Query:
    return _parsed_text(resources.files("nrr.sql").joinpath(name).read_text(encoding="utf-8"))


def statement(name: str) -> sge.Query:
    """The statement in `name` (a path beside this module, such as `metrics/bridge.sql`).

    The tree is shared by every caller: read it, or give it to `bind`, `compose`, `borrow`
    or `reading`, which never change their arguments and return trees of their own; copy it
    (`.copy()`) to change it in place. Parsing once and copying once (in `bind`) halves what
    building a statement costs."""
    return _parsed(name)


def literal(value: object) -> sge.Expression:
    """`value` as a SQL literal: numbers exactly, text quoted by the SQL builder."""
    if value is None:
        return sge.Null()
    if isinstance(value, bool):
        return sge.Boolean(this=value)
    if isinstance(value, int):
        return sge.Literal.number(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        # Text cast to its exact type: a bare 1.1 is a float on BigQuery.
        text = format(value, "f")
        digits = text.lstrip("-").replace(".", "")
        scale = len(text.partition(".")[2])
        kind = _decimal_type(max(len(digits), scale + 1, 1), scale)
        return sge.Cast(this=sge.Literal.string(text), to=kind.copy())
    if isinstance(value, date):
        return sge.cast(sge.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return sge.Literal.string(value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


@functools.cache
def _decimal_type(precision: int, scale: int) -> sge.DataType:
    # Built once per precision and scale: parsing a type costs about 0.3 ms, and a statement
    # may carry hundreds of rates.
    return sge.DataType.build(f"DECIMAL({precision}, {scale})", dialect="duckdb")


def bind(
    query: sge.Query,
    *,
    tables: Mapping[str, Relation] | None = None,
    params: Mapping[str, Any] | None = None,
) -> sge.Query:
    """`query` with its `:name` parameters replaced by literals (or expressions) and its
    logical tables by a table name or a subquery."""
    tables = tables or {}
    params = params or {}
    missing: set[str] = set()

    def swap(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.Placeholder) and node.name:
            if node.name not in params:
                missing.add(node.name)
                return node
            value = params[node.name]
            if not isinstance(value, sge.Expression):
                return literal(value)
            # An expression goes in whole: `2 * :x` with x = `a - b` is 2 * (a - b).
            atomic = (sge.Column, sge.Literal, sge.Cast, sge.Func, sge.Paren, sge.Null)
            return value.copy() if isinstance(value, atomic) else sge.Paren(this=value.copy())
        if isinstance(node, sge.Table) and not node.args.get("db") and node.name in tables:
            target = tables[node.name]
            alias = node.alias or node.name
            if isinstance(target, str):
                return sge.Table(
                    this=sge.to_identifier(target, quoted=True),
                    alias=sge.TableAlias(this=sge.to_identifier(alias)),
                )
            return sge.Subquery(
                this=target.copy(), alias=sge.TableAlias(this=sge.to_identifier(alias))
            )
        return node

    result = query.transform(swap)
    if missing:
        raise KeyError(f"no value for parameter(s) {', '.join(sorted(missing))}")
    return result  # type: ignore[return-value]


def compose(query: sge.Query, inputs: Mapping[str, sge.Query]) -> sge.Query:
    """`query` with each of `inputs` as a common table expression named by its key, placed
    before `query`'s own, so the whole reads top to bottom as one statement. An input's own
    CTEs come first, renamed `<input>_<name>` so two inputs may both call a step `live`."""
    ctes: list[sge.CTE] = []
    for name, body in inputs.items():
        body = body.copy()
        inner = body.args.get("with_")
        if inner is not None:
            renames = {cte.alias: f"{name}_{cte.alias}" for cte in inner.expressions}
            body.set("with_", None)
            # `body` is this function's own copy: renamed in place.
            for cte in inner.expressions:
                ctes.append(_renamed(cte, renames, copy=False))
            body = _renamed(body, renames, copy=False)
        ctes.append(sge.CTE(this=body, alias=sge.TableAlias(this=sge.to_identifier(name))))
    query = query.copy()
    own = query.args.get("with_")
    if own is not None:
        ctes.extend(own.expressions)
    if ctes:
        query.set("with_", sge.With(expressions=ctes))
    return query


def borrow(query: sge.Query, source: sge.Query, names: Sequence[str]) -> sge.Query:
    """`query` with the common table expressions `names` of `source` appended to its own, as
    `source` writes them: a step defined once (the bridge's rule for what a return is) read
    by another statement over its own steps of the same columns."""
    defined = {cte.alias: cte for cte in source.ctes}
    missing = [name for name in names if name not in defined]
    if missing:
        raise KeyError(f"no step(s) {', '.join(missing)} to borrow")
    query = query.copy()
    own = query.args.get("with_")
    ctes = list(own.expressions) if own is not None else []
    ctes.extend(defined[name].copy() for name in names)
    query.set("with_", sge.With(expressions=ctes))
    return query


def reading(source: sge.Query, body: sge.Query) -> sge.Query:
    """`body` over `source`'s common table expressions: the ones it reads, directly or through
    another, in `source`'s order. A step of a statement is reused as it is written, never
    copied out of its file."""
    defined = {cte.alias: cte for cte in source.ctes}
    needed: set[str] = set()

    def visit(node: sge.Expression) -> None:
        for table in node.find_all(sge.Table):
            name = table.name
            if name in defined and name not in needed and not table.args.get("db"):
                needed.add(name)
                visit(defined[name].this)

    visit(body)
    result = body.copy()
    kept = [cte.copy() for cte in source.ctes if cte.alias in needed]
    if kept:
        result.set("with_", sge.With(expressions=kept))
    return result


def _renamed(node: sge.Expression, renames: Mapping[str, str], *, copy: bool = True) -> Any:
    """`node` with references to the CTEs in `renames` (and their definitions) renamed; a
    reference keeps its old name as its alias, so column references stay valid."""

    def swap(item: sge.Expression) -> sge.Expression:
        if isinstance(item, sge.CTE) and item.alias in renames:
            item.set("alias", sge.TableAlias(this=sge.to_identifier(renames[item.alias])))
            return item
        if isinstance(item, sge.Table) and not item.args.get("db") and item.name in renames:
            alias = item.alias or item.name
            return sge.Table(
                this=sge.to_identifier(renames[item.name]),
                alias=sge.TableAlias(this=sge.to_identifier(alias)),
            )
        return item

    return node.transform(swap, copy=copy)


def values(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> sge.Query:
    """A small table of Python values as a query, each column cast to its SQL type (in
    DuckDB's spelling, rendered per dialect); an empty table is a typed row filtered out."""
    data = rows or [tuple(None for _ in columns)]
    # Nodes built directly: sqlglot's builders copy their arguments, and a table of rates can
    # hold thousands of literals.
    table = sge.Values(
        expressions=[sge.Tuple(expressions=[literal(v) for v in row]) for row in data],
        alias=sge.TableAlias(
            this=sge.to_identifier("v"),
            columns=[sge.to_identifier(name) for name, _ in columns],
        ),
    )
    select = sge.Select(
        expressions=[
            sge.Alias(
                this=sge.Cast(this=sge.column(name), to=_data_type(kind).copy()),
                alias=sge.to_identifier(name),
            )
            for name, kind in columns
        ]
    ).from_(table, copy=False)
    if not rows:
        select = select.where(sge.false(), copy=False)
    return select


@functools.cache
def _data_type(kind: str) -> sge.DataType:
    return sge.DataType.build(kind, dialect="duckdb")


def _bignumeric(node: sge.Expression) -> sge.Expression:
    """BigQuery's NUMERIC keeps 9 decimals, so money is BIGNUMERIC; a cast to DECIMAL(p, s)
    keeps its scale as ROUND(..., s), which rounds half away from zero as the cast does on
    the other engines (sqlglot drops a cast's precision and scale for BigQuery)."""
    if isinstance(node, sge.Cast) and node.to.is_type(sge.DataType.Type.DECIMAL):
        params = node.to.expressions
        # A replaced node's children are not visited again: transform them here.
        inner = node.this.transform(_bignumeric)
        big = sge.Cast(this=inner, to=sge.DataType(this=sge.DataType.Type.BIGDECIMAL))
        if len(params) == 2:
            return sge.Round(this=big, decimals=params[1].this.copy())
        return big
    return node


def render(query: sge.Expression, dialect: str, *, pretty: bool = False) -> str:
    """`query` as SQL text for `dialect` (a sqlglot dialect name)."""
    if dialect == "bigquery":
        query = query.transform(_bignumeric)
    return query.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)
