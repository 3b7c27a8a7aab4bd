"""Results out of the intake's Ibis expressions, without pandas.

Ibis's own result conversion for DuckDB imports pandas, and so do `ibis.memtable` and pyarrow
the first time it builds an array from Python values: about 0.6 s of every command's start-up,
for commands that never show a DataFrame. On the embedded DuckDB these helpers take the
engine's own Python values when its result types are the expression's (0.15 s less per
command at 1M customers than converting through Arrow), else its Arrow result cast to the
expression's schema (what Ibis does after that import). On any other engine they are Ibis's
own. (The SQL layer reads its results through `nrr.engines`.)

    records(expr)          # [{"column": value, ...}, ...]
    value(expr)            # a scalar expression's value
"""

from __future__ import annotations

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

__all__ = ["arrow", "records", "value"]


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
