"""Customer health (docs/health.md): the optional health inputs (usage, tickets, surveys,
touchpoints, stakeholders), the indicators measured from them as of a day, the configurable
score, risks, expansion opportunities, and the backtest against what happened next.

    book.health("2025-06-01")          # HealthResult: every customer's score and components
    book.risks(), book.opportunities()
"""

from nrr.health.inputs import COLUMNS, HEALTH_INPUTS, Signals, read_signals, validate_signal
from nrr.health.results import (
    HealthResult,
    Opportunity,
    Risk,
    health_scores,
    opportunities,
    risks,
)
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
