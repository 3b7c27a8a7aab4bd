"""`nrr sql` (issue 22, point 5): the printed statement, run on DuckDB over the same tables,
gives rows equal to `nrr metrics --format json` and `nrr movements --format json`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from nrr.cli import app
from nrr.datasets import generate_demo, write_demo

ADVERSARIAL = Path(__file__).parent / "data" / "adversarial"
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo(generate_demo(seed=5, customers=150), folder)
    return folder


def _inputs(folder: Path) -> list[str]:
    return [
        "--subscriptions",
        str(folder / "subscriptions.csv"),
        "--customers",
        str(folder / "customers.csv"),
        "--fx-rates",
        str(folder / "fx_rates.csv"),
    ]


def _run(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _rows(folder: Path, statement: str) -> list[dict[str, Any]]:
    """The statement's rows over the folder's CSV files, read as text tables as a warehouse
    loader would leave them."""
    con = duckdb.connect()
    for table in ("subscriptions", "customers", "fx_rates"):
        path = (folder / f"{table}.csv").as_posix()
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', all_varchar = true)")
    result = con.execute(statement)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


METRICS = [
    ["--end", "2024-06"],
    ["--end", "2024-06", "--by", "segment"],
    ["--end", "2024-03", "--window", "3", "--by", "cohort", "--fx-mode", "constant"],
    ["--end", "2024-06", "--by", "tenure"],
    ["--end", "2024-06", "--by", "segment,market"],
    ["--end", "2024-06", "--window", "6", "--reactivation-window", "2"],
]
MOVEMENTS = [
    ["--start", "2023-01", "--end", "2024-06"],
    ["--start", "2023-10", "--end", "2024-06", "--by", "segment"],
    ["--start", "2023-01", "--end", "2024-06", "--by", "cohort", "--reactivation-window", "1"],
]


def _metrics_rows(printed: str) -> list[dict[str, Any]]:
    record = json.loads(printed)
    context = {k: record[k] for k in ("start", "end", "window_months", "currency", "fx_mode")}
    rows = [{**context, "segment": None, **record["overall"]}]
    rows += [{**context, **segment} for segment in record["segments"]]
    return rows


@pytest.mark.parametrize("options", METRICS, ids=lambda o: " ".join(o))
def test_metrics_statement_gives_the_json_rows_on_the_adversarial_book(
    options: list[str],
) -> None:
    statement = _run(["sql", "metrics", *options, "--dialect", "duckdb"])
    expected = _metrics_rows(_run(["metrics", *_inputs(ADVERSARIAL), *options, "--format", "json"]))
    found = [{k: _plain(v) for k, v in row.items()} for row in _rows(ADVERSARIAL, statement)]
    assert found == expected


@pytest.mark.parametrize("options", MOVEMENTS, ids=lambda o: " ".join(o))
def test_movements_statement_gives_the_json_rows_on_the_adversarial_book(
    options: list[str],
) -> None:
    statement = _run(["sql", "movements", *options, "--dialect", "duckdb"])
    printed = _run(["movements", *_inputs(ADVERSARIAL), *options, "--format", "json"])
    found = [{k: _plain(v) for k, v in row.items()} for row in _rows(ADVERSARIAL, statement)]
    assert found == json.loads(printed)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("metrics", ["--end", "2025-06", "--by", "segment"]),
        ("metrics", ["--end", "2025-06", "--by", "market,tenure", "--fx-mode", "constant"]),
        ("movements", ["--start", "2024-07", "--end", "2025-06", "--by", "market"]),
    ],
)
def test_statements_give_the_json_rows_on_a_demo_business(
    demo: Path, command: str, options: list[str]
) -> None:
    statement = _run(["sql", command, *options])
    printed = _run([command, *_inputs(demo), *options, "--format", "json"])
    expected = _metrics_rows(printed) if command == "metrics" else json.loads(printed)
    found = [{k: _plain(v) for k, v in row.items()} for row in _rows(demo, statement)]
    assert found == expected


def test_user_text_never_becomes_sql() -> None:
    # A column named by --by is a quoted identifier, never SQL text.
    printed = _run(["sql", "metrics", "--end", "2024-06", "--by", 'x") ; DROP TABLE t; --'])
    assert '"x"") ; DROP TABLE t; --"' in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sql", "metrics"], "needs the month: give --end"),
        (["sql", "metrics", "--end", "2024-06", "--dialect", "oracle9"], "not a dialect"),
        (["sql", "metrics", "--end", "2024-13"], "--end"),
        (["sql", "metrics", "--end", "2024-06", "--currency", "dollars"], "ISO 4217"),
        (["sql", "movements", "--start", "2024-07", "--end", "2024-06"], "before --start"),
        (["sql", "metrics", "--end", "2024-06", "--by", "product"], "product"),
    ],
)
def test_mistakes_are_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
