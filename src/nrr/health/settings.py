"""The health score's settings: indicators, weights, thresholds, profiles and tiers.

Defaults are below; a team changes them in `nrr.toml` (docs/health.md):

    [health]
    profile_by = "segment"           # customers column whose value picks a profile
    seat_products = ["Core"]         # products whose quantity is the licensed seats
    usage_metric = "logins"          # the usage metric whose trend is `usage_trend`
    at_risk_below = 50               # score < 50: at risk
    healthy_from = 75                # score >= 75: healthy

    [health.indicators]              # weight, and the values scored 0 (bad) and 100 (good)
    usage_trend = {weight = 25, bad = -0.3, good = 0.05}
    csat = {weight = 0}              # weight 0 turns an indicator off

    [health.profiles.SMB]            # customers whose segment is SMB
    days_since_touch = {bad = 180, good = 45}

    [health.opportunities]
    seats_near_limit = 0.9           # seat utilization that signals expansion
    target_utilization = 0.8         # seats to add: back to this utilization
    usage_growth = 0.3               # usage trend that signals expansion
    new_users = 0.25                 # active-user growth over the prior 90 days
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from nrr.errors import InputError, Problem

__all__ = [
    "DEFAULT_HEALTH",
    "INDICATORS",
    "HealthSettings",
    "IndicatorSpec",
    "Opportunities",
    "health_from_config",
]


@dataclass(frozen=True)
class IndicatorSpec:
    """How one indicator is scored: 0 at `bad` or beyond, 100 at `good` or beyond, linear
    in between (`bad` may be above `good`, as for tickets), times `weight`."""

    weight: float
    bad: float
    good: float

    def component(self, value: float) -> float:
        """The indicator's 0-100 score for a measured value."""
        share = (value - self.bad) / (self.good - self.bad)
        return 100.0 * min(1.0, max(0.0, share))


# The indicators in the order they are shown, with their default scoring. The weights sum
# to 100, so each is the indicator's share of a score that uses every input.
INDICATORS: dict[str, IndicatorSpec] = {
    "usage_trend": IndicatorSpec(weight=20, bad=-0.30, good=0.05),
    "seat_utilization": IndicatorSpec(weight=15, bad=0.40, good=0.85),
    "active_user_ratio": IndicatorSpec(weight=10, bad=0.40, good=0.80),
    "ticket_load": IndicatorSpec(weight=10, bad=6.0, good=0.0),
    "ticket_trend": IndicatorSpec(weight=5, bad=3.0, good=0.0),
    "days_since_touch": IndicatorSpec(weight=10, bad=90.0, good=14.0),
    "nps": IndicatorSpec(weight=10, bad=6.0, good=9.0),
    "csat": IndicatorSpec(weight=5, bad=3.0, good=4.5),
    "stakeholder_coverage": IndicatorSpec(weight=5, bad=0.0, good=2.0),
    "champion_left": IndicatorSpec(weight=10, bad=1.0, good=0.0),
}


@dataclass(frozen=True)
class Opportunities:
    """When a customer shows an expansion signal, and how its potential MRR is sized."""

    seats_near_limit: float = 0.9
    target_utilization: float = 0.8
    usage_growth: float = 0.3
    new_users: float = 0.25


@dataclass(frozen=True)
class HealthSettings:
    """Everything the score reads from `[health]`; `DEFAULT_HEALTH` without a config."""

    indicators: dict[str, IndicatorSpec] = field(default_factory=lambda: dict(INDICATORS))
    profiles: dict[str, dict[str, IndicatorSpec]] = field(default_factory=dict)
    profile_by: str | None = "segment"
    seat_products: tuple[str, ...] = ()
    usage_metric: str = "logins"
    at_risk_below: float = 50.0
    healthy_from: float = 75.0
    opportunities: Opportunities = field(default_factory=Opportunities)

    def spec(self, indicator: str, profile: str | None) -> IndicatorSpec:
        """The indicator's scoring for a customer of `profile` (None: the default profile)."""
        if profile is not None and indicator in self.profiles.get(profile, {}):
            return self.profiles[profile][indicator]
        return self.indicators[indicator]

    def tier(self, score: float | None) -> str:
        if score is None or math.isnan(score):
            return "unknown"
        if score < self.at_risk_below:
            return "at risk"
        return "healthy" if score >= self.healthy_from else "neutral"

    def with_weights(self, weights: dict[str, float]) -> HealthSettings:
        """The same settings with new default weights (profiles keep their own overrides)."""
        indicators = {
            name: replace(spec, weight=weights.get(name, spec.weight))
            for name, spec in self.indicators.items()
        }
        return replace(self, indicators=indicators)


