"""Measure the health indicators of every customer as of one or more days (docs/health.md).

As of a day D, only what happened before D is read: usage, tickets, surveys and touchpoints
dated before D, stakeholders by whether they were still there on D, and the ledger of the
last month that ended before D (the reference month: the customers scored, their MRR and
their licensed seats). Nothing dated D or later can change a measure, which is what lets a
backtest score a past day honestly.

Each measure is one statement (`sql/health/*.sql`) run in the book's engine for all the days
asked for, which travel as a small table (`days`), so a backtest over many days costs about
what one day costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import sqlglot.expressions as sge

from nrr.fx import RateBook
from nrr.health.queries import Kind, fetch_frame, population_statement
from nrr.health.settings import HealthSettings
from nrr.metrics.tables import BookTables
from nrr.months import month_of
from nrr.sql.render import Relation, bind, compose, statement, values

__all__ = ["INPUT_OF", "LOOKBACK", "Ledger", "measure", "month_start", "reference_month"]

# Which input each indicator needs; an indicator whose input is not given is left out.
INPUT_OF = {
    "usage_trend": "usage",
    "seat_utilization": "usage",
    "active_user_ratio": "usage",
    "ticket_load": "tickets",
    "ticket_trend": "tickets",
    "days_since_touch": "touchpoints",
    "nps": "surveys",
    "csat": "surveys",
    "stakeholder_coverage": "stakeholders",
    "champion_left": "stakeholders",
}
LOOKBACK = 30  # days: "the last 30 days"; the usage trend compares them with the 30 before
SURVEY_DAYS = 180  # NPS and CSAT: the mean of the answers in the last 180 days
TICKET_BASELINE = 90  # ticket trend: the last 30 days against the 90 before them, per 30
CHAMPION_DAYS = 90  # a champion who left in the last 90 days, not replaced
NEW_USER_DAYS = 90  # new users: active users now against the 90 days before the last 30
SEVERITY = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}

# Each signal's statement and the columns of its rows (the keys as_of, customer_id first).
_KEYS: dict[str, Kind] = {"as_of": "date", "customer_id": "text"}
_MEASURES: dict[str, dict[str, Kind]] = {
    "usage": {
        "trend_now": "float",
        "trend_before": "float",
        "seats_used": "float",
        "active_users": "float",
        "active_before": "float",
    },
    "tickets": {
        "ticket_load": "float",
        "ticket_base": "float",
        "tickets": "count",
        "serious": "count",
    },
    "surveys": {"nps": "float", "nps_answers": "count", "csat": "float", "csat_answers": "count"},
    "touchpoints": {"last_touch": "date"},
    "stakeholders": {
        "champion_there": "bool",
        "decider_there": "bool",
        "champion_gone": "bool",
        "gone_name": "text",
        "gone_on": "date",
    },
}


@dataclass(frozen=True)
class Ledger:
    """What the indicators need from the book: where its lines are in the engine (`tables`;
    `seat_lines`, the same lines with their quantities), its rates and currencies."""

    tables: BookTables
    seat_lines: Relation
    rates: RateBook
    currencies: list[str]


def reference_month(as_of: date) -> int:
    """The last month that ended before `as_of`: its MRR and seats are the customer's now."""
    return month_of(as_of) - 1


def _bounds(days: Sequence[date]) -> sge.Query:
    """(as_of, ref, d30, d60, d90, d_base, d_survey): each as-of day, its reference month and
    the first day of each of its look-back windows."""
    back = {
        "d30": LOOKBACK,
        "d60": 2 * LOOKBACK,
        "d90": CHAMPION_DAYS,
        "d_base": LOOKBACK + max(TICKET_BASELINE, NEW_USER_DAYS),
        "d_survey": SURVEY_DAYS,
    }
    columns = [("as_of", "DATE"), ("ref", "BIGINT"), *((name, "DATE") for name in back)]
    rows = [
        (day, reference_month(day), *(day - timedelta(days=n) for n in back.values()))
        for day in days
    ]
    return values(columns, rows)


def _signal(
    ledger: Ledger, kind: str, table: Relation, bounds: sge.Query, settings: HealthSettings
) -> pd.DataFrame:
    """One signal's measures per (as_of, customer_id) with rows dated in its look-back."""
    params = {"metric": settings.usage_metric} if kind == "usage" else {}
    query = bind(statement(f"health/{kind}.sql"), tables={kind: table}, params=params)
    inputs = {"days": bounds}
    if kind == "tickets":
        weights = [(name, Decimal(str(w))) for name, w in SEVERITY.items()]
        inputs["severity"] = values([("priority", "VARCHAR"), ("weight", "DECIMAL(9, 2)")], weights)
    engine = ledger.tables.engine
    return fetch_frame(engine, compose(query, inputs), {**_KEYS, **_MEASURES[kind]})


