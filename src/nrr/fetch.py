"""Results out of the engine, and small tables of Python values into it, without pandas.

Ibis's own result conversion for DuckDB imports pandas, and so do `ibis.memtable` and pyarrow
the first time it builds an array from Python values: about 0.6 s of every command's start-up,
for commands that never show a DataFrame. On the embedded DuckDB these helpers take the
engine's own Python values when its result types are the expression's (0.15 s less per
command at 1M customers than converting through Arrow), else its Arrow result cast to the
expression's schema (what Ibis does after that import); they build small tables as SQL
`VALUES`. On any other engine they are Ibis's own.

    records(expr)          # [{"column": value, ...}, ...]
    column(expr)           # the first column's values
    value(expr)            # a scalar expression's value
    values_table(like, {"month": ("int64", [1, 2])})   # a small table on `like`'s engine
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.backends.sql.datatypes import DuckDBType

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow", "column", "records", "value", "values_table"]


def arrow(expr: ir.Expr) -> pa.Table:
    """`expr` (a table, a column or a scalar) computed, as an Arrow table."""
    table = expr.as_table()
    backend = _duckdb(table)
    if backend is None:
        return table.to_pyarrow()
    return _converted(backend.raw_sql(backend.compile(table)).to_arrow_table(), table.schema())


def records(expr: ir.Expr) -> list[dict[str, Any]]:
    """`expr`'s rows as dicts, in the engine's order."""
    table = expr.as_table()
    backend = _duckdb(table)
    if backend is None:
        return table.to_pyarrow().to_pylist()
    schema = table.schema()
    result = backend.con.sql(backend.compile(table))
    if not all(_same(str(t), schema[n]) for t, n in zip(result.types, schema.names, strict=True)):
        return _converted(result.to_arrow_table(), schema).to_pylist()
    names = schema.names
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def column(expr: ir.Expr) -> list[Any]:
    """The values of `expr`'s first column."""
    return [next(iter(row.values())) for row in records(expr)]


def value(expr: ir.Scalar) -> Any:
    """The value of the scalar expression `expr`."""
    found = column(expr)
    return found[0] if found else None


def _duckdb(table: ir.Table) -> DuckDBBackend | None:
    """`table`'s backend when these helpers read its results themselves: the embedded
    DuckDB, for a query that holds no in-memory table (Ibis's own execution registers those)."""
    backend = ibis.get_backend(table)
    if not isinstance(backend, DuckDBBackend) or any(table.op().find(ops.InMemoryTable)):
        return None
    return backend


def _same(engine_type: str, wanted: dt.DataType) -> bool:
    """Whether DuckDB's Python value for a column of `engine_type` is what a column of the
    Ibis type `wanted` gives: the same type, or any integers (Python ints either way; a
    128-bit sum comes back as an int, where Ibis would read its type as a decimal)."""
    if engine_type in {"HUGEINT", "UHUGEINT"}:
        return wanted.is_integer()
    try:
        found = DuckDBType.from_string(engine_type)
    except (duckdb.Error, ValueError, TypeError, NotImplementedError):
        return False
    if found.is_integer() and wanted.is_integer():
        return True
    return found.copy(nullable=True) == wanted.copy(nullable=True)


def _converted(result: pa.Table, schema: ibis.Schema) -> pa.Table:
    from ibis.formats.pyarrow import PyArrowData

    return PyArrowData.convert_table(result, schema)


def values_table(like: ir.Expr, columns: Mapping[str, tuple[str, Sequence[Any]]]) -> ir.Table:
    """A small table of Python values, with an Ibis type per column (`{"month": ("int64",
    [1, 2])}`), on the engine that computes `like`."""
    backend = ibis.get_backend(like)
    schema = ibis.schema({name: dtype for name, (dtype, _) in columns.items()})
    lengths = {len(values) for _, values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    if not isinstance(backend, DuckDBBackend):
        import pyarrow as pa

        data = {n: pa.array(list(v), schema[n].to_pyarrow()) for n, (_, v) in columns.items()}
        return ibis.memtable(pa.table(data), schema=schema)
    types = [DuckDBType.to_string(schema[name]) for name in columns]
    data = [values for _, values in columns.values()]
    quoted = [f'"{name}"' for name in columns]
    if not lengths.pop():  # VALUES needs a row: one of the right types, filtered out
        nulls = ", ".join(f"CAST(NULL AS {t})" for t in types)
        names = ", ".join(quoted)
        return backend.sql(f"SELECT * FROM (VALUES ({nulls})) AS v({names}) WHERE false")
    # Plain literals (decimals and dates as text), cast once per column: Ibis parses this
    # text again into every query that reads the table, and a cast per value made a rate
    # table of 200 rows cost 0.1 s to parse each time.
    rows = ", ".join("(" + ", ".join(map(_literal, r)) + ")" for r in zip(*data, strict=True))
    casts = ", ".join(f"CAST({q} AS {t}) AS {q}" for q, t in zip(quoted, types, strict=True))
    return backend.sql(f"SELECT {casts} FROM (VALUES {rows}) AS v({', '.join(quoted)})")


def _literal(item: object) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, Decimal):
        return "'" + format(item, "f") + "'"
    if isinstance(item, str | date):
        return "'" + str(item).replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(item).__name__}")
