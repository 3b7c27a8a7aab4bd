"""The report's risks and opportunities section (`nrr report`, the dashboard): the tiers,
the largest risks and opportunities of `Views.health`, formatted as `nrr health`, `nrr risks`
and `nrr opportunities` print them (scores to one decimal, MRR to cents)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nrr.present.health import change_text, score_text
from nrr.present.tables import money, percent
from nrr.present.views import HealthView

__all__ = ["TIER_TONES", "CustomerLink", "health_section"]

# Each tier's colour, from the bands' tones (the CLI's green, yellow, red, dim).
TIER_TONES = {"healthy": "good", "neutral": "warn", "at risk": "bad", "unknown": "none"}
CustomerLink = Callable[[str], str]


def _customers(count: int) -> str:
    return "1 customer" if count == 1 else f"{count:,} customers"


def health_section(view: HealthView | None, link: CustomerLink | None) -> dict[str, Any] | None:
    """The health section's rows, formatted as `nrr health`, `nrr risks` and `nrr
    opportunities` print them; None when no health input is given."""
    if view is None:
        return None
    total = sum((t["mrr"] for t in view.tiers), Decimal(0))
    tiers = [
        {
            "tier": t["tier"],
            "tone": TIER_TONES[t["tier"]],
            "customers": f"{t['customers']:,}",
            "mrr": money(t["mrr"]),
            # Exact, from the amounts, rather than the float share `tiers()` also gives.
            "share": percent(t["mrr"] / total if total else None),
        }
        for t in view.tiers
    ]
    result = view.result
    return {
        "as_of": view.as_of.isoformat(),
        "reference": view.reference,
        "problem": view.problem,
        "inputs": ", ".join(result.inputs) if result else "",
        "at_risk_below": f"{result.settings.at_risk_below:g}" if result else "",
        "healthy_from": f"{result.settings.healthy_from:g}" if result else "",
        "tiers": tiers,
        "customers": f"{sum(t['customers'] for t in view.tiers):,}",
        "mrr": money(total),
        "risks": [
            {
                "customer_id": r.customer_id,
                "link": link(r.customer_id) if link else None,
                "mrr_at_risk": money(r.mrr_at_risk),
                "score": score_text(r.score),
                "change": change_text(r.change),
                "owner": r.owner or "",
                "reasons": "; ".join(r.reasons),
            }
            for r in view.risks
        ],
        "risk_count": _customers(view.risk_count),
        "risks_cut": view.risk_count > len(view.risks),
        "mrr_at_risk": money(view.mrr_at_risk),
        "opportunities": [
            {
                "customer_id": o.customer_id,
                "link": link(o.customer_id) if link else None,
                "potential_mrr": money(o.potential_mrr),
                "extra_seats": f"+{o.extra_seats:,}",
                "mrr": money(o.mrr),
                "score": score_text(o.score),
                "owner": o.owner or "",
                "signals": "; ".join(o.signals),
            }
            for o in view.opportunities
        ],
        "opportunity_count": _customers(view.opportunity_count),
        "opportunities_cut": view.opportunity_count > len(view.opportunities),
        "potential_mrr": money(view.potential_mrr),
    }
