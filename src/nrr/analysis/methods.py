"""Five ways to compute NRR for the same window, side by side and reconciled (docs/analysis.md).

- `cohort`: the default (METRICS.md section 4): the customers active at `s`, MRR at `e` over
  MRR at `s`, each customer's movement netted over the window.
- `bridge_sum`: what billing analytics vendors chart: starting MRR plus the monthly bridge's
  fx, expansion, contraction and churn summed over the months `s+1..e`, over starting MRR.
  It counts every customer's monthly movements, including customers who started or returned
  inside the window, and never counts a reactivation.
- `compounded`: the product of the window's `k` monthly (1-month) cohort NRRs.
- `trailing_revenue`: revenue of the last `k` months over revenue of the `k` months before,
  from the customers active at the month before those (for k = 12: the trailing-twelve-month
  method of some public filings). A month's revenue is its month-end MRR at its own rates.
- `average_annual`: the mean of the last 12 monthly values of the `k`-month cohort NRR.

The cohort and bridge-sum numerators are reconciled exactly, per movement and in customers.
Everything is valued at each month's own rates (spot); the constant-currency mode has no
monthly bridge to compare with.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from nrr.errors import InternalError
from nrr.limits import check_months_count
from nrr.metrics.movements import customer_movements
from nrr.metrics.tables import physical
from nrr.metrics.window import window_rates
from nrr.months import month_label, parse_month
from nrr.results import BridgeMonth, as_decimal, ratio_of
from nrr.sql.render import bind, compose, render, statement, values

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["Method", "MethodsResult", "Movements", "compare_methods"]

# A sum of rates over up to `window` months, at the rates' scale.
_WEIGHT = "DECIMAL(18, 9)"
# Ratios of products of monthly ratios: well beyond the 18 decimals any amount has.
_PRECISION = decimal.Context(prec=50)
AVERAGED = 12


@dataclass(frozen=True)
class Method:
    """One way of computing NRR: its value and the money behind it.

    `numerator` over `denominator` is `nrr`; for `compounded` and `average_annual`, which are
    not a ratio of two amounts, `numerator` is the ending MRR that `nrr` implies on the
    cohort's starting MRR.
    """

    NOT_MONEY: ClassVar[frozenset[str]] = frozenset({"nrr"})

    key: str
    name: str
    definition: str
    nrr: Decimal | None
    numerator: Decimal
    denominator: Decimal
    customers: int


@dataclass(frozen=True)
class Movements:
    """Money movements of a group of customers over the window, at each month's rates."""

    label: str
    customers: int
    fx: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal

    @property
    def net(self) -> Decimal:
        return self.fx + self.expansion - self.contraction - self.churn


@dataclass(frozen=True)
class MethodsResult:
    """The methods for one window and the reconciliation of cohort and bridge-sum."""

    NOT_MONEY: ClassVar[frozenset[str]] = frozenset({"monthly_nrr", "annual_nrr"})

    start: str
    end: str
    window_months: int
    currency: str
    starting_mrr: Decimal
    methods: tuple[Method, ...]
    # cohort (netted) + retiming + started_inside = bridge-sum, movement by movement
    cohort: Movements
    retiming: Movements
    started_inside: Movements
    bridge: Movements
    up_and_down: int  # cohort customers counted differently month by month, net zero
    comebacks: Decimal  # reactivations of cohort customers: in neither numerator's movements
    comeback_customers: int
    compounding: Decimal  # compounded implied numerator - bridge-sum numerator
    trailing_cohort_month: str
    prior_revenue: Decimal
    recent_revenue: Decimal
    monthly_nrr: tuple[tuple[str, Decimal | None], ...]
    annual_nrr: tuple[tuple[str, Decimal | None], ...]

    def method(self, key: str) -> Method:
        return next(m for m in self.methods if m.key == key)

    def frame(self) -> pd.DataFrame:
        """One row per method (index `method`), rounded as the CLI prints."""
        from nrr.records.methods import methods_record

        rows = methods_record(self)["methods"]
        return pd.DataFrame(rows).set_index("method")  # type: ignore[arg-type]


def compare_methods(book: Book, *, end: str, window: int = 12) -> MethodsResult:
    """Every method for the window of `window` months ending `end` (`YYYY-MM`)."""
    e = parse_month(end, what="--end")
    check_months_count(window)
    s = e - window
    groups = {bool(r["in_cohort"]): r for r in _per_customer(book, s, e)}
    inside, outside = groups.get(True, {}), groups.get(False, {})

    def amount(record: dict, key: str) -> Decimal:
        return as_decimal(record.get(key))

    cohort_size = int(inside.get("customers") or 0)
    cohort = Movements(
        "cohort, netted per customer",
        cohort_size,
        *(amount(inside, k) for k in ("fx_net", "expansion_net", "contraction_net", "churn_net")),
    )
    monthly = Movements(
        "cohort, month by month",
        cohort_size,
        *(amount(inside, k) for k in ("fx", "expansion", "contraction", "churn")),
    )
    started = Movements(
        "customers who started or returned inside the window",
        int(outside.get("customers") or 0),
        *(amount(outside, k) for k in ("fx", "expansion", "contraction", "churn")),
    )
    retiming = Movements(
        "same customers, month by month",
        int(inside.get("retimed") or 0),
        monthly.fx - cohort.fx,
        monthly.expansion - cohort.expansion,
        monthly.contraction - cohort.contraction,
        monthly.churn - cohort.churn,
    )
    bridge = Movements(
        "bridge-sum, all customers",
        cohort_size + started.customers,
        monthly.fx + started.fx,
        monthly.expansion + started.expansion,
        monthly.contraction + started.contraction,
        monthly.churn + started.churn,
    )
    comebacks = amount(inside, "comebacks")
    starting = amount(inside, "starting")
    ending = amount(inside, "ending")
    if starting + cohort.net != ending or retiming.net != -comebacks:
        raise InternalError(f"the methods' reconciliation does not add up for {end}")

    rows = book.bridge(month_label(s + 1), end)
    _check_bridge(rows, starting, bridge)
    # One rolling series gives the 1-month cohort NRRs (a bridge month's fx also revalues that
    # month's arrivals, which a 1-month cohort does not hold) and the k-month ones averaged.
    series = book.trends(
        end, start=month_label(min(s + 1, e - AVERAGED + 1)), windows=sorted({1, window})
    )
    points = {(p.month, p.window_months): p.nrr for p in series.overall}
    # A month with no customers at its start has no point: its NRR is undefined.
    monthly_nrr = tuple(
        (month_label(m), points.get((month_label(m), 1))) for m in range(s + 1, e + 1)
    )
    compounded = _product([v for _, v in monthly_nrr])
    bridge_numerator = starting + bridge.net
    implied = starting * compounded if compounded is not None else bridge_numerator

    trailing = _trailing_revenue(book, e, window)
    annual = tuple(
        (month_label(m), points.get((month_label(m), window)))
        for m in range(e - AVERAGED + 1, e + 1)
        if (month_label(m), window) in points
    )
    known = [v for _, v in annual if v is not None]
    average = _PRECISION.divide(sum(known, Decimal(0)), len(known)) if known else None

    methods = (
        Method(
            "cohort",
            "Point-to-point cohort",
            f"MRR in {end} of the customers active in {month_label(s)}, over their MRR in "
            f"{month_label(s)}; each customer netted over the window",
            ratio_of(ending, starting),
            ending,
            starting,
            cohort_size,
        ),
        Method(
            "bridge_sum",
            "Bridge-sum",
            f"starting MRR plus the monthly bridge's fx, expansion, contraction and churn of "
            f"{month_label(s + 1)}..{end} summed, over starting MRR",
            ratio_of(bridge_numerator, starting),
            bridge_numerator,
            starting,
            bridge.customers,
        ),
        Method(
            "compounded",
            "Compounded monthly",
            f"the product of the {window} monthly (1-month) NRRs of {month_label(s + 1)}..{end}",
            compounded,
            implied,
            starting,
            bridge.customers,
        ),
        Method(
            "trailing_revenue",
            "Trailing revenue",
            f"revenue of the last {window} months over the {window} months before, from the "
            f"customers active in {trailing.cohort_month}",
            ratio_of(trailing.recent, trailing.prior),
            trailing.recent,
            trailing.prior,
            trailing.customers,
        ),
        Method(
            "average_annual",
            f"Average of {AVERAGED}",
            f"the mean of the {window}-month cohort NRRs ending {annual[0][0]}..{annual[-1][0]}",
            average,
            starting * average if average is not None else Decimal(0),
            starting,
            cohort_size,
        ),
    )
    return MethodsResult(
        start=month_label(s),
        end=end,
        window_months=window,
        currency=book.currency,
        starting_mrr=starting,
        methods=methods,
        cohort=cohort,
        retiming=retiming,
        started_inside=started,
        bridge=bridge,
        up_and_down=int(inside.get("retimed") or 0) - int(inside.get("comeback_customers") or 0),
        comebacks=comebacks,
        comeback_customers=int(inside.get("comeback_customers") or 0),
        compounding=implied - bridge_numerator,
        trailing_cohort_month=trailing.cohort_month,
        prior_revenue=trailing.prior,
        recent_revenue=trailing.recent,
        monthly_nrr=monthly_nrr,
        annual_nrr=annual,
    )