DEFAULT_HEALTH = HealthSettings()

_TOP: dict[str, type | tuple[type, ...]] = {
    "profile_by": str,
    "seat_products": list,
    "usage_metric": str,
    "at_risk_below": (int, float),
    "healthy_from": (int, float),
    "indicators": dict,
    "profiles": dict,
    "opportunities": dict,
}
_SPEC_KEYS = ("weight", "bad", "good")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def health_from_config(data: object, *, file: str) -> HealthSettings:
    """Read the `[health]` table of a config file; every mistake is listed at once."""
    problems: list[Problem] = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(source=file, column=column, message=message))

    if not isinstance(data, dict):
        raise InputError(Problem(source=file, column="health", message="[health] must be a table"))
    for key, value in data.items():
        kind = _TOP.get(key)
        if kind is None:
            bad(f"health.{key}", f"unknown setting; known: {', '.join(_TOP)}")
        elif not isinstance(value, kind) or isinstance(value, bool):
            bad(f"health.{key}", f"must be a {_kind_name(kind)}, not {value!r}")
    if problems:
        raise InputError(problems)
    indicators = _specs(data.get("indicators", {}), INDICATORS, "health.indicators", bad)
    profiles: dict[str, dict[str, IndicatorSpec]] = {}
    for name, overrides in data.get("profiles", {}).items():
        where = f"health.profiles.{name}"
        if not isinstance(overrides, dict):
            bad(where, "must be a table of indicators, e.g. nps = {bad = 5, good = 8}")
            continue
        merged = _specs(overrides, indicators, where, bad)
        profiles[str(name)] = {k: v for k, v in merged.items() if k in overrides}
    products = data.get("seat_products", [])
    if not all(isinstance(p, str) and p.strip() for p in products):
        bad("health.seat_products", 'must list product names, e.g. ["Core"]')
    at_risk = float(data.get("at_risk_below", DEFAULT_HEALTH.at_risk_below))
    healthy = float(data.get("healthy_from", DEFAULT_HEALTH.healthy_from))
    if not 0 <= at_risk <= healthy <= 100:
        bad(
            "health.at_risk_below",
            f"tiers need 0 <= at_risk_below ({at_risk:g}) <= healthy_from ({healthy:g}) <= 100",
        )
    opportunities = _opportunities(data.get("opportunities", {}), bad)
    profile_by = data.get("profile_by", DEFAULT_HEALTH.profile_by)
    if problems:
        raise InputError(problems)
    return HealthSettings(
        indicators=indicators,
        profiles=profiles,
        profile_by=profile_by.strip().lower() or None,
        seat_products=tuple(p.strip() for p in products),
        usage_metric=str(data.get("usage_metric", DEFAULT_HEALTH.usage_metric)).strip().lower(),
        at_risk_below=at_risk,
        healthy_from=healthy,
        opportunities=opportunities,
    )


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if kind is dict:
        return "table"
    if kind is list:
        return "list"
    return "number" if isinstance(kind, tuple) else "text"


def _specs(
    given: Any, base: dict[str, IndicatorSpec], where: str, bad: Any
) -> dict[str, IndicatorSpec]:
    """`base` with the overrides in `given` (indicator -> {weight, bad, good}) applied."""
    out = dict(base)
    for name, value in given.items():
        column = f"{where}.{name}"
        if name not in INDICATORS:
            bad(column, f"unknown indicator; known: {', '.join(INDICATORS)}")
            continue
        if not isinstance(value, dict):
            bad(column, "must be a table such as {weight = 10, bad = 0.4, good = 0.85}")
            continue
        unknown = [k for k in value if k not in _SPEC_KEYS]
        if unknown:
            bad(column, f"unknown key {unknown[0]!r}; use weight, bad, good")
            continue
        if not all(_number(v) for v in value.values()):
            bad(column, "weight, bad and good must be numbers")
            continue
        spec = replace(base[name], **{k: float(v) for k, v in value.items()})
        if spec.weight < 0:
            bad(column, f"weight {spec.weight:g} is negative; use 0 to turn it off")
        elif spec.bad == spec.good:
            bad(column, f"bad and good are both {spec.good:g}; they must differ")
        else:
            out[name] = spec
    return out


def _opportunities(given: dict[str, Any], bad: Any) -> Opportunities:
    known = Opportunities()
    values: dict[str, float] = {}
    for key, value in given.items():
        column = f"health.opportunities.{key}"
        if not hasattr(known, key):
            bad(column, f"unknown setting; known: {', '.join(vars(known))}")
        elif not _number(value) or value <= 0:
            bad(column, f"must be a number above 0, not {value!r}")
        else:
            values[key] = float(value)
    return replace(known, **values)
