"""The intake's checks on its checked tables (`sql/checks/`) run in the embedded DuckDB only,
but are written like every other statement: each renders for every dialect nrr names, parses
back as one query, and leaves no ordering to the engine. tests/test_doubles.py,
tests/test_lookalike_ids.py and tests/test_money_range.py run them for real."""

from __future__ import annotations

from importlib import resources

import pytest
import sqlglot
import sqlglot.expressions as sge

from nrr.sql.render import DIALECTS, bind, render, statement, values

CHECKS = sorted(
    f"checks/{entry.name}"
    for entry in resources.files("nrr.sql").joinpath("checks").iterdir()
    if entry.name.endswith(".sql")
)
PARAMS = {"examples": 3, "currency": "EUR", "month": 24299}
TABLES = {
    "suspects": values([("customer_id", "VARCHAR")], [("acme",), ("Acme",)]),
    "keys": values([("lookalike_key", "VARCHAR")], [("cafe",)]),
}


def _bound(name: str) -> sge.Query:
    query = statement(name)
    wanted = {p.name for p in query.find_all(sge.Placeholder)}
    return bind(query, tables=TABLES, params={k: v for k, v in PARAMS.items() if k in wanted})


def test_every_check_is_here() -> None:
    assert {name.removeprefix("checks/") for name in CHECKS} >= {
        "doubles.sql",
        "doubles_probe.sql",
        "lookalike_ids.sql",
        "lookalike_rows.sql",
        "currency_totals.sql",
        "currency_changes.sql",
        "largest_line.sql",
    }


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", CHECKS)
def test_a_check_renders_and_parses_back(name: str, dialect: str) -> None:
    text = render(_bound(name), dialect, pretty=True)
    parsed = sqlglot.parse(text, read=dialect)
    assert len(parsed) == 1 and isinstance(parsed[0], sge.Query)


@pytest.mark.parametrize("name", CHECKS)
def test_no_ordering_is_left_to_the_engine_and_no_division_is_untyped(name: str) -> None:
    query = _bound(name)
    assert not list(query.find_all(sge.Div, sge.IntDiv))
    for ordered in query.find_all(sge.Ordered):
        assert ordered.args.get("nulls_first") is not None, ordered.sql()
