"""Customer health (docs/health.md): the optional health inputs (usage, tickets, surveys,
touchpoints, stakeholders), the indicators measured from them as of a day, the configurable
score, risks, expansion opportunities, and the backtest against what happened next.

    book.health("2025-06-01")          # HealthResult: every customer's score and components
    book.risks(), book.opportunities()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nrr.health.inputs import COLUMNS, HEALTH_INPUTS, Signals, read_signals, validate_signal
from nrr.health.settings import DEFAULT_HEALTH, INDICATORS, HealthSettings, IndicatorSpec

__all__ = [
    "COLUMNS",
    "DEFAULT_HEALTH",
    "HEALTH_INPUTS",
    "INDICATORS",
    "HealthResult",
    "HealthSettings",
    "IndicatorSpec",
    "Opportunity",
    "Risk",
    "Signals",
    "health_scores",
    "opportunities",
    "read_signals",
    "risks",
    "validate_signal",
]

# The scores need pandas and numpy; the inputs and settings, which every book loads, do not.
# So the results module is imported when one of its names is first asked for.
_RESULTS = {"HealthResult", "Opportunity", "Risk", "health_scores", "opportunities", "risks"}

if TYPE_CHECKING:
    from nrr.health.results import (
        HealthResult,
        Opportunity,
        Risk,
        health_scores,
        opportunities,
        risks,
    )


def __getattr__(name: str) -> Any:
    if name in _RESULTS:
        from nrr.health import results

        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
