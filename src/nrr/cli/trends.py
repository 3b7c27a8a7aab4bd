"""`nrr trends` (rolling retention series) and `nrr cohorts` (signup-cohort matrices)."""

from __future__ import annotations

from enum import StrEnum

import typer

from nrr.cli.common import (
    ArrOpt,
    ByOpt,
    Format,
    FormatOpt,
    FxMode,
    Loader,
    app,
    book_command,
    check_months,
    default_end,
    show,
)

__all__ = ["cohorts", "trends"]


class Grain(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


@app.command()
@book_command
def trends(
    load: Loader,
    start: str | None = typer.Option(
        None, "--start", help="First end month, YYYY-MM (default: 11 months before --end)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last end month, YYYY-MM (default: the last month in the data)."
    ),
    windows: str = typer.Option(
        "1,3,12", "--windows", help="Window lengths in months, separated by commas."
    ),
    by: str | None = ByOpt,
    fx_mode: FxMode = typer.Option(
        FxMode.spot,
        "--fx-mode",
        help="spot (each month at its own rates) or constant (each window at its start's rates).",
    ),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Rolling NRR, GRR and logo retention: one window per month and length."""
    from nrr.analysis.trends import parse_windows
    from nrr.analysis.trends import trends as compute
    from nrr.present.trends import trend_csv, trend_json, trend_tables

    check_months(("--start", start), ("--end", end))
    lengths = parse_windows(windows)
    book = load()
    result = compute(
        book,
        end=default_end(book, end),
        start=start,
        windows=lengths,
        by=by,
        fx_mode=fx_mode.value,
    )
    show(
        book,
        output,
        result,
        table=trend_tables,
        json_text=trend_json,
        csv_text=trend_csv,
        arr=arr,
    )


@app.command()
@book_command
def cohorts(
    load: Loader,
    end: str | None = typer.Option(
        None, "--end", help="Last month measured, YYYY-MM (default: the last month in the data)."
    ),
    grain: Grain = typer.Option(
        Grain.month, "--grain", help="Cohorts and ages by month, quarter or year."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Show cohorts from the period holding this month, YYYY-MM."
    ),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Signup cohorts: revenue and logo retention by months (quarters, years) since start."""
    from nrr.analysis.cohorts import cohorts as compute
    from nrr.present.cohorts import cohort_csv, cohort_json, cohort_tables

    check_months(("--end", end), ("--since", since))
    book = load()
    result = compute(book, end=default_end(book, end), grain=grain.value, since=since)
    show(
        book,
        output,
        result,
        table=cohort_tables,
        json_text=cohort_json,
        csv_text=cohort_csv,
        arr=arr,
    )
