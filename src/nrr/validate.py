"""Validate the canonical subscriptions (METRICS.md section 1) into typed lines; the
customers input is `nrr.customers`, on the helpers here.

Validation runs inside the embedded DuckDB, in one pass over each file: every check becomes
a boolean column of one SQL query, the typed rows are stored once, and only the bad rows come
back to Python to be described (`nrr.screen`). Every problem is collected, never just the first;
the intake's policy decides whether they stop the run or are quarantined.
"""

from __future__ import annotations

from nrr.doubles import line_warnings
from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.intake import DEFAULT_MAX_PROBLEMS, Intake
from nrr.parsing import blank, cases, column, iso_date, literal, parse_number, trimmer
from nrr.screen import CURRENCY_HINT, MRR_HINT, Check, count, screen, screen_direct
from nrr.sources.files import ROW, RawSource
from nrr.sql.render import parse_query

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "INTERVAL_NAMES",
    "LINE_COLUMNS",
    "LOCAL_MRR",
    "MONEY",
    "SUBSCRIPTION_COLUMNS",
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

# The canonical subscriptions' columns (METRICS.md section 1), as the adapters write them.
SUBSCRIPTION_COLUMNS = (
    "customer_id",
    "product",
    "start_date",
    "end_date",
    "amount",
    "interval",
    "quantity",
    "currency",
)
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
    engine: Engine,
    raw: RawSource,
    *,
    base_currency: str,
    intake: Intake | None = None,
    first_rates: dict[str, int] | None = None,
    origin: dict[str, str] | None = None,
) -> str:
    """Check every row of a subscriptions source; return a query of the typed lines
    (`LINE_COLUMNS`).

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
    rate_check = intake.quarantine and first_rates is not None
    parsed = _parsed_lines(raw, base_currency, first_rates if rate_check else None)
    checks = (
        (*_SUBSCRIPTION_CHECKS, _rate_check(base_currency))
        if rate_check
        else (_SUBSCRIPTION_CHECKS)
    )
    lines = ", ".join(column(c) for c in LINE_COLUMNS)
    if raw.unnumbered is not None:
        # Each row of a file is one line: no count of rows per line to keep.
        typed = screen_direct(
            engine,
            raw,
            f"SELECT * EXCLUDE ({_NROWS}) FROM ({parsed}) AS parsed",
            checks,
            intake,
            prefix="nrr_lines",
            notes=lambda checked: _line_warnings(
                engine, f"SELECT {lines} FROM ({checked}) AS checked", raw.name
            ),
        )
        if typed is None:
            # Some row needs naming: the file is opened the usual way and checked again.
            careful = raw.unnumbered.careful()
            intake.open_account(careful, engine)
            return validate_subscriptions(
                engine,
                careful,
                base_currency=base_currency,
                intake=intake,
                first_rates=first_rates,
                origin=origin,
            )
        return f"SELECT {lines} FROM ({typed}) AS typed"  # warned about by `screen_direct`
    typed = screen(engine, raw, parsed, checks, intake, prefix="nrr_lines", origin=origin)
    _count_used(engine, intake, raw, typed)
    result = f"SELECT {lines} FROM ({typed}) AS typed"
    intake.warnings.extend(_line_warnings(engine, result, raw.name))
    return result


def _parsed_lines(raw: RawSource, base: str, first_rates: dict[str, int] | None) -> str:
    """The query that types every row of `raw` and flags each check it fails.

    Each step is its own projection, so DuckDB trims and parses every value once, however
    often the next step refers to it."""
    given = [c for c in (*_REQUIRED_SUBSCRIPTION, *_OPTIONAL_SUBSCRIPTION) if c in raw.columns]
    tidy = trimmer(raw.spaced)
    rows_per_line = (
        f"CAST({column(_NROWS)} AS BIGINT)" if _NROWS in raw.columns else "CAST(1 AS BIGINT)"
    )
    text = ", ".join(
        [
            column(ROW),
            f"{rows_per_line} AS {column(_NROWS)}",
            *(f"{tidy(column(c))} AS {column(c)}" for c in given),
        ]
    )

    def given_text(name: str) -> str:
        return column(name) if name in given else "''"

    interval = given_text("interval")
    # Names as written are tested first, lower-cased ones after: files mostly write them in
    # lower case, and lower-casing every value cost 0.17 s of CPU at 3M lines.
    named = [
        (f"{form} = {literal(name)}", str(months))
        for form in (interval, f"LOWER({interval})")
        for name, months in INTERVAL_NAMES.items()
    ]
    interval_months = cases([(blank(interval), "1"), *named], parse_number(interval))
    quantity = given_text("quantity")
    currency = f"UPPER({given_text('currency')})"
    product = given_text("product")
    end_text = given_text("end_date")
    typed = f"""
        SELECT
            "{ROW}",
            {_NROWS},
            {given_text("customer_id")} AS customer_id,
            CASE WHEN {blank(product)} THEN 'default' ELSE {product} END AS product,
            CASE WHEN {blank(currency)} THEN {literal(base)} ELSE {currency} END AS currency,
            {iso_date(given_text("start_date"))} AS start_date,
            {iso_date(end_text)} AS end_date,
            NOT {blank(end_text)} AS end_given,
            {parse_number(given_text("amount"))} AS amount,
            CAST({interval_months} AS {_NUMBER}) AS interval_months,
            CAST(CASE WHEN {blank(quantity)} THEN 1 ELSE {parse_number(quantity)} END
                AS {_NUMBER}) AS quantity
        FROM (SELECT {text} FROM ({raw.relation}) AS raw) AS trimmed"""
    ok_money = (
        "amount IS NOT NULL AND amount >= 0 AND interval_months IS NOT NULL AND interval_months > 0"
    )
    # DuckDB divides decimals in double precision; the quotient is made exact below.
    valued = f"""
        SELECT *, CASE WHEN {ok_money}
            THEN CAST(amount AS DOUBLE) / CAST(interval_months AS DOUBLE) ELSE NULL END AS _mrr
        FROM ({typed}) AS typed"""
    # The limit is exact: within a unit of it the double quotient cannot tell (10^11 - 10^-8
    # is 10^11 in a double), so those rows compare the decimals themselves.
    too_large = f"""COALESCE(CASE
            WHEN _mrr >= {_MAX_MRR - 1} AND _mrr < {_MAX_MRR + 1}
            THEN amount >= interval_months * CAST({_MAX_MRR} AS DECIMAL(12, 0))
            ELSE _mrr >= {_MAX_MRR} END, FALSE)"""
    # Cast: PostgreSQL's EXTRACT gives a NUMERIC (the checks may run there, `engines.translated`).
    start_m = (
        "CAST(EXTRACT(YEAR FROM start_date) * 12 + EXTRACT(MONTH FROM start_date) - 1 AS BIGINT)"
    )
    end_m = "CAST(EXTRACT(YEAR FROM end_date) * 12 + EXTRACT(MONTH FROM end_date) - 1 AS BIGINT)"
    # DuckDB divides decimals in double precision. Rounded to 8 decimals, a quotient is right
    # when it is farther from a tie than the double's error (a few parts in 10^16 of it);
    # the others (MRR above a few million, or near a tie) are corrected by their exact
    # remainder, so every line's MRR is the exact quotient to 8 decimals, at any size
    # (1,234,567,890.12 a month was 1,234,567,890.11999984). The test is cheap doubles; the
    # correction's 128-bit decimals run only on the rows that need it. Both run only on rows
    # whose MRR is below 100 billion (inside the outer condition), where they cannot
    # overflow. Past a billion the tie test is false anyway (the threshold grows with the
    # MRR); capping keeps FLOOR within a 64-bit integer (10^11 x 10^8 would not be).
    units = "(CASE WHEN _mrr < 1000000000.0 THEN _mrr ELSE 0 END * 100000000.0)"
    rough = f"CAST(_mrr AS {LOCAL_MRR})"
    exact = f"""CASE
                WHEN ABS({units} - CAST(FLOOR({units}) AS BIGINT) - 0.5) > _mrr * 1e-07 + 0.05
                THEN {rough}
                ELSE CAST(CAST({rough} AS DECIMAL(21, 8)) + CAST(
                    CAST(amount - {rough} * interval_months AS DOUBLE)
                    / CAST(interval_months AS DOUBLE) AS {LOCAL_MRR}) AS {LOCAL_MRR})
            END"""
    flags = {
        "bad_customer": blank("customer_id"),
        "bad_start": "start_date IS NULL",
        "bad_end": "end_given AND end_date IS NULL",
        "bad_order": "end_date IS NOT NULL AND start_date IS NOT NULL AND end_date < start_date",
        "bad_amount": "amount IS NULL",
        "bad_negative": "amount IS NOT NULL AND amount < 0",
        "bad_large": too_large,
        "bad_interval": "interval_months IS NULL OR interval_months <= 0",
        "bad_quantity": "quantity IS NULL OR quantity < 0",
        # The base currency is valid (`loading.load` takes three ASCII letters only) and is
        # most lines' currency: only the others go through the regular expression (0.1 s of
        # CPU at 3M lines, 65% of them in USD).
        "bad_currency": f"CASE WHEN currency = {literal(base)} THEN FALSE "
        "ELSE NOT REGEXP_MATCHES(currency, '^[A-Z]{3}$') END",
    }
    if first_rates is not None:
        flags["bad_rate"] = _uncovered(base, first_rates, start_m, end_m)
    flag_list = ",\n            ".join(f"({sql}) AS {name}" for name, sql in flags.items())
    return f"""
        SELECT
            "{ROW}",
            customer_id,
            product,
            currency,
            start_date,
            end_date,
            amount,
            interval_months,
            quantity,
            {_NROWS},
            {start_m} AS start_m,
            {end_m} AS end_m,
            CAST(CASE WHEN {ok_money} AND NOT {too_large} THEN {exact} ELSE 0 END
                AS {LOCAL_MRR}) AS mrr_local,
            CAST(CASE WHEN _mrr < {_MAX_MRR} THEN _mrr ELSE NULL END AS {_NUMBER})
                AS {MRR_HINT},
            currency AS {CURRENCY_HINT},
            {flag_list}
        FROM ({valued}) AS valued"""


def _line_warnings(engine: Engine, lines: str, source: str) -> list[str]:
    return line_warnings(engine, parse_query(lines), source)


def _count_used(engine: Engine, intake: Intake, raw: RawSource, typed: str) -> None:
    account = intake.accounts.get(raw.name)
    if account is not None and raw.rows is not None:
        account.rows_used += count(engine, typed)  # a file read as it is: a row a line
    elif account is not None:
        # An adapter's line may stand for several input rows, and a row for several lines.
        used = engine.scalar(
            f'SELECT SUM({_NROWS}) FROM (SELECT DISTINCT "{ROW}", {_NROWS} FROM ({typed}) AS t) '
            "AS used"
        )
        account.rows_used += int(used or 0)


_NROWS = "_nrows"


def _uncovered(base: str, first_rates: dict[str, int], start_m: str, end_m: str) -> str:
    """Whether a line in a currency with no rate yet when it starts is live (a quarantining
    intake sets it aside)."""
    first = cases(
        [
            (f"currency = {literal(c)}", f"CAST({int(m):d} AS BIGINT)")
            for c, m in first_rates.items()
        ],
        "CAST(NULL AS BIGINT)",
    )
    live = f"amount > 0 AND (({end_m}) IS NULL OR ({end_m}) > ({start_m}))"
    return f"""COALESCE(CASE
            WHEN currency <> {literal(base)} AND REGEXP_MATCHES(currency, '^[A-Z]{{3}}$')
                AND {live} AND ({start_m}) IS NOT NULL
            THEN ({first}) IS NULL OR ({start_m}) < ({first})
            ELSE FALSE END, FALSE)"""


def _rate_check(base: str) -> Check:
    return Check(
        "bad_rate",
        "currency",
        lambda v: (
            f"no exchange rate for {_show(v)} in this line's start month or any earlier month; "
            f"add it to the fx_rates input ({base} per 1 unit)"
        ),
    )
