"""`nrr impact` for people (a ranked table) and machines (JSON, CSV; the records and the
DataFrame are `nrr.records.impact`'s).

Contributions and distances are fractions in JSON/CSV (0.0123) and points in the table
(+1.23 pts).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.present.bands import benchmark_text, sources_text
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.impact import SLICE_KEYS, impact_records, impact_rows
from nrr.records.rounding import ratio

if TYPE_CHECKING:
    from nrr.analysis.impact import ImpactResult

__all__ = ["impact_csv", "impact_json", "impact_table", "points"]


def points(value: Decimal | None) -> str:
    """A difference of ratios in NRR points, signed: 0.0123 -> `+1.23 pts`."""
    rounded = ratio(value)
    return "n/a" if rounded is None else f"{rounded * 100:+.2f} pts"


def impact_json(result: ImpactResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS) -> str:
    return json.dumps(impact_records(result, benchmarks), indent=2)


def impact_csv(result: ImpactResult) -> str:
    """One row per slice (and the book as `(all)`), each attribute's value in its own
    `values.NAME` column, with the window and target repeated on every row."""
    context = {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
        "by": ",".join(result.by),
        "target": float(result.target),
    }
    header = [
        *context,
        "rank",
        "segment",
        *(f"values.{a}" for a in result.by),
        *SLICE_KEYS,
    ]
    return records_csv(header, [{**context, **row} for row in impact_rows(result)])


def _summary(result: ImpactResult, unit: str, benchmarks: Benchmarks) -> Table:
    f = result.overall
    table = Table(
        title=f"NRR against a target of {percent(result.target)}, {result.start} -> "
        f"{result.end} ({result.window_months} months, {result.currency}, fx {result.fx_mode})",
        title_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_column("", style="dim")
    table.add_row(
        "NRR", percent(f.nrr), benchmark_text(benchmarks, "nrr", f.nrr, result.window_months)
    )
    table.add_row(
        "GRR", percent(f.grr), benchmark_text(benchmarks, "grr", f.grr, result.window_months)
    )
    table.add_row("Distance from target", points(result.distance), "NRR - target")
    at_stake = result.mrr_at_stake
    table.add_row(
        f"{unit} at stake",
        money(at_stake),
        "needed to reach the target" if at_stake > 0 else "above the target: nothing needed",
    )
    table.add_row(f"{unit} lost", money(result.mrr_lost), "contraction + churn (the GRR gap)")
    return table


def _ranking(result: ImpactResult, unit: str) -> Table:
    table = Table(
        title=f"Slices by {unit} at stake (by {' × '.join(result.by)})", title_justify="left"
    )
    for name, justify in (
        ("#", "right"),
        ("slice", "left"),
        (f"starting {unit}", "right"),
        ("share", "right"),
        ("NRR", "right"),
        ("GRR", "right"),
        ("contribution", "right"),
        (f"{unit} at stake", "right"),
        (f"{unit} lost", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in result.slices:
        table.add_row(
            str(s.rank),
            s.segment,
            money(s.starting_mrr),
            percent(s.share),
            percent(s.nrr),
            percent(s.grr),
            points(s.contribution),
            Text(money(s.mrr_at_stake), style="red" if s.mrr_at_stake > 0 else "green"),
            money(s.mrr_lost),
        )
    return table


def impact_table(
    result: ImpactResult, *, unit: str = "MRR", benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> Group:
    """The summary (NRR and GRR with their bands, the distance, the total at stake), the
    ranked slices, then what the columns mean and where the bands come from."""
    notes = Text(
        f"contribution = share x (slice NRR - target): the slices' contributions add up to the "
        f"distance. {unit} at stake = target x starting - ending: what the slice lacks to reach "
        f"the target (negative: above it). {unit} lost = contraction + churn.",
        style="dim",
    )
    return Group(
        _summary(result, unit, benchmarks),
        _ranking(result, unit),
        notes,
        sources_text(benchmarks, ("nrr", "grr")),
    )
