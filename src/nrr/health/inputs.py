"""Read and validate the five optional health inputs (docs/health-inputs.md).

Each input is screened like the customers file (`nrr.customers.validate_customers`): every
rule is a boolean column computed in one pass, the typed table is materialized once, and the
intake's policy decides what happens to flagged rows (fail: every problem as
FILE:ROW:COLUMN; quarantine: rows set aside and accounted, rows read = used + rejected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, Problem
from nrr.parsing import parse_number
from nrr.screen import Check, Intake, screen
from nrr.sources.files import ROW, RawSource
from nrr.validate import _blank, _date, _require_columns, _show, _text

__all__ = [
    "BOOLEAN_WORDS",
    "COLUMNS",
    "HEALTH_INPUTS",
    "METRICS",
    "PRIORITIES",
    "SURVEY_KINDS",
    "TOUCHPOINT_KINDS",
    "Signals",
    "read_signals",
    "validate_signal",
]

HEALTH_INPUTS = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")

# Every listed column is required, even those whose values may be blank: a misspelt
# `closed_at` header must not quietly turn every ticket into an open one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "usage": ("customer_id", "date", "metric", "value"),
    "tickets": ("customer_id", "opened_at", "closed_at", "priority", "satisfaction"),
    "surveys": ("customer_id", "date", "kind", "score"),
    "touchpoints": ("customer_id", "date", "kind"),
    "stakeholders": ("customer_id", "name", "role", "champion", "decision_maker", "active_until"),
}

# The metrics the score reads; other metric names are kept but unused.
METRICS = ("active_users", "logins", "feature_events", "seats_used")
PRIORITIES = ("low", "normal", "high", "urgent")
SURVEY_KINDS = ("nps", "csat")
TOUCHPOINT_KINDS = ("meeting", "qbr", "email", "call")
BOOLEAN_WORDS: dict[str, bool] = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}

_DATE_FIX = "write it as YYYY-MM-DD (ISO), for example 2024-01-31"
_NUMBER_FIX = "write plain digits with a dot for decimals and no thousands separator, e.g. 1250.5"


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}"


def _customer_check() -> Check:
    return Check(
        "bad_customer",
        "customer_id",
        lambda v: "customer_id is empty; give every row the id used in the subscriptions",
    )


def _date_check(flag: str, column: str, *, blank_ok: str | None = None) -> Check:
    tail = f", or leave it empty {blank_ok}" if blank_ok else ""
    return Check(flag, column, lambda v: f"{column} is {_show(v)}, not a date; {_DATE_FIX}{tail}")


def _choice_check(flag: str, column: str, allowed: tuple[str, ...]) -> Check:
    return Check(
        flag,
        column,
        lambda v: f"{column} {_show(v)} is not known; use one of {_one_of(allowed)}",
    )


def _boolean_check(flag: str, column: str) -> Check:
    return Check(
        flag,
        column,
        lambda v: (
            f"{column} is {_show(v)}, not true or false; write true or false "
            "(yes/no and 1/0 also work)"
        ),
    )


def _whole(number: ir.NumericValue, low: int, high: int) -> ir.BooleanValue:
    """A whole number within [low, high]; false (never null) for text that is not a number."""
    return (number.notnull() & (number.floor() == number) & number.between(low, high)).fill_null(
        False
    )


def _small_int(number: ir.NumericValue, ok: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(ok, number.try_cast("int64"), ibis.null("int64"))


def _boolean(value: ir.StringValue) -> ir.BooleanValue:
    lower = value.lower()
    return ibis.cases(
        *((lower == word, ibis.literal(flag)) for word, flag in BOOLEAN_WORDS.items()),
        else_=ibis.null("boolean"),
    )


def _word(raw: RawSource, column: str) -> ir.StringValue:
    """Lower-case text; an empty cell is "" (not null) so that `isin` flags it."""
    return _text(raw, column).lower().fill_null("")


def _or_null(value: ir.StringValue) -> ir.StringValue:
    return ibis.ifelse(_blank(value), ibis.null("string"), value)


# Each builder turns the raw text into (typed columns, flags, checks). Flags must never be
# null: screening ORs them together.
_Parsed = tuple[dict[str, ir.Value], dict[str, ir.BooleanValue], tuple[Check, ...]]


def _usage(raw: RawSource) -> _Parsed:
    date = _date(_text(raw, "date"))
    metric = _word(raw, "metric")
    value_text = _text(raw, "value")
    value = parse_number(value_text)
    typed = {"date": date, "metric": metric, "value": value}
    flags = {
        "bad_date": date.isnull(),
        "bad_metric": _blank(metric),
        "bad_value": value.isnull(),
        "bad_negative": (value < 0).fill_null(False),
    }
    checks = (
        _date_check("bad_date", "date"),
        Check(
            "bad_metric",
            "metric",
            lambda v: f"metric is empty; name what was measured, e.g. {_one_of(METRICS)}",
        ),
        Check("bad_value", "value", lambda v: f"value is {_show(v)}, not a number; {_NUMBER_FIX}"),
        Check(
            "bad_negative",
            "value",
            lambda v: f"value {_show(v)} is negative; usage counts are 0 or more",
        ),
    )
    return typed, flags, checks


def _tickets(raw: RawSource) -> _Parsed:
    opened = _date(_text(raw, "opened_at"))
    closed_text = _text(raw, "closed_at")
    closed = _date(closed_text)
    priority = _word(raw, "priority")
    rating_text = _text(raw, "satisfaction")
    rating = parse_number(rating_text)
    rating_ok = _whole(rating, 1, 5)
    typed = {
        "opened_at": opened,
        "closed_at": closed,
        "priority": priority,
        "satisfaction": _small_int(rating, rating_ok),
    }
    flags = {
        "bad_opened": opened.isnull(),
        "bad_closed": ~_blank(closed_text) & closed.isnull(),
        "bad_order": (closed < opened).fill_null(False),
        "bad_priority": ~priority.isin(PRIORITIES),
        "bad_satisfaction": ~_blank(rating_text) & ~rating_ok,
    }
    checks = (
        _date_check("bad_opened", "opened_at"),
        _date_check("bad_closed", "closed_at", blank_ok="while the ticket is open"),
        Check(
            "bad_order",
            "closed_at",
            lambda v: (
                f"closed_at {_show(v)} is before opened_at; a ticket closes on or after "
                "the day it opened"
            ),
        ),
        _choice_check("bad_priority", "priority", PRIORITIES),
        Check(
            "bad_satisfaction",
            "satisfaction",
            lambda v: (
                f"satisfaction is {_show(v)}, not a whole number from 1 to 5; write 1 to 5, "
                "or leave it empty when the customer gave no rating"
            ),
        ),
    )
    return typed, flags, checks


def _surveys(raw: RawSource) -> _Parsed:
    date = _date(_text(raw, "date"))
    kind = _word(raw, "kind")
    score = parse_number(_text(raw, "score"))
    nps_ok, csat_ok = _whole(score, 0, 10), _whole(score, 1, 5)
    is_nps, is_csat = kind == "nps", kind == "csat"
    typed = {
        "date": date,
        "kind": kind,
        "score": _small_int(score, ibis.ifelse(is_nps, nps_ok, csat_ok)),
    }
    flags = {
        "bad_date": date.isnull(),
        "bad_kind": ~kind.isin(SURVEY_KINDS),
        "bad_nps": is_nps & ~nps_ok,
        "bad_csat": is_csat & ~csat_ok,
        # With an unknown kind the range is unknown too; still say when it is no number.
        "bad_score": ~kind.isin(SURVEY_KINDS) & score.isnull(),
    }
    checks = (
        _date_check("bad_date", "date"),
        _choice_check("bad_kind", "kind", SURVEY_KINDS),
        Check(
            "bad_nps",
            "score",
            lambda v: (
                f"score is {_show(v)}, not an NPS score; nps scores are whole numbers from 0 to 10"
            ),
        ),
        Check(
            "bad_csat",
            "score",
            lambda v: (
                f"score is {_show(v)}, not a CSAT score; csat scores are whole numbers from 1 to 5"
            ),
        ),
        Check(
            "bad_score",
            "score",
            lambda v: (
                f"score is {_show(v)}, not a number; write a whole number "
                "(0 to 10 for nps, 1 to 5 for csat)"
            ),
        ),
    )
    return typed, flags, checks


def _touchpoints(raw: RawSource) -> _Parsed:
    date = _date(_text(raw, "date"))
    kind = _word(raw, "kind")
    typed = {"date": date, "kind": kind}
    flags = {"bad_date": date.isnull(), "bad_kind": ~kind.isin(TOUCHPOINT_KINDS)}
    checks = (
        _date_check("bad_date", "date"),
        _choice_check("bad_kind", "kind", TOUCHPOINT_KINDS),
    )
    return typed, flags, checks


def _stakeholders(raw: RawSource) -> _Parsed:
    champion = _boolean(_text(raw, "champion"))
    decides = _boolean(_text(raw, "decision_maker"))
    until_text = _text(raw, "active_until")
    until = _date(until_text)
    typed = {
        "name": _or_null(_text(raw, "name")),
        "role": _or_null(_text(raw, "role")),
        "champion": champion,
        "decision_maker": decides,
        "active_until": until,
    }
    flags = {
        "bad_champion": champion.isnull(),
        "bad_decision_maker": decides.isnull(),
        "bad_until": ~_blank(until_text) & until.isnull(),
    }
    checks: tuple[Check, ...] = (
        _boolean_check("bad_champion", "champion"),
        _boolean_check("bad_decision_maker", "decision_maker"),
        _date_check("bad_until", "active_until", blank_ok="while the person is still there"),
    )
    # Optional: without the day a person arrived, a backtest takes everyone listed as there
    # from the start; with it, nobody counts before they came.
    if "active_from" in raw.columns:
        from_text = _text(raw, "active_from")
        since = _date(from_text)
        typed["active_from"] = since
        flags["bad_from"] = ~_blank(from_text) & since.isnull()
        flags["bad_span"] = since.notnull() & until.notnull() & (until < since)
        checks = (
            *checks,
            _date_check("bad_from", "active_from", blank_ok="if not known"),
            Check(
                "bad_span",
                "active_until",
                lambda v: (
                    f"active_until {_show(v)} is before active_from; the person must "
                    "arrive before they leave"
                ),
            ),
        )
    else:
        typed["active_from"] = ibis.null("date")
    return typed, flags, checks


_BUILDERS: dict[str, Callable[[RawSource], _Parsed]] = {
    "usage": _usage,
    "tickets": _tickets,
    "surveys": _surveys,
    "touchpoints": _touchpoints,
    "stakeholders": _stakeholders,
}


def _unknown_kind(kind: str) -> InputError:
    return InputError(
        Problem(
            source=kind,
            message=f"{kind!r} is not a health input; use one of {_one_of(HEALTH_INPUTS)}",
        )
    )


def validate_signal(
    con: ibis.BaseBackend, raw: RawSource, kind: str, *, intake: Intake
) -> ir.Table:
    """Check every row of one health input (`kind`, one of HEALTH_INPUTS); return it typed.

    Columns: customer_id (string) and those of COLUMNS[kind], dates as date, usage value as
    decimal(38, 10), scores and satisfaction as int64, champion/decision_maker as boolean;
    values that may be blank (closed_at, satisfaction, name, role, active_until) are null.
    Kinds, priorities and metrics come back in lower case.
    """
    if kind not in _BUILDERS:
        raise _unknown_kind(kind)
    _require_columns(raw, COLUMNS[kind], kind, ", ".join(COLUMNS[kind]))
    if raw.name not in intake.accounts:
        intake.open_account(raw, con)
    typed, flags, checks = _BUILDERS[kind](raw)
    t = raw.table
    customer = _text(raw, "customer_id")
    parsed = t.select(t[ROW], customer_id=customer, **typed, bad_customer=_blank(customer), **flags)
    clean = screen(con, raw, parsed, (_customer_check(), *checks), intake, prefix=f"nrr_{kind}")
    account = intake.account(raw.name)
    account.rows_used += int(clean.count().execute())
    account.check()
    return clean.select("customer_id", *typed)


@dataclass(frozen=True)
class Signals:
    """The health inputs given, each a typed table; None for an input not given."""

    usage: ir.Table | None = None
    tickets: ir.Table | None = None
    surveys: ir.Table | None = None
    touchpoints: ir.Table | None = None
    stakeholders: ir.Table | None = None

    def present(self) -> tuple[str, ...]:
        """The inputs given, in the order of HEALTH_INPUTS."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


def read_signals(
    con: ibis.BaseBackend, sources: Mapping[str, RawSource | None], *, intake: Intake
) -> Signals:
    """Validate every health input given (kind -> raw source; None or absent = not given).

    Under the fail policy the problems of every file are gathered into one InputError, so
    all the files can be fixed in one pass.
    """
    unknown = [k for k in sources if k not in HEALTH_INPUTS]
    if unknown:
        raise _unknown_kind(unknown[0])
    tables: dict[str, ir.Table] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    for kind in HEALTH_INPUTS:
        raw = sources.get(kind)
        if raw is None:
            continue
        try:
            tables[kind] = validate_signal(con, raw, kind, intake=intake)
        except InputError as exc:
            problems.extend(exc.problems)
            if exc.note:
                notes.append(exc.note)
    if problems:
        raise InputError(problems, note="\n".join(notes) or None)
    return Signals(**tables)
