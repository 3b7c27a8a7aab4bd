"""Validate the canonical inputs (METRICS.md section 1) into typed tables.

Validation runs inside the engine, in one pass over each file: every check becomes a
boolean column, the typed table is materialized once, and only the few bad rows come
back to Python to be described. Every problem is collected (up to `max_problems` shown),
never just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, Problem
from nrr.sources.files import ROW, RawSource

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "INTERVAL_NAMES",
    "LINE_COLUMNS",
    "LOCAL_MRR",
    "MONEY",
    "validate_customers",
    "validate_subscriptions",
]

DEFAULT_MAX_PROBLEMS = 50
# Per-line MRR in its own currency: 12 integer digits, 8 decimals. With rates at 9 decimals
# the product fits 38 digits exactly on every engine, so no conversion rounds.
LOCAL_MRR = "decimal(20, 8)"
MONEY = "decimal(38, 17)"
_NUMBER = "decimal(38, 10)"
_MAX_MRR = 10**10

INTERVAL_NAMES: dict[str, int] = {
    "month": 1,
    "monthly": 1,
    "quarter": 3,
    "quarterly": 3,
    "half_year": 6,
    "half-year": 6,
    "semiannual": 6,
    "year": 12,
    "yearly": 12,
    "annual": 12,
}

LINE_COLUMNS = (
    ROW,
    "customer_id",
    "product",
    "currency",
    "start_date",
    "end_date",
    "start_m",
    "end_m",
    "amount",
    "interval_months",
    "quantity",
    "mrr_local",
)

_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_REQUIRED_SUBSCRIPTION = ("customer_id", "start_date", "amount")
_OPTIONAL_SUBSCRIPTION = ("product", "end_date", "interval", "quantity", "currency")


@dataclass(frozen=True)
class _Check:
    flag: str
    column: str
    describe: Callable[[str | None], str]


def _show(value: str | None) -> str:
    return "empty" if value is None or value.strip() == "" else repr(value)


_SUBSCRIPTION_CHECKS = (
    _Check(
        "bad_customer",
        "customer_id",
        lambda v: "customer_id is empty; every line needs the id of the account that pays",
    ),
    _Check(
        "bad_start",
        "start_date",
        lambda v: (
            f"start_date is {_show(v)}, not a date; write it "
            "as YYYY-MM-DD (ISO), for example 2024-01-31"
        ),
    ),
    _Check(
        "bad_end",
        "end_date",
        lambda v: (
            f"end_date is {_show(v)}, not a date; write it as "
            "YYYY-MM-DD (ISO), or leave it empty for an ongoing line"
        ),
    ),
    _Check(
        "bad_order",
        "end_date",
        lambda v: (
            f"end_date {_show(v)} is before start_date; end_date "
            "is the first day NOT in service, on or after start_date"
        ),
    ),
    _Check(
        "bad_amount",
        "amount",
        lambda v: (
            f"amount is {_show(v)}, not a number; write plain "
            "digits with a dot for decimals and no thousands separator or currency sign, "
            "e.g. 1250.50"
        ),
    ),
    _Check(
        "bad_negative",
        "amount",
        lambda v: (
            f"amount {_show(v)} is negative; recurring charges "
            "are >= 0 (net credits and refunds into the charge, or leave them out)"
        ),
    ),
    _Check(
        "bad_large",
        "amount",
        lambda v: (
            f"amount {_show(v)} gives an MRR above 10 billion; check the value and its interval"
        ),
    ),
    _Check(
        "bad_interval",
        "interval",
        lambda v: (
            f"interval {_show(v)} is unknown; use month, "
            "quarter, half_year, year, or a positive number of months such as 12.2875"
        ),
    ),
    _Check(
        "bad_quantity",
        "quantity",
        lambda v: f"quantity {_show(v)} is not a number >= 0; leave it empty for 1",
    ),
    _Check(
        "bad_currency",
        "currency",
        lambda v: (
            f"currency {_show(v)} is not an ISO 4217 code; "
            "use three letters such as USD, EUR or GBP"
        ),
    ),
)


def _text(raw: RawSource, column: str) -> ir.StringValue:
    if column in raw.columns:
        return raw.table[column].strip()
    return ibis.literal("", "string")


def _blank(value: ir.StringValue) -> ir.BooleanValue:
    return value.isnull() | (value == "")


def _date(value: ir.StringValue) -> ir.DateValue:
    return ibis.ifelse(value.re_search(_ISO_DATE), value.try_cast("date"), ibis.null("date"))


def _require_columns(raw: RawSource, required: tuple[str, ...], role: str, known: str) -> None:
    missing = [c for c in required if c not in raw.columns]
    if missing:
        found = [c for c in raw.columns if c != ROW]
        have = ", ".join(found) or "none"
        hint = ""
        if any(c.startswith("column") and c[6:].isdigit() for c in found):
            hint = (
                " (no header row was recognised: check that the first line names the columns "
                "and that every row has as many fields as the header)"
            )
        raise InputError(
            Problem(
                source=raw.name,
                message=f"missing required column(s) {', '.join(missing)} for the {role} input "
                f"(found: {have}){hint}; expected columns: {known}",
            )
        )


def validate_subscriptions(
    con: ibis.BaseBackend,
    raw: RawSource,
    *,
    base_currency: str,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
) -> ir.Table:
    """Check every row of a subscriptions source; return the typed lines or raise InputError."""
    _require_columns(
        raw,
        _REQUIRED_SUBSCRIPTION,
        "subscriptions",
        ", ".join(_REQUIRED_SUBSCRIPTION + _OPTIONAL_SUBSCRIPTION),
    )
    t = raw.table
    customer = _text(raw, "customer_id")
    start_text, end_text = _text(raw, "start_date"), _text(raw, "end_date")
    start, end = _date(start_text), _date(end_text)
    amount = _text(raw, "amount").try_cast(_NUMBER)
    interval_text = _text(raw, "interval")
    interval_lower = interval_text.lower()
    named = [
        (interval_lower == name, ibis.literal(months)) for name, months in INTERVAL_NAMES.items()
    ]
    interval = ibis.cases(
        (_blank(interval_text), ibis.literal(1)), *named, else_=interval_text.try_cast(_NUMBER)
    ).cast(_NUMBER)
    quantity_text = _text(raw, "quantity")
    quantity = ibis.ifelse(_blank(quantity_text), 1, quantity_text.try_cast(_NUMBER)).cast(_NUMBER)
    currency_text = _text(raw, "currency").upper()
    currency = ibis.ifelse(_blank(currency_text), base_currency, currency_text)

    ok_money = amount.notnull() & (amount >= 0) & interval.notnull() & (interval > 0)
    safe_amount = ibis.ifelse(ok_money, amount, 0)
    safe_interval = ibis.ifelse(ok_money, interval, 1)
    too_large = ok_money & (safe_amount / safe_interval >= _MAX_MRR)
    flags = {
        "bad_customer": _blank(customer),
        "bad_start": start.isnull(),
        "bad_end": ~_blank(end_text) & end.isnull(),
        "bad_order": end.notnull() & start.notnull() & (end < start),
        "bad_amount": amount.isnull(),
        "bad_negative": amount.notnull() & (amount < 0),
        "bad_large": too_large,
        "bad_interval": interval.isnull() | (interval <= 0),
        "bad_quantity": quantity.isnull() | (quantity < 0),
        "bad_currency": ~currency.re_search(r"^[A-Z]{3}$"),
    }
    safe_mrr = ibis.ifelse(too_large, 0, safe_amount / safe_interval).cast("decimal(38, 10)")
    parsed = t.select(
        t[ROW],
        customer_id=customer,
        product=ibis.ifelse(_blank(_text(raw, "product")), "default", _text(raw, "product")),
        currency=currency,
        start_date=start,
        end_date=end,
        start_m=(start.year() * 12 + start.month() - 1).cast("int64"),
        end_m=(end.year() * 12 + end.month() - 1).cast("int64"),
        amount=amount,
        interval_months=interval,
        quantity=quantity,
        mrr_local=safe_mrr.cast(LOCAL_MRR),
        **flags,
    )
    typed = _materialize(con, raw, parsed, "nrr_lines")
    _raise_problems(typed, raw, _SUBSCRIPTION_CHECKS, max_problems)
    return typed.select(*LINE_COLUMNS)


def validate_customers(
    con: ibis.BaseBackend,
    raw: RawSource,
    *,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
) -> ir.Table:
    """Check a customers source: ids present and unique; attributes as text, empty = `(none)`."""
    _require_columns(raw, ("customer_id",), "customers", "customer_id plus any attribute columns")
    reserved = [c for c in raw.columns if c in ("cohort", "tenure")]
    if reserved:
        raise InputError(
            Problem(
                source=raw.name,
                column=reserved[0],
                message=f"column {reserved[0]!r} is derived by nrr from the subscriptions; "
                "rename it in the customers file (e.g. to signup_cohort)",
            )
        )
    t = raw.table
    customer = t["customer_id"].strip()
    attributes = {
        c: ibis.ifelse(_blank(t[c].strip()), "(none)", t[c].strip())
        for c in raw.columns
        if c not in ("customer_id", ROW)
    }
    parsed = t.select(t[ROW], customer_id=customer, **attributes)
    parsed = parsed.mutate(
        bad_customer=_blank(parsed.customer_id),
        first_row=parsed[ROW].min().over(group_by=parsed.customer_id),
    )
    parsed = parsed.mutate(bad_duplicate=parsed.first_row < parsed[ROW])
    typed = _materialize(con, raw, parsed, "nrr_customers")
    checks = (
        _Check(
            "bad_customer",
            "customer_id",
            lambda v: "customer_id is empty; give every row the id used in the subscriptions",
        ),
        _Check(
            "bad_duplicate",
            "customer_id",
            lambda v: (
                f"customer_id {_show(v)} appears more than "
                "once (first on row {first}); keep exactly one row per customer"
            ),
        ),
    )
    _raise_problems(typed, raw, checks, max_problems)
    return typed.select("customer_id", *attributes)


def _materialize(con: ibis.BaseBackend, raw: RawSource, expr: ir.Table, prefix: str) -> ir.Table:
    try:
        return con.create_table(ibis.util.gen_name(prefix), expr, temp=True)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(Problem(source=raw.name, message=f"cannot be read: {message}")) from None


def _raise_problems(
    typed: ir.Table,
    raw: RawSource,
    checks: tuple[_Check, ...],
    max_problems: int,
) -> None:
    any_bad = ibis.or_(*(typed[c.flag] for c in checks))
    total = typed.filter(any_bad).count().execute()
    if total == 0:
        return
    extra = ["first_row"] if "first_row" in typed.columns else []
    bad = (
        typed.filter(any_bad)
        .order_by(ROW)
        .select(ROW, *(c.flag for c in checks), *extra)
        .limit(max_problems)
        .to_pyarrow()
        .to_pylist()
    )
    rows = [r[ROW] for r in bad]
    wanted = sorted({c.column for c in checks if c.column in raw.columns})
    raw_values = {
        r[ROW]: r
        for r in raw.table.filter(raw.table[ROW].isin(rows))
        .select(ROW, *wanted)
        .to_pyarrow()
        .to_pylist()
    }
    problems: list[Problem] = []
    for record in bad:
        for check in checks:
            if record[check.flag]:
                value = raw_values.get(record[ROW], {}).get(check.column)
                message = check.describe(value)
                if "{first}" in message:
                    message = message.replace("{first}", str(record.get("first_row")))
                problems.append(
                    Problem(source=raw.name, row=record[ROW], column=check.column, message=message)
                )
    note = None
    if total > len(bad):
        note = f"{raw.name}: {total} rows have problems; the first {len(bad)} are listed above"
    raise InputError(problems, note=note)
