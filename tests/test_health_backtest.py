"""`nrr health backtest` and `--fit` (docs/health.md): the metrics equal scikit-learn's, the
tiers add up to the book's own window figures, nothing dated on or after the as-of day
changes a score, and the fit trains only on outcomes known before that day."""

from __future__ import annotations

import json
import tomllib
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.datasets import generate_demo, write_demo
from nrr.datasets.demo import DEMO_SETTINGS
from nrr.errors import InputError
from nrr.health.backtest import auc, backtest, catch, outcomes
from nrr.health.fit import backtest_and_fit, features, training_days, whole_weights
from nrr.health.indicators import reference_month
from nrr.health.results import TIERS, scored_days
from nrr.health.settings import health_from_config
from nrr.months import month_label

SEED, CUSTOMERS = 7, 300  # ~210 customers active in 2025-05, a handful churning by 2025-08
DAY, HORIZON = date(2025, 6, 1), 3
SIGNALS = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")
SETTINGS = health_from_config(tomllib.loads(DEMO_SETTINGS)["health"], file="nrr.toml")


def _book(data) -> nrr.Book:
    return nrr.load(
        data.subscriptions,
        customers=data.customers,
        fx_rates=data.fx_rates,
        health=SETTINGS,
        **{name: getattr(data, name) for name in SIGNALS},
    )


@pytest.fixture(scope="module")
def demo():
    return generate_demo(seed=SEED, customers=CUSTOMERS)


@pytest.fixture(scope="module")
def book(demo) -> nrr.Book:
    return _book(demo)


@pytest.fixture(scope="module")
def both(book):
    return backtest_and_fit(book, DAY, HORIZON)


@pytest.fixture(scope="module")
def result(both):
    return both[0]


@pytest.fixture(scope="module")
def fit(both):
    return both[1]


@pytest.fixture(scope="module")
def folder(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("backtest-demo")
    write_demo(demo, path)
    return path


def test_the_fixture_has_both_outcomes(result):
    frame = result.customers
    assert result.cohort > 150 and 0 < frame["churned"].sum() < result.cohort
    assert frame["contracted"].any() and frame["expanded"].any()
    assert (result.reference, result.outcome) == ("2025-05", "2025-08")


def test_auc_precision_recall_equal_sklearn(result):
    frame = result.customers
    known = frame[frame["tier"] != "unknown"]
    risk = 100 - known["score"]
    assert result.auc_churn == pytest.approx(roc_auc_score(known["churned"], risk), abs=1e-12)
    assert result.auc_downturn == pytest.approx(roc_auc_score(known["downturn"], risk), abs=1e-12)
    flagged = frame["tier"] == "at risk"
    for outcome, found in (
        ("churned", result.at_risk_churn),
        ("downturn", result.at_risk_downturn),
    ):
        truth = frame[outcome]
        assert found.precision == pytest.approx(precision_score(truth, flagged, zero_division=0))
        assert found.recall == pytest.approx(recall_score(truth, flagged))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10).map(lambda s: s * 10.0), st.booleans(), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_metrics_equal_sklearn_on_generated_scores(rows):
    # Scores on a 10-point grid, so ties are common: a tie must count half.
    scores = np.array([r[0] for r in rows])
    churned = np.array([r[1] for r in rows])
    flagged = pd.Series([r[2] for r in rows])
    risk = 100 - scores
    if churned.all() or not churned.any():
        assert auc(risk, churned) is None
    else:
        assert auc(risk, churned) == pytest.approx(roc_auc_score(churned, risk), abs=1e-12)
    found = catch(flagged, pd.Series(churned))
    if flagged.any():
        assert found.precision == pytest.approx(precision_score(churned, flagged))
    else:
        assert found.precision is None
    if churned.any():
        assert found.recall == pytest.approx(recall_score(churned, flagged))
    else:
        assert found.recall is None


ADDITIVE = ("starting_mrr", "ending_mrr", "fx", "expansion", "contraction", "churn")
COUNTS = ("customers_start", "customers_retained")


