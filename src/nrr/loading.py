"""`load()`: read, check and prepare the inputs into a `Book`."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, Union

import duckdb

from nrr import sqltext
from nrr.adapters import FORMATS, invoice_lines, snapshot_lines, stripe_lines
from nrr.arguments import check_frame, check_kind, check_source
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.book import Book, Inputs
from nrr.conventions import Conventions
from nrr.customers import check_customers, without_row
from nrr.engines import Engine, open_engine
from nrr.engines.duckdb import DuckDBEngine
from nrr.engines.transfer import put
from nrr.engines.translated import Translated
from nrr.errors import InputError, InternalError, Problem
from nrr.fx import check_coverage, load_rates
from nrr.health.inputs import HEALTH_INPUTS, Signals, read_signals
from nrr.health.settings import DEFAULT_HEALTH, HealthSettings
from nrr.intake import DEFAULT_MAX_PROBLEMS, Intake, Progress
from nrr.limits import MAX_ROWS, check_count
from nrr.lookalike import lookalike_warnings
from nrr.memory import memory_limit, memory_limit_error, within_memory
from nrr.metrics.tables import BookTables
from nrr.sources.cache import CheckedCache, default_cache
from nrr.sources.files import RawSource, open_file, open_table
from nrr.sources.mapping import apply_mapping, check_mapping
from nrr.sources.sql import connect, open_inside, open_sql
from nrr.sql.render import parse_query
from nrr.validate import validate_subscriptions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Source", "load"]

# pandas is imported only by a caller that hands over a DataFrame: a command that reads files
# never pays for it (about 0.6 s of start-up).
Source = Union[str, Path, "pd.DataFrame"]  # a string member needs Union


def _is_frame(source: object) -> TypeGuard[pd.DataFrame]:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(source, pandas.DataFrame)


def _open(
    local: DuckDBEngine,
    source: Source,
    role: str,
    remote: Engine | None,
    url: str | None,
    *,
    direct: bool = False,
    cache: CheckedCache | None = None,
) -> RawSource:
    if _is_frame(source):
        check_frame(source, role)
        name = local.fresh_name("nrr_frame")
        local.load_frame(name, source)
        return open_table(local, name, label=f"{role} DataFrame")
    if remote is not None and url is not None and not Path(str(source)).is_file():
        return open_sql(local, remote, str(source), url=url)
    return open_file(local, source, role=role, direct=direct, cache=cache)


def _open_db(db: Path) -> DuckDBEngine:
    """The DuckDB file `db`, read-only; an InputError when it is not one (a CSV file given
    as --db, a file of another DuckDB version...). The path goes in as a Path, so a name
    such as `md:books` is a file here, never a MotherDuck address."""
    try:
        return DuckDBEngine.open(db.absolute(), read_only=True)
    except duckdb.Error as exc:
        # DuckDB's own words help for a damaged file or another version's; for a file of
        # another kind (it then talks of an in-memory database) they only confuse.
        why = str(exc).strip().splitlines()[0] if isinstance(exc, duckdb.IOException) else ""
        raise InputError(
            Problem(
                source="--db",
                message=f"{db}: not a DuckDB database file{f' ({why})' if why else ''}; give "
                "a .duckdb file (CSV and Parquet files go to --subscriptions, --customers...)",
            )
        ) from None


def _tables(local: DuckDBEngine) -> set[str]:
    """The tables and views of a `--db` file."""
    found = local.fetch(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
    )
    return {str(row[0]) for row in found.rows}


def _settle(local: DuckDBEngine) -> None:
    """The intake's DuckDB settings: quiet, bounded memory, spilling to a folder of nrr's."""
    # DuckDB draws its own progress bar on stdout for long queries; stdout is for results.
    local.execute("SET enable_progress_bar_print = false")
    # Bounded memory: DuckDB spills to disk beyond this instead of growing with the input.
    limit = memory_limit()
    try:
        local.execute(f"SET memory_limit = {sqltext.string(limit)}")
    except duckdb.OutOfMemoryException as exc:  # a size, but too small to start with
        raise memory_limit_error(exc) from None
    except duckdb.Error:
        raise InputError(
            Problem(source="NRR_MEMORY_LIMIT", message=f"{limit!r} is not a size such as 2GB")
        ) from None
    spill = Path(tempfile.gettempdir()) / "nrr-spill"
    local.execute(f"SET temp_directory = {sqltext.string(spill.as_posix())}")
    # Each join's sides as the join-order optimizer placed them. DuckDB's later pass swaps a
    # join's sides by estimated sizes, which after many steps can be off by 10,000 times (137
    # rows for 3.1M changes at 1M customers): the rolling trends then build their hash table
    # on the changes instead of the windows' months (the report's trends: 15 s against 10 s
    # at 1M; the other analyses the same or faster, bench/scale.py). A DuckDB without this
    # pass runs as it is.
    with contextlib.suppress(duckdb.Error):
        local.execute("SET disabled_optimizers = 'build_side_probe_side'")


@within_memory
def load(
    subscriptions: Source | None = None,
    *,
    customers: Source | None = None,
    fx_rates: Source | None = None,
    currency: str = "USD",
    db: str | Path | None = None,
    url: str | None = None,
    source_format: str = "canonical",
    columns: dict[str, str] | None = None,
    conventions: Conventions | None = None,
    on_invalid: str = "fail",
    max_problems: int = DEFAULT_MAX_PROBLEMS,
    progress: Progress | None = None,
    benchmarks: Benchmarks = DEFAULT_BENCHMARKS,
    usage: Source | None = None,
    tickets: Source | None = None,
    surveys: Source | None = None,
    touchpoints: Source | None = None,
    stakeholders: Source | None = None,
    health: HealthSettings = DEFAULT_HEALTH,
    engine: Any = None,
    cache: CheckedCache | str | Path | bool | None = None,
) -> Book:
    """Read, check and prepare the inputs.

    Each input is a CSV or Parquet path or a pandas DataFrame; with `url` (a database URL
    such as `postgresql://user@host:5432/db`) each is instead a table name or a `SELECT`
    query there. With `db` (a `.duckdb` file, opened read-only) any input
    not given is read from its tables `subscriptions`, `customers` and `fx_rates`.

    `source_format` says what the subscriptions input is: `canonical` (METRICS.md section 1),
    `stripe`, `invoices` or `snapshots` (docs/sources.md); `columns` maps the expected
    column names to the input's own (`{"customer_id": "account_id"}`); `conventions` sets
    churn timing, the past-due grace period and the reactivation window; `benchmarks` the
    bands shown beside headline numbers (`nrr.benchmarks`, docs/benchmarks.md).

    `usage`, `tickets`, `surveys`, `touchpoints` and `stakeholders` are the optional health
    inputs (docs/health-inputs.md; with `db`, tables of those names are used when present),
    and `health` the score's settings (docs/health.md). They are read and checked only when
    a health figure is first asked for (`Book.signals()`), so metrics never pay for them.

    `engine` says where the metrics are computed (`nrr.engines`, docs/engines.md): the
    embedded DuckDB (None or `"duckdb"`), a PostgreSQL URL, `"spark"`, a connection you
    opened (psycopg's, a SparkSession) or an `nrr.engines.Engine` (`open_engine(connection,
    dialect="snowflake")` for any other DB-API connection). Inputs are read and checked in
    the embedded DuckDB first; the checked tables are then loaded into the engine. When `url`
    and `engine` name one PostgreSQL database and every input is a table or query there (the
    format given), they are checked in it instead, and no input row leaves it; so they are
    on Spark, when `engine` is Spark and every input a table or query of its session.

    `cache` keeps a checked copy of each clean CSV file, so the next load of the same bytes
    with the same settings skips reading and checking its text (`nrr.sources.cache`,
    docs/performance.md): None or True for the default folder (`NRR_CACHE_DIR`, else
    `~/.cache/nrr`), a folder, or False for none.

    Invalid rows raise `InputError` listing every problem (`on_invalid="fail"`), or are set
    aside (`"quarantine"`): `Book.intake` then holds the rejected rows and the
    reconciliation of every source.
    """
    inputs = {"subscriptions": subscriptions, "customers": customers, "fx_rates": fx_rates}
    inputs |= {"usage": usage, "tickets": tickets, "surveys": surveys}
    inputs |= {"touchpoints": touchpoints, "stakeholders": stakeholders}
    for role, given_source in inputs.items():
        check_source(given_source, role)
    check_kind(currency, str, "currency", "a currency code such as USD")
    check_kind(db, str | Path | None, "db", "the path of a .duckdb file")
    check_kind(url, str | None, "url", "a database URL such as postgresql://user@host/db")
    check_kind(conventions, Conventions | None, "conventions", "an nrr.conventions.Conventions")
    check_kind(benchmarks, Benchmarks, "benchmarks", "an nrr.benchmarks.Benchmarks")
    check_kind(health, HealthSettings, "health", "an nrr.health.settings.HealthSettings")
    check_kind(cache, CheckedCache | str | Path | bool | None, "cache", "a folder, True or False")
    check_count(max_problems, flag="max_problems", low=1, high=MAX_ROWS, unit="problems")
    intake = Intake(on_invalid=on_invalid, max_problems=max_problems, progress=progress)
    conventions = conventions or Conventions()
    if source_format not in FORMATS:
        raise InputError(
            Problem(
                source="--from",
                message=f"{source_format!r} is not an input format; use one of "
                f"{', '.join(FORMATS)}",
            )
        )
    currency = currency.strip().upper()
    # ASCII letters only, as every input's currency codes: the checks take the base as valid.
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise InputError(
            Problem(
                source="--currency", message=f"{currency!r} is not an ISO 4217 code such as USD"
            )
        )
    columns = check_mapping(columns or {})  # before any file is read: a slip fails fast
    if db is not None and not Path(db).is_file():
        raise InputError(
            Problem(source="--db", message=f"{db}: no such DuckDB file (nrr demo writes one)")
        )
    # Connected first, so a wrong engine fails before a long read.
    target = _target(engine)
    checks: Engine
    remote: Engine | None = None
    if target is not None and _inside(url, engine, db, list(inputs.values())):
        # Every input is a table or query of the database the metrics run in: checked
        # there, so no input row leaves it (docs/engines.md).
        checks = Translated(target)
    else:
        # nrr only reads the file (its own tables are temporary), so several commands, or a
        # running `nrr serve`, can read the same file at once.
        local = _open_db(Path(db)) if db is not None else DuckDBEngine.open()
        _settle(local)
        remote = connect(url) if url is not None else None
        checks = local
    kept = default_cache(cache)
    tables = _tables(checks) if db is not None and isinstance(checks, DuckDBEngine) else set()

    def source(
        given: Source | None, role: str, required: bool, *, direct: bool = False
    ) -> RawSource | None:
        if given is not None and isinstance(checks, Translated):
            return open_inside(checks, str(given), url=url or "spark")
        if given is not None and isinstance(checks, DuckDBEngine):
            return _open(checks, given, role, remote, url, direct=direct, cache=kept)
        if role in tables and isinstance(checks, DuckDBEngine):
            return open_table(checks, role, label=f"{Path(str(db)).name}:{role}")
        if required:
            raise InputError(
                Problem(
                    source="--subscriptions",
                    message="no subscriptions input; "
                    "give a CSV or Parquet file with --subscriptions",
                )
            )
        return None

    # Canonical lines and customers in CSV files are checked straight from the file
    # (`screen.screen_direct`).
    subs_raw = source(
        subscriptions, "subscriptions", required=True, direct=source_format == "canonical"
    )
    if subs_raw is None:
        raise InternalError("a required source came back empty")
    customers_raw = source(customers, "customers", required=False, direct=True)
    rates_raw = source(fx_rates, "fx_rates", required=False)
    rates = load_rates(checks, rates_raw, base=currency, max_problems=max_problems)

    if subs_raw.unnumbered is None:
        intake.open_account(subs_raw, checks)  # else opened once the rows are counted
    subs_raw, origin = apply_mapping(subs_raw, columns)
    metadata: RawSource | None = None
    if source_format == "stripe":
        subs_raw, metadata = stripe_lines(checks, subs_raw, intake, conventions)
    elif source_format == "invoices":
        subs_raw = invoice_lines(checks, subs_raw, intake, currency)
    elif source_format == "snapshots":
        subs_raw = snapshot_lines(checks, subs_raw, intake, currency)
    lines = validate_subscriptions(
        checks,
        subs_raw,
        base_currency=currency,
        intake=intake,
        first_rates=rates.first_months(),
        origin=origin,
    )
    attributes: str | None = None
    known = customers_raw or metadata
    checked_lines = parse_query(lines)
    if known is not None:
        if customers_raw is not None and customers_raw.unnumbered is None:
            intake.open_account(customers_raw, checks)
        numbered = check_customers(checks, known, intake=intake)
        intake.warnings.extend(
            lookalike_warnings(
                checks, checked_lines, subs_raw.name, parse_query(numbered), known.name
            )
        )
        attributes = without_row(checks, numbered)
    else:
        intake.warnings.extend(lookalike_warnings(checks, checked_lines, subs_raw.name, None, None))
    # Under quarantine the lines without a rate were set aside already; the range is checked
    # either way.
    if intake.quarantine:
        rates_source = None
    elif rates_raw is not None:
        rates_source = rates_raw.name
    else:
        rates_source = "an fx_rates file (--fx-rates)"
    check_coverage(checks, checked_lines, rates, source=subs_raw.name, rates_source=rates_source)
    for account in intake.accounts.values():
        account.check()
    given = {"usage": usage, "tickets": tickets, "surveys": surveys}
    given |= {"touchpoints": touchpoints, "stakeholders": stakeholders}
    book_tables = _book_tables(checks, target, lines, attributes)

    def signals() -> Signals:
        sources = {kind: source(given[kind], kind, required=False) for kind in HEALTH_INPUTS}
        checked = read_signals(checks, sources, intake=intake)
        if target is None:
            return checked
        if isinstance(checks, Translated):  # checked in the target: kept there
            return Signals(
                **{kind: _kept(checks, kind, getattr(checked, kind)) for kind in checked.present()}
            )
        return Signals(
            **{
                kind: _in_target(put(checks, table, target, f"nrr_{kind}"))  # type: ignore[arg-type]
                for kind in checked.present()
                if (table := getattr(checked, kind)) is not None
            }
        )

    return Book(
        tables=book_tables,
        rates=rates,
        inputs=Inputs(
            subscriptions=subs_raw.name,
            customers=customers_raw.name if customers_raw else None,
            fx_rates=rates_raw.name if rates_raw else None,
            source_format=source_format,
        ),
        intake=intake,
        conventions=conventions,
        benchmarks=benchmarks,
        signals=signals,
        health=health,
    )


def _kept(checks: Engine, kind: str, table: str) -> str:
    """The checked health input `table` kept as a table of the engine it was checked in."""
    name = checks.fresh_name(f"nrr_{kind}")
    checks.keep(name, table)
    return _in_target(name)


def _target(engine: Any) -> Engine | None:
    """The engine the metrics run on, connected; None for the intake's own DuckDB."""
    if engine is None or (isinstance(engine, str) and engine.strip().lower() in ("", "duckdb")):
        return None
    if isinstance(engine, str | Engine):
        return open_engine(engine)
    try:
        return open_engine(engine)
    except InputError:
        # Not a connection nrr knows: said of the argument, as every other of the wrong kind.
        check_kind(engine, str | Engine | None, "engine", _ENGINES)
        raise


_ENGINES = (
    "duckdb, spark, a database URL, a connection (psycopg's, a SparkSession) or an "
    "nrr.engines.Engine"
)


def _in_target(name: str) -> str:
    """A query of the table `name` that `put` made in the target engine, written in DuckDB's
    dialect as every statement nrr renders for an engine."""
    return f"SELECT * FROM {sqltext.identifier(name)}"


def _inside(url: str | None, engine: Any, db: object, given: list[object]) -> bool:
    """Whether the checks run in the engine the metrics run on: every input given is a
    table or query there (not a file, not a DataFrame), and that engine is the PostgreSQL
    database `url` names too, or Spark (whose tables need no URL: a name that is not a file
    is one of the session's)."""
    if db is not None:
        return False
    if not all(g is None or (isinstance(g, str) and not Path(g).is_file()) for g in given):
        return False
    if url is None:
        return _is_spark(engine)
    postgres = url.lower().startswith(("postgresql://", "postgres://"))
    return postgres and isinstance(engine, str) and url.strip() == engine.strip()


def _is_spark(engine: Any) -> bool:
    """Whether `engine` names or holds Spark: "spark", a SparkSession, a Spark engine."""
    if isinstance(engine, str):
        return engine.strip().lower() == "spark"
    return getattr(engine, "dialect", None) == "spark" or type(engine).__name__ == "SparkSession"


def _book_tables(
    checks: Engine, target: Engine | None, lines: str, attributes: str | None
) -> BookTables:
    """Where the checked lines and customers are for the metrics: queries in the intake's
    DuckDB, tables the checks kept in the target engine, or tables loaded into it."""
    names = checks.columns(attributes) if attributes is not None else ()
    kept = tuple(c for c in names if c != "customer_id")
    if target is None:
        return BookTables(
            engine=checks,
            lines=parse_query(lines),
            customers=parse_query(attributes) if attributes is not None else None,
            attributes=kept,
        )
    if isinstance(checks, Translated):
        named_lines = checks.fresh_name("nrr_lines")
        checks.keep(named_lines, lines)
        named_customers = None
        if attributes is not None:
            named_customers = checks.fresh_name("nrr_customers")
            checks.keep(named_customers, attributes)
        return BookTables(
            engine=target, lines=named_lines, customers=named_customers, attributes=kept
        )
    local = checks if isinstance(checks, DuckDBEngine) else None
    if local is None:
        raise InternalError("checked tables outside the embedded DuckDB and the target")
    return BookTables(
        engine=target,
        lines=put(local, lines, target, "nrr_lines"),
        customers=put(local, attributes, target, "nrr_customers") if attributes else None,
        attributes=kept,
    )
