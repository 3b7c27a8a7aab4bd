"""`nrr sql`: the statement nrr runs for `metrics` or `movements`, for a data team's engine."""

from __future__ import annotations

from enum import StrEnum

import typer

from nrr.cli.common import (
    FxMode,
    ReactivationOpt,
    VerboseOpt,
    app,
    reporting,
)
from nrr.sql.render import DIALECTS

__all__ = ["sql"]


class SqlCommand(StrEnum):
    metrics = "metrics"
    movements = "movements"


@app.command()
def sql(
    command: SqlCommand = typer.Argument(..., help="metrics or movements."),
    dialect: str = typer.Option(
        "duckdb", "--dialect", help=f"The engine's SQL dialect: {', '.join(DIALECTS)}."
    ),
    end: str | None = typer.Option(None, "--end", help="Window end or last month, YYYY-MM."),
    start: str | None = typer.Option(
        None, "--start", help="movements: first month, YYYY-MM (default: 11 months before --end)."
    ),
    window: int = typer.Option(12, "--window", "-w", help="metrics: window length in months."),
    by: str | None = typer.Option(
        None, "--by", help="Slice by customers columns (comma-separated), cohort or tenure."
    ),
    fx_mode: FxMode = typer.Option(FxMode.spot, "--fx-mode", help="metrics: spot or constant."),
    currency: str = typer.Option("USD", "--currency", help="Base currency (ISO code)."),
    reactivation_window: int | None = ReactivationOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Print the SQL statement of `metrics` or `movements` over tables named subscriptions,
    customers and fx_rates, for a view or a dbt model; its rows equal the command's JSON."""
    from nrr.cli.common import stdout
    from nrr.errors import InputError, Problem
    from nrr.limits import check_months_count
    from nrr.metrics.portable import metrics_statement, movements_statement
    from nrr.months import parse_month
    from nrr.sql.render import render

    with reporting(verbose):
        if dialect.lower() not in DIALECTS:
            raise InputError(
                Problem(
                    source="--dialect",
                    message=f"{dialect!r} is not a dialect nrr renders; use one of "
                    f"{', '.join(DIALECTS)}",
                )
            )
        if end is None:
            raise InputError(
                Problem(
                    source="--end",
                    message="nrr sql reads no data, so it needs the month: give --end YYYY-MM",
                )
            )
        base = currency.strip().upper()
        if len(base) != 3 or not (base.isascii() and base.isalpha()):
            raise InputError(
                Problem(source="--currency", message=f"{currency!r} is not an ISO 4217 code")
            )
        if by is not None and "product" in [n.strip() for n in by.split(",")]:
            raise InputError(
                Problem(
                    source="--by",
                    message="nrr sql prints customer-level slices; --by product (line-level) "
                    "is not one of them yet",
                )
            )
        end_m = parse_month(end, what="--end")
        if command is SqlCommand.metrics:
            check_months_count(window)
            query = metrics_statement(
                base=base,
                end=end_m,
                window=window,
                by=by,
                fx_mode=fx_mode.value,
                reactivation_window=reactivation_window,
            )
        else:
            start_m = end_m - 11 if start is None else parse_month(start, what="--start")
            if start_m > end_m:
                raise InputError(
                    Problem(source="--end", message=f"{end} is before --start {start}")
                )
            query = movements_statement(
                base=base,
                start=start_m,
                end=end_m,
                by=by,
                reactivation_window=reactivation_window,
            )
        stdout().print(
            render(query, dialect.lower(), pretty=True) + ";",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
