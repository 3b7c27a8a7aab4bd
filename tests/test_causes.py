"""Expansion and contraction by cause (docs/causes-and-owners.md).

Every fixture uses the window 2023-12 -> 2024-12 (k = 12, s = 2023-12, e = 2024-12) and
monthly lines, so a line's MRR is its amount. The arithmetic of each rule is in the comments.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nrr
from nrr.analysis.causes import CauseParts, causes, seat_part
from nrr.cli import app
from nrr.errors import InputError
from nrr.results import in_arr

from .conftest import sub
from .oracle import Line, Oracle, in_service, month_of

D = Decimal
END = "2024-12"
BEFORE = "2023-01-01"  # in service at s = 2023-12
CHANGE = "2024-06-01"  # between s and e


def parts(total, seats=0, price=0, cross_sell=0, dropped=0, customers=1):
    return CauseParts(
        total=D(total),
        seats=D(seats),
        price=D(price),
        cross_sell=D(cross_sell),
        dropped=D(dropped),
        customers=customers,
    )


NONE = parts(0, customers=0)

# name -> (lines, expected expansion, expected contraction)
RULES = {
    # 10 seats for 1,000 -> 15 seats for 1,500: seats = (15 - 10) * 1000 / 10 = 500, price 0
    "pure seat increase": (
        [
            sub("A", BEFORE, CHANGE, 1000, quantity=10),
            sub("A", CHANGE, None, 1500, quantity=15),
        ],
        parts(500, seats=500),
        NONE,
    ),
    # 10 seats for 1,000 -> 10 seats for 1,200: seats = 0 * 1000 / 10 = 0, price = 200
    "pure price increase": (
        [
            sub("B", BEFORE, CHANGE, 1000, quantity=10),
            sub("B", CHANGE, None, 1200, quantity=10),
        ],
        parts(200, price=200),
        NONE,
    ),
    # 10 seats for 1,000 -> 12 seats for 1,320 (110 a seat): delta 320,
    # seats = 2 * 1000 / 10 = 200, price = 320 - 200 = 120
    "seats and price": (
        [
            sub("C", BEFORE, CHANGE, 1000, quantity=10),
            sub("C", CHANGE, None, 1320, quantity=12),
        ],
        parts(320, seats=200, price=120),
        NONE,
    ),
    # core 500 all along; analytics 300 added in 2024-03: cross-sell 300. Automation held in
    # 2023-01..05 and re-added in 2024-06 for 100 was not held at s: cross-sell too.
    # expansion = 300 + 100 = 400
    "cross-sell": (
        [
            sub("D", BEFORE, None, 500),
            sub("D", "2024-03-01", None, 300, product="analytics"),
            sub("D", BEFORE, "2023-06-01", 80, product="automation"),
            sub("D", CHANGE, None, 100, product="automation"),
        ],
        parts(400, cross_sell=400),
        NONE,
    ),
    # core 10 -> 20 seats, 1,000 -> 2,000: seats = 10 * 1000 / 10 = 1000; analytics 200
    # dropped: -200. Expansion = 2000 - 1200 = 800 = 1000 + (-200)
    "dropped inside an expanding customer": (
        [
            sub("E", BEFORE, CHANGE, 1000, quantity=10),
            sub("E", CHANGE, None, 2000, quantity=20),
            sub("E", BEFORE, "2024-05-01", 200, product="analytics"),
        ],
        parts(800, seats=1000, dropped=-200),
        NONE,
    ),
    # 10 seats for 1,000 -> 8 seats for 800: delta -200 = seats (-2 * 1000 / 10) + price 0;
    # contraction 200 = seats 200
    "contraction by seats": (
        [
            sub("F", BEFORE, CHANGE, 1000, quantity=10),
            sub("F", CHANGE, None, 800, quantity=8),
        ],
        NONE,
        parts(200, seats=200),
    ),
    # core 1,000 -> 1,100 at the same 10 seats: price +100; analytics 400 dropped: -400.
    # Sum of deltas -300, so contraction 300 = -(+100) + -(-400) = price -100 + dropped 400
    "dropped inside a contracting customer": (
        [
            sub("G", BEFORE, CHANGE, 1000, quantity=10),
            sub("G", CHANGE, None, 1100, quantity=10),
            sub("G", BEFORE, "2024-02-01", 400, product="analytics"),
        ],
        NONE,
        parts(300, price=-100, dropped=400),
    ),
    # 500 at s, nothing at e: churn, not a cause (its product would be "dropped" otherwise)
    "churned customer excluded": ([sub("H", BEFORE, CHANGE, 500)], NONE, NONE),
    # first active in 2024-02, after s: new MRR, outside C
    "customer outside C excluded": ([sub("I", "2024-02-01", None, 700)], NONE, NONE),
    # 300 with quantity 0 at s -> 20 seats for 600: Q_prev = 0, so seats 0 and price 300
    "quantity 0 at s": (
        [
            sub("L", BEFORE, CHANGE, 300, quantity=0),
            sub("L", CHANGE, None, 600, quantity=20),
        ],
        parts(300, price=300),
        NONE,
    ),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_by_hand(make_book, name):
    lines, expansion, contraction = RULES[name]
    result = causes(make_book(lines), end=END)
    assert result.overall.expansion == expansion
    assert result.overall.contraction == contraction
    assert (result.start, result.end, result.window_months) == ("2023-12", END, 12)


FX = [["2023-01", "EUR", "1.0"], ["2023-12", "EUR", "1.1"], ["2024-12", "EUR", "1.2"]]
TWO_CURRENCIES = [
    # J: EUR 10 seats for 1,000 -> 12 seats for 1,200.
    sub("J", BEFORE, CHANGE, 1000, currency="EUR", quantity=10),
    sub("J", CHANGE, None, 1200, currency="EUR", quantity=12),
    # K, one product in two currencies: USD 500 (5 seats) + EUR 100 (1 seat) at s;
    # USD 500 (5 seats) + EUR 200 (2 seats) at e.
    sub("K", BEFORE, None, 500, quantity=5),
    sub("K", BEFORE, CHANGE, 100, currency="EUR", quantity=1),
    sub("K", CHANGE, None, 200, currency="EUR", quantity=2),
]


@pytest.mark.parametrize("fx_mode", ["spot", "constant"])
def test_two_currencies_at_the_start_rates(make_book, fx_mode):
    book = make_book(TWO_CURRENCIES, fx=FX)
    got = causes(book, end=END, fx_mode=fx_mode, detail=True)
    # Movements are in constant currency at s's rate 1.1 in both modes (METRICS.md 4).
    # J: prev 1100, cur 1320: seats 2 * 1100 / 10 = 220.
    # K: prev 500 + 110 = 610 (Q 6), cur 500 + 220 = 720 (Q 7): delta 110,
    #    seats = 610 / 6 = 101.6666... -> 101.66666666666666667, price = 8.33333333333333333
    seats_k = D("101.66666666666666667")
    assert got.overall.expansion == parts(
        330, seats=220 + seats_k, price=D("8.33333333333333333"), customers=2
    )
    assert got.overall.contraction == NONE
    by_customer = {line.customer_id: line for line in got.detail}
    assert by_customer["K"].mrr_start == 610 and by_customer["K"].mrr_end == 720
    assert (by_customer["K"].quantity_start, by_customer["K"].quantity_end) == (6, 7)
    assert by_customer["K"].seats == seats_k


def test_seat_part_rounds_half_to_even():
    # 1 * 1e-17 / 2 = 0.5e-17 -> 0 (even); 1 * 3e-17 / 2 = 1.5e-17 -> 2e-17
    assert seat_part(D(2), D(3), D("1E-17")) == 0
    assert seat_part(D(2), D(3), D("3E-17")) == D("2E-17")
    # negative ties round to even too: -1 * 3e-17 / 2 = -1.5e-17 -> -2e-17
    assert seat_part(D(2), D(1), D("3E-17")) == D("-2E-17")
    assert seat_part(D(0), D(5), D(100)) == 0
    # fractional quantities: (2.5 - 2) * 100 / 2 = 25
    assert seat_part(D(2), D("2.5"), D(100)) == 25


ALL_RULES = [line for lines, _, _ in RULES.values() for line in lines]
SEGMENTS = [{"customer_id": c, "segment": "big" if c in "ACEG" else "small"} for c in "ABCDEFGHIL"]


def test_book_of_every_rule_adds_up_overall_and_by_slice(make_book):
    book = make_book(ALL_RULES, customers=SEGMENTS)
    result = causes(book, end=END, by="segment", detail=True)
    window = book.window(END, by="segment")
    # expansion: A 500 + B 200 + C 320 + D 400 + E 800 + L 300 = 2,520
    #   seats A 500 + C 200 + E 1000 = 1,700; price B 200 + C 120 + L 300 = 620;
    #   cross-sell D 400; dropped E -200
    assert result.overall.expansion == parts(2520, 1700, 620, 400, -200, customers=6)
    # contraction: F 200 + G 300 = 500; seats F 200; price G -100; dropped G 400
    assert result.overall.contraction == parts(500, 200, -100, 0, 400, customers=2)
    assert window.overall.expansion == 2520 and window.overall.contraction == 500
    segments = dict(result.segments)
    # big = A, C, E, G: expansion 500 + 320 + 800 = 1,620; contraction G 300
    assert segments["big"].expansion == parts(1620, 1700, 120, 0, -200, customers=3)
    assert segments["big"].contraction == parts(300, 0, -100, 0, 400, customers=1)
    assert segments["small"].expansion == parts(900, 0, 500, 400, 0, customers=3)
    for name, figures in window.segments:
        assert segments[name].expansion.total == figures.expansion
        assert segments[name].contraction.total == figures.contraction
    # the detail: one row per customer x product of A-G and L (E, G, D have several)
    assert len(result.detail) == 12
    assert sum(line.amount for line in result.detail if line.movement == "expansion") == 2520
    assert {line.customer_id for line in result.detail} == set("ABCDEFGL")
    amounts = [abs(line.amount) for line in result.detail]
    assert amounts == sorted(amounts, reverse=True)


def test_frames_and_arr(make_book):
    book = make_book(ALL_RULES, customers=SEGMENTS)
    result = causes(book, end=END, by="segment", detail=True)
    frame = result.frame()
    assert frame.loc[("(all)", "expansion"), "total"] == 2520.0
    assert frame.loc[("small", "contraction"), "dropped"] == 0.0
    detail = result.detail_frame()
    # amounts are parts of each customer's movement: expansion 2,520 + contraction 500
    assert detail["amount"].sum() == 3020.0
    arr = in_arr(result)
    assert arr.overall.expansion.seats == 12 * 1700
    assert arr.overall.expansion.customers == 6
    assert arr.detail[0].quantity_start == result.detail[0].quantity_start
    with pytest.raises(ValueError):
        causes(book, end=END).detail_frame()


def test_bad_arguments_are_input_errors(make_book):
    book = make_book(ALL_RULES, customers=SEGMENTS)
    with pytest.raises(InputError, match="--by"):
        causes(book, end=END, by="region")
    with pytest.raises(InputError, match="--window"):
        causes(book, end=END, window=0)
    with pytest.raises(InputError, match="--end"):
        causes(book, end="2024-13")


# --- property test: random books, causes and slices add up exactly ------------------------

BASE_YEAR = 2023
MONTHS = 24


def _day(offset: int, day: int) -> date:
    year, month0 = divmod(BASE_YEAR * 12 + offset, 12)
    return date(year, month0 + 1, min(day, calendar.monthrange(year, month0 + 1)[1]))


@st.composite
def books(draw):
    lines = []
    for _ in range(draw(st.integers(1, 16))):
        start_offset = draw(st.integers(0, MONTHS - 4))
        end = None
        if draw(st.booleans()):
            end = _day(start_offset + draw(st.integers(0, 14)), draw(st.sampled_from([1, 15])))
        start = _day(start_offset, draw(st.sampled_from([1, 15, 31])))
        lines.append(
            (
                draw(st.sampled_from("ABCDE")),
                draw(st.sampled_from(["core", "core", "analytics", "automation"])),
                start,
                None if end is None else max(end, start),
                draw(st.integers(0, 300_000)),  # MRR in cents
                draw(st.sampled_from([1, 3, 12])),
                draw(st.integers(0, 40)),  # quantity
                draw(st.sampled_from(["USD", "USD", "EUR"])),
            )
        )
    rate_months = sorted(draw(st.sets(st.integers(1, MONTHS), max_size=5)) | {0})
    rates = {m: D(draw(st.integers(5_000, 20_000))) / 10_000 for m in rate_months}
    regions = {c: draw(st.sampled_from(["north", "south"])) for c in "ABCD"}  # E: no row
    return lines, rates, regions


def _load(case) -> tuple[nrr.Book, Oracle, list]:
    lines, rates, regions = case
    subs = pd.DataFrame(
        [
            {
                "customer_id": c,
                "product": p,
                "start_date": s.isoformat(),
                "end_date": "" if e is None else e.isoformat(),
                "amount": str(D(cents * interval) / 100),
                "interval": str(interval),
                "quantity": str(q),
                "currency": cur,
            }
            for c, p, s, e, cents, interval, q, cur in lines
        ]
    )
    fx = pd.DataFrame(
        [
            {
                "month": f"{(BASE_YEAR * 12 + m) // 12}-{m % 12 + 1:02d}",
                "currency": "EUR",
                "rate": str(r),
            }
            for m, r in rates.items()
        ]
    )
    customers = pd.DataFrame([{"customer_id": c, "region": v} for c, v in regions.items()])
    book = nrr.load(subs, customers=customers, fx_rates=fx)
    oracle = Oracle(
        [Line(c, s, e, D(cents) / 100, cur) for c, _, s, e, cents, _, _, cur in lines],
        {"EUR": {BASE_YEAR * 12 + m: r for m, r in rates.items()}},
        attributes=regions,
    )
    return book, oracle, lines


def _expected(oracle: Oracle, lines: list, end: int, k: int, by, fx_mode) -> dict:
    """The rule of the docs, literally: per customer and product, from the raw lines."""
    s = end - k
    # Movements are in constant currency at s's rates in either mode (METRICS.md section 4).
    at = s
    out: dict[str, dict[str, dict[str, Fraction]]] = {}

    def value(c, month, rates_month, product=None):
        total, units = Fraction(0), Fraction(0)
        for lc, lp, ls, le, cents, _, q, cur in lines:
            if lc != c or (product is not None and lp != product) or cents == 0:
                continue
            if in_service(Line(lc, ls, le, D(0), cur), month):
                total += Fraction(cents, 100) * Fraction(oracle.rate(cur, rates_month))
                units += q
        return total, units

    for c in sorted({line[0] for line in lines}):
        s_s, _ = value(c, s, s)
        e_s, _ = value(c, end, at)
        if s_s == 0 or e_s == 0 or e_s == s_s:
            continue
        movement, sign = ("expansion", 1) if e_s > s_s else ("contraction", -1)
        first = min(
            month_of(ls)
            for lc, _, ls, le, cents, *_ in lines
            if lc == c and cents > 0 and (le is None or month_of(le) > month_of(ls))
        )
        segment = {
            None: "(all)",
            "region": oracle.attributes.get(c, "(none)"),
            "cohort": f"{first // 12:04d}-{first % 12 + 1:02d}",
        }[by]
        bucket = out.setdefault(segment, {}).setdefault(
            movement,
            dict.fromkeys(("total", "seats", "price", "cross_sell", "dropped"), Fraction(0)),
        )
        for p in sorted({line[1] for line in lines if line[0] == c}):
            prev, q_prev = value(c, s, at, p)
            cur, q_cur = value(c, end, at, p)
            delta = cur - prev
            bucket["total"] += sign * delta
            if prev == 0:
                bucket["cross_sell"] += sign * delta
            elif cur == 0:
                bucket["dropped"] += sign * delta
            else:
                seats = (
                    Fraction(round((q_cur - q_prev) * prev * 10**17 / q_prev), 10**17)
                    if q_prev
                    else 0
                )
                bucket["seats"] += sign * seats
                bucket["price"] += sign * (delta - seats)
    return out


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=books(),
    end_offset=st.integers(1, MONTHS + 2),
    k=st.sampled_from([1, 3, 12]),
    by=st.sampled_from([None, "region", "cohort"]),
    fx_mode=st.sampled_from(["spot", "constant"]),
)
def test_causes_add_up_and_match_the_rule(case, end_offset, k, by, fx_mode):
    book, oracle, lines = _load(case)
    end = BASE_YEAR * 12 + end_offset
    label = f"{end // 12:04d}-{end % 12 + 1:02d}"
    result = causes(book, end=label, window=k, by=by, fx_mode=fx_mode, detail=True)
    # the window's expansion and contraction, from the brute-force oracle of METRICS.md
    window = oracle.window(end, k, by, fx_mode)
    groups = [("(all)", result.overall)] if by is None else list(result.segments)
    for name, split in groups:
        figures = window.get(name, {"expansion": 0, "contraction": 0})
        for movement in ("expansion", "contraction"):
            p = getattr(split, movement)
            assert p.total == figures[movement], (name, movement)
            assert p.seats + p.price + p.cross_sell + p.dropped == p.total
    if by is not None:
        for movement in ("expansion", "contraction"):
            for name in ("total", "seats", "price", "cross_sell", "dropped", "customers"):
                summed = sum(getattr(getattr(s, movement), name) for _, s in result.segments)
                assert summed == getattr(getattr(result.overall, movement), name)
    # the detail rows add up to the totals as well
    for movement in ("expansion", "contraction"):
        chosen = [line for line in result.detail if line.movement == movement]
        assert (
            sum((line.amount for line in chosen), D(0)) == getattr(result.overall, movement).total
        )
    # and every part is what the rule, applied to the raw lines, gives
    expected = _expected(oracle, lines, end, k, by, fx_mode)
    got = {"(all)": result.overall} if by is None else dict(result.segments)
    for segment, moves in expected.items():
        for movement, values in moves.items():
            p = getattr(got[segment], movement)
            for name, value in values.items():
                assert Fraction(getattr(p, name)) == value, (segment, movement, name)


# --- CLI -------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    from .conftest import SUB_HEADER, write_csv

    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, ALL_RULES)
    header = ["customer_id", "segment"]
    customers = write_csv(
        tmp_path / "customers.csv", header, [[c["customer_id"], c["segment"]] for c in SEGMENTS]
    )
    return ["-s", str(subs), "-c", str(customers), "--end", END]


def test_cli_table_json_csv(files):
    table = runner.invoke(app, ["causes", *files, "--by", "segment", "--detail"])
    assert table.exit_code == 0, table.stderr
    assert "Expansion" in table.stdout and "2,520.00" in table.stdout
    assert "1,700.00" in table.stdout and "cross-sell" in table.stdout
    assert "By segment" in table.stdout and "Largest customer x product" in table.stdout

    got = json.loads(runner.invoke(app, ["causes", *files, "--by", "segment", "-f", "json"]).stdout)
    assert list(got) == [
        "start",
        "end",
        "window_months",
        "currency",
        "fx_mode",
        "overall",
        "segments",
    ]
    assert got["overall"]["expansion"] == {
        "total": 2520.0,
        "seats": 1700.0,
        "price": 620.0,
        "cross_sell": 400.0,
        "dropped": -200.0,
        "customers": 6,
    }
    assert got["overall"]["contraction"]["dropped"] == 400.0
    assert [s["segment"] for s in got["segments"]] == ["big", "small"]

    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["causes", *files, "-f", "csv"]).stdout))
    )
    assert [(r["segment"], r["movement"]) for r in rows] == [
        ("(all)", "expansion"),
        ("(all)", "contraction"),
    ]
    assert rows[0]["total"] == "2520.0" and rows[1]["price"] == "-100.0"

    detail = runner.invoke(app, ["causes", *files, "-f", "csv", "--detail"]).stdout
    lines = list(csv.DictReader(io.StringIO(detail)))
    assert len(lines) == 12 and lines[0]["customer_id"] == "E" and lines[0]["seats"] == "1000.0"
    assert lines[0]["quantity_start"] == "10" and lines[0]["quantity_end"] == "20"

    full = json.loads(
        runner.invoke(app, ["causes", *files, "-f", "json", "--detail", "--arr"]).stdout
    )
    assert full["overall"]["expansion"]["total"] == 2520.0 * 12
    assert len(full["detail"]) == 12 and "segment" not in full["detail"][0]


def test_cli_bad_flags_exit_2(files):
    bad_by = runner.invoke(app, ["causes", *files, "--by", "region"])
    assert bad_by.exit_code == 2 and "region" in bad_by.stderr
    bad_end = runner.invoke(app, ["causes", *files[:4], "--end", "2024-13"])
    assert bad_end.exit_code == 2 and "--end" in bad_end.stderr
