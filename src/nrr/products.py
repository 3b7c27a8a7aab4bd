"""Line-level slices: `--by product` (METRICS.md section 4, "Line-level slices: --by product").

`product` is a column of the subscription lines, not of the customer, so one customer sits in
every product it pays for. The customer's own state decides what kind of movement it has (in
the cohort or not, still active or gone; new, reactivated, churned or active in both months);
its per-product MRR decides the amounts. A customer moving 100 from product A to product B has
contraction 100 in A, expansion 100 in B and no movement overall, so expansion and contraction
of the slices can exceed the totals; every other sum adds up to them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext

import ibis
import ibis.expr.types as ir

from nrr.errors import InternalError
from nrr.fetch import records, values_table
from nrr.fx import RateBook, convert, convert_line
from nrr.ledger import (
    LOCAL_SUM,
    Ledger,
    as_count,
    cached,
    customer_totals,
    live_lines,
    returns_of,
)
from nrr.months import month_label
from nrr.movements import MOVEMENT_KINDS, bridge_rates
from nrr.results import EXACT, BridgeMonth, RetentionFigures, WindowResult, as_decimal
from nrr.retention import classified_window, ends_of_lines
from nrr.validate import MONEY

__all__ = ["PRODUCT", "product_bridge", "product_window"]

PRODUCT = "product"


def _money_sum(condition: ir.BooleanValue, value: ir.NumericValue) -> ir.NumericValue:
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    return ibis.ifelse(condition, value, zero).cast(MONEY).sum().cast(MONEY)


def product_window(
    lines: ir.Table,
    *,
    total: WindowResult,
    rates: RateBook,
    currencies: list[str],
    end: int,
    window: int,
    fx_mode: str,
    reactivation_window: int | None = None,
) -> WindowResult:
    """The window of METRICS.md section 4 per product; `total` is the book's own window (no
    slices), whose figures the products' sums must equal."""
    start = end - window
    t = ends_of_lines(lines, rates, currencies, start, end, fx_mode, keep=("product",))
    per = t.group_by("customer_id", "product").agg(
        v_s_s=_money_sum(t.at_s, convert_line(t.mrr_local, t.rate_s)),
        v_e_s=_money_sum(t.at_e, convert_line(t.mrr_local, t.rate_s)),
        v_e_e=_money_sum(t.at_e, convert_line(t.mrr_local, t.end_rate)),
    )
    # The customer's own state: in the cohort, still active at the end, returning.
    state = classified_window(
        lines, rates, currencies, start, end, fx_mode, reactivation_window
    ).select("customer_id", "s_s", "e_e", "returning")
    j = per.join(state, "customer_id")
    in_c, kept = j.s_s > 0, j.e_e > 0
    zero = ibis.literal(Decimal(0)).cast(MONEY)
    change = (j.v_e_s - j.v_s_s).cast(MONEY)
    sums = j.group_by("product").agg(
        starting_mrr=_money_sum(in_c, j.v_s_s),
        ending_mrr=_money_sum(in_c, j.v_e_e),
        fx=_money_sum(in_c, j.v_e_e - j.v_e_s),
        expansion=_money_sum(in_c & kept, ibis.greatest(change, zero)),
        contraction=_money_sum(in_c & kept, ibis.greatest(-change, zero)),
        churn=_money_sum(in_c & ~kept, j.v_s_s),
        customers_start=as_count(in_c & (j.v_s_s > 0)).sum(),
        customers_retained=as_count(in_c & (j.v_s_s > 0) & (j.v_e_e > 0)).sum(),
        new_mrr=_money_sum(~in_c & kept & ~j.returning, j.v_e_e),
        reactivation_mrr=_money_sum(~in_c & kept & j.returning, j.v_e_e),
    )
    segments = []
    for r in sorted(records(sums), key=lambda r: r["product"]):
        product = r.pop("product")
        segments.append(
            (
                product,
                RetentionFigures(
                    customers_start=int(r.pop("customers_start") or 0),
                    customers_retained=int(r.pop("customers_retained") or 0),
                    **{k: as_decimal(v) for k, v in r.items()},
                ),
            )
        )
    _check_window(total.overall, segments)
    return WindowResult(
        start=total.start,
        end=total.end,
        window_months=window,
        currency=rates.base,
        fx_mode=fx_mode,
        by=PRODUCT,
        overall=total.overall,
        segments=tuple(segments),
    )


