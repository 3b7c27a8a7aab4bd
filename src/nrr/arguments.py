"""Checks of what a Python caller hands to `nrr.load`, before anything is read.

The command line can only give text; Python can give anything. A value of the wrong kind (a
number for a path, a list for a currency) or a DataFrame nrr cannot read as a table of named
columns is the caller's mistake: an `InputError` naming the argument, never a `TypeError`
from deep inside pandas or the engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nrr.errors import InputError, Problem

__all__ = ["check_frame", "check_kind", "check_source"]

_SOURCE = "a CSV or Parquet path (str or Path), a pandas DataFrame, or with url a table name"


def _fail(argument: str, message: str) -> InputError:
    return InputError(Problem(source=argument, message=message))


def check_kind(value: object, kinds: object, argument: str, what: str) -> None:
    """An InputError unless `value` is one of `kinds` (`what` names them for people)."""
    if not isinstance(value, kinds):  # a type or a union of types (int | None)
        raise _fail(argument, f"got {value!r} ({type(value).__name__}); give {what}")


def check_source(given: object, role: str) -> None:
    """`given` is something an input can be read from (or None)."""
    if given is None or isinstance(given, str | Path) or _is_frame(given):
        return
    raise _fail(role, f"got {given!r} ({type(given).__name__}); give {_SOURCE}")


def check_frame(frame: object, role: str) -> None:
    """A DataFrame nrr reads as it reads a file: at least one column, and every column
    named by a distinct, non-empty text (one header row, as in a CSV file)."""
    label = f"{role} DataFrame"
    columns = frame.columns  # type: ignore[attr-defined]
    if getattr(columns, "nlevels", 1) > 1:
        raise _fail(
            label,
            f"its columns have {columns.nlevels} levels (a MultiIndex); give one level of "
            "column names, e.g. flatten them with frame.columns = ['_'.join(c) for c in "
            "frame.columns]",
        )
    if len(columns) == 0:
        raise _fail(label, "has no columns; give the input's columns (customer_id, ...)")
    odd = [c for c in columns if not isinstance(c, str) or not c.strip()]
    if odd:
        raise _fail(
            label,
            f"column name {odd[0]!r} is not a text name; name every column as a CSV header "
            "does, e.g. frame.columns = [str(c) for c in frame.columns]",
        )
    seen: set[str] = set()
    for name in columns:
        key = name.strip().lower()  # read as a header is: trimmed, case ignored
        if key in seen:
            raise _fail(label, f"column {name!r} appears twice; keep one")
        seen.add(key)


def _is_frame(value: object) -> bool:
    # pandas is imported only by a caller that has a DataFrame (see loading.py).
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)
