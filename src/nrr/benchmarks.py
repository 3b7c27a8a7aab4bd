"""Benchmark bands that put a headline number in context.

NRR bands follow the rules of thumb in the seed documents (below 90% the base is shrinking,
100% is the goal, above 110% strong, above 120% top tier); the GRR line follows the vendor
rule of thumb "GRR above 90%" (ChartMogul's GRR chart help) and the SaaS Capital 2023 survey
(median GRR 90-93% across ACV bands).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["GRR_BANDS", "NRR_BANDS", "Band", "band_for"]


@dataclass(frozen=True)
class Band:
    floor: Decimal  # inclusive lower bound, as a fraction
    label: str
    tone: str  # "bad", "warn", "ok", "good", "great": for colour only


NRR_BANDS = (
    Band(Decimal("-1e9"), "below 90%: the existing base is shrinking", "bad"),
    Band(Decimal("0.90"), "90-100%: below the 100% goal", "warn"),
    Band(Decimal("1.00"), "100-110%: the base grows on its own (goal met)", "ok"),
    Band(Decimal("1.10"), "110-120%: strong", "good"),
    Band(Decimal("1.20"), "120%+: top tier", "great"),
)
GRR_BANDS = (
    Band(Decimal("-1e9"), "below 80%: heavy losses", "bad"),
    Band(Decimal("0.80"), "80-90%: below the 90% rule of thumb", "warn"),
    Band(Decimal("0.90"), "90%+: healthy (median B2B SaaS 90-93%)", "good"),
)
LOGO_BANDS = (
    Band(Decimal("-1e9"), "below 80% of customers kept", "bad"),
    Band(Decimal("0.80"), "80-90% of customers kept", "warn"),
    Band(Decimal("0.90"), "90%+ of customers kept", "good"),
)


def band_for(value: Decimal | None, bands: tuple[Band, ...]) -> Band | None:
    if value is None:
        return None
    chosen = None
    for band in bands:
        if value >= band.floor:
            chosen = band
    return chosen
