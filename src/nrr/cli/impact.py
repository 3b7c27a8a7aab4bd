"""`nrr impact` (where the distance to a target NRR lies) and `nrr whatif` (what NRR is worth)."""

from __future__ import annotations

import typer

from nrr.cli.common import (
    ArrOpt,
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

__all__ = ["impact", "whatif"]

EndOpt = typer.Option(
    None, "--end", help="Window end month, YYYY-MM (default: the last month in the data)."
)


@app.command()
@book_command
def impact(
    load: Loader,
    by: str = typer.Option(
        ...,
        "--by",
        help="Attribute to rank (a customers column, cohort or tenure), or two joined by a "
        "comma: segment,market.",
    ),
    end: str | None = EndOpt,
    window: int = typer.Option(12, "--window", "-w", help="Window length in months."),
    target: str = typer.Option(
        "100%", "--target", help="Target NRR: a percent (105%) or a fraction (1.05)."
    ),
    fx_mode: FxMode = typer.Option(
        FxMode.spot,
        "--fx-mode",
        help="spot (rate effect shown as fx) or constant (all at the start month's rates).",
    ),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Each slice's NRR, GRR, share of the base and MRR at stake against a target NRR, ranked."""
    from nrr.analysis.impact import impact as compute
    from nrr.analysis.impact import parse_target
    from nrr.present.impact import impact_csv, impact_json, impact_table

    check_months(("--end", end))
    parse_target(target)  # a bad flag fails before any data is read
    book = load()
    result = compute(
        book,
        by=by,
        end=default_end(book, end),
        window=window,
        target=target,
        fx_mode=fx_mode.value,
    )
    show(
        book,
        output,
        result,
        table=lambda r, unit: impact_table(r, unit=unit, benchmarks=book.benchmarks),
        json_text=lambda r: impact_json(r, book.benchmarks),
        csv_text=impact_csv,
        arr=arr,
    )


@app.command()
@book_command
def whatif(
    load: Loader,
    end: str | None = typer.Option(
        None, "--end", help="Today's month, YYYY-MM (default: the last month in the data)."
    ),
    years: int = typer.Option(5, "--years", help="Years to compound today's NRR over."),
    horizon: int = typer.Option(12, "--horizon", help="Months to forecast."),
    interval: float = typer.Option(
        0.8, "--interval", help="Coverage of the forecast interval (0.8 = 10th to 90th pct)."
    ),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed; the same seed, the same bounds."),
    output: Format = FormatOpt,
) -> None:
    """ARR of today's base compounded at NRR, what a point of GRR or expansion is worth, and
    a forecast with an interval. Amounts are ARR."""
    from nrr.analysis.whatif import check_options
    from nrr.analysis.whatif import whatif as compute
    from nrr.present.whatif import whatif_csv, whatif_json, whatif_table

    check_months(("--end", end))
    check_options(years, horizon, interval, seed)
    book = load()
    result = compute(
        book,
        end=default_end(book, end),
        years=years,
        horizon=horizon,
        interval=interval,
        seed=seed,
    )
    show(
        book,
        output,
        result,
        table=lambda r, unit: whatif_table(r, benchmarks=book.benchmarks),
        json_text=lambda r: whatif_json(r, book.benchmarks),
        csv_text=whatif_csv,
        in_arr_already=True,  # what-if amounts are ARR by nature; say so, scale nothing
    )
