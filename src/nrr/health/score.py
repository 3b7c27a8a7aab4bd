"""The health score: indicators normalized, weighted, tiered and explained (docs/health.md).

Each indicator's measured value becomes a 0-100 component by its thresholds (0 at `bad`,
100 at `good`, linear between), in the customer's profile. The score is the weighted mean
of the components the customer has: an input that is not given, or a customer without data
for an indicator (no survey answer yet), leaves that indicator out rather than counting it
as bad, and the weights of the rest are rescaled. The reasons name, in plain words, the
indicators that pull the score down the most (weight x shortfall).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from nrr.errors import InputError, Problem
from nrr.health.indicators import INPUT_OF, LOOKBACK, SURVEY_DAYS, TICKET_BASELINE
from nrr.health.settings import INDICATORS, HealthSettings

__all__ = [
    "MAX_REASONS",
    "change",
    "component_columns",
    "inputs_used",
    "previous_month",
    "reason",
    "score_frame",
]

MAX_REASONS = 3
_PULLS_DOWN = 50.0  # a component below this is a reason


def component_columns(frame: pd.DataFrame) -> list[str]:
    """The indicators measured in `frame` (their input was given), in display order."""
    return [name for name in INDICATORS if name in frame.columns]


def _profiles(frame: pd.DataFrame, attributes: pd.DataFrame | None, settings: HealthSettings):
    """Each row's profile: its `profile_by` value when a profile of that name exists."""
    if not settings.profiles:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    column = settings.profile_by
    if attributes is None or column is None or column not in attributes.columns:
        raise InputError(
            Problem(
                source="nrr.toml",
                column="health.profile_by",
                message=f"profiles are set, but the customers input has no column {column!r}; "
                "give a customers file with it or set profile_by to one of its columns",
            )
        )
    values = frame["customer_id"].map(attributes.set_index("customer_id")[column])
    return values.where(values.isin(list(settings.profiles)), None)


def score_frame(
    frame: pd.DataFrame, settings: HealthSettings, attributes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """`frame` (from `indicators.measure`) with profile, c_<indicator> components, score,
    tier and reasons added."""
    out = frame.copy()
    out["profile"] = _profiles(out, attributes, settings)
    names = component_columns(out)
    weighted = np.zeros(len(out))
    weights = np.zeros(len(out))
    pulls: dict[str, np.ndarray] = {}
    for name in names:
        value = out[name].astype(float).to_numpy()
        spec = [settings.spec(name, p) for p in out["profile"]]
        bad = np.array([s.bad for s in spec])
        good = np.array([s.good for s in spec])
        weight = np.array([s.weight for s in spec])
        component = 100.0 * np.clip((value - bad) / (good - bad), 0.0, 1.0)
        has = ~np.isnan(value) & (weight > 0)
        out[f"c_{name}"] = np.where(has, component, np.nan)
        weighted += np.where(has, weight * component, 0.0)
        weights += np.where(has, weight, 0.0)
        pulls[name] = np.where(has & (component < _PULLS_DOWN), weight * (100 - component), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["score"] = np.where(weights > 0, weighted / weights, np.nan)
    out["tier"] = [settings.tier(s) for s in out["score"]]
    out["reasons"] = [
        _reasons(row, pulls, i, settings) for i, row in enumerate(out.to_dict("records"))
    ]
    return out


def _reasons(
    row: dict, pulls: dict[str, np.ndarray], i: int, settings: HealthSettings
) -> list[str]:
    ranked = sorted((p[i], name) for name, p in pulls.items() if p[i] > 0)
    return [reason(name, row, settings) for _, name in reversed(ranked)][:MAX_REASONS]


def _pct(value: float) -> str:
    return f"{value:.0%}"


def reason(name: str, row: dict, settings: HealthSettings) -> str:
    """One indicator's measured value in plain words, for a customer's row."""
    value = row[name]
    if name == "usage_trend":
        direction = "down" if value < 0 else "up"
        return (
            f"{settings.usage_metric.replace('_', ' ')} {direction} {_pct(abs(value))} on the "
            f"prior {LOOKBACK} days"
        )
    if name == "seat_utilization":
        return (
            f"uses {row['seats_used']:.0f} of {row['licensed_seats']:.0f} licensed seats "
            f"({_pct(value)})"
        )
    if name == "active_user_ratio":
        return f"only {_pct(value)} of seat holders active in the last {LOOKBACK} days"
    if name == "ticket_load":
        serious = int(row.get("serious") or 0)
        tickets = int(row.get("tickets") or 0)
        return f"{tickets} tickets in the last {LOOKBACK} days, {serious} high or urgent"
    if name == "ticket_trend":
        base = row["ticket_base"] * LOOKBACK / TICKET_BASELINE
        return (
            f"tickets rising: severity {row['ticket_load']:g} in the last {LOOKBACK} days "
            f"against {base:.1f} per {LOOKBACK} days in the {TICKET_BASELINE} before"
        )
    if name == "days_since_touch":
        if row.get("last_touch") is None or _missing(row.get("last_touch")):
            return f"no touchpoint on record in {value:.0f} days as a customer"
        return f"no touchpoint for {value:.0f} days"
    if name == "nps":
        return f"NPS answers average {value:.1f} of 10 (last {SURVEY_DAYS} days)"
    if name == "csat":
        return f"CSAT averages {value:.1f} of 5 (last {SURVEY_DAYS} days)"
    if name == "stakeholder_coverage":
        missing = [
            label
            for label, key in (("champion", "champion_there"), ("decision maker", "decider_there"))
            if not row.get(key)
        ]
        return "no active " + " or ".join(missing) if missing else "stakeholders covered"
    if name == "champion_left":
        who = row.get("gone_name") or "the champion"
        when = row.get("gone_on")
        return (
            f"champion {who} left on {when} and has not been replaced"
            if when
            else ("the champion left and has not been replaced")
        )
    raise KeyError(name)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def inputs_used(frame: pd.DataFrame) -> tuple[str, ...]:
    """The inputs whose indicators are in `frame`."""
    return tuple(dict.fromkeys(INPUT_OF[n] for n in component_columns(frame)))


def previous_month(day: date) -> date:
    """The same day a month earlier (the month's last day when it has fewer days)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, last)
        except ValueError:
            continue
    raise ValueError(day)


def change(now: pd.DataFrame, before: pd.DataFrame) -> pd.Series:
    """Each customer's score now minus a month earlier (NaN: not scored then)."""
    earlier = before.set_index("customer_id")["score"]
    return now["customer_id"].map(earlier).rsub(now["score"]) if len(now) else now["score"]
