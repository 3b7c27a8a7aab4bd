"""The demo's health inputs: documented formats, seeded, and a real but imperfect signal."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from nrr.datasets import generate_demo, generate_signals, write_demo

SEED, CUSTOMERS = 7, 300
ISO = r"^\d{4}-\d{2}-\d{2}$"


@pytest.fixture(scope="module")
def demo():
    return generate_demo(seed=SEED, customers=CUSTOMERS)


def _dates_ok(column: pd.Series, *, blank: bool = False) -> bool:
    text = column.astype(str)
    filled = text[text != ""] if blank else text
    return bool(filled.str.match(ISO).all()) and filled.between("2022-01-01", "2025-12-31").all()


def test_the_business_is_the_same_with_or_without_signals(demo):
    plain = generate_demo(seed=SEED, customers=CUSTOMERS, signals=False)
    for name in ("subscriptions", "customers", "fx_rates"):
        ours, theirs = getattr(demo, name), getattr(plain, name)
        assert pd.util.hash_pandas_object(ours).sum() == pd.util.hash_pandas_object(theirs).sum()
        pd.testing.assert_frame_equal(ours, theirs)
    assert plain.usage is None and demo.usage is not None


def test_same_seed_same_signals(demo):
    again = generate_signals(demo, seed=SEED)
    other = generate_signals(demo, seed=SEED + 1)
    for name, frame in again.items():
        pd.testing.assert_frame_equal(frame, getattr(demo, name))
    assert not other["usage"].equals(demo.usage)


def test_usage_format(demo):
    usage = demo.usage
    assert list(usage.columns) == ["customer_id", "date", "metric", "value"]
    assert set(usage["metric"]) == {"active_users", "logins", "feature_events", "seats_used"}
    assert (usage["value"] >= 0).all() and _dates_ok(usage["date"])
    assert (pd.to_datetime(usage["date"]).dt.day_of_week == 0).all()  # weekly rows, on Mondays
    assert not usage.duplicated(["customer_id", "date", "metric"]).any()
    wide = usage.pivot_table(index=["customer_id", "date"], columns="metric", values="value")
    assert (wide["active_users"] <= wide["seats_used"]).all()
    assert set(usage["customer_id"]) <= set(demo.customers["customer_id"])


def test_seats_used_never_exceed_the_licensed_core_seats(demo):
    subs = demo.subscriptions[demo.subscriptions["product"] == "Core"]
    seats = demo.usage[demo.usage["metric"] == "seats_used"].sample(400, random_state=1)
    for row in seats.itertuples():
        lines = subs[
            (subs["customer_id"] == row.customer_id)
            & (subs["start_date"] <= row.date)
            & ((subs["end_date"] == "") | (subs["end_date"] > row.date))
        ]
        assert 0 <= row.value <= lines["quantity"].sum()


def test_tickets_surveys_touchpoints_stakeholders_formats(demo):
    tickets = demo.tickets
    assert list(tickets.columns) == [
        "customer_id",
        "opened_at",
        "closed_at",
        "priority",
        "satisfaction",
    ]
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert _dates_ok(tickets["opened_at"]) and _dates_ok(tickets["closed_at"], blank=True)
    closed = tickets[tickets["closed_at"] != ""]
    assert (closed["closed_at"] >= closed["opened_at"]).all()
    assert (tickets["closed_at"] == "").any()  # some still open at the end of the data
    answered = tickets["satisfaction"].dropna()
    assert answered.between(1, 5).all() and tickets["satisfaction"].isna().any()

    surveys = demo.surveys
    assert list(surveys.columns) == ["customer_id", "date", "kind", "score"]
    assert set(surveys["kind"]) == {"nps", "csat"} and _dates_ok(surveys["date"])
    assert surveys.loc[surveys["kind"] == "nps", "score"].between(0, 10).all()
    assert surveys.loc[surveys["kind"] == "csat", "score"].between(1, 5).all()

    touch = demo.touchpoints
    assert list(touch.columns) == ["customer_id", "date", "kind"]
    assert set(touch["kind"]) == {"meeting", "qbr", "email", "call"} and _dates_ok(touch["date"])

    people = demo.stakeholders
    assert list(people.columns) == [
        "customer_id",
        "name",
        "role",
        "champion",
        "decision_maker",
        "active_until",
    ]
    assert people["champion"].dtype == bool and people["decision_maker"].dtype == bool
    assert _dates_ok(people["active_until"], blank=True)
    assert (people["active_until"] == "").any() and (people["active_until"] != "").any()
    assert (people.groupby("customer_id")["champion"].sum() <= 1).all()


def test_segments_differ_in_volume(demo):
    segment = demo.customers.set_index("customer_id")["segment"]
    weeks = demo.usage[demo.usage["metric"] == "active_users"]
    per_week = weeks.groupby(weeks["customer_id"].map(segment))["value"].mean()
    tickets = demo.tickets.groupby(demo.tickets["customer_id"].map(segment)).size()
    qbrs = demo.touchpoints[demo.touchpoints["kind"] == "qbr"]
    per_customer = segment.value_counts()
    assert per_week["SMB"] < per_week["Mid-Market"] < per_week["Enterprise"]
    rate = tickets / per_customer
    assert rate["SMB"] < rate["Mid-Market"] < rate["Enterprise"]
    assert "SMB" not in set(qbrs["customer_id"].map(segment))


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Chance a random positive scores above a random negative (ties count half)."""
    ranks = pd.Series(np.concatenate([positive, negative])).rank().to_numpy()
    top = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(top / (len(positive) * len(negative)))


