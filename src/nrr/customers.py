"""Validate the customers input (METRICS.md section 1): ids present and unique, attributes as
text. Screened like the subscriptions (`nrr.validate`, `nrr.screen`)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from nrr.errors import InputError, InternalError, Problem
from nrr.fetch import value
from nrr.parsing import trimmer
from nrr.screen import Check, Intake, screen, screen_direct
from nrr.sources.files import ROW, RawSource
from nrr.validate import _blank, _require_columns, _show

__all__ = ["check_customers", "validate_customers"]


def validate_customers(
    con: ibis.BaseBackend,
    raw: RawSource,
    *,
    intake: Intake | None = None,
) -> ir.Table:
    """Check a customers source: ids present and unique; attributes as text, empty = `(none)`.

    Quarantining sets aside rows without an id and every row of a repeated id (never "last
    one wins"); those customers then have every attribute `(none)`.
    """
    return check_customers(con, raw, intake=intake).drop(ROW)


def check_customers(
    con: ibis.BaseBackend,
    raw: RawSource,
    *,
    intake: Intake | None = None,
) -> ir.Table:
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
    t = raw.table
    tidy = trimmer(raw.spaced)
    t = t.select(t[ROW], customer_id=tidy(t["customer_id"]), **{c: tidy(t[c]) for c in names})
    attributes = {c: ibis.ifelse(_blank(t[c]), "(none)", t[c]) for c in names}
    parsed = t.select(t[ROW], "customer_id", **attributes)
    if raw.unnumbered is not None:
        return _customers_direct(con, raw, parsed, intake)
    parsed = parsed.mutate(
        bad_customer=_blank(parsed.customer_id),
        first_row=parsed[ROW].min().over(group_by=parsed.customer_id),
        copies=parsed[ROW].count().over(group_by=parsed.customer_id),
    )
    # Quarantine drops every copy of a repeated id; failing lists each copy after the first.
    parsed = parsed.mutate(
        bad_duplicate=~parsed.bad_customer
        & ((parsed.copies > 1) if intake.quarantine else (parsed.first_row < parsed[ROW]))
    )
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
    typed = screen(con, raw, parsed, checks, intake, prefix="nrr_customers")
    account = intake.accounts.get(raw.name)
    if account is not None:
        account.rows_used += int(value(typed.count()))
    return typed.select(ROW, "customer_id", *attributes)


_NO_CUSTOMER = Check(
    "bad_customer",
    "customer_id",
    lambda v: "customer_id is empty; give every row the id used in the subscriptions",
)


def _customers_direct(
    con: ibis.BaseBackend, raw: RawSource, parsed: ir.Table, intake: Intake
) -> ir.Table:
    """`validate_customers` for a file read straight (`RawSource.unnumbered`): a clean file
    needs no window to find repeated ids, only a count of distinct ones; any problem sends
    the file down the careful path, which names the rows."""
    if raw.unnumbered is None:
        raise InternalError(f"{raw.name} was not read straight from its file")
    checked = parsed.mutate(bad_customer=_blank(parsed.customer_id))
    typed = screen_direct(
        con, raw, checked, (_NO_CUSTOMER,), intake, prefix="nrr_customers", unique="customer_id"
    )
    if typed is None:
        careful = raw.unnumbered.careful()
        intake.open_account(careful, con)
        return check_customers(con, careful, intake=intake)
    return typed
