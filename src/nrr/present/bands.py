"""Benchmark bands beside headline numbers: the band's label in its tone's colour, the
footnote citing each band's source (the JSON record of both: `nrr.records.bands`)."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text

from nrr.benchmarks import Benchmarks

__all__ = ["TONE_STYLE", "benchmark_text", "sources_text"]

TONE_STYLE = {"bad": "red", "warn": "yellow", "ok": "green", "good": "green", "great": "bold green"}


def benchmark_text(
    benchmarks: Benchmarks, metric: str, value: Decimal | None, window_months: int | None
) -> Text:
    """The band `value` falls in, coloured by its tone; said plainly when the bands were
    measured over another period than the number's window."""
    benchmark = benchmarks.get(metric)
    if benchmark is None:
        return Text("")
    if value is None:
        return Text("no customers at the start", style="dim")
    if benchmark.window_months is not None and window_months != benchmark.window_months:
        return Text(f"bands are for {benchmark.window_months}-month windows", style="dim")
    band = benchmark.band(value)
    if band is None:
        return Text("")
    return Text(f"{band.label} *", style=TONE_STYLE.get(band.tone, ""))


def sources_text(benchmarks: Benchmarks, metrics: tuple[str, ...]) -> Text:
    """The footnote: each metric's bands and where they come from."""
    lines = []
    for metric in metrics:
        benchmark = benchmarks.get(metric)
        if benchmark is not None:
            lines.append(f"* {benchmark.title} bands: {benchmark.source}.")
    return Text("\n".join(lines), style="dim")
