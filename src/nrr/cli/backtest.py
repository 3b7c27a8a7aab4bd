"""`nrr health backtest`: the score as of a past day against what happened next."""

from __future__ import annotations

import typer

from nrr.cli.common import Format, FormatOpt, Loader, book_command, show
from nrr.cli.health import health_app

__all__ = ["backtest"]


@health_app.command("backtest")
@book_command
def backtest(
    load: Loader,
    as_of: str = typer.Option(
        ...,
        "--as-of",
        help="Score as of this past day, YYYY-MM-DD or YYYY-MM (its first day), using only "
        "data before it.",
    ),
    horizon: int = typer.Option(
        3,
        "--horizon",
        help="Months from the reference month (the one before --as-of) to the outcome.",
    ),
    fit: bool = typer.Option(
        False,
        "--fit",
        help="Also fit churn on the indicators over the 6 earlier snapshots whose outcomes "
        "were known by --as-of, test on --as-of, and suggest weights.",
    ),
    output: Format = FormatOpt,
) -> None:
    """How well the health score as of a past day predicted churn and contraction over the
    next months: AUC, the at-risk tier's precision, recall and lift, retention by tier and
    calibration; with --fit, suggested weights."""
    from nrr.health.backtest import backtest as run_backtest
    from nrr.health.backtest import check_horizon, check_horizon_length
    from nrr.health.fit import backtest_and_fit
    from nrr.health.results import parse_day
    from nrr.present.backtest import backtest_csv, backtest_json, backtest_tables

    day = parse_day(as_of)
    check_horizon_length(horizon)
    book = load(signals=True)
    check_horizon(book, day, horizon)
    fitted = None
    if fit:
        result, fitted = backtest_and_fit(book, day, horizon)
    else:
        result = run_backtest(book, day, horizon)
    show(
        book,
        output,
        result,
        table=lambda r, unit: backtest_tables(r, fitted, unit=unit),
        json_text=lambda r: backtest_json(r, fitted),
        csv_text=backtest_csv,
    )
