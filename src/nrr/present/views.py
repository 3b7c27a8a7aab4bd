"""What one report or dashboard page shows, computed once: `build_views` runs every analysis
the page needs for one window, and `chart_figures` turns the results into plotly figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

from nrr.analysis.cohorts import CohortResult
from nrr.analysis.methods import MethodsResult
from nrr.analysis.owners import OwnersResult
from nrr.analysis.rates import RatesResult
from nrr.analysis.trends import DEFAULT_WINDOWS, TrendResult
from nrr.book import Book
from nrr.errors import InputError
from nrr.limits import check_months_count
from nrr.months import month_label, parse_month
from nrr.present import charts
from nrr.results import BridgeMonth, WindowResult

if TYPE_CHECKING:
    from nrr.health.results import HealthResult, Opportunity, Risk

__all__ = [
    "CHARTS",
    "HEALTH_TOP",
    "OWNER_COLUMNS",
    "HealthView",
    "Views",
    "build_views",
    "chart_figures",
    "default_by",
    "has_owners",
    "health_view",
]

# The charts, in page order: the `data-chart` names of the contract with the dashboard.
CHARTS = ("waterfall", "monthly_bridge", "trends", "cohorts", "segments")
# How many end months the trend chart covers (fewer when the data starts later).
TREND_MONTHS = 24
OWNER_COLUMNS = ("csm", "account_manager")
# How many risks and opportunities the page lists (the API and the CLI give them all).
HEALTH_TOP = 10

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HealthView:
    """The health section: the tiers, the largest risks and opportunities as of `as_of`.

    `problem` is set instead of the figures when health inputs are given but nothing can be
    scored as of that day (no customer has MRR in the window's end month, as in a filtered
    slice whose customers all left): the page says so rather than failing."""

    as_of: date
    reference: str  # the month scored: the window's end month
    result: HealthResult | None
    tiers: list[dict[str, Any]]  # HealthResult.tiers() records: tier, customers, mrr, share
    risks: list[Risk]  # the HEALTH_TOP largest, by MRR at risk
    risk_count: int
    mrr_at_risk: Decimal  # of every at-risk customer, not only those listed
    opportunities: list[Opportunity]  # the HEALTH_TOP largest, by potential MRR
    opportunity_count: int
    potential_mrr: Decimal
    problem: str | None = None


@dataclass(frozen=True)
class Views:
    """Everything one report or dashboard page shows, computed once (exact results)."""

    book: Book
    end: str
    window: int
    by: str
    fx_mode: str
    window_result: WindowResult  # book.window(end, window, by, fx_mode)
    bridge: list[BridgeMonth]  # the window's months, start + 1 .. end
    trends: TrendResult  # 1/3/12-month (and `window`-month) windows ending each month
    cohorts: CohortResult  # month grain, every cohort
    methods: MethodsResult
    rates: RatesResult  # the quick ratio of the headline
    owners: OwnersResult | None  # None when the customers have no csm/account_manager
    health: HealthView | None = None  # None when no health input is given

    @property
    def start(self) -> str:
        return self.window_result.start

    def options(self) -> dict[str, object]:
        """The options in force, as the lineage shows them."""
        return {"end": self.end, "window": self.window, "by": self.by, "fx_mode": self.fx_mode}


def default_by(book: Book) -> str:
    """`segment` when the customers have that column, else the derived `cohort`."""
    return "segment" if "segment" in book.attributes else "cohort"


def has_owners(book: Book) -> bool:
    return all(column in book.attributes for column in OWNER_COLUMNS)


def build_views(
    book: Book,
    *,
    end: str | None = None,
    window: int = 12,
    by: str | None = None,
    fx_mode: str = "spot",
    progress: Progress | None = None,
    health: Callable[[Book, str], HealthView] | None = None,
) -> Views:
    """Compute every view of the page for the `window` months ending `end` (default: the last
    month in the data), sliced by `by` (default `default_by(book)`). `progress(step)` is
    called before each step, for a status line. `health(book, end)` computes the health
    section (default `health_view`; the dashboard passes one that keeps it per end month,
    since it does not depend on the window, `by` or fx mode)."""

    def step(label: str) -> None:
        if progress is not None:
            progress(label)

    if end is None:
        latest = book.latest_month()
        if latest is None:
            raise InputError("the subscriptions hold no revenue; there is no month to report on")
        end = month_label(latest)
    end_m = parse_month(end, what="--end")
    check_months_count(window)
    by = by or default_by(book)
    step("retention over the window")
    window_result = book.window(end, window=window, by=by, fx_mode=fx_mode)
    step("monthly MRR bridge")
    bridge = book.bridge(month_label(end_m - window + 1), end)
    step("rolling trends")
    first = book.first_month if book.first_month is not None else end_m
    trend_start = max(end_m - TREND_MONTHS + 1, min(first + 1, end_m))
    lengths = tuple(dict.fromkeys((*DEFAULT_WINDOWS, window)))
    trends = book.trends(end, start=month_label(trend_start), windows=lengths, fx_mode=fx_mode)
    step("signup cohorts")
    cohorts = book.cohorts(end, grain="month")
    step("NRR methods")
    methods = book.methods(end, window=window)
    step("churn rates")
    rates = book.churn_rates(end, window=window)
    owners = None
    if has_owners(book):
        step("owners")
        owners = book.owners(end, window=window, fx_mode=fx_mode)
    found_health = None
    if book.signals().present():
        step("customer health")
        found_health = (health or health_view)(book, end)
    return Views(
        book=book,
        end=end,
        window=window,
        by=by,
        fx_mode=fx_mode,
        window_result=window_result,
        bridge=bridge,
        trends=trends,
        cohorts=cohorts,
        methods=methods,
        rates=rates,
        owners=owners,
        health=found_health,
    )


def health_view(book: Book, end: str, *, top: int = HEALTH_TOP) -> HealthView:
    """Health as of the first day after the window's `end` month, so the customers scored are
    those active in `end` and only data up to the window is used (as `nrr health --as-of`).
    Risks name the csm and opportunities the account_manager, when the customers have them."""
    from nrr.health.indicators import month_start
    from nrr.health.results import health_scores, opportunities, risks

    day = month_start(parse_month(end, what="--end") + 1)
    try:
        result = health_scores(book, day)
    except InputError as problem:
        # The inputs were read and checked by `book.signals()` before this; what is left is
        # a day with nobody to score, which should not take the rest of the page down.
        return HealthView(
            as_of=day,
            reference=end,
            result=None,
            tiers=[],
            risks=[],
            risk_count=0,
            mrr_at_risk=Decimal(0),
            opportunities=[],
            opportunity_count=0,
            potential_mrr=Decimal(0),
            problem="; ".join(p.message for p in problem.problems),
        )
    found_risks = risks(result, owner="csm")
    found_opportunities = opportunities(result, owner="account_manager")
    return HealthView(
        as_of=result.as_of,
        reference=result.reference,
        result=result,
        tiers=result.tiers().to_dict("records"),
        risks=found_risks[:top],
        risk_count=len(found_risks),
        mrr_at_risk=sum((r.mrr_at_risk for r in found_risks), Decimal(0)),
        opportunities=found_opportunities[:top],
        opportunity_count=len(found_opportunities),
        potential_mrr=sum((o.potential_mrr for o in found_opportunities), Decimal(0)),
    )


def chart_figures(views: Views) -> dict[str, go.Figure]:
    """The page's charts by their `data-chart` name, in page order."""
    return {
        "waterfall": charts.bridge_waterfall(views.window_result),
        "monthly_bridge": charts.monthly_bridge_bars(views.bridge, views.book.currency),
        "trends": charts.retention_trends(views.trends, views.window),
        "cohorts": charts.cohort_heatmap(views.cohorts),
        "segments": charts.segment_comparison(views.window_result),
    }
