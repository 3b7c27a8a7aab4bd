"""The machine interface of METRICS.md section 6: JSON and CSV for `metrics` and `movements`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from nrr.outputs import spreadsheet_safe
from nrr.records.rounding import cents, ratio
from nrr.results import BridgeMonth, RetentionFigures, WindowResult

__all__ = [
    "bridge_csv",
    "bridge_json",
    "bridge_records",
    "figures_record",
    "records_csv",
    "window_csv",
    "window_json",
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


def _number(value: Decimal | None) -> float | None:
    # Rounded Decimals convert to the shortest float that prints back as the same digits.
    return None if value is None else float(value)


def figures_record(figures: RetentionFigures) -> dict[str, object]:
    values = figures.as_dict()
    record: dict[str, object] = {}
    for key in FIGURE_KEYS:
        value = values[key]
        if key in RATIO_KEYS:
            record[key] = _number(ratio(value))  # type: ignore[arg-type]
        elif isinstance(value, Decimal):
            record[key] = _number(cents(value))
        else:
            record[key] = value
    return record


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


def window_json(result: WindowResult) -> str:
    return json.dumps(window_record(result), indent=2)


def bridge_records(rows: list[BridgeMonth]) -> list[dict[str, object]]:
    records = []
    for row in rows:
        values = row.as_dict()
        record: dict[str, object] = {}
        if "segment" in values:
            record["segment"] = values["segment"]
        for key in BRIDGE_KEYS:
            value = values[key]
            record[key] = _number(cents(value)) if isinstance(value, Decimal) else value
        records.append(record)
    return records


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
