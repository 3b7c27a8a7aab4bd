"""Backtest the health score: score a past day, then look at what the customers did next.

    result = backtest(book, "2025-03-01", horizon=3)
    result.auc_churn, result.at_risk_churn.precision, result.tiers, result.calibration

As of a day D the score reads only data dated before D (indicators.py). Its cohort is every
customer active in the reference month (the month before D's); the outcome compares each
customer's MRR there with its MRR `horizon` months later, the "same customers at two points"
method of METRICS.md section 4: churned when the later MRR is 0, contracted when it is lower,
expanded when it is higher (both valued at the later month's rates, so a rate move is neither).

The figures answer three questions: does a lower score rank the customers who left first
(ROC AUC), does the at-risk tier catch them (precision, recall, MRR-weighted lift), and does
each tier's retention match its name (NRR, GRR and churn per tier, adding up exactly to the
book's own window figures).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nrr.errors import InputError, InternalError, Problem
from nrr.health.indicators import reference_month
from nrr.health.queries import Kind, cohort_statement, fetch_frame
from nrr.health.results import TIERS, as_of_day, scored_days, scored_on
from nrr.health.settings import HealthSettings
from nrr.limits import MAX_MONTHS
from nrr.months import month_label
from nrr.results import RetentionFigures, ratio_of

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = [
    "BANDS",
    "BacktestResult",
    "Band",
    "Catch",
    "TierOutcome",
    "auc",
    "backtest",
    "catch",
    "check_horizon",
    "check_horizon_length",
    "evaluate",
    "outcomes",
]

BANDS = 10  # calibration bands of 10 score points: [0, 10), [10, 20) ... [90, 100]
_ZERO = Decimal(0)


def auc(risk: Sequence[float] | np.ndarray, positive: Sequence[bool] | np.ndarray) -> float | None:
    """ROC AUC: the chance that a random positive has a higher `risk` than a random negative,
    ties counting half (Mann-Whitney U from average ranks). None when a class is empty."""
    risk = np.asarray(risk, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Average ranks give tied values the mean of their ranks: exactly "ties count half".
    ranks = pd.Series(risk).rank(method="average").to_numpy()
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class Catch:
    """How well the at-risk tier catches one outcome (churn, or churn-or-contraction)."""

    flagged: int  # customers in the at-risk tier
    hits: int  # of them, customers with the outcome
    positives: int  # customers with the outcome in the whole cohort

    @property
    def precision(self) -> float | None:
        return None if self.flagged == 0 else self.hits / self.flagged

    @property
    def recall(self) -> float | None:
        return None if self.positives == 0 else self.hits / self.positives


@dataclass(frozen=True)
class TierOutcome:
    """One tier's retention over the horizon (its customers are a slice of the cohort)."""

    tier: str
    figures: RetentionFigures
    contracted: int  # customers still there with lower MRR
    expanded: int  # customers with higher MRR

    @property
    def customers(self) -> int:
        return self.figures.customers_start

    @property
    def churned(self) -> int:
        return self.figures.customers_start - self.figures.customers_retained

    @property
    def logo_churn(self) -> Decimal | None:
        return ratio_of(Decimal(self.churned), Decimal(self.customers))


@dataclass(frozen=True)
class Band:
    """Customers whose score is in [low, high) (the last band includes 100)."""

    low: int
    high: int
    customers: int
    mean_score: float | None
    churned: int
    downturned: int  # churned or contracted

    @property
    def churn_rate(self) -> float | None:
        return None if self.customers == 0 else self.churned / self.customers

    @property
    def downturn_rate(self) -> float | None:
        return None if self.customers == 0 else self.downturned / self.customers


