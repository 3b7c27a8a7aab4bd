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

Every step is a SQL query (DuckDB's dialect) over the intake's engine; the rules each item
must pass and their messages are in `stripe_checks`.
"""

from __future__ import annotations

from collections import Counter

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
    whole_of,
)
from nrr.adapters.common import text as _text
from nrr.adapters.stripe_checks import STATUSES, among, checks, flags
from nrr.conventions import Conventions
from nrr.engines.base import Engine
from nrr.intake import Intake
from nrr.parsing import column, literal, strip
from nrr.screen import CURRENCY_HINT, MRR_HINT, screen
from nrr.sources.files import ROW, RawSource
from nrr.validate import SUBSCRIPTION_COLUMNS

__all__ = ["STATUSES", "stripe_lines"]

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
# Prices have at most 12 integer digits and quantities 9, so that the line's amount (price x
# quantity x 100 x 487, at most 10 decimals) stays inside decimal(38, 10) exactly.
_DIGITS = 12
_QUANTITY_DIGITS = 9
_PRICE = "DECIMAL(38, 6)"
_RATE = "DECIMAL(38, 4)"
_WHOLE = "DECIMAL(38, 0)"
_ONGOING = "DATE '9999-12-31'"  # a service end that never comes, for LEAST
_META_PREFIX = "metadata_"
_META_SUFFIX = "_metadata"


def stripe_lines(
    engine: Engine, raw: RawSource, intake: Intake, conventions: Conventions
) -> tuple[RawSource, RawSource | None]:
    """Screen a Stripe subscription-items export; return canonical lines (as text) and the
    customers' metadata attributes (None when there are no metadata columns), each a query
    over `engine`."""
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
    dates = [
        name
        for name in col
        if name.endswith(("_at", "_end", "_start")) and name != "cancel_at_period_end"
    ]
    minor = price_minor is not None and price_major is None
    price = price_minor if minor else price_major

    flagging = flags(dates)
    values = _values(raw, need, col, dates, price=price, minor=minor)
    parsed = _parsed(_flagged(values, flagging), flagging, conventions, minor=minor)
    found = checks(need, col, dates, price=price, minor=minor)
    typed = screen(engine, raw, parsed, found, intake, prefix="nrr_stripe")
    account = intake.accounts.get(raw.name)
    if account is not None:
        counts = engine.fetch(
            f'SELECT "no_mrr", COUNT(*) AS "n" FROM ({typed}) AS typed GROUP BY "no_mrr"'
        ).records()
        account.no_mrr.update(Counter({r["no_mrr"]: r["n"] for r in counts if r["no_mrr"]}))

    # The values are trimmed text and casts of typed values: `validate` need not trim them.
    canonical = RawSource(
        name=raw.name, relation=_split_discounts(typed), columns=SUBSCRIPTION_COLUMNS, spaced=False
    )
    return canonical, _metadata(raw, typed)


def _values(
    raw: RawSource,
    need: dict[str, str],
    col: dict[str, str | None],
    dates: list[str],
    *,
    price: str | None,
    minor: bool,
) -> str:
    """Each item's values parsed from its text, once: the checks and the money below refer
    to these columns instead of repeating the parsing in every expression (which made the
    query text grow past a megabyte)."""
    # The trimmed text of each field, named by the field (a column the source lacks is
    # empty); the fields' names are nrr's own, the source's columns go in quoted.
    fields = {
        "customer": need["customer"],
        "status": need["status"],
        "start": need["start"],
        "price": price,
        **col,
    }
    texts = ", ".join(f"{_text(raw, source)} AS {column(name)}" for name, source in fields.items())

    def money(value: str) -> str:
        # Stripe's minor units are whole (`unit_amount`, `amount_off`); a major-unit column
        # has at most 6 decimals, which keeps every product below exact (see `_exact`).
        if minor:
            return f"CAST({whole_of(value, digits=_DIGITS)} AS {_PRICE})"
        return f"CAST({decimal_of(value, digits=_DIGITS, decimals=6)} AS {_PRICE})"

    def or_zero(name: str, parsed: str, kind: str) -> str:
        return f"CAST(CASE WHEN {blank(column(name))} THEN 0 ELSE {parsed} END AS {kind})"

    # Without an interval column every item is monthly.
    interval = 'LOWER("interval")' if col["interval"] is not None else "'month'"
    count = (
        "CAST(1 AS BIGINT)"
        if col["interval_count"] is None
        else whole_of('"interval_count"', digits=4)
    )
    longest = " ".join(f"WHEN {interval} = {literal(u)} THEN {n:d}" for u, n in _LONGEST.items())
    # A date field the source lacks is NULL, as an empty one, and never flagged.
    date_values = ", ".join(
        f"{date_of(column(name))} AS {column('date_' + name)}, "
        f"NOT {blank(column(name))} AS {column('given_' + name)}"
        if col[name] is not None
        else f"CAST(NULL AS DATE) AS {column('date_' + name)}, FALSE AS {column('given_' + name)}"
        for name in dates
    )
    quantity = whole_of('"quantity"', digits=_QUANTITY_DIGITS)
    return f"""
        SELECT
            "{ROW}",
            "customer",
            LOWER("status") AS "status",
            {date_of('"start"')} AS "start",
            UPPER("currency") AS "currency",
            {money('"price"')} AS "unit",
            CASE WHEN {blank('"quantity"')} THEN 1 ELSE {quantity} END AS "quantity",
            {interval} AS "interval_text",
            {count} AS "count",
            CASE {longest} ELSE CAST(NULL AS BIGINT) END AS "longest",
            {or_zero("percent_off", decimal_of('"percent_off"', digits=3, decimals=4), _RATE)}
                AS "percent",
            {or_zero("amount_off", money('"amount_off"'), _PRICE)} AS "amount_off",
            {or_zero("tax_percent", decimal_of('"tax_percent"', digits=2, decimals=4), _RATE)}
                AS "tax",
            LOWER("tax_behavior") AS "behavior",
            {flag_of('"cancel_at_period_end"')} AS "cancel_flag",
            "product",
            {date_values}
        FROM (SELECT "{ROW}", {texts} FROM ({raw.relation}) AS raw) AS texts"""


def _flagged(values: str, flagging: dict[str, str]) -> str:
    """The parsed values with each check's flag, and `ok`: the item breaks no rule."""
    named = ", ".join(f"{sql} AS {column(flag)}" for flag, sql in flagging.items())
    ok = " OR ".join(column(flag) for flag in flagging)
    return f"""
        SELECT *, NOT ({ok}) AS "ok"
        FROM (SELECT *, {named} FROM ({values}) AS item_values) AS flagged"""


def _parsed(
    flagged: str, flagging: dict[str, str], conventions: Conventions, *, minor: bool
) -> str:
    """The item as `screen` takes it: its service, its exact amounts, why it carries no MRR
    (NULL when it does), the hints and the flags."""
    divisor = (
        f'CASE WHEN "currency" IN {among(_ZERO_DECIMAL)} THEN 1 '
        f'WHEN "currency" IN {among(_THREE_DECIMAL)} THEN 1000 ELSE 100 END'
        if minor
        else "1"
    )
    cancelled = (
        '("date_canceled_at" IS NOT NULL OR COALESCE("cancel_flag", FALSE) '
        "OR \"status\" = 'canceled')"
    )
    period_end = (
        'COALESCE("date_ended_at", "date_cancel_at", '
        f'CASE WHEN {cancelled} THEN "date_current_period_end" ELSE CAST(NULL AS DATE) END)'
    )
    if conventions.churn_at == "cancel":
        cancel_end = f'COALESCE("date_canceled_at", {period_end})'
    else:
        cancel_end = period_end
    grace_end = (
        f'CASE WHEN "status" IN {among(_UNPAID)} '
        f"THEN {add_days(column('date_current_period_start'), conventions.grace_days)} "
        "ELSE CAST(NULL AS DATE) END"
    )
    never_paid = f'"status" IN {among(_NEVER_PAID)}'
    # A flagged item's amounts are computed from harmless stand-ins (zero, one, a month),
    # never from values that failed to parse.
    served = f"""
        SELECT *,
            GREATEST("start", COALESCE("date_trial_end", "start")) AS "service_start",
            -- the end by cancellation or by grace, NULL while neither comes
            NULLIF(
                LEAST(COALESCE({cancel_end}, {_ONGOING}), COALESCE({grace_end}, {_ONGOING})),
                {_ONGOING}
            ) AS "bounded",
            CAST(CASE WHEN "ok" THEN "unit" ELSE 0 END AS {_PRICE}) AS "g_unit",
            CAST(CASE WHEN "ok" THEN "quantity" ELSE 0 END AS {_WHOLE}) AS "g_quantity",
            CAST(CASE WHEN "ok" THEN "percent" ELSE 0 END AS {_RATE}) AS "g_percent",
            CAST(CASE WHEN "ok" THEN "amount_off" ELSE 0 END AS {_PRICE}) AS "g_amount_off",
            CAST(
                CASE WHEN "ok" AND "behavior" = 'inclusive' THEN "tax" ELSE 0 END AS {_RATE}
            ) AS "g_tax",
            {divisor} AS "divisor",
            CASE WHEN "ok" THEN "count" ELSE 1 END AS "g_count",
            CASE WHEN "ok" THEN "interval_text" ELSE 'month' END AS "g_interval"
        FROM ({flagged}) AS flagged"""
    flag_columns = ", ".join(column(flag) for flag in flagging)
    return f"""
        SELECT
            "{ROW}",
            "customer" AS "customer_id",
            "product",
            "currency",
            "service_start",
            "service_end",
            "date_discount_end" AS "discount_end",
            "full",
            "discounted",
            "interval_months",
            CAST("quantity" AS {NUMBER}) AS "quantity",
            CASE
                WHEN {never_paid} THEN 'never paid (incomplete or paused)'
                WHEN "service_end" IS NOT NULL AND "service_end" <= "service_start"
                    THEN 'cancelled before paying (trial)'
                WHEN "full" > 0 AND "discounted" = 0 AND "date_discount_end" IS NULL
                    THEN 'fully discounted'
                WHEN "full" = 0 THEN 'zero price'
                ELSE CAST(NULL AS VARCHAR)
            END AS "no_mrr",
            CAST(
                CASE WHEN "ok" THEN "discounted" / "interval_months"
                ELSE CAST(NULL AS {NUMBER}) END AS {NUMBER}
            ) AS "{MRR_HINT}",
            "currency" AS "{CURRENCY_HINT}",
            {flag_columns}
        FROM (
            SELECT *,
                -- never paid: no service; else never ending before it starts
                CASE
                    WHEN {never_paid} THEN "service_start"
                    WHEN "bounded" IS NOT NULL AND "bounded" < "service_start"
                        THEN "service_start"
                    ELSE "bounded"
                END AS "service_end"
            FROM ({_exact(served)}) AS exact
        ) AS ended"""


def _exact(gated: str) -> str:
    """`gated` (an item's `g_unit`, `g_quantity`, `g_percent`, `g_amount_off`, `g_tax`,
    `divisor`, `g_count` and `g_interval`) with the canonical amounts, `full` price and
    `discounted`, and `interval_months`, the interval they are over, such that amount /
    interval is the item's MRR exactly: only multiplications here, and the one division
    left to `validate`, which rounds it exactly to 8 decimals as for any line.

    MRR = unit x quantity x (100 - percent_off) / 100 / divisor x 100 / (100 + tax) over
    count x interval months, a day being 16 / 487 of a month (30.4375 days): the amounts are
    unit x quantity x 100 (full) and x (100 - percent_off), or (less amount_off) x 100, times
    487 by the day or week; the interval is divisor x (100 + tax) x count x (1, 7 x 16 by the
    week, 16 by the day, 12 by the year). Each factor's decimals are few enough (6 + 4) that
    no product rounds."""
    per_day, days = MONTH_DAYS
    after_percent = f'CAST("base" * CAST(100 - "g_percent" AS {_RATE}) AS {NUMBER})'
    after_off = f'CAST(CAST(GREATEST("base" - "g_amount_off", 0) AS {_PRICE}) * 100 AS {NUMBER})'
    return f"""
        SELECT *,
            CAST("base" * 100 * "scale_up" AS {NUMBER}) AS "full",
            CAST(
                CASE WHEN "g_percent" > 0 THEN {after_percent} ELSE {after_off} END * "scale_up"
                AS {NUMBER}
            ) AS "discounted",
            CAST(CAST(100 + "g_tax" AS {_RATE}) * "over" AS {NUMBER}) AS "interval_months"
        FROM (
            SELECT *,
                CAST("g_unit" * "g_quantity" AS {_PRICE}) AS "base",
                CASE WHEN "g_interval" IN ('day', 'week') THEN {per_day:d} ELSE 1 END
                    AS "scale_up",
                CAST(
                    "divisor" * "g_count" * CASE "g_interval" WHEN 'year' THEN 12
                        WHEN 'week' THEN {7 * days:d} WHEN 'day' THEN {days:d} ELSE 1 END
                    AS {_WHOLE}
                ) AS "over"
            FROM ({gated}) AS gated
        ) AS based"""


def _api_names(raw: RawSource) -> RawSource:
    """Accept Dashboard exports: their headers become the API's field names."""
    renames: dict[str, str] = {}
    for name in raw.columns:
        key = header_key(name)
        if key != name and key not in raw.columns and key not in renames:
            renames[key] = name
    if not renames:
        return raw
    new_name = {old: new for new, old in renames.items()}
    columns = tuple(new_name.get(c, c) for c in raw.columns)
    selected = ", ".join(
        f"{column(old)} AS {column(new)}" for old, new in zip(raw.columns, columns, strict=True)
    )
    return RawSource(
        name=raw.name,
        relation=f'SELECT {selected}, "{ROW}" FROM ({raw.relation}) AS raw',
        columns=columns,
        rows=raw.rows,
        spaced=raw.spaced,
    )


def _split_discounts(typed: str) -> str:
    """Canonical text lines: a discount that ends inside the service splits the item in two."""
    splits = (
        '"discount_end" IS NOT NULL AND "discount_end" > "service_start" '
        f'AND "discount_end" < COALESCE("service_end", {_ONGOING}) '
        'AND "discounted" <> "full"'
    )
    over = '"discount_end" IS NOT NULL AND "discount_end" <= "service_start"'

    def line(start: str, end: str, amount: str, keep: str) -> str:
        return f"""
            SELECT "{ROW}", "customer_id", "product",
                CAST({start} AS VARCHAR) AS "start_date",
                CAST({end} AS VARCHAR) AS "end_date",
                CAST({amount} AS VARCHAR) AS "amount",
                CAST("interval_months" AS VARCHAR) AS "interval",
                CAST("quantity" AS VARCHAR) AS "quantity",
                "currency"
            FROM ({typed}) AS typed
            WHERE {keep}"""

    first = line(
        '"service_start"',
        f'CASE WHEN {splits} THEN "discount_end" ELSE "service_end" END',
        f'CASE WHEN {over} THEN "full" ELSE "discounted" END',
        "TRUE",
    )
    second = line('"discount_end"', '"service_end"', '"full"', splits)
    return f"{first}\n            UNION ALL{second}"


def _metadata(raw: RawSource, typed: str) -> RawSource | None:
    """Customer attributes from `metadata_*` columns, from each customer's latest item."""
    meta = {
        c: (c.removeprefix(_META_PREFIX).removesuffix(_META_SUFFIX))
        for c in raw.columns
        if c.startswith(_META_PREFIX) or c.endswith(_META_SUFFIX)
    }
    if not meta:
        return None
    stripped = ", ".join(f"{strip(column(c))} AS {column(name)}" for c, name in meta.items())
    names = ", ".join(f"meta.{column(name)}" for name in meta.values())
    relation = f"""
        SELECT items."{ROW}", items."customer_id", {names}
        FROM (SELECT "{ROW}", "customer_id", "service_start" FROM ({typed}) AS typed) AS items
        JOIN (SELECT "{ROW}", {stripped} FROM ({raw.relation}) AS raw) AS meta
            ON items."{ROW}" = meta."{ROW}"
        QUALIFY ROW_NUMBER() OVER (
            PARTITION BY items."customer_id"
            ORDER BY items."service_start" DESC NULLS LAST, items."{ROW}" DESC NULLS LAST
        ) = 1"""
    return RawSource(
        name=f"{raw.name} (metadata)",
        relation=relation,
        columns=("customer_id", *meta.values()),
        spaced=False,
    )
