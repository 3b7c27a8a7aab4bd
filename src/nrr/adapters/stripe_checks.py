"""The rules a Stripe subscription item must pass (docs/sources.md#stripe): each check's flag,
as SQL over an item's parsed values (`stripe._values`: `customer`, `status`, `start`,
`unit`... and `date_<name>`/`given_<name>` for each date field), and the message that names
what is wrong with the value Stripe's column held."""

from __future__ import annotations

from nrr.adapters.common import show
from nrr.parsing import literal
from nrr.screen import Check

__all__ = ["STATUSES", "TAX_BEHAVIORS", "among", "checks", "flags"]

STATUSES = (
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "paused",
)
TAX_BEHAVIORS = ("inclusive", "exclusive", "unspecified", "")


def among(values: tuple[str, ...]) -> str:
    """A SQL list of text constants, for `IN`."""
    return "(" + ", ".join(literal(v) for v in values) + ")"


def flags(dates: list[str]) -> dict[str, str]:
    """Each check's flag, true when the item breaks the rule, as SQL over its parsed values;
    `dates` are the date fields (`date_<name>`, `given_<name>` when its column is not empty)."""
    return {
        "bad_customer": '("customer" IS NULL OR "customer" = \'\')',
        "bad_status": f'NOT ("status" IN {among(STATUSES)})',
        "bad_start": '"start" IS NULL',
        **{f"bad_{name}": f'("given_{name}" AND "date_{name}" IS NULL)' for name in dates},
        "bad_price": '"unit" IS NULL',
        "bad_quantity": '"quantity" IS NULL',
        "bad_interval": '"longest" IS NULL',
        "bad_count": (
            '("longest" IS NOT NULL AND ("count" IS NULL OR "count" < 1 OR "count" > "longest"))'
        ),
        "bad_currency": "NOT REGEXP_MATCHES(\"currency\", '^[A-Z]{3}$')",
        "bad_percent": '("percent" IS NULL OR "percent" > 100)',
        "bad_amount_off": '"amount_off" IS NULL',
        "bad_both_off": '("percent" > 0 AND "amount_off" > 0)',
        "bad_tax": '("tax" IS NULL OR "tax" >= 100)',
        "bad_tax_behavior": f'NOT ("behavior" IN {among(TAX_BEHAVIORS)})',
        "bad_cancel_flag": '"cancel_flag" IS NULL',
        "bad_trial": '("status" = \'trialing\' AND NOT "given_trial_end")',
    }


def _date_check(flag: str, column: str) -> Check:
    return Check(
        flag,
        column,
        lambda v: f"{column} is {show(v)}, not a date, timestamp (ISO) or Unix time in seconds",
    )


def checks(
    need: dict[str, str],
    col: dict[str, str | None],
    dates: list[str],
    *,
    price: str | None,
    minor: bool,
) -> tuple[Check, ...]:
    """The checks, in the order their messages are listed: `need` and `col` map each field
    to the source's column (None when it has none), `price` is the price's column and
    `minor` whether it is in minor units (cents)."""
    return (
        Check(
            "bad_customer",
            need["customer"],
            lambda v: f"{need['customer']} is empty; every item needs the customer it bills",
        ),
        Check(
            "bad_status",
            need["status"],
            lambda v: (
                f"status {show(v)} is not a Stripe subscription status ({', '.join(STATUSES)})"
            ),
        ),
        _date_check("bad_start", need["start"]),
        *(_date_check(f"bad_{name}", col[name] or name) for name in dates),
        Check(
            "bad_price",
            price or "amount",
            lambda v: (
                f"price {show(v)} is not "
                + (
                    "a whole number >= 0 in the currency's minor unit (cents), as Stripe writes it"
                    if minor
                    else "a number >= 0 written with digits and at most 6 decimals (49.00)"
                )
            ),
        ),
        Check(
            "bad_quantity",
            col["quantity"] or "quantity",
            lambda v: f"quantity {show(v)} is not a whole number >= 0 (seats or units)",
        ),
        Check(
            "bad_interval",
            col["interval"] or "interval",
            lambda v: f"interval {show(v)} is not day, week, month or year",
        ),
        Check(
            "bad_count",
            col["interval_count"] or "interval_count",
            lambda v: (
                f"interval_count {show(v)} is not a whole number >= 1 within Stripe's longest "
                "interval, three years (1095 days, 156 weeks, 36 months or 3 years)"
            ),
        ),
        Check(
            "bad_currency",
            col["currency"] or "currency",
            lambda v: f"currency {show(v)} is not a three-letter ISO 4217 code",
        ),
        Check(
            "bad_percent",
            col["percent_off"] or "percent_off",
            lambda v: (
                f"percent_off {show(v)} is not a number from 0 to 100 with at most 4 decimals"
            ),
        ),
        Check(
            "bad_amount_off",
            col["amount_off"] or "amount_off",
            lambda v: (
                f"amount_off {show(v)} is not "
                + (
                    "a whole number >= 0 in the currency's minor unit (cents), as the price"
                    if minor
                    else "a number >= 0 with at most 6 decimals, in the price's unit"
                )
            ),
        ),
        Check(
            "bad_both_off",
            col["amount_off"] or "amount_off",
            lambda v: "both percent_off and amount_off are set; a Stripe coupon has one of them",
        ),
        Check(
            "bad_trial",
            col["trial_end"] or "trial_end",
            lambda v: "a trialing item needs trial_end (the day paid service starts)",
        ),
        Check(
            "bad_tax",
            col["tax_percent"] or "tax_percent",
            lambda v: (
                f"tax_percent {show(v)} is not a number from 0 to below 100 with at most 4 decimals"
            ),
        ),
        Check(
            "bad_tax_behavior",
            col["tax_behavior"] or "tax_behavior",
            lambda v: (
                f"tax_behavior {show(v)} is not inclusive, exclusive or unspecified (empty is "
                "unspecified: the price is taken as net of tax)"
            ),
        ),
        Check(
            "bad_cancel_flag",
            col["cancel_at_period_end"] or "cancel_at_period_end",
            lambda v: (
                f"cancel_at_period_end {show(v)} is not true or false (also TRUE/FALSE, 1/0, "
                "or empty for false)"
            ),
        ),
    )