@dataclass(frozen=True)
class BacktestResult:
    """The score as of `as_of` against the outcome `horizon` months after the reference month.

    `customers` has one row per cohort member: customer_id, score, tier, c_<indicator>,
    s_s / e_s / e_e (Decimal: MRR in the reference month at its rates, MRR in the outcome
    month at the reference month's rates and at its own), churned, contracted, expanded (in
    constant currency, as the window's movements), downturn.
    Precision and recall count the whole cohort (a customer without a score is never
    flagged, so a churn among them is a miss); the AUCs rank only the customers with a score.
    """

    as_of: date
    horizon: int
    reference_month: int
    outcome_month: int
    settings: HealthSettings
    indicators: tuple[str, ...]
    customers: pd.DataFrame
    auc_churn: float | None
    auc_downturn: float | None
    at_risk_churn: Catch
    at_risk_downturn: Catch
    tiers: tuple[TierOutcome, ...]
    overall: TierOutcome
    lift: Decimal | None
    calibration: tuple[Band, ...]

    @property
    def reference(self) -> str:
        return month_label(self.reference_month)

    @property
    def outcome(self) -> str:
        return month_label(self.outcome_month)

    @property
    def cohort(self) -> int:
        return len(self.customers)

    @property
    def unknown(self) -> int:
        return int((self.customers["tier"] == "unknown").sum())

    @property
    def scored(self) -> int:
        return self.cohort - self.unknown

    @property
    def churn_rate(self) -> float | None:
        return _rate(int(self.customers["churned"].sum()), self.cohort)

    @property
    def downturn_rate(self) -> float | None:
        return _rate(int(self.customers["downturn"].sum()), self.cohort)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def check_horizon_length(horizon: int) -> None:
    """An InputError unless `horizon` is a positive number of months (before reading data)."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_MONTHS:
        raise InputError(
            Problem(
                source="--horizon",
                message=f"{horizon!r} is not a positive number of months up to {MAX_MONTHS:,}; "
                "use 1, 3, 6 or 12",
            )
        )


def check_horizon(book: Book, day: date, horizon: int) -> int:
    """The outcome month of `day` for `horizon` months; an InputError when the data does not
    reach it (or the horizon is not a positive number of months)."""
    check_horizon_length(horizon)
    ref = reference_month(day)
    end = ref + horizon
    latest = book.latest_month()
    if latest is None or end > latest:
        ends = "holds no revenue" if latest is None else f"ends in {month_label(latest)}"
        hint = (
            ""
            if latest is None
            else f"; pick --as-of {month_label(latest - horizon + 1)} or earlier, or a "
            "shorter --horizon"
        )
        raise InputError(
            Problem(
                source="--horizon",
                message=f"scoring as of {day} (customers active in {month_label(ref)}) with a "
                f"{horizon}-month horizon needs data through {month_label(end)}, but the "
                f"data {ends}{hint}",
            )
        )
    return end


def outcomes(book: Book, day: date, horizon: int) -> pd.DataFrame:
    """customer_id, s_s, e_s, e_e (Decimal) for every customer active in `day`'s reference
    month: its MRR there, its MRR at the outcome at the reference month's rates and at the
    outcome month's."""
    ref = reference_month(day)
    tables = book.tables()
    query = cohort_statement(tables, book.rates, book.currencies, ref, ref + horizon)
    kinds: dict[str, Kind] = {"customer_id": "text", "s_s": "money", "e_s": "money"}
    return fetch_frame(tables.engine, query, {**kinds, "e_e": "money"})


def backtest(
    book: Book,
    as_of: str | date,
    horizon: int = 3,
    *,
    settings: HealthSettings | None = None,
) -> BacktestResult:
    """Score every customer as of `as_of` (only data before it) and compare the score with
    what each customer did over the next `horizon` months (from the reference month)."""
    day = as_of_day(book, as_of)
    check_horizon(book, day, horizon)
    settings = settings or book.health_settings
    scored = scored_days(book, [day], settings)
    return evaluate(book, day, horizon, scored, settings)


def evaluate(
    book: Book, day: date, horizon: int, scored: pd.DataFrame, settings: HealthSettings
) -> BacktestResult:
    """The backtest of `day` from its rows of `scored` (`results.scored_days`, which may hold
    other days too), so a caller that scores several days at once pays for it once."""
    end = check_horizon(book, day, horizon)
    now = scored_on(scored, day)
    frame = _joined(now, outcomes(book, day, horizon))
    known = frame["tier"] != "unknown"
    risk = 100.0 - frame.loc[known, "score"].to_numpy(dtype=float)
    flagged = frame["tier"] == "at risk"
    tiers = tuple(_tier(frame[frame["tier"] == t], t) for t in TIERS)
    overall = _tier(frame, "all")
    indicators = tuple(c.removeprefix("c_") for c in frame.columns if c.startswith("c_"))
    return BacktestResult(
        as_of=day,
        horizon=horizon,
        reference_month=reference_month(day),
        outcome_month=end,
        settings=settings,
        indicators=indicators,
        customers=frame,
        auc_churn=auc(risk, frame.loc[known, "churned"]),
        auc_downturn=auc(risk, frame.loc[known, "downturn"]),
        at_risk_churn=catch(flagged, frame["churned"]),
        at_risk_downturn=catch(flagged, frame["downturn"]),
        tiers=tiers,
        overall=overall,
        lift=_lift(tiers[TIERS.index("at risk")].figures, overall.figures),
        calibration=_calibration(frame[known]),
    )


