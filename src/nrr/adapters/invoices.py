"""Invoice line items with service periods -> canonical subscription lines.

One input row is one invoice, credit-note or refund line. The rules (docs/sources.md):

- A recurring line's amount covers `[period_start, period_end)`; it becomes MRR over that
  period's length in months: whole calendar months when the period ends on the same day of
  the month it started (clamped to the month's last day), else days / 30.4375.
- One-time, usage and tax lines are not recurring revenue: used, counted, never MRR.
- Credit notes and refunds are netted with the invoice lines of the same customer, product,
  currency and service period before use. A negative net is a problem (listed, or with
  quarantine set aside with every row that made it), never silently dropped.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from nrr.adapters.common import (
    MONTH_DAYS,
    NUMBER,
    blank,
    column_of,
    date_of,
    decimal_of,
    require,
    show,
)
from nrr.adapters.common import text as _text
from nrr.errors import InputError, Problem
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, Intake, Rejection, reject, screen
from nrr.sources.files import ROW, RawSource

__all__ = ["DOCUMENTS", "LINE_TYPES", "invoice_lines"]

LINE_TYPES: dict[str, str] = {
    "recurring": "recurring",
    "subscription": "recurring",
    "one_time": "one_time",
    "one-time": "one_time",
    "invoiceitem": "one_time",
    "setup": "one_time",
    "usage": "usage",
    "metered": "usage",
    "tax": "tax",
}
DOCUMENTS: dict[str, int] = {"invoice": 1, "credit_note": -1, "credit": -1, "refund": -1}
_KEY = ("customer_id", "product", "currency", "period_start", "period_end")


def invoice_lines(con: ibis.BaseBackend, raw: RawSource, intake: Intake, base: str) -> RawSource:
    """Screen invoice lines, net credits per customer, product, currency and period, and
    return canonical lines (as text); `_row` is each net line's first source row."""
    need = require(
        raw,
        "invoices",
        customer=("customer_id", "customer"),
        period_start=("period_start", "service_start", "period_start_date"),
        period_end=("period_end", "service_end", "period_end_date"),
        amount=("amount", "net_amount", "subtotal"),
    )
    col = {
        "type": column_of(raw, "line_type", "type"),
        "document": column_of(raw, "document", "document_type", "kind"),
        "currency": column_of(raw, "currency"),
        "product": column_of(raw, "product", "plan"),
        "quantity": column_of(raw, "quantity"),
    }
    t = raw.table
    customer = _text(raw, need["customer"])
    start_text, end_text = _text(raw, need["period_start"]), _text(raw, need["period_end"])
    start, end = date_of(start_text), date_of(end_text)
    amount = decimal_of(_text(raw, need["amount"]), digits=12, decimals=6, negative=True)
    type_text = _text(raw, col["type"]).lower()
    kind = ibis.cases(
        (blank(type_text), ibis.literal("recurring")),
        *((type_text == k, ibis.literal(v)) for k, v in LINE_TYPES.items()),
        else_=ibis.null("string"),
    )
    document_text = _text(raw, col["document"]).lower()
    sign = ibis.cases(
        (blank(document_text), ibis.literal(1)),
        *((document_text == k, ibis.literal(v)) for k, v in DOCUMENTS.items()),
        else_=ibis.null("int64"),
    )
    currency_text = _text(raw, col["currency"]).upper()
    currency = ibis.ifelse(blank(currency_text), base, currency_text)
    quantity_text = _text(raw, col["quantity"])
    quantity = ibis.ifelse(
        blank(quantity_text), 1, decimal_of(quantity_text, digits=12, decimals=6)
    ).cast(NUMBER)
    recurring = kind == "recurring"
    scale, months = _period_months(start, end)

    flags = {
        "bad_customer": blank(customer),
        "bad_start": start.isnull(),
        "bad_end": end.isnull(),
        "bad_period": start.notnull() & end.notnull() & (end <= start) & recurring,
        "bad_amount": amount.isnull(),
        "bad_type": kind.isnull(),
        "bad_document": sign.isnull(),
        "bad_currency": ~currency.re_search(r"^[A-Z]{3}$"),
        "bad_quantity": quantity.isnull(),
    }
    checks = (
        Check("bad_customer", need["customer"], lambda v: "customer id is empty"),
        Check("bad_start", need["period_start"], lambda v: f"{show(v)} is not a date"),
        Check("bad_end", need["period_end"], lambda v: f"{show(v)} is not a date"),
        Check(
            "bad_period",
            need["period_end"],
            lambda v: (
                f"period end {show(v)} is not after the period start; a recurring line "
                "covers [period_start, period_end)"
            ),
        ),
        Check(
            "bad_amount",
            need["amount"],
            lambda v: (
                f"amount {show(v)} is not a number written with digits, an optional leading - "
                "and at most 6 decimals (1250.50)"
            ),
        ),
        Check(
            "bad_type",
            col["type"] or "line_type",
            lambda v: f"line type {show(v)} is unknown; use one of {', '.join(LINE_TYPES)}",
        ),
        Check(
            "bad_document",
            col["document"] or "document",
            lambda v: f"document {show(v)} is unknown; use one of {', '.join(DOCUMENTS)}",
        ),
        Check(
            "bad_currency",
            col["currency"] or "currency",
            lambda v: f"currency {show(v)} is not a three-letter ISO 4217 code",
        ),
        Check(
            "bad_quantity",
            col["quantity"] or "quantity",
            lambda v: f"quantity {show(v)} is not a number >= 0 with at most 6 decimals",
        ),
    )
    ok = ~ibis.or_(*flags.values())
    # Credits reduce what was invoiced whether they are written as positive or negative.
    signed = ibis.ifelse(sign == -1, -amount.abs(), amount).cast(NUMBER)
    parsed = t.select(
        t[ROW],
        customer_id=customer,
        product=_text(raw, col["product"]),
        currency=currency,
        period_start=start,
        period_end=end,
        kind=kind,
        signed=signed,
        scale=scale,
        months=months,
        quantity=quantity,
        **{
            MRR_HINT: ibis.ifelse(ok & recurring, signed * scale / months, ibis.null(NUMBER)).cast(
                NUMBER
            ),
            CURRENCY_HINT: currency,
        },
        **flags,
    )
    typed = screen(con, raw, parsed, checks, intake, prefix="nrr_invoice_lines")

    account = intake.accounts.get(raw.name)
    other = typed.filter(typed.kind != "recurring")
    if account is not None:
        for record in other.group_by("kind").agg(n=other.count()).to_pyarrow().to_pylist():
            account.rows_used += record["n"]
            account.no_mrr[f"{record['kind'].replace('_', '-')} lines"] += record["n"]

    lines = typed.filter(typed.kind == "recurring")
    net = lines.group_by(*_KEY).agg(
        amount=lines.signed.sum().cast(NUMBER),
        scale=lines.scale.first(),
        months=lines.months.first(),
        quantity=lines.quantity.max(),
        **{ROW: lines[ROW].min()},
        _nrows=lines.count(),
        rows=lines[ROW].collect(order_by=lines[ROW]),
    )
    net = con.create_table(ibis.util.gen_name("nrr_invoice_net"), net, temp=True)
    _negative_nets(net, lines, raw, intake)
    net = net.filter(net.amount >= 0)
    canonical = net.select(
        net[ROW],
        net._nrows,
        customer_id=net.customer_id,
        product=net.product,
        start_date=net.period_start.cast("string"),
        end_date=net.period_end.cast("string"),
        # The amount over the period's months, or x 487 over its days x 16: one exact
        # division in `validate` (common.MONTH_DAYS).
        amount=(net.amount * net.scale).cast(NUMBER).cast("string"),
        interval=net.months.cast("string"),
        quantity=net.quantity.cast("string"),
        currency=net.currency,
    )
    return RawSource(name=raw.name, table=canonical, columns=tuple(canonical.columns))


