"""`nrr whatif` for people (tables) and machines (JSON, CSV, a DataFrame); all amounts ARR."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.present.bands import benchmark_records, benchmark_text, sources_text
from nrr.present.impact import points
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.rounding import money_number, ratio_number

if TYPE_CHECKING:
    from nrr.analysis.whatif import WhatIfResult

__all__ = ["whatif_csv", "whatif_frame", "whatif_json", "whatif_records", "whatif_table"]

CSV_KEYS = ("section", "lever", "step", "unit", "month", "arr", "low", "high", "nrr")


def whatif_records(
    result: WhatIfResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> dict[str, object]:
    return {
        "end": result.end,
        "window_start": result.window_start,
        "currency": result.currency,
        "today": {
            "mrr": money_number(result.mrr),
            "arr": money_number(result.arr),
            "nrr": ratio_number(result.nrr),
            "grr": ratio_number(result.grr),
            "expansion_rate": ratio_number(result.expansion_rate),
            "fx_rate": ratio_number(result.fx_rate),
        },
        "benchmarks": benchmark_records(benchmarks, {"nrr": result.nrr, "grr": result.grr}, 12),
        "projection": [
            {"years": n, "arr": money_number(value), "change": money_number(value - result.arr)}
            for n, value in result.projection
        ],
        "one_more_point": [
            {
                "lever": p.lever,
                "step": ratio_number(p.step),
                "nrr": ratio_number(p.nrr),
                "worth": [{"years": n, "arr": money_number(v)} for n, v in p.worth],
            }
            for p in result.one_point
        ],
        "forecast": {
            "horizon_months": result.horizon,
            "interval": result.interval,
            "seed": result.seed,
            "paths": result.paths,
            "monthly_nrr": [{"month": m, "nrr": ratio_number(v)} for m, v in result.monthly_nrr],
            "geometric_mean": ratio_number(result.geometric_mean),
            "months": [
                {
                    "month": f.month,
                    "months_ahead": f.months_ahead,
                    "arr": money_number(f.arr),
                    "low": money_number(f.low),
                    "high": money_number(f.high),
                }
                for f in result.forecast
            ],
        },
    }


def whatif_json(result: WhatIfResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS) -> str:
    return json.dumps(whatif_records(result, benchmarks), indent=2)


def _rows(result: WhatIfResult) -> list[dict[str, object]]:
    """Tidy rows: today, the projection by year, each lever's worth by year, the monthly NRRs
    observed, and the forecast by month with its interval."""
    rows: list[dict[str, object]] = [
        {
            "section": "today",
            "step": 0,
            "unit": "years",
            "month": result.end,
            "arr": money_number(result.arr),
            "nrr": ratio_number(result.nrr),
        },
    ]
    rows += [
        {
            "section": "projection",
            "step": n,
            "unit": "years",
            "arr": money_number(v),
            "nrr": ratio_number(result.nrr),
        }
        for n, v in result.projection
    ]
    for p in result.one_point:
        rows += [
            {
                "section": "one_more_point",
                "lever": p.lever,
                "step": n,
                "unit": "years",
                "arr": money_number(v),
                "nrr": ratio_number(p.nrr),
            }
            for n, v in p.worth
        ]
    rows += [
        {"section": "monthly_nrr", "unit": "months", "month": m, "nrr": ratio_number(v)}
        for m, v in result.monthly_nrr
    ]
    rows += [
        {
            "section": "forecast",
            "step": f.months_ahead,
            "unit": "months",
            "month": f.month,
            "arr": money_number(f.arr),
            "low": money_number(f.low),
            "high": money_number(f.high),
            "nrr": ratio_number(result.geometric_mean),
        }
        for f in result.forecast
    ]
    return rows


def whatif_csv(result: WhatIfResult) -> str:
    header = ["end", "currency", *CSV_KEYS]
    context = {"end": result.end, "currency": result.currency}
    return records_csv(header, [{**context, **row} for row in _rows(result)])


def whatif_frame(result: WhatIfResult) -> pd.DataFrame:
    frame = pd.DataFrame(_rows(result), columns=list(CSV_KEYS))
    frame.attrs.update(end=result.end, currency=result.currency, unit="ARR")
    return frame


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
