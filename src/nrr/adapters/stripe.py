"""Stripe subscription items -> canonical subscription lines (docs/sources.md#stripe).

One input row is one subscription item, with Stripe's field names (API or Dashboard style:
`customer` or `Customer ID`, `current_period_end` or `Current Period End (UTC)`). The rules:

- MRR = unit price x quantity, less the discount (percent-off, or amount-off per invoice),
  less tax when the price includes it, over the interval (`interval_count` x day, week,
  month or year; a day is 1/30.4375 of a month).
- Service starts at the subscription start, or at the trial end when later: trials are not
  MRR. `incomplete`, `incomplete_expired` and `paused` subscriptions were never paid and
  carry no MRR.
- Service ends by `Conventions.churn_at`: at the end of the paid period (`ended_at`, else
  `cancel_at`, else `current_period_end` once cancelled), or on `canceled_at`. A `past_due`
  or `unpaid` subscription ends `grace_days` after its unpaid period began.
- A discount that ends (`discount_end`) splits the item into a discounted line and a
  full-price line from that day, so the discount's expiry shows as expansion.
- `metadata_*` columns (`segment (metadata)` in a Dashboard export) become customer
  attributes, taken from each customer's most recently started item.
"""

from __future__ import annotations

from collections import Counter

import ibis
import ibis.expr.types as ir

from nrr.adapters.common import (
    MONTH_DAYS,
    NUMBER,
    add_days,
    blank,
    column_of,
    date_of,
    decimal_of,
    flag_of,
    header_key,
    require,
    show,
    whole_of,
)
from nrr.adapters.common import text as _text
from nrr.conventions import Conventions
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, Intake, screen
from nrr.sources.files import ROW, RawSource

__all__ = ["STATUSES", "stripe_lines"]

STATUSES = (
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "paused",
)
_NEVER_PAID = ("incomplete", "incomplete_expired", "paused")
_UNPAID = ("past_due", "unpaid")
# ISO 4217 minor units where Stripe's are not 2 (docs.stripe.com/currencies).
_ZERO_DECIMAL = (
    *("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"),
    *("PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"),
)
_THREE_DECIMAL = ("BHD", "JOD", "KWD", "OMR", "TND")
# Stripe refuses a billing interval longer than three years: the most of each unit.
_LONGEST = {"day": 1095, "week": 156, "month": 36, "year": 3}
_TAX_BEHAVIORS = ("inclusive", "exclusive", "unspecified", "")
# Prices have at most 12 integer digits and quantities 9, so that the line's amount (price x
# quantity x 100 x 487, at most 10 decimals) stays inside decimal(38, 10) exactly.
_DIGITS = 12
_QUANTITY_DIGITS = 9
_PRICE = "decimal(38, 6)"
_RATE = "decimal(38, 4)"
_META_PREFIX = "metadata_"
_META_SUFFIX = "_metadata"


def _date_check(flag: str, column: str) -> Check:
    return Check(
        flag,
        column,
        lambda v: f"{column} is {show(v)}, not a date, timestamp (ISO) or Unix time in seconds",
    )


