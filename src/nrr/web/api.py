"""The JSON API under /api: every view of the dashboard, as the CLI's `--format json` gives it.

`/api/metrics` is exactly `nrr metrics --format json` for the same parameters, `/api/movements`
exactly `nrr movements --format json`, and so on for trends, cohorts, methods, rates and owners;
`/api/health`, `/api/risks` and `/api/opportunities` are `nrr health`, `nrr risks` and `nrr
opportunities --format json` (the last two cut to `limit` rows); the drill-down, charts, lineage
and meta endpoints are the dashboard's own.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from nrr.errors import InputError, Problem
from nrr.months import month_label, parse_month
from nrr.web.health import AsOf, HealthCustomer, Limit, TierParam, cut, scores
from nrr.web.params import (
    AM,
    CSM,
    By,
    ByOrNone,
    ChartName,
    ChartPath,
    CustomerId,
    End,
    Filter,
    FxMode,
    FxModeParam,
    Grain,
    GrainParam,
    Segment,
    Since,
    Start,
    Value,
    Window,
    Windows,
)
from nrr.web.service import DEFAULT_WINDOW, MAX_WINDOW, Params, Service

__all__ = ["ERRORS", "router"]


class ErrorBody(BaseModel):
    """An error: what is wrong with the request, and how to fix it (a list of problems for
    a parameter of the wrong form)."""

    detail: str | list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "A token is configured and was not given."},
    422: {
        "model": ErrorBody,
        "description": "A parameter is malformed or names something the data does not hold "
        "(an attribute, value, month or column); `detail` says which and lists what exists.",
    },
}
JSON_TEXT = {"content": {"application/json": {"schema": {"type": "object"}}}}
JSON_LIST = {"content": {"application/json": {"schema": {"type": "array", "items": {}}}}}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


Svc = Annotated[Service, Depends(service)]


def _json(text: str) -> Response:
    return Response(content=text, media_type="application/json")


def common(
    svc: Svc,
    end: End = None,
    window: Window = DEFAULT_WINDOW,
    by: By = None,
    fx_mode: FxModeParam = FxMode.spot,
    filter: Filter = None,
    value: Value = None,
) -> Params:
    """The window and the segment filter, checked against the book."""
    return svc.params(
        end=end, window=window, by=by, fx_mode=fx_mode.value, filter=filter, value=value
    )


def unsliced(
    svc: Svc,
    end: End = None,
    window: Window = DEFAULT_WINDOW,
    by: ByOrNone = None,
    fx_mode: FxModeParam = FxMode.spot,
    filter: Filter = None,
    value: Value = None,
) -> Params:
    """As `common`, but without `by` the whole book only, as the CLI without --by."""
    return svc.params(
        end=end,
        window=window,
        by=by,
        fx_mode=fx_mode.value,
        filter=filter,
        value=value,
        slices=False,
    )


def scope(
    svc: Svc,
    end: End = None,
    window: Window = DEFAULT_WINDOW,
    filter: Filter = None,
    value: Value = None,
) -> Params:
    """The window end and length and the segment filter (for views without slices)."""
    return svc.params(end=end, window=window, filter=filter, value=value)


Common = Annotated[Params, Depends(common)]
Unsliced = Annotated[Params, Depends(unsliced)]
Scope = Annotated[Params, Depends(scope)]


@router.get("/meta", summary="What the data holds", responses={200: JSON_TEXT})
def meta(svc: Svc) -> Response:
    """Currency, the months in the data, the attributes usable as `by`, the filterable
    attributes with their values, fx modes, defaults, benchmark bands and conventions."""
    return _json(svc.cached(("meta",), lambda: json.dumps(meta_record(svc), indent=2)))


def meta_record(svc: Service) -> dict[str, Any]:
    from nrr.records.rounding import ratio_number

    book = svc.book
    return {
        "currency": book.currency,
        "currencies": list(book.currencies),
        "months": svc.months,
        "attributes": svc.attributes,
        "filters": {name: svc.values(name) for name in svc.filterable},
        "fx_modes": [m.value for m in FxMode],
        "grains": [g.value for g in Grain],
        "charts": [c.value for c in ChartName],
        "window_max": MAX_WINDOW,
        "defaults": {
            "end": svc.default_end,
            "window": DEFAULT_WINDOW,
            "by": svc.default_by,
            "fx_mode": FxMode.spot.value,
        },
        "benchmarks": [
            {
                "metric": b.metric,
                "title": b.title,
                "window_months": b.window_months,
                "source": b.source,
                # The first band also covers everything below its floor: no floor.
                "bands": [
                    {
                        "floor": None if i == 0 else ratio_number(band.floor),
                        "label": band.label,
                        "tone": band.tone,
                    }
                    for i, band in enumerate(b.bands)
                ],
            }
            for b in book.benchmarks
        ],
        "conventions": book.conventions.as_dict(),
        "counted_with": book.conventions.describe(),
    }


@router.get("/metrics", summary="Retention over one window", responses={200: JSON_TEXT})
def metrics(svc: Svc, p: Unsliced) -> Response:
    """NRR, GRR, logo retention and the netted bridge, overall and per slice of `by`: exactly
    `nrr metrics --format json` with the same options."""
    from nrr.present.machine import window_json

    def compute() -> str:
        book = svc.scoped(p)
        return window_json(book.window(p.end, window=p.window, by=p.by, fx_mode=p.fx_mode))

    return _json(svc.cached(("metrics", p), compute))


@router.get("/movements", summary="The monthly MRR bridge", responses={200: JSON_LIST})
def movements(svc: Svc, p: Unsliced, start: Start = None) -> Response:
    """New, reactivation, expansion, contraction, churn and fx per month (and slice of `by`)
    from `start` (default: the window's first month, `window - 1` months before `end`) to
    `end`: exactly `nrr movements --format json`. A bridge cannot be sliced by tenure."""
    from nrr.present.machine import bridge_json

    first = svc.month(start, "start") or month_label(parse_month(p.end) - p.window + 1)

    def compute() -> str:
        return bridge_json(svc.scoped(p).bridge(first, p.end, by=p.by))

    return _json(svc.cached(("movements", first, p.end, p.by, p.filter, p.value), compute))


@router.get("/trends", summary="Rolling retention series", responses={200: JSON_TEXT})
def trends(svc: Svc, p: Unsliced, start: Start = None, windows: Windows = "1,3,12") -> Response:
    """NRR, GRR and logo retention of the windows of each length in `windows` ending each
    month from `start` (default: 11 months before `end`) to `end`: exactly `nrr trends
    --format json`."""
    from nrr.analysis.trends import parse_windows
    from nrr.present.trends import trend_json

    lengths = parse_windows(windows)
    if max(lengths) > MAX_WINDOW:
        raise InputError(
            Problem(source="windows", message=f"a window is at most {MAX_WINDOW} months")
        )
    first = svc.month(start, "start") or month_label(max(parse_month(p.end) - 11, 0))

    def compute() -> str:
        book = svc.scoped(p)
        return trend_json(
            book.trends(p.end, start=first, windows=lengths, by=p.by, fx_mode=p.fx_mode)
        )

    return _json(svc.cached(("trends", first, lengths, p), compute))


@router.get("/cohorts", summary="Signup-cohort matrices", responses={200: JSON_TEXT})
def cohorts(
    svc: Svc,
    end: End = None,
    grain: GrainParam = Grain.month,
    since: Since = None,
    filter: Filter = None,
    value: Value = None,
) -> Response:
    """Revenue and logo retention of each signup cohort at each age: exactly `nrr cohorts
    --format json`."""
    from nrr.present.cohorts import cohort_json

    p = svc.params(end=end, filter=filter, value=value)
    first = svc.month(since, "since")

    def compute() -> str:
        return cohort_json(svc.scoped(p).cohorts(p.end, grain=grain.value, since=first))

    return _json(svc.cached(("cohorts", p.end, grain.value, first, p.filter, p.value), compute))


@router.get("/methods", summary="NRR five ways, reconciled", responses={200: JSON_TEXT})
def methods(svc: Svc, p: Scope) -> Response:
    """NRR by five methods for the window and the reconciliation of their gaps: exactly
    `nrr methods --format json`."""
    from nrr.present.methods import methods_json

    def compute() -> str:
        return methods_json(svc.scoped(p).methods(p.end, window=p.window))

    return _json(svc.cached(("methods", p.end, p.window, p.filter, p.value), compute))


@router.get("/rates", summary="Churn rates and quick ratio", responses={200: JSON_TEXT})
def rates(svc: Svc, p: Scope) -> Response:
    """Customer churn rate, gross and net MRR churn rates and the quick ratio, per month of
    the window and for the window: exactly `nrr rates --format json`."""
    from nrr.present.methods import rates_json

    def compute() -> str:
        book = svc.scoped(p)
        return rates_json(book.churn_rates(p.end, window=p.window), book.benchmarks)

    return _json(svc.cached(("rates", p.end, p.window, p.filter, p.value), compute))


@router.get("/owners", summary="CSM and account manager books", responses={200: JSON_TEXT})
def owners(
    svc: Svc,
    p: Scope,
    fx_mode: FxModeParam = FxMode.spot,
    csm: CSM = "csm",
    am: AM = "account_manager",
) -> Response:
    """Per CSM: book, GRR, churn, contraction; per account manager: expansion by cause. The
    columns must be columns of the customers input: exactly `nrr owners --format json`."""
    from nrr.present.causes import owners_json

    def compute() -> str:
        book = svc.scoped(p)
        return owners_json(
            book.owners(p.end, window=p.window, csm=csm, am=am, fx_mode=fx_mode.value)
        )

    key = ("owners", p.end, p.window, fx_mode.value, csm, am, p.filter, p.value)
    return _json(svc.cached(key, compute))


@router.get("/charts/{name}", summary="A chart of the dashboard", responses={200: JSON_TEXT})
def chart(svc: Svc, name: ChartPath, p: Common) -> Response:
    """The plotly figure (`data` and `layout`) of one of the dashboard's charts, for the same
    parameters as the page."""

    def compute() -> str:
        from nrr.present.views import chart_figures

        return str(chart_figures(svc.views(p))[name.value].to_json())

    return _json(svc.cached(("chart", name.value, p), compute))


@router.get("/lineage", summary="Where the numbers came from", responses={200: JSON_TEXT})
def lineage(svc: Svc, p: Common) -> Response:
    """The inputs, what happened to every row, the conventions and the options in force."""
    from nrr.present.lineage import lineage as record

    options = {"end": p.end, "window": p.window, "by": p.by, "fx_mode": p.fx_mode}

    def compute() -> str:
        return json.dumps(record(svc.scoped(p), options), indent=2, default=str)

    return _json(svc.cached(("lineage", p), compute))


@router.get("/drill/segment", summary="The customers of one slice", responses={200: JSON_TEXT})
def drill_segment(svc: Svc, p: Common, segment: Segment) -> Response:
    """Every customer of the slice `by` = `segment` over the window: the starting cohort and
    those that started or returned inside it, with starting MRR, ending MRR at the start's
    rates (the movement is between these two) and at the end's, movement and amount, largest
    change first. The cohort's columns add
    up to the slice's figures in /api/metrics."""
    return _json(
        svc.cached(
            ("drill-segment", p, segment),
            lambda: json.dumps(svc.slice_record(p, segment), indent=2),
        )
    )


@router.get(
    "/drill/customer",
    summary="One customer's months",
    responses={200: JSON_TEXT, 404: {"model": ErrorBody, "description": "No such customer."}},
)
def drill_customer(
    svc: Svc, customer: CustomerId, start: Start = None, end: End = None
) -> Response:
    """The customer's month-end MRR (base currency at each month's rates, as the bridge
    values it) and movements for each month from `start` (default: its first line's month)
    to `end` (default: the last month in the data), its attributes and its lines."""
    return _json(
        svc.cached(
            ("drill-customer", customer, start, end),
            lambda: json.dumps(svc.history_record(customer, start, end), indent=2),
        )
    )


# --- health: the scores, the risks, the opportunities -----------------------------------------


@router.get(
    "/health",
    summary="Customer health scores",
    responses={200: JSON_TEXT, 404: {"model": ErrorBody, "description": "No such customer."}},
)
def health(
    svc: Svc, as_of: AsOf = None, tier: TierParam = None, customer: HealthCustomer = None
) -> Response:
    """Every customer's health score (0-100), tier, change since a month earlier, components
    and reasons, with the customers and MRR per tier: exactly `nrr health --format json`.
    Needs the server started with health inputs (docs/health-inputs.md)."""
    from nrr.present.health import health_json, pick_tier

    wanted = pick_tier(tier)
    if customer is not None:
        svc.customer(customer)
    result = scores(svc, as_of)
    key = ("health-json", result.as_of, customer, wanted)
    return _json(svc.cached(key, lambda: health_json(result, customer=customer, tier=wanted)))


@router.get("/risks", summary="At-risk customers", responses={200: JSON_TEXT})
def risks(svc: Svc, as_of: AsOf = None, limit: Limit = 50) -> Response:
    """The at-risk customers ranked by MRR at risk, with their reasons and CSM: exactly `nrr
    risks --format json`, the list cut to `limit`."""
    from nrr.health.results import risks as at_risk
    from nrr.present.health import risks_json

    result = scores(svc, as_of)
    text = svc.cached(
        ("risks-json", result.as_of),
        lambda: risks_json(result, at_risk(result, owner="csm")),
    )
    return cut(text, "risks", limit)


@router.get("/opportunities", summary="Expansion opportunities", responses={200: JSON_TEXT})
def opportunities(svc: Svc, as_of: AsOf = None, limit: Limit = 50) -> Response:
    """Customers showing expansion signals ranked by potential MRR, with their account
    manager: exactly `nrr opportunities --format json`, the list cut to `limit`."""
    from nrr.health.results import opportunities as expanding
    from nrr.present.health import opportunities_json

    result = scores(svc, as_of)
    text = svc.cached(
        ("opportunities-json", result.as_of),
        lambda: opportunities_json(result, expanding(result, owner="account_manager")),
    )
    return cut(text, "opportunities", limit)
