"""The `nrr` command line: a thin layer that calls the library and prints.

Data goes to stdout (a table for people by default, `--format json|csv` for machines);
progress and errors go to stderr. A user's mistake exits with status 2 and lines of the form
`error: FILE:ROW:COLUMN: what is wrong and how to fix it`; a traceback only with --verbose.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from nrr.book import Book, load
from nrr.errors import InputError, NRRError
from nrr.months import month_label, parse_month

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Net Revenue Retention, the MRR bridge and retention slices from subscription lines. "
    "Definitions: docs/metrics.md.",
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class FxMode(StrEnum):
    spot = "spot"
    constant = "constant"


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _stdout() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped tables keep every column on one line instead of wrapping at 80 characters.
        console = Console(highlight=False, width=180)
    return console


@contextmanager
def _reporting(verbose: bool) -> Iterator[None]:
    try:
        yield
    except NRRError as exc:
        if verbose:
            traceback.print_exc()
        for line in str(exc).splitlines():
            sys.stderr.write(f"error: {line}\n")
        raise typer.Exit(2 if isinstance(exc, InputError) else 1) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if verbose:
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (run again with --verbose for the traceback, and please report it)\n"
        )
        raise typer.Exit(1) from None


SubscriptionsOpt = typer.Option(
    None, "--subscriptions", "-s", help="Subscription lines: CSV or Parquet."
)
CustomersOpt = typer.Option(None, "--customers", "-c", help="Customer attributes: CSV or Parquet.")
FxRatesOpt = typer.Option(None, "--fx-rates", help="Monthly rates: month,currency,rate.")
CurrencyOpt = typer.Option("USD", "--currency", help="Base currency (ISO 4217).")
DbOpt = typer.Option(
    None,
    "--db",
    help="Work in this DuckDB file; inputs not given are read from its "
    "tables subscriptions, customers, fx_rates.",
)
FormatOpt = typer.Option(Format.table, "--format", "-f", help="table (for people), json or csv.")
ByOpt = typer.Option(
    None, "--by", help="Slice by a customer attribute (a customers column), cohort or tenure."
)
ByMovesOpt = typer.Option(
    None, "--by", help="Slice by a customer attribute (a customers column) or cohort."
)
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors.")


def _load(
    subscriptions: Path | None,
    customers: Path | None,
    fx_rates: Path | None,
    currency: str,
    db: Path | None,
) -> Book:
    if subscriptions is None and db is None:
        raise InputError("no input: give --subscriptions FILE (CSV or Parquet), or --db FILE")
    console = _stderr()
    with console.status("Reading and checking the inputs...", spinner="dots"):
        return load(subscriptions, customers=customers, fx_rates=fx_rates, currency=currency, db=db)


def _default_end(book: Book, end: str | None) -> str:
    if end is not None:
        return end
    latest = book.latest_month()
    if latest is None:
        raise InputError("the subscriptions hold no revenue; there is no month to report on")
    label = month_label(latest)
    sys.stderr.write(f"note: using --end {label}, the last month in the data\n")
    return label


@app.command()
def metrics(
    subscriptions: Path | None = SubscriptionsOpt,
    customers: Path | None = CustomersOpt,
    fx_rates: Path | None = FxRatesOpt,
    currency: str = CurrencyOpt,
    end: str | None = typer.Option(
        None, "--end", help="Window end month, YYYY-MM (default: the last month in the data)."
    ),
    window: int = typer.Option(12, "--window", "-w", help="Window length in months (1, 3, 12...)."),
    by: str | None = ByOpt,
    fx_mode: FxMode = typer.Option(
        FxMode.spot,
        "--fx-mode",
        help="spot (rate effect shown as fx) or constant (all at the start month's rates).",
    ),
    output: Format = FormatOpt,
    db: Path | None = DbOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """NRR, GRR, logo retention and the netted bridge over one window."""
    from nrr.present.machine import window_csv, window_json

    with _reporting(verbose):
        if end is not None:
            parse_month(end, what="--end")
        book = _load(subscriptions, customers, fx_rates, currency, db)
        result = book.window(_default_end(book, end), window=window, by=by, fx_mode=fx_mode.value)
        if output is Format.json:
            sys.stdout.write(window_json(result) + "\n")
        elif output is Format.csv:
            sys.stdout.write(window_csv(result))
        else:
            from nrr.present.tables import window_tables

            _stdout().print(window_tables(result))


@app.command()
def movements(
    subscriptions: Path | None = SubscriptionsOpt,
    customers: Path | None = CustomersOpt,
    fx_rates: Path | None = FxRatesOpt,
    currency: str = CurrencyOpt,
    start: str | None = typer.Option(
        None, "--start", help="First month, YYYY-MM (default: 11 months before --end)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last month, YYYY-MM (default: the last month in the data)."
    ),
    by: str | None = ByMovesOpt,
    output: Format = FormatOpt,
    db: Path | None = DbOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """The monthly MRR bridge: new, reactivation, expansion, contraction, churn and fx."""
    from nrr.present.machine import bridge_csv, bridge_json

    with _reporting(verbose):
        for value, flag in ((start, "--start"), (end, "--end")):
            if value is not None:
                parse_month(value, what=flag)
        book = _load(subscriptions, customers, fx_rates, currency, db)
        end = _default_end(book, end)
        start = start or month_label(parse_month(end, what="--end") - 11)
        rows = book.bridge(start, end, by=by)
        if output is Format.json:
            sys.stdout.write(bridge_json(rows) + "\n")
        elif output is Format.csv:
            sys.stdout.write(bridge_csv(rows))
        else:
            from nrr.present.tables import bridge_table

            _stdout().print(bridge_table(rows))


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

    with _reporting(verbose):
        if customers < 1:
            raise InputError(f"--customers {customers}: give a positive number")
        console = _stderr()
        with console.status("Simulating four years of a SaaS business...", spinner="dots"):
            data = generate_demo(seed=seed, customers=customers)
            paths = write_demo(data, out)
        book = _load(
            paths["subscriptions.csv"], paths["customers.csv"], paths["fx_rates.csv"], "USD", None
        )
        _stdout().print(headline(book, end=data.last_month, folder=out, paths=paths))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
