"""Line-level slices, `--by product` (METRICS.md section 4): hand-computed fixtures, the
brute-force oracle on random books, and the additivity rules."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from tests.conftest import SUB_HEADER, sub, write_csv
from tests.oracle import Line, Oracle

D = Decimal
FX = [["2024-01", "EUR", "1.1"], ["2024-04", "EUR", "1.2"]]
# a switches 100 from A to B in April; b adds B (cross-sell) in March and holds 50 EUR of A;
# c (A and 20 EUR of C) leaves in May; d arrives in May with 40 EUR of C.
LINES = [
    sub("a", "2024-01-01", "2024-04-01", 100, product="A"),
    sub("a", "2024-04-01", None, 100, product="B"),
    sub("b", "2024-01-01", None, 50, product="A", currency="EUR"),
    sub("b", "2024-03-01", None, 30, product="B"),
    sub("c", "2024-01-01", "2024-05-01", 70, product="A"),
    sub("c", "2024-02-01", "2024-05-01", 20, product="C", currency="EUR"),
    sub("d", "2024-05-01", None, 40, product="C", currency="EUR"),
]


def test_window_by_product_by_hand(make_book):
    result = make_book(LINES, fx=FX).window("2024-06", window=4, by="product")
    got = dict(result.segments)
    # s = 2024-02 (EUR 1.1), e = 2024-06 (EUR 1.2).
    a, b, c = got["A"], got["B"], got["C"]
    # A: a drops A while it stays (contraction 100), c leaves (churn 70), b's 50 EUR is
    # unchanged at s's rates (55) and revalued to 60 (fx 5).
    assert (a.starting_mrr, a.contraction, a.churn, a.fx, a.ending_mrr) == (225, 100, 70, 5, 60)
    assert (a.customers_start, a.customers_retained, a.expansion) == (3, 1, 0)
    # B: a's switch and b's cross-sell, both expansion of a product nobody had at s.
    assert (b.starting_mrr, b.expansion, b.ending_mrr, b.customers_start) == (0, 130, 130, 0)
    assert b.nrr is None
    # C: c's 20 EUR at s's 1.1 churns (22); d's 40 EUR at e's 1.2 is new (48).
    assert (c.starting_mrr, c.churn, c.new_mrr, c.grr) == (22, 22, 48, 0)
    overall = result.overall
    assert (overall.expansion, overall.contraction) == (30, 0)  # 130 - 100 across products
    assert sum((f.churn for f in got.values()), D(0)) == overall.churn == 92


def test_bridge_by_product_by_hand(make_book):
    rows = {
        (r.segment, r.month): r
        for r in make_book(LINES, fx=FX).bridge("2024-02", "2024-06", by="product")
    }
    april_a, april_b = rows[("A", "2024-04")], rows[("B", "2024-04")]
    assert (april_a.contraction, april_b.expansion) == (100, 100)  # a's switch
    assert april_a.fx == D(5)  # b's 50 EUR revalued from 1.1 to 1.2
    may_a, may_c = rows[("A", "2024-05")], rows[("C", "2024-05")]
    assert (may_a.churn, may_c.churn, may_c.new) == (70, 24, 48)  # at April's rate 1.2
    assert rows[("B", "2024-02")].active_customers == 0
    assert rows[("B", "2024-04")].active_customers == 2
    assert {segment for segment, _ in rows} == {"A", "B", "C"}


def test_cli_by_product(tmp_path: Path):
    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, LINES)
    fx = write_csv(tmp_path / "fx.csv", ["month", "currency", "rate"], FX)
    runner = CliRunner()
    inputs = ["-s", str(subs), "--fx-rates", str(fx), "--by", "product", "-f", "json"]
    metrics = runner.invoke(app, ["metrics", *inputs, "--end", "2024-06", "--window", "4"])
    assert metrics.exit_code == 0, metrics.stderr
    segments = json.loads(metrics.stdout)["segments"]
    assert [s["segment"] for s in segments] == ["A", "B", "C"]
    assert segments[1]["expansion"] == 130.0
    moves = runner.invoke(app, ["movements", *inputs, "--start", "2024-04", "--end", "2024-05"])
    assert moves.exit_code == 0, moves.stderr
    assert {(m["segment"], m["month"]) for m in json.loads(moves.stdout)} == {
        (p, m) for p in "ABC" for m in ("2024-04", "2024-05")
    }


BASE = 2023 * 12
MONTHS = 18


@st.composite
def books(draw: st.DrawFn) -> list[tuple]:
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, MONTHS - 3))
        length = draw(st.one_of(st.none(), st.integers(0, 10)))
        lines.append(
            (
                draw(st.sampled_from("PQRS")),
                draw(st.sampled_from(["A", "B", "C"])),
                start,
                None if length is None else start + length,
                draw(st.integers(0, 90_000)),
                draw(st.sampled_from(["USD", "USD", "EUR"])),
            )
        )
    return lines


def _day(month: int) -> date:
    m = BASE + month
    return date(m // 12, m % 12 + 1, 1)


def _label(month: int) -> str:
    m = BASE + month
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


RATES = {0: D("1.1"), 4: D("0.95"), 7: D("1.3"), 11: D("1.2")}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    lines=books(),
    end=st.integers(4, MONTHS + 1),
    k=st.sampled_from([1, 3, 6]),
    fx_mode=st.sampled_from(["spot", "constant"]),
)
def test_product_slices_match_the_oracle(lines, end, k, fx_mode):
    subs = pd.DataFrame(
        [
            {
                "customer_id": c,
                "product": p,
                "start_date": _day(s).isoformat(),
                "end_date": "" if e is None else _day(e).isoformat(),
                "amount": str(D(cents) / 100),
                "currency": cur,
            }
            for c, p, s, e, cents, cur in lines
        ]
    )
    fx = pd.DataFrame(
        [{"month": _label(m), "currency": "EUR", "rate": str(r)} for m, r in RATES.items()]
    )
    book = nrr.load(subs, fx_rates=fx)
    oracle = Oracle(
        [
            Line(c, _day(s), None if e is None else _day(e), D(cents) / 100, cur, p)
            for c, p, s, e, cents, cur in lines
        ],
        {"EUR": {BASE + m: r for m, r in RATES.items()}},
    )
    got = dict(book.window(_label(end), window=k, by="product", fx_mode=fx_mode).segments)
    want = oracle.product_window(BASE + end, k, fx_mode)
    assert set(got) == set(want)
    for product, figures in got.items():
        for name, value in want[product].items():
            assert getattr(figures, name) == value, (product, name)
    first = max(end - k, 1)
    rows = book.bridge(_label(first), _label(end), by="product")
    for row in rows:
        month = BASE + first + [r.month for r in rows if r.segment == row.segment].index(row.month)
        expected = oracle.product_bridge(month, BASE + first, BASE + end)[row.segment]
        for name, value in expected.items():
            assert getattr(row, name) == value, (row.segment, row.month, name)
    assert {r.segment for r in rows} == set(
        oracle.products_in_service(list(range(BASE + first - 1, BASE + end + 1)))
    )


def test_product_cannot_be_combined(make_book):
    book = make_book(LINES, fx=FX)
    with pytest.raises(nrr.InputError, match="slices lines on its own"):
        book.window("2024-06", by="product,cohort")
    with pytest.raises(nrr.InputError, match="slices lines on its own"):
        book.trends("2024-06", by="product")
