"""Read and validate the five optional health inputs (docs/health-inputs.md).

Each input is screened like the customers file (`nrr.customers.validate_customers`): every
rule is a boolean column computed in one pass of a query in the intake's DuckDB, the typed
rows are stored once, and the intake's policy decides what happens to flagged rows (fail:
every problem as FILE:ROW:COLUMN; quarantine: rows set aside and accounted, rows read = used
+ rejected). The checked rows come back as a query text. Each input's rules and the query
that flags them are in `input_rules.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.health.input_rules import COLUMNS, RULES, checking_query, customer_check, one_of
from nrr.intake import Intake
from nrr.parsing import column
from nrr.screen import count, screen
from nrr.sources.files import RawSource
from nrr.validate import _require_columns

__all__ = [
    "COLUMNS",
    "HEALTH_INPUTS",
    "Signals",
    "read_signals",
    "validate_signal",
]

HEALTH_INPUTS = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")


def _unknown_kind(kind: str) -> InputError:
    return InputError(
        Problem(
            source=kind,
            message=f"{kind!r} is not a health input; use one of {one_of(HEALTH_INPUTS)}",
        )
    )


def validate_signal(engine: Engine, raw: RawSource, kind: str, *, intake: Intake) -> str:
    """Check every row of one health input (`kind`, one of HEALTH_INPUTS); return a query of
    the rows that passed, typed, in `engine` (the intake's).

    Columns: customer_id (VARCHAR) and those of COLUMNS[kind] (stakeholders also
    active_from), dates as DATE, usage value as DECIMAL(38, 10), scores and satisfaction as
    BIGINT, champion/decision_maker as BOOLEAN; values that may be blank (closed_at,
    satisfaction, name, role, active_until, active_from) are null. Kinds, priorities and
    metrics come back in lower case.
    """
    if kind not in RULES:
        raise _unknown_kind(kind)
    _require_columns(raw, COLUMNS[kind], kind, ", ".join(COLUMNS[kind]))
    if raw.name not in intake.accounts:
        intake.open_account(raw, engine)
    parsed = RULES[kind](raw)
    clean = screen(
        engine,
        raw,
        checking_query(raw, parsed),
        (customer_check(), *parsed.checks),
        intake,
        prefix=f"nrr_{kind}",
    )
    account = intake.account(raw.name)
    account.rows_used += count(engine, clean)
    account.check()
    kept = ", ".join(column(c) for c in ("customer_id", *parsed.typed))
    return f"SELECT {kept} FROM ({clean}) AS checked"


@dataclass(frozen=True)
class Signals:
    """The health inputs given, each a query of its typed rows (`validate_signal`'s columns);
    None for an input not given."""

    usage: str | None = None
    tickets: str | None = None
    surveys: str | None = None
    touchpoints: str | None = None
    stakeholders: str | None = None

    def present(self) -> tuple[str, ...]:
        """The inputs given, in the order of HEALTH_INPUTS."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


def read_signals(
    engine: Engine, sources: Mapping[str, RawSource | None], *, intake: Intake
) -> Signals:
    """Validate every health input given (kind -> raw source; None or absent = not given),
    each a query in `engine`, the intake's.

    Under the fail policy the problems of every file are gathered into one InputError, so
    all the files can be fixed in one pass.
    """
    unknown = [k for k in sources if k not in HEALTH_INPUTS]
    if unknown:
        raise _unknown_kind(unknown[0])
    queries: dict[str, str] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    for kind in HEALTH_INPUTS:
        raw = sources.get(kind)
        if raw is None:
            continue
        try:
            queries[kind] = validate_signal(engine, raw, kind, intake=intake)
        except InputError as exc:
            problems.extend(exc.problems)
            if exc.note:
                notes.append(exc.note)
    if problems:
        raise InputError(problems, note="\n".join(notes) or None)
    return Signals(**queries)
