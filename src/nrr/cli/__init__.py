"""The `nrr` command line: a thin layer that calls the library and prints.

Data goes to stdout (a table for people by default, `--format json|csv` for machines);
progress and errors go to stderr. A user's mistake exits with status 2 and lines of the form
`error: FILE:ROW:COLUMN: what is wrong and how to fix it`; a traceback only with --verbose.

Each command lives in the module of its topic; importing them registers them on `app`.
"""

from __future__ import annotations

# Importing each topic's module registers its commands on `app`.
from nrr.cli import (  # noqa: F401
    backtest,
    causes,
    core,
    health,
    impact,
    methods,
    report,
    serve,
    sql,
    trends,
)
from nrr.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
