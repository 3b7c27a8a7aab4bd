"""`Book`: the Python API over one set of inputs (read by `nrr.load`, in loading.py).

    import nrr
    book = nrr.load(subscriptions="subs.csv", customers="customers.csv",
                    fx_rates="fx.csv", currency="USD")
    book.metrics(end="2024-12", window=12, by="segment")   # pandas DataFrame
    book.movements(start="2024-01", end="2024-12")          # pandas DataFrame

`Book.window()` and `Book.bridge()` return the exact (unrounded) result objects that the
DataFrame methods and the CLI present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from nrr.attributes import check_attribute
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.conventions import Conventions
from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.fx import RateBook
from nrr.health.inputs import Signals
from nrr.health.settings import DEFAULT_HEALTH, HealthSettings
from nrr.intake import Intake
from nrr.limits import check_months_count
from nrr.memory import within_memory
from nrr.metrics.bridge import monthly_bridge
from nrr.metrics.contents import restricted, slice_values, span
from nrr.metrics.tables import BookTables
from nrr.metrics.window import FX_MODES, window_metrics
from nrr.months import month_label, parse_month
from nrr.products import PRODUCT, product_bridge, product_window
from nrr.results import BridgeMonth, WindowResult
from nrr.sql.render import Relation, bind, parse_query, render

if TYPE_CHECKING:
    import pandas as pd

    from nrr.analysis.causes import CausesResult
    from nrr.analysis.cohorts import CohortResult
    from nrr.analysis.impact import ImpactResult
    from nrr.analysis.methods import MethodsResult
    from nrr.analysis.owners import OwnersResult
    from nrr.analysis.rates import RatesResult
    from nrr.analysis.trends import TrendResult
    from nrr.analysis.whatif import WhatIfResult
    from nrr.health.results import HealthResult, Opportunity, Risk

__all__ = ["Book", "Inputs"]


@dataclass(frozen=True)
class _Columns:
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Inputs:
    """Where the book's data came from, by the names users gave."""

    subscriptions: str
    customers: str | None
    fx_rates: str | None
    source_format: str = "canonical"


