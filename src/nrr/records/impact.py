"""`nrr impact` as records: its JSON, its tidy rows and its DataFrame.

Money is rounded to cents and ratios to 4 places (half to even) only in records, as everywhere.
Contributions and distances are fractions (0.0123).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nrr.attributes import ALL
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.records.bands import benchmark_records
from nrr.records.rounding import money_number, ratio_number

if TYPE_CHECKING:
    import pandas as pd

if TYPE_CHECKING:
    from nrr.analysis.impact import ImpactResult, ImpactSlice

__all__ = ["SLICE_KEYS", "impact_frame", "impact_records", "impact_rows"]

SLICE_KEYS = (
    "starting_mrr",
    "ending_mrr",
    "share",
    "nrr",
    "grr",
    "contribution",
    "mrr_at_stake",
    "mrr_lost",
    "fx",
    "expansion",
    "contraction",
    "churn",
    "customers_start",
    "customers_retained",
)


def _slice_record(s: ImpactSlice) -> dict[str, object]:
    f = s.figures
    return {
        "rank": s.rank,
        "segment": s.segment,
        "values": dict(s.values),
        "starting_mrr": money_number(s.starting_mrr),
        "ending_mrr": money_number(s.ending_mrr),
        "share": ratio_number(s.share),
        "nrr": ratio_number(s.nrr),
        "grr": ratio_number(s.grr),
        "contribution": ratio_number(s.contribution),
        "mrr_at_stake": money_number(s.mrr_at_stake),
        "mrr_lost": money_number(s.mrr_lost),
        "fx": money_number(f.fx),
        "expansion": money_number(f.expansion),
        "contraction": money_number(f.contraction),
        "churn": money_number(f.churn),
        "customers_start": f.customers_start,
        "customers_retained": f.customers_retained,
    }


def _overall_record(result: ImpactResult) -> dict[str, object]:
    f = result.overall
    return {
        "starting_mrr": money_number(f.starting_mrr),
        "ending_mrr": money_number(f.ending_mrr),
        "share": 1.0 if f.starting_mrr else None,
        "nrr": ratio_number(f.nrr),
        "grr": ratio_number(f.grr),
        "contribution": ratio_number(result.distance),
        "distance": ratio_number(result.distance),
        "mrr_at_stake": money_number(result.mrr_at_stake),
        "mrr_lost": money_number(result.mrr_lost),
        "fx": money_number(f.fx),
        "expansion": money_number(f.expansion),
        "contraction": money_number(f.contraction),
        "churn": money_number(f.churn),
        "customers_start": f.customers_start,
        "customers_retained": f.customers_retained,
    }


def impact_records(
    result: ImpactResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> dict[str, object]:
    return {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
        "by": list(result.by),
        "target": float(result.target),
        "overall": _overall_record(result),
        "benchmarks": benchmark_records(
            benchmarks, {"nrr": result.overall.nrr, "grr": result.overall.grr}, result.window_months
        ),
        "slices": [_slice_record(s) for s in result.slices],
    }


def impact_rows(result: ImpactResult) -> list[dict[str, object]]:
    """Tidy rows: the book first (`segment` = `(all)`, rank 0), then each slice by rank."""
    overall = _overall_record(result)
    del overall["distance"]
    rows = [
        {"rank": 0, "segment": ALL, **{f"values.{a}": ALL for a in result.by}, **overall},
    ]
    for s in result.slices:
        record = _slice_record(s)
        values = record.pop("values")
        rows.append(
            {
                **{k: record[k] for k in ("rank", "segment")},
                **{f"values.{a}": v for a, v in values.items()},  # type: ignore[attr-defined]
                **{k: record[k] for k in SLICE_KEYS},
            }
        )
    return rows


def impact_frame(result: ImpactResult) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    frame = pd.DataFrame(impact_rows(result)).set_index("segment")
    frame.attrs.update(
        start=result.start,
        end=result.end,
        window_months=result.window_months,
        currency=result.currency,
        fx_mode=result.fx_mode,
        by=list(result.by),
        target=float(result.target),
    )
    return frame
