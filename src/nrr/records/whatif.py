"""`nrr whatif` as records: its JSON, its tidy rows and its DataFrame; all amounts ARR."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.records.bands import benchmark_records
from nrr.records.rounding import money_number, ratio_number

if TYPE_CHECKING:
    import pandas as pd

if TYPE_CHECKING:
    from nrr.analysis.whatif import WhatIfResult

__all__ = ["CSV_KEYS", "whatif_frame", "whatif_records", "whatif_rows"]

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


def whatif_rows(result: WhatIfResult) -> list[dict[str, object]]:
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


def whatif_frame(result: WhatIfResult) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    frame = pd.DataFrame(whatif_rows(result), columns=list(CSV_KEYS))
    frame.attrs.update(end=result.end, currency=result.currency, unit="ARR")
    return frame
