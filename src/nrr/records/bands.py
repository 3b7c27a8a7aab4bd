"""Benchmark bands as records: the band a headline number falls in, for JSON."""

from __future__ import annotations

from decimal import Decimal

from nrr.benchmarks import Benchmarks

__all__ = ["benchmark_records"]


def benchmark_records(
    benchmarks: Benchmarks, figures: dict[str, Decimal | None], window_months: int
) -> dict[str, dict[str, str] | None]:
    """`{metric: {"band", "tone", "source"} | null}` for JSON: null without a value, or when the
    bands were measured over another period."""
    records: dict[str, dict[str, str] | None] = {}
    for metric, value in figures.items():
        benchmark = benchmarks.get(metric)
        found = None if benchmark is None else benchmark.describe(value)
        period_ok = benchmark is not None and benchmark.window_months in (None, window_months)
        records[metric] = (
            {"band": found.label, "tone": found.tone, "source": found.source}
            if found is not None and period_ok
            else None
        )
    return records
