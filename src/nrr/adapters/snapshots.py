"""MRR snapshots (customer_id, month, mrr) -> canonical subscription lines.

A snapshot says a customer's MRR in a month, as another tool or a spreadsheet computed it.
Each row becomes a one-month line from the month's first day to the next month's first day,
so it is in service on the month's last day and nowhere else (METRICS.md section 2). A
customer with two rows for the same month (and product and currency) is a problem, never
summed silently.
"""

from __future__ import annotations

import ibis

from nrr.adapters.common import blank, column_of, decimal_of, require, show
from nrr.adapters.common import text as _text
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, Intake, screen
from nrr.sources.files import ROW, RawSource

__all__ = ["snapshot_lines"]

_MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])(-[0-9]{2})?$"


def snapshot_lines(con: ibis.BaseBackend, raw: RawSource, intake: Intake, base: str) -> RawSource:
    """Screen MRR snapshots; return canonical one-month lines (as text)."""
    need = require(
        raw,
        "snapshots",
        customer=("customer_id", "customer"),
        month=("month", "period", "date"),
        mrr=("mrr", "amount"),
    )
    currency_col = column_of(raw, "currency")
    product_col = column_of(raw, "product")
    t = raw.table
    customer = _text(raw, need["customer"])
    month_text = _text(raw, need["month"])
    first_day = ibis.ifelse(
        month_text.re_search(_MONTH),
        (month_text.left(7) + "-01").try_cast("date"),
        ibis.null("date"),
    )
    # A full date must itself exist (2024-02-30 is not a month).
    full_date_ok = ibis.ifelse(
        month_text.length() == 10, month_text.try_cast("date").notnull(), True
    )
    # MRR to 8 decimals, the precision of every line's MRR (validate.LOCAL_MRR).
    mrr = decimal_of(_text(raw, need["mrr"]), digits=12, decimals=8)
    currency_text = _text(raw, currency_col).upper()
    currency = ibis.ifelse(blank(currency_text), base, currency_text)
    product = _text(raw, product_col)

    parsed = t.select(
        t[ROW],
        customer_id=customer,
        product=product,
        currency=currency,
        first_day=first_day,
        mrr=mrr,
        month_ok=full_date_ok,
        **{MRR_HINT: mrr, CURRENCY_HINT: currency},
    )
    key = [parsed.customer_id, parsed.product, parsed.currency, parsed.first_day]
    parsed = parsed.mutate(
        first_row=parsed[ROW].min().over(group_by=key),
        copies=parsed[ROW].count().over(group_by=key),
        bad_customer=blank(parsed.customer_id),
        bad_month=parsed.first_day.isnull() | ~parsed.month_ok,
        bad_mrr=parsed.mrr.isnull(),
        bad_currency=~parsed.currency.re_search(r"^[A-Z]{3}$"),
    )
    repeated = (parsed.copies > 1) if intake.quarantine else (parsed.first_row < parsed[ROW])
    parsed = parsed.mutate(bad_repeat=parsed.first_day.notnull() & ~parsed.bad_customer & repeated)
    checks = (
        Check("bad_customer", need["customer"], lambda v: "customer id is empty"),
        Check(
            "bad_month",
            need["month"],
            lambda v: f"month {show(v)} is not a month; write it as YYYY-MM",
        ),
        Check(
            "bad_mrr",
            need["mrr"],
            lambda v: (
                f"mrr {show(v)} is not a number >= 0 written with digits and at most 8 "
                "decimals (250.50)"
            ),
        ),
        Check(
            "bad_currency",
            currency_col or "currency",
            lambda v: f"currency {show(v)} is not a three-letter ISO 4217 code",
        ),
        Check(
            "bad_repeat",
            need["month"],
            lambda v: (
                f"a second snapshot for this customer in {show(v)} (first on row "
                "{first}); keep one row per customer and month (and product)"
            ),
        ),
    )
    typed = screen(con, raw, parsed, checks, intake, prefix="nrr_snapshots")
    lines = typed.select(
        typed[ROW],
        customer_id=typed.customer_id,
        product=typed.product,
        start_date=typed.first_day.cast("string"),
        end_date=ibis.date(
            typed.first_day.year() + typed.first_day.month() // 12,
            typed.first_day.month() % 12 + 1,
            1,
        ).cast("string"),
        amount=typed.mrr.cast("string"),
        interval=ibis.literal("1"),
        currency=typed.currency,
    )
    return RawSource(name=raw.name, table=lines, columns=tuple(lines.columns))
