"""Health scores (docs/health.md): hand-computed fixtures, profiles, reasons, opportunities,
the leakage rule (nothing dated on or after the as-of day changes a score), config errors and
the commands `nrr health`, `nrr risks`, `nrr opportunities`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.config import read_config
from nrr.errors import InputError
from nrr.health.settings import HealthSettings, IndicatorSpec

AS_OF = "2024-07-01"  # reference month 2024-06; "last 30 days" = 2024-06-01..06-30

SUBSCRIPTIONS = [
    # customer, product, start, end, amount, quantity
    ("a", "Core", "2024-01-01", "", "1000", "10"),
    ("b", "Core", "2024-01-01", "", "500", "20"),
    ("c", "Core", "2024-01-01", "", "2000", "20"),
    ("c", "Analytics", "2024-01-01", "", "500", "5"),
]
CUSTOMERS = [
    ("a", "Enterprise", "Ana", "Max"),
    ("b", "SMB", "Ben", "Max"),
    ("c", "Enterprise", "Ana", "Mia"),
]


def _subscriptions(extra: list[tuple] = ()) -> pd.DataFrame:
    rows = [(*r[:4], r[4], "month", r[5], "USD") for r in [*SUBSCRIPTIONS, *extra]]
    columns = ["customer_id", "product", "start_date", "end_date", "amount", "interval"]
    return pd.DataFrame(rows, columns=[*columns, "quantity", "currency"])


def _usage() -> list[tuple]:
    rows = []
    for day in ("2024-05-06", "2024-05-13", "2024-05-20", "2024-05-27"):  # the prior 30 days
        rows += [("a", day, "logins", "100"), ("c", day, "logins", "50")]
        rows += [("c", day, "seats_used", "19")]
    for day in ("2024-03-04", "2024-04-01", "2024-05-06"):  # the 90 days before the last 30
        rows += [("c", day, "active_users", "10")]
    for day in ("2024-06-03", "2024-06-10", "2024-06-17", "2024-06-24"):  # the last 30 days
        rows += [("a", day, "logins", "60"), ("a", day, "seats_used", "9")]
        rows += [("a", day, "active_users", "6"), ("c", day, "logins", "50")]
        rows += [("c", day, "seats_used", "19"), ("c", day, "active_users", "19")]
    return rows


TICKETS = [
    ("a", "2024-04-01", "2024-04-02", "normal", "4"),  # the 90 days before: base 1
    ("a", "2024-06-10", "", "urgent", ""),  # last 30 days: 3
    ("a", "2024-06-20", "2024-06-21", "high", "2"),  # last 30 days: 2
]
SURVEYS = [("a", "2024-03-01", "nps", "5"), ("a", "2024-05-01", "nps", "9")]
TOUCHPOINTS = [("a", "2024-05-02", "qbr")]
STAKEHOLDERS = [
    ("a", "Ann Lee", "Head of Ops", "true", "false", "2024-06-15"),
    ("a", "Bo Chen", "CFO", "false", "true", ""),
]


def _frames(**extra: list[tuple]) -> dict[str, pd.DataFrame]:
    def frame(rows: list[tuple], columns: str) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns.split(","))

    return {
        "subscriptions": _subscriptions(extra.get("subscriptions", [])),
        "customers": frame(CUSTOMERS, "customer_id,segment,csm,account_manager"),
        "usage": frame(_usage() + extra.get("usage", []), "customer_id,date,metric,value"),
        "tickets": frame(
            TICKETS + extra.get("tickets", []),
            "customer_id,opened_at,closed_at,priority,satisfaction",
        ),
        "surveys": frame(SURVEYS + extra.get("surveys", []), "customer_id,date,kind,score"),
        "touchpoints": frame(TOUCHPOINTS + extra.get("touchpoints", []), "customer_id,date,kind"),
        "stakeholders": frame(
            extra.get("stakeholders", STAKEHOLDERS),
            "customer_id,name,role,champion,decision_maker,active_until",
        ),
    }


def _book(settings: HealthSettings | None = None, **extra: list[tuple]) -> nrr.Book:
    frames = _frames(**extra)
    return nrr.load(frames.pop("subscriptions"), **frames, health=settings or HealthSettings())


@pytest.fixture(scope="module")
def result() -> nrr.health.results.HealthResult:
    return _book().health(AS_OF)


def _row(result, customer: str) -> dict:
    return result.customers.set_index("customer_id").loc[customer].to_dict()


def test_a_worst_case_customer_scores_as_computed_by_hand(result) -> None:
    a = _row(result, "a")
    # usage_trend: mean logins 60 now vs 100 before = -0.40, beyond bad -0.30 -> 0
    assert a["usage_trend"] == pytest.approx(-0.4) and a["c_usage_trend"] == 0
    # seat_utilization: 9 of 10 seats = 0.90, beyond good 0.85 -> 100
    assert a["seat_utilization"] == pytest.approx(0.9) and a["c_seat_utilization"] == 100
    # active_user_ratio: 6 / 9 = 0.667 -> (0.667 - 0.4) / 0.4 = 66.67
    assert a["c_active_user_ratio"] == pytest.approx(100 * (6 / 9 - 0.4) / 0.4)
    # ticket_load: urgent 3 + high 2 = 5 -> (5 - 6) / (0 - 6) = 16.67
    assert a["ticket_load"] == 5 and a["c_ticket_load"] == pytest.approx(100 / 6)
    # ticket_trend: 5 - (1 normal in the 90 days before) / 3 = 4.67, beyond bad 3 -> 0
    assert a["ticket_trend"] == pytest.approx(5 - 1 / 3) and a["c_ticket_trend"] == 0
    # days_since_touch: 2024-05-02 -> 2024-07-01 = 60 days -> (60 - 90) / (14 - 90) = 39.47
    assert a["days_since_touch"] == 60 and a["c_days_since_touch"] == pytest.approx(3000 / 76)
    # nps: (5 + 9) / 2 = 7 -> (7 - 6) / 3 = 33.33; no CSAT answer: csat left out
    assert a["c_nps"] == pytest.approx(100 / 3) and pd.isna(a["c_csat"])
    # stakeholders: Ann (champion) left 2024-06-15, not replaced; Bo (decision maker) is there
    assert a["stakeholder_coverage"] == 1 and a["c_stakeholder_coverage"] == 50
    assert a["champion_left"] == 1 and a["c_champion_left"] == 0
    weighted = 15 * 100 + 10 * 100 * (6 / 9 - 0.4) / 0.4 + 10 * 100 / 6 + 10 * 3000 / 76
    weighted += 10 * 100 / 3 + 5 * 50
    weights = 20 + 15 + 10 + 10 + 5 + 10 + 10 + 5 + 10  # csat (5) has no data
    assert a["score"] == pytest.approx(weighted / weights)  # 34.86
    assert a["tier"] == "at risk"
    assert a["mrr"] == Decimal("1000")
    # The three largest weight x shortfall: usage 20x100, champion 10x100, tickets 10x83.3.
    assert a["reasons"] == [
        "logins down 40% on the prior 30 days",
        "champion Ann Lee left on 2024-06-15 and has not been replaced",
        "2 tickets in the last 30 days, 2 high or urgent",
    ]


def test_missing_data_is_left_out_and_never_touched_counts_from_signup(result) -> None:
    b = _row(result, "b")
    # No usage rows: the usage indicators are left out. No ticket: load 0 and trend 0 (100
    # each). Never touched: days since 2024-01-01 = 182 -> 0. No stakeholder: coverage 0.
    assert pd.isna(b["c_usage_trend"]) and pd.isna(b["c_seat_utilization"])
    assert b["c_ticket_load"] == 100 and b["c_ticket_trend"] == 100
    assert b["days_since_touch"] == 182 and b["c_days_since_touch"] == 0
    assert b["c_stakeholder_coverage"] == 0 and b["c_champion_left"] == 100
    assert b["score"] == pytest.approx((10 * 100 + 5 * 100 + 0 + 0 + 10 * 100) / 40)  # 62.5
    assert b["tier"] == "neutral"
    assert b["reasons"] == [
        "no touchpoint on record in 182 days as a customer",
        "no active champion or decision maker",
    ]


def test_a_segment_profile_overrides_the_default_thresholds() -> None:
    smb = {"days_since_touch": IndicatorSpec(weight=10, bad=365, good=30)}
    b = _row(_book(HealthSettings(profiles={"SMB": smb})).health(AS_OF), "b")
    # 182 days: (182 - 365) / (30 - 365) = 54.63 for an SMB customer
    assert b["profile"] == "SMB"
    assert b["c_days_since_touch"] == pytest.approx(100 * 183 / 335)
    assert b["score"] == pytest.approx((1000 + 500 + 100 * 183 / 335 * 10 + 0 + 1000) / 40)
    assert b["tier"] == "healthy"


def test_change_is_the_score_a_month_earlier_subtracted(result) -> None:
    earlier = _book().health("2024-06-01").customers.set_index("customer_id")["score"]
    for row in result.customers.to_dict("records"):
        assert row["change"] == pytest.approx(row["score"] - earlier[row["customer_id"]])


def test_tiers_add_up_to_every_customer_and_all_mrr(result) -> None:
    tiers = result.tiers().set_index("tier")
    assert tiers["customers"].sum() == 3
    assert tiers["mrr"].sum() == Decimal("4000")
    assert tiers.loc["at risk", "mrr"] == Decimal("1000")


def test_risks_rank_the_at_risk_tier_with_owner_and_reasons(result) -> None:
    risks = nrr.health.results.risks(result)
    assert [(r.customer_id, r.mrr_at_risk, r.owner) for r in risks] == [
        ("a", Decimal("1000.00"), "Ana")
    ]
    assert risks[0].reasons[0] == "logins down 40% on the prior 30 days"
    # Exact amounts: the list's total is the at-risk tier's MRR, to the cent.
    tiers = result.tiers().set_index("tier")
    assert sum(r.mrr_at_risk for r in risks) == tiers.loc["at risk", "mrr"]


def test_opportunities_size_the_seats_needed_at_the_target_use(result) -> None:
    found = nrr.health.results.opportunities(result)
    # c: 19 of 20 seats (95%), active users 19 against 10 before (+90%, counted as +50%):
    # ceil(19 x 1.5 / 0.8) = 36 seats needed, 16 more; a seat is worth Core's share of the
    # MRR per seat: 2,500 x (2,000 / 2,500) / 20 = 100, so 1,600.00. `a` is at risk: left out.
    assert [(o.customer_id, o.extra_seats, o.potential_mrr, o.owner) for o in found] == [
        ("c", 16, Decimal("1600.00"), "Mia")
    ]
    assert found[0].signals == (
        "seats near the limit: 19 of 20 used (95%)",
        "new users active: 19 active users against 10 before (+90%)",
    )


def test_nothing_dated_on_or_after_the_day_changes_a_score(result) -> None:
    later = _book(
        subscriptions=[
            ("a", "Core", "2024-07-01", "", "5000", "50"),  # an expansion on the day
            ("d", "Core", "2024-07-05", "", "100", "1"),  # a customer who starts later
        ],
        usage=[("a", "2024-07-01", "logins", "1"), ("b", "2024-07-08", "seats_used", "1")],
        tickets=[("b", "2024-07-01", "", "urgent", "")],
        surveys=[("a", "2024-07-01", "csat", "1"), ("b", "2024-08-01", "nps", "0")],
        touchpoints=[("b", "2024-07-01", "meeting")],
        # Bo leaves after the day: on the day he was still there.
        stakeholders=[STAKEHOLDERS[0], ("a", "Bo Chen", "CFO", "false", "true", "2024-07-20")],
    ).health(AS_OF)
    columns = ["customer_id", "score", "tier", "reasons", "mrr"]
    columns += [c for c in result.customers.columns if c.startswith("c_")]
    pd.testing.assert_frame_equal(later.customers[columns], result.customers[columns])


def test_health_as_of_a_day_inside_a_month_uses_the_month_before() -> None:
    mid = _book().health("2024-07-15")
    assert mid.reference == "2024-06" and mid.as_of == date(2024, 7, 15)
    # The last 30 days are now 2024-06-15..07-14: logins 60 (two weeks) against 60 and 100.
    a = _row(mid, "a")
    assert a["usage_trend"] == pytest.approx(60 / ((60 + 60 + 100 + 100) / 4) - 1)


def test_without_health_inputs_health_is_a_clear_error() -> None:
    book = nrr.load(_subscriptions())
    with pytest.raises(InputError, match="no health inputs: give at least one of --usage"):
        book.health(AS_OF)


def test_only_some_inputs_give_only_their_indicators() -> None:
    frames = _frames()
    book = nrr.load(frames["subscriptions"], surveys=frames["surveys"])
    result = book.health(AS_OF)
    assert result.inputs == ("surveys",) and result.indicators == ("nps", "csat")
    a = _row(result, "a")
    assert a["score"] == pytest.approx(100 / 3)  # only the NPS of 7
    assert pd.isna(_row(result, "b")["score"]) and _row(result, "b")["tier"] == "unknown"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nrr.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_config_sets_weights_thresholds_profiles_and_tiers(tmp_path: Path) -> None:
    config = read_config(
        _config(
            tmp_path,
            "[health]\nprofile_by = 'segment'\nat_risk_below = 30\nhealthy_from = 60\n"
            "seat_products = ['Core']\n"
            "[health.indicators]\ncsat = {weight = 0}\nnps = {bad = 5, good = 8}\n"
            "[health.profiles.SMB]\nnps = {weight = 30}\n"
            "[health.opportunities]\nseats_near_limit = 0.95\n",
        )
    )
    health = config.health
    assert health.indicators["csat"].weight == 0
    assert health.indicators["nps"] == IndicatorSpec(weight=10, bad=5, good=8)
    # A profile's override starts from the file's defaults, not the built-in ones.
    assert health.spec("nps", "SMB") == IndicatorSpec(weight=30, bad=5, good=8)
    assert health.spec("usage_trend", "SMB") == health.indicators["usage_trend"]
    assert (health.at_risk_below, health.healthy_from) == (30, 60)
    assert health.seat_products == ("Core",)
    assert health.opportunities.seats_near_limit == 0.95


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[health]\ncolour = 1\n", "health.colour: unknown setting"),
        ("[health.indicators]\nmood = {weight = 1}\n", "health.indicators.mood: unknown indicator"),
        ("[health.indicators]\nnps = {bad = 7, good = 7}\n", "bad and good are both 7"),
        ("[health.indicators]\nnps = {weight = -1}\n", "weight -1 is negative"),
        ("[health.indicators]\nnps = {weight = 'high'}\n", "must be numbers"),
        ("[health]\nat_risk_below = 80\nhealthy_from = 60\n", "tiers need 0 <= at_risk_below"),
        ("[health.opportunities]\nnew_users = 0\n", "must be a number above 0"),
    ],
)
def test_config_mistakes_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_config(_config(tmp_path, text))


def test_profiles_need_the_profile_column() -> None:
    settings = HealthSettings(profile_by="region", profiles={"EU": {}})
    with pytest.raises(InputError, match="customers input has no column 'region'"):
        _book(settings).health(AS_OF)


# The commands, on the same fixture written as CSV files.


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("health")
    for name, frame in _frames().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _run(folder: Path, *args: str) -> object:
    inputs = [f"--{n}={folder / n}.csv" for n in ("subscriptions", "customers", "usage")]
    inputs += [f"--{n}={folder / n}.csv" for n in ("tickets", "surveys", "touchpoints")]
    inputs += [f"--stakeholders={folder / 'stakeholders.csv'}"]
    return CliRunner().invoke(app, [*args, *inputs])


def test_nrr_health_json_gives_every_customer_with_components(folder: Path) -> None:
    run = _run(folder, "health", "--as-of", AS_OF, "--format", "json")
    assert run.exit_code == 0, run.output
    body = json.loads(run.stdout)
    assert body["as_of"] == AS_OF and body["reference_month"] == "2024-06"
    assert [c["customer_id"] for c in body["customers"]] == ["a", "b", "c"]  # lowest first
    a = body["customers"][0]
    assert a["score"] == 34.9 and a["tier"] == "at risk" and a["mrr"] == 1000.0
    assert a["components"]["usage_trend"] == {
        "value": -0.4,
        "score": 0.0,
        "weight": 20.0,
        "bad": -0.3,
        "good": 0.05,
    }
    assert {t["tier"]: t["customers"] for t in body["summary"]} == {
        "healthy": 1,
        "neutral": 1,
        "at risk": 1,
    }


def test_nrr_health_table_breakdown_tier_and_csv(folder: Path) -> None:
    one = _run(folder, "health", "--as-of", AS_OF, "--customer", "a")
    assert one.exit_code == 0, one.output
    assert "a: score 34.9 (at risk)" in one.stdout and "usage_trend" in one.stdout
    tier = _run(folder, "health", "--as-of", AS_OF, "--tier", "at-risk", "--format", "csv")
    lines = tier.stdout.splitlines()
    assert lines[0].startswith("customer_id,csm,account_manager,mrr,score,tier,change")
    assert len(lines) == 2 and lines[1].startswith("a,Ana,Max,1000.00,34.9,at risk,")


def test_nrr_risks_and_opportunities(folder: Path) -> None:
    risks = _run(folder, "risks", "--as-of", AS_OF, "--format", "json")
    assert risks.exit_code == 0, risks.output
    body = json.loads(risks.stdout)
    assert body["mrr_at_risk"] == 1000.0
    assert body["risks"][0]["owner"] == "Ana" and body["risks"][0]["customer_id"] == "a"
    table = _run(folder, "opportunities", "--as-of", AS_OF)
    assert table.exit_code == 0, table.output
    assert "1,600.00" in table.stdout and "Mia" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["health", "--as-of", "2024-13"], "'2024-13' is not a day"),
        (["health", "--as-of", "0001-01-01"], "'0001-01-01' is not a day"),
        (["health", "--as-of", AS_OF, "--tier", "sad"], "'sad' is not a tier"),
        (["health", "--as-of", AS_OF, "--customer", "zz"], "'zz' is not among the 3"),
        (["health", "--as-of", "2020-01-01"], "no customer has MRR in 2019-12"),
        (["risks", "--as-of", AS_OF, "--owner", "boss"], "'boss' is not a customers column"),
    ],
)
def test_command_mistakes_exit_2(folder: Path, args: list[str], message: str) -> None:
    run = _run(folder, *args)
    assert run.exit_code == 2 and message in run.stderr, run.output


def test_health_without_inputs_exits_2(folder: Path) -> None:
    run = CliRunner().invoke(app, ["health", f"--subscriptions={folder / 'subscriptions.csv'}"])
    assert run.exit_code == 2 and "no health inputs" in run.stderr


def test_on_a_generated_book_cutting_everything_after_the_day_changes_no_score() -> None:
    """The demo's whole history against the same history as it stood on the day: lines that
    start later removed, later ends unknown, later signals unrecorded, later departures not
    yet known. Every score, component and reason must be the same."""
    from nrr.datasets import generate_demo

    data = generate_demo(seed=11, customers=120)
    day = "2025-03-01"

    def text(frame: pd.DataFrame) -> pd.DataFrame:
        flags = {c: frame[c].map({True: "true", False: "false"}) for c in frame.select_dtypes(bool)}
        return frame.assign(**flags).astype("string").fillna("")

    full = {name: text(getattr(data, name)) for name in ("subscriptions", "customers", "fx_rates")}
    signals = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")
    full |= {name: text(getattr(data, name)) for name in signals}
    cut = dict(full)
    subs = full["subscriptions"]
    subs = subs[subs["start_date"] < day]
    cut["subscriptions"] = subs.assign(end_date=subs["end_date"].where(subs["end_date"] < day, ""))
    for name, column in (("usage", "date"), ("tickets", "opened_at"), ("surveys", "date")):
        cut[name] = full[name][full[name][column] < day]
    cut["touchpoints"] = full["touchpoints"][full["touchpoints"]["date"] < day]
    people = full["stakeholders"]
    cut["stakeholders"] = people.assign(
        active_until=people["active_until"].where(people["active_until"] < day, "")
    )
    cut["tickets"] = cut["tickets"].assign(
        closed_at=cut["tickets"]["closed_at"].where(cut["tickets"]["closed_at"] < day, "")
    )

    def scores(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
        given = dict(frames)
        book = nrr.load(given.pop("subscriptions"), **given)
        customers = book.health(day).customers
        columns = ["customer_id", "mrr", "score", "tier", "change", "reasons"]
        return customers[columns + [c for c in customers.columns if c.startswith("c_")]]

    before, after = scores(cut), scores(full)
    assert len(before) > 50
    pd.testing.assert_frame_equal(before, after)


def test_a_day_with_nobody_at_risk_or_expanding_gives_empty_lists(result) -> None:
    from nrr.present.health import opportunities_json, risks_csv, risks_json

    assert json.loads(risks_json(result, []))["mrr_at_risk"] == 0.0
    assert json.loads(opportunities_json(result, []))["potential_mrr"] == 0.0
    assert risks_csv([]).startswith("customer_id,mrr_at_risk")


def test_a_replacement_counts_only_from_the_day_they_arrived(result) -> None:
    def a_with(arrived: str) -> dict:
        frames = _frames()
        frames["stakeholders"] = pd.DataFrame(
            [
                (*STAKEHOLDERS[0], "2023-12-01"),
                (*STAKEHOLDERS[1], ""),
                ("a", "Cy Park", "Ops Lead", "true", "false", "", arrived),
            ],
            columns=[*frames["stakeholders"].columns, "active_from"],
        )
        return _row(nrr.load(frames.pop("subscriptions"), **frames).health(AS_OF), "a")

    # Cy arrives after the day: on the day Ann's seat was empty, as without Cy.
    later = a_with("2024-07-10")
    assert later["champion_left"] == 1 and later["score"] == _row(result, "a")["score"]
    # Cy arrived before the day: the champion was replaced, both roles are covered.
    replaced = a_with("2024-06-20")
    assert replaced["champion_left"] == 0 and replaced["stakeholder_coverage"] == 2
