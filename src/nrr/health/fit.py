"""Learn from past outcomes which indicators predict churn, and suggest weights.

    backtest_result, fit = backtest_and_fit(book, "2025-06-01", horizon=3)
    fit.suggested      # {indicator: whole-number weight}, summing to 100
    fit.toml()         # the same as an nrr.toml snippet

Time-based, so nothing leaks from the future: with M the month of the as-of day D, the
training snapshots are the first days of months M - h - k (k = 0 .. snapshots - 1). Each
one's outcome month is M - k - 1, at or before D's reference month, so every label was known
on D. The model (logistic regression on the indicator components, L2, standardized) picks
its regularization on the most recent snapshot with a model trained on the older ones, is
refit on them all, and is tested on D itself: the same customers and outcomes the backtest
judges the configured score on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from nrr.errors import InputError, Problem
from nrr.health.backtest import BacktestResult, auc, check_horizon, evaluate, outcomes
from nrr.health.indicators import month_start, reference_month
from nrr.health.results import as_of_day, scored_days
from nrr.health.settings import HealthSettings
from nrr.months import month_label, month_of

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = [
    "CS",
    "MIN_IMPORTANCE",
    "FitResult",
    "IndicatorFit",
    "backtest_and_fit",
    "fit_weights",
    "training_days",
    "whole_weights",
]

CS = (0.01, 0.1, 1.0, 10.0)  # inverse L2 strengths tried
MIN_IMPORTANCE = 0.005  # AUC lost when an indicator is shuffled, below which it adds nothing
NEUTRAL = 50.0  # a missing component: neither good nor bad
MIN_SNAPSHOTS = 2  # one to choose C on, at least one to train on


@dataclass(frozen=True)
class IndicatorFit:
    """One indicator in the fitted model."""

    name: str
    coefficient: float  # per standard deviation of the component (log-odds of churn)
    per_point: float  # per component point (0-100)
    importance: float  # mean AUC lost when the component is shuffled on D
    importance_std: float
    current_weight: float
    suggested_weight: int

    @property
    def adds_nothing(self) -> bool:
        # A higher component is meant to mean less churn: a positive coefficient says the
        # indicator points the wrong way here, whatever its importance.
        return self.importance <= MIN_IMPORTANCE or self.coefficient >= 0


@dataclass(frozen=True)
class FitResult:
    """The fitted model, how it does on the as-of day, and the weights it suggests."""

    as_of: date
    horizon: int
    training_days: tuple[date, ...]  # newest first; only those with scored customers
    training_rows: int
    training_churned: int
    c: float
    log_losses: tuple[tuple[float, float], ...]  # (C, log loss on the newest snapshot)
    test_customers: int
    auc_model: float | None
    auc_score: float | None
    brier: float
    indicators: tuple[IndicatorFit, ...]
    intercept: float

    @property
    def suggested(self) -> dict[str, int]:
        return {i.name: i.suggested_weight for i in self.indicators}

    def toml(self) -> str:
        """The suggested weights as an nrr.toml snippet (thresholds unchanged)."""
        lines = ["[health.indicators]"]
        lines += [f"{i.name} = {{weight = {i.suggested_weight}}}" for i in self.indicators]
        return "\n".join(lines) + "\n"


def training_days(as_of: date, horizon: int, snapshots: int) -> list[date]:
    """The first days of months M - h - k, k = 0 .. snapshots - 1 (newest first)."""
    month = month_of(as_of)
    return [month_start(month - horizon - k) for k in range(snapshots)]


def fit_weights(
    book: Book,
    as_of: str | date,
    horizon: int = 3,
    *,
    settings: HealthSettings | None = None,
    snapshots: int = 6,
) -> FitResult:
    """Fit churn on the indicator components over past snapshots, test on `as_of`, and
    suggest weights (module docstring)."""
    return backtest_and_fit(book, as_of, horizon, settings=settings, snapshots=snapshots)[1]


def backtest_and_fit(
    book: Book,
    as_of: str | date,
    horizon: int = 3,
    *,
    settings: HealthSettings | None = None,
    snapshots: int = 6,
) -> tuple[BacktestResult, FitResult]:
    """The backtest of `as_of` and the fit, from one scoring pass over every day."""
    day = as_of_day(book, as_of)
    check_horizon(book, day, horizon)
    if snapshots < MIN_SNAPSHOTS:
        raise InputError(
            Problem(source="snapshots", message=f"the fit needs at least {MIN_SNAPSHOTS}")
        )
    settings = settings or book.health_settings
    days = training_days(day, horizon, snapshots)
    scored = scored_days(book, [*days, day], settings)
    tested = evaluate(book, day, horizon, scored, settings)
    names = list(tested.indicators)
    train = [(d, _snapshot(book, scored, d, horizon)) for d in days]
    train = [(d, part) for d, part in train if _has_data(part)]
    if len(train) < MIN_SNAPSHOTS:
        need = month_label(reference_month(days[MIN_SNAPSHOTS - 1]))
        raise InputError(
            Problem(
                source="--fit",
                message=f"the fit needs at least {MIN_SNAPSHOTS} training snapshots with scored "
                f"customers and only {len(train)} of {', '.join(map(str, days))} have them: "
                f"the subscriptions and health inputs must reach back to {need} (each "
                f"snapshot's outcome {horizon} months later must be known before {day}); "
                "pick a later --as-of or a shorter --horizon",
            )
        )
    newest, older = train[0][1], pd.concat([p for _, p in train[1:]], ignore_index=True)
    everything = pd.concat([p for _, p in train], ignore_index=True)
    for part, what in ((older, "older training snapshots"), (everything, "training snapshots")):
        _two_classes(part, what, day)
    losses = tuple((c, _loss(older, newest, names, c)) for c in CS)
    chosen = min(losses, key=lambda pair: pair[1])[0]  # ties: the stronger regularization
    model = fit_model(everything, names, chosen)
    test = tested.customers[tested.customers["tier"] != "unknown"]
    _two_classes(test, f"customers scored on {day}", day)
    x_test, y_test = features(test, names), test["churned"].to_numpy(int)
    proba = model.predict_proba(x_test)[:, 1]
    shuffled = permutation_importance(
        model, x_test, y_test, scoring="roc_auc", n_repeats=10, random_state=0
    )
    fit = FitResult(
        as_of=day,
        horizon=horizon,
        training_days=tuple(d for d, _ in train),
        training_rows=len(everything),
        training_churned=int(everything["churned"].sum()),
        c=chosen,
        log_losses=losses,
        test_customers=len(test),
        auc_model=auc(proba, y_test.astype(bool)),
        auc_score=auc(100.0 - test["score"].to_numpy(float), test["churned"].to_numpy(bool)),
        brier=float(brier_score_loss(y_test, proba)),
        indicators=_indicators(model, names, shuffled, settings),
        intercept=float(model[-1].intercept_[0]),
    )
    return tested, fit


def features(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The components as a matrix, a missing one as neutral (50)."""
    return frame[[f"c_{n}" for n in names]].astype(float).fillna(NEUTRAL).to_numpy()


