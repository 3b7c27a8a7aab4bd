"""The dashboard's data side: one book, one lock around the engine, a cache of computed views.

Every request's parameters are checked here against the book before any engine work: month
against the months in the data, attribute names against the book's attributes, filter
values against the values the book holds, customer ids against the ids it holds. Only then do
they reach the library, which compares values as data; no request text becomes SQL.

The book's data cannot change while the server runs, so a result computed for one set of
parameters is kept (a bounded LRU) and served again without touching the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from nrr.attributes import attribute_names
from nrr.errors import InputError, Problem
from nrr.metrics.window import FX_MODES
from nrr.months import month_label, parse_month
from nrr.present.views import default_by

if TYPE_CHECKING:
    from nrr.analysis.drill import SliceCustomers
    from nrr.analysis.history import CustomerHistory
    from nrr.book import Book
    from nrr.present.views import HealthView, Views

__all__ = ["DEFAULT_WINDOW", "MAX_WINDOW", "Params", "Service"]

T = TypeVar("T")

DEFAULT_WINDOW = 12
MAX_WINDOW = 120
# Enough for every filter bar combination a few people click through in a session; each entry
# is a result object or a rendered page, not the data.
CACHE_SIZE = 128
# Values listed in an error message before "and N more".
_SHOWN_VALUES = 30


@dataclass(frozen=True)
class Params:
    """The checked parameters every view shares: the window and the segment filter."""

    end: str
    window: int
    by: str | None
    fx_mode: str
    filter: str | None = None
    value: str | None = None

    @property
    def start(self) -> str:
        return month_label(parse_month(self.end) - self.window)

    def query(self, **changes: object) -> str:
        """The URL query string of these parameters (with `changes`), for links."""
        values: dict[str, Any] = {**asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v is not None})


class Service:
    """The book behind the dashboard, with the checks and the cache every route uses."""

    def __init__(self, book: Book, *, cache_size: int = CACHE_SIZE) -> None:
        self.book = book
        # One DuckDB connection serves every request: engine work runs one call at a time.
        self.lock = threading.RLock()
        # Guards the cache itself, held only for a lookup or an insert.
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_size = cache_size
        with self.lock:
            latest = book.latest_month()
            first = book.first_month
        self.attributes: list[str] = list(book.attributes)
        # Tenure changes every month, so it slices a window but cannot filter a book.
        self.filterable: list[str] = [a for a in self.attributes if a != "tenure"]
        self.default_by = default_by(book)
        if latest is None or first is None:
            self.months: list[str] = []
        else:
            self.months = [month_label(m) for m in range(min(first, latest), latest + 1)]
        self.default_end = self.months[-1] if self.months else None

    # --- the cache ------------------------------------------------------------------------

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()`'s value for `key`, computed once (under the engine lock).

        A value already computed is served without waiting for the engine, even while another
        request is computing something else."""
        found, value = self._lookup(key)
        if found:
            return value  # type: ignore[no-any-return]
        with self.lock:
            # Another request may have computed it while this one waited for the engine.
            found, value = self._lookup(key)
            if found:
                return value  # type: ignore[no-any-return]
            value = compute()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value  # type: ignore[no-any-return]

    def _lookup(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return True, self._cache[key]
        return False, None

    # --- what the book holds --------------------------------------------------------------

    def values(self, attribute: str) -> list[str]:
        """The values of a filterable attribute (checked first)."""
        self.check_names(attribute, self.filterable, "filter")
        return self.cached(("values", attribute), lambda: self.book.values(attribute))

    def customer_ids(self) -> frozenset[str]:
        from nrr.metrics.contents import customer_ids

        return self.cached(("customer_ids",), lambda: customer_ids(self.book.tables()))

    def scoped(self, params: Params) -> Book:
        """The book, or with a segment filter the book restricted to that slice."""
        if params.filter is None or params.value is None:
            return self.book
        attribute, value = params.filter, params.value
        return self.cached(("where", attribute, value), lambda: self.book.where(attribute, value))

    # --- checks ---------------------------------------------------------------------------

    @staticmethod
    def check_names(text: str, allowed: list[str], param: str) -> list[str]:
        """The attribute names of `text` (one, or several joined by commas), each allowed."""
        names = attribute_names(text)
        for name in names:
            if name not in allowed:
                raise InputError(
                    Problem(
                        source=param,
                        message=f"no attribute {name!r}; use one of: {', '.join(allowed)} "
                        "(or two joined by a comma, as in segment,market)",
                    )
                )
        if len(set(names)) != len(names):
            raise InputError(Problem(source=param, message=f"{text!r} names an attribute twice"))
        return names

    def month(self, text: str | None, param: str) -> str | None:
        """A month of the data (`YYYY-MM`), or None when not given."""
        if text is None:
            return None
        label = month_label(parse_month(text, what=param))
        if label not in self.months:
            span = f"{self.months[0]} to {self.months[-1]}" if self.months else "none"
            raise InputError(
                Problem(
                    source=param,
                    message=f"{label} is outside the months in the data ({span})",
                )
            )
        return label

    def end(self, text: str | None) -> str:
        label = self.month(text, "end") or self.default_end
        if label is None:
            raise InputError(
                Problem(source="end", message="the data holds no revenue, so no month to show")
            )
        return label

    def params(
        self,
        *,
        end: str | None = None,
        window: int = DEFAULT_WINDOW,
        by: str | None = None,
        fx_mode: str = "spot",
        filter: str | None = None,
        value: str | None = None,
        slices: bool = True,
    ) -> Params:
        """Check the shared parameters against the book; an InputError names what is wrong.

        Without `by`, the views are sliced by the dashboard's default attribute (`slices`),
        or not at all (as the CLI without --by)."""
        if not 1 <= window <= MAX_WINDOW:
            raise InputError(
                Problem(source="window", message=f"{window} is not between 1 and {MAX_WINDOW}")
            )
        if fx_mode not in FX_MODES:
            raise InputError(
                Problem(source="fx_mode", message=f"{fx_mode!r} is not one of {FX_MODES}")
            )
        if by is None and slices:
            by = self.default_by
        if by is not None:
            self.check_names(by, self.attributes, "by")
        filter = filter or None
        if filter is None:
            if value is not None:
                raise InputError(
                    Problem(source="value", message="a value needs filter, the attribute it is of")
                )
        else:
            if value is None:
                raise InputError(
                    Problem(
                        source="value",
                        message=f"filter {filter!r} needs value, one of the attribute's values",
                    )
                )
            known = self.values(filter)
            if value not in known:
                shown = ", ".join(known[:_SHOWN_VALUES])
                more = (
                    f" and {len(known) - _SHOWN_VALUES} more" if len(known) > _SHOWN_VALUES else ""
                )
                raise InputError(
                    Problem(
                        source="value",
                        message=f"no {filter} {value!r} in the data; the values are: "
                        f"{shown}{more} (GET /api/meta lists them all)",
                    )
                )
        return Params(
            end=self.end(end), window=window, by=by, fx_mode=fx_mode, filter=filter, value=value
        )

    def customer(self, customer_id: str) -> str:
        from nrr.analysis.history import UnknownCustomer

        if customer_id not in self.customer_ids():
            raise UnknownCustomer(
                Problem(source="customer", message=f"no customer {customer_id!r} in the data")
            )
        return customer_id

    # --- computed views -------------------------------------------------------------------

    def views(self, params: Params) -> Views:
        """Every view of the dashboard page (the report's `build_views`), computed once."""
        from nrr.present.views import build_views, health_view

        def health(book: Book, end: str) -> HealthView:
            # Health depends on the end month and the filter only: kept across window changes.
            key = ("health-view", params.filter, params.value, end)
            return self.cached(key, lambda: health_view(book, end))

        def compute() -> Views:
            return build_views(
                self.scoped(params),
                end=params.end,
                window=params.window,
                by=params.by,
                fx_mode=params.fx_mode,
                health=health,
            )

        return self.cached(("views", params), compute)

    def sections(self, params: Params) -> str:
        """The dashboard's sections (the report's `render_sections`), each slice and each
        customer of the risks and opportunities linking to its drill-down page."""
        from nrr.present.report import render_sections

        def drill(attribute: str, value: str) -> str:
            return "/drill/segment?" + params.query(by=attribute, segment=value)

        def customer(customer_id: str) -> str:
            return "/drill/customer?" + urlencode({"customer": customer_id, "end": params.end})

        return self.cached(
            ("sections", params),
            lambda: render_sections(self.views(params), drill=drill, customer=customer),
        )

    def slices(self, params: Params) -> list[str]:
        """The names of the window's slices of `by`, as /api/metrics lists them."""

        def compute() -> list[str]:
            book = self.scoped(params)
            result = book.window(
                params.end, window=params.window, by=params.by, fx_mode=params.fx_mode
            )
            return [name for name, _ in result.segments]

        return self.cached(("slices", params), compute)

    def slice_customers(self, params: Params, segment: str) -> SliceCustomers:
        from nrr.analysis.drill import slice_customers

        names = self.slices(params)
        if segment not in names:
            shown = ", ".join(names[:_SHOWN_VALUES])
            more = f" and {len(names) - _SHOWN_VALUES} more" if len(names) > _SHOWN_VALUES else ""
            raise InputError(
                Problem(
                    source="segment",
                    message=f"no slice {segment!r} of {params.by} in the window "
                    f"{params.start} -> {params.end}; the slices are: {shown or 'none'}{more}",
                )
            )

        def compute() -> SliceCustomers:
            return slice_customers(
                self.scoped(params),
                end=params.end,
                window=params.window,
                by=params.by or self.default_by,
                value=segment,
                fx_mode=params.fx_mode,
            )

        return self.cached(("slice-customers", params, segment), compute)

    def slice_record(self, params: Params, segment: str) -> dict[str, object]:
        from nrr.records.drill import slice_record

        return slice_record(self.slice_customers(params, segment))

    def history(self, customer: str, start: str | None, end: str | None) -> CustomerHistory:
        from nrr.analysis.history import customer_history

        customer = self.customer(customer)
        first, last = self.month(start, "start"), self.month(end, "end")
        if first is not None and last is not None and last < first:
            raise InputError(Problem(source="end", message=f"{last} is before start {first}"))
        return self.cached(
            ("history", customer, first, last),
            lambda: customer_history(self.book, customer, start=first, end=last),
        )

    def history_record(
        self, customer: str, start: str | None, end: str | None
    ) -> dict[str, object]:
        from nrr.records.drill import history_record

        return history_record(self.history(customer, start, end))
