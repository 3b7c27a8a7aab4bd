"""The statements of `nrr sql` rendered for every dialect nrr names (issue 22, point 1),
checked offline: against golden files (rewrite them with NRR_UPDATE_GOLDEN=1 and review the
diff), parsed back by sqlglot as one statement, and free of the constructs whose meaning
differs between engines. DuckDB, PostgreSQL and Spark also run them for real
(tests/test_sql_command.py, tests/test_engines.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot
import sqlglot.expressions as sge

from nrr.metrics.portable import metrics_statement, movements_statement
from nrr.months import parse_month
from nrr.sql.render import DIALECTS, render

GOLDEN = Path(__file__).parent / "golden" / "sql"
END = parse_month("2025-12", what="--end")
STATEMENTS = {
    "metrics": lambda: metrics_statement(
        base="USD",
        end=END,
        window=12,
        by="segment,tenure",
        fx_mode="spot",
        reactivation_window=3,
    ),
    "movements": lambda: movements_statement(
        base="EUR", start=END - 11, end=END, by="cohort", reactivation_window=None
    ),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_rendering_matches_the_golden_file_and_parses_back(name: str, dialect: str) -> None:
    text = render(STATEMENTS[name](), dialect, pretty=True) + "\n"
    golden = GOLDEN / f"{name}_{dialect}.sql"
    if os.environ.get("NRR_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    parsed = sqlglot.parse(text, read=dialect)
    assert len(parsed) == 1 and isinstance(parsed[0], sge.Query)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_division_is_typed_and_no_ordering_is_left_to_the_engine(name: str) -> None:
    query = STATEMENTS[name]()
    for division in query.find_all(sge.Div):
        divisor = division.expression
        if isinstance(divisor, sge.Literal):  # an exact multiple of 12 over 12, in doubles
            divisor = division.this
        assert isinstance(divisor, sge.Cast) and divisor.to.is_type("double"), division.sql()
    for ordered in query.find_all(sge.Ordered):
        assert ordered.args.get("nulls_first") is not None, ordered.sql()


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_bigquery_money_is_bignumeric_with_its_scale(name: str) -> None:
    text = render(STATEMENTS[name](), "bigquery")
    assert " NUMERIC" not in text.replace("BIGNUMERIC", "")
    assert "ROUND(CAST(" in text  # a cast to DECIMAL(p, s) keeps its scale


def test_one_rule_for_a_return_read_by_the_movements_and_the_bridge() -> None:
    # The per-customer movements borrow the bridge's steps for what a return is, so the rule
    # is written once: the step in the movements statement is the bridge's, word for word.
    from nrr.fx import RateBook
    from nrr.metrics.movements import customer_movements
    from nrr.sql.render import bind, borrow, statement

    bridge = {cte.alias: cte for cte in statement("metrics/bridge.sql").ctes}
    for window, step in ((None, "starts_any_gap"), (3, "starts_within_gap")):
        query = customer_movements(
            {"lines": "lines"},
            rates=RateBook(base="USD"),
            currencies=["USD"],
            first=24_300,
            last=24_311,
            reactivation_window=window,
        )
        found = {cte.alias: cte for cte in query.ctes}
        written = bind(bridge[step].this, params={"gap": window}).sql()
        assert found[step].this.sql() == written
    with pytest.raises(KeyError, match="no step"):
        borrow(statement("ledger/window.sql"), statement("metrics/bridge.sql"), ["nothing"])
