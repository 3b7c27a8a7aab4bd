"""`nrr whatif` for people (tables) and machines (JSON, CSV; the records and the DataFrame are
`nrr.records.whatif`'s); all amounts ARR."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.present.bands import benchmark_text, sources_text
from nrr.present.impact import points
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.whatif import CSV_KEYS, whatif_records, whatif_rows

if TYPE_CHECKING:
    from nrr.analysis.whatif import WhatIfResult

__all__ = ["whatif_csv", "whatif_json", "whatif_table"]


def whatif_json(result: WhatIfResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS) -> str:
    return json.dumps(whatif_records(result, benchmarks), indent=2)


def whatif_csv(result: WhatIfResult) -> str:
    header = ["end", "currency", *CSV_KEYS]
    context = {"end": result.end, "currency": result.currency}
    return records_csv(header, [{**context, **row} for row in whatif_rows(result)])


def _today(result: WhatIfResult, benchmarks: Benchmarks) -> Table:
    table = Table(
        title=f"Today's base, {result.end} ({result.currency}; NRR and GRR over "
        f"{result.window_start} -> {result.end})",
        title_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_column("", style="dim")
    table.add_row("ARR", money(result.arr), f"12 x MRR {money(result.mrr)} of the customers active")
    table.add_row(
        "NRR (12 months)", percent(result.nrr), benchmark_text(benchmarks, "nrr", result.nrr, 12)
    )
    table.add_row(
        "GRR (12 months)", percent(result.grr), benchmark_text(benchmarks, "grr", result.grr, 12)
    )
    table.add_row(
        "= GRR + expansion + fx",
        "",
        f"{percent(result.grr)} + {percent(result.expansion_rate)} + {percent(result.fx_rate)}",
    )
    return table


def _projection(result: WhatIfResult) -> Table:
    table = Table(
        title=f"Compounded at NRR {percent(result.nrr)}",
        title_justify="left",
    )
    table.add_column("after", justify="right")
    table.add_column("ARR", justify="right")
    table.add_column("change", justify="right")
    for n, value in result.projection:
        table.add_row(f"{n} year{'s' if n > 1 else ''}", money(value), money(value - result.arr))
    return table


def _one_point(result: WhatIfResult) -> Table:
    table = Table(title="What one more point is worth (ARR gained)", title_justify="left")
    table.add_column("lever")
    table.add_column("NRR becomes", justify="right")
    for n, _ in result.one_point[0].worth:
        table.add_column(f"after {n} year{'s' if n > 1 else ''}", justify="right")
    names = {"grr": "+1 point of GRR", "expansion": "+1 point of expansion"}
    for p in result.one_point:
        label = names.get(p.lever, p.lever)
        if p.lever == "grr" and p.step < Decimal("0.01"):
            label += f" (capped at {points(p.step)}: GRR cannot pass 100%)"
        table.add_row(label, percent(p.nrr), *(money(v) for _, v in p.worth))
    return table


def _forecast(result: WhatIfResult) -> Table:
    table = Table(title=f"Forecast, {result.interval * 100:g}% interval", title_justify="left")
    for name in ("month", "ARR", "low", "high"):
        table.add_column(name, justify="left" if name == "month" else "right")
    for f in result.forecast:
        table.add_row(f.month, money(f.arr), money(f.low), money(f.high))
    return table


def whatif_table(result: WhatIfResult, *, benchmarks: Benchmarks = DEFAULT_BENCHMARKS) -> Group:
    notes = Text(
        "On the existing base a point of GRR and a point of expansion are worth the same: "
        "each adds 0.01 to NRR (NRR = GRR + expansion rate + fx rate), except that GRR cannot "
        "pass 100%. New customers are not in these figures. Forecast: ARR x "
        f"{percent(result.geometric_mean)}^months, the geometric mean of the "
        f"{len(result.monthly_nrr)} monthly NRRs up to {result.end}; the interval is a "
        f"bootstrap of those NRRs ({result.paths:,} paths, seed {result.seed}).",
        style="dim",
    )
    return Group(
        _today(result, benchmarks),
        _projection(result),
        _one_point(result),
        _forecast(result),
        notes,
        sources_text(benchmarks, ("nrr", "grr")),
    )
