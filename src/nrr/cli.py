"""The `nrr` command line: a thin layer that calls the library and prints.

Data goes to stdout (a table for people by default, `--format json|csv` for machines);
progress and errors go to stderr. A user's mistake exits with status 2 and lines of the form
`error: FILE:ROW:COLUMN: what is wrong and how to fix it`; a traceback only with --verbose.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from nrr.book import Book, load
from nrr.config import Config, read_config
from nrr.conventions import DEFAULT_GRACE_DAYS, Conventions
from nrr.errors import InputError, NRRError
from nrr.months import month_label, parse_month
from nrr.sources.mapping import parse_mapping

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
    None,
    "--subscriptions",
    "-s",
    help="Subscription lines: CSV or Parquet (with --url: a table or SELECT query).",
)
CustomersOpt = typer.Option(None, "--customers", "-c", help="Customer attributes: CSV or Parquet.")
FxRatesOpt = typer.Option(None, "--fx-rates", help="Monthly rates: month,currency,rate.")
CurrencyOpt = typer.Option(None, "--currency", help="Base currency (ISO 4217; default USD).")
DbOpt = typer.Option(
    None,
    "--db",
    help="Work in this DuckDB file; inputs not given are read from its "
    "tables subscriptions, customers, fx_rates.",
)
FromOpt = typer.Option(
    None,
    "--from",
    help="What the subscriptions input is: canonical (default), stripe, invoices, snapshots.",
)
UrlOpt = typer.Option(
    None,
    "--url",
    help="Database URL (postgresql://user@host:port/db, duckdb:///file.duckdb); the inputs "
    "are then table names or SELECT queries there.",
)
MapOpt = typer.Option(
    None,
    "--map",
    help="NAME=COLUMN: read the subscriptions' column COLUMN as NAME (repeatable).",
)
ChurnAtOpt = typer.Option(
    None, "--churn-at", help="period_end (default): churn when the paid period ends; cancel."
)
GraceOpt = typer.Option(
    None, "--grace-days", help="Days a past-due/unpaid subscription keeps MRR (default 30)."
)
ReactivationOpt = typer.Option(
    None,
    "--reactivation-window",
    help="Months: a return after a longer absence counts as new (default: any gap "
    "is a reactivation).",
)
OnInvalidOpt = typer.Option(
    None,
    "--on-invalid",
    help="fail (default): list every bad row and exit 2; quarantine: use the valid rows "
    "and write the rest to --rejected.",
)
RejectedOpt = typer.Option(
    None, "--rejected", help="Where quarantined rows go (default nrr-rejected.csv)."
)
ConfigOpt = typer.Option(
    None, "--config", help="Settings file (default: nrr.toml in this folder, if any)."
)
FormatOpt = typer.Option(Format.table, "--format", "-f", help="table (for people), json or csv.")
ByOpt = typer.Option(
    None, "--by", help="Slice by a customer attribute (a customers column), cohort or tenure."
)
ByMovesOpt = typer.Option(
    None, "--by", help="Slice by a customer attribute (a customers column) or cohort."
)
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors.")


@dataclass(frozen=True)
class InputOptions:
    """Every option that says where the data is and how to read it."""

    subscriptions: str | None = None
    customers: str | None = None
    fx_rates: str | None = None
    currency: str | None = None
    db: Path | None = None
    source_format: str | None = None
    url: str | None = None
    columns: list[str] | None = None
    churn_at: str | None = None
    grace_days: int | None = None
    reactivation_window: int | None = None
    on_invalid: str | None = None
    rejected: Path | None = None
    config: Path | None = None
    use_config: bool = True


@contextmanager
def _progress(label: str, poll: Callable[[], float]) -> Iterator[None]:
    console = _stderr()
    if not console.is_terminal:
        yield
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=100)
        done = threading.Event()

        def follow() -> None:
            while not done.wait(0.2):
                value = poll()
                if value >= 0:
                    bar.update(task, completed=value)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _load(options: InputOptions) -> Book:
    config = read_config(options.config) if options.use_config else Config()
    spec = {role: config.input(role) for role in ("subscriptions", "customers", "fx_rates")}
    subscriptions = options.subscriptions or spec["subscriptions"].source
    db = options.db
    if subscriptions is None and db is None:
        raise InputError(
            "no input: give --subscriptions FILE (CSV or Parquet), or --db FILE, "
            "or a [subscriptions] table in nrr.toml"
        )
    columns = parse_mapping(options.columns) or spec["subscriptions"].columns
    conventions = Conventions(
        churn_at=options.churn_at or config.get("churn_at", "period_end"),
        grace_days=_first(options.grace_days, config.get("grace_days"), DEFAULT_GRACE_DAYS),
        reactivation_window=_first(
            options.reactivation_window, config.get("reactivation_window"), None
        ),
    )
    on_invalid = options.on_invalid or config.get("on_invalid", "fail")
    book = load(
        subscriptions,
        customers=options.customers or spec["customers"].source,
        fx_rates=options.fx_rates or spec["fx_rates"].source,
        currency=options.currency or config.get("currency", "USD"),
        db=db,
        url=options.url or config.get("url"),
        source_format=options.source_format or spec["subscriptions"].format or "canonical",
        columns=columns,
        conventions=conventions,
        on_invalid=on_invalid,
        progress=_progress,
    )
    for warning in book.intake.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if book.intake.quarantine or book.inputs.source_format != "canonical":
        for account in book.intake.accounts.values():
            sys.stderr.write(f"note: {account.line()}\n")
    if book.intake.quarantine:
        target = options.rejected or Path(config.get("rejected", "nrr-rejected.csv"))
        written = book.intake.write_rejected(target)
        count = len(book.intake.rejections)
        sys.stderr.write(f"note: {count:,} rejected rows written to {written}\n")
    return book


def _options(given: dict[str, Any]) -> InputOptions:
    """The input options among a command's parameters (they share InputOptions' names)."""
    names = {f.name for f in fields(InputOptions)}
    return InputOptions(**{k: v for k, v in given.items() if k in names})


def _first(*values: object) -> Any:
    return next((v for v in values if v is not None), None)


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
    subscriptions: str | None = SubscriptionsOpt,
    customers: str | None = CustomersOpt,
    fx_rates: str | None = FxRatesOpt,
    currency: str | None = CurrencyOpt,
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
    source_format: str | None = FromOpt,
    url: str | None = UrlOpt,
    columns: list[str] | None = MapOpt,
    churn_at: str | None = ChurnAtOpt,
    grace_days: int | None = GraceOpt,
    reactivation_window: int | None = ReactivationOpt,
    on_invalid: str | None = OnInvalidOpt,
    rejected: Path | None = RejectedOpt,
    config: Path | None = ConfigOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """NRR, GRR, logo retention and the netted bridge over one window."""
    from nrr.present.machine import window_csv, window_json

    with _reporting(verbose):
        if end is not None:
            parse_month(end, what="--end")
        book = _load(_options(locals()))
        result = book.window(_default_end(book, end), window=window, by=by, fx_mode=fx_mode.value)
        if output is Format.json:
            _name_conventions(book)
            sys.stdout.write(window_json(result) + "\n")
        elif output is Format.csv:
            _name_conventions(book)
            sys.stdout.write(window_csv(result))
        else:
            from nrr.present.tables import window_tables

            _stdout().print(window_tables(result))
            _stdout().print(f"[dim]{_conventions_line(book)}[/dim]")


@app.command()
def movements(
    subscriptions: str | None = SubscriptionsOpt,
    customers: str | None = CustomersOpt,
    fx_rates: str | None = FxRatesOpt,
    currency: str | None = CurrencyOpt,
    start: str | None = typer.Option(
        None, "--start", help="First month, YYYY-MM (default: 11 months before --end)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last month, YYYY-MM (default: the last month in the data)."
    ),
    by: str | None = ByMovesOpt,
    output: Format = FormatOpt,
    db: Path | None = DbOpt,
    source_format: str | None = FromOpt,
    url: str | None = UrlOpt,
    columns: list[str] | None = MapOpt,
    churn_at: str | None = ChurnAtOpt,
    grace_days: int | None = GraceOpt,
    reactivation_window: int | None = ReactivationOpt,
    on_invalid: str | None = OnInvalidOpt,
    rejected: Path | None = RejectedOpt,
    config: Path | None = ConfigOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """The monthly MRR bridge: new, reactivation, expansion, contraction, churn and fx."""
    from nrr.present.machine import bridge_csv, bridge_json

    with _reporting(verbose):
        for value, flag in ((start, "--start"), (end, "--end")):
            if value is not None:
                parse_month(value, what=flag)
        book = _load(_options(locals()))
        end = _default_end(book, end)
        start = start or month_label(parse_month(end, what="--end") - 11)
        rows = book.bridge(start, end, by=by)
        if output is Format.json:
            _name_conventions(book)
            sys.stdout.write(bridge_json(rows) + "\n")
        elif output is Format.csv:
            _name_conventions(book)
            sys.stdout.write(bridge_csv(rows))
        else:
            from nrr.present.tables import bridge_table

            _stdout().print(bridge_table(rows))
            _stdout().print(f"[dim]{_conventions_line(book)}[/dim]")


def _conventions_line(book: Book) -> str:
    return f"Counted with: {book.conventions.describe()}."


def _name_conventions(book: Book) -> None:
    # Machine output keeps the contract's shape; the conventions in force go to stderr.
    sys.stderr.write(f"note: {_conventions_line(book)}\n")


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
            InputOptions(
                subscriptions=str(paths["subscriptions.csv"]),
                customers=str(paths["customers.csv"]),
                fx_rates=str(paths["fx_rates.csv"]),
                use_config=False,  # the demo's data is its own, whatever nrr.toml is here
            )
        )
        _stdout().print(headline(book, end=data.last_month, folder=out, paths=paths))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