def stripe_lines(
    con: ibis.BaseBackend, raw: RawSource, intake: Intake, conventions: Conventions
) -> tuple[RawSource, RawSource | None]:
    """Screen a Stripe subscription-items export; return canonical lines (as text) and the
    customers' metadata attributes (None when there are no metadata columns)."""
    raw = _api_names(raw)
    need = require(
        raw,
        "stripe",
        customer=("customer", "customer_id"),
        status=("status",),
        start=("start_date", "start", "created"),
    )
    # Stripe's API gives prices in minor units (cents): price.unit_amount, plan.amount.
    price_minor = column_of(raw, "price_unit_amount", "unit_amount", "plan_amount")
    price_major = column_of(raw, "amount", "price", "unit_price")
    if price_minor is None and price_major is None:
        require(raw, "stripe", price=("unit_amount (in cents)", "amount (in currency units)"))
    col = {
        "canceled_at": column_of(raw, "canceled_at"),
        "ended_at": column_of(raw, "ended_at"),
        "cancel_at": column_of(raw, "cancel_at"),
        "cancel_at_period_end": column_of(raw, "cancel_at_period_end"),
        "current_period_start": column_of(raw, "current_period_start"),
        "current_period_end": column_of(raw, "current_period_end"),
        "trial_end": column_of(raw, "trial_end"),
        "discount_end": column_of(raw, "discount_end", "coupon_end", "discount_ends_at"),
        "interval": column_of(raw, "interval", "price_recurring_interval", "plan_interval"),
        "interval_count": column_of(
            raw, "interval_count", "price_recurring_interval_count", "plan_interval_count"
        ),
        "quantity": column_of(raw, "quantity"),
        "currency": column_of(raw, "currency"),
        "percent_off": column_of(raw, "percent_off", "coupon_percent_off"),
        "amount_off": column_of(raw, "amount_off", "coupon_amount_off"),
        "tax_percent": column_of(raw, "tax_percent", "tax_rate"),
        "tax_behavior": column_of(raw, "tax_behavior", "price_tax_behavior"),
        "product": column_of(raw, "product", "price_product", "plan_product", "plan", "price_id"),
    }
    t = raw.table
    customer = _text(raw, need["customer"])
    status = _text(raw, need["status"]).lower()
    dates = {
        name: date_of(_text(raw, col[name]))
        for name in col
        if name.endswith(("_at", "_end", "_start")) and name != "cancel_at_period_end"
    }
    start = date_of(_text(raw, need["start"]))
    currency = _text(raw, col["currency"]).upper()
    minor = price_minor is not None and price_major is None
    price_text = _text(raw, price_minor if minor else price_major)

    def money(value: ir.StringValue) -> ir.DecimalValue:
        # Stripe's minor units are whole (`unit_amount`, `amount_off`); a major-unit column
        # has at most 6 decimals, which keeps every product below exact (see `_exact`).
        if minor:
            return whole_of(value, digits=_DIGITS).cast(_PRICE)
        return decimal_of(value, digits=_DIGITS, decimals=6).cast(_PRICE)

    unit = money(price_text)
    quantity_text = _text(raw, col["quantity"])
    quantity = ibis.ifelse(
        blank(quantity_text), 1, whole_of(quantity_text, digits=_QUANTITY_DIGITS)
    )
    interval_text = _text(raw, col["interval"]).lower()
    if col["interval"] is None:
        interval_text = ibis.literal("month")
    count_text = _text(raw, col["interval_count"])
    count = (
        ibis.literal(1, "int64")
        if col["interval_count"] is None
        else whole_of(count_text, digits=4)
    )
    longest = ibis.cases(
        *((interval_text == name, ibis.literal(most)) for name, most in _LONGEST.items()),
        else_=ibis.null("int64"),
    )
    percent_text = _text(raw, col["percent_off"])
    percent = ibis.ifelse(
        blank(percent_text), 0, decimal_of(percent_text, digits=3, decimals=4)
    ).cast(_RATE)
    off_text = _text(raw, col["amount_off"])
    amount_off = ibis.ifelse(blank(off_text), 0, money(off_text)).cast(_PRICE)
    tax_text = _text(raw, col["tax_percent"])
    tax = ibis.ifelse(blank(tax_text), 0, decimal_of(tax_text, digits=2, decimals=4)).cast(_RATE)
    behavior = _text(raw, col["tax_behavior"]).lower()
    cancel_flag = flag_of(_text(raw, col["cancel_at_period_end"]))

    # Each value is parsed once, in its own projection: the checks and the money below refer
    # to the parsed columns instead of repeating the parsing in every expression (which
    # made the query text grow past a megabyte).
    step = t.select(
        t[ROW],
        customer=customer,
        status=status,
        start=start,
        currency=currency,
        unit=unit,
        quantity=quantity,
        interval_text=interval_text,
        count=count,
        longest=longest,
        percent=percent,
        amount_off=amount_off,
        tax=tax,
        behavior=behavior,
        cancel_flag=cancel_flag,
        product=_text(raw, col["product"]),
        **{f"date_{name}": value for name, value in dates.items()},
        **{f"given_{name}": ~blank(_text(raw, col[name])) for name in dates},
    )
    t = step
    customer, status, start, currency = (
        step["customer"],
        step["status"],
        step["start"],
        step["currency"],
    )
    unit, quantity, interval_text = step["unit"], step["quantity"], step["interval_text"]
    count, longest, percent, amount_off = (
        step["count"],
        step["longest"],
        step["percent"],
        step["amount_off"],
    )
    tax, behavior, cancel_flag = step["tax"], step["behavior"], step["cancel_flag"]
    inclusive = behavior == "inclusive"
    divisor = (
        ibis.cases(
            (currency.isin(_ZERO_DECIMAL), ibis.literal(1)),
            (currency.isin(_THREE_DECIMAL), ibis.literal(1000)),
            else_=ibis.literal(100),
        )
        if minor
        else ibis.literal(1)
    )
    dates = {name: step[f"date_{name}"] for name in dates}

    def bad_date(name: str) -> ir.BooleanValue:
        return step[f"given_{name}"] & dates[name].isnull()

    flags = {
        "bad_customer": blank(customer),
        "bad_status": ~status.isin(STATUSES),
        "bad_start": start.isnull(),
        **{f"bad_{name}": bad_date(name) for name in dates},
        "bad_price": unit.isnull(),
        "bad_quantity": quantity.isnull(),
        "bad_interval": longest.isnull(),
        "bad_count": longest.notnull() & (count.isnull() | (count < 1) | (count > longest)),
        "bad_currency": ~currency.re_search(r"^[A-Z]{3}$"),
        "bad_percent": percent.isnull() | (percent > 100),
        "bad_amount_off": amount_off.isnull(),
        "bad_both_off": (percent > 0) & (amount_off > 0),
        "bad_tax": tax.isnull() | (tax >= 100),
        "bad_tax_behavior": ~behavior.isin(_TAX_BEHAVIORS),
        "bad_cancel_flag": cancel_flag.isnull(),
        "bad_trial": (status == "trialing") & ~step["given_trial_end"],
    }
    checks = (
        Check(
            "bad_customer",
            need["customer"],
            lambda v: f"{need['customer']} is empty; every item needs the customer it bills",
        ),
        Check(
            "bad_status",
            need["status"],
            lambda v: (
                f"status {show(v)} is not a Stripe subscription status ({', '.join(STATUSES)})"
            ),
        ),
        _date_check("bad_start", need["start"]),
        *(_date_check(f"bad_{name}", col[name] or name) for name in dates),
        Check(
            "bad_price",
            (price_minor if minor else price_major) or "amount",
            lambda v: (
                f"price {show(v)} is not "
                + (
                    "a whole number >= 0 in the currency's minor unit (cents), as Stripe writes it"
                    if minor
                    else "a number >= 0 written with digits and at most 6 decimals (49.00)"
                )
            ),
        ),
        Check(
            "bad_quantity",
            col["quantity"] or "quantity",
            lambda v: f"quantity {show(v)} is not a whole number >= 0 (seats or units)",
        ),
        Check(
            "bad_interval",
            col["interval"] or "interval",
            lambda v: f"interval {show(v)} is not day, week, month or year",
        ),
        Check(
            "bad_count",
            col["interval_count"] or "interval_count",
            lambda v: (
                f"interval_count {show(v)} is not a whole number >= 1 within Stripe's longest "
                "interval, three years (1095 days, 156 weeks, 36 months or 3 years)"
            ),
        ),
        Check(
            "bad_currency",
            col["currency"] or "currency",
            lambda v: f"currency {show(v)} is not a three-letter ISO 4217 code",
        ),
        Check(
            "bad_percent",
            col["percent_off"] or "percent_off",
            lambda v: (
                f"percent_off {show(v)} is not a number from 0 to 100 with at most 4 decimals"
            ),
        ),
        Check(
            "bad_amount_off",
            col["amount_off"] or "amount_off",
            lambda v: (
                f"amount_off {show(v)} is not "
                + (
                    "a whole number >= 0 in the currency's minor unit (cents), as the price"
                    if minor
                    else "a number >= 0 with at most 6 decimals, in the price's unit"
                )
            ),
        ),
        Check(
            "bad_both_off",
            col["amount_off"] or "amount_off",
            lambda v: "both percent_off and amount_off are set; a Stripe coupon has one of them",
        ),
        Check(
            "bad_trial",
            col["trial_end"] or "trial_end",
            lambda v: "a trialing item needs trial_end (the day paid service starts)",
        ),
        Check(
            "bad_tax",
            col["tax_percent"] or "tax_percent",
            lambda v: (
                f"tax_percent {show(v)} is not a number from 0 to below 100 with at most 4 decimals"
            ),
        ),
        Check(
            "bad_tax_behavior",
            col["tax_behavior"] or "tax_behavior",
            lambda v: (
                f"tax_behavior {show(v)} is not inclusive, exclusive or unspecified (empty is "
                "unspecified: the price is taken as net of tax)"
            ),
        ),
        Check(
            "bad_cancel_flag",
            col["cancel_at_period_end"] or "cancel_at_period_end",
            lambda v: (
                f"cancel_at_period_end {show(v)} is not true or false (also TRUE/FALSE, 1/0, "
                "or empty for false)"
            ),
        ),
    )

    ok = ~ibis.or_(*flags.values())
    full, discounted, interval = _exact(
        unit=ibis.ifelse(ok, unit, 0).cast(_PRICE),
        quantity=ibis.ifelse(ok, quantity, 0).cast("decimal(38, 0)"),
        percent=ibis.ifelse(ok, percent, 0).cast(_RATE),
        amount_off=ibis.ifelse(ok, amount_off, 0).cast(_PRICE),
        tax=ibis.ifelse(ok & inclusive, tax, 0).cast(_RATE),
        divisor=divisor,
        count=ibis.ifelse(ok, count, 1),
        interval=ibis.ifelse(ok, interval_text, "month"),
    )

    def when(name: str) -> ir.DateValue:
        return dates[name] if col[name] else ibis.null("date")

    service_start = ibis.greatest(start, when("trial_end").fill_null(start))

    cancelled = (
        when("canceled_at").notnull() | cancel_flag.fill_null(False) | (status == "canceled")
    )
    period_end_date = ibis.coalesce(
        when("ended_at"),
        when("cancel_at"),
        ibis.ifelse(cancelled, when("current_period_end"), ibis.null("date")),
    )
    if conventions.churn_at == "cancel":
        cancel_end = ibis.coalesce(when("canceled_at"), period_end_date)
    else:
        cancel_end = period_end_date
    grace_end = ibis.ifelse(
        status.isin(_UNPAID),
        add_days(when("current_period_start"), conventions.grace_days),
        ibis.null("date"),
    )
    end = ibis.least(
        cancel_end.fill_null(ibis.date(9999, 12, 31)), grace_end.fill_null(ibis.date(9999, 12, 31))
    )
    end = ibis.ifelse(end == ibis.date(9999, 12, 31), ibis.null("date"), end)
    never_paid = status.isin(_NEVER_PAID)
    end = ibis.ifelse(never_paid, service_start, end)
    end = ibis.ifelse(end.notnull() & (end < service_start), service_start, end)
    discount_end = when("discount_end")

    parsed = t.select(
        t[ROW],
        customer_id=customer,
        product=step["product"],
        currency=currency,
        service_start=service_start,
        service_end=end,
        discount_end=discount_end,
        full=full,
        discounted=discounted,
        interval_months=interval,
        quantity=quantity.cast(NUMBER),
        no_mrr=ibis.cases(
            (never_paid, "never paid (incomplete or paused)"),
            (end.notnull() & (end <= service_start), "cancelled before paying (trial)"),
            ((full > 0) & (discounted == 0) & discount_end.isnull(), "fully discounted"),
            (full == 0, "zero price"),
            else_=ibis.null("string"),
        ),
        **{
            MRR_HINT: ibis.ifelse(ok, discounted / interval, ibis.null(NUMBER)).cast(NUMBER),
            CURRENCY_HINT: currency,
        },
        **flags,
    )
    typed = screen(con, raw, parsed, checks, intake, prefix="nrr_stripe")
    account = intake.accounts.get(raw.name)
    if account is not None:
        counts = typed.group_by("no_mrr").agg(n=typed.count()).to_pyarrow().to_pylist()
        account.no_mrr.update(Counter({r["no_mrr"]: r["n"] for r in counts if r["no_mrr"]}))

    lines = _split_discounts(typed)
    canonical = RawSource(name=raw.name, table=lines, columns=tuple(lines.columns))
    return canonical, _metadata(raw, typed)


