"""Trends as records: one per point, and the JSON around them (docs/trends-and-cohorts.md)."""

from __future__ import annotations

from nrr.analysis.trends import TrendPoint, TrendResult
from nrr.attributes import ALL
from nrr.records.rounding import rounded_numbers

__all__ = ["TREND_KEYS", "trend_record", "trend_records"]

# The documented keys, then the bridge parts so GRR and NRR can be checked from the record.
TREND_KEYS = (
    "month",
    "window_months",
    "starting_mrr",
    "ending_mrr",
    "nrr",
    "grr",
    "logo_retention",
    "customers_start",
    "customers_retained",
    "fx",
    "expansion",
    "contraction",
    "churn",
)
_RATIOS = frozenset({"nrr", "grr", "logo_retention"})


def _record(point: TrendPoint, segmented: bool) -> dict[str, object]:
    record: dict[str, object] = {}
    if segmented:
        record["segment"] = ALL if point.segment is None else point.segment
    return record | rounded_numbers(point.as_dict(), TREND_KEYS, _RATIOS)


def trend_records(result: TrendResult) -> list[dict[str, object]]:
    """One record per point: the whole book first, then (with `by`) each slice.

    With `by`, every record has `segment`, `(all)` for the whole book's points."""
    segmented = result.by is not None
    return [_record(p, segmented) for p in result.points()]


def trend_record(result: TrendResult) -> dict[str, object]:
    """The JSON: the window lengths and context, then `series` (`trend_records`)."""
    return {
        "start": result.start,
        "end": result.end,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
        "windows": list(result.windows),
        "by": result.by,
        "series": trend_records(result),
    }
