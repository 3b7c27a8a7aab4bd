"""What every `nrr` command shares: options, input loading, error reporting, output helpers.

A command that reads the book is declared with `@book_command`: it lists only its own options
and receives `load`, a function that reads and checks the inputs given by the shared input
options (files, `--url`, `--map`, conventions, `--on-invalid`, `nrr.toml`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import traceback
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from nrr.book import Book
from nrr.config import Config, read_config
from nrr.conventions import DEFAULT_GRACE_DAYS, Conventions
from nrr.errors import InputError, NRRError
from nrr.health.inputs import HEALTH_INPUTS
from nrr.loading import load
from nrr.memory import memory_limit_error
from nrr.months import month_label, parse_month
from nrr.outputs import refuse_overwriting_inputs
from nrr.results import in_arr
from nrr.sources.mapping import parse_mapping
from nrr.sources.sql import duckdb_file

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


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def stdout() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped tables keep every column on one line instead of wrapping at 80 characters.
        console = Console(highlight=False, width=180)
    return console


@contextmanager
def reporting(verbose: bool) -> Iterator[None]:
    try:
        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            # The one engine failure that is the user's to fix: NRR_MEMORY_LIMIT is too low.
            raise memory_limit_error(exc) from None
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
    help="Subscription lines: CSV or Parquet (with --url, or --engine spark: a table or "
    "SELECT query there).",
)
CustomersOpt = typer.Option(None, "--customers", "-c", help="Customer attributes: CSV or Parquet.")
FxRatesOpt = typer.Option(None, "--fx-rates", help="Monthly rates: month,currency,rate.")
CurrencyOpt = typer.Option(None, "--currency", help="Base currency (ISO 4217; default USD).")
DbOpt = typer.Option(
    None,
    "--db",
    help="Read the inputs not given from this DuckDB file's tables subscriptions, "
    "customers, fx_rates (opened read-only).",
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
ENGINE_HELP = (
    "Where to compute: duckdb (default, embedded), a PostgreSQL URL "
    "(postgresql://user@host:5432/db), or spark (local mode; pip install nrr[spark])."
)
EngineOpt = typer.Option(None, "--engine", help=ENGINE_HELP)
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


def _health_option(kind: str, what: str) -> Any:
    return typer.Option(
        None, f"--{kind}", help=f"Health input: {what} (CSV or Parquet; docs/health-inputs.md)."
    )


UsageOpt = _health_option("usage", "customer_id,date,metric,value")
TicketsOpt = _health_option("tickets", "customer_id,opened_at,closed_at,priority,satisfaction")
SurveysOpt = _health_option("surveys", "customer_id,date,kind (nps|csat),score")
TouchpointsOpt = _health_option("touchpoints", "customer_id,date,kind")
StakeholdersOpt = _health_option(
    "stakeholders", "customer_id,name,role,champion,decision_maker,active_until"
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
CacheOpt = typer.Option(
    None,
    "--cache/--no-cache",
    help="Keep a checked copy of each large clean CSV file for the next command "
    "(default; in NRR_CACHE_DIR, else ~/.cache/nrr; docs/sources.md).",
)


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
    engine: str | None = None
    columns: list[str] | None = None
    churn_at: str | None = None
    grace_days: int | None = None
    reactivation_window: int | None = None
    on_invalid: str | None = None
    rejected: Path | None = None
    config: Path | None = None
    use_config: bool = True
    usage: str | None = None
    tickets: str | None = None
    surveys: str | None = None
    touchpoints: str | None = None
    stakeholders: str | None = None
    cache: bool | None = None


@contextmanager
def progress_bar(label: str, poll: Callable[[], float]) -> Iterator[None]:
    console = stderr()
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


_ROLES = ("subscriptions", "customers", "fx_rates", *HEALTH_INPUTS)


def load_book(
    options: InputOptions,
    *,
    signals: bool = False,
    outputs: Sequence[tuple[str, Path | None]] = (),
) -> Book:
    """Read the book the options describe. With `signals`, the health inputs are read and
    checked now, so their problems and quarantined rows are reported with the others.

    `outputs` are the files the command will write, by option (`[("--out", path)]`): before
    anything is read, each, and the rejected rows' file, is checked not to be an input."""
    config = read_config(options.config) if options.use_config else Config()
    origin = config.origin()
    if origin is not None:
        # Always said, so that a file nobody meant to use cannot change the numbers unseen.
        sys.stderr.write(f"note: {origin}\n")
    spec = {role: config.input(role) for role in _ROLES}
    sources = {role: getattr(options, role) or spec[role].source for role in _ROLES}
    subscriptions = sources["subscriptions"]
    db = options.db
    on_invalid = options.on_invalid or config.get("on_invalid", "fail")
    rejected = options.rejected or Path(config.get("rejected", "nrr-rejected.csv"))
    written = [("--rejected", rejected)] if on_invalid == "quarantine" else []
    refuse_overwriting_inputs(
        [*written, *outputs],
        {
            **{"--" + role.replace("_", "-"): source for role, source in sources.items()},
            "--db": db,
            "--url": _url_file(options.url or config.get("url")),
            "--engine": _url_file(options.engine or config.get("engine")),
            "--config" if options.config else "settings file": config.path,
        },
    )
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
    book = load(
        subscriptions,
        customers=sources["customers"],
        fx_rates=sources["fx_rates"],
        currency=options.currency or config.get("currency", "USD"),
        db=db,
        url=options.url or config.get("url"),
        engine=options.engine or config.get("engine"),
        source_format=options.source_format or spec["subscriptions"].format or "canonical",
        columns=columns,
        conventions=conventions,
        on_invalid=on_invalid,
        progress=progress_bar,
        benchmarks=config.benchmarks,
        health=config.health,
        cache=None if _first(options.cache, config.get("cache"), True) else False,
        **{kind: sources[kind] for kind in HEALTH_INPUTS},
    )
    if signals:
        book.signals()
    for warning in book.intake.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if book.intake.quarantine or book.inputs.source_format != "canonical":
        for account in book.intake.accounts.values():
            sys.stderr.write(f"note: {account.line()}\n")
    if book.intake.quarantine:
        path = book.intake.write_rejected(rejected)
        count = len(book.intake.rejections)
        sys.stderr.write(f"note: {count:,} rejected rows written to {path}\n")
    return book


