"""Trends for people (a table per slice) and machines (JSON, CSV): docs/trends-and-cohorts.md."""

from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table

from nrr.analysis.trends import TrendPoint, TrendResult
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.trends import TREND_KEYS, trend_record, trend_records

__all__ = ["trend_csv", "trend_json", "trend_tables"]


def trend_json(result: TrendResult) -> str:
    return json.dumps(trend_record(result), indent=2)


def trend_csv(result: TrendResult) -> str:
    records = trend_records(result)
    header = (["segment"] if result.by is not None else []) + list(TREND_KEYS)
    return records_csv(header, records)


def _series_table(
    title: str, points: tuple[TrendPoint, ...], windows: tuple[int, ...], unit: str
) -> Table:
    """One row per month: NRR, GRR and logo retention for each window length."""
    table = Table(title=title, title_justify="left")
    table.add_column("month")
    last = windows[-1]
    for k in windows:
        for name in ("NRR", "GRR", "logos"):
            table.add_column(f"{k}m {name}", justify="right")
    table.add_column(f"{last}m starting {unit}", justify="right")
    by_month: dict[str, dict[int, TrendPoint]] = {}
    for point in points:
        by_month.setdefault(point.month, {})[point.window_months] = point
    for month, row in by_month.items():
        cells = [month]
        for k in windows:
            p = row[k]
            cells += [percent(p.nrr), percent(p.grr), percent(p.logo_retention)]
        cells.append(money(row[last].starting_mrr))
        table.add_row(*cells, end_section=False)
    return table


def trend_tables(result: TrendResult, unit: str = "MRR") -> Group:
    """The whole book's series, then one table per slice (with `by`)."""
    context = f"{result.currency}, fx {result.fx_mode}"
    parts = [
        _series_table(
            f"Rolling retention, windows ending {result.start}..{result.end} ({context})",
            result.overall,
            result.windows,
            unit,
        )
    ]
    slices: dict[str, list[TrendPoint]] = {}
    for point in result.segments:
        slices.setdefault(point.segment or "", []).append(point)
    for name, points in slices.items():
        parts.append(_series_table(f"{result.by} = {name}", tuple(points), result.windows, unit))
    return Group(*parts)
