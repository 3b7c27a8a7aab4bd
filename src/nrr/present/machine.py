"""The machine interface of METRICS.md section 6: JSON and CSV for `metrics` and `movements`,
from the records of `nrr.records.window`."""

from __future__ import annotations

import csv
import io
import json

from nrr.outputs import spreadsheet_safe
from nrr.records.window import (
    BRIDGE_KEYS,
    FIGURE_KEYS,
    bridge_records,
    figures_record,
    window_record,
)
from nrr.results import BridgeMonth, WindowResult

__all__ = ["bridge_csv", "bridge_json", "records_csv", "window_csv", "window_json"]


def window_json(result: WindowResult) -> str:
    return json.dumps(window_record(result), indent=2)


def bridge_json(rows: list[BridgeMonth]) -> str:
    return json.dumps(bridge_records(rows), indent=2)


def records_csv(header: list[str], records: list[dict[str, object]]) -> str:
    """Records as CSV with `header`; a missing or None value is an empty cell. Text a
    spreadsheet would run as a formula is neutralised (`nrr.outputs.spreadsheet_safe`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_safe(name) for name in header])
    for record in records:
        writer.writerow(
            ["" if record.get(k) is None else spreadsheet_safe(record.get(k)) for k in header]
        )
    return out.getvalue()


def window_csv(result: WindowResult) -> str:
    """One row for the whole book (`segment` = `(all)`), then one per slice."""
    rows = [{"segment": "(all)", **figures_record(result.overall)}]
    rows += [{"segment": name, **figures_record(f)} for name, f in result.segments]
    header = ["start", "end", "window_months", "currency", "fx_mode", "segment", *FIGURE_KEYS]
    context = {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
    }
    return records_csv(header, [{**context, **r} for r in rows])


def bridge_csv(rows: list[BridgeMonth]) -> str:
    records = bridge_records(rows)
    header = (["segment"] if records and "segment" in records[0] else []) + list(BRIDGE_KEYS)
    return records_csv(header, records)
