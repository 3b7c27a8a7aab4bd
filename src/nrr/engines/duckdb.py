"""The embedded DuckDB: in memory, or a `.duckdb` file; nothing to start."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine, Rows

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

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

    def load_frame(self, name: str, frame: pd.DataFrame) -> None:
        """A table `name` holding a pandas DataFrame's values, every column as text."""
        self.load_batches(name, frame.astype("string"))

    def load_batches(self, name: str, data: pa.RecordBatchReader | pd.DataFrame) -> None:
        """A table `name` holding Arrow batches (or a DataFrame), read as they come."""
        view = f"{name}_source"
        self.con.register(view, data)
        try:
            self.keep(name, f"SELECT * FROM {sqltext.identifier(view)}")
        finally:
            self.con.unregister(view)

    def batches(self, sql: str, rows: int) -> pa.RecordBatchReader:
        """The query's rows as Arrow batches of `rows` rows, for another engine to read in
        bounded memory."""
        return self.con.execute(sql).fetch_record_batch(rows)

    def progress(self) -> Callable[[], float]:
        """Turn on DuckDB's progress count for the queries that follow (not its bar, which
        would write to stdout) and return how to read it: the running query's percentage,
        -1 when there is none. It may be read from another thread."""
        self.con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        lock = threading.Lock()

        def poll() -> float:
            with lock:
                try:
                    return float(self.con.query_progress())
                except duckdb.Error:
                    return -1.0

        return poll

    def close(self) -> None:
        if self._owned:
            self.con.close()
