"""The window's figures and the monthly bridge as records (the JSON of `metrics` and
`movements`) and as DataFrames for notebooks, rounded as the CLI prints them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nrr.records.rounding import rounded_numbers
from nrr.results import BridgeMonth, RetentionFigures, WindowResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BRIDGE_KEYS",
    "FIGURE_KEYS",
    "bridge_frame",
    "bridge_records",
    "figures_record",
    "window_frame",
    "window_record",
]

FIGURE_KEYS = (
    "starting_mrr",
    "ending_mrr",
    "fx",
    "expansion",
    "contraction",
    "churn",
    "nrr",
    "grr",
    "customers_start",
    "customers_retained",
    "logo_retention",
    "new_mrr",
    "reactivation_mrr",
)
RATIO_KEYS = frozenset({"nrr", "grr", "logo_retention"})
BRIDGE_KEYS = (
    "month",
    "starting_mrr",
    "fx",
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "churn",
    "ending_mrr",
    "active_customers",
)


def figures_record(figures: RetentionFigures) -> dict[str, object]:
    return rounded_numbers(figures.as_dict(), FIGURE_KEYS, RATIO_KEYS)


def window_record(result: WindowResult) -> dict[str, object]:
    return {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
        "overall": figures_record(result.overall),
        "segments": [{"segment": name, **figures_record(f)} for name, f in result.segments],
    }


def bridge_records(rows: list[BridgeMonth]) -> list[dict[str, object]]:
    records = []
    for row in rows:
        values = row.as_dict()
        record: dict[str, object] = {}
        if "segment" in values:
            record["segment"] = values["segment"]
        records.append(record | rounded_numbers(values, BRIDGE_KEYS))
    return records


def window_frame(result: WindowResult) -> pd.DataFrame:
    """Index `segment`: `(all)` first, then each slice; window context in `attrs`."""
    import pandas as pd  # only for a DataFrame: commands never pay for it

    rows = [{"segment": "(all)", **figures_record(result.overall)}]
    rows += [{"segment": name, **figures_record(f)} for name, f in result.segments]
    frame = pd.DataFrame(rows).set_index("segment")
    frame.attrs.update(
        start=result.start,
        end=result.end,
        window_months=result.window_months,
        currency=result.currency,
        fx_mode=result.fx_mode,
        by=result.by,
    )
    return frame


def bridge_frame(rows: list[BridgeMonth]) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    return pd.DataFrame(bridge_records(rows))
