"""Measure the health indicators of every customer as of one or more days (docs/health.md).

As of a day D, only what happened before D is read: usage, tickets, surveys and touchpoints
dated before D, stakeholders by whether they were still there on D, and the ledger of the
last month that ended before D (the reference month: the customers scored, their MRR and
their licensed seats). Nothing dated D or later can change a measure, which is what lets a
backtest score a past day honestly.

Each input is read with one query for all the days asked for, so a backtest over many days
costs about what one day costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from nrr.fx import RateBook
from nrr.health.inputs import Signals
from nrr.health.settings import HealthSettings
from nrr.ledger import first_active, live_lines
from nrr.months import month_of
from nrr.retention import customer_window

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


@dataclass(frozen=True)
class Ledger:
    """What the indicators need from the book: lines, rates, currencies, attributes."""

    lines: ir.Table
    rates: RateBook
    currencies: list[str]
    customers: ir.Table | None


def reference_month(as_of: date) -> int:
    """The last month that ended before `as_of`: its MRR and seats are the customer's now."""
    return month_of(as_of) - 1


def _bounds(days: Sequence[date]) -> ir.Table:
    """One row per as-of day with the start of each look-back window, as dates."""

    def back(n: int) -> list[date]:
        return [d - timedelta(days=n) for d in days]

    frame = pd.DataFrame(
        {
            "as_of": list(days),
            "d30": back(LOOKBACK),
            "d60": back(2 * LOOKBACK),
            "d90": back(CHAMPION_DAYS),
            "d_base": back(LOOKBACK + max(TICKET_BASELINE, NEW_USER_DAYS)),
            "d_survey": back(SURVEY_DAYS),
        }
    )
    for column in frame.columns:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    schema = {c: "date" for c in frame.columns}
    return ibis.memtable(frame, schema=schema)


def _since(table: ir.Table, column: str, bounds: ir.Table, start: str) -> ir.Table:
    """Rows of `table` dated in [bounds.start, as_of), once per as-of day they fall in."""
    b = bounds.view()
    return table.join(b, [table[column] >= b[start], table[column] < b.as_of])


def _frame(expr: ir.Table) -> pd.DataFrame:
    frame = expr.to_pyarrow().to_pandas()
    if "as_of" in frame.columns:
        frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    return frame


def _usage(usage: ir.Table, bounds: ir.Table, metric: str) -> pd.DataFrame:
    wanted = usage.filter(usage.metric.isin([metric, "seats_used", "active_users"]))
    t = _since(wanted, "date", bounds, "d_base")
    value = t.value.cast("float64")
    recent = t.date >= t.d30
    prior = (t.date >= t.d60) & ~recent
    # Means per reported row, so daily and weekly reporting give the same figures.
    agg = t.group_by("as_of", "customer_id").agg(
        trend_now=value.mean(where=(t.metric == metric) & recent),
        trend_before=value.mean(where=(t.metric == metric) & prior),
        seats_used=value.mean(where=(t.metric == "seats_used") & recent),
        active_users=value.mean(where=(t.metric == "active_users") & recent),
        active_before=value.mean(where=(t.metric == "active_users") & ~recent),
    )
    return _frame(agg)


def _tickets(tickets: ir.Table, bounds: ir.Table) -> pd.DataFrame:
    t = _since(tickets, "opened_at", bounds, "d_base")
    weight = ibis.cases(
        *((t.priority == name, ibis.literal(w)) for name, w in SEVERITY.items()),
        else_=ibis.literal(1.0),
    ).cast("decimal(9, 2)")  # summed exactly, then a float: the same type on every engine
    recent = t.opened_at >= t.d30
    base = t.opened_at < t.d30
    serious = t.priority.isin(["high", "urgent"])
    agg = t.group_by("as_of", "customer_id").agg(
        ticket_load=weight.sum(where=recent).cast("float64"),
        ticket_base=weight.sum(where=base).cast("float64"),
        tickets=recent.sum(),
        serious=(recent & serious).sum(),
    )
    return _frame(agg)


def _surveys(surveys: ir.Table, bounds: ir.Table) -> pd.DataFrame:
    t = _since(surveys, "date", bounds, "d_survey")
    score = t.score.cast("float64")
    agg = t.group_by("as_of", "customer_id").agg(
        nps=score.mean(where=t.kind == "nps"),
        nps_answers=(t.kind == "nps").sum(),
        csat=score.mean(where=t.kind == "csat"),
        csat_answers=(t.kind == "csat").sum(),
    )
    return _frame(agg)


def _touchpoints(touchpoints: ir.Table, bounds: ir.Table) -> pd.DataFrame:
    b = bounds.view()
    t = touchpoints.join(b, touchpoints.date < b.as_of)
    agg = t.group_by("as_of", "customer_id").agg(last_touch=t.date.max())
    return _frame(agg)


