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
from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.intake import Intake, Rejection
from nrr.parsing import cases, column, literal
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, reject, screen
from nrr.sources.files import ROW, RawSource
from nrr.validate import SUBSCRIPTION_COLUMNS

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
# The canonical columns each net line becomes, in this order after `_row`.
_CANONICAL = ("_nrows", *SUBSCRIPTION_COLUMNS)


def invoice_lines(engine: Engine, raw: RawSource, intake: Intake, base: str) -> RawSource:
    """Screen invoice lines, net credits per customer, product, currency and period, and
    return canonical lines (as text, a query over `engine`); `_row` is each net line's first
    source row and `_nrows` the number of source rows netted into it."""
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
    row = column(ROW)
    # Each step is its own projection, so DuckDB trims and parses every value once, however
    # often the next step refers to it.
    texts = (
        f"SELECT {row}, "
        f"{_text(raw, need['customer'])} AS customer_id, "
        f"{_text(raw, col['product'])} AS product, "
        f"{_text(raw, need['period_start'])} AS start_text, "
        f"{_text(raw, need['period_end'])} AS end_text, "
        f"{_text(raw, need['amount'])} AS amount_text, "
        f"LOWER({_text(raw, col['type'])}) AS type_text, "
        f"LOWER({_text(raw, col['document'])}) AS document_text, "
        f"UPPER({_text(raw, col['currency'])}) AS currency_text, "
        f"{_text(raw, col['quantity'])} AS quantity_text "
        f"FROM ({raw.relation}) AS raw"
    )
    kind = cases(
        [
            (blank("type_text"), literal("recurring")),
            *((f"type_text = {literal(k)}", literal(v)) for k, v in LINE_TYPES.items()),
        ],
        "CAST(NULL AS VARCHAR)",
    )
    sign = cases(
        [
            (blank("document_text"), "1"),
            *((f"document_text = {literal(k)}", f"{v:d}") for k, v in DOCUMENTS.items()),
        ],
        "CAST(NULL AS BIGINT)",
    )
    quantity = decimal_of("quantity_text", digits=12, decimals=6)
    values = (
        f"SELECT {row}, customer_id, product, "
        f"CASE WHEN {blank('currency_text')} THEN {literal(base)} ELSE currency_text END "
        "AS currency, "
        f"{date_of('start_text')} AS period_start, "
        f"{date_of('end_text')} AS period_end, "
        f"{decimal_of('amount_text', digits=12, decimals=6, negative=True)} AS amount, "
        f"{kind} AS kind, "
        f"{sign} AS sign, "
        f"CAST(CASE WHEN {blank('quantity_text')} THEN 1 ELSE {quantity} END AS {NUMBER}) "
        "AS quantity "
        f"FROM ({texts}) AS texts"
    )
    scale, months = _period_months("period_start", "period_end")
    flags = {
        "bad_customer": blank("customer_id"),
        "bad_start": "period_start IS NULL",
        "bad_end": "period_end IS NULL",
        "bad_period": (
            "period_start IS NOT NULL AND period_end IS NOT NULL "
            "AND period_end <= period_start AND kind = 'recurring'"
        ),
        "bad_amount": "amount IS NULL",
        "bad_type": "kind IS NULL",
        "bad_document": "sign IS NULL",
        "bad_currency": "NOT REGEXP_MATCHES(currency, '^[A-Z]{3}$')",
        "bad_quantity": "quantity IS NULL",
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
    # Credits reduce what was invoiced whether they are written as positive or negative.
    flagged = (
        f"SELECT {row}, customer_id, product, currency, period_start, period_end, kind, "
        f"CAST(CASE WHEN sign = -1 THEN -ABS(amount) ELSE amount END AS {NUMBER}) AS signed, "
        f"{scale} AS scale, {months} AS months, quantity, "
        + ", ".join(f"{condition} AS {flag}" for flag, condition in flags.items())
        + f" FROM ({values}) AS parsed_values"
    )
    ok = f"NOT ({' OR '.join(flags)})"
    # The MRR divides as the engine does (a double), then is held to NUMBER, as before.
    parsed = (
        f"SELECT {row}, customer_id, product, currency, period_start, period_end, kind, "
        "signed, scale, months, quantity, "
        f"CAST(CASE WHEN {ok} AND kind = 'recurring' THEN signed * scale / months "
        f"ELSE CAST(NULL AS {NUMBER}) END AS {NUMBER}) AS {column(MRR_HINT)}, "
        f"currency AS {column(CURRENCY_HINT)}, "
        + ", ".join(flags)
        + f" FROM ({flagged}) AS flagged"
    )
    typed = screen(engine, raw, parsed, checks, intake, prefix="nrr_invoice_lines")

    account = intake.accounts.get(raw.name)
    if account is not None:
        other = engine.fetch(
            f"SELECT kind, COUNT(*) AS n FROM ({typed}) AS typed "
            "WHERE kind <> 'recurring' GROUP BY kind"
        ).records()
        for record in other:
            account.rows_used += record["n"]
            account.no_mrr[f"{record['kind'].replace('_', '-')} lines"] += record["n"]

    lines = f"SELECT * FROM ({typed}) AS typed WHERE kind = 'recurring'"
    key = ", ".join(column(k) for k in _KEY)
    name = engine.fresh_name("nrr_invoice_net")
    engine.keep(
        name,
        f"SELECT {key}, "
        f"CAST(SUM(signed) AS {NUMBER}) AS amount, "
        "FIRST(scale) FILTER (WHERE scale IS NOT NULL) AS scale, "
        "FIRST(months) FILTER (WHERE months IS NOT NULL) AS months, "
        "MAX(quantity) AS quantity, "
        f"MIN({row}) AS {row}, "
        'COUNT(*) AS "_nrows", '
        f'LIST({row} ORDER BY {row}) FILTER (WHERE {row} IS NOT NULL) AS "rows" '
        f"FROM ({lines}) AS lines GROUP BY {key}",
    )
    net = engine.quote(name)
    _negative_nets(engine, net, lines, raw, intake)
    canonical = (
        f'SELECT {row}, "_nrows", customer_id, product, '
        "CAST(period_start AS VARCHAR) AS start_date, "
        "CAST(period_end AS VARCHAR) AS end_date, "
        # The amount over the period's months, or x 487 over its days x 16: one exact
        # division in `validate` (common.MONTH_DAYS).
        f"CAST(CAST(amount * scale AS {NUMBER}) AS VARCHAR) AS amount, "
        'CAST(months AS VARCHAR) AS "interval", '
        "CAST(quantity AS VARCHAR) AS quantity, "
        "currency "
        f"FROM (SELECT * FROM {net} WHERE amount >= 0) AS net"
    )
    return RawSource(name=raw.name, relation=canonical, columns=_CANONICAL)


def _period_months(start: str, end: str) -> tuple[str, str]:
    """Whole calendar months when the period is aligned to its start day, else days/30.4375,
    as (a factor for the amount, the interval): (1, months), or (487, days x 16), so that the
    amount's MRR is one exact division (a day is 16/487 of a month). `start` and `end` are
    DATE expressions; the result is a BIGINT and a NUMBER expression."""
    whole = f"((YEAR({end}) * 12 + MONTH({end})) - (YEAR({start}) * 12 + MONTH({start})))"
    last_of_end_month = f"DAY(DATE_TRUNC('month', {end}) + INTERVAL 1 MONTH - INTERVAL 1 DAY)"
    aligned = f"({whole} >= 1 AND DAY({end}) = LEAST(DAY({start}), {last_of_end_month}))"
    days = f"DATE_DIFF('day', {start}, {end})"
    per_day, day = MONTH_DAYS
    scale = f"CAST(CASE WHEN {aligned} THEN 1 ELSE {per_day:d} END AS BIGINT)"
    months = f"CAST(CASE WHEN {aligned} THEN {whole} ELSE {days} * {day:d} END AS {NUMBER})"
    return scale, months


def _negative_nets(engine: Engine, net: str, lines: str, raw: RawSource, intake: Intake) -> None:
    """Fail on, or set aside, the net lines that credits took below zero; `net` is the stored
    table of net lines, `lines` the query of the recurring lines they net."""
    row = column(ROW)
    found = engine.fetch(f"SELECT * FROM {net} WHERE amount < 0 ORDER BY {row}").records()
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
    # The rows that made a negative net, read from the stored nets rather than pasted in.
    members = f'SELECT UNNEST("rows") FROM {net} WHERE amount < 0'
    names = [c for c in raw.columns if c != ROW]
    source = engine.fetch(
        f"SELECT {row}, {', '.join(column(c) for c in names)} FROM ({raw.relation}) AS raw "
        f"WHERE {row} IN ({members})"
    ).records()
    records = {r[ROW]: r for r in source}
    rejections = [
        Rejection(
            source=raw.name,
            row=member,
            columns=("amount",),
            reasons=(message(r),),
            record={k: v for k, v in records.get(member, {}).items() if k != ROW},
        )
        for r in found
        for member in r["rows"]
    ]
    bad = f"SELECT * FROM ({lines}) AS lines WHERE {row} IN ({members})"
    reject(intake, raw.name, rejections, engine, bad)
