"""Validate the canonical subscriptions (METRICS.md section 1) into typed lines; the
customers input is `nrr.customers`, on the helpers here.

Validation runs inside the engine, in one pass over each file: every check becomes a
boolean column, the typed table is materialized once, and only the bad rows come back to
Python to be described (`nrr.screen`). Every problem is collected, never just the first;
the intake's policy decides whether they stop the run or are quarantined.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from nrr.doubles import line_warnings
from nrr.errors import InputError, Problem
from nrr.fetch import value
from nrr.handover import checked_relation
from nrr.parsing import parse_number, strip, trimmer
from nrr.screen import (
    CURRENCY_HINT,
    DEFAULT_MAX_PROBLEMS,
    MRR_HINT,
    Check,
    Intake,
    screen,
    screen_direct,
)
from nrr.sources.files import ROW, RawSource

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "INTERVAL_NAMES",
    "LINE_COLUMNS",
    "LOCAL_MRR",
    "MONEY",
    "validate_subscriptions",
]

# Per-line MRR in its own currency: 12 integer digits, 8 decimals. With rates at 9 decimals
# the product fits 38 digits exactly on every engine, so no conversion rounds.
LOCAL_MRR = "decimal(20, 8)"
MONEY = "decimal(38, 18)"
_NUMBER = "decimal(38, 10)"
_MAX_MRR = 10**11

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


def _show(value: str | None) -> str:
    return "empty" if value is None or value.strip() == "" else repr(value)


_SUBSCRIPTION_CHECKS = (
    Check(
        "bad_customer",
        "customer_id",
        lambda v: "customer_id is empty; every line needs the id of the account that pays",
    ),
    Check(
        "bad_start",
        "start_date",
        lambda v: (
            f"start_date is {_show(v)}, not a date; write it "
            "as YYYY-MM-DD (ISO), for example 2024-01-31"
        ),
    ),
    Check(
        "bad_end",
        "end_date",
        lambda v: (
            f"end_date is {_show(v)}, not a date; write it as "
            "YYYY-MM-DD (ISO), or leave it empty for an ongoing line"
        ),
    ),
    Check(
        "bad_order",
        "end_date",
        lambda v: (
            f"end_date {_show(v)} is before start_date; end_date "
            "is the first day NOT in service, on or after start_date"
        ),
    ),
    Check(
        "bad_amount",
        "amount",
        lambda v: (
            f"amount is {_show(v)}, not a number; write plain "
            "digits with a dot for decimals and no thousands separator or currency sign, "
            "e.g. 1250.50"
        ),
    ),
    Check(
        "bad_negative",
        "amount",
        lambda v: (
            f"amount {_show(v)} is negative; recurring charges "
            "are >= 0 (net credits and refunds into the charge, or leave them out)"
        ),
    ),
    Check(
        "bad_large",
        "amount",
        lambda v: (
            f"amount {_show(v)} gives an MRR of 100 billion or more, beyond the supported "
            "range; check the value and its interval"
        ),
    ),
    Check(
        "bad_interval",
        "interval",
        lambda v: (
            f"interval {_show(v)} is unknown; use month, "
            "quarter, half_year, year, or a positive number of months such as 12.2875"
        ),
    ),
    Check(
        "bad_quantity",
        "quantity",
        lambda v: f"quantity {_show(v)} is not a number >= 0; leave it empty for 1",
    ),
    Check(
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
        return strip(raw.table[column])
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
    intake: Intake | None = None,
    first_rates: dict[str, int] | None = None,
    origin: dict[str, str] | None = None,
) -> ir.Table:
    """Check every row of a subscriptions source; return the typed lines.

    Rows that fail a check raise `InputError` listing them, or, when the intake quarantines,
    are set aside. With `first_rates` (currency -> first month with a rate) a quarantining
    intake also sets aside lines in a currency that has no rate yet when they start.
    `origin` maps canonical column names to the source's own, for messages.
    """
    intake = intake or Intake()
    _require_columns(
        raw,
        _REQUIRED_SUBSCRIPTION,
        "subscriptions",
        ", ".join(_REQUIRED_SUBSCRIPTION + _OPTIONAL_SUBSCRIPTION),
    )
    # Each step is its own projection, so DuckDB trims and parses every value once, however
    # often the next step refers to it.
    t = raw.table
    given = [c for c in (*_REQUIRED_SUBSCRIPTION, *_OPTIONAL_SUBSCRIPTION) if c in raw.columns]
    nrows = t[_NROWS].cast("int64") if _NROWS in raw.columns else ibis.literal(1, "int64")
    tidy = trimmer(raw.spaced)
    text = t.select(t[ROW], _nrows=nrows, **{c: tidy(t[c]) for c in given})

    def column(name: str) -> ir.StringValue:
        return text[name] if name in given else ibis.literal("", "string")

    customer = column("customer_id")
    start_text, end_text = column("start_date"), column("end_date")
    start, end = _date(start_text), _date(end_text)
    amount = parse_number(column("amount"))
    interval_text = column("interval")
    interval_lower = interval_text.lower()
    # Names as written are tested first, lower-cased ones after: files mostly write them in
    # lower case, and lower-casing every value cost 0.17 s of CPU at 3M lines.
    named = [
        (text_form == name, ibis.literal(months))
        for text_form in (interval_text, interval_lower)
        for name, months in INTERVAL_NAMES.items()
    ]
    interval = ibis.cases(
        (_blank(interval_text), ibis.literal(1)), *named, else_=parse_number(interval_text)
    ).cast(_NUMBER)
    quantity_text = column("quantity")
    quantity = ibis.ifelse(_blank(quantity_text), 1, parse_number(quantity_text)).cast(_NUMBER)
    currency_text = column("currency").upper()
    currency = ibis.ifelse(_blank(currency_text), base_currency, currency_text)
    product = column("product")

    # Parse once in an inner projection; the checks and MRR below reuse the parsed values
    # instead of repeating the text-to-number work in every expression.
    base = text.select(
        text[ROW],
        "_nrows",
        customer_id=customer,
        product=ibis.ifelse(_blank(product), "default", product),
        currency=currency,
        start_date=start,
        end_date=end,
        end_given=~_blank(end_text),
        amount=amount,
        interval_months=interval,
        quantity=quantity,
    )
    amount, interval = base.amount, base.interval_months
    ok_money = amount.notnull() & (amount >= 0) & interval.notnull() & (interval > 0)
    base = base.mutate(_mrr=ibis.ifelse(ok_money, amount / interval, ibis.null()))
    amount, interval, quantity = base.amount, base.interval_months, base.quantity
    start, end, currency = base.start_date, base.end_date, base.currency
    # The limit is exact: within a unit of it the double quotient cannot tell (10^11 - 10^-8
    # is 10^11 in a double), so those rows compare the decimals themselves.
    near = (base._mrr >= _MAX_MRR - 1) & (base._mrr < _MAX_MRR + 1)
    exactly_large = amount >= interval * ibis.literal(Decimal(_MAX_MRR), type="decimal(12, 0)")
    too_large = ibis.ifelse(near, exactly_large, base._mrr >= _MAX_MRR).fill_null(False)
    start_m = (start.year() * 12 + start.month() - 1).cast("int64")
    end_m = (end.year() * 12 + end.month() - 1).cast("int64")
    flags = {
        "bad_customer": _blank(base.customer_id),
        "bad_start": start.isnull(),
        "bad_end": base.end_given & end.isnull(),
        "bad_order": end.notnull() & start.notnull() & (end < start),
        "bad_amount": amount.isnull(),
        "bad_negative": amount.notnull() & (amount < 0),
        "bad_large": too_large,
        "bad_interval": interval.isnull() | (interval <= 0),
        "bad_quantity": quantity.isnull() | (quantity < 0),
        # The base currency is valid (`loading.load` takes three ASCII letters only) and is
        # most lines' currency: only the others go through the regular expression (0.1 s of
        # CPU at 3M lines, 65% of them in USD).
        "bad_currency": ibis.ifelse(
            currency == base_currency, False, ~currency.re_search(r"^[A-Z]{3}$")
        ),
    }
    checks = _SUBSCRIPTION_CHECKS
    if intake.quarantine and first_rates is not None:
        flags["bad_rate"] = _uncovered(currency, base_currency, first_rates, start_m, end_m, amount)
        checks = (*checks, _rate_check(base_currency))
    # DuckDB divides decimals in double precision. Rounded to 8 decimals, a quotient is right
    # when it is farther from a tie than the double's error (a few parts in 10^16 of it);
    # the others (MRR above a few million, or near a tie) are corrected by their exact
    # remainder, so every line's MRR is the exact quotient to 8 decimals, at any size
    # (1,234,567,890.12 a month was 1,234,567,890.11999984). The test is cheap doubles; the
    # correction's 128-bit decimals run only on the rows that need it. Both run only on rows
    # whose MRR is below 100 billion (inside `safe_mrr`'s condition), where they cannot overflow.
    # Past a billion the tie test below is false anyway (the threshold grows with the MRR);
    # capping keeps `floor` within a 64-bit integer (10^11 x 10^8 would not be).
    units = ibis.ifelse(base._mrr < 1e9, base._mrr, 0) * 1e8
    clear = (units - units.floor() - 0.5).abs() > 0.05 + base._mrr * 1e-7
    rough = base._mrr.cast(LOCAL_MRR)
    correction = ((amount - rough * interval) / interval).cast(LOCAL_MRR)
    # Ibis types the sum as LOCAL_MRR and would drop the cast back to it; DuckDB widens it.
    exact = ibis.ifelse(clear, rough, (rough.cast("decimal(21, 8)") + correction).cast(LOCAL_MRR))
    safe_mrr = ibis.ifelse(ok_money & ~too_large, exact, 0)
    parsed = base.select(
        base[ROW],
        "customer_id",
        "product",
        "currency",
        "start_date",
        "end_date",
        "amount",
        "interval_months",
        "quantity",
        "_nrows",
        start_m=start_m,
        end_m=end_m,
        mrr_local=safe_mrr.cast(LOCAL_MRR),
        **{
            MRR_HINT: ibis.ifelse(base._mrr < _MAX_MRR, base._mrr, ibis.null()).cast(_NUMBER),
            CURRENCY_HINT: currency,
        },
        **flags,
    )
    if raw.unnumbered is not None:
        # Each row of a file is one line: no count of rows per line to keep.
        typed = screen_direct(
            con,
            raw,
            parsed.drop(_NROWS),
            checks,
            intake,
            prefix="nrr_lines",
            notes=lambda checked: _line_warnings(con, checked.select(*LINE_COLUMNS), raw.name),
        )
        if typed is None:
            # Some row needs naming: the file is opened the usual way and checked again.
            careful = raw.unnumbered.careful()
            intake.open_account(careful, con)
            return validate_subscriptions(
                con,
                careful,
                base_currency=base_currency,
                intake=intake,
                first_rates=first_rates,
                origin=origin,
            )
        return typed.select(*LINE_COLUMNS)  # warned about by `screen_direct`
    typed = screen(con, raw, parsed, checks, intake, prefix="nrr_lines", origin=origin)
    _count_used(intake, raw, typed)
    lines = typed.select(*LINE_COLUMNS)
    intake.warnings.extend(_line_warnings(con, lines, raw.name))
    return lines


def _line_warnings(con: ibis.BaseBackend, lines: ir.Table, source: str) -> list[str]:
    return line_warnings(*checked_relation(con, lines, "nrr_checked_lines"), source)


def _count_used(intake: Intake, raw: RawSource, typed: ir.Table) -> None:
    account = intake.accounts.get(raw.name)
    if account is not None and raw.rows is not None:
        account.rows_used += int(value(typed.count()))  # a file read as it is: a row a line
    elif account is not None:
        # An adapter's line may stand for several input rows, and a row for several lines.
        used = typed.select(ROW, _NROWS).distinct()
        account.rows_used += int(value(used[_NROWS].sum()) or 0)


_NROWS = "_nrows"


def _uncovered(
    currency: ir.StringValue,
    base: str,
    first_rates: dict[str, int],
    start_m: ir.IntegerValue,
    end_m: ir.IntegerValue,
    amount: ir.NumericValue,
) -> ir.BooleanValue:
    first = (
        ibis.cases(
            *((currency == c, ibis.literal(m, "int64")) for c, m in first_rates.items()),
            else_=ibis.null("int64"),
        )
        if first_rates
        else ibis.null("int64")
    )
    live = (amount > 0) & (end_m.isnull() | (end_m > start_m))
    return ibis.ifelse(
        (currency != base) & currency.re_search(r"^[A-Z]{3}$") & live & start_m.notnull(),
        first.isnull() | (start_m < first),
        False,
    ).fill_null(False)


def _rate_check(base: str) -> Check:
    return Check(
        "bad_rate",
        "currency",
        lambda v: (
            f"no exchange rate for {_show(v)} in this line's start month or any earlier month; "
            f"add it to the fx_rates input ({base} per 1 unit)"
        ),
    )