def _joined(now: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    keep = ["customer_id", "mrr", "score", "tier", *(c for c in now.columns if c[:2] == "c_")]
    frame = now[keep].merge(after, on="customer_id", how="outer", indicator=True)
    # Both sides are "active in the reference month" by the same query (health/cohort.sql):
    # a customer on one side only would be a bug, not a data problem.
    if (frame.pop("_merge") != "both").any() or (frame["mrr"] != frame["s_s"]).any():
        raise InternalError("the scored customers and the backtest cohort differ")
    frame = frame.drop(columns="mrr")
    frame["churned"] = [e == 0 for e in frame["e_e"]]
    frame["contracted"] = [0 < e < s for e, s in zip(frame["e_s"], frame["s_s"], strict=True)]
    frame["expanded"] = [e > s for e, s in zip(frame["e_s"], frame["s_s"], strict=True)]
    frame["downturn"] = frame["churned"] | frame["contracted"]
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _tier(part: pd.DataFrame, name: str) -> TierOutcome:
    """A slice's window figures, by the definitions `retention._aggregate` uses."""
    s_s, e_s, e_e = (list(part[c]) for c in ("s_s", "e_s", "e_e"))
    churned, contracted, expanded = (
        part[c].to_numpy(bool) for c in ("churned", "contracted", "expanded")
    )

    def total(values: list[Decimal]) -> Decimal:
        return sum(values, _ZERO)

    figures = RetentionFigures(
        starting_mrr=total(s_s),
        ending_mrr=total(e_e),
        fx=total([b - a for a, b in zip(e_s, e_e, strict=True)]),
        expansion=total([e - s for s, e, x in zip(s_s, e_s, expanded, strict=True) if x]),
        contraction=total([s - e for s, e, c in zip(s_s, e_s, contracted, strict=True) if c]),
        churn=total([s for s, c in zip(s_s, churned, strict=True) if c]),
        customers_start=len(part),
        customers_retained=int((~churned).sum()),
        # Customers outside the cohort never enter a backtest.
        new_mrr=_ZERO,
        reactivation_mrr=_ZERO,
    )
    return TierOutcome(
        tier=name, figures=figures, contracted=int(contracted.sum()), expanded=int(expanded.sum())
    )


def catch(flagged: pd.Series, outcome: pd.Series) -> Catch:
    """The at-risk tier (`flagged`) against an outcome, both boolean per customer."""
    return Catch(
        flagged=int(flagged.sum()),
        hits=int((flagged & outcome).sum()),
        positives=int(outcome.sum()),
    )


def _lift(at_risk: RetentionFigures, overall: RetentionFigures) -> Decimal | None:
    """The at-risk tier's churned share of MRR over the book's: 3 means the tier loses MRR to
    churn three times as fast as the average customer."""
    tier_rate = ratio_of(at_risk.churn, at_risk.starting_mrr)
    book_rate = ratio_of(overall.churn, overall.starting_mrr)
    if tier_rate is None or not book_rate:
        return None
    return tier_rate / book_rate


def _calibration(known: pd.DataFrame) -> tuple[Band, ...]:
    width = 100 // BANDS
    # 100 belongs to the last band: [90, 100].
    band = np.minimum((known["score"].to_numpy(float) // width).astype(int), BANDS - 1)
    out = []
    for i in range(BANDS):
        part = known[band == i]
        mean = float(part["score"].mean()) if len(part) else math.nan
        out.append(
            Band(
                low=i * width,
                high=(i + 1) * width,
                customers=len(part),
                mean_score=None if math.isnan(mean) else mean,
                churned=int(part["churned"].sum()),
                downturned=int(part["downturn"].sum()),
            )
        )
    return tuple(out)
