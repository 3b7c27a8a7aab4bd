"""Health as of a day, the customers at risk, and the expansion opportunities.

result = book.health("2025-06-01")        # every customer: score, tier, components
book.risks("2025-06-01")                   # at-risk customers by MRR at risk
book.opportunities("2025-06-01")           # expansion signals by potential MRR
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

import pandas as pd
import sqlglot.expressions as sge

from nrr.errors import InputError, Problem
from nrr.health.handover import health_tables
from nrr.health.indicators import Ledger, measure, month_start, reference_month
from nrr.health.queries import fetch_frame
from nrr.health.score import change, component_columns, inputs_used, previous_month, score_frame
from nrr.health.settings import HealthSettings
from nrr.months import month_label
from nrr.sql.render import bind

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = [
    "TIERS",
    "HealthResult",
    "Opportunity",
    "Risk",
    "as_of_day",
    "health_scores",
    "opportunities",
    "parse_day",
    "risks",
    "scored_days",
    "scored_on",
]

TIERS = ("healthy", "neutral", "at risk", "unknown")
OWNERS = ("csm", "account_manager")
_DAY = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_CENT = Decimal("0.01")


def parse_day(text: str, *, what: str = "--as-of") -> date:
    """`YYYY-MM-DD`, or `YYYY-MM` for the first day of that month."""
    match = _DAY.match(text.strip()) if isinstance(text, str) else None
    try:
        # Year 1 has no month before it to compare with.
        if match is None or int(match.group(1)) < 2:
            raise ValueError(text)
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        raise InputError(
            Problem(
                source=what,
                message=f"{text!r} is not a day; write YYYY-MM-DD (2025-06-15), or YYYY-MM "
                "for the first day of that month",
            )
        ) from None


@dataclass(frozen=True)
class HealthResult:
    """Every customer active in the reference month, scored as of `as_of`.

    `customers` has one row per customer: customer_id, profile, csm and account_manager
    (when the customers input has them), mrr (Decimal, the reference month's), score
    (0-100), tier, change (score now minus a month earlier), c_<indicator> (0-100
    components), the measured values and `reasons` (a list of plain-word strings).
    """

    as_of: date
    reference_month: int
    inputs: tuple[str, ...]
    indicators: tuple[str, ...]
    settings: HealthSettings
    customers: pd.DataFrame

    @property
    def reference(self) -> str:
        return month_label(self.reference_month)

    def tiers(self) -> pd.DataFrame:
        """Customers and MRR per tier, with each tier's share of the MRR."""
        frame = self.customers
        total = sum(frame["mrr"], Decimal(0))
        rows = []
        for tier in TIERS:
            part = frame[frame["tier"] == tier]
            if part.empty and tier == "unknown":
                continue
            mrr = sum(part["mrr"], Decimal(0))
            rows.append(
                {
                    "tier": tier,
                    "customers": len(part),
                    "mrr": mrr,
                    "mrr_share": float(mrr / total) if total else math.nan,
                }
            )
        return pd.DataFrame(rows)

    def frame(self) -> pd.DataFrame:
        """One row per customer, scores rounded to one decimal, MRR to cents."""
        frame = self.customers
        out = pd.DataFrame(
            {
                "customer_id": frame["customer_id"],
                **{c: frame[c] for c in OWNERS if c in frame.columns},
                "mrr": [_cents(v) for v in frame["mrr"]],
                "score": frame["score"].round(1),
                "tier": frame["tier"],
                "change": frame["change"].round(1),
            }
        )
        for name in self.indicators:
            out[name] = frame[f"c_{name}"].round(1)
        out["reasons"] = ["; ".join(r) for r in frame["reasons"]]
        return out


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _attributes(book: Book, wanted: tuple[str, ...]) -> pd.DataFrame | None:
    """The customers input, one row per customer: customer_id and those of the attributes
    `wanted` it has (text); None without a customers input."""
    tables = book.tables()
    if tables.customers is None:
        return None
    names = ("customer_id", *(a for a in tables.attributes if a in wanted))
    query = sge.select(*(sge.column(sge.to_identifier(n, quoted=True)) for n in names))
    query = bind(query.from_("customers"), tables={"customers": tables.customers})
    return fetch_frame(tables.engine, query, dict.fromkeys(names, "text"))


def _default_day(book: Book) -> date:
    latest = book.latest_month()
    if latest is None:
        raise InputError("the subscriptions hold no revenue; there is no day to score")
    return month_start(latest + 1)


def scored_days(
    book: Book,
    days: list[date],
    settings: HealthSettings | None = None,
    *,
    attributes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every customer active in each day's reference month, measured and scored as of that
    day (`indicators.measure` + `score.score_frame`), one row per (as_of, customer_id).
    `attributes`: the customers input when the caller has read it already."""
    signals = book.signals()
    if not signals.present():
        raise InputError(
            "no health inputs: give at least one of --usage, --tickets, --surveys, "
            "--touchpoints, --stakeholders (or tables of those names with --db); "
            "formats: docs/health-inputs.md"
        )
    settings = settings or book.health_settings
    named = health_tables(book)
    ledger = Ledger(book.tables(), named.seat_lines, book.rates, book.currencies)
    measured = measure(ledger, named.signals, days, settings)
    if measured.empty:
        return measured
    if attributes is None and settings.profiles:
        attributes = _attributes(book, _profile_by(settings))
    return score_frame(measured, settings, attributes)


def _profile_by(settings: HealthSettings) -> tuple[str, ...]:
    """The customers column the score reads: the one that names a customer's profile."""
    return (settings.profile_by,) if settings.profiles and settings.profile_by else ()


def scored_on(scored: pd.DataFrame, day: date) -> pd.DataFrame:
    """The rows of `scored` (from `scored_days`) as of `day`; an error when there are none."""
    now = scored[scored["as_of"] == day].reset_index(drop=True) if len(scored) else scored
    if now.empty:
        raise InputError(
            Problem(
                source="--as-of",
                message=f"no customer has MRR in {month_label(reference_month(day))}, the "
                f"month before {day}; pick a day inside the data",
            )
        )
    return now


def as_of_day(book: Book, as_of: str | date | None) -> date:
    """`as_of` as a day; None: the first day after the last month in the data."""
    if as_of is None:
        return _default_day(book)
    return as_of if isinstance(as_of, date) else parse_day(as_of)


def health_scores(
    book: Book, as_of: str | date | None = None, *, settings: HealthSettings | None = None
) -> HealthResult:
    """Score every customer active in the month before `as_of` (default: the day after the
    last month in the data), from the health inputs given, using only data before it."""
    day = as_of_day(book, as_of)
    settings = settings or book.health_settings
    before = previous_month(day)
    attributes = _attributes(book, (*OWNERS, *_profile_by(settings)))
    scored = scored_days(book, [before, day], settings, attributes=attributes)
    now = scored_on(scored, day)
    now["change"] = change(now, scored[scored["as_of"] == before])
    if attributes is not None:
        owners = [c for c in OWNERS if c in attributes.columns]
        now = now.merge(attributes[["customer_id", *owners]], on="customer_id", how="left")
    return HealthResult(
        as_of=day,
        reference_month=reference_month(day),
        inputs=inputs_used(now),
        indicators=tuple(component_columns(now)),
        settings=settings,
        customers=now,
    )


@dataclass(frozen=True)
class Risk:
    """An at-risk customer. Amounts are exact; they are rounded to cents where shown, and
    totals are rounded from the exact sum, so they equal the tier table's MRR."""

    customer_id: str
    mrr_at_risk: Decimal
    score: float
    change: float | None
    owner: str | None
    reasons: tuple[str, ...]


def risks(result: HealthResult, *, owner: str = "csm") -> list[Risk]:
    """The at-risk tier, ranked by MRR at risk (the customer's whole MRR), largest first."""
    frame = result.customers
    part = frame[frame["tier"] == "at risk"]
    rows = [
        Risk(
            customer_id=r["customer_id"],
            mrr_at_risk=Decimal(r["mrr"]),
            score=float(r["score"]),
            change=None if pd.isna(r["change"]) else float(r["change"]),
            owner=_owner(r, owner),
            reasons=tuple(r["reasons"]),
        )
        for r in part.to_dict("records")
    ]
    return sorted(rows, key=lambda r: (-r.mrr_at_risk, r.customer_id))


def _owner(row: dict, column: str) -> str | None:
    value = row.get(column)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@dataclass(frozen=True)
class Opportunity:
    customer_id: str
    potential_mrr: Decimal
    extra_seats: int
    mrr: Decimal
    score: float
    tier: str
    owner: str | None
    signals: tuple[str, ...]


def opportunities(result: HealthResult, *, owner: str = "account_manager") -> list[Opportunity]:
    """Customers showing expansion signals, ranked by potential MRR; at-risk ones left out.

    Signals: seats near the limit (seat utilization at or above `seats_near_limit`), usage
    growth (usage trend at or above `usage_growth`), new users active (active users up by
    `new_users` or more on the 90 days before the last 30). The potential is sized in seats:
    the seats used (grown as the active users grew, up to 50%, when new users are active)
    need `target_utilization` headroom; the seats beyond the licensed ones, at the
    customer's own price per seat, are the potential MRR. Usage growth alone says the
    product is used more, not by more people, so it sizes nothing (potential 0 unless the
    seats are short).
    """
    if "seat_utilization" not in result.customers.columns:
        return []
    settings = result.settings.opportunities
    metric = result.settings.usage_metric.replace("_", " ")
    out = []
    for r in result.customers.to_dict("records"):
        seats, used = r["licensed_seats"], r["seats_used"]
        if r["tier"] == "at risk" or not seats or seats <= 0 or _nan(used):
            continue
        found: list[str] = []
        growth = 0.0
        util = r["seat_utilization"]
        if _at_least(util, settings.seats_near_limit):
            found.append(f"seats near the limit: {used:.0f} of {seats:.0f} used ({util:.0%})")
        trend = r["usage_trend"]
        if _at_least(trend, settings.usage_growth):
            found.append(f"usage growth: {metric} up {trend:.0%} on the prior 30 days")
        grown = r["new_user_growth"]
        if _at_least(grown, settings.new_users):
            found.append(
                f"new users active: {r['active_users']:.0f} active users against "
                f"{r['active_before']:.0f} before ({grown:+.0%})"
            )
            growth = min(grown, 0.5)
        if not found:
            continue
        needed = math.ceil(round(used * (1 + growth) / settings.target_utilization, 6))
        extra = max(0, needed - int(seats))
        per_seat = Decimal(str(r["seat_share"])) * Decimal(r["mrr"]) / Decimal(str(seats))
        out.append(
            Opportunity(
                customer_id=r["customer_id"],
                potential_mrr=per_seat * extra,
                extra_seats=extra,
                mrr=Decimal(r["mrr"]),
                score=float(r["score"]),
                tier=r["tier"],
                owner=_owner(r, owner),
                signals=tuple(found),
            )
        )
    return sorted(out, key=lambda o: (-o.potential_mrr, o.customer_id))


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _at_least(value: float, threshold: float) -> bool:
    return not _nan(value) and value >= threshold