def _period_months(
    start: ir.DateValue, end: ir.DateValue
) -> tuple[ir.IntegerValue, ir.NumericValue]:
    """Whole calendar months when the period is aligned to its start day, else days/30.4375,
    as (a factor for the amount, the interval): (1, months), or (487, days x 16), so that the
    amount's MRR is one exact division (a day is 16/487 of a month)."""
    whole = (end.year() * 12 + end.month()) - (start.year() * 12 + start.month())
    last_of_end_month = (end.truncate("M") + ibis.interval(months=1) - ibis.interval(days=1)).day()
    aligned = (whole >= 1) & (end.day() == ibis.least(start.day(), last_of_end_month))
    days = end.delta(start, unit="day")
    per_day, day = MONTH_DAYS
    scale = ibis.ifelse(aligned, 1, per_day).cast("int64")
    return scale, ibis.ifelse(aligned, whole, days * day).cast(NUMBER)


def _negative_nets(net: ir.Table, lines: ir.Table, raw: RawSource, intake: Intake) -> None:
    negative = net.filter(net.amount < 0)
    found = negative.order_by(ROW).to_pyarrow().to_pylist()
    if not found:
        return

    def message(r: dict) -> str:
        rows = ", ".join(str(x) for x in r["rows"])
        return (
            f"invoice lines on rows {rows} ({r['customer_id']}, product "
            f"{r['product'] or 'default'}, {r['currency']}, {r['period_start']} to "
            f"{r['period_end']}) net to {r['amount'].normalize():f}: credits exceed what was "
            "invoiced for this service period; check the credit's period and product"
        )

    if not intake.quarantine:
        problems = [Problem(source=raw.name, row=r[ROW], message=message(r)) for r in found]
        shown = problems[: intake.max_problems]
        note = None
        if len(problems) > len(shown):
            note = f"{raw.name}: {len(problems)} negative nets; the first {len(shown)} are listed"
        raise InputError(shown, note=note)
    member_rows = [row for r in found for row in r["rows"]]
    records = {
        r[ROW]: r
        for r in raw.table.filter(raw.table[ROW].isin(member_rows)).to_pyarrow().to_pylist()
    }
    rejections = [
        Rejection(
            source=raw.name,
            row=row,
            columns=("amount",),
            reasons=(message(r),),
            record={k: v for k, v in records.get(row, {}).items() if k != ROW},
        )
        for r in found
        for row in r["rows"]
    ]
    bad = lines.filter(lines[ROW].isin(member_rows))
    reject(intake, raw.name, rejections, bad)
