"""What happened to every input row: the policy for invalid rows (fail or quarantine), the
rows set aside with their reasons, and each source's account (rows read = rows used + rows
rejected, and the MRR rejected). `nrr.screen` applies the policy; `Book.intake` keeps the
record."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from nrr.errors import InputError, InternalError, Problem
from nrr.outputs import atomic_path, spreadsheet_safe

if TYPE_CHECKING:
    from nrr.engines.base import Engine
    from nrr.sources.files import RawSource

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "ON_INVALID",
    "Account",
    "Intake",
    "Progress",
    "Rejection",
]

DEFAULT_MAX_PROBLEMS = 50
ON_INVALID = ("fail", "quarantine")

Progress = Callable[[str, Callable[[], float]], AbstractContextManager[None]]


@dataclass(frozen=True)
class Rejection:
    """One input row set aside, with every reason it failed."""

    source: str
    row: int
    columns: tuple[str, ...]
    reasons: tuple[str, ...]
    record: dict[str, str | None]


@dataclass
class Account:
    """Where every row of one source went."""

    source: str
    rows_read: int
    rows_used: int = 0
    rows_rejected: int = 0
    # Rows used that carry no MRR by a documented rule (trial, one-time line...), by rule.
    no_mrr: Counter[str] = field(default_factory=Counter)
    mrr_rejected: dict[str, Decimal] = field(default_factory=dict)
    rejected_without_mrr: int = 0

    def check(self) -> None:
        if self.rows_read != self.rows_used + self.rows_rejected:
            raise InternalError(
                f"{self.source}: rows do not reconcile: {self.rows_read} read, "
                f"{self.rows_used} used, {self.rows_rejected} rejected"
            )

    def line(self) -> str:
        text = (
            f"{self.source}: {_rows(self.rows_read)} read = {self.rows_used:,} used "
            f"+ {self.rows_rejected:,} rejected"
        )
        if self.no_mrr:
            parts = ", ".join(f"{n:,} {why}" for why, n in sorted(self.no_mrr.items()))
            text += f" (used without MRR: {parts})"
        if self.rows_rejected:
            money = " + ".join(
                f"{amount:,.2f} {currency}"
                for currency, amount in sorted(self.mrr_rejected.items())
            )
            text += f"; MRR rejected: {money or '0.00'}"
            if self.rejected_without_mrr:
                text += f" ({self.rejected_without_mrr:,} rejected rows have no readable MRR)"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rows_without_mrr": dict(sorted(self.no_mrr.items())),
            "mrr_rejected": {c: float(round(a, 2)) for c, a in sorted(self.mrr_rejected.items())},
            "rejected_without_mrr": self.rejected_without_mrr,
        }


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


@dataclass
class Intake:
    """The policy for invalid rows, and the record of what happened to every input row."""

    on_invalid: str = "fail"
    max_problems: int = DEFAULT_MAX_PROBLEMS
    progress: Progress | None = None
    rejections: list[Rejection] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_invalid not in ON_INVALID:
            raise InputError(
                Problem(
                    source="--on-invalid",
                    message=f"{self.on_invalid!r} is not one of {', '.join(ON_INVALID)}",
                )
            )

    @property
    def quarantine(self) -> bool:
        return self.on_invalid == "quarantine"

    def account(self, source: str) -> Account:
        if source not in self.accounts:
            raise InternalError(f"no account opened for {source}")
        return self.accounts[source]

    def open_account(self, raw: RawSource, engine: Engine, *, rows: int | None = None) -> Account:
        """Open the account of `raw`, with `rows` read (counted when not given)."""
        if rows is None:
            if raw.rows is not None:
                rows = raw.rows
            else:
                found = engine.scalar(f"SELECT COUNT(*) FROM ({raw.relation}) AS counted")
                rows = int(found)
        account = Account(source=raw.name, rows_read=rows)
        self.accounts[raw.name] = account
        return account

    def write_rejected(self, path: str | Path) -> Path:
        """Write every rejected row (source, row, columns, reasons, record as JSON) as CSV,
        atomically and with formula-like text neutralised (`nrr.outputs`)."""
        import pyarrow as pa  # here: only a command with rejected rows writes them
        import pyarrow.csv as pacsv

        def text(values: list[str]) -> pa.Array:
            return pa.array([spreadsheet_safe(v) for v in values], pa.string())

        path = Path(path)
        rows = sorted(self.rejections, key=lambda r: (r.source, r.row))
        table = pa.table(
            {
                "source": text([r.source for r in rows]),
                "row": pa.array([r.row for r in rows], pa.int64()),
                "columns": text([";".join(r.columns) for r in rows]),
                "reasons": text([" | ".join(r.reasons) for r in rows]),
                "record": text([json.dumps(r.record, ensure_ascii=False) for r in rows]),
            }
        )
        with atomic_path(path) as temp:
            pacsv.write_csv(table, temp)
        return path
