"""Valid books, damaged one cell at a time: exit 0 with a balanced bridge, or exit 2 with clear
lines, never exit 1.

Unlike the byte mutations of test_robustness.py, these edits keep the file a CSV and change
what a careless or hostile user would: an amount at the edge of the supported range, a rate of
almost nothing or almost 10^8, a date that is not one, a currency in lower case, an id that
looks like another, a cell a spreadsheet would run. Whatever the edit, `movements` and
`metrics` either print numbers whose bridge adds up to the cent and whose GRR lies in [0, 1],
or refuse with `error: ` lines that name the file.
"""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nrr.cli import app
from tests.conftest import SUB_HEADER, write_csv

runner = CliRunner()
CUSTOMERS = ["acme", "Acme", "bolt", "b\u200bolt", "Société", "Socie\u0301te\u0301", "=SUM(1)"]
CURRENCIES = ["USD", "EUR", "IDR"]
CELLS = {
    "amount": [
        "0",
        "0.01",
        "99999999999.99999999",
        "100000000000",
        "1e3",
        "-5",
        "1,000",
        "abc",
        "",
        "7.123456789",
    ],
    "start_date": ["2023-02-29", "2024-02-29", "2024-13-01", "20240101", "", "2024-01-01T00:00"],
    "end_date": ["", "2022-01-01", "2030-01-01", "not a date"],
    "interval": ["month", "year", "0", "-1", "12.2875", "fortnight", "YEARLY", "1e400"],
    "quantity": ["", "0", "-1", "1.5", "1e20"],
    "currency": ["usd", "EUR", "idr", "XXX", "", "E U R", "€"],
}
RATE_CELLS = ["0.000000001", "99999999.999999999", "100000000", "0", "-1", "1e-12", "abc", ""]


@st.composite
def books(draw: st.DrawFn) -> tuple[list[list[object]], list[list[object]]]:
    rows: list[list[object]] = []
    for _ in range(draw(st.integers(2, 8))):
        start = draw(st.integers(0, 20))
        length = draw(st.one_of(st.none(), st.integers(0, 14)))
        rows.append(
            [
                draw(st.sampled_from(CUSTOMERS)),
                draw(st.sampled_from(["core", "extra"])),
                _day(start),
                "" if length is None else _day(start + length),
                str(Decimal(draw(st.integers(0, 10**13))).scaleb(-2)),
                draw(st.sampled_from(["month", "quarter", "year"])),
                "1",
                draw(st.sampled_from(CURRENCIES)),
            ]
        )
    rates = [
        [f"2023-{m:02d}" if m <= 12 else f"2024-{m - 12:02d}", currency, rate]
        for m in (1, 6, 13)
        for currency, rate in (("EUR", "1.08"), ("IDR", "0.000063"))
    ]
    # One to three edits of single cells, in the subscriptions or the rates.
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            row = draw(st.integers(0, len(rows) - 1))
            column = draw(st.sampled_from(sorted(CELLS)))
            rows[row][SUB_HEADER.index(column)] = draw(st.sampled_from(CELLS[column]))
        else:
            rates[draw(st.integers(0, len(rates) - 1))][2] = draw(st.sampled_from(RATE_CELLS))
    return rows, rates


def _day(month: int) -> str:
    return f"{2023 + month // 12}-{month % 12 + 1:02d}-{(month * 7) % 28 + 1:02d}"


def _money(value: object) -> Decimal:
    return Decimal(str(value))


def _check(result, folder: Path) -> dict | list | None:
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error: ")]
        assert errors, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        return None
    return json.loads(result.stdout)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(books())
def test_damaged_books_balance_or_exit_2(book):
    rows, rates = book
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        subs = write_csv(folder / "subs.csv", SUB_HEADER, rows)
        fx = write_csv(folder / "fx.csv", ["month", "currency", "rate"], rates)
        inputs = ["-s", str(subs), "--fx-rates", str(fx)]
        moves = _check(
            runner.invoke(
                app, ["movements", *inputs, "--start", "2023-01", "--end", "2024-12", "-f", "json"]
            ),
            folder,
        )
        if moves is None:
            return
        for month in moves:
            flows = sum(_money(month[k]) for k in ("new", "reactivation", "expansion"))
            flows -= _money(month["contraction"]) + _money(month["churn"])
            total = _money(month["starting_mrr"]) + _money(month["fx"]) + flows
            # Each printed term is rounded to the cent: at most half a cent off each.
            assert abs(total - _money(month["ending_mrr"])) <= Decimal("0.04"), month
        window = _check(
            runner.invoke(app, ["metrics", *inputs, "--end", "2024-12", "-f", "json"]), folder
        )
        assert window is not None  # the same input loaded for movements
        grr = window["overall"]["grr"]
        assert grr is None or 0 <= grr <= 1
