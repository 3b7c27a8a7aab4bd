"""The health inputs: typed values of good rows, one FILE:ROW:COLUMN message per broken rule,
and every row accounted for under quarantine."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrr.engines.duckdb import DuckDBEngine
from nrr.errors import InputError
from nrr.health import COLUMNS, HEALTH_INPUTS, Signals, read_signals, validate_signal
from nrr.intake import Intake
from nrr.screen import count
from nrr.sources.files import RawSource, open_file, open_table
from tests.conftest import write_csv

# One engine for the module keeps the tests fast; each test reads its own files.
ENGINE = DuckDBEngine.open()
GOOD = {
    "usage": ["a", "2024-01-01", "logins", "5"],
    "tickets": ["a", "2024-01-01", "2024-01-03", "high", "4"],
    "surveys": ["a", "2024-01-01", "nps", "9"],
    "touchpoints": ["a", "2024-01-01", "qbr"],
    "stakeholders": ["a", "Ann", "CFO", "true", "false", ""],
}


def _raw(tmp_path: Path, kind: str, rows: list[list[object]], header=None) -> RawSource:
    path = write_csv(tmp_path / f"{kind}.csv", list(header or COLUMNS[kind]), rows)
    return open_file(ENGINE, path, role=kind)


def _rows(kind: str, raw: RawSource, intake: Intake | None = None) -> list[dict]:
    query = validate_signal(ENGINE, raw, kind, intake=intake or Intake())
    return ENGINE.fetch(f"SELECT * FROM ({query}) AS checked ORDER BY customer_id").records()


def _errors(tmp_path: Path, kind: str, rows: list[list[object]]) -> list[str]:
    raw = _raw(tmp_path, kind, rows)
    with pytest.raises(InputError) as caught:
        validate_signal(ENGINE, raw, kind, intake=Intake())
    return [str(p) for p in caught.value.problems]


def test_usage_is_typed(tmp_path):
    raw = _raw(
        tmp_path,
        "usage",
        [["a", "2024-01-01", "logins", "5"], [" b ", "2024-01-08", "Seats_Used", "12.5"]],
    )
    assert _rows("usage", raw) == [
        {"customer_id": "a", "date": date(2024, 1, 1), "metric": "logins", "value": Decimal(5)},
        {
            "customer_id": "b",
            "date": date(2024, 1, 8),
            "metric": "seats_used",
            "value": Decimal("12.5"),
        },
    ]


def test_tickets_are_typed_and_open_tickets_have_no_close(tmp_path):
    raw = _raw(
        tmp_path,
        "tickets",
        [["a", "2024-01-01", "2024-01-01", "URGENT", "5"], ["b", "2024-02-01", "", "low", ""]],
    )
    assert _rows("tickets", raw) == [
        {
            "customer_id": "a",
            "opened_at": date(2024, 1, 1),
            "closed_at": date(2024, 1, 1),
            "priority": "urgent",
            "satisfaction": 5,
        },
        {
            "customer_id": "b",
            "opened_at": date(2024, 2, 1),
            "closed_at": None,
            "priority": "low",
            "satisfaction": None,
        },
    ]


def test_surveys_are_typed(tmp_path):
    raw = _raw(
        tmp_path, "surveys", [["a", "2024-03-01", "NPS", "0"], ["b", "2024-03-02", "csat", "5.0"]]
    )
    rows = _rows("surveys", raw)
    assert [(r["customer_id"], r["date"], r["kind"], r["score"]) for r in rows] == [
        ("a", date(2024, 3, 1), "nps", 0),
        ("b", date(2024, 3, 2), "csat", 5),
    ]


def test_touchpoints_are_typed_and_extra_columns_ignored(tmp_path):
    raw = _raw(
        tmp_path,
        "touchpoints",
        [["a", "2024-03-01", "QBR", "notes"], ["b", "2024-03-02", "call", ""]],
        header=[*COLUMNS["touchpoints"], "comment"],
    )
    assert _rows("touchpoints", raw) == [
        {"customer_id": "a", "date": date(2024, 3, 1), "kind": "qbr"},
        {"customer_id": "b", "date": date(2024, 3, 2), "kind": "call"},
    ]


def test_stakeholders_are_typed(tmp_path):
    raw = _raw(
        tmp_path,
        "stakeholders",
        [
            ["a", "Ann", "CFO", "TRUE", "no", ""],
            ["b", "", "", "1", "Yes", "2024-06-30"],
            ["c", "Cy", "Ops", "0", "false", ""],
        ],
    )
    rows = _rows("stakeholders", raw)
    # No active_from column: nobody's arrival is known (None).
    assert [tuple(r.values()) for r in rows] == [
        ("a", "Ann", "CFO", True, False, None, None),
        ("b", None, None, True, True, date(2024, 6, 30), None),
        ("c", "Cy", "Ops", False, False, None, None),
    ]


def test_stakeholders_may_say_when_each_person_arrived(tmp_path):
    header = [*COLUMNS["stakeholders"], "active_from"]
    good = [
        ["a", "Ann", "CFO", "true", "false", "", "2024-02-01"],
        ["b", "Bo", "COO", "no", "yes", "2024-06-30", ""],
    ]
    rows = _rows("stakeholders", _raw(tmp_path, "stakeholders", good, header))
    assert [(r["customer_id"], r["active_from"]) for r in rows] == [
        ("a", date(2024, 2, 1)),
        ("b", None),
    ]
    bad = [
        ["a", "Ann", "CFO", "true", "false", "", "Feb 2024"],
        ["b", "Bo", "COO", "no", "yes", "2024-01-31", "2024-03-01"],
    ]
    raw = _raw(tmp_path, "stakeholders", bad, header)
    with pytest.raises(InputError) as caught:
        validate_signal(ENGINE, raw, "stakeholders", intake=Intake())
    assert [str(p) for p in caught.value.problems] == [
        f"stakeholders.csv:2:active_from: active_from is 'Feb 2024', {_DATE}, or leave it "
        "empty if not known",
        "stakeholders.csv:3:active_until: active_until '2024-01-31' is before active_from; "
        "the person must arrive before they leave",
    ]


_DATE = "not a date; write it as YYYY-MM-DD (ISO), for example 2024-01-31"
RULES = [
    ("usage", ["", "2024-01-01", "logins", "5"], ["customer_id: customer_id is empty; give every row the id used in the subscriptions"]),  # noqa: E501
    ("usage", ["a", "", "logins", "5"], [f"date: date is empty, {_DATE}"]),
    ("usage", ["a", "2024-02-30", "logins", "5"], [f"date: date is '2024-02-30', {_DATE}"]),
    ("usage", ["a", "01/02/2024", "logins", "5"], [f"date: date is '01/02/2024', {_DATE}"]),
    ("usage", ["a", "2024-01-01", "", "5"], ["metric: metric is empty; name what was measured, e.g. active_users, logins, feature_events or seats_used"]),  # noqa: E501
    ("usage", ["a", "2024-01-01", "logins", "1,200"], ["value: value is '1,200', not a number; write plain digits with a dot for decimals and no thousands separator, e.g. 1250.5"]),  # noqa: E501
    ("usage", ["a", "2024-01-01", "logins", ""], ["value: value is empty, not a number; write plain digits with a dot for decimals and no thousands separator, e.g. 1250.5"]),  # noqa: E501
    ("usage", ["a", "2024-01-01", "logins", "-2"], ["value: value '-2' is negative; usage counts are 0 or more"]),  # noqa: E501
    ("tickets", ["a", "Jan 1", "", "low", ""], [f"opened_at: opened_at is 'Jan 1', {_DATE}"]),
    ("tickets", ["a", "2024-01-01", "soon", "low", ""], [f"closed_at: closed_at is 'soon', {_DATE}, or leave it empty while the ticket is open"]),  # noqa: E501
    ("tickets", ["a", "2024-01-05", "2024-01-04", "low", ""], ["closed_at: closed_at '2024-01-04' is before opened_at; a ticket closes on or after the day it opened"]),  # noqa: E501
    ("tickets", ["a", "2024-01-01", "", "p1", ""], ["priority: priority 'p1' is not known; use one of low, normal, high or urgent"]),  # noqa: E501
    ("tickets", ["a", "2024-01-01", "", "", ""], ["priority: priority empty is not known; use one of low, normal, high or urgent"]),  # noqa: E501
    ("tickets", ["a", "2024-01-01", "", "low", "6"], ["satisfaction: satisfaction is '6', not a whole number from 1 to 5; write 1 to 5, or leave it empty when the customer gave no rating"]),  # noqa: E501
    ("tickets", ["a", "2024-01-01", "", "low", "4.5"], ["satisfaction: satisfaction is '4.5', not a whole number from 1 to 5; write 1 to 5, or leave it empty when the customer gave no rating"]),  # noqa: E501
    ("surveys", ["a", "", "nps", "9"], [f"date: date is empty, {_DATE}"]),
    ("surveys", ["a", "2024-01-01", "ces", "3"], ["kind: kind 'ces' is not known; use one of nps or csat"]),  # noqa: E501
    ("surveys", ["a", "2024-01-01", "nps", "11"], ["score: score is '11', not an NPS score; nps scores are whole numbers from 0 to 10"]),  # noqa: E501
    ("surveys", ["a", "2024-01-01", "nps", "7.5"], ["score: score is '7.5', not an NPS score; nps scores are whole numbers from 0 to 10"]),  # noqa: E501
    ("surveys", ["a", "2024-01-01", "csat", "0"], ["score: score is '0', not a CSAT score; csat scores are whole numbers from 1 to 5"]),  # noqa: E501
    ("surveys", ["a", "2024-01-01", "csat", ""], ["score: score is empty, not a CSAT score; csat scores are whole numbers from 1 to 5"]),  # noqa: E501
    ("surveys", ["a", "2024-01-01", "", "x"], ["kind: kind empty is not known; use one of nps or csat", "score: score is 'x', not a number; write a whole number (0 to 10 for nps, 1 to 5 for csat)"]),  # noqa: E501
    ("touchpoints", ["a", "2024-01-01", "lunch"], ["kind: kind 'lunch' is not known; use one of meeting, qbr, email or call"]),  # noqa: E501
    ("touchpoints", ["a", "2024/01/01", "call"], [f"date: date is '2024/01/01', {_DATE}"]),
    ("stakeholders", ["a", "Ann", "CFO", "maybe", "no", ""], ["champion: champion is 'maybe', not true or false; write true or false (yes/no and 1/0 also work)"]),  # noqa: E501
    ("stakeholders", ["a", "Ann", "CFO", "no", "", ""], ["decision_maker: decision_maker is empty, not true or false; write true or false (yes/no and 1/0 also work)"]),  # noqa: E501
    ("stakeholders", ["a", "Ann", "CFO", "no", "no", "2024-06"], [f"active_until: active_until is '2024-06', {_DATE}, or leave it empty while the person is still there"]),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("kind", "bad", "expected"), RULES)
def test_each_rule_names_file_row_column(tmp_path, kind, bad, expected):
    errors = _errors(tmp_path, kind, [GOOD[kind], bad, GOOD[kind]])
    assert errors == [f"{kind}.csv:3:{e}" for e in expected]


def test_missing_columns_name_the_file_and_what_was_found(tmp_path):
    raw = _raw(
        tmp_path,
        "tickets",
        [["a", "2024-01-01", "low"]],
        header=["customer_id", "opened", "priority"],
    )
    with pytest.raises(InputError) as caught:
        validate_signal(ENGINE, raw, "tickets", intake=Intake())
    message = str(caught.value)
    assert message.startswith(
        "tickets.csv: missing required column(s) opened_at, closed_at, satisfaction for the "
        "tickets input (found: customer_id, opened, priority); expected columns: "
        "customer_id, opened_at, closed_at, priority, satisfaction"
    )


def test_fail_lists_every_problem_in_row_order(tmp_path):
    errors = _errors(
        tmp_path,
        "usage",
        [["", "x", "logins", "-1"], GOOD["usage"], ["b", "2024-01-01", "logins", "y"]],
    )
    assert [e.split(": ")[0] for e in errors] == [
        "usage.csv:2:customer_id",
        "usage.csv:2:date",
        "usage.csv:2:value",
        "usage.csv:4:value",
    ]


def test_quarantine_sets_rows_aside_and_accounts_for_every_row(tmp_path):
    raw = _raw(
        tmp_path,
        "surveys",
        [
            ["a", "2024-01-01", "nps", "10"],
            ["b", "2024-01-01", "nps", "12"],
            ["c", "2024-01-01", "csat", "3"],
            ["", "bad", "ces", "x"],
        ],
    )
    intake = Intake(on_invalid="quarantine")
    rows = _rows("surveys", raw, intake)
    assert [(r["customer_id"], r["score"]) for r in rows] == [("a", 10), ("c", 3)]
    account = intake.accounts["surveys.csv"]
    assert (account.rows_read, account.rows_used, account.rows_rejected) == (4, 2, 2)
    assert account.line().startswith("surveys.csv: 4 rows read = 2 used + 2 rejected")
    assert [(r.row, r.columns) for r in intake.rejections] == [
        (3, ("score",)),
        (5, ("customer_id", "date", "kind", "score")),
    ]
    assert intake.rejections[0].record["score"] == "12"


def test_parquet_input_with_native_types(tmp_path):
    path = tmp_path / "stakeholders.parquet"
    table = pa.table(
        {
            "customer_id": ["a", "b"],
            "name": ["Ann", None],
            "role": ["CFO", "CTO"],
            "champion": [True, False],
            "decision_maker": [False, None],
            "active_until": pa.array([None, date(2024, 6, 30)], pa.date32()),
        }
    )
    pq.write_table(table, path)
    raw = open_file(ENGINE, path, role="stakeholders")
    with pytest.raises(InputError) as caught:
        _rows("stakeholders", raw)
    # Parquet rows count from 1 (no header row).
    assert [str(p).split(": ")[0] for p in caught.value.problems] == [
        "stakeholders.parquet:2:decision_maker"
    ]
    pq.write_table(table.set_column(4, "decision_maker", pa.array([False, True])), path)
    raw = open_file(ENGINE, path, role="stakeholders")
    assert [tuple(r.values()) for r in _rows("stakeholders", raw)] == [
        ("a", "Ann", "CFO", True, False, None, None),
        ("b", None, "CTO", False, True, date(2024, 6, 30), None),
    ]


def test_parquet_usage_numbers_and_timestamps(tmp_path):
    path = tmp_path / "usage.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["a"],
                "date": pa.array([datetime(2024, 1, 1, 9, 30)], pa.timestamp("us")),
                "metric": ["logins"],
                "value": [3.25],
            }
        ),
        path,
    )
    raw = open_file(ENGINE, path, role="usage")
    assert _rows("usage", raw) == [
        {"customer_id": "a", "date": date(2024, 1, 1), "metric": "logins", "value": Decimal("3.25")}
    ]


def test_database_table_input():
    ENGINE.execute(
        "CREATE OR REPLACE TEMP TABLE touch AS "
        "SELECT 'a' AS customer_id, DATE '2024-05-06' AS date, 'Email' AS kind"
    )
    raw = open_table(ENGINE, "touch", label="touchpoints table")
    assert _rows("touchpoints", raw) == [
        {"customer_id": "a", "date": date(2024, 5, 6), "kind": "email"}
    ]


def test_read_signals_keeps_what_is_given(tmp_path):
    engine = DuckDBEngine.open()
    usage = write_csv(tmp_path / "usage.csv", list(COLUMNS["usage"]), [GOOD["usage"]])
    surveys = write_csv(tmp_path / "surveys.csv", list(COLUMNS["surveys"]), [GOOD["surveys"]])
    sources = {
        "usage": open_file(engine, usage, role="usage"),
        "surveys": open_file(engine, surveys, role="surveys"),
        "tickets": None,
    }
    signals = read_signals(engine, sources, intake=Intake())
    assert signals.present() == ("usage", "surveys")
    assert signals.tickets is None and signals.stakeholders is None
    assert signals.surveys is not None and count(engine, signals.surveys) == 1
    assert Signals().present() == ()
    assert set(HEALTH_INPUTS) == set(COLUMNS)


def test_read_signals_reports_every_file_at_once(tmp_path):
    engine = DuckDBEngine.open()
    usage = write_csv(tmp_path / "usage.csv", list(COLUMNS["usage"]), [["a", "x", "logins", "1"]])
    touch = write_csv(tmp_path / "t.csv", list(COLUMNS["touchpoints"]), [["a", "2024-01-01", "?"]])
    sources = {
        "usage": open_file(engine, usage, role="usage"),
        "touchpoints": open_file(engine, touch, role="touchpoints"),
    }
    with pytest.raises(InputError) as caught:
        read_signals(engine, sources, intake=Intake())
    assert [str(p).split(": ")[0] for p in caught.value.problems] == [
        "usage.csv:2:date",
        "t.csv:2:kind",
    ]


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(InputError, match="'nps' is not a health input; use one of usage"):
        read_signals(DuckDBEngine.open(), {"nps": None}, intake=Intake())


def test_the_documented_examples_are_valid(tmp_path):
    text = (Path(__file__).parents[1] / "docs" / "health-inputs.md").read_text()
    sources = {}
    for kind in HEALTH_INPUTS:
        body = text.split(f"## {kind}\n", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]
        (tmp_path / f"{kind}.csv").write_text(body)
        sources[kind] = open_file(ENGINE, tmp_path / f"{kind}.csv", role=kind)
    signals = read_signals(ENGINE, sources, intake=Intake())
    assert signals.present() == HEALTH_INPUTS
    assert all(count(ENGINE, getattr(signals, k)) >= 2 for k in HEALTH_INPUTS)
