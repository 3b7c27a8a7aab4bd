"""Customer-health inputs for the demo: usage, tickets, surveys, touchpoints, stakeholders.

`generate_signals(data, seed=...)` reads the simulated history (the subscription lines and the
customers) and writes what a CRM, a product-analytics tool and a help desk would have recorded
about each customer, in the formats of docs (issue 6):

- `usage`: customer_id, date (a Monday), metric (`seats_used`, `active_users`, `logins`,
  `feature_events`), value; one row per active customer per metric per week.
- `tickets`: customer_id, opened_at, closed_at (blank while open), priority, satisfaction
  (blank when the customer did not answer).
- `surveys`: customer_id, date, kind (`nps` 0..10 or `csat` 1..5), score.
- `touchpoints`: customer_id, date, kind (`meeting`, `qbr`, `email`, `call`).
- `stakeholders`: customer_id, name, role, champion, decision_maker, active_until.

The signals are drawn from their own random generator, so the subscriptions, customers and
FX rates stay exactly what they are without them. In the ~13 weeks before a churn or a
contraction (known from the lines) usage declines, tickets rise and turn urgent and unhappy,
scores drop, touchpoints thin out and the champion more often leaves; before an expansion,
seats fill up and usage grows. The link is deliberately imperfect: many churners give no
warning, and healthy customers go through dips that pass, as real books do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nrr.datasets.demo import DemoData

__all__ = ["SIGNAL_TABLES", "generate_signals"]

SIGNAL_TABLES = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")
FIRST_MONDAY = np.datetime64("2022-01-03")
DATA_END = np.datetime64("2025-12-31")
WEEKS = int((DATA_END - FIRST_MONDAY).astype(int) // 7) + 1  # Mondays 2022-01-03..2025-12-29
LEAD = 13  # weeks of warning before an event, about a quarter
SILENT = 0.3  # share of churns and contractions that show no warning at all
DIP_RATE = 0.004  # weekly chance of a passing dip that looks like trouble but is not
METRICS = ("seats_used", "active_users", "logins", "feature_events")
PRIORITIES = np.array(["low", "normal", "high", "urgent"])

# Per segment (SMB, Mid-Market, Enterprise): weekly rates per active customer.
SEGMENT_ORDER = ("SMB", "Mid-Market", "Enterprise")
LOGINS_PER_USER = np.array([3.0, 4.0, 5.0])
EVENTS_PER_USER = np.array([8.0, 12.0, 18.0])
TICKETS = np.array([0.05, 0.18, 0.6])
NPS = np.array([0.02, 0.05, 0.15])
CSAT = np.array([0.015, 0.03, 0.06])
EMAILS = np.array([0.25, 0.6, 1.2])
CALLS = np.array([0.02, 0.12, 0.25])
MEETINGS = np.array([0.005, 0.08, 0.3])
QBR_HELD = np.array([0.0, 0.6, 0.9])  # chance a due quarterly review takes place
CONTACTS = np.array([0.6, 1.5, 3.5])  # extra stakeholders beyond the first, Poisson mean

_FIRST = "Alex Maria Sam Priya Tom Lena Omar Julia Noah Sofia Ravi Emma Lucas Aiko Diego Hannah"
_LAST = "Smith Garcia Muller Rossi Nguyen Kowalski Silva Jensen Brown Tanaka Dubois Novak Khan"
FIRST_NAMES = tuple(_FIRST.split(" "))
LAST_NAMES = tuple(_LAST.split(" "))
CHAMPION_ROLES = ("Head of Operations", "Sales Ops Manager", "Analytics Lead", "Team Lead")
DECISION_ROLES = ("VP Finance", "CFO", "COO", "VP Sales")
OTHER_ROLES = ("Admin", "Analyst", "IT Manager", "Finance Manager", "Procurement", "Engineer")


def generate_signals(data: DemoData, *, seed: int) -> dict[str, pd.DataFrame]:
    """The five health inputs for `data`'s customers; the same seed gives the same frames."""
    # A generator of its own: drawing here never moves the one behind the subscriptions.
    rng = np.random.default_rng([seed, 1])
    ids = data.customers["customer_id"].to_numpy(dtype=object)
    segment = (
        pd.Categorical(data.customers["segment"], categories=SEGMENT_ORDER)
        .codes.astype(np.int64)
        .clip(0)
    )
    total, core = _weekly_seats(data.subscriptions, ids)
    active = total > 0
    licensed = np.where(core > 0, core, total)
    warning, growth, events = _pressure(total, active, rng)
    mondays = FIRST_MONDAY + 7 * np.arange(WEEKS)
    return {
        "usage": _usage(ids, segment, licensed, active, warning, growth, mondays, rng),
        "tickets": _tickets(ids, segment, licensed, active, warning, mondays, rng),
        "surveys": _surveys(ids, segment, active, warning, mondays, rng),
        "touchpoints": _touchpoints(ids, segment, active, warning, mondays, rng),
        "stakeholders": _stakeholders(ids, segment, active, events, mondays, rng),
    }


