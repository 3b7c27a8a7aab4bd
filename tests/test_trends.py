"""Rolling retention series (`nrr trends`): a hand-computed book, every point against
`Book.window` on random books, and the CLI's table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nrr.analysis.trends import TrendPoint, parse_windows, trends
from nrr.cli import app
from nrr.errors import InputError
from nrr.results import in_arr

from .conftest import sub
from .test_properties import BASE_YEAR, MONTHS, _label, _load, books

D = Decimal
SUMS = ("starting_mrr", "ending_mrr", "fx", "expansion", "contraction", "churn")
COUNTS = ("customers_start", "customers_retained")

# A (SMB)   USD 100 from 2024-01, plus a second line of 50 from 2024-03
# B (Ent)   USD 200 in 2024-01 and 2024-02 (ends 2024-03-01)
# C (SMB)   EUR 100 from 2024-02; EUR = 1.1 USD until 2024-02, 1.2 from 2024-03
# D (none)  USD 40 from 2024-04, no customers row
# MRR in USD:   Jan  A 100, B 200               = 300
#               Feb  A 100, B 200, C 110        = 410
#               Mar  A 150, C 120               = 270
#               Apr  A 150, C 120, D 40         = 310
LINES = [
    sub("A", "2024-01-01", None, 100),
    sub("A", "2024-03-01", None, 50, product="extra"),
    sub("B", "2024-01-01", "2024-03-01", 200),
    sub("C", "2024-02-01", None, 100, currency="EUR"),
    sub("D", "2024-04-01", None, 40),
]
CUSTOMERS = [
    {"customer_id": "A", "segment": "SMB"},
    {"customer_id": "B", "segment": "Ent"},
    {"customer_id": "C", "segment": "SMB"},
]
FX = [["2024-01", "EUR", "1.1"], ["2024-03", "EUR", "1.2"]]


@pytest.fixture
def book(make_book):
    return make_book(LINES, customers=CUSTOMERS, fx=FX)


def _figures(point: TrendPoint) -> tuple:
    return tuple(getattr(point, n) for n in (*SUMS, *COUNTS))


def test_hand_computed_series(book):
    result = trends(book, start="2024-02", end="2024-04", windows="1,3")
    got = {(p.month, p.window_months): p for p in result.overall}
    assert [(p.month, p.window_months) for p in result.overall] == [
        ("2024-02", 1),
        ("2024-02", 3),
        ("2024-03", 1),
        ("2024-03", 3),
        ("2024-04", 1),
        ("2024-04", 3),
    ]
    # Feb, 1 month (s = Jan): cohort A, B; 300 -> 300, nothing moved
    assert _figures(got["2024-02", 1]) == (300, 300, 0, 0, 0, 0, 2, 2)
    assert got["2024-02", 1].nrr == 1 and got["2024-02", 1].logo_retention == 1
    # Feb and Mar, 3 months (s = 2023-11, 2023-12): nobody at the start, ratios null
    for month in ("2024-02", "2024-03"):
        p = got[month, 3]
        assert _figures(p) == (0, 0, 0, 0, 0, 0, 0, 0)
        assert p.nrr is None and p.grr is None and p.logo_retention is None
    # Mar, 1 month (s = Feb): cohort A, B, C; starting 100 + 200 + 100 x 1.1 = 410
    # fx: C 100 x (1.2 - 1.1) = 10; expansion A +50; churn B 200
    # ending A 150 + C 120 = 270 = 410 + 10 + 50 - 0 - 200
    p = got["2024-03", 1]
    assert _figures(p) == (410, 270, 10, 50, 0, 200, 3, 2)
    assert p.nrr == D(270) / D(410)
    assert p.grr == D(210) / D(410)  # (410 - 0 - 200) / 410
    assert p.logo_retention == D(2) / D(3)
    # Apr, 1 month (s = Mar): cohort A, C: 270 -> 270; D is new, outside the cohort
    assert _figures(got["2024-04", 1]) == (270, 270, 0, 0, 0, 0, 2, 2)
    # Apr, 3 months (s = Jan): cohort A, B: 300 -> A 150; +50 expansion, -200 churn
    p = got["2024-04", 3]
    assert _figures(p) == (300, 150, 0, 50, 0, 200, 2, 1)
    assert (p.nrr, p.grr, p.logo_retention) == (D("0.5"), D(1) / D(3), D("0.5"))


def test_constant_currency_values_the_end_at_the_start_rates(book):
    result = trends(book, start="2024-03", end="2024-03", windows=[1], fx_mode="constant")
    # Mar, 1 month at Feb's rates: C is 110 at both ends, so fx 0 and ending 150 + 110 = 260
    assert _figures(result.overall[0]) == (410, 260, 0, 50, 0, 200, 3, 2)


def test_hand_computed_slices(book):
    result = trends(book, start="2024-03", end="2024-04", windows=[1], by="segment")
    got = {(p.segment, p.month): p for p in result.segments}
    # Every slice is listed for every point, once it appears anywhere
    assert sorted({p.segment for p in result.segments}) == ["(none)", "Ent", "SMB"]
    assert len(result.segments) == 3 * 2
    # Mar, SMB: A 100 + C 110 = 210 -> A 150 + C 120 = 270; fx 10, expansion 50
    assert _figures(got["SMB", "2024-03"]) == (210, 270, 10, 50, 0, 0, 2, 2)
    # Mar, Ent: B 200 churns
    p = got["Ent", "2024-03"]
    assert _figures(p) == (200, 0, 0, 0, 0, 200, 1, 0)
    assert (p.nrr, p.grr, p.logo_retention) == (0, 0, 0)
    # Mar, (none): D is not there yet; Apr, (none): D is new, so no cohort and null ratios
    assert _figures(got["(none)", "2024-03"]) == (0,) * 8
    assert got["(none)", "2024-04"].nrr is None
    # Ent in Apr (s = Mar): B had churned, an empty slice
    assert _figures(got["Ent", "2024-04"]) == (0,) * 8
    # The slices add up to the whole book at every point
    for point in result.overall:
        parts = [p for p in result.segments if p.month == point.month]
        for name in (*SUMS, *COUNTS):
            assert sum(getattr(p, name) for p in parts) == getattr(point, name)


def test_tenure_bands_follow_each_window_start(book):
    result = trends(book, start="2024-04", end="2024-04", windows="1,3", by="segment,tenure")
    names = {(p.window_months, p.segment) for p in result.segments if p.customers_start}
    # 1 month (s = Mar): A (first Jan) and C (first Feb) are 0-5 months in
    # 3 months (s = Jan): A and B started in Jan, 0 months in; D (first Apr) is new in both
    assert names == {(1, "SMB × 0-5"), (3, "SMB × 0-5"), (3, "Ent × 0-5")}
    new = [p for p in result.segments if p.segment == "(none) × new"]
    assert {p.window_months for p in new} == {1, 3} and all(p.ending_mrr == 0 for p in new)
    _assert_matches_window(book, result, "segment,tenure", "spot")


def test_arr_scales_amounts_not_ratios(book):
    result = trends(book, start="2024-03", end="2024-03", windows=[1])
    arr = in_arr(result)
    assert arr.overall[0].starting_mrr == 410 * 12
    assert arr.overall[0].nrr == result.overall[0].nrr
    assert arr.overall[0].customers_start == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "positive"),
        ("1,x", "positive"),
        ("3,3", "twice"),
        ("", "positive"),
        ("1.5", "positive"),
    ],
)
def test_bad_windows(text, message):
    with pytest.raises(InputError, match=message):
        parse_windows(text)


def test_bad_arguments(book):
    with pytest.raises(InputError, match="after --end"):
        trends(book, start="2024-05", end="2024-04")
    with pytest.raises(InputError, match="spot or constant"):
        trends(book, end="2024-04", fx_mode="daily")
    with pytest.raises(InputError, match="no attribute"):
        trends(book, end="2024-04", by="region")


def _assert_matches_window(book, result, by, fx_mode):
    """Every point equals `Book.window` for its month and length, exactly."""
    for month, k in {(p.month, p.window_months) for p in result.overall}:
        window = book.window(month, window=k, by=by, fx_mode=fx_mode)
        point = next(p for p in result.overall if (p.month, p.window_months) == (month, k))
        for name in (*SUMS, *COUNTS):
            assert getattr(point, name) == getattr(window.overall, name), (month, k, name)
        if by is None:
            continue
        slices = dict(window.segments)
        for point in (p for p in result.segments if (p.month, p.window_months) == (month, k)):
            expected = slices.pop(point.segment, None)
            for name in (*SUMS, *COUNTS):
                want = 0 if expected is None else getattr(expected, name)
                assert getattr(point, name) == want, (month, k, point.segment, name)
        assert not slices, f"slices missing from the trend: {sorted(slices)}"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=books(),
    first=st.integers(0, MONTHS + 2),
    span=st.integers(0, 1),
    windows=st.lists(st.sampled_from([1, 2, 3, 12]), min_size=1, max_size=2, unique=True),
    by=st.sampled_from([None, "region", "cohort", "tenure", "region,tenure"]),
    fx_mode=st.sampled_from(["spot", "constant"]),
)
def test_every_point_equals_the_window(tmp_path, case, first, span, windows, by, fx_mode):
    # Books with two currencies and moving rates, gaps, overlaps (tests/test_properties.py)
    book, _ = _load(tmp_path, case)
    start, end = BASE_YEAR * 12 + first, BASE_YEAR * 12 + first + span
    result = trends(
        book, start=_label(start), end=_label(end), windows=windows, by=by, fx_mode=fx_mode
    )
    assert len(result.overall) == (span + 1) * len(windows)
    _assert_matches_window(book, result, by, fx_mode)


# The CLI ----------------------------------------------------------------------------------

DATA = Path(__file__).parent / "data" / "adversarial"
INPUTS = [
    "-s",
    str(DATA / "subscriptions.csv"),
    "-c",
    str(DATA / "customers.csv"),
    "--fx-rates",
    str(DATA / "fx_rates.csv"),
]


def _run(*args: str):
    return CliRunner().invoke(app, ["trends", *INPUTS, *args])


def test_cli_json_matches_metrics():
    # Three currencies, overlaps, reactivations: each record is `nrr metrics` for its window
    result = _run("--start", "2024-01", "--end", "2024-06", "--by", "segment", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("start", "end", "currency", "fx_mode", "windows", "by")} == {
        "start": "2024-01",
        "end": "2024-06",
        "currency": "USD",
        "fx_mode": "spot",
        "windows": [1, 3, 12],
        "by": "segment",
    }
    series = data["series"]
    # months x windows x ((all) + Enterprise, Mid-Market, SMB and (none): delta, foxtrot)
    assert len(series) == 6 * 3 * (1 + 4)
    metrics = CliRunner().invoke(
        app, ["metrics", *INPUTS, "--end", "2024-06", "--by", "segment", "-f", "json"]
    )
    window = json.loads(metrics.stdout)
    expected = {"(all)": window["overall"]} | {s["segment"]: s for s in window["segments"]}
    checked = 0
    for record in series:
        if (record["month"], record["window_months"]) == ("2024-06", 12):
            for key, value in record.items():
                if key not in ("segment", "month", "window_months"):
                    assert value == expected[record["segment"]][key], (record["segment"], key)
            checked += 1
    assert checked == 5


def test_cli_table_and_csv():
    table = _run("--end", "2024-06", "--windows", "1,12", "--by", "segment")
    assert table.exit_code == 0, table.output
    assert "12m NRR" in table.stdout and "1m logos" in table.stdout
    assert "segment = Enterprise" in table.stdout and "n/a" in table.stdout
    rows = list(csv.DictReader(io.StringIO(_run("--end", "2024-06", "-f", "csv").stdout)))
    assert len(rows) == 12 * 3
    assert list(rows[0])[:4] == ["month", "window_months", "starting_mrr", "ending_mrr"]
    # An empty cohort prints an empty ratio, never 0
    empty = [r for r in rows if r["customers_start"] == "0"]
    assert empty and all(r["nrr"] == "" for r in empty)


def test_cli_arr():
    mrr = json.loads(_run("--end", "2024-06", "--windows", "3", "-f", "json").stdout)
    arr = json.loads(_run("--end", "2024-06", "--windows", "3", "-f", "json", "--arr").stdout)
    for a, m in zip(arr["series"], mrr["series"], strict=True):
        # each is rounded to cents on its own: 12 x a rounded MRR may be up to 6 cents off
        assert a["starting_mrr"] == pytest.approx(m["starting_mrr"] * 12, abs=0.061)
        assert a["nrr"] == m["nrr"]


@pytest.mark.parametrize(
    "args",
    [
        ["--windows", "0"],
        ["--windows", "1,,3"],
        ["--start", "2024-13"],
        ["--start", "2024-07", "--end", "2024-06"],
        ["--by", "nope"],
        ["--fx-mode", "daily"],
    ],
)
def test_cli_bad_flags_exit_2(args):
    result = _run(*args)
    assert result.exit_code == 2, result.output


def test_a_series_inside_one_computed_before_is_taken_from_it(book, make_book):
    wide = book.trends("2024-04", start="2024-02", windows=(1, 3, 12))
    fresh = make_book(LINES, customers=CUSTOMERS, fx=FX)
    for start, windows in (("2024-03", (12,)), ("2024-02", (3, 1)), ("2024-04", (1, 3, 12))):
        taken = book.trends("2024-04", start=start, windows=windows)
        assert taken == fresh.trends("2024-04", start=start, windows=windows)
        assert taken.start == start and taken.windows == windows
        # The very points computed before, not points computed again.
        assert all(any(point is p for p in wide.overall) for point in taken.overall)
    # Points it lacks, another fx mode, or slices: computed, and equal to a fresh book's.
    for kwargs in (
        {"start": "2024-01", "windows": (1,)},
        {"start": "2024-03", "windows": (2,)},
        {"start": "2024-03", "windows": (3,), "fx_mode": "constant"},
        {"start": "2024-03", "windows": (3,), "by": "segment"},
    ):
        assert book.trends("2024-04", **kwargs) == fresh.trends("2024-04", **kwargs), kwargs


def test_the_slices_add_up_to_the_book_exactly_past_28_digits(make_book):
    # 12 integer digits and 17 decimals: Python's default context (28 digits) would round.
    lines = [
        sub("A", "2024-01-01", None, "9999999999.12345678", currency="EUR"),
        sub("B", "2024-01-01", "2024-03-01", "9999999998.87654321", currency="EUR"),
    ]
    customers = [{"customer_id": "A", "segment": "SMB"}, {"customer_id": "B", "segment": "Ent"}]
    book = make_book(lines, customers=customers, fx=[["2024-01", "EUR", "11.123456789"]])
    result = trends(book, start="2024-02", end="2024-03", windows=(1, 2), by="segment")
    for point in result.overall:
        window = book.window(point.month, window=point.window_months).overall
        assert _figures(point) == tuple(getattr(window, n) for n in (*SUMS, *COUNTS))
    # (9999999999.12345678 + 9999999998.87654321) x 11.123456789, every digit.
    assert result.overall[0].starting_mrr == D("222469135757.75308631076543211")
