"""Errors raised by nrr.

    NRRError            the root: catch it to handle every failure nrr reports
    ├── InputError      the user can fix it: a bad file, row, value or argument (CLI exit 2)
    └── InternalError   a bug in nrr itself (CLI exit 1; please report it)

An `InputError` carries every `Problem` found (up to a cap), each naming where it is
(file, row, column) and what to do about it, so a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["InputError", "InternalError", "NRRError", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, and where.

    `row` counts as a spreadsheet does: in a CSV file the header is row 1 and the first
    data line row 2; in Parquet files and database tables the first record is row 1.
    """

    source: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        place = self.source
        if self.row is not None:
            place += f":{self.row}"
        if self.column is not None:
            place += f":{self.column}"
        return f"{place}: {self.message}"


class NRRError(Exception):
    """Root of every error nrr raises on purpose."""


class InputError(NRRError):
    """The input or the arguments are wrong; the message says where and how to fix it."""

    def __init__(self, problems: Problem | str | Sequence[Problem], *, note: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(source="input", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.note = note
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


class InternalError(NRRError):
    """A condition nrr's own logic should have made impossible."""