def _stakeholders(stakeholders: ir.Table, bounds: ir.Table) -> pd.DataFrame:
    b = bounds.view()
    t = stakeholders.cross_join(b)
    arrived = t.active_from.isnull() | (t.active_from < t.as_of)
    there = arrived & (t.active_until.isnull() | (t.active_until >= t.as_of))
    left = arrived & t.champion & t.active_until.notnull() & (t.active_until >= t.d90)
    left = left & (t.active_until < t.as_of)
    agg = t.group_by("as_of", "customer_id").agg(
        champion_there=(t.champion & there).any(),
        decider_there=(t.decision_maker & there).any(),
        champion_gone=left.any(),
        gone_name=t.name.argmax(ibis.ifelse(left, t.active_until, ibis.null("date"))),
        gone_on=t.active_until.max(where=left),
    )
    return _frame(agg)


def _population(ledger: Ledger, as_of: date, settings: HealthSettings) -> pd.DataFrame:
    """Customers active in the reference month: MRR there, licensed seats, seat price."""
    ref = reference_month(as_of)
    window = customer_window(ledger.lines, ledger.rates, ledger.currencies, ref, ref, "spot")
    active = window.filter(window.s_s > 0).select("customer_id", mrr=window.s_s)
    frame = _frame(active)
    live = live_lines(ledger.lines)
    inside = live.filter((live.start_m <= ref) & (live.end_m.isnull() | (live.end_m > ref)))
    per_product = inside.group_by("customer_id", "product").agg(
        quantity=inside.quantity.sum().cast("float64"),
        local=inside.mrr_local.sum().cast("float64"),
    )
    products = _frame(per_product)
    frame["as_of"] = as_of
    return frame.merge(_seats(products, settings), on="customer_id", how="left")


def _seats(products: pd.DataFrame, settings: HealthSettings) -> pd.DataFrame:
    """Licensed seats: the seat products' quantity, or else the product with the most."""
    total = products.groupby("customer_id")["local"].sum()
    if settings.seat_products:
        chosen = products[products["product"].isin(settings.seat_products)]
        seats = chosen.groupby("customer_id")[["quantity", "local"]].sum()
    else:
        top = products.sort_values(["customer_id", "quantity"], ascending=[True, False])
        seats = top.drop_duplicates("customer_id").set_index("customer_id")[["quantity", "local"]]
    out = pd.DataFrame({"licensed_seats": seats["quantity"]})
    # The seat products' share of the customer's MRR (a ratio of local amounts, so the
    # currency cancels): what one more seat is worth, for sizing expansion.
    out["seat_share"] = (seats["local"] / total.reindex(seats.index)).fillna(0.0)
    return out.reset_index()


def measure(
    ledger: Ledger, signals: Signals, days: Sequence[date], settings: HealthSettings
) -> pd.DataFrame:
    """One row per (as_of, customer active in the reference month) with every raw measure.

    Columns: as_of, customer_id, mrr (Decimal, the reference month's MRR in base currency),
    licensed_seats, seat_share, the indicators of INPUT_OF whose input is given (NaN where
    the customer has no data for it), and the details the reasons quote.
    """
    days = sorted(set(days))
    frame = pd.concat([_population(ledger, d, settings) for d in days], ignore_index=True)
    if frame.empty:
        return frame
    bounds = _bounds(days)
    keys = ["as_of", "customer_id"]

    def join(part: pd.DataFrame) -> None:
        nonlocal frame
        frame = frame.merge(part, on=keys, how="left")

    if signals.usage is not None:
        usage = _usage(signals.usage, bounds, settings.usage_metric)
        join(usage)
        frame["usage_trend"] = _ratio(frame["trend_now"], frame["trend_before"]) - 1.0
        frame["seat_utilization"] = _ratio(frame["seats_used"], frame["licensed_seats"])
        frame["active_user_ratio"] = _ratio(frame["active_users"], frame["seats_used"])
        frame["new_user_growth"] = _ratio(frame["active_users"], frame["active_before"]) - 1.0
    if signals.tickets is not None:
        join(_tickets(signals.tickets, bounds))
        for column in ("ticket_load", "ticket_base", "tickets", "serious"):
            frame[column] = frame[column].fillna(0.0)
        frame["ticket_trend"] = frame["ticket_load"] - frame["ticket_base"] * (
            LOOKBACK / TICKET_BASELINE
        )
    if signals.surveys is not None:
        join(_surveys(signals.surveys, bounds))
    if signals.touchpoints is not None:
        join(_touchpoints(signals.touchpoints, bounds))
        frame["days_since_touch"] = _days_since_touch(frame, ledger)
    if signals.stakeholders is not None:
        join(_stakeholders(signals.stakeholders, bounds))
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


def _days_since_touch(frame: pd.DataFrame, ledger: Ledger) -> pd.Series:
    """Days from the last touchpoint before the day; never touched: since becoming a
    customer (the first day of its first month with MRR)."""
    as_of = pd.to_datetime(frame["as_of"])
    last = pd.to_datetime(frame["last_touch"])
    first = _frame(first_active(ledger.lines)).set_index("customer_id")["first_m"]
    first_m = frame["customer_id"].map(first)
    began = pd.to_datetime([month_start(int(m)) if pd.notna(m) else pd.NaT for m in first_m])
    since = last.where(last.notna(), pd.Series(began, index=frame.index))
    return (as_of - since).dt.days.astype(float).where(lambda s: s >= 0, np.nan)


def month_start(month: int) -> date:
    """The first day of a month index."""
    return date(month // 12, month % 12 + 1, 1)
