"""`nrr impact`: hand-computed slices against a target, the exact identities, the CLI.

The fixture book, window 2024-01 -> 2025-01 (12 months), all in USD:

    A  SMB  US  self   100 from 2023-06, +20 from 2024-06          -> 120   expansion 20
    B  SMB  EU  self    50 from 2023-06 to 2024-07                  ->   0   churn 50
    C  ENT  US  sales  200 from 2023-06 to 2024-09, then 150        -> 150   contraction 50
    D  ENT  US  sales  300 from 2023-06, +90 from 2024-03           -> 390   expansion 90
    E  ENT  EU  sales  100 from 2024-05 (new: not in the cohort)    -> not counted
    F  MM   EU  self   100 from 2023-06 to 2024-10, then 80         ->  80   contraction 20

Book: S = 100 + 50 + 200 + 300 + 100 = 750, E = 120 + 0 + 150 + 390 + 80 = 740,
NRR = 740 / 750 = 0.98667, GRR = (750 - 70 - 50) / 750 = 0.84.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, localcontext
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nrr
from nrr.analysis.impact import ImpactResult, impact, parse_target
from nrr.attributes import PAIR
from nrr.cli import app
from nrr.errors import InputError
from nrr.results import in_arr
from tests.conftest import sub

D = Decimal
END = "2025-01"
CUSTOMERS = [
    {"customer_id": "A", "segment": "SMB", "market": "US", "plan": "self"},
    {"customer_id": "B", "segment": "SMB", "market": "EU", "plan": "self"},
    {"customer_id": "C", "segment": "ENT", "market": "US", "plan": "sales"},
    {"customer_id": "D", "segment": "ENT", "market": "US", "plan": "sales"},
    {"customer_id": "E", "segment": "ENT", "market": "EU", "plan": "sales"},
    {"customer_id": "F", "segment": "MM", "market": "EU", "plan": "self"},
]
LINES = [
    sub("A", "2023-06-01", None, 100),
    sub("A", "2024-06-01", None, 20, product="addon"),
    sub("B", "2023-06-01", "2024-07-01", 50),
    sub("C", "2023-06-01", "2024-09-01", 200),
    sub("C", "2024-09-01", None, 150),
    sub("D", "2023-06-01", None, 300),
    sub("D", "2024-03-01", None, 90, product="addon"),
    sub("E", "2024-05-01", None, 100),
    sub("F", "2023-06-01", "2024-10-01", 100),
    sub("F", "2024-10-01", None, 80),
]


@pytest.fixture
def book(make_book):
    return make_book(LINES, customers=CUSTOMERS)


def _by_name(result: ImpactResult) -> dict[str, object]:
    return {s.segment: s for s in result.slices}


def test_two_slices_against_100_percent(book):
    result = impact(book, by="plan", end=END)
    assert result.overall.starting_mrr == 750 and result.overall.ending_mrr == 740
    # distance = 740 / 750 - 1 = -10 / 750; at stake = 1 x 750 - 740 = 10
    assert result.distance == D(-10) / D(750)
    assert result.mrr_at_stake == 10
    s = _by_name(result)
    selfserve, sales = s["self"], s["sales"]
    # self: A + B + F, starting 100 + 50 + 100 = 250, ending 120 + 0 + 80 = 200
    assert (selfserve.starting_mrr, selfserve.ending_mrr) == (250, 200)
    assert selfserve.nrr == D("0.8")
    assert selfserve.grr == D("0.72")  # (250 - 20 contraction - 50 churn) / 250
    assert selfserve.share == D(250) / D(750)  # 1/3
    assert selfserve.contribution == D(-50) / D(750)  # 1/3 x (0.8 - 1) = -0.0667
    assert selfserve.mrr_at_stake == 50  # 250 - 200
    assert selfserve.mrr_lost == 70  # 20 + 50
    # sales: C + D (E is new), starting 500, ending 150 + 390 = 540
    assert (sales.starting_mrr, sales.ending_mrr) == (500, 540)
    assert sales.nrr == D("1.08") and sales.grr == D("0.9")
    assert sales.contribution == D(40) / D(750)  # 2/3 x (1.08 - 1) = 0.0533
    assert sales.mrr_at_stake == -40  # 500 - 540: above the target
    # ranked by at stake: self (50) before sales (-40)
    assert [x.segment for x in result.slices] == ["self", "sales"]
    assert [x.rank for x in result.slices] == [1, 2]
    # -50/750 + 40/750 = -10/750
    assert abs(selfserve.contribution + sales.contribution - result.distance) < D("1e-26")


def test_three_slices_against_105_percent(book):
    result = impact(book, by="segment", end=END, target="105%")
    assert result.target == D("1.05")
    s = _by_name(result)
    # SMB: A + B, 150 -> 120. at stake 1.05 x 150 - 120 = 157.5 - 120 = 37.5
    assert s["SMB"].mrr_at_stake == D("37.5")
    assert s["SMB"].contribution == D("-37.5") / D(750)  # -0.05
    assert s["SMB"].share == D(150) / D(750)  # 0.2
    assert s["SMB"].grr == D(100) / D(150)  # (150 - 50 churn) / 150
    # MM: F, 100 -> 80. at stake 105 - 80 = 25; contribution -25 / 750 = -0.0333
    assert s["MM"].mrr_at_stake == 25
    assert s["MM"].nrr == D("0.8") and s["MM"].grr == D("0.8")
    # ENT: C + D, 500 -> 540. at stake 525 - 540 = -15; contribution 15 / 750 = 0.02
    assert s["ENT"].mrr_at_stake == -15
    assert s["ENT"].contribution == D("0.02")
    # total at stake 1.05 x 750 - 740 = 47.5 = 37.5 + 25 - 15
    assert result.mrr_at_stake == D("47.5")
    # distance 740/750 - 1.05 = -0.06333 = -0.05 - 0.03333 + 0.02
    assert result.distance == D("-47.5") / D(750)
    assert [x.segment for x in result.slices] == ["SMB", "MM", "ENT"]
    assert sum(x.mrr_lost for x in result.slices) == 120  # 50 + 20 + 50 = 70 + 50


def test_pair_slices_give_each_value(book):
    result = impact(book, by="segment,market", end=END)
    assert result.by == ("segment", "market")
    # at stake (target 100%): SMB×EU 50 - 0 = 50; MM×EU 100 - 80 = 20; ENT×EU 0 (E is new);
    # SMB×US 100 - 120 = -20; ENT×US 500 - 540 = -40
    assert [(x.segment, x.mrr_at_stake) for x in result.slices] == [
        (f"SMB{PAIR}EU", 50),
        (f"MM{PAIR}EU", 20),
        (f"ENT{PAIR}EU", 0),
        (f"SMB{PAIR}US", -20),
        (f"ENT{PAIR}US", -40),
    ]
    empty = result.slices[2]
    assert dict(empty.values) == {"segment": "ENT", "market": "EU"}
    assert empty.nrr is None and empty.contribution == 0 and empty.share == 0
    assert result.slices[0].value_of("market") == "EU"


def test_target_forms_and_errors():
    assert parse_target("100%") == 1
    assert parse_target("105%") == D("1.05")
    assert parse_target("1.05") == D("1.05")
    assert parse_target(" 97.5 % ") == D("0.975")
    for bad in ("abc", "105", "0", "-5%", "301%", "nan", ""):
        with pytest.raises(InputError) as info:
            parse_target(bad)
        assert "--target" in str(info.value)
    with pytest.raises(InputError, match="did you mean 105%"):
        parse_target("105")


def test_arr_scales_amounts_not_ratios(book):
    result = impact(book, by="plan", end=END)
    scaled = in_arr(result)
    assert scaled.mrr_at_stake == 120  # 12 x 10
    assert scaled.slices[0].mrr_at_stake == 600
    assert scaled.target == 1 and scaled.distance == result.distance
    assert scaled.slices[0].share == result.slices[0].share


def test_frame_matches_rounding(book):
    frame = impact(book, by="segment,market", end=END, target="1.05").frame()
    assert list(frame.index[:2]) == ["(all)", f"SMB{PAIR}EU"]
    row = frame.loc[f"SMB{PAIR}EU"]
    assert row["values.segment"] == "SMB" and row["values.market"] == "EU"
    # 1.05 x 50 - 0 = 52.5; contribution -52.5 / 750 = -0.07
    assert row["mrr_at_stake"] == 52.5 and row["contribution"] == -0.07
    assert frame.loc["(all)", "contribution"] == round(740 / 750 - 1.05, 4)
    assert frame.attrs["target"] == 1.05 and isinstance(frame, pd.DataFrame)


def test_no_attribute_is_an_input_error(book):
    with pytest.raises(InputError):
        impact(book, by="colour", end=END)
    with pytest.raises(InputError):
        impact(book, by=" ", end=END)


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    from tests.conftest import SUB_HEADER, write_csv

    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, LINES)
    header = list(CUSTOMERS[0])
    customers = write_csv(
        tmp_path / "customers.csv", header, [[c[h] for h in header] for c in CUSTOMERS]
    )
    return ["-s", str(subs), "-c", str(customers), "--end", END]


def test_cli_json(files):
    out = CliRunner().invoke(
        app, ["impact", *files, "--by", "segment,market", "--target", "105%", "-f", "json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["by"] == ["segment", "market"] and data["target"] == 1.05
    assert data["start"] == "2024-01" and data["window_months"] == 12
    assert data["overall"]["mrr_at_stake"] == 47.5
    assert data["overall"]["distance"] == round(740 / 750 - 1.05, 4)
    first = data["slices"][0]
    assert first["segment"] == f"SMB{PAIR}EU"
    assert first["values"] == {"segment": "SMB", "market": "EU"}
    assert first["mrr_at_stake"] == 52.5 and first["rank"] == 1
    assert sum(s["mrr_at_stake"] for s in data["slices"]) == 47.5
    assert data["benchmarks"]["nrr"]["band"].startswith("90-100%")
    assert "SaaS Capital" in data["benchmarks"]["grr"]["source"]


def test_cli_csv_and_arr(files):
    out = CliRunner().invoke(app, ["impact", *files, "--by", "segment", "-f", "csv", "--arr"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows[0]["segment"] == "(all)" and rows[0]["values.segment"] == "(all)"
    assert [r["segment"] for r in rows[1:]] == ["SMB", "MM", "ENT"]
    # ARR: SMB at stake 12 x (150 - 120) = 360
    assert float(rows[1]["mrr_at_stake"]) == 360 and rows[1]["by"] == "segment"


def test_cli_table(files):
    out = CliRunner().invoke(app, ["impact", *files, "--by", "plan", "--window", "3"])
    assert out.exit_code == 0, out.output
    assert "MRR at stake" in out.stdout and "self" in out.stdout
    assert "bands are for 12-month windows" in out.stdout  # no annual band on a quarter


@pytest.mark.parametrize(
    "flags",
    [["--by", "plan", "--target", "lots"], ["--by", "nope"], ["--by", "plan", "--end", "2025"]],
)
def test_cli_bad_flags_exit_2(files, flags):
    out = CliRunner().invoke(app, ["impact", *files, *flags])
    assert out.exit_code == 2
    assert "error:" in out.stderr


# --- properties ---------------------------------------------------------------------------


@st.composite
def cases(draw):
    lines = []
    for _ in range(draw(st.integers(1, 10))):
        customer = draw(st.sampled_from("ABCDEF"))
        start = draw(st.integers(0, 20))
        end = None if draw(st.booleans()) else start + draw(st.integers(0, 14))
        cents = draw(st.integers(0, 900_000))
        currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
        lines.append((customer, start, end, cents, currency))
    rates = {m: D(draw(st.integers(5_000, 20_000))) / 10_000 for m in (0, 6, 12, 18)}
    attrs = {
        c: (draw(st.sampled_from(["x", "y", ""])), draw(st.sampled_from(["p", "q"])))
        for c in "ABCDE"
    }
    return lines, rates, attrs


def _month(offset: int) -> str:
    return f"{2023 + offset // 12}-{offset % 12 + 1:02d}"


PROPERTY = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(
    case=cases(),
    end=st.integers(2, 26),
    window=st.sampled_from([1, 3, 12]),
    by=st.sampled_from(["seg", "mkt", "seg,mkt", "cohort"]),
    target=st.sampled_from(["100%", "105%", "0.9", "1.2345"]),
)
def test_slices_add_up_exactly(case, end, window, by, target):
    lines, rates, attrs = case
    subs = pd.DataFrame(
        [
            {
                "customer_id": c,
                "start_date": f"{_month(s)}-01",
                "end_date": "" if e is None else f"{_month(e)}-01",
                "amount": str(D(cents) / 100),
                "currency": cur,
            }
            for c, s, e, cents, cur in lines
        ]
    )
    fx = pd.DataFrame(
        [{"month": _month(m), "currency": "EUR", "rate": str(r)} for m, r in rates.items()]
    )
    customers = pd.DataFrame(
        [{"customer_id": c, "seg": s, "mkt": m} for c, (s, m) in attrs.items()]
    )
    book = nrr.load(subs, customers=customers, fx_rates=fx)
    result = impact(book, by=by, end=_month(end), window=window, target=target)
    t, f = result.target, result.overall
    # at stake adds up exactly (Decimal, in digits enough that nothing rounds)
    with localcontext() as context:
        context.prec = 100
        total_at_stake = sum((s.mrr_at_stake for s in result.slices), D(0))
        assert total_at_stake == t * f.starting_mrr - f.ending_mrr == result.mrr_at_stake
    # ranked largest at stake first
    stakes = [s.mrr_at_stake for s in result.slices]
    assert stakes == sorted(stakes, reverse=True)
    for s in result.slices:
        assert PAIR.join(v for _, v in s.values) == s.segment
    if f.starting_mrr == 0:
        assert result.distance is None
        return
    # contributions add up to the distance: exactly as fractions; as 28-digit decimals, to
    # within their rounding
    exact = sum(
        (Fraction(s.ending_mrr) - Fraction(t) * Fraction(s.starting_mrr) for s in result.slices),
        Fraction(0),
    ) / Fraction(f.starting_mrr)
    assert exact == Fraction(f.ending_mrr) / Fraction(f.starting_mrr) - Fraction(t)
    total = sum((s.contribution for s in result.slices), D(0))
    assert abs(total - result.distance) < D("1e-24")
    assert abs(result.distance - (f.nrr - t)) < D("1e-24")
    # shares add up to 1: exactly in amounts, to within rounding as decimals
    assert sum((s.starting_mrr for s in result.slices), D(0)) == f.starting_mrr
    assert abs(sum((s.share for s in result.slices), D(0)) - 1) < D("1e-24")
    for s in result.slices:
        if s.starting_mrr > 0:
            assert abs(s.contribution - s.share * (s.nrr - t)) < D("1e-24")
        else:
            assert s.contribution == 0 and s.mrr_at_stake == 0
