"""The core commands: `metrics` (one window), `movements` (the monthly bridge) and `demo`."""

from __future__ import annotations

from pathlib import Path

import typer

from nrr.cli.common import (
    ArrOpt,
    ByMovesOpt,
    ByOpt,
    Format,
    FormatOpt,
    FxMode,
    InputOptions,
    Loader,
    VerboseOpt,
    app,
    book_command,
    check_months,
    default_end,
    load_book,
    reporting,
    show,
    stderr,
    stdout,
)
from nrr.months import month_label, parse_month

__all__ = ["demo", "metrics", "movements"]

EndOpt = typer.Option(
    None, "--end", help="Window end month, YYYY-MM (default: the last month in the data)."
)
WindowOpt = typer.Option(12, "--window", "-w", help="Window length in months (1, 3, 12...).")
FxModeOpt = typer.Option(
    FxMode.spot,
    "--fx-mode",
    help="spot (rate effect shown as fx) or constant (all at the start month's rates).",
)


@app.command()
@book_command
def metrics(
    load: Loader,
    end: str | None = EndOpt,
    window: int = WindowOpt,
    by: str | None = ByOpt,
    fx_mode: FxMode = FxModeOpt,
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """NRR, GRR, logo retention and the netted bridge over one window."""
    from nrr.present.machine import window_csv, window_json
    from nrr.present.tables import window_tables

    check_months(("--end", end))
    book = load()
    result = book.window(default_end(book, end), window=window, by=by, fx_mode=fx_mode.value)
    show(
        book,
        output,
        result,
        table=lambda r, unit: window_tables(r, unit, book.benchmarks),
        json_text=window_json,
        csv_text=window_csv,
        arr=arr,
    )


@app.command()
@book_command
def movements(
    load: Loader,
    start: str | None = typer.Option(
        None, "--start", help="First month, YYYY-MM (default: 11 months before --end)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last month, YYYY-MM (default: the last month in the data)."
    ),
    by: str | None = ByMovesOpt,
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """The monthly MRR bridge: new, reactivation, expansion, contraction, churn and fx."""
    from nrr.present.machine import bridge_csv, bridge_json
    from nrr.present.tables import bridge_table

    check_months(("--start", start), ("--end", end))
    book = load()
    end = default_end(book, end)
    start = start or month_label(parse_month(end, what="--end") - 11)
    rows = book.bridge(start, end, by=by)
    show(
        book,
        output,
        rows,
        table=lambda r, unit: bridge_table(r, unit=unit),
        json_text=bridge_json,
        csv_text=bridge_csv,
        arr=arr,
    )


@app.command()
def demo(
    out: Path = typer.Option(Path("nrr-demo"), "--out", help="Folder for the sample data."),
    seed: int = typer.Option(7, "--seed", help="Random seed; the same seed gives the same data."),
    customers: int = typer.Option(2000, "--customers", help="Number of customers to simulate."),
    verbose: bool = VerboseOpt,
) -> None:
    """Generate a sample SaaS business, write it as CSV, Parquet and DuckDB, and report on it."""
    from nrr.datasets import generate_demo, write_demo
    from nrr.present.headline import headline

    with reporting(verbose):
        with stderr().status("Simulating four years of a SaaS business...", spinner="dots"):
            data = generate_demo(seed=seed, customers=customers)
            paths = write_demo(data, out)
        book = load_book(
            InputOptions(
                subscriptions=str(paths["subscriptions.csv"]),
                customers=str(paths["customers.csv"]),
                fx_rates=str(paths["fx_rates.csv"]),
                use_config=False,  # the demo's data is its own, whatever nrr.toml is here
            )
        )
        stdout().print(headline(book, end=data.last_month, folder=out, paths=paths))
