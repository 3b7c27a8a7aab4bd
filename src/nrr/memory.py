"""The embedded DuckDB's memory: its limit (`NRR_MEMORY_LIMIT`), and running out of it.

DuckDB spills to disk beyond the limit and fails only when a step cannot spill. The limit is
the user's setting, so that failure is an `InputError` that says how to raise it, not a bug.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import duckdb

from nrr.errors import InputError, Problem

__all__ = ["DEFAULT_MEMORY_LIMIT", "memory_limit", "memory_limit_error", "within_memory"]

# With the Python process around it, DuckDB at 800 MB keeps a command at 1M customers under
# 1 GB (docs/performance.md, "Memory"); it spills beyond, at a few percent of the time.
DEFAULT_MEMORY_LIMIT = "800MB"

P = ParamSpec("P")
R = TypeVar("R")


def memory_limit() -> str:
    """The limit in force: `NRR_MEMORY_LIMIT`, else the default."""
    return os.environ.get("NRR_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def memory_limit_error(exc: duckdb.OutOfMemoryException) -> InputError:
    """The InputError for the embedded DuckDB running out of memory: the limit is a setting
    of the user's (NRR_MEMORY_LIMIT), so the message says how to raise it."""
    limit = memory_limit()
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else "out of memory"
    return InputError(
        Problem(
            source="NRR_MEMORY_LIMIT",
            message=f"the memory limit {limit} is too low for this data ({why}); raise it, "
            f"e.g. NRR_MEMORY_LIMIT=4GB (default {DEFAULT_MEMORY_LIMIT}; at most the "
            "machine's free memory)",
        )
    )


def within_memory(func: Callable[P, R]) -> Callable[P, R]:
    """`func`, with the embedded DuckDB running out of memory raised as `memory_limit_error`."""

    @functools.wraps(func)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except duckdb.OutOfMemoryException as exc:
            raise memory_limit_error(exc) from None

    return guarded