def _check_window(overall: RetentionFigures, segments: list) -> None:
    """The sums METRICS.md says add up must add up, to the last digit."""
    additive = ("starting_mrr", "ending_mrr", "fx", "churn", "new_mrr", "reactivation_mrr")
    with localcontext(EXACT):
        for name in additive:
            got = sum((getattr(f, name) for _, f in segments), Decimal(0))
            if got != getattr(overall, name):
                raise InternalError(f"the product slices' {name} do not add up: {got}")
        net = sum((f.expansion - f.contraction for _, f in segments), Decimal(0))
        if net != overall.expansion - overall.contraction:
            raise InternalError("the product slices' expansion less contraction do not add up")


def product_bridge(
    lines: ir.Table,
    *,
    overall: list[BridgeMonth],
    ledger: Ledger,
    rates: RateBook,
    currencies: list[str],
    start: int,
    end: int,
    reactivation_window: int | None = None,
) -> list[BridgeMonth]:
    """The monthly bridge per product from `start` to `end` (METRICS.md section 4); `overall`
    is the book's own bridge for those months, whose rows the products' rows must add up to.

    A customer's change in a product in month m is the sum of its lines' changes at m-1's
    rates (constant currency), so the amounts need no per-currency balances: new and
    reactivation are that change, churn its opposite, and a customer active in both months
    has the positive part as expansion and the negative part as contraction."""
    months = list(range(start - 1, end + 1))
    rate_table = bridge_rates(lines, rates, currencies, months)
    live = live_lines(lines)
    up = live.select("customer_id", "product", "currency", month=live.start_m, d=live.mrr_local)
    ended = live.filter(live.end_m.notnull())
    down = ended.select("customer_id", "product", "currency", month=ended.end_m, d=-ended.mrr_local)
    both = up.union(down, distinct=False)
    deltas = both.group_by("customer_id", "product", "currency", "month").agg(
        d=both.d.cast(LOCAL_SUM).sum().cast(LOCAL_SUM)
    )
    with cached(deltas) as deltas:
        rate = rate_table.select(r_currency="currency", r_month="month", opening="opening_rate")
        inside = deltas.filter((deltas.month >= start) & (deltas.month <= end))
        valued = inside.join(
            rate, [inside.currency == rate.r_currency, inside.month == rate.r_month]
        )
        changes = valued.group_by("customer_id", "product", "month").agg(
            dv=convert(valued.d, valued.opening).sum().cast(MONEY)
        )
        kinds = _customer_kinds(ledger, start, end, reactivation_window)
        j = changes.left_join(kinds, ["customer_id", "month"])
        # A customer whose lines only move between products in one currency has no change
        # of its own that month: it is active in both months.
        kind = j.kind.fill_null("both")
        zero = ibis.literal(Decimal(0)).cast(MONEY)
        moves = j.group_by("product", "month").agg(
            new=_money_sum(kind == "new", j.dv),
            reactivation=_money_sum(kind == "reactivation", j.dv),
            expansion=_money_sum(kind == "both", ibis.greatest(j.dv, zero)),
            contraction=_money_sum(kind == "both", ibis.greatest(-j.dv, zero)),
            churn=_money_sum(kind == "churn", -j.dv),
        )
        table: dict[str, dict[int, dict[str, object]]] = defaultdict(lambda: defaultdict(dict))
        for frame in (moves, _levels(deltas, rate_table, months), _active(deltas, months)):
            for record in records(frame):
                table[record.pop("product")][record.pop("month")].update(record)
    listed = {
        r["product"]
        for r in records(
            live.filter((live.start_m <= end) & (live.end_m.isnull() | (live.end_m > start - 1)))
            .select("product")
            .distinct()
        )
    }
    result = []
    with localcontext(EXACT):
        for product in sorted(listed):
            series = table.get(product, {})
            for month in range(start, end + 1):
                before, now = series.get(month - 1, {}), series.get(month, {})
                row = BridgeMonth(
                    month=month_label(month),
                    segment=product,
                    starting_mrr=as_decimal(before.get("closing")),
                    fx=as_decimal(now.get("closing")) - as_decimal(now.get("closing_open")),
                    ending_mrr=as_decimal(now.get("closing")),
                    active_customers=int(now.get("active") or 0),
                    **{kind: as_decimal(now.get(kind)) for kind in MOVEMENT_KINDS},
                )
                flows = row.new + row.reactivation + row.expansion - row.contraction - row.churn
                if row.starting_mrr + row.fx + flows != row.ending_mrr:
                    raise InternalError(f"the bridge of product {product} does not add up")
                result.append(row)
    _check_bridge(overall, result)
    return result


