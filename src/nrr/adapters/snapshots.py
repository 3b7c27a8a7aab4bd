"""MRR snapshots (customer_id, month, mrr) -> canonical subscription lines.

A snapshot says a customer's MRR in a month, as another tool or a spreadsheet computed it.
Each row becomes a one-month line from the month's first day to the next month's first day,
so it is in service on the month's last day and nowhere else (METRICS.md section 2). A
customer with two rows for the same month (and product and currency) is a problem, never
summed silently.
"""

from __future__ import annotations

from nrr.adapters.common import blank, column_of, decimal_of, require, show
from nrr.adapters.common import text as _text
from nrr.engines.base import Engine
from nrr.intake import Intake
from nrr.parsing import column, literal
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, screen
from nrr.sources.files import ROW, RawSource

__all__ = ["snapshot_lines"]

_MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])(-[0-9]{2})?$"
_LINE = ("customer_id", "product", "start_date", "end_date", "amount", "interval", "currency")


def snapshot_lines(engine: Engine, raw: RawSource, intake: Intake, base: str) -> RawSource:
    """Screen MRR snapshots; return canonical one-month lines (as text, a query over
    `engine`)."""
    need = require(
        raw,
        "snapshots",
        customer=("customer_id", "customer"),
        month=("month", "period", "date"),
        mrr=("mrr", "amount"),
    )
    currency_col = column_of(raw, "currency")
    product_col = column_of(raw, "product")
    row = column(ROW)
    # Each step is its own projection, so DuckDB trims and parses every value once.
    texts = (
        f"SELECT {row}, "
        f"{_text(raw, need['customer'])} AS customer_id, "
        f"{_text(raw, product_col)} AS product, "
        f"{_text(raw, need['month'])} AS month_text, "
        f"{_text(raw, need['mrr'])} AS mrr_text, "
        f"UPPER({_text(raw, currency_col)}) AS currency_text "
        f"FROM ({raw.relation}) AS raw"
    )
    first_day = (
        f"CASE WHEN REGEXP_MATCHES(month_text, {literal(_MONTH)}) "
        "THEN TRY_CAST(SUBSTRING(month_text, 1, 7) || '-01' AS DATE) "
        "ELSE CAST(NULL AS DATE) END"
    )
    # A full date must itself exist (2024-02-30 is not a month).
    full_date_ok = (
        "CASE WHEN LENGTH(month_text) = 10 THEN TRY_CAST(month_text AS DATE) IS NOT NULL "
        "ELSE TRUE END"
    )
    # MRR to 8 decimals, the precision of every line's MRR (validate.LOCAL_MRR).
    mrr = decimal_of("mrr_text", digits=12, decimals=8)
    currency = f"CASE WHEN {blank('currency_text')} THEN {literal(base)} ELSE currency_text END"
    values = (
        f"SELECT {row}, customer_id, product, {currency} AS currency, "
        f"{first_day} AS first_day, {mrr} AS mrr, {full_date_ok} AS month_ok "
        f"FROM ({texts}) AS texts"
    )
    parsed = (
        f"SELECT {row}, customer_id, product, currency, first_day, mrr, month_ok, "
        f"mrr AS {column(MRR_HINT)}, currency AS {column(CURRENCY_HINT)} "
        f"FROM ({values}) AS parsed_values"
    )
    key = "PARTITION BY customer_id, product, currency, first_day"
    flagged = (
        "SELECT *, "
        f"MIN({row}) OVER ({key}) AS first_row, "
        f"COUNT({row}) OVER ({key}) AS copies, "
        f"{blank('customer_id')} AS bad_customer, "
        "first_day IS NULL OR NOT month_ok AS bad_month, "
        "mrr IS NULL AS bad_mrr, "
        "NOT REGEXP_MATCHES(currency, '^[A-Z]{3}$') AS bad_currency "
        f"FROM ({parsed}) AS parsed"
    )
    repeated = "copies > 1" if intake.quarantine else f"first_row < {row}"
    flagged = (
        "SELECT *, "
        f"first_day IS NOT NULL AND NOT bad_customer AND {repeated} AS bad_repeat "
        f"FROM ({flagged}) AS flagged"
    )
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
    typed = screen(engine, raw, flagged, checks, intake, prefix="nrr_snapshots")
    # The next month's first day, as a date (date + interval would be a timestamp).
    next_month = "MAKE_DATE(YEAR(first_day) + MONTH(first_day) // 12, MONTH(first_day) % 12 + 1, 1)"
    lines = (
        f"SELECT {row}, customer_id, product, "
        "CAST(first_day AS VARCHAR) AS start_date, "
        f"CAST({next_month} AS VARCHAR) AS end_date, "
        "CAST(mrr AS VARCHAR) AS amount, "
        "'1' AS \"interval\", "
        "currency "
        f"FROM ({typed}) AS typed"
    )
    return RawSource(name=raw.name, relation=lines, columns=_LINE)
