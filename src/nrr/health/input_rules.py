"""The rules of each health input (docs/health-inputs.md): its columns, the values it allows,
and the query that types every row and flags each rule it breaks, as SQL expressions for the
intake's DuckDB (`nrr.parsing`). `inputs.py` runs them through the intake's policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nrr.parsing import blank, cases, column, iso_date, literal, parse_number, trimmer
from nrr.screen import Check
from nrr.sources.files import ROW, RawSource
from nrr.validate import _show

__all__ = [
    "BOOLEAN_WORDS",
    "COLUMNS",
    "METRICS",
    "PRIORITIES",
    "RULES",
    "SURVEY_KINDS",
    "TOUCHPOINT_KINDS",
    "Parsed",
    "checking_query",
    "customer_check",
    "one_of",
]

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


def one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}"


def customer_check() -> Check:
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
        lambda v: f"{column} {_show(v)} is not known; use one of {one_of(allowed)}",
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


def _whole(number: str, low: int, high: int) -> str:
    """A whole number within [low, high]; false (never null) for text that is not a number."""
    return (
        f"COALESCE(({number} IS NOT NULL) AND (FLOOR({number}) = {number}) "
        f"AND ({number} BETWEEN {low:d} AND {high:d}), FALSE)"
    )


def _small_int(number: str, ok: str) -> str:
    return f"CASE WHEN {ok} THEN TRY_CAST({number} AS BIGINT) ELSE CAST(NULL AS BIGINT) END"


def _boolean(value: str) -> str:
    lower = f"LOWER({value})"
    return cases(
        [(f"{lower} = {literal(word)}", literal(flag)) for word, flag in BOOLEAN_WORDS.items()],
        "CAST(NULL AS BOOLEAN)",
    )


def _word(value: str) -> str:
    """Lower-case text; an empty cell is "" (not null), so that it is flagged as unknown."""
    return f"COALESCE(LOWER({value}), '')"


def _or_null(value: str) -> str:
    return f"CASE WHEN {blank(value)} THEN CAST(NULL AS VARCHAR) ELSE {value} END"


def _given(value: str) -> str:
    return f"(NOT {blank(value)})"


def _is_one_of(value: str, allowed: tuple[str, ...]) -> str:
    return f"({value} IN ({', '.join(literal(a) for a in allowed)}))"


def _kept(*names: str) -> dict[str, str]:
    return {name: column(name) for name in names}


@dataclass(frozen=True)
class Parsed:
    """How one input is read, in two steps over its trimmed text columns `texts` (and
    customer_id): `values`, each parsed once, by name; then, over those values, `typed` (the
    columns returned, in order) and `flags`, which must never be null: screening ORs them
    together. A value keeps its text column's name when it is that column parsed, so a name
    means the text in `values` and the parsed value in `typed` and `flags`; helper values
    start with `_`."""

    texts: tuple[str, ...]
    values: dict[str, str]
    typed: dict[str, str]
    flags: dict[str, str]
    checks: tuple[Check, ...]


def _usage(raw: RawSource) -> Parsed:
    date, metric, value = column("date"), column("metric"), column("value")
    return Parsed(
        texts=COLUMNS["usage"],
        values={"date": iso_date(date), "metric": _word(metric), "value": parse_number(value)},
        typed=_kept("date", "metric", "value"),
        flags={
            "bad_date": f"({date} IS NULL)",
            "bad_metric": blank(metric),
            "bad_value": f"({value} IS NULL)",
            "bad_negative": f"COALESCE({value} < 0, FALSE)",
        },
        checks=(
            _date_check("bad_date", "date"),
            Check(
                "bad_metric",
                "metric",
                lambda v: f"metric is empty; name what was measured, e.g. {one_of(METRICS)}",
            ),
            Check(
                "bad_value",
                "value",
                lambda v: f"value is {_show(v)}, not a number; {_NUMBER_FIX}",
            ),
            Check(
                "bad_negative",
                "value",
                lambda v: f"value {_show(v)} is negative; usage counts are 0 or more",
            ),
        ),
    )


def _tickets(raw: RawSource) -> Parsed:
    opened, closed = column("opened_at"), column("closed_at")
    priority, satisfaction = column("priority"), column("satisfaction")
    rating, closed_given, rated = column("_rating"), column("_closed_given"), column("_rated")
    rating_ok = _whole(rating, 1, 5)
    return Parsed(
        texts=COLUMNS["tickets"],
        values={
            "opened_at": iso_date(opened),
            "closed_at": iso_date(closed),
            "_closed_given": _given(closed),
            "priority": _word(priority),
            "_rating": parse_number(satisfaction),
            "_rated": _given(satisfaction),
        },
        typed={
            **_kept("opened_at", "closed_at", "priority"),
            "satisfaction": _small_int(rating, rating_ok),
        },
        flags={
            "bad_opened": f"({opened} IS NULL)",
            "bad_closed": f"({closed_given} AND {closed} IS NULL)",
            "bad_order": f"COALESCE({closed} < {opened}, FALSE)",
            "bad_priority": f"(NOT {_is_one_of(priority, PRIORITIES)})",
            "bad_satisfaction": f"({rated} AND NOT {rating_ok})",
        },
        checks=(
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
        ),
    )


def _surveys(raw: RawSource) -> Parsed:
    date, kind, score = column("date"), column("kind"), column("_score")
    nps_ok, csat_ok = _whole(score, 0, 10), _whole(score, 1, 5)
    is_nps, is_csat = f"({kind} = {literal('nps')})", f"({kind} = {literal('csat')})"
    known = _is_one_of(kind, SURVEY_KINDS)
    return Parsed(
        texts=COLUMNS["surveys"],
        values={
            "date": iso_date(date),
            "kind": _word(kind),
            "_score": parse_number(column("score")),
        },
        typed={
            **_kept("date", "kind"),
            "score": _small_int(score, f"CASE WHEN {is_nps} THEN {nps_ok} ELSE {csat_ok} END"),
        },
        flags={
            "bad_date": f"({date} IS NULL)",
            "bad_kind": f"(NOT {known})",
            "bad_nps": f"({is_nps} AND NOT {nps_ok})",
            "bad_csat": f"({is_csat} AND NOT {csat_ok})",
            # With an unknown kind the range is unknown too; still say when it is no number.
            "bad_score": f"(NOT {known} AND {score} IS NULL)",
        },
        checks=(
            _date_check("bad_date", "date"),
            _choice_check("bad_kind", "kind", SURVEY_KINDS),
            Check(
                "bad_nps",
                "score",
                lambda v: (
                    f"score is {_show(v)}, not an NPS score; nps scores are whole numbers "
                    "from 0 to 10"
                ),
            ),
            Check(
                "bad_csat",
                "score",
                lambda v: (
                    f"score is {_show(v)}, not a CSAT score; csat scores are whole numbers "
                    "from 1 to 5"
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
        ),
    )


def _touchpoints(raw: RawSource) -> Parsed:
    date, kind = column("date"), column("kind")
    return Parsed(
        texts=COLUMNS["touchpoints"],
        values={"date": iso_date(date), "kind": _word(kind)},
        typed=_kept("date", "kind"),
        flags={
            "bad_date": f"({date} IS NULL)",
            "bad_kind": f"(NOT {_is_one_of(kind, TOUCHPOINT_KINDS)})",
        },
        checks=(
            _date_check("bad_date", "date"),
            _choice_check("bad_kind", "kind", TOUCHPOINT_KINDS),
        ),
    )


def _stakeholders(raw: RawSource) -> Parsed:
    champion, decides = column("champion"), column("decision_maker")
    until, until_given = column("active_until"), column("_until_given")
    texts = COLUMNS["stakeholders"]
    values = {
        "name": _or_null(column("name")),
        "role": _or_null(column("role")),
        "champion": _boolean(champion),
        "decision_maker": _boolean(decides),
        "active_until": iso_date(until),
        "_until_given": _given(until),
    }
    flags = {
        "bad_champion": f"({champion} IS NULL)",
        "bad_decision_maker": f"({decides} IS NULL)",
        "bad_until": f"({until_given} AND {until} IS NULL)",
    }
    checks: tuple[Check, ...] = (
        _boolean_check("bad_champion", "champion"),
        _boolean_check("bad_decision_maker", "decision_maker"),
        _date_check("bad_until", "active_until", blank_ok="while the person is still there"),
    )
    # Optional: without the day a person arrived, a backtest takes everyone listed as there
    # from the start; with it, nobody counts before they came.
    if "active_from" in raw.columns:
        since = column("active_from")
        texts = (*texts, "active_from")
        values["active_from"] = iso_date(since)
        values["_from_given"] = _given(since)
        flags["bad_from"] = f"({column('_from_given')} AND {since} IS NULL)"
        flags["bad_span"] = f"({since} IS NOT NULL AND {until} IS NOT NULL AND {until} < {since})"
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
        values["active_from"] = "CAST(NULL AS DATE)"
    typed = _kept("name", "role", "champion", "decision_maker", "active_until", "active_from")
    return Parsed(texts=texts, values=values, typed=typed, flags=flags, checks=checks)


def checking_query(raw: RawSource, parsed: Parsed) -> str:
    """The query `screen` takes: `_row`, customer_id, the typed columns and every flag, in
    three nested steps so that each text is trimmed once and each value parsed once."""
    trim = trimmer(raw.spaced)
    row, customer = column(ROW), column("customer_id")
    texts = ", ".join(f"{trim(column(c))} AS {column(c)}" for c in parsed.texts)
    trimmed = f"SELECT {row}, {texts} FROM ({raw.relation}) AS raw"
    values = ", ".join(f"{sql} AS {column(name)}" for name, sql in parsed.values.items())
    valued = f"SELECT {row}, {customer}, {values} FROM ({trimmed}) AS trimmed"
    flags = {"bad_customer": blank(customer), **parsed.flags}
    out = ", ".join(f"{sql} AS {column(name)}" for name, sql in (parsed.typed | flags).items())
    return f"SELECT {row}, {customer}, {out} FROM ({valued}) AS valued"


RULES: dict[str, Callable[[RawSource], Parsed]] = {
    "usage": _usage,
    "tickets": _tickets,
    "surveys": _surveys,
    "touchpoints": _touchpoints,
    "stakeholders": _stakeholders,
}