def fit_model(frame: pd.DataFrame, names: list[str], c: float) -> Pipeline:
    """Standardize on `frame`'s rows, then an L2 logistic regression of churn."""
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=c, class_weight=None, max_iter=1000, random_state=0),
    )
    return model.fit(features(frame, names), frame["churned"].to_numpy(int))


def _snapshot(book: Book, scored: pd.DataFrame, day: date, horizon: int) -> pd.DataFrame:
    rows = scored[scored["as_of"] == day] if len(scored) else scored
    if rows.empty:
        return rows
    after = outcomes(book, day, horizon)
    frame = rows.merge(after[["customer_id", "e_e"]], on="customer_id", how="left")
    frame["churned"] = [e == 0 for e in frame["e_e"]]
    return frame


def _has_data(part: pd.DataFrame) -> bool:
    # A snapshot before the health inputs begin scores everyone "unknown": all features
    # would be the neutral 50, which teaches the model nothing.
    return bool(len(part)) and bool((part["tier"] != "unknown").any())


def _two_classes(part: pd.DataFrame, what: str, day: date) -> None:
    churned = int(part["churned"].sum())
    if churned == 0 or churned == len(part):
        kind = "no customer churned" if churned == 0 else "every customer churned"
        raise InputError(
            Problem(
                source="--fit",
                message=f"{kind} among the {what} ({len(part):,} customers), so there is "
                f"nothing to learn or test churn on; pick another --as-of than {day} or a "
                "longer --horizon",
            )
        )


def _loss(train: pd.DataFrame, valid: pd.DataFrame, names: list[str], c: float) -> float:
    model = fit_model(train, names, c)
    proba = model.predict_proba(features(valid, names))[:, 1]
    return float(log_loss(valid["churned"].to_numpy(int), proba, labels=[0, 1]))


def _indicators(
    model: Pipeline, names: list[str], shuffled, settings: HealthSettings
) -> tuple[IndicatorFit, ...]:
    scaler, regression = model[0], model[-1]
    coefficients = regression.coef_[0]
    per_point = coefficients / scaler.scale_
    means, stds = shuffled.importances_mean, shuffled.importances_std
    useful = [means[i] > MIN_IMPORTANCE and coefficients[i] < 0 for i in range(len(names))]
    weights = whole_weights([-per_point[i] if useful[i] else 0.0 for i in range(len(names))])
    return tuple(
        IndicatorFit(
            name=name,
            coefficient=float(coefficients[i]),
            per_point=float(per_point[i]),
            importance=float(means[i]),
            importance_std=float(stds[i]),
            current_weight=settings.indicators[name].weight,
            suggested_weight=weights[i],
        )
        for i, name in enumerate(names)
    )


def whole_weights(shares: list[float], total: int = 100) -> list[int]:
    """Non-negative `shares` scaled to whole numbers summing to `total` by largest remainder
    (ties: the earlier indicator); all zeros when every share is 0."""
    whole = sum(shares)
    if whole <= 0:
        return [0] * len(shares)
    exact = [total * s / whole for s in shares]
    floors = [math.floor(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors
