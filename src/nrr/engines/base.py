"""The engine interface: what nrr asks of a database, and nothing more.

An engine runs a statement, fetches rows as Python values (exact decimals as `Decimal`),
loads a file or a few rows into a table of its own, and names a scratch place for the tables
nrr keeps while it works. A new engine implements these in one module; the SQL it runs is
rendered for `dialect` by `nrr.sql`, so an engine never builds SQL from text itself beyond
the identifiers `quote` gives.
"""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot.expressions as sge

__all__ = ["Engine", "Rows"]

_names = itertools.count(1)


@dataclass(frozen=True)
class Rows:
    """A result: its column names and its rows, as Python values."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Engine(ABC):
    """A connected database that nrr computes in.

    `dialect` is the sqlglot dialect its statements are rendered for. `temporary` says
    whether it keeps tables for one session (`CREATE TEMPORARY TABLE`); an engine that
    cannot (Trino, Athena, Databricks SQL) either names a `scratch` schema the user gave, or
    nrr keeps every intermediate result inside one statement as common table expressions."""

    name: str = "engine"
    dialect: str = "duckdb"
    temporary: bool = True

    def __init__(self, scratch: str | None = None) -> None:
        self.scratch = scratch

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement that returns no rows."""

    @abstractmethod
    def fetch(self, sql: str) -> Rows:
        """Run one query and return its rows."""

    @abstractmethod
    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        """A table `name` with `columns` (name, SQL type in this engine's dialect) holding
        `rows`: small tables (rates, calendars) that nrr builds in Python."""

    @abstractmethod
    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        """A table `name` holding the CSV file `path` (a header row, then `columns` as
        text); the engine reads the file itself where it can (PostgreSQL's COPY, Spark's
        reader), so no row passes through Python."""

    def scalar(self, sql: str) -> Any:
        """The one value the query `sql` returns (None when it returns no row)."""
        rows = self.fetch(sql).rows
        return rows[0][0] if rows else None

    def columns(self, sql: str) -> tuple[str, ...]:
        """The column names of the query `sql`, without computing it."""
        return self.fetch(f"SELECT * FROM ({sql}) AS nrr_shape LIMIT 0").columns

    def keep(self, name: str, sql: str) -> None:
        """Keep the result of the query `sql` as the table `name` for this session."""
        table = self.quote(name)
        if self.temporary and self.scratch is None:
            self.execute(f"CREATE TEMPORARY TABLE {table} AS {sql}")
        else:
            self.execute(f"CREATE TABLE {table} AS {sql}")

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.quote(name)}")

    def fresh_name(self, prefix: str) -> str:
        """A table name no other table of this process uses: `prefix`, the process and a
        counter (two processes may share a scratch schema)."""
        return f"{prefix}_{os.getpid()}_{next(_names)}"

    def quote(self, name: str) -> str:
        """`name` as a quoted identifier, in the scratch schema when there is one."""
        table = sge.to_identifier(name, quoted=True)
        if self.scratch is None:
            return table.sql(self.dialect)
        return sge.Table(this=table, db=sge.to_identifier(self.scratch, quoted=True)).sql(
            self.dialect
        )

    def close(self) -> None:
        """Release the connection when nrr opened it; an engine given by the caller stays open."""
        return None