def test_tiers_add_up_to_the_book_window_exactly(book, result):
    assert [t.tier for t in result.tiers] == list(TIERS)
    whole = book.window(end=result.outcome, window=HORIZON).overall
    for name in (*ADDITIVE, *COUNTS):
        parts = [getattr(t.figures, name) for t in result.tiers]
        total = sum(parts, Decimal(0)) if name in ADDITIVE else sum(parts)
        assert total == getattr(result.overall.figures, name) == getattr(whole, name), name
    assert result.overall.figures.nrr == whole.nrr and result.overall.figures.grr == whole.grr
    assert sum(t.churned for t in result.tiers) == int(result.customers["churned"].sum())
    assert sum(b.customers for b in result.calibration) == result.scored


def test_lift_and_calibration_from_their_definitions(result):
    at_risk = result.tiers[TIERS.index("at risk")].figures
    overall = result.overall.figures
    if at_risk.starting_mrr and overall.churn:
        expected = (at_risk.churn / at_risk.starting_mrr) / (overall.churn / overall.starting_mrr)
        assert result.lift == expected
    known = result.customers[result.customers["tier"] != "unknown"]
    top = result.calibration[-1]
    in_top = known[known["score"] >= 90]
    assert (top.low, top.high, top.customers) == (90, 100, len(in_top))
    assert top.churned == int(in_top["churned"].sum())


def _after_day(data, day: date):
    """The demo with the future rewritten: half of the customers active on `day` end every
    line on it, one gets a new line after it, and signals dated on or after it are replaced."""
    text = day.isoformat()
    subs = data.subscriptions.copy()
    live = (subs["start_date"] < text) & ((subs["end_date"] == "") | (subs["end_date"] >= text))
    ids = sorted(subs.loc[live, "customer_id"].unique())
    leaving = subs["customer_id"].isin(ids[::2]) & live
    subs.loc[leaving, "end_date"] = text
    later = (
        subs[live]
        .head(1)
        .assign(start_date=(day + timedelta(days=20)).isoformat(), end_date="", amount="99999.00")
    )
    subs = pd.concat([subs, later], ignore_index=True)
    frames = {"subscriptions": subs}
    for name, column in (
        ("usage", "date"),
        ("tickets", "opened_at"),
        ("surveys", "date"),
        ("touchpoints", "date"),
    ):
        frame = getattr(data, name)
        past = frame[frame[column] < text]
        noise = frame[frame[column] < text].tail(50).assign(**{column: text})
        if name == "tickets":
            noise = noise.assign(closed_at="", priority="urgent")
        frames[name] = pd.concat([past, noise], ignore_index=True)
    stake = data.stakeholders.copy()
    stays = stake["active_until"] >= text  # still there on the day: when they leave later
    stake.loc[stays, "active_until"] = (day + timedelta(days=1)).isoformat()
    frames["stakeholders"] = stake
    return type(data)(**{**vars(data), **frames})


def test_nothing_on_or_after_the_day_changes_a_score(demo, result):
    changed = backtest(_book(_after_day(demo, DAY)), DAY, HORIZON)
    columns = ["customer_id", "score", "tier", *(f"c_{n}" for n in result.indicators)]
    pd.testing.assert_frame_equal(result.customers[columns], changed.customers[columns])
    assert list(result.customers["s_s"]) == list(changed.customers["s_s"])
    # The outcomes did change: half of the cohort left on the day.
    assert changed.customers["churned"].sum() > result.customers["churned"].sum()


def test_horizon_past_the_data_or_not_positive(book):
    with pytest.raises(InputError, match=r"needs data through 2026-01.*ends in 2025-12"):
        backtest(book, "2025-11-01", 3)
    with pytest.raises(InputError, match="not a positive number of months"):
        backtest(book, DAY, 0)


def test_fit_trains_only_on_outcomes_known_before_the_day(fit):
    assert fit.training_days == tuple(training_days(DAY, HORIZON, 6))
    assert all(d < DAY for d in fit.training_days)
    for day in fit.training_days:
        assert reference_month(day) + HORIZON <= reference_month(DAY)
    assert fit.training_days[0] == date(2025, 3, 1) and fit.training_days[-1] == date(2024, 10, 1)