def test_usage_falls_before_churn_but_not_always(demo):
    subs = demo.subscriptions
    start = pd.to_datetime(subs["start_date"])
    end = pd.to_datetime(subs["end_date"].replace("", "2100-01-01"))
    users = demo.usage[demo.usage["metric"] == "active_users"]
    day = pd.to_datetime(users["date"])
    month = pd.Timedelta(days=30)
    churning, staying = [], []
    for when in pd.date_range("2022-10-01", "2025-07-01", freq="MS"):
        now = set(subs["customer_id"][(start <= when) & (end > when)])
        later_on = when + pd.Timedelta(days=90)
        later = set(subs["customer_id"][(start <= later_on) & (end > later_on)])
        last = users[(day > when - month) & (day <= when)].groupby("customer_id")["value"].mean()
        before = users[(day > when - 2 * month) & (day <= when - month)]
        prior = before.groupby("customer_id")["value"].mean()
        trend = ((last + 1) / (prior + 1)).dropna()
        for customer, value in trend.items():
            if customer in now:
                (staying if customer in later else churning).append(value)
    assert len(churning) >= 30
    churning_, staying_ = np.array(churning), np.array(staying)
    assert churning_.mean() < staying_.mean()
    auc = _auc(-churning_, -staying_)  # a falling trend predicts churn
    assert 0.6 < auc < 0.95
    # Imperfect: plenty of churners still grow, and plenty of stayers decline.
    assert (churning_ >= 1).mean() > 0.15 and (staying_ < 0.9).mean() > 0.05


def test_seats_fill_up_before_an_expansion(demo):
    seats = demo.usage[demo.usage["metric"] == "seats_used"]
    core = demo.subscriptions[demo.subscriptions["product"] == "Core"]
    # An expansion: a Core line replaced on its last day by one with more seats.
    nxt = core.rename(columns={"start_date": "when", "quantity": "after"})[
        ["customer_id", "when", "after"]
    ]
    changes = core.rename(columns={"end_date": "when"}).merge(nxt, on=["customer_id", "when"])
    grown = changes[changes["after"] > changes["quantity"]]
    shrunk = changes[changes["after"] < changes["quantity"]]

    def fill(events: pd.DataFrame) -> float:
        shares = []
        for row in events.itertuples():
            weeks = seats[(seats["customer_id"] == row.customer_id) & (seats["date"] < row.when)]
            shares += list(weeks["value"].tail(3) / row.quantity)
        return float(np.mean(shares))

    assert len(grown) >= 20 and len(shrunk) >= 10
    assert fill(grown) > fill(shrunk) + 0.1
    assert fill(grown) > 0.8  # a typical week fills about three seats in four


def test_champions_leave_more_often_before_churn(demo):
    subs = demo.subscriptions
    last_end = subs.groupby("customer_id")["end_date"].agg(
        lambda s: "" if (s == "").any() else s.max()
    )
    churned = set(last_end[last_end != ""].index)
    champions = demo.stakeholders[demo.stakeholders["champion"]]
    left = champions.set_index("customer_id")["active_until"] != ""
    share_churned = left[left.index.isin(churned)].mean()
    share_kept = left[~left.index.isin(churned)].mean()
    assert share_churned > share_kept


def test_write_demo_writes_every_signal_in_every_format(demo, tmp_path):
    paths = write_demo(demo, tmp_path)
    for name in ("usage", "tickets", "surveys", "touchpoints", "stakeholders"):
        frame = getattr(demo, name)
        from_csv = pd.read_csv(paths[f"{name}.csv"], dtype=str, keep_default_na=False)
        assert len(from_csv) == len(frame) and list(from_csv.columns) == list(frame.columns)
        assert len(pd.read_parquet(paths[f"{name}.parquet"])) == len(frame)
        with duckdb.connect(str(paths["demo.duckdb"]), read_only=True) as con:
            assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == len(frame)
    people = pd.read_csv(paths["stakeholders.csv"], dtype=str, keep_default_na=False)
    assert set(people["champion"]) == {"true", "false"}
    tickets = pd.read_csv(paths["tickets.csv"], dtype=str, keep_default_na=False)
    assert set(tickets["satisfaction"]) == {"", "1", "2", "3", "4", "5"}
    for name in ("subscriptions", "customers", "fx_rates", "demo"):
        assert any(key.startswith(name) for key in paths)
