"""Checked tables from the intake's embedded DuckDB into the engine the metrics run on.

The inputs are read and checked in the embedded DuckDB, which names the file, row and column
of every problem; when the metrics run elsewhere, each checked table is written once by
DuckDB to a file the engine loads itself: a CSV file PostgreSQL's COPY reads (DESIGN.md:
COPY, not row inserts), a Parquet file Spark reads with its exact types. Any other engine
gets the rows through its `load_rows`.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.engines.columns import column_type
from nrr.engines.duckdb import DuckDBEngine

__all__ = ["put"]

_folder: Path | None = None


def put(local: DuckDBEngine, relation: str, target: Engine, prefix: str) -> str:
    """A table in `target` holding the rows of the query `relation` (in `local`): its name
    there. The columns keep their names and types, written in the target's dialect."""
    described = local.fetch(f"DESCRIBE {relation}").rows
    columns = [
        (str(name), column_type(str(kind), "duckdb").sql(target.dialect))
        for name, kind, *_ in described
    ]
    name = target.fresh_name(prefix)
    if target.name == "postgres":
        with tempfile.TemporaryDirectory(prefix="nrr-copy-") as folder:
            path = Path(folder) / f"{name}.csv"
            # NULL as an empty field, an empty text as "": how PostgreSQL's CSV tells them apart.
            _export(local, relation, path, "FORMAT csv, HEADER true")
            target.load_file(name, path, columns)
        return name
    if target.name == "spark":
        path = _scratch() / f"{name}.parquet"
        _export(local, relation, path, "FORMAT parquet")
        target.load_parquet(name, path)  # type: ignore[attr-defined]
        return name
    rows = local.fetch(relation).rows
    target.load_rows(name, columns, rows)
    return name


def _export(local: DuckDBEngine, relation: str, path: Path, options: str) -> None:
    """Write the query's rows to `path` with DuckDB's COPY, at disk speed."""
    local.execute(f"COPY ({relation}) TO {sqltext.string(path.as_posix())} ({options})")


def _scratch() -> Path:
    """A folder for the files an engine reads lazily, removed when the process ends."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="nrr-engine-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder
