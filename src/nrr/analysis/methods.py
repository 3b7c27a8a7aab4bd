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
from typing import ClassVar

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from nrr.book import Book
from nrr.errors import InternalError
from nrr.ledger import as_count, returns, snapshot
from nrr.limits import check_months_count
from nrr.months import month_label, parse_month
from nrr.movements import bridge_rates, customer_movements
from nrr.results import BridgeMonth, as_decimal, ratio_of
from nrr.retention import customer_window
from nrr.validate import MONEY

__all__ = ["Method", "MethodsResult", "Movements", "compare_methods"]

_WEIGHT = "decimal(18, 9)"
_LOCAL = "decimal(20, 9)"  # 8 decimals, widened to the weights' scale for ibis
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
        from nrr.present.methods import methods_record

        rows = methods_record(self)["methods"]
        return pd.DataFrame(rows).set_index("method")  # type: ignore[arg-type]


def compare_methods(book: Book, *, end: str, window: int = 12) -> MethodsResult:
    """Every method for the window of `window` months ending `end` (`YYYY-MM`)."""
    e = parse_month(end, what="--end")
    check_months_count(window)
    s = e - window
    per_customer = _per_customer(book, s, e)
    totals = per_customer.to_pyarrow().to_pylist()
    groups = {bool(r["in_cohort"]): r for r in totals}
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


def _per_customer(book: Book, s: int, e: int) -> ir.Table:
    """Totals over the window for the cohort (in_cohort) and for everyone else.

    Per customer: its MRR at `s` and `e` (`customer_window`, spot) and its monthly movements
    of `s+1..e`. Its monthly fx is what the identity leaves: MRR(e at e) - MRR(s at s) equals
    the sum of its monthly fx and movements, new and reactivation included.
    """
    lines = book.lines
    window = customer_window(lines, book.rates, book.currencies, s, e, "spot").view()
    steps = book.ledger.steps
    began = returns(steps, book.conventions.reactivation_window)
    rates = bridge_rates(book.lines, book.rates, book.currencies, list(range(s, e + 1)))
    moves = customer_movements(steps, rates, began, s + 1, e)
    kinds = ("new", "reactivation", "expansion", "contraction", "churn")
    summed = (
        moves.group_by("customer_id").agg(**{k: moves[k].sum().cast(MONEY) for k in kinds}).view()
    )
    both = window.outer_join(summed, window.customer_id == summed.customer_id)
    zero = ibis.literal(Decimal(0)).cast(MONEY)

    def value(column: ir.NumericValue) -> ir.NumericValue:
        return ibis.coalesce(column, zero).cast(MONEY)

    t = both.select(
        s_s=value(window.s_s),
        e_s=value(window.e_s),
        e_e=value(window.e_e),
        **{k: value(summed[k]) for k in kinds},
    )
    moved = t.new + t.reactivation + t.expansion - t.contraction - t.churn
    t = t.mutate(fx=(t.e_e - t.s_s - moved).cast(MONEY), in_cohort=t.s_s > 0)
    kept = t.e_e > 0
    t = t.mutate(
        fx_net=(t.e_e - t.e_s).cast(MONEY),
        expansion_net=ibis.ifelse(t.e_s > t.s_s, t.e_s - t.s_s, zero).cast(MONEY),
        contraction_net=ibis.ifelse(kept & (t.s_s > t.e_s), t.s_s - t.e_s, zero).cast(MONEY),
        churn_net=ibis.ifelse(kept, zero, t.s_s).cast(MONEY),
    )
    retimed = (
        (t.fx != t.fx_net)
        | (t.expansion != t.expansion_net)
        | (t.contraction != t.contraction_net)
        | (t.churn != t.churn_net)
    )
    # Outside the cohort only customers who started inside the window have movements.
    counted = t.in_cohort | (t.new + t.reactivation > 0)
    t = t.filter(counted)
    return t.group_by("in_cohort").agg(
        customers=t.count(),
        starting=t.s_s.sum().cast(MONEY),
        ending=t.e_e.sum().cast(MONEY),
        retimed=as_count(retimed).sum(),
        # A cohort customer that leaves and returns is a comeback, whether the bridge counts
        # the return as a reactivation or, past `--reactivation-window`, as new.
        comebacks=(t.new + t.reactivation).sum().cast(MONEY),
        comeback_customers=as_count(t.new + t.reactivation > 0).sum(),
        **{
            k: t[k].sum().cast(MONEY)
            for k in (
                "fx",
                "expansion",
                "contraction",
                "churn",
                "fx_net",
                "expansion_net",
                "contraction_net",
                "churn_net",
            )
        },
    )


@dataclass(frozen=True)
class _Trailing:
    cohort_month: str
    customers: int
    prior: Decimal
    recent: Decimal


def _trailing_revenue(book: Book, e: int, k: int) -> _Trailing:
    """Revenue of months e-k+1..e and e-2k+1..e-k from the customers active in e-2k.

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
    for currency in book.currencies:
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
    table = ibis.memtable(
        pa.table(
            {
                "currency": pa.array([w[0] for w in weights], pa.string()),
                "t": pa.array([w[1] for w in weights], pa.int64()),
                "w_prior": pa.array([w[2] for w in weights], pa.decimal128(18, 9)),
                "w_recent": pa.array([w[3] for w in weights], pa.decimal128(18, 9)),
            }
        )
    )
    cohort = snapshot(book.lines, cohort_m)
    cohort = cohort.filter(cohort.local > 0).select("customer_id").distinct()
    changes = book.ledger.changes
    changes = changes.filter(changes.month <= e)
    # A change before the first month counts in every month of both periods, as at `first`.
    changes = changes.mutate(t=ibis.greatest(changes.month, first))
    joined = changes.join(cohort, "customer_id").join(table, ["currency", "t"])
    local = joined.delta.cast(_LOCAL)
    # 8 decimals x 9 decimals: exact in MONEY's 17 (fx.convert caps a rate at 8 integer digits,
    # which a sum of rates can pass).
    totals = joined.aggregate(
        prior=(local * joined.w_prior.cast(_WEIGHT)).cast(MONEY).sum().cast(MONEY),
        recent=(local * joined.w_recent.cast(_WEIGHT)).cast(MONEY).sum().cast(MONEY),
    )
    record = totals.to_pyarrow().to_pylist()[0]
    customers = cohort.count().to_pyarrow().as_py()
    return _Trailing(
        cohort_month=month_label(cohort_m),
        customers=int(customers or 0),
        prior=as_decimal(record["prior"]),
        recent=as_decimal(record["recent"]),
    )