class Book:
    """Validated subscription lines, attributes and rates, ready for metrics.

    The bridge of an end month and the last whole-book trend series are kept, so the
    report's analyses do not compute them again. A `where` book has its own."""

    def __init__(
        self,
        *,
        tables: BookTables,
        rates: RateBook,
        inputs: Inputs,
        intake: Intake | None = None,
        conventions: Conventions | None = None,
        benchmarks: Benchmarks = DEFAULT_BENCHMARKS,
        filters: tuple[tuple[str, str], ...] = (),
        signals: Callable[[], Signals] | None = None,
        health: HealthSettings = DEFAULT_HEALTH,
    ) -> None:
        self._signals = _Once(signals or Signals)
        # (by, end, reactivation window) -> (first month, rows): see `bridge`.
        self._bridges: dict[tuple[str | None, int, int | None], tuple[int, list[BridgeMonth]]] = {}
        self._trends: dict[str, TrendResult] = {}
        self._tables = tables
        self.health_settings = health
        self.filters = filters
        self.rates = rates
        self.inputs = inputs
        self.intake = intake or Intake()
        self.conventions = conventions or Conventions()
        self.benchmarks = benchmarks
        self.currency = rates.base
        self._span = span(tables)
        self.currencies: list[str] = self._span.currencies
        self.row_count: int = self._span.line_count
        self.first_month: int | None = self._span.first

    @property
    def engine(self) -> Engine:
        """The engine the book's metrics run on (`nrr.engines`)."""
        return self._tables.engine

    @property
    def lines(self) -> pd.DataFrame:
        """The checked lines (`BookTables` says their columns), fetched from the engine as a
        pandas DataFrame, money as exact `Decimal`s."""
        return self._frame(self._tables.lines)

    @property
    def customers(self) -> pd.DataFrame | None:
        """The checked customers (customer_id and each attribute, `(none)` when empty) as a
        pandas DataFrame; None when the book has no customers input."""
        if self._tables.customers is None:
            return None
        return self._frame(self._tables.customers)

    def _frame(self, relation: Relation) -> pd.DataFrame:
        import pandas as pd

        engine = self._tables.engine
        query = bind(parse_query("SELECT * FROM source"), tables={"source": relation})
        found = engine.fetch(render(query, engine.dialect))
        # As objects: exact Decimals, and None (not NaN) where a value is missing.
        return pd.DataFrame(found.rows, columns=list(found.columns), dtype=object)

    def tables(self) -> BookTables:
        """Where the checked lines and customers are in the engine, for `nrr.metrics`."""
        return self._tables

    @property
    def customer_columns(self) -> _Columns | None:
        """The customers' column names, for checking a `by` (`check_attribute`)."""
        if self._tables.customers is None:
            return None
        return _Columns(("customer_id", *self._tables.attributes))

    @property
    def attributes(self) -> list[str]:
        """Names usable as `by=`: the customers file's columns plus cohort and tenure."""
        return ["cohort", "tenure", *self._tables.attributes]

    @within_memory
    def values(self, attribute: str) -> list[str]:
        """The values `attribute` takes in this book (`(none)` for customers without one)."""
        check_attribute(attribute, self.customer_columns, allow_tenure=False)
        return slice_values(self.tables(), attribute)

    @within_memory
    def where(self, attribute: str, value: str) -> Book:
        """This book restricted to the customers whose `attribute` is `value`.

        `attribute` is a customers column or `cohort` (or several joined by commas, with the
        values joined by " × " as in slices); customers without a value are `(none)`. Every
        metric of the result counts only those customers' lines. The value is compared as
        data, never spliced into SQL.
        """
        check_attribute(attribute, self.customer_columns, allow_tenure=False, flag="--filter")
        if not isinstance(value, str):
            raise InputError(
                Problem(
                    source="--filter",
                    message=f"got {value!r} ({type(value).__name__}); give the value as text, "
                    "as slices show it",
                )
            )
        return Book(
            tables=restricted(self.tables(), attribute, value),
            rates=self.rates,
            inputs=self.inputs,
            intake=self.intake,
            conventions=self.conventions,
            benchmarks=self.benchmarks,
            filters=(*self.filters, (attribute, value)),
            signals=self._signals,
            health=self.health_settings,
        )

    @within_memory
    def latest_month(self) -> int | None:
        """The last month any line starts or is in service in: the natural default window
        end."""
        return self._span.last

    @within_memory
    def window(
        self, end: str, *, window: int = 12, by: str | None = None, fx_mode: str = "spot"
    ) -> WindowResult:
        """Retention over `window` months ending `end` (`YYYY-MM`), exact."""
        end_m = parse_month(end, what="--end")
        check_months_count(window)
        if fx_mode not in FX_MODES:
            raise InputError(
                Problem(source="--fx-mode", message=f"{fx_mode!r} is not spot or constant")
            )
        if by == PRODUCT:
            return product_window(
                self.tables(),
                total=self.window(end, window=window, fx_mode=fx_mode),
                rates=self.rates,
                currencies=self.currencies,
                end=end_m,
                window=window,
                fx_mode=fx_mode,
                reactivation_window=self.conventions.reactivation_window,
            )
        check_attribute(by, self.customer_columns)
        return window_metrics(
            self.tables(),
            rates=self.rates,
            currencies=self.currencies,
            end=end_m,
            window=window,
            by=by,
            fx_mode=fx_mode,
            reactivation_window=self.conventions.reactivation_window,
        )

    @within_memory
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
        if by == PRODUCT:
            # Line-level slices: listed by the months shown, so computed for these alone.
            return product_bridge(
                self.tables(),
                overall=self.bridge(start, end),
                rates=self.rates,
                currencies=self.currencies,
                start=start_m,
                end=end_m,
                reactivation_window=self.conventions.reactivation_window,
            )
        check_attribute(by, self.customer_columns, allow_tenure=False)
        # A report asks for the bridge of one end month several times (its own chart, the
        # methods' check, the churn rates). A month's row does not depend on where the
        # bridge starts, and with the same end the same slices are listed, so a bridge
        # starting earlier holds every row of one starting later: it is computed once.
        window = self.conventions.reactivation_window
        key = (by, end_m, window)
        kept = self._bridges.get(key)
        if kept is None or kept[0] > start_m:
            rows = monthly_bridge(
                self.tables(),
                rates=self.rates,
                currencies=self.currencies,
                start=start_m,
                end=end_m,
                by=by,
                reactivation_window=window,
            )
            kept = self._bridges[key] = (start_m, rows)
        first = month_label(start_m)
        return [row for row in kept[1] if row.month >= first]

    @within_memory
    def metrics(
        self, end: str, *, window: int = 12, by: str | None = None, fx_mode: str = "spot"
    ) -> pd.DataFrame:
        """Window metrics as a DataFrame: one row overall, then one per slice; cents and ratios
        rounded exactly as the CLI prints them."""
        from nrr.records.window import window_frame

        return window_frame(self.window(end, window=window, by=by, fx_mode=fx_mode))

    @within_memory
    def movements(self, start: str, end: str, *, by: str | None = None) -> pd.DataFrame:
        """The monthly MRR bridge as a DataFrame, rounded to cents as the CLI prints it."""
        from nrr.records.window import bridge_frame

        return bridge_frame(self.bridge(start, end, by=by))

    # The analyses (docs/analysis.md). Each returns an exact result object whose `frame()`
    # gives the rounded DataFrame; the functions live in nrr.analysis.

    @within_memory
    def methods(self, end: str, *, window: int = 12) -> MethodsResult:
        """NRR by five methods for one window, with the reconciliation of their gaps."""
        from nrr.analysis.methods import compare_methods

        return compare_methods(self, end=end, window=window)

    @within_memory
    def churn_rates(self, end: str, *, window: int = 12) -> RatesResult:
        """Customer churn rate, gross and net MRR churn rates and quick ratio, per month."""
        from nrr.analysis.rates import churn_rates

        return churn_rates(self, end=end, window=window)

    @within_memory
    def trends(
        self,
        end: str,
        *,
        start: str | None = None,
        windows: Iterable[int] = (1, 3, 12),
        by: str | None = None,
        fx_mode: str = "spot",
    ) -> TrendResult:
        """Rolling NRR, GRR and logo retention for each month from `start` to `end`.

        The book keeps its last whole-book series per fx mode: a later one whose points it
        holds (the report's methods ask for the 12-month points of its own trend chart) is
        taken from it."""
        from nrr.analysis.trends import trends

        kept = self._trends.get(fx_mode) if by is None else None
        result = trends(
            self, end=end, start=start, windows=windows, by=by, fx_mode=fx_mode, within=kept
        )
        if by is None and (kept is None or len(result.overall) > len(kept.overall)):
            self._trends[fx_mode] = result
        return result

    @within_memory
    def cohorts(self, end: str, *, grain: str = "month", since: str | None = None) -> CohortResult:
        """Signup-cohort revenue and logo retention matrices (month, quarter or year)."""
        from nrr.analysis.cohorts import cohorts

        return cohorts(self, end=end, grain=grain, since=since)

    @within_memory
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

    @within_memory
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

    @within_memory
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

    @within_memory
    def whatif(
        self, end: str, *, years: int = 5, horizon: int = 12, interval: float = 0.8, seed: int = 0
    ) -> WhatIfResult:
        """Compounded NRR, the worth of one more point, and a forecast of the base's ARR."""
        from nrr.analysis.whatif import whatif

        return whatif(self, end=end, years=years, horizon=horizon, interval=interval, seed=seed)

    # Customer health (docs/health.md): scores from the optional health inputs.

    @within_memory
    def signals(self) -> Signals:
        """The health inputs given, read and checked on first use (then kept)."""
        return self._signals()

    @within_memory
    def health(self, as_of: str | None = None) -> HealthResult:
        """Every customer's health score as of a day (`YYYY-MM-DD` or `YYYY-MM`)."""
        from nrr.health.results import health_scores

        return health_scores(self, as_of)

    @within_memory
    def risks(self, as_of: str | None = None, *, owner: str = "csm") -> list[Risk]:
        """At-risk customers ranked by MRR at risk, with their reasons and owner."""
        from nrr.health.results import risks

        return risks(self.health(as_of), owner=owner)

    @within_memory
    def opportunities(
        self, as_of: str | None = None, *, owner: str = "account_manager"
    ) -> list[Opportunity]:
        """Customers showing expansion signals, ranked by potential MRR."""
        from nrr.health.results import opportunities

        return opportunities(self.health(as_of), owner=owner)

    def __repr__(self) -> str:
        span = "empty" if self.first_month is None else f"from {month_label(self.first_month)}"
        return (
            f"<nrr.Book {self.row_count} lines {span}, currency {self.currency}, "
            f"attributes {self.attributes}>"
        )


class _Once:
    """Call a function once and keep its result; calling a _Once returns that result."""

    def __init__(self, func: Callable[[], Signals]) -> None:
        self._func = func
        self._value: Signals | None = None

    def __call__(self) -> Signals:
        if self._value is None:
            self._value = self._func()
        return self._value
