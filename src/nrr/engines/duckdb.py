"""The embedded DuckDB: in memory, or a `.duckdb` file; nothing to start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine, Rows

__all__ = ["DuckDBEngine"]


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, owned: bool = False, scratch: str | None = None
    ) -> None:
        super().__init__(scratch)
        self.con = con
        self._owned = owned

    @classmethod
    def open(cls, db: str | Path | None = None, *, read_only: bool = False) -> DuckDBEngine:
        con = duckdb.connect(":memory:" if db is None else str(db), read_only=read_only)
        return cls(con, owned=True)

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def fetch(self, sql: str) -> Rows:
        result = self.con.execute(sql)
        columns = tuple(d[0] for d in result.description or ())
        return Rows(columns, result.fetchall())

    def load_rows(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        table = self.quote(name)
        defs = ", ".join(f"{sqltext.identifier(c)} {t}" for c, t in columns)
        kind = "TEMPORARY TABLE" if self.scratch is None else "TABLE"
        self.con.execute(f"CREATE {kind} {table} ({defs})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {table} VALUES ({marks})", [list(r) for r in rows])

    def load_file(self, name: str, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        types = ", ".join(f"{sqltext.string(c)}: {sqltext.string(t)}" for c, t in columns)
        self.keep(
            name,
            f"SELECT * FROM read_csv({sqltext.string(path.as_posix())}, header = true, "
            f"columns = {{{types}}}, auto_detect = false)",
        )

    def close(self) -> None:
        if self._owned:
            self.con.close()