def _population(
    ledger: Ledger, days: Sequence[date], bounds: sge.Query, settings: HealthSettings
) -> pd.DataFrame:
    """Customers active in each day's reference month: MRR there, licensed seats, seat
    price, and the first month each had MRR (`first_m`)."""
    refs = {day: reference_month(day) for day in days}
    query = population_statement(ledger.tables, ledger.rates, ledger.currencies, refs)
    engine = ledger.tables.engine
    kinds: dict[str, Kind] = {"customer_id": "text", "mrr": "money", "as_of": "date"}
    frame = fetch_frame(engine, query, {**kinds, "first_m": "count"})
    seats = bind(statement("health/seat_products.sql"), tables={"lines": ledger.seat_lines})
    products = fetch_frame(
        engine,
        compose(seats, {"days": bounds}),
        {**_KEYS, "product": "text", "quantity": "float", "local_mrr": "float"},
    )
    return frame.merge(_seats(products, settings), on=list(_KEYS), how="left")


def _seats(products: pd.DataFrame, settings: HealthSettings) -> pd.DataFrame:
    """Licensed seats: the seat products' quantity, or else the product with the most (of
    products with as many, the one with the most MRR, then the first by name)."""
    keys = list(_KEYS)
    total = products.groupby(keys)["local_mrr"].sum()
    if settings.seat_products:
        chosen = products[products["product"].isin(settings.seat_products)]
        seats = chosen.groupby(keys)[["quantity", "local_mrr"]].sum()
    else:
        # A stable sort of rows in product order, so a full tie goes to the first by name.
        order = [*keys, "quantity", "local_mrr"]
        top = products.sort_values(order, ascending=[True, True, False, False])
        seats = top.drop_duplicates(keys).set_index(keys)[["quantity", "local_mrr"]]
    out = pd.DataFrame({"licensed_seats": seats["quantity"]})
    # The seat products' share of the customer's MRR (a ratio of local amounts, so the
    # currency cancels): what one more seat is worth, for sizing expansion.
    out["seat_share"] = (seats["local_mrr"] / total.reindex(seats.index)).fillna(0.0)
    return out.reset_index()


def measure(
    ledger: Ledger, signals: Mapping[str, Relation], days: Sequence[date], settings: HealthSettings
) -> pd.DataFrame:
    """One row per (as_of, customer active in the reference month) with every raw measure.

    `signals` names where each health input given is in the engine (`inputs.validate_signal`'s
    columns), by kind. Columns: as_of, customer_id, mrr (Decimal, the reference month's MRR
    in base currency), licensed_seats, seat_share, the indicators of INPUT_OF whose input is
    given (NaN where the customer has no data for it), and the details the reasons quote.
    """
    days = sorted(set(days))
    bounds = _bounds(days)
    frame = _population(ledger, days, bounds, settings)
    # The first month with MRR is the customer's, whatever the day.
    first = dict(zip(frame["customer_id"], frame.pop("first_m"), strict=True))
    if frame.empty:
        return frame
    keys = list(_KEYS)

    def join(kind: str) -> None:
        nonlocal frame
        part = _signal(ledger, kind, signals[kind], bounds, settings)
        frame = frame.merge(part, on=keys, how="left")

    if "usage" in signals:
        join("usage")
        frame["usage_trend"] = _ratio(frame["trend_now"], frame["trend_before"]) - 1.0
        frame["seat_utilization"] = _ratio(frame["seats_used"], frame["licensed_seats"])
        frame["active_user_ratio"] = _ratio(frame["active_users"], frame["seats_used"])
        frame["new_user_growth"] = _ratio(frame["active_users"], frame["active_before"]) - 1.0
    if "tickets" in signals:
        join("tickets")
        for column in ("ticket_load", "ticket_base", "tickets", "serious"):
            frame[column] = frame[column].fillna(0.0)
        frame["ticket_trend"] = frame["ticket_load"] - frame["ticket_base"] * (
            LOOKBACK / TICKET_BASELINE
        )
    if "surveys" in signals:
        join("surveys")
    if "touchpoints" in signals:
        join("touchpoints")
        frame["days_since_touch"] = _days_since_touch(frame, first)
    if "stakeholders" in signals:
        join("stakeholders")
        # A customer with no stakeholder listed has no champion and no decision maker.
        for column in ("champion_there", "decider_there", "champion_gone"):
            frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
        there = frame[["champion_there", "decider_there"]]
        frame["stakeholder_coverage"] = there.sum(axis=1).astype(float)
        left = frame["champion_gone"] & ~frame["champion_there"]
        frame["champion_left"] = left.astype(float)
        frame["gone_name"] = frame["gone_name"].where(left, None)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    top, bottom = top.astype(float), bottom.astype(float)
    return (top / bottom.where(bottom > 0)).astype(float)


def _days_since_touch(frame: pd.DataFrame, first: Mapping[str, int]) -> pd.Series:
    """Days from the last touchpoint before the day; never touched: since becoming a
    customer (the first day of its first month with MRR, `first`)."""
    as_of = pd.to_datetime(frame["as_of"])
    last = pd.to_datetime(frame["last_touch"])
    first_m = frame["customer_id"].map(first)
    began = pd.to_datetime([month_start(int(m)) if pd.notna(m) else pd.NaT for m in first_m])
    since = last.where(last.notna(), pd.Series(began, index=frame.index))
    return (as_of - since).dt.days.astype(float).where(lambda s: s >= 0, np.nan)


def month_start(month: int) -> date:
    """The first day of a month index."""
    return date(month // 12, month % 12 + 1, 1)