def _weekly_seats(subs: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seats on each Monday per customer: all products, and Core alone (the licensed seats)."""
    who = pd.Index(ids).get_indexer(subs["customer_id"])
    start = pd.to_datetime(subs["start_date"]).to_numpy().astype("datetime64[D]")
    end_text = subs["end_date"].where(subs["end_date"].astype(str) != "", "2100-01-01")
    end = pd.to_datetime(end_text).to_numpy().astype("datetime64[D]")
    mondays = FIRST_MONDAY + 7 * np.arange(WEEKS)
    # A line counts on the Mondays in [start, end): from the first Monday on or after start.
    first = np.searchsorted(mondays, start, side="left")
    stop = np.searchsorted(mondays, end, side="left")
    quantity = subs["quantity"].to_numpy(dtype=np.int64)
    is_core = (subs["product"] == "Core").to_numpy()
    out = []
    for mask in (np.ones(len(subs), dtype=bool), is_core):
        diff = np.zeros((len(ids), WEEKS + 1), dtype=np.int64)
        np.add.at(diff, (who[mask], first[mask]), quantity[mask])
        np.add.at(diff, (who[mask], stop[mask]), -quantity[mask])
        out.append(np.cumsum(diff, axis=1)[:, :WEEKS])
    return out[0], out[1]


def _pressure(
    total: np.ndarray, active: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How strongly each customer-week shows trouble ahead (warning) or growth ahead, 0..1.

    Also returns the weeks of the troubles (churn, contraction or a passing dip) that the
    customer shows, weighted, for the stakeholders.
    """
    n = total.shape[0]
    before, now = total[:, :-1], total[:, 1:]
    churn = np.zeros_like(active)
    contraction = np.zeros_like(active)
    expansion = np.zeros_like(active)
    churn[:, 1:] = (before > 0) & (now == 0)
    contraction[:, 1:] = (before > 0) & (now > 0) & (now < before)
    expansion[:, 1:] = (before > 0) & (now > before)
    loud = rng.random((n, WEEKS)) >= SILENT
    strength = rng.uniform(0.5, 1.0, (n, WEEKS))
    trouble = (churn * 1.0 + contraction * 0.6) * loud * strength
    # Dips: a healthy customer who looks like one about to leave, then recovers.
    trouble = np.maximum(trouble, (rng.random((n, WEEKS)) < DIP_RATE) * active * strength * 0.8)
    rise = expansion * rng.uniform(0.3, 1.0, (n, WEEKS)) * (rng.random((n, WEEKS)) < 0.75)
    warning = np.zeros((n, WEEKS))
    growth = np.zeros((n, WEEKS))
    for ahead in range(1, LEAD + 1):
        # The signal builds up as the event nears: faint a quarter ahead, full the week before.
        weight = 1 - (ahead - 1) / LEAD
        warning[:, :-ahead] = np.maximum(warning[:, :-ahead], trouble[:, ahead:] * weight)
        growth[:, :-ahead] = np.maximum(growth[:, :-ahead], rise[:, ahead:] * weight)
    return warning * active, growth * active, trouble


def _cells(mask: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Customer and week of each active cell, repeated `counts` times when given."""
    rows, weeks = np.nonzero(mask)
    if counts is not None:
        times = counts[rows, weeks]
        rows, weeks = np.repeat(rows, times), np.repeat(weeks, times)
    return rows, weeks


def _days(mondays: np.ndarray, weeks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A day in each week, never past the end of the data."""
    days = mondays[weeks] + rng.integers(0, 7, len(weeks))
    return np.minimum(days, DATA_END)


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days, unit="D").astype(object)


def _usage(
    ids: np.ndarray,
    segment: np.ndarray,
    licensed: np.ndarray,
    active: np.ndarray,
    warning: np.ndarray,
    growth: np.ndarray,
    mondays: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(ids)
    # Slow drifts per customer: an AR(1) walk in log space, so usage wanders week to week.
    drift = np.zeros((n, WEEKS))
    step = rng.normal(0, 0.05, (n, WEEKS))
    for week in range(1, WEEKS):
        drift[:, week] = 0.85 * drift[:, week - 1] + step[:, week]
    # New customers take a couple of months to roll the product out.
    age = np.cumsum(active, axis=1)
    onboarding = np.minimum(1.0, 0.55 + 0.45 * age / 8)
    fill = rng.beta(8, 2.5, n)[:, None]
    util = np.clip(fill * np.exp(drift) * onboarding * (1 - 0.6 * warning), 0.02, 1.0)
    util = util + (0.98 - util) * growth  # before an expansion, the licensed seats fill up
    seats_used = rng.binomial(licensed.clip(0), np.clip(util, 0, 1))
    engaged = rng.beta(7, 2, n)[:, None] * np.exp(0.5 * drift) * (1 - 0.7 * warning)
    active_users = rng.binomial(seats_used, np.clip(engaged * (1 + 0.1 * growth), 0, 1))
    taste = rng.lognormal(0, 0.3, n)[:, None]
    logins = rng.poisson(
        active_users * LOGINS_PER_USER[segment][:, None] * taste * (1 - 0.3 * warning)
    )
    depth = rng.lognormal(0, 0.4, n)[:, None]
    events = rng.poisson(
        active_users
        * EVENTS_PER_USER[segment][:, None]
        * depth
        * (1 - 0.4 * warning)
        * (1 + 0.3 * growth)
    )
    rows, weeks = np.nonzero(active)
    values = np.stack(
        [m[rows, weeks] for m in (seats_used, active_users, logins, events)], axis=1
    ).ravel()
    k = len(METRICS)
    return pd.DataFrame(
        {
            "customer_id": np.repeat(ids[rows], k),
            "date": np.repeat(_iso(mondays[weeks]), k),
            "metric": np.tile(np.array(METRICS, dtype=object), len(rows)),
            "value": values.astype(np.int64),
        }
    )


def _tickets(
    ids: np.ndarray,
    segment: np.ndarray,
    licensed: np.ndarray,
    active: np.ndarray,
    warning: np.ndarray,
    mondays: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(ids)
    size = (licensed.clip(1) / np.array([6.0, 30.0, 180.0])[segment][:, None]) ** 0.3
    rate = TICKETS[segment][:, None] * rng.lognormal(0, 0.5, n)[:, None] * size
    counts = rng.poisson(rate * (1 + 2.5 * warning) * active)
    rows, weeks = _cells(counts > 0, counts)
    risk = warning[rows, weeks]
    # Trouble ahead shifts tickets from low/normal to high/urgent.
    cut = np.cumsum(
        np.stack([0.3 - 0.15 * risk, 0.5 - 0.2 * risk, 0.15 + 0.2 * risk], axis=1), axis=1
    )
    level = (rng.random(len(rows))[:, None] > cut).sum(axis=1)
    opened = _days(mondays, weeks, rng)
    resolve = np.ceil(rng.exponential(np.array([6.0, 4.0, 2.0, 1.0])[level])).astype(int)
    closed = opened + resolve
    closed_text = np.where(closed <= DATA_END, _iso(closed), "")
    answered = rng.random(len(rows)) < 0.55
    score = np.clip(
        np.rint(4.3 - 1.8 * risk - 0.3 * (level >= 2) + rng.normal(0, 0.9, len(rows))), 1, 5
    )
    return pd.DataFrame(
        {
            "customer_id": ids[rows],
            "opened_at": _iso(opened),
            "closed_at": closed_text.astype(object),
            "priority": PRIORITIES[level].astype(object),
            "satisfaction": pd.array(np.where(answered, score, np.nan), dtype="Int64"),
        }
    ).sort_values(["customer_id", "opened_at"], kind="stable", ignore_index=True)


def _surveys(
    ids: np.ndarray,
    segment: np.ndarray,
    active: np.ndarray,
    warning: np.ndarray,
    mondays: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(ids)
    mood = rng.normal(0, 1, n)  # some customers are simply more generous with scores
    frames = []
    for kind, rates in (("nps", NPS), ("csat", CSAT)):
        counts = rng.poisson(rates[segment][:, None] * active, (n, WEEKS))
        rows, weeks = _cells(counts > 0, counts)
        risk = warning[rows, weeks]
        noise = rng.normal(0, 1, len(rows))
        if kind == "nps":
            score = np.clip(np.rint(8.0 + 0.8 * mood[rows] - 4.0 * risk + 1.6 * noise), 0, 10)
        else:
            score = np.clip(np.rint(4.1 + 0.3 * mood[rows] - 1.5 * risk + 0.7 * noise), 1, 5)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids[rows],
                    "date": _iso(_days(mondays, weeks, rng)),
                    "kind": kind,
                    "score": score.astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(
        ["customer_id", "date", "kind"], kind="stable", ignore_index=True
    )


def _touchpoints(
    ids: np.ndarray,
    segment: np.ndarray,
    active: np.ndarray,
    warning: np.ndarray,
    mondays: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(ids)
    frames = []
    for kind, rates, fade in (
        ("email", EMAILS, 0.5),
        ("call", CALLS, 0.6),
        ("meeting", MEETINGS, 0.7),
    ):
        counts = rng.poisson(rates[segment][:, None] * active * (1 - fade * warning))
        rows, weeks = _cells(counts > 0, counts)
        frames.append((rows, weeks, kind))
    # Quarterly business reviews fall due every 13 weeks, each customer on its own cycle.
    phase = rng.integers(0, 13, n)[:, None]
    due = (np.arange(WEEKS)[None, :] % 13 == phase) & active
    held = rng.random((n, WEEKS)) < QBR_HELD[segment][:, None] * (1 - 0.8 * warning)
    rows, weeks = np.nonzero(due & held)
    frames.append((rows, weeks, "qbr"))
    out = pd.concat(
        [
            pd.DataFrame(
                {"customer_id": ids[r], "date": _iso(_days(mondays, w, rng)), "kind": kind}
            )
            for r, w, kind in frames
        ],
        ignore_index=True,
    )
    return out.sort_values(["customer_id", "date", "kind"], kind="stable", ignore_index=True)


def _stakeholders(
    ids: np.ndarray,
    segment: np.ndarray,
    active: np.ndarray,
    trouble: np.ndarray,
    mondays: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(ids)
    extra = rng.poisson(CONTACTS[segment])
    has_champion = rng.random(n) < 0.85
    ever = active.any(axis=1)
    first_week = np.where(ever, active.argmax(axis=1), WEEKS)
    # A champion who leaves shortly before the trouble: only for troubles the customer shows.
    leaves = (trouble > 0) & (rng.random(trouble.shape) < 0.5 * trouble)
    rows = []
    for c in range(n):
        if not ever[c]:
            continue
        people = 1 + int(extra[c])
        start = mondays[first_week[c]]
        champion_gone = None
        hits = np.flatnonzero(leaves[c])
        if hits.size:
            week = hits[0]
            champion_gone = mondays[week] - int(rng.integers(14, 91))
        for p in range(people):
            champion = bool(has_champion[c] and p == 0)
            decision = p == (1 if people > 1 else 0)
            if decision:
                role = DECISION_ROLES[int(rng.integers(len(DECISION_ROLES)))]
            elif champion:
                role = CHAMPION_ROLES[int(rng.integers(len(CHAMPION_ROLES)))]
            else:
                role = OTHER_ROLES[int(rng.integers(len(OTHER_ROLES)))]
            # Ordinary turnover: about one contact in eight leaves in a year.
            gone = start + int(rng.exponential(365 / 0.13))
            if champion and champion_gone is not None and champion_gone > start:
                gone = min(gone, champion_gone)
            name = (
                f"{FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]} "
                f"{LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]}"
            )
            rows.append(
                (
                    ids[c],
                    name,
                    role,
                    champion,
                    decision,
                    str(gone) if gone <= DATA_END else "",
                )
            )
    return pd.DataFrame(
        rows,
        columns=["customer_id", "name", "role", "champion", "decision_maker", "active_until"],
    )