def _exact(
    *,
    unit: ir.DecimalValue,
    quantity: ir.DecimalValue,
    percent: ir.DecimalValue,
    amount_off: ir.DecimalValue,
    tax: ir.DecimalValue,
    divisor: ir.IntegerValue,
    count: ir.IntegerValue,
    interval: ir.StringValue,
) -> tuple[ir.DecimalValue, ir.DecimalValue, ir.DecimalValue]:
    """The canonical amounts (full price, discounted) and the interval they are over, such
    that amount / interval is the item's MRR exactly: only multiplications here, and the one
    division left to `validate`, which rounds it exactly to 8 decimals as for any line.

    MRR = unit x quantity x (100 - percent_off) / 100 / divisor x 100 / (100 + tax) over
    count x interval months, a day being 16 / 487 of a month (30.4375 days): the amounts are
    unit x quantity x 100 (full) and x (100 - percent_off), or (less amount_off) x 100, times
    487 by the day or week; the interval is divisor x (100 + tax) x count x (1, 7 x 16 by the
    week, 16 by the day, 12 by the year). Each factor's decimals are few enough (6 + 4) that
    no product rounds."""
    per_day, days = MONTH_DAYS
    base = (unit * quantity).cast(_PRICE)
    by_days = interval.isin(("day", "week"))
    scale_up = ibis.ifelse(by_days, per_day, 1)
    full = (base * 100 * scale_up).cast(NUMBER)
    after_percent = (base * (100 - percent).cast(_RATE)).cast(NUMBER)
    after_off = (ibis.greatest(base - amount_off, 0).cast(_PRICE) * 100).cast(NUMBER)
    discounted = (ibis.ifelse(percent > 0, after_percent, after_off) * scale_up).cast(NUMBER)
    unit_months = ibis.cases(
        (interval == "year", 12), (interval == "week", 7 * days), (interval == "day", days), else_=1
    )
    over = (divisor * count * unit_months).cast("decimal(38, 0)")
    return full, discounted, ((100 + tax).cast(_RATE) * over).cast(NUMBER)


