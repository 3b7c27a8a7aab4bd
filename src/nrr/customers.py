"""Validate the customers input (METRICS.md section 1): ids present and unique, attributes as
text. Screened like the subscriptions (`nrr.validate`, `nrr.screen`)."""

from __future__ import annotations

from nrr.engines.base import Engine
from nrr.errors import InputError, InternalError, Problem
from nrr.intake import Intake
from nrr.parsing import blank, column, trimmer
from nrr.screen import Check, count, screen, screen_direct
from nrr.sources.files import ROW, RawSource
from nrr.validate import _require_columns, _show

__all__ = ["check_customers", "validate_customers", "without_row"]


def validate_customers(
    engine: Engine,
    raw: RawSource,
    *,
    intake: Intake | None = None,
) -> str:
    """Check a customers source: ids present and unique; attributes as text, empty = `(none)`.

    Quarantining sets aside rows without an id and every row of a repeated id (never "last
    one wins"); those customers then have every attribute `(none)`.
    """
    return without_row(engine, check_customers(engine, raw, intake=intake))


def without_row(engine: Engine, checked: str) -> str:
    """The checked customers without their `_row` (every column named: engines other than
    DuckDB have no `* EXCLUDE`)."""
    kept = ", ".join(column(c) for c in engine.columns(checked) if c != ROW)
    return f"SELECT {kept} FROM ({checked}) AS checked"


def check_customers(
    engine: Engine,
    raw: RawSource,
    *,
    intake: Intake | None = None,
) -> str:
    """`validate_customers`, with each customer's row in the source (`_row`) kept, for
    messages that name it (`lookalike`)."""
    intake = intake or Intake()
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
    names = [c for c in raw.columns if c not in ("customer_id", ROW)]
    # Trimmed once in their own projection (see `validate_subscriptions`).
    tidy = trimmer(raw.spaced)
    trimmed = ", ".join(
        [f'"{ROW}"', *(f"{tidy(column(c))} AS {column(c)}" for c in ("customer_id", *names))]
    )
    attributes = "".join(
        f", CASE WHEN {blank(column(c))} THEN '(none)' ELSE {column(c)} END AS {column(c)}"
        for c in names
    )
    parsed = (
        f'SELECT "{ROW}", customer_id{attributes} '
        f"FROM (SELECT {trimmed} FROM ({raw.relation}) AS raw) AS trimmed"
    )
    if raw.unnumbered is not None:
        return _customers_direct(engine, raw, parsed, intake)
    # Quarantine drops every copy of a repeated id; failing lists each copy after the first.
    repeated = "copies > 1" if intake.quarantine else f'first_row < "{ROW}"'
    flagged = f"""
        SELECT *, NOT bad_customer AND {repeated} AS bad_duplicate
        FROM (
            SELECT *,
                {blank("customer_id")} AS bad_customer,
                MIN("{ROW}") OVER (PARTITION BY customer_id) AS first_row,
                COUNT("{ROW}") OVER (PARTITION BY customer_id) AS copies
            FROM ({parsed}) AS parsed
        ) AS counted"""
    checks = (
        _NO_CUSTOMER,
        Check(
            "bad_duplicate",
            "customer_id",
            lambda v: (
                f"customer_id {_show(v)} appears more than "
                "once (first on row {first}); keep exactly one row per customer"
            ),
        ),
    )
    typed = screen(engine, raw, flagged, checks, intake, prefix="nrr_customers")
    account = intake.accounts.get(raw.name)
    if account is not None:
        account.rows_used += count(engine, typed)
    kept = ", ".join(column(c) for c in (ROW, "customer_id", *names))
    return f"SELECT {kept} FROM ({typed}) AS typed"


_NO_CUSTOMER = Check(
    "bad_customer",
    "customer_id",
    lambda v: "customer_id is empty; give every row the id used in the subscriptions",
)


def _customers_direct(engine: Engine, raw: RawSource, parsed: str, intake: Intake) -> str:
    """`validate_customers` for a file read straight (`RawSource.unnumbered`): a clean file
    needs no window to find repeated ids, only a count of distinct ones; any problem sends
    the file down the careful path, which names the rows."""
    if raw.unnumbered is None:
        raise InternalError(f"{raw.name} was not read straight from its file")
    checked = f"SELECT *, {blank('customer_id')} AS bad_customer FROM ({parsed}) AS parsed"
    typed = screen_direct(
        engine, raw, checked, (_NO_CUSTOMER,), intake, prefix="nrr_customers", unique="customer_id"
    )
    if typed is None:
        careful = raw.unnumbered.careful()
        intake.open_account(careful, engine)
        return check_customers(engine, careful, intake=intake)
    return typed
