"""`nrr methods` (NRR five ways, reconciled) and `nrr rates` (churn rates, quick ratio)."""

from __future__ import annotations

import typer

from nrr.cli.common import (
    ArrOpt,
    Format,
    FormatOpt,
    Loader,
    app,
    book_command,
    check_months,
    default_end,
    show,
)

__all__ = ["methods", "rates"]

EndOpt = typer.Option(
    None, "--end", help="Window end month, YYYY-MM (default: the last month in the data)."
)


@app.command()
@book_command
def methods(
    load: Loader,
    end: str | None = EndOpt,
    window: int = typer.Option(12, "--window", "-w", help="Window length in months."),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """NRR by five methods for one window, and what explains the gaps between them."""
    from nrr.analysis.methods import compare_methods
    from nrr.present.methods import methods_csv, methods_json, methods_tables

    check_months(("--end", end))
    book = load()
    result = compare_methods(book, end=default_end(book, end), window=window)
    show(
        book,
        output,
        result,
        table=lambda r, unit: methods_tables(r, unit, book.benchmarks),
        json_text=methods_json,
        csv_text=methods_csv,
        arr=arr,
    )


@app.command()
@book_command
def rates(
    load: Loader,
    end: str | None = EndOpt,
    window: int = typer.Option(12, "--window", "-w", help="Months shown, ending --end."),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Customer churn rate, gross and net MRR churn rates and the quick ratio, per month."""
    from nrr.analysis.rates import churn_rates
    from nrr.present.methods import rates_csv, rates_json, rates_tables

    check_months(("--end", end))
    book = load()
    result = churn_rates(book, end=default_end(book, end), window=window)
    show(
        book,
        output,
        result,
        table=lambda r, unit: rates_tables(r, unit, book.benchmarks),
        json_text=lambda r: rates_json(r, book.benchmarks),
        csv_text=rates_csv,
        arr=arr,
    )
