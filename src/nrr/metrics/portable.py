"""The statements `nrr sql` prints: `nrr metrics` and `nrr movements` as one SQL statement
each over tables named `subscriptions`, `customers` and `fx_rates`, for any dialect sqlglot
renders. Run on the same data, their rows equal the commands' JSON (METRICS.md section 6), so
a data team can keep them as a view or a dbt model.

They are the statements nrr itself runs (`nrr.metrics.window`, `nrr.metrics.bridge`), with
the canonical lines and the rates computed in SQL too (`sql/sources/`), and the rounding of the
machine interface (`nrr.sql.rounding`). They trust their input: nrr's checks name the rows
they would misread."""

from __future__ import annotations

import sqlglot.expressions as sge

from nrr.attributes import DERIVED, attribute_names
from nrr.metrics.bridge import bridge_statement
from nrr.metrics.window import window_statement
from nrr.months import month_label
from nrr.sql.render import Relation, bind, compose, parse, parse_query, statement, values
from nrr.sql.rounding import half_even, ratio_rounded, ratio_steps

__all__ = ["metrics_statement", "movements_statement"]

_MONEY = ("starting_mrr", "ending_mrr", "fx", "expansion", "contraction", "churn")
_ARRIVALS = ("new_mrr", "reactivation_mrr")
_RATIOS = {
    "nrr": ("ending_mrr", "starting_mrr"),
    "grr": ("starting_mrr - contraction - churn", "starting_mrr"),
    "logo_retention": ("customers_retained", "customers_start"),
}
_WINDOW_RATES = """
SELECT
    currency,
    MAX(CASE WHEN month = :s THEN rate END) AS rate_s,
    MAX(CASE WHEN month = :rate_end THEN rate END) AS rate_e
FROM valuation
GROUP BY currency
"""
_BRIDGE_RATES = """
SELECT v.currency, v.month, v.rate, o.rate AS opening_rate
FROM valuation AS v
JOIN valuation AS o ON o.currency = v.currency AND o.month = v.month - 1
"""
_MOVEMENT_MONEY = (
    "starting_mrr",
    "fx",
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "churn",
    "ending_mrr",
)
# `YYYY-MM` of a month index, dividing an exact multiple of 12 in doubles.
_MONTH_TEXT = """
LPAD(CAST(CAST(CAST(month - MOD(month, 12) AS DOUBLE) / 12 AS BIGINT) AS VARCHAR), 4, '0')
|| '-' || LPAD(CAST(MOD(month, 12) + 1 AS VARCHAR), 2, '0')
"""


def _sources(base: str, by: str | None, rate_months: list[int]) -> dict[str, sge.Query]:
    """The canonical lines, the customers' attributes that `by` names, and each currency's
    valuation rate in `rate_months`, from the three input tables."""
    found: dict[str, sge.Query] = {
        "subscription_lines": bind(statement("sources/lines.sql"), params={"base": base}),
        "rate_months": values([("month", "BIGINT")], [(m,) for m in rate_months]),
        "valuation": bind(
            statement("sources/rates.sql"),
            tables={"calendar": "rate_months"},
            params={"base": base},
        ),
    }
    stored = [n for n in attribute_names(by) if n not in DERIVED]
    if stored:
        columns = [parse("TRIM(CAST(customer_id AS VARCHAR)) AS customer_id")]
        for name in stored:
            quoted = sge.column(sge.to_identifier(name, quoted=True))
            text = sge.Trim(this=sge.cast(quoted, "VARCHAR"))
            value = sge.Nullif(this=text, expression=sge.Literal.string(""))
            columns.append(sge.alias_(value, sge.to_identifier(name, quoted=True)))
        found["customer_attributes"] = sge.select(*columns).from_("customers")
    return found


def _names(by: str | None) -> dict[str, Relation]:
    names: dict[str, Relation] = {"lines": "subscription_lines"}
    if any(n not in DERIVED for n in attribute_names(by)):
        names["customers"] = "customer_attributes"
    return names


def metrics_statement(
    *,
    base: str,
    end: int,
    window: int,
    by: str | None,
    fx_mode: str,
    reactivation_window: int | None,
) -> sge.Query:
    """`nrr metrics --format json` as rows: start, end, window_months, currency, fx_mode,
    segment (NULL for the overall row) and the figures of METRICS.md section 4."""
    start = end - window
    rate_end = end if fx_mode == "spot" else start
    upstream = _sources(base, by, sorted({start, rate_end}))
    rates = bind(parse_query(_WINDOW_RATES), params={"s": start, "rate_end": rate_end})
    totals = window_statement(
        _names(by),
        rates=rates,
        start=start,
        end=end,
        by=by,
        reactivation_window=reactivation_window,
    )
    totals = compose(totals, upstream)
    sums = [*_MONEY, "customers_start", "customers_retained", *_ARRIVALS]
    overall = sge.select(
        sge.alias_(sge.cast(sge.Null(), "VARCHAR"), "segment"),
        *[
            sge.alias_(
                sge.Coalesce(this=sge.Sum(this=sge.column(n)), expressions=[sge.Literal.number(0)]),
                n,
            )
            for n in sums
        ],
    ).from_("totals")
    figures: sge.Query = overall
    if by is not None:
        figures = overall.union(sge.select("segment", *sums).from_("totals"), distinct=False)
    layer: sge.Query = figures
    steps = [ratio_steps(n, parse(top), parse(bottom)) for n, (top, bottom) in _RATIOS.items()]
    for depth in range(3):
        added = [sge.alias_(e, c) for step in steps for c, e in step[depth].items()]
        inner = sge.Subquery(this=layer, alias=sge.TableAlias(this=f"step{depth}"))
        layer = sge.select("*", *added).from_(inner)
    params: dict[str, object] = {
        "start_month": month_label(start),
        "end_month": month_label(end),
        "window_months": window,
        "currency": base,
        "fx_mode": fx_mode,
    }
    for name in (*_MONEY, *_ARRIVALS):
        params[name] = half_even(sge.column(name), 2)
    for name, (_, bottom) in _RATIOS.items():
        params[name] = ratio_rounded(name, parse(bottom))
    shown = bind(statement("present/metrics.sql"), params=params)
    return compose(shown, {"totals": totals, "figures": layer})


def movements_statement(
    *,
    base: str,
    start: int,
    end: int,
    by: str | None,
    reactivation_window: int | None,
) -> sge.Query:
    """`nrr movements --format json` as rows: segment (with `by` only), month and the bridge's
    columns of METRICS.md section 6."""
    upstream = _sources(base, by, list(range(start - 2, end + 1)))
    months = values([("month", "BIGINT")], [(m,) for m in range(start - 1, end + 1)])
    bridge = bridge_statement(
        _names(by),
        rates=parse_query(_BRIDGE_RATES),
        months=months,
        first=start,
        last=end,
        by=by,
        reactivation_window=reactivation_window,
    )
    bridge = compose(bridge, upstream)
    columns: list[sge.Expression] = []
    if by is not None:
        columns.append(sge.column("segment"))
    columns.append(sge.alias_(parse(_MONTH_TEXT), "month"))
    columns += [sge.alias_(half_even(sge.column(n), 2), n) for n in _MOVEMENT_MONEY]
    columns.append(sge.column("active_customers"))
    shown = sge.select(*columns).from_("bridge")
    order = [sge.Ordered(this=sge.column("month"), nulls_first=False)]
    if by is not None:
        order.insert(0, sge.Ordered(this=sge.column("segment"), nulls_first=True))
    shown = shown.order_by(*order)
    return compose(shown, {"bridge": bridge})