def _url_file(url: str | None) -> Path | None:
    """The file a `duckdb://` URL opens, else None."""
    if url is None or not url.lower().startswith("duckdb:"):
        return None
    return duckdb_file(url)


def _first(*values: object) -> Any:
    return next((v for v in values if v is not None), None)


def default_end(book: Book, end: str | None) -> str:
    if end is not None:
        return end
    latest = book.latest_month()
    if latest is None:
        raise InputError("the subscriptions hold no revenue; there is no month to report on")
    label = month_label(latest)
    sys.stderr.write(f"note: using --end {label}, the last month in the data\n")
    return label


Loader = Callable[..., Book]  # load(), or load(signals=True) for the health commands
ArrOpt = typer.Option(False, "--arr", help="Show every amount as ARR (12 x MRR).")


def _input_parameters(
    subscriptions: str | None = SubscriptionsOpt,
    customers: str | None = CustomersOpt,
    fx_rates: str | None = FxRatesOpt,
    currency: str | None = CurrencyOpt,
    db: Path | None = DbOpt,
    source_format: str | None = FromOpt,
    url: str | None = UrlOpt,
    engine: str | None = EngineOpt,
    columns: list[str] | None = MapOpt,
    churn_at: str | None = ChurnAtOpt,
    grace_days: int | None = GraceOpt,
    reactivation_window: int | None = ReactivationOpt,
    on_invalid: str | None = OnInvalidOpt,
    rejected: Path | None = RejectedOpt,
    config: Path | None = ConfigOpt,
    usage: str | None = UsageOpt,
    tickets: str | None = TicketsOpt,
    surveys: str | None = SurveysOpt,
    touchpoints: str | None = TouchpointsOpt,
    stakeholders: str | None = StakeholdersOpt,
    cache: bool | None = CacheOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """The options every command that reads a book takes (the template `book_command` adds)."""


_LEADING = ("subscriptions", "customers", "fx_rates", "currency")


def book_command(func: Callable[..., None]) -> Callable[..., None]:
    """Add the shared input options to a command; it is called with `load`, which reads them.

    The command lists only its own options. Its help shows the inputs first, then its own
    options, then the rest of the input options. Errors are reported as for every command.
    """
    own = inspect.signature(func, eval_str=True)
    shared = inspect.signature(_input_parameters, eval_str=True).parameters
    own_params = [p for p in own.parameters.values() if p.name != "load"]
    clash = {p.name for p in own_params} & set(shared)
    if clash:
        raise TypeError(f"{func.__name__} redefines shared options {sorted(clash)}")
    # Parameters without a default (a typer.Context) must come first in a signature.
    bare = [p for p in own_params if p.default is inspect.Parameter.empty]
    ordered = [
        *bare,
        *(shared[name] for name in _LEADING),
        *(p for p in own_params if p not in bare),
        *(p for name, p in shared.items() if name not in _LEADING),
    ]
    signature = own.replace(parameters=ordered, return_annotation=None)
    names = {f.name for f in fields(InputOptions)}

    @functools.wraps(func)
    def command(**given: Any) -> None:
        verbose = given.pop("verbose")
        options = InputOptions(**{k: given.pop(k) for k in list(given) if k in names})
        with reporting(verbose):
            func(load=lambda **kw: load_book(options, **kw), **given)

    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = typing.get_type_hints(_input_parameters) | {
        p.name: p.annotation for p in own_params
    }
    return command


def conventions_line(book: Book) -> str:
    return f"Counted with: {book.conventions.describe()}."


def check_months(*flags: tuple[str, str | None]) -> None:
    """Check month flags before any data is read, so a typo fails fast."""
    for flag, value in flags:
        if value is not None:
            parse_month(value, what=flag)


def show(
    book: Book,
    output: Format,
    result: Any,
    *,
    table: Callable[[Any, str], Any],
    json_text: Callable[[Any], str],
    csv_text: Callable[[Any], str],
    arr: bool = False,
    in_arr_already: bool = False,
) -> None:
    """Print a result: a table for people (`table(result, unit)`), or JSON/CSV for machines
    with notes on stderr. With `arr`, every amount is shown as ARR (`results.in_arr`);
    `in_arr_already` says so of a result whose amounts are ARR by nature."""
    shown = in_arr(result) if arr else result
    unit = " Amounts are ARR (12 x MRR)." if arr or in_arr_already else ""
    if output is Format.table:
        console = stdout()
        console.print(table(shown, "ARR" if arr or in_arr_already else "MRR"))
        console.print(f"[dim]{conventions_line(book)}{unit}[/dim]")
        return
    # Machine output keeps its documented shape; the conventions in force go to stderr.
    sys.stderr.write(f"note: {conventions_line(book)}{unit}\n")
    sys.stdout.write(json_text(shown) + "\n" if output is Format.json else csv_text(shown))