def _api_names(raw: RawSource) -> RawSource:
    """Accept Dashboard exports: their headers become the API's field names."""
    renames: dict[str, str] = {}
    for column in raw.columns:
        key = header_key(column)
        if key != column and key not in raw.columns and key not in renames:
            renames[key] = column
    if not renames:
        return raw
    table = raw.table.rename(renames)
    columns = tuple(c for c in table.columns if c != ROW)
    return RawSource(name=raw.name, table=table, columns=columns)


def _split_discounts(typed: ir.Table) -> ir.Table:
    """Canonical text lines: a discount that ends inside the service splits the item in two."""
    ongoing = ibis.date(9999, 12, 31)
    stop = typed.service_end.fill_null(ongoing)
    splits = (
        typed.discount_end.notnull()
        & (typed.discount_end > typed.service_start)
        & (typed.discount_end < stop)
        & (typed.discounted != typed.full)
    )
    discount_over = typed.discount_end.notnull() & (typed.discount_end <= typed.service_start)

    def line(
        start: ir.DateValue, end: ir.DateValue, amount: ir.NumericValue, keep: ir.BooleanValue
    ) -> ir.Table:
        return typed.filter(keep).select(
            typed[ROW],
            customer_id=typed.customer_id,
            product=typed.product,
            start_date=start.cast("string"),
            end_date=end.cast("string"),
            amount=amount.cast("string"),
            interval=typed.interval_months.cast("string"),
            quantity=typed.quantity.cast("string"),
            currency=typed.currency,
        )

    first_amount = ibis.ifelse(discount_over, typed.full, typed.discounted)
    first_end = ibis.ifelse(splits, typed.discount_end, typed.service_end)
    first = line(typed.service_start, first_end, first_amount, ibis.literal(True))
    second = line(typed.discount_end, typed.service_end, typed.full, splits)
    return first.union(second, distinct=False)


def _metadata(raw: RawSource, typed: ir.Table) -> RawSource | None:
    """Customer attributes from `metadata_*` columns, from each customer's latest item."""
    meta = {
        c: (c.removeprefix(_META_PREFIX).removesuffix(_META_SUFFIX))
        for c in raw.columns
        if c.startswith(_META_PREFIX) or c.endswith(_META_SUFFIX)
    }
    if not meta:
        return None
    values = raw.table.select(ROW, **{name: raw.table[c].strip() for c, name in meta.items()})
    ranked = typed.select(ROW, "customer_id", "service_start").join(values, ROW)
    latest = ranked.mutate(
        rank=ibis.row_number().over(
            group_by="customer_id",
            order_by=[ibis.desc(ranked.service_start), ibis.desc(ranked[ROW])],
        )
    )
    latest = latest.filter(latest["rank"] == 0).select(ROW, "customer_id", *meta.values())
    return RawSource(name=f"{raw.name} (metadata)", table=latest, columns=tuple(latest.columns))
