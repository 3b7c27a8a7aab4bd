"""`nrr health`, `nrr risks` and `nrr opportunities` for people (tables) and machines.

Scores and components are shown to one decimal; MRR to cents (half to even), as everywhere.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.errors import InputError, Problem
from nrr.health.results import TIERS
from nrr.present.machine import records_csv
from nrr.present.tables import money
from nrr.records.rounding import money_number

if TYPE_CHECKING:
    import pandas as pd

    from nrr.health.results import HealthResult, Opportunity, Risk

__all__ = [
    "change_text",
    "customer_record",
    "health_csv",
    "health_json",
    "health_tables",
    "opportunities_csv",
    "opportunities_json",
    "opportunities_table",
    "pick_tier",
    "risks_csv",
    "risks_json",
    "risks_table",
    "score_text",
]

TIER_STYLE = {"healthy": "green", "neutral": "yellow", "at risk": "red", "unknown": "dim"}


def pick_tier(text: str | None) -> str | None:
    """A --tier value as a tier name (`at-risk` and `at_risk` mean `at risk`)."""
    if text is None:
        return None
    tier = text.strip().lower().replace("-", " ").replace("_", " ")
    if tier not in TIERS:
        raise InputError(
            Problem(
                source="--tier",
                message=f"{text!r} is not a tier; use healthy, neutral, at-risk or unknown",
            )
        )
    return tier


def _number(value: float | None, places: int = 1) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), places)


def score_text(value: float | None) -> str:
    """A score to one decimal; `n/a` for a customer with no indicator."""
    number = _number(value)
    return "n/a" if number is None else f"{number:.1f}"


def change_text(value: float | None) -> str:
    """A change in points, signed; `new` when the customer was not scored a month earlier."""
    number = _number(value)
    return "new" if number is None else f"{number:+.1f}"


def _chosen(result: HealthResult, customer: str | None, tier: str | None) -> pd.DataFrame:
    frame = result.customers
    if customer is not None:
        frame = frame[frame["customer_id"] == customer]
        if frame.empty:
            raise InputError(
                Problem(
                    source="--customer",
                    message=f"{customer!r} is not among the {len(result.customers):,} "
                    f"customers active in {result.reference}",
                )
            )
    if tier is not None:
        frame = frame[frame["tier"] == tier]
    return frame.sort_values(["score", "customer_id"], na_position="last", kind="stable")


def customer_record(result: HealthResult, row: dict) -> dict[str, object]:
    """One customer's score with each component's measured value, score and weight."""
    components = {}
    profile = row.get("profile")
    for name in result.indicators:
        spec = result.settings.spec(name, profile)
        components[name] = {
            "value": _number(row.get(name), 4),
            "score": _number(row.get(f"c_{name}")),
            "weight": spec.weight,
            "bad": spec.bad,
            "good": spec.good,
        }
    record: dict[str, object] = {"customer_id": row["customer_id"]}
    for owner in ("csm", "account_manager"):
        if owner in row:
            record[owner] = row[owner]
    record |= {
        "profile": profile,
        "mrr": money_number(row["mrr"]),
        "score": _number(row["score"]),
        "tier": row["tier"],
        "change": _number(row.get("change")),
        "components": components,
        "reasons": list(row["reasons"]),
    }
    return record


def _header(result: HealthResult) -> dict[str, object]:
    return {
        "as_of": result.as_of.isoformat(),
        "reference_month": result.reference,
        "inputs": list(result.inputs),
        "indicators": list(result.indicators),
        "tiers": {
            "at_risk_below": result.settings.at_risk_below,
            "healthy_from": result.settings.healthy_from,
        },
    }


def health_json(
    result: HealthResult, *, customer: str | None = None, tier: str | None = None
) -> str:
    frame = _chosen(result, customer, tier)
    summary = [
        {
            "tier": r["tier"],
            "customers": int(r["customers"]),
            "mrr": money_number(r["mrr"]),
            "mrr_share": _number(r["mrr_share"], 4),
        }
        for r in result.tiers().to_dict("records")
    ]
    body = _header(result) | {
        "summary": summary,
        "customers": [customer_record(result, r) for r in frame.to_dict("records")],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def health_csv(
    result: HealthResult, *, customer: str | None = None, tier: str | None = None
) -> str:
    chosen = set(_chosen(result, customer, tier)["customer_id"])
    frame = result.frame()
    frame = frame[frame["customer_id"].isin(chosen)]
    frame = frame.sort_values(["score", "customer_id"], na_position="last", kind="stable")
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    return records_csv(list(frame.columns), records)


def _summary_table(result: HealthResult) -> Table:
    table = Table(
        title=f"Health as of {result.as_of} (customers active in {result.reference})",
        title_justify="left",
        caption=f"Inputs: {', '.join(result.inputs)}. At risk below "
        f"{result.settings.at_risk_below:g}, healthy from {result.settings.healthy_from:g}.",
        caption_justify="left",
    )
    for column in ("tier", "customers", "MRR", "share of MRR"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for r in result.tiers().to_dict("records"):
        share = "n/a" if math.isnan(r["mrr_share"]) else f"{r['mrr_share']:.1%}"
        table.add_row(
            Text(r["tier"], style=TIER_STYLE[r["tier"]]),
            f"{r['customers']:,}",
            money(r["mrr"]),
            share,
        )
    return table


def _breakdown(result: HealthResult, row: dict) -> Table:
    table = Table(
        title=f"{row['customer_id']}: score {score_text(row['score'])} ({row['tier']}), "
        f"{change_text(row.get('change'))} since a month earlier; MRR {money(row['mrr'])}",
        title_justify="left",
        caption="\n".join(f"- {r}" for r in row["reasons"]) or "No warning signs.",
        caption_justify="left",
    )
    for column in ("indicator", "value", "score", "weight", "0 at", "100 at"):
        table.add_column(column, justify="left" if column == "indicator" else "right")
    record = customer_record(result, row)["components"]
    for name, c in record.items():  # type: ignore[union-attr]
        table.add_row(
            name,
            "n/a" if c["value"] is None else f"{c['value']:g}",
            score_text(c["score"]),
            f"{c['weight']:g}",
            f"{c['bad']:g}",
            f"{c['good']:g}",
        )
    return table


def health_tables(
    result: HealthResult,
    *,
    customer: str | None = None,
    tier: str | None = None,
    limit: int = 25,
) -> Group:
    frame = _chosen(result, customer, tier)
    if customer is not None:
        return Group(_breakdown(result, frame.to_dict("records")[0]))
    shown = frame if limit <= 0 else frame.head(limit)
    table = Table(
        title=f"Customers, lowest score first ({len(shown):,} of {len(frame):,}"
        f"{'' if tier is None else ', ' + tier})",
        title_justify="left",
    )
    owners = [c for c in ("csm",) if c in frame.columns]
    for column in ("customer", *owners, "MRR", "score", "tier", "change", "reasons"):
        table.add_column(
            column, justify="right" if column in ("MRR", "score", "change") else "left"
        )
    for r in shown.to_dict("records"):
        table.add_row(
            r["customer_id"],
            *[str(r[c]) if isinstance(r[c], str) else "" for c in owners],
            money(r["mrr"]),
            score_text(r["score"]),
            Text(r["tier"], style=TIER_STYLE[r["tier"]]),
            change_text(r.get("change")),
            "; ".join(r["reasons"]),
        )
    return Group(_summary_table(result), table)


def _risk_record(r: Risk) -> dict[str, object]:
    return {
        "customer_id": r.customer_id,
        "mrr_at_risk": money_number(r.mrr_at_risk),
        "score": _number(r.score),
        "change": _number(r.change),
        "owner": r.owner,
        "reasons": list(r.reasons),
    }


def risks_json(result: HealthResult, rows: list[Risk]) -> str:
    total = sum((r.mrr_at_risk for r in rows), start=Decimal(0))
    body = _header(result) | {
        "customers": len(rows),
        "mrr_at_risk": money_number(total),
        "risks": [_risk_record(r) for r in rows],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def risks_csv(rows: list[Risk]) -> str:
    records = [_risk_record(r) | {"reasons": "; ".join(r.reasons)} for r in rows]
    header = ["customer_id", "mrr_at_risk", "score", "change", "owner", "reasons"]
    return records_csv(header, records)


def risks_table(result: HealthResult, rows: list[Risk], *, limit: int = 25) -> Table:
    shown = rows if limit <= 0 else rows[:limit]
    total = sum((r.mrr_at_risk for r in rows), start=Decimal(0))
    table = Table(
        title=f"At risk as of {result.as_of}: {len(rows):,} customers, {money(total)} MRR "
        f"(showing {len(shown):,}, largest first)",
        title_justify="left",
        caption=None if rows else "No customer is in the at-risk tier.",
        caption_justify="left",
    )
    for column in ("customer", "MRR at risk", "score", "change", "owner", "why"):
        table.add_column(
            column, justify="right" if column in ("MRR at risk", "score", "change") else "left"
        )
    for r in shown:
        table.add_row(
            r.customer_id,
            money(r.mrr_at_risk),
            score_text(r.score),
            change_text(r.change),
            r.owner or "",
            "; ".join(r.reasons),
        )
    return table


def _opportunity_record(o: Opportunity) -> dict[str, object]:
    return {
        "customer_id": o.customer_id,
        "potential_mrr": money_number(o.potential_mrr),
        "extra_seats": o.extra_seats,
        "mrr": money_number(o.mrr),
        "score": _number(o.score),
        "tier": o.tier,
        "owner": o.owner,
        "signals": list(o.signals),
    }


def opportunities_json(result: HealthResult, rows: list[Opportunity]) -> str:
    total = sum((o.potential_mrr for o in rows), start=Decimal(0))
    body = _header(result) | {
        "customers": len(rows),
        "potential_mrr": money_number(total),
        "opportunities": [_opportunity_record(o) for o in rows],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def opportunities_csv(rows: list[Opportunity]) -> str:
    records = [_opportunity_record(o) | {"signals": "; ".join(o.signals)} for o in rows]
    header = ["customer_id", "potential_mrr", "extra_seats", "mrr", "score", "tier", "owner"]
    return records_csv([*header, "signals"], records)


def opportunities_table(result: HealthResult, rows: list[Opportunity], *, limit: int = 25) -> Table:
    shown = rows if limit <= 0 else rows[:limit]
    total = sum((o.potential_mrr for o in rows), start=Decimal(0))
    target = result.settings.opportunities.target_utilization
    table = Table(
        title=f"Expansion signals as of {result.as_of}: {len(rows):,} customers, "
        f"{money(total)} potential MRR (showing {len(shown):,}, largest first)",
        title_justify="left",
        caption=f"Potential: the seats needed to bring seat use back to {target:.0%}, at the "
        "customer's own price per seat."
        if rows
        else "No customer shows an expansion signal.",
        caption_justify="left",
    )
    for column in ("customer", "potential MRR", "seats", "MRR", "score", "owner", "signals"):
        table.add_column(
            column,
            justify="right" if column in ("potential MRR", "seats", "MRR", "score") else "left",
        )
    for o in shown:
        table.add_row(
            o.customer_id,
            money(o.potential_mrr),
            f"+{o.extra_seats}",
            money(o.mrr),
            score_text(o.score),
            o.owner or "",
            "; ".join(o.signals),
        )
    return table