def test_fit_coefficients_equal_a_direct_sklearn_fit(book, fit, result):
    names = list(result.indicators)
    scored = scored_days(book, list(fit.training_days), SETTINGS)
    rows, labels = [], []
    for day in fit.training_days:
        part = scored[scored["as_of"] == day]
        after = outcomes(book, day, HORIZON).set_index("customer_id")["e_e"]
        rows.append(features(part, names))
        labels += [after[c] == 0 for c in part["customer_id"]]
    x = StandardScaler().fit_transform(np.vstack(rows))
    model = LogisticRegression(C=fit.c, max_iter=1000, random_state=0).fit(x, np.array(labels))
    assert fit.training_rows == len(labels) and fit.training_churned == sum(labels)
    assert np.allclose([i.coefficient for i in fit.indicators], model.coef_[0])
    assert fit.intercept == pytest.approx(model.intercept_[0])
    assert fit.c in (0.01, 0.1, 1.0, 10.0)
    assert fit.c == min(fit.log_losses, key=lambda pair: pair[1])[0]


def test_fit_suggests_whole_weights_summing_to_100(fit, result):
    assert sum(fit.suggested.values()) == 100
    for i in fit.indicators:
        assert (i.suggested_weight == 0) == i.adds_nothing
        assert i.adds_nothing == (i.importance <= 0.005 or i.coefficient >= 0)
    snippet = tomllib.loads(fit.toml())["health"]["indicators"]
    assert {k: v["weight"] for k, v in snippet.items()} == fit.suggested
    assert fit.auc_score == pytest.approx(result.auc_churn)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=12))
def test_whole_weights_sum_exactly(shares):
    weights = whole_weights(shares)
    assert all(w >= 0 for w in weights)
    assert sum(weights) == (100 if sum(shares) > 0 else 0)
    if sum(shares) > 0:
        exact = [100 * s / sum(shares) for s in shares]
        assert all(abs(w - e) < 1 for w, e in zip(weights, exact, strict=True))


def test_fit_needs_two_snapshots_with_data(book):
    # 2022-05, 3 months: of the snapshots 2022-02-01, 2022-01-01 ... only the first has
    # customers (the demo begins in 2022-01, the reference month of 2022-02-01).
    with pytest.raises(InputError, match="training snapshots") as caught:
        backtest_and_fit(book, "2022-05-01", HORIZON)
    assert "must reach back to" in str(caught.value)


def _run(folder, *args: str):
    db, config = str(folder / "demo.duckdb"), str(folder / "nrr.toml")
    command = ["health", "backtest", "--db", db, "--config", config, *args]
    return CliRunner().invoke(app, command)


def test_cli_json(folder, result):
    run = _run(folder, "--as-of", "2025-06", "--horizon", "3", "--format", "json")
    assert run.exit_code == 0, run.output
    body = json.loads(run.stdout)
    for key in ("auc_churn", "auc_downturn", "at_risk", "lift", "tiers", "calibration"):
        assert key in body
    assert body["auc_churn"] == round(result.auc_churn, 4)
    assert [t["tier"] for t in body["tiers"]] == list(TIERS)
    assert body["overall"]["customers"] == result.cohort and "fit" not in body


def test_cli_horizon_past_the_data(folder):
    run = _run(folder, "--as-of", "2025-11", "--horizon", "3")
    assert run.exit_code == 2
    assert "needs data through 2026-01" in run.stderr and "--horizon" in run.stderr


def test_cli_fit_table_and_csv(folder, fit):
    run = _run(folder, "--as-of", "2025-06", "--fit")
    assert run.exit_code == 0, run.output
    assert "Retention by tier" in run.stdout and "[health.indicators]" in run.stdout
    assert f"{fit.indicators[0].name} = {{weight = {fit.indicators[0].suggested_weight}}}" in (
        run.stdout
    )
    run = _run(folder, "--as-of", "2025-06", "--format", "csv")
    assert run.exit_code == 0, run.output
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("as_of,horizon,reference_month,outcome_month,tier,")
    assert [line.split(",")[4] for line in lines[1:]] == [*TIERS, "all"]
    assert month_label(reference_month(DAY)) in lines[1]
