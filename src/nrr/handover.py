"""The tables an Ibis-built book holds, handed to the SQL layer (`nrr.metrics`) while both
layers live side by side: the engine behind the Ibis backend, and a name there for the
checked lines and customers. Goes away with the last Ibis module (issue 22)."""

from __future__ import annotations

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend as DuckDBBackend

from nrr.engines import open_engine
from nrr.engines.base import Engine
from nrr.metrics.tables import BookTables

__all__ = ["book_tables", "checked_relation", "engine_relation"]


def _engine(backend: ibis.BaseBackend) -> Engine:
    """The connection under the Ibis backend, as `open_engine` takes one a caller opened."""
    connection = backend._session if backend.name == "pyspark" else backend.con
    return open_engine(connection, dialect=backend.dialect)


def _named(backend: ibis.BaseBackend, engine: Engine, table: ir.Table, prefix: str) -> str:
    """A name in the engine for `table`: its own when it is a stored table, else a temporary
    view of its query."""
    op = table.op()
    if isinstance(op, ops.DatabaseTable) and op.namespace.database is None:
        return op.name
    name = engine.fresh_name(prefix)
    backend._run_pre_execute_hooks(table)
    sql = backend.compile(table) if isinstance(backend, DuckDBBackend) else ibis.to_sql(table)
    engine.execute(f"CREATE TEMPORARY VIEW {engine.quote(name)} AS {sql}")
    return name


def book_tables(
    backend: ibis.BaseBackend, lines: ir.Table, customers: ir.Table | None
) -> BookTables:
    engine = _engine(backend)
    # Every column of the checked lines: the statements read the money, the causes and the
    # seats the quantities, a customer's history the dates and row numbers too.
    named_lines = _named(backend, engine, lines, "nrr_lines")
    if customers is None:
        return BookTables(engine=engine, lines=named_lines)
    named_customers = _named(backend, engine, customers, "nrr_customers")
    attributes = tuple(c for c in customers.columns if c != "customer_id")
    return BookTables(
        engine=engine, lines=named_lines, customers=named_customers, attributes=attributes
    )


def engine_relation(backend: ibis.BaseBackend, engine: Engine, table: ir.Table, prefix: str) -> str:
    """A name in `engine` for another table the Ibis layer holds (the health inputs), for the
    SQL layer to read."""
    return _named(backend, engine, table, prefix)


def checked_relation(backend: DuckDBBackend, table: ir.Table, prefix: str) -> tuple[Engine, str]:
    """The intake's DuckDB as an engine, and a name there for one of the tables it checked:
    for the checks that read them as SQL (`nrr.doubles`, `nrr.lookalike`, `nrr.fx`)."""
    engine = _engine(backend)
    return engine, _named(backend, engine, table, prefix)
