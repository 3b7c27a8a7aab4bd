"""DataFrames for notebooks, with the same rounded numbers the CLI prints."""

from __future__ import annotations

import pandas as pd

from nrr.present.machine import bridge_records, figures_record
from nrr.results import BridgeMonth, WindowResult

__all__ = ["bridge_frame", "window_frame"]


def window_frame(result: WindowResult) -> pd.DataFrame:
    """Index `segment`: `(all)` first, then each slice; window context in `attrs`."""
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
    return pd.DataFrame(bridge_records(rows))
