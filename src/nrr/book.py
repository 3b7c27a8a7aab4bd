"""`load()` and `Book`: the Python API over one set of inputs.

    import nrr
    book = nrr.load(subscriptions="subs.csv", customers="customers.csv",
                    fx_rates="fx.csv", currency="USD")
    book.metrics(end="2024-12", window=12, by="segment")   # pandas DataFrame
    book.movements(start="2024-01", end="2024-12")          # pandas DataFrame

`Book.window()` and `Book.bridge()` return the exact (unrounded) result objects that the
DataFrame methods and the CLI present.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends.duckdb import Backend as DuckDBBackend

from nrr.adapters import FORMATS, invoice_lines, snapshot_lines, stripe_lines
from nrr.attributes import check_attribute, segment_of
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.conventions import Conventions
from nrr.errors import InputError, InternalError, Problem
from nrr.fx import RateBook, check_coverage, load_rates
from nrr.ledger import first_active
from nrr.months import month_label, parse_month
from nrr.movements import monthly_bridge
from nrr.present.frames import bridge_frame, window_frame
from nrr.results import BridgeMonth, WindowResult
from nrr.retention import FX_MODES, window_metrics
from nrr.screen import DEFAULT_MAX_PROBLEMS, Intake, Progress
from nrr.sources.files import RawSource, open_file, open_table
from nrr.sources.mapping import apply_mapping
from nrr.sources.sql import connect, open_sql
from nrr.validate import validate_customers, validate_subscriptions

if TYPE_CHECKING:
    from nrr.analysis.causes import CausesResult
    from nrr.analysis.cohorts import CohortResult
    from nrr.analysis.impact import ImpactResult
    from nrr.analysis.methods import MethodsResult
    from nrr.analysis.owners import OwnersResult
    from nrr.analysis.rates import RatesResult
    from nrr.analysis.trends import TrendResult
    from nrr.analysis.whatif import WhatIfResult

__all__ = ["Book", "load"]

Source = str | Path | pd.DataFrame


@dataclass(frozen=True)
class Inputs:
    """Where the book's data came from, by the names users gave."""

    subscriptions: str
    customers: str | None
    fx_rates: str | None
    source_format: str = "canonical"