def _customer_kinds(
    ledger: Ledger, start: int, end: int, reactivation_window: int | None
) -> ir.Table:
    """(customer_id, month, kind): the customer's own change in each month it changes from
    `start` to `end`: new, reactivation, churn, or both (active before and after)."""
    per = customer_totals(ledger.steps_once())
    began = returns_of(per, reactivation_window)
    per = per.filter((per.month >= start) & (per.month <= end))
    t = per.left_join(began, ["customer_id", "month"])
    was, now = t.before > 0, t.after > 0
    returning = t.returning.fill_null(False)
    kind = ibis.cases(
        (~was & now & returning, "reactivation"),
        (~was & now, "new"),
        (was & ~now, "churn"),
        else_="both",
    )
    return t.select(customer_id=per.customer_id, month=per.month, kind=kind)


def _levels(deltas: ir.Table, rates: ir.Table, months: list[int]) -> ir.Table:
    """Per product and month: closing MRR at the month's rates and at the previous month's,
    from running sums of the deltas (as the bridge's own levels)."""
    net = deltas.group_by("product", "currency", "month").agg(d=deltas.d.sum().cast(LOCAL_SUM))
    calendar = values_table(net, {"cal_month": ("int64", months)})
    spread = net.join(calendar, net.month <= calendar.cal_month)
    level = spread.group_by("product", "currency", "cal_month").agg(
        local=spread.d.sum().cast(LOCAL_SUM)
    )
    valued = level.join(rates, [level.currency == rates.currency, level.cal_month == rates.month])
    return valued.group_by("product", month=valued.cal_month).agg(
        closing=convert(valued.local, valued.rate).sum().cast(MONEY),
        closing_open=convert(valued.local, valued.opening_rate).sum().cast(MONEY),
    )


def _active(deltas: ir.Table, months: list[int]) -> ir.Table:
    """Per product and month: the customers with MRR in that product. Local amounts of all
    currencies are summed only to tell some MRR from none (every line's MRR is > 0)."""
    per = deltas.group_by("customer_id", "product", "month").agg(d=deltas.d.sum())
    after = per.d.sum().over(
        group_by=[per.customer_id, per.product], order_by=per.month, rows=(None, 0)
    )
    per = per.mutate(after=after)
    change = as_count(per.after > 0) - as_count(per.after - per.d > 0)
    events = per.mutate(change=change).filter(change != 0)
    net = events.group_by("product", "month").agg(change=events.change.sum())
    calendar = values_table(net, {"cal_month": ("int64", months)})
    spread = net.join(calendar, net.month <= calendar.cal_month)
    return spread.group_by("product", month=spread.cal_month).agg(active=spread.change.sum())


def _check_bridge(overall: list[BridgeMonth], rows: list[BridgeMonth]) -> None:
    additive = ("starting_mrr", "ending_mrr", "fx", "new", "reactivation", "churn")
    by_month: dict[str, list[BridgeMonth]] = defaultdict(list)
    for row in rows:
        by_month[row.month].append(row)
    with localcontext(EXACT):
        for total in overall:
            parts = by_month.get(total.month, [])
            for name in additive:
                got = sum((getattr(p, name) for p in parts), Decimal(0))
                if got != getattr(total, name):
                    raise InternalError(
                        f"the product bridge's {name} for {total.month} does not add up: {got}"
                    )
            net = sum((p.expansion - p.contraction for p in parts), Decimal(0))
            if net != total.expansion - total.contraction:
                raise InternalError(f"the product bridge's net movement for {total.month}")