def _product(values: list[Decimal | None]) -> Decimal | None:
    if not values or any(v is None for v in values):
        return None
    result = Decimal(1)
    for value in values:
        result = _PRECISION.multiply(result, value)  # type: ignore[arg-type]
    return result


def _check_bridge(rows: list[BridgeMonth], starting: Decimal, bridge: Movements) -> None:
    """The per-customer sums must equal the monthly bridge's own totals, to the last digit."""
    if not rows:
        return
    summed = [sum((getattr(r, k) for r in rows), Decimal(0)) for k in ("fx", "expansion")]
    summed += [sum((getattr(r, k) for r in rows), Decimal(0)) for k in ("contraction", "churn")]
    ours = [bridge.fx, bridge.expansion, bridge.contraction, bridge.churn]
    if rows[0].starting_mrr != starting or summed != ours:
        raise InternalError(
            f"per-customer movements {ours} differ from the monthly bridge's {summed}"
        )


def _per_customer(book: Book, s: int, e: int) -> list[dict[str, Any]]:
    """Totals over the window for the cohort (in_cohort) and for everyone else
    (`methods_reconciliation.sql`).

    Per customer: its MRR at `s` and `e` (`window.sql`, spot) and its monthly movements of
    `s+1..e` (`customer_movements.sql`)."""
    tables = book.tables()
    sources = physical(tables)
    inputs = {
        "window_rates": window_rates(book.rates, book.currencies, s, e, "spot"),
        "customer_values": bind(
            statement("ledger/window.sql"), tables=sources, params={"s": s, "e": e}
        ),
        "movements": customer_movements(
            sources,
            rates=book.rates,
            currencies=book.currencies,
            first=s + 1,
            last=e,
            reactivation_window=book.conventions.reactivation_window,
        ),
    }
    query = compose(statement("analysis/methods_reconciliation.sql"), inputs)
    return tables.engine.fetch(render(query, tables.engine.dialect)).records()


@dataclass(frozen=True)
class _Trailing:
    cohort_month: str
    customers: int
    prior: Decimal
    recent: Decimal


def _trailing_revenue(book: Book, e: int, k: int) -> _Trailing:
    """Revenue of months e-k+1..e and e-2k+1..e-k from the customers active in e-2k
    (`trailing_revenue.sql`).

    A customer's revenue over months a..b is the sum of its month-end MRR at each month's
    rates. Its MRR in a month is the running sum of its deltas, so a delta at month t adds
    to every month from max(t, a) to b: revenue = sum of delta x (sum of rates over those
    months). The sums of rates are computed once per currency, so the cost grows with the
    deltas, not with customers x months.
    """
    cohort_m = e - 2 * k
    prior_months = range(e - 2 * k + 1, e - k + 1)
    recent_months = range(e - k + 1, e + 1)
    first = prior_months[0]
    weights = []
    for currency in book.rates.valued(book.currencies):
        rate = {m: book.rates.valuation_rate(currency, m) for m in range(first, e + 1)}
        for t in range(first, e + 1):
            weights.append(
                (
                    currency,
                    t,
                    sum((rate[m] for m in prior_months if m >= t), Decimal(0)),
                    sum((rate[m] for m in recent_months if m >= t), Decimal(0)),
                )
            )
    columns = [("currency", "VARCHAR"), ("t", "BIGINT"), ("w_prior", _WEIGHT)]
    tables = book.tables()
    query = bind(
        statement("analysis/trailing_revenue.sql"),
        tables=physical(tables),
        params={"first": first, "last": e, "cohort_month": cohort_m},
    )
    query = compose(query, {"weights": values([*columns, ("w_recent", _WEIGHT)], weights)})
    record = tables.engine.fetch(render(query, tables.engine.dialect)).records()[0]
    return _Trailing(
        cohort_month=month_label(cohort_m),
        customers=int(record["customers"] or 0),
        prior=as_decimal(record["prior"]),
        recent=as_decimal(record["recent"]),
    )
