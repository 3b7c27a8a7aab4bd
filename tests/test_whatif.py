"""`nrr whatif`: hand-computed projection and one-more-point values, the forecast, the CLI.

The fixture book, end 2025-01, 12-month window 2024-01 -> 2025-01, all in USD:

    A  100 from 2023-06, +30 from 2024-07              -> 130   expansion 30
    B  100 from 2023-06 to 2024-10, then 90            ->  90   contraction 10
    C   50 from 2024-03 (new: not in the cohort)       ->  50

NRR = (130 + 90) / 200 = 1.1; GRR = (200 - 10) / 200 = 0.95; expansion rate 30/200 = 0.15.
Today's MRR = 130 + 90 + 50 = 270, ARR = 12 x 270 = 3,240.

Monthly NRRs, 2024-02 .. 2025-01 (each month's cohort = customers active the month before):
2024-07: A 100 -> 130, B 100, C 50: (130 + 100 + 50) / 250 = 280 / 250 = 1.12;
2024-10: B 100 -> 90: (130 + 90 + 50) / 280 = 270 / 280; every other month 1.
Their product is 1.12 x 270 / 280 = 1.08, so the geometric mean g = 1.08^(1/12) and the
point forecast 12 months ahead is 3,240 x 1.08 = 3,499.20.
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from nrr.analysis.whatif import forecast, geometric_mean, whatif
from nrr.cli import app
from nrr.errors import InputError
from nrr.months import parse_month
from nrr.records.rounding import cents
from tests.conftest import SUB_HEADER, sub, write_csv

D = Decimal
END = "2025-01"
LINES = [
    sub("A", "2023-06-01", None, 100),
    sub("A", "2024-07-01", None, 30, product="addon"),
    sub("B", "2023-06-01", "2024-10-01", 100),
    sub("B", "2024-10-01", None, 90),
    sub("C", "2024-03-01", None, 50),
]


@pytest.fixture
def book(make_book):
    return make_book(LINES)


@pytest.fixture
def result(book):
    return whatif(book, end=END)


def test_todays_base(result):
    assert result.mrr == 270 and result.arr == 3240
    assert result.nrr == D("1.1") and result.grr == D("0.95")
    assert result.expansion_rate == D("0.15") and result.fx_rate == 0
    # NRR = GRR + expansion rate + fx rate
    assert result.nrr == result.grr + result.expansion_rate + result.fx_rate


def test_projection_is_exact(result):
    # 3240 x 1.1 = 3564; x 1.1 = 3920.4; x 1.1 = 4312.44; 4743.684; 5218.0524
    assert result.projection == (
        (1, D("3564")),
        (2, D("3920.4")),
        (3, D("4312.44")),
        (4, D("4743.684")),
        (5, D("5218.0524")),
    )


def test_one_more_point(result):
    grr, expansion = result.one_point
    assert (grr.lever, grr.step, grr.nrr) == ("grr", D("0.01"), D("1.11"))
    # 1 year: 3240 x (1.11 - 1.1) = 32.40
    # 3 years: 3240 x (1.11^3 - 1.1^3) = 3240 x (1.367631 - 1.331) = 3240 x 0.036631 = 118.68444
    # 5 years: 3240 x (1.6850581551 - 1.61051) = 3240 x 0.0745481551 = 241.536022524
    assert grr.worth == ((1, D("32.4")), (3, D("118.68444")), (5, D("241.536022524")))
    # on the existing base a point of expansion is worth exactly as much
    assert expansion.worth == grr.worth and expansion.nrr == grr.nrr


def test_grr_point_is_capped_at_100_percent(make_book):
    # A: 1000 until 2024-06, then 995: contraction 5. GRR = NRR = 995 / 1000 = 0.995, so a
    # point of GRR can only be 0.005 (to 100%); ARR = 12 x 995 = 11,940.
    book = make_book(
        [sub("A", "2023-06-01", "2024-06-01", 1000), sub("A", "2024-06-01", None, 995)]
    )
    grr, expansion = whatif(book, end=END).one_point
    assert grr.step == D("0.005") and grr.nrr == 1
    # 1 year: 11940 x (1 - 0.995) = 59.70; 3 years: 11940 x (1 - 0.985074875) = 178.2059925
    assert dict(grr.worth)[1] == D("59.700") and dict(grr.worth)[3] == D("178.2059925")
    # expansion has no ceiling: 1 year 11940 x (1.005 - 0.995) = 119.40
    assert dict(expansion.worth)[1] == D("119.400")


def test_no_grr_headroom_is_worth_nothing(make_book):
    book = make_book([sub("A", "2023-06-01", None, 100)])
    grr, _ = whatif(book, end=END).one_point
    assert grr.step == 0 and all(v == 0 for _, v in grr.worth)


def test_monthly_nrrs_are_the_one_month_windows(book, result):
    expected = {}
    end = parse_month(END)
    for m in range(end - 11, end + 1):
        label = f"{m // 12}-{m % 12 + 1:02d}"
        value = book.window(label, window=1).overall.nrr
        if value is not None:
            expected[label] = value
    assert dict(result.monthly_nrr) == expected
    assert dict(result.monthly_nrr)["2024-07"] == D(280) / D(250)
    assert dict(result.monthly_nrr)["2024-10"] == D(270) / D(280)


def test_forecast_point_is_the_geometric_mean_formula(result):
    g = math.prod(float(v) for _, v in result.monthly_nrr) ** (1 / 12)
    assert float(result.geometric_mean) == pytest.approx(g, rel=1e-15)
    for month in result.forecast:
        assert float(month.arr) == pytest.approx(3240 * g**month.months_ahead, rel=1e-12)
    # 12 months ahead: 3240 x 1.08 = 3499.20
    assert cents(result.forecast[-1].arr) == D("3499.20")
    assert result.forecast[0].month == "2025-02" and result.forecast[-1].month == "2026-01"


def test_interval_contains_the_point_and_is_seeded(book, result):
    for month in result.forecast:
        assert month.low <= month.arr <= month.high
    # Next month: 10 of the 12 monthly NRRs are 1, so 80% of draws give exactly 3,240; the
    # point 3,240 x g is above both quantiles and the interval is widened up to it.
    first = result.forecast[0]
    assert first.low == 3240 and first.high == first.arr > 3240
    assert result.forecast[-1].low < result.forecast[-1].arr < result.forecast[-1].high
    again = whatif(book, end=END)
    assert again.forecast == result.forecast
    other = whatif(book, end=END, seed=1)  # the point does not depend on the seed
    assert [f.arr for f in other.forecast] == [f.arr for f in result.forecast]
    wider = whatif(book, end=END, interval=0.95)
    for narrow, wide in zip(result.forecast, wider.forecast, strict=True):
        assert wide.low <= narrow.low and narrow.high <= wide.high


def test_interval_from_varied_months_contains_the_point():
    rates = [D(x) for x in ("0.99", "1.01", "1.03", "0.97", "1.02", "1.00", "1.04", "0.98")]
    _, months = forecast(D(1000), rates, end=0, horizon=24, interval=0.8, seed=11)
    for month in months:
        assert month.low < month.arr < month.high
    widths = [m.high - m.low for m in months]
    assert widths == sorted(widths)  # uncertainty grows with the horizon
    assert forecast(D(1000), rates, end=0, horizon=24, interval=0.8, seed=11)[1] == months
    reseeded = forecast(D(1000), rates, end=0, horizon=24, interval=0.8, seed=12)[1]
    assert [m.high for m in reseeded] != [m.high for m in months]


def test_interval_narrows_to_the_point_when_months_agree():
    g, months = forecast(D(1000), [D("1.02")] * 12, end=0, horizon=6, interval=0.8, seed=3)
    assert g == D("1.02")
    for month in months:
        # 1000 x 1.02^h, the same to the cent from the bootstrap (floats) and the point
        assert cents(month.low) == cents(month.arr) == cents(month.high)
        assert cents(month.arr) == cents(D(1000) * D("1.02") ** month.months_ahead)
    flat = forecast(D(500), [D(1)] * 5, end=0, horizon=3, interval=0.5, seed=0)[1]
    assert all(m.low == m.arr == m.high == 500 for m in flat)


def test_geometric_mean():
    assert geometric_mean([D(2), D(8)]) == pytest.approx(D(4), abs=D("1e-40"))
    assert geometric_mean([D(0), D(2)]) == 0


def test_too_little_history(make_book):
    # A is active only in 2024-01: the 12-month NRR to 2025-01 is 0, but only one month
    # (2024-02) has customers at its start, too few for a forecast.
    book = make_book([sub("A", "2024-01-01", "2024-02-01", 100)])
    with pytest.raises(InputError, match="at least 2"):
        whatif(book, end=END)
    # nobody 12 months before the end: no NRR to compound
    with pytest.raises(InputError, match="no 12-month NRR"):
        whatif(make_book([sub("A", "2024-06-01", None, 100)]), end=END)


@pytest.mark.parametrize(
    ("option", "value"),
    [("years", 0), ("horizon", 0), ("interval", 1.0), ("interval", 0), ("seed", -1)],
)
def test_bad_options(book, option, value):
    with pytest.raises(InputError):
        whatif(book, end=END, **{option: value})


def test_frame(result):
    frame = result.frame()
    projection = frame[frame.section == "projection"]
    assert list(projection.arr) == [3564.0, 3920.4, 4312.44, 4743.68, 5218.05]
    assert set(frame.section) == {
        "today",
        "projection",
        "one_more_point",
        "monthly_nrr",
        "forecast",
    }


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, LINES)
    return ["-s", str(subs), "--end", END]


def test_cli_json(files):
    out = CliRunner().invoke(app, ["whatif", *files, "--years", "3", "-f", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["today"]["arr"] == 3240 and data["today"]["nrr"] == 1.1
    assert [p["arr"] for p in data["projection"]] == [3564, 3920.4, 4312.44]
    grr = data["one_more_point"][0]
    assert grr["lever"] == "grr" and grr["worth"][1] == {"years": 3, "arr": 118.68}
    assert data["forecast"]["months"][-1]["arr"] == 3499.2
    assert data["forecast"]["seed"] == 0 and data["forecast"]["paths"] == 10_000
    assert data["benchmarks"]["nrr"]["band"].startswith("110-120%")  # 1.1 is in 110-120%
    assert "Amounts are ARR" in out.stderr


def test_cli_csv_and_table(files):
    out = CliRunner().invoke(app, ["whatif", *files, "-f", "csv", "--horizon", "3"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    forecast_rows = [r for r in rows if r["section"] == "forecast"]
    assert [r["month"] for r in forecast_rows] == ["2025-02", "2025-03", "2025-04"]
    assert rows[0]["section"] == "today" and float(rows[0]["arr"]) == 3240
    table = CliRunner().invoke(app, ["whatif", *files])
    assert table.exit_code == 0, table.output
    assert "+1 point of GRR" in table.stdout and "3,499.20" in table.stdout


@pytest.mark.parametrize(
    "flags", [["--interval", "1.5"], ["--years", "0"], ["--end", "May"], ["--seed", "-2"]]
)
def test_cli_bad_flags_exit_2(files, flags):
    out = CliRunner().invoke(app, ["whatif", *files, *flags])
    assert out.exit_code == 2
    assert "error:" in out.stderr
