"""Property tests: the engine against the brute-force oracle, and the contract's invariants.

Random books with several customers, two currencies with moving rates, overlapping lines,
gaps (reactivations), zero-length lines and every interval; exact Decimal comparison.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nrr

from .oracle import Line, Oracle

BASE_YEAR = 2023
MONTHS = 30
INTERVALS = (1, 3, 6, 12)


def _day(offset: int, day: int) -> date:
    year, month0 = divmod(BASE_YEAR * 12 + offset, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day, last))


@st.composite
def books(draw):
    n_lines = draw(st.integers(1, 14))
    lines = []
    for _ in range(n_lines):
        customer = draw(st.sampled_from("ABCDEF"))
        start_offset = draw(st.integers(0, MONTHS - 6))
        start = _day(start_offset, draw(st.sampled_from([1, 2, 15, 28, 31])))
        if draw(st.booleans()):
            end = None
        else:
            end_offset = start_offset + draw(st.integers(0, 14))
            end = _day(end_offset, draw(st.sampled_from([1, 15, 31])))
            end = max(end, start)
        interval = draw(st.sampled_from(INTERVALS))
        mrr_cents = draw(st.integers(0, 500_000))
        currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
        lines.append((customer, start, end, mrr_cents, interval, currency))
    rate_months = sorted(draw(st.sets(st.integers(1, MONTHS + 2), max_size=6)) | {0})
    rates = {m: Decimal(draw(st.integers(5_000, 20_000))) / 10_000 for m in rate_months}
    segments = {c: draw(st.sampled_from(["north", "south", ""])) for c in "ABCDE"}  # F: no row
    return lines, rates, segments


def _load(tmp: Path, case) -> tuple[nrr.Book, Oracle]:
    lines, rates, segments = case
    subs = pd.DataFrame(
        [
            {
                "customer_id": c,
                "start_date": s.isoformat(),
                "end_date": "" if e is None else e.isoformat(),
                "amount": str(Decimal(cents * interval) / 100),
                "interval": str(interval),
                "currency": cur,
            }
            for c, s, e, cents, interval, cur in lines
        ]
    )
    fx = pd.DataFrame(
        [
            {
                "month": f"{(BASE_YEAR * 12 + m) // 12}-{(BASE_YEAR * 12 + m) % 12 + 1:02d}",
                "currency": "EUR",
                "rate": str(r),
            }
            for m, r in rates.items()
        ]
    )
    customers = pd.DataFrame([{"customer_id": c, "region": v} for c, v in segments.items()])
    book = nrr.load(subs, customers=customers, fx_rates=fx)
    oracle = Oracle(
        [Line(c, s, e, Decimal(cents) / 100, cur) for c, s, e, cents, _, cur in lines],
        {"EUR": {BASE_YEAR * 12 + m: r for m, r in rates.items()}},
        attributes={c: v or "(none)" for c, v in segments.items()},
    )
    return book, oracle


def _label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    case=books(),
    end_offset=st.integers(1, MONTHS + 3),
    k=st.sampled_from([1, 3, 12, 5]),
    by=st.sampled_from([None, "region", "cohort", "tenure"]),
    fx_mode=st.sampled_from(["spot", "constant"]),
)
def test_window_matches_oracle_and_invariants(tmp_path, case, end_offset, k, by, fx_mode):
    book, oracle = _load(tmp_path, case)
    end = BASE_YEAR * 12 + end_offset
    result = book.window(
        _label(end), window=k, by=by if by != "tenure" else "tenure", fx_mode=fx_mode
    )
    expected = oracle.window(end, k, None, fx_mode).get("(all)")
    got = result.overall.as_dict()
    if expected is None:
        assert result.overall.customers_start == 0 and result.overall.ending_mrr == 0
    else:
        for key, value in expected.items():
            assert got[key] == value, key
    f = result.overall
    # NRR from its parts, exactly as METRICS.md section 4 writes it
    assert f.ending_mrr == f.starting_mrr + f.fx + f.expansion - f.contraction - f.churn
    if f.starting_mrr > 0:
        assert f.grr <= 1
        assert (
            f.nrr
            == (f.starting_mrr + f.fx + f.expansion - f.contraction - f.churn) / f.starting_mrr
        )
    else:
        assert f.nrr is None and f.grr is None
    if by is not None:
        # every additive column of the slices adds up to the total
        for key in (
            "starting_mrr",
            "ending_mrr",
            "fx",
            "expansion",
            "contraction",
            "churn",
            "new_mrr",
            "reactivation_mrr",
            "customers_start",
            "customers_retained",
        ):
            assert sum(s.as_dict()[key] for _, s in result.segments) == got[key], key
        for _, s in result.segments:
            assert s.grr is None or s.grr <= 1
        if by in ("region", "cohort"):
            by_oracle = oracle.window(end, k, by, fx_mode)
            assert {name for name, _ in result.segments} == set(by_oracle)
            for name, s in result.segments:
                for key, value in by_oracle[name].items():
                    assert s.as_dict()[key] == value, (name, key)


@SETTINGS
@given(case=books(), by=st.sampled_from([None, "region", "cohort"]))
def test_bridge_matches_oracle_and_adds_up(tmp_path, case, by):
    book, oracle = _load(tmp_path, case)
    start, end = BASE_YEAR * 12, BASE_YEAR * 12 + MONTHS + 2
    rows = book.bridge(_label(start), _label(end), by=by)
    seen: dict[tuple[str | None, str], nrr.BridgeMonth] = {(r.segment, r.month): r for r in rows}
    for month in range(start, end + 1):
        for segment, values in oracle.bridge(month, by).items():
            key = (None if by is None else segment, _label(month))
            row = seen.get(key)
            if row is None:
                assert all(v == 0 for v in values.values()), key
                continue
            for name, value in values.items():
                assert getattr(row, name) == value, (key, name)
    for row in rows:
        flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
        assert row.ending_mrr == row.starting_mrr + row.fx + flows
    # each month's starting MRR is last month's ending MRR as reported
    by_segment: dict[str | None, list[nrr.BridgeMonth]] = {}
    for row in rows:
        by_segment.setdefault(row.segment, []).append(row)
    for series in by_segment.values():
        for before, after in itertools.pairwise(series):
            assert after.starting_mrr == before.ending_mrr
    if by is not None:
        overall = {r.month: r for r in book.bridge(_label(start), _label(end))}
        for month, total in overall.items():
            parts = [r for r in rows if r.month == month]
            for name in (
                "starting_mrr",
                "fx",
                "new",
                "reactivation",
                "expansion",
                "contraction",
                "churn",
                "ending_mrr",
                "active_customers",
            ):
                assert sum(getattr(p, name) for p in parts) == getattr(total, name), (month, name)