class Book:
    """Validated subscription lines, attributes and rates, ready for metrics."""

    def __init__(
        self,
        *,
        con: ibis.BaseBackend,
        lines: ir.Table,
        customers: ir.Table | None,
        rates: RateBook,
        inputs: Inputs,
        intake: Intake | None = None,
        conventions: Conventions | None = None,
        benchmarks: Benchmarks = DEFAULT_BENCHMARKS,
        filters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.con = con
        self.filters = filters
        self.lines = lines
        self.customers = customers
        self.rates = rates
        self.inputs = inputs
        self.intake = intake or Intake()
        self.conventions = conventions or Conventions()
        self.benchmarks = benchmarks
        self.currency = rates.base
        self.currencies: list[str] = sorted(
            lines.select("currency").distinct().to_pyarrow().column(0).to_pylist()
        )
        span = lines.aggregate(lo=lines.start_m.min(), hi=lines.start_m.max(), n=lines.count())
        record = span.to_pyarrow().to_pylist()[0]
        self.row_count: int = int(record["n"])
        self.first_month: int | None = record["lo"]

    @property
    def attributes(self) -> list[str]:
        """Names usable as `by=`: the customers file's columns plus cohort and tenure."""
        names = ["cohort", "tenure"]
        if self.customers is not None:
            names += [c for c in self.customers.columns if c != "customer_id"]
        return names

    def values(self, attribute: str) -> list[str]:
        """The values `attribute` takes in this book (`(none)` for customers without one)."""
        check_attribute(attribute, self.customers, allow_tenure=False)
        segments = segment_of(
            self.lines,
            by=attribute,
            customers=self.customers,
            first=first_active(self.lines),
        )
        column = segments.select("segment").distinct().to_pyarrow().column(0).to_pylist()
        return sorted(column)

    def where(self, attribute: str, value: str) -> Book:
        """This book restricted to the customers whose `attribute` is `value`.

        `attribute` is a customers column or `cohort` (or several joined by commas, with the
        values joined by " × " as in slices); customers without a value are `(none)`. Every
        metric of the result counts only those customers' lines. The value is compared as
        data, never spliced into SQL.
        """
        check_attribute(attribute, self.customers, allow_tenure=False, flag="--filter")
        segments = segment_of(
            self.lines,
            by=attribute,
            customers=self.customers,
            first=first_active(self.lines),
        )
        chosen = segments.filter(segments.segment == ibis.literal(value, type="string"))
        lines = self.lines.semi_join(chosen, "customer_id")
        return Book(
            con=self.con,
            lines=lines,
            customers=self.customers,
            rates=self.rates,
            inputs=self.inputs,
            intake=self.intake,
            conventions=self.conventions,
            benchmarks=self.benchmarks,
            filters=(*self.filters, (attribute, value)),
        )

    def latest_month(self) -> int | None:
        """The last month any line starts or ends in: the natural default window end."""
        lines = self.lines
        record = (
            lines.aggregate(start=lines.start_m.max(), end=lines.end_m.max())
            .to_pyarrow()
            .to_pylist()[0]
        )
        candidates = [record["start"]] if record["start"] is not None else []
        if record["end"] is not None:
            candidates.append(record["end"] - 1)  # the last month in service before the end
        return max(candidates) if candidates else None

    def window(
        self, end: str, *, window: int = 12, by: str | None = None, fx_mode: str = "spot"
    ) -> WindowResult:
        """Retention over `window` months ending `end` (`YYYY-MM`), exact."""
        end_m = parse_month(end, what="--end")
        if window < 1:
            raise InputError(
                Problem(
                    source="--window",
                    message=f"{window} is not a positive "
                    "number of months; use 1, 3, 12 or another length",
                )
            )
        if fx_mode not in FX_MODES:
            raise InputError(
                Problem(source="--fx-mode", message=f"{fx_mode!r} is not spot or constant")
            )
        check_attribute(by, self.customers)
        return window_metrics(
            self.lines,
            rates=self.rates,
            currencies=self.currencies,
            customers=self.customers,
            end=end_m,
            window=window,
            by=by,
            fx_mode=fx_mode,
            reactivation_window=self.conventions.reactivation_window,
        )

    def bridge(self, start: str, end: str, *, by: str | None = None) -> list[BridgeMonth]:
        """The monthly MRR bridge from `start` to `end` (`YYYY-MM`, inclusive), exact."""
        start_m = parse_month(start, what="--start")
        end_m = parse_month(end, what="--end")
        if end_m < start_m:
            raise InputError(
                Problem(
                    source="--end",
                    message=f"{end} is before --start {start}; give the months in order",
                )
            )
        check_attribute(by, self.customers, allow_tenure=False)
        return monthly_bridge(
            self.lines,
            rates=self.rates,
            currencies=self.currencies,
            customers=self.customers,
            start=start_m,
            end=end_m,
            by=by,
            reactivation_window=self.conventions.reactivation_window,
        )

    def metrics(
        self, end: str, *, window: int = 12, by: str | None = None, fx_mode: str = "spot"
    ) -> pd.DataFrame:
        """Window metrics as a DataFrame: one row overall, then one per slice; cents and ratios
        rounded exactly as the CLI prints them."""
        return window_frame(self.window(end, window=window, by=by, fx_mode=fx_mode))

    def movements(self, start: str, end: str, *, by: str | None = None) -> pd.DataFrame:
        """The monthly MRR bridge as a DataFrame, rounded to cents as the CLI prints it."""
        return bridge_frame(self.bridge(start, end, by=by))

    # The analyses (docs/analysis.md). Each returns an exact result object whose `frame()`
    # gives the rounded DataFrame; the functions live in nrr.analysis.

    def methods(self, end: str, *, window: int = 12) -> MethodsResult:
        """NRR by five methods for one window, with the reconciliation of their gaps."""
        from nrr.analysis.methods import compare_methods

        return compare_methods(self, end=end, window=window)

    def churn_rates(self, end: str, *, window: int = 12) -> RatesResult:
        """Customer churn rate, gross and net MRR churn rates and quick ratio, per month."""
        from nrr.analysis.rates import churn_rates

        return churn_rates(self, end=end, window=window)

    def trends(
        self,
        end: str,
        *,
        start: str | None = None,
        windows: Iterable[int] = (1, 3, 12),
        by: str | None = None,
        fx_mode: str = "spot",
    ) -> TrendResult:
        """Rolling NRR, GRR and logo retention for each month from `start` to `end`."""
        from nrr.analysis.trends import trends

        return trends(self, end=end, start=start, windows=windows, by=by, fx_mode=fx_mode)

    def cohorts(self, end: str, *, grain: str = "month", since: str | None = None) -> CohortResult:
        """Signup-cohort revenue and logo retention matrices (month, quarter or year)."""
        from nrr.analysis.cohorts import cohorts

        return cohorts(self, end=end, grain=grain, since=since)

    def causes(
        self,
        end: str,
        *,
        window: int = 12,
        by: str | None = None,
        fx_mode: str = "spot",
        detail: bool = False,
    ) -> CausesResult:
        """Expansion and contraction split into seats, price, cross-sell and dropped products."""
        from nrr.analysis.causes import causes

        return causes(self, end=end, window=window, by=by, fx_mode=fx_mode, detail=detail)

    def owners(
        self,
        end: str,
        *,
        window: int = 12,
        csm: str = "csm",
        am: str = "account_manager",
        fx_mode: str = "spot",
    ) -> OwnersResult:
        """Per CSM: book, GRR, churn, contraction; per account manager: expansion, cross-sell."""
        from nrr.analysis.owners import owners

        return owners(self, end=end, window=window, csm=csm, am=am, fx_mode=fx_mode)

    def impact(
        self,
        by: str,
        end: str,
        *,
        window: int = 12,
        target: str | Decimal | float = "100%",
        fx_mode: str = "spot",
    ) -> ImpactResult:
        """Each slice's share of the base and MRR at stake against an NRR target, ranked."""
        from nrr.analysis.impact import impact

        return impact(self, by=by, end=end, window=window, target=target, fx_mode=fx_mode)

    def whatif(
        self, end: str, *, years: int = 5, horizon: int = 12, interval: float = 0.8, seed: int = 0
    ) -> WhatIfResult:
        """Compounded NRR, the worth of one more point, and a forecast of the base's ARR."""
        from nrr.analysis.whatif import whatif

        return whatif(self, end=end, years=years, horizon=horizon, interval=interval, seed=seed)

    def __repr__(self) -> str:
        span = "empty" if self.first_month is None else f"from {month_label(self.first_month)}"
        return (
            f"<nrr.Book {self.row_count} lines {span}, currency {self.currency}, "
            f"attributes {self.attributes}>"
        )


def _open(
    con: DuckDBBackend, source: Source, role: str, remote: ibis.BaseBackend | None, url: str | None
) -> RawSource:
    if isinstance(source, pd.DataFrame):
        table = ibis.memtable(source.astype("string"))
        return open_table(con, _register(con, table), label=f"{role} DataFrame")
    if remote is not None and url is not None and not Path(str(source)).is_file():
        return open_sql(con, remote, str(source), url=url)
    return open_file(con, source, role=role)


def _register(con: ibis.BaseBackend, table: ir.Table) -> str:
    name = ibis.util.gen_name("nrr_frame")
    con.create_table(name, table, temp=True)
    return name


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

    Invalid rows raise `InputError` listing every problem (`on_invalid="fail"`), or are set
    aside (`"quarantine"`): `Book.intake` then holds the rejected rows and the
    reconciliation of every source.
    """
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
    if len(currency) != 3 or not currency.isalpha():
        raise InputError(
            Problem(
                source="--currency", message=f"{currency!r} is not an ISO 4217 code such as USD"
            )
        )
    if db is not None and not Path(db).is_file():
        raise InputError(
            Problem(source="--db", message=f"{db}: no such DuckDB file (nrr demo writes one)")
        )
    # nrr only reads the file (its own tables are temporary), so several commands, or a
    # running `nrr serve`, can read the same file at once.
    con = ibis.duckdb.connect(str(db), read_only=True) if db is not None else ibis.duckdb.connect()
    # DuckDB draws its own progress bar on stdout for long queries; stdout is for results.
    con.raw_sql("SET enable_progress_bar_print = false")
    # Bounded memory: DuckDB spills to disk beyond this instead of growing with the input.
    limit = os.environ.get("NRR_MEMORY_LIMIT", "1GB")
    try:
        con.raw_sql(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error:
        raise InputError(
            Problem(source="NRR_MEMORY_LIMIT", message=f"{limit!r} is not a size such as 2GB")
        ) from None
    spill = Path(tempfile.gettempdir()) / "nrr-spill"
    con.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
    remote = connect(url) if url is not None else None
    tables = set(con.list_tables()) if db is not None else set()

    def source(given: Source | None, role: str, required: bool) -> RawSource | None:
        if given is not None:
            return _open(con, given, role, remote, url)
        if role in tables:
            return open_table(con, role, label=f"{Path(str(db)).name}:{role}")
        if required:
            raise InputError(
                Problem(
                    source="--subscriptions",
                    message="no subscriptions input; "
                    "give a CSV or Parquet file with --subscriptions",
                )
            )
        return None

    subs_raw = source(subscriptions, "subscriptions", required=True)
    if subs_raw is None:
        raise InternalError("a required source came back empty")
    customers_raw = source(customers, "customers", required=False)
    rates_raw = source(fx_rates, "fx_rates", required=False)
    rates = load_rates(rates_raw, base=currency, max_problems=max_problems)

    intake.open_account(subs_raw, con)
    subs_raw, origin = apply_mapping(subs_raw, columns or {})
    metadata: RawSource | None = None
    if source_format == "stripe":
        subs_raw, metadata = stripe_lines(con, subs_raw, intake, conventions)
    elif source_format == "invoices":
        subs_raw = invoice_lines(con, subs_raw, intake, currency)
    elif source_format == "snapshots":
        subs_raw = snapshot_lines(con, subs_raw, intake, currency)
    lines = validate_subscriptions(
        con,
        subs_raw,
        base_currency=currency,
        intake=intake,
        first_rates=rates.first_months(),
        origin=origin,
    )
    attributes = None
    if customers_raw is not None:
        intake.open_account(customers_raw, con)
        attributes = validate_customers(con, customers_raw, intake=intake)
    elif metadata is not None:
        attributes = validate_customers(con, metadata, intake=intake)
    if not intake.quarantine:
        check_coverage(
            lines,
            rates,
            source=subs_raw.name,
            rates_source=rates_raw.name
            if rates_raw is not None
            else "an fx_rates file (--fx-rates)",
        )
    for account in intake.accounts.values():
        account.check()
    return Book(
        con=con,
        lines=lines,
        customers=attributes,
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
    )
