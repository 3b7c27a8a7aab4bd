"""The query parameters and checks of the API's health endpoints (/api/health, /api/risks,
/api/opportunities in api.py): the day is checked against the months in the data and the
health inputs against what the server was started with, before any engine work."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

from fastapi import Query, Response

from nrr.errors import InputError, Problem
from nrr.months import month_label
from nrr.web.service import Service

if TYPE_CHECKING:
    from nrr.health.results import HealthResult

__all__ = ["NO_INPUTS", "AsOf", "HealthCustomer", "Limit", "TierParam", "cut", "scores"]

AsOf = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])(-[0-9]{2})?$",
        description="Score as of this day, YYYY-MM-DD or YYYY-MM (its first day), using only "
        "data before it; the customers scored are those active in the month before it, which "
        "must be a month of the data (default: the day after the last month in the data).",
        examples=["2024-07-01"],
    ),
]
TierParam = Annotated[
    str | None,
    Query(max_length=20, description="Only this tier: healthy, neutral, at-risk or unknown."),
]
HealthCustomer = Annotated[
    str | None,
    Query(max_length=500, description="Only this customer (its components in full)."),
]
Limit = Annotated[
    int,
    Query(
        ge=0,
        le=100_000,
        description="At most this many rows, largest first (the count and total are of all "
        "of them); 0 for all.",
    ),
]
NO_INPUTS = (
    "no health inputs: this server was started without any; start `nrr serve` with at least "
    "one of --usage, --tickets, --surveys, --touchpoints, --stakeholders (or tables of those "
    "names in the --db file); formats: docs/health-inputs.md"
)


def scores(svc: Service, as_of: str | None) -> HealthResult:
    """Every customer's score as of the day, once per day; the day is checked against the
    months in the data before any engine work."""
    from nrr.health.indicators import reference_month
    from nrr.health.results import as_of_day, health_scores, parse_day

    day: date | None = None
    if as_of is not None:
        day = parse_day(as_of, what="as_of")
        scored = month_label(reference_month(day))
        if scored not in svc.months:
            span = f"{svc.months[0]} to {svc.months[-1]}" if svc.months else "none"
            raise InputError(
                Problem(
                    source="as_of",
                    message=f"{day} scores the customers active in {scored}, the month before "
                    f"it, which is outside the months in the data ({span})",
                )
            )
    if not svc.cached(("health-inputs",), lambda: bool(svc.book.signals().present())):
        raise InputError(Problem(source="health", message=NO_INPUTS))
    day = day or svc.cached(("health-day",), lambda: as_of_day(svc.book, None))
    return svc.cached(("health", day), lambda: health_scores(svc.book, day))


def cut(text: str, key: str, limit: int) -> Response:
    """The CLI's JSON with its list `key` cut to `limit` rows (0: all)."""
    if limit == 0:
        return Response(content=text, media_type="application/json")
    body = json.loads(text)
    body[key] = body[key][:limit]
    text = json.dumps(body, indent=2, ensure_ascii=False)
    return Response(content=text, media_type="application/json")
