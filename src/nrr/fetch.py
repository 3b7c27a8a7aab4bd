"""Results out of the engine, and small tables of Python values into it, without pandas.

Ibis's own result conversion for DuckDB imports pandas, and so do `ibis.memtable` and pyarrow
the first time it builds an array from Python values: about 0.6 s of every command's start-up,
for commands that never show a DataFrame. On the embedded DuckDB these helpers read the
engine's Arrow result and cast it to the expression's schema (what Ibis does after its
import), and build small tables as SQL `VALUES`. On any other engine they are Ibis's own.

    records(expr)          # [{"column": value, ...}, ...]
    column(expr)           # the first column's values
    value(expr)            # a scalar expression's value
    values_table(like, {"month": ("int64", [1, 2])})   # a small table on `like`'s engine
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.backends.sql.datatypes import DuckDBType
from ibis.formats.pyarrow import PyArrowData

__all__ = ["arrow", "column", "records", "value", "values_table"]


def arrow(expr: ir.Expr) -> pa.Table:
    """`expr` (a table, a column or a scalar) computed, as an Arrow table."""
    table = expr.as_table()
    backend = ibis.get_backend(table)
    # An in-memory table is registered with DuckDB by Ibis's own execution path.
    if not isinstance(backend, DuckDBBackend) or any(table.op().find(ops.InMemoryTable)):
        return table.to_pyarrow()
    result = backend.raw_sql(backend.compile(table)).to_arrow_table()
    return PyArrowData.convert_table(result, table.schema())


def records(expr: ir.Expr) -> list[dict[str, Any]]:
    """`expr`'s rows as dicts, in the engine's order."""
    return arrow(expr).to_pylist()


def column(expr: ir.Expr) -> list[Any]:
    """The values of `expr`'s first column."""
    return arrow(expr).column(0).to_pylist()


def value(expr: ir.Scalar) -> Any:
    """The value of the scalar expression `expr`."""
    found = column(expr)
    return found[0] if found else None


def values_table(like: ir.Expr, columns: Mapping[str, tuple[str, Sequence[Any]]]) -> ir.Table:
    """A small table of Python values, with an Ibis type per column (`{"month": ("int64",
    [1, 2])}`), on the engine that computes `like`."""
    backend = ibis.get_backend(like)
    schema = ibis.schema({name: dtype for name, (dtype, _) in columns.items()})
    lengths = {len(values) for _, values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    if not isinstance(backend, DuckDBBackend):
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
