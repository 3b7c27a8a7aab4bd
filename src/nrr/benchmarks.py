"""Benchmark bands that put a headline number in context, each with the source it rests on.

A `Benchmark` is one metric's bands (each band: the lowest value it covers, a label and a tone
for colour) and the text of its source. `DEFAULT_BENCHMARKS` holds the bands nrr ships, every
one cited (docs/benchmarks.md lists them with their sources); a team replaces any metric's
bands with its own in `nrr.toml` (`benchmarks_from_config`), naming its own source.

    describe("nrr", Decimal("1.07"))
    -> Description(label="100-110%: ...", tone="ok", source="ChartMogul help ...")

Bands are read by floor: a value falls in the last band whose floor it reaches, and the
first band also covers everything below its floor, so every number has a band. The tones
(`bad`, `warn`, `ok`, `good`, `great`) are for colour only. A band applies to the period its
benchmark was measured over (`window_months`): annual NRR bands say nothing about a quarter.

`Band`, `band_for`, `NRR_BANDS`, `GRR_BANDS` and `LOGO_BANDS` remain for existing callers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, NamedTuple

from nrr.errors import InputError, Problem

__all__ = [
    "DEFAULT_BENCHMARKS",
    "GRR_BANDS",
    "LOGO_BANDS",
    "METRICS",
    "NRR_BANDS",
    "TONES",
    "Band",
    "Benchmark",
    "Benchmarks",
    "Description",
    "band_for",
    "benchmarks_from_config",
    "describe",
]

TONES = ("bad", "warn", "ok", "good", "great")


@dataclass(frozen=True)
class Band:
    floor: Decimal  # inclusive lower bound, as a fraction
    label: str
    tone: str  # "bad", "warn", "ok", "good", "great": for colour only


def band_for(value: Decimal | None, bands: tuple[Band, ...]) -> Band | None:
    """The last band whose floor `value` reaches; the first band for a value below them all."""
    if value is None or not bands:
        return None
    chosen = bands[0]
    for band in bands:
        if value >= band.floor:
            chosen = band
    return chosen


class Description(NamedTuple):
    """Where a value sits: its band's label and tone, and the source of the bands."""

    label: str
    tone: str
    source: str


@dataclass(frozen=True)
class Benchmark:
    """The bands of one headline metric and the source they come from.

    `window_months` is the period the bands were measured over (12 for annual NRR, 1 for a
    monthly churn rate); `None` when the metric does not depend on one."""

    metric: str
    title: str
    bands: tuple[Band, ...]
    source: str
    window_months: int | None = None

    def band(self, value: Decimal | None) -> Band | None:
        return band_for(value, self.bands)

    def describe(self, value: Decimal | None) -> Description | None:
        band = self.band(value)
        return None if band is None else Description(band.label, band.tone, self.source)


@dataclass(frozen=True)
class Benchmarks:
    """One `Benchmark` per headline metric, looked up by metric name."""

    items: tuple[Benchmark, ...]

    def __post_init__(self) -> None:
        names = [b.metric for b in self.items]
        if len(set(names)) != len(names):
            raise ValueError(f"a metric has two benchmarks: {names}")

    def get(self, metric: str) -> Benchmark | None:
        return next((b for b in self.items if b.metric == metric), None)

    def __getitem__(self, metric: str) -> Benchmark:
        found = self.get(metric)
        if found is None:
            raise KeyError(metric)
        return found

    def __contains__(self, metric: object) -> bool:
        return any(b.metric == metric for b in self.items)

    def __iter__(self) -> Iterator[Benchmark]:
        return iter(self.items)

    def replace(self, benchmark: Benchmark) -> Benchmarks:
        """A copy with `benchmark` in place of the one for the same metric (or added)."""
        if benchmark.metric not in self:
            return Benchmarks((*self.items, benchmark))
        return Benchmarks(
            tuple(benchmark if b.metric == benchmark.metric else b for b in self.items)
        )

    def describe(self, metric: str, value: Decimal | None) -> Description | None:
        """The band label, tone and source for `value` of `metric`; None without a value or
        without a benchmark for that metric."""
        benchmark = self.get(metric)
        return None if benchmark is None else benchmark.describe(value)


def _bands(*rows: tuple[str, str, str]) -> tuple[Band, ...]:
    return tuple(Band(Decimal(floor), label, tone) for floor, label, tone in rows)


# The floors reach far below any real value so that the legacy `band_for` always finds one.
NRR_BANDS = _bands(
    ("-1e9", "below 90%: the existing base is shrinking", "bad"),
    ("0.90", "90-100%: below the 100% goal", "warn"),
    ("1.00", "100-110%: the base grows on its own (goal met)", "ok"),
    ("1.10", "110-120%: strong", "good"),
    ("1.20", "120%+: top tier", "great"),
)
GRR_BANDS = _bands(
    ("-1e9", "below 80%: heavy losses", "bad"),
    ("0.80", "80-90%: below the 90% rule of thumb", "warn"),
    ("0.90", "90%+: healthy (median B2B SaaS 90-93%)", "good"),
)
# Unsourced bands kept only for existing callers; DEFAULT_BENCHMARKS["logo_retention"] has
# the sourced ones.
LOGO_BANDS = _bands(
    ("-1e9", "below 80% of customers kept", "bad"),
    ("0.80", "80-90% of customers kept", "warn"),
    ("0.90", "90%+ of customers kept", "good"),
)

_NRR_SOURCE = (
    "ChartMogul help, 'Chart: Net MRR Retention' (rule of thumb: above 100%); SaaS Capital, "
    "2023 B2B SaaS retention benchmarks (median NRR 100% to 110% from the lowest to the "
    "highest ACV band; 120%+ best in class for six-figure ACVs); ChartMogul SaaS Benchmarks "
    "Report 2023 (best-in-class NRR 110% at $15-30M ARR)"
)
_GRR_SOURCE = (
    "ChartMogul help, 'Chart: Gross MRR Retention' (rule of thumb: above 90%); SaaS Capital, "
    "2023 B2B SaaS retention benchmarks (median GRR 90% to 93% across ACV bands); KeyBanc "
    "(KBCM) 2019 Private SaaS Company Survey (median gross dollar churn about 13% of ARR a "
    "year, i.e. GRR about 87%, companies above $5M ARR)"
)
_CHURN_SOURCE = (
    "ChartMogul help, 'Chart: Customer Churn Rate' (typically 3-7% a month for SaaS; "
    "6-7% for ARPA below $10, 1-2% for ARPA of $500 or more)"
)
_LOGO_SOURCE = (
    _CHURN_SOURCE + ", compounded over 12 months: 1 - 0.98^12 = 21.5% lost (78% kept), "
    "1 - 0.93^12 = 58.1% lost (42% kept)"
)
_QUICK_SOURCE = (
    "Mamoon Hamid (Social Capital), SaaS quick ratio rule of thumb: 4 or more "
    "(InsightSquared, 'Measuring the SaaS Revolution with Mamoon Hamid'); quick ratio = "
    "(new + expansion) / (contraction + churn) as in Baremetrics (changelog.baremetrics.com)"
)

DEFAULT_BENCHMARKS = Benchmarks(
    (
        Benchmark("nrr", "NRR", NRR_BANDS, _NRR_SOURCE, window_months=12),
        Benchmark("grr", "GRR", GRR_BANDS, _GRR_SOURCE, window_months=12),
        Benchmark(
            "logo_retention",
            "Logo retention",
            _bands(
                ("-1e9", "below 42%: more lost than 7% a month would lose", "bad"),
                ("0.42", "42-78%: 2-7% lost a month, the typical SaaS range", "warn"),
                ("0.78", "78%+: under 2% lost a month, as at ARPA of $500+", "good"),
            ),
            _LOGO_SOURCE,
            window_months=12,
        ),
        Benchmark(
            "quick_ratio",
            "Quick ratio",
            _bands(
                ("-1e9", "below 1: MRR lost faster than it is added", "bad"),
                ("1", "1-4: growing, below the rule of thumb of 4", "warn"),
                ("4", "4+: efficient growth (rule of thumb)", "good"),
            ),
            _QUICK_SOURCE,
        ),
        Benchmark(
            "customer_churn_rate",
            "Customer churn rate (monthly)",
            _bands(
                ("-1e9", "under 2% a month: as low as at ARPA of $500+ (1-2%)", "good"),
                ("0.02", "2-7% a month: the typical SaaS range (3-7%)", "warn"),
                ("0.07", "7%+ a month: above the typical SaaS range", "bad"),
            ),
            _CHURN_SOURCE,
            window_months=1,
        ),
    )
)
METRICS = tuple(b.metric for b in DEFAULT_BENCHMARKS)


def describe(
    metric: str, value: Decimal | None, benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> Description | None:
    """`(label, tone, source)` of the band `value` of `metric` falls in, or None."""
    return benchmarks.describe(metric, value)


def benchmarks_from_config(
    table: Mapping[str, Any],
    *,
    base: Benchmarks = DEFAULT_BENCHMARKS,
    file: str = "nrr.toml",
) -> Benchmarks:
    """Read the `[benchmarks]` table of `nrr.toml`: per metric, `source` and `bands`.

        [benchmarks.nrr]
        source = "Our board's targets, 2026"
        bands = [{from = 0.0, label = "below plan", tone = "bad"},
                 {from = 1.05, label = "on plan", tone = "good"}]

    Each metric given replaces that metric's default bands entirely; the others keep theirs.
    Every problem found is reported at once, each naming `nrr.toml [benchmarks.METRIC]`.
    """
    if not isinstance(table, Mapping):
        raise InputError(Problem(source=f"{file} [benchmarks]", message="must be a table"))
    problems: list[Problem] = []
    result = base
    for metric, value in table.items():
        where = f"{file} [benchmarks.{metric}]"
        if metric not in METRICS:
            problems.append(
                Problem(
                    source=where,
                    message=f"unknown metric {metric!r}; use one of {', '.join(METRICS)}",
                )
            )
            continue
        benchmark = _benchmark(metric, value, base, where, problems)
        if benchmark is not None:
            result = result.replace(benchmark)
    if problems:
        raise InputError(problems)
    return result


def _benchmark(
    metric: str, value: object, base: Benchmarks, where: str, problems: list[Problem]
) -> Benchmark | None:
    start = len(problems)
    if not isinstance(value, Mapping):
        problems.append(Problem(source=where, message="must be a table with source and bands"))
        return None
    unknown = sorted(set(value) - {"source", "bands"})
    if unknown:
        problems.append(
            Problem(source=where, message=f"unknown key {unknown[0]!r}; use source and bands")
        )
    source = value.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(
            Problem(
                source=where,
                message='needs source = "...": say where the bands come from '
                "(a survey, a vendor, your board's plan)",
            )
        )
    bands = _read_bands(value.get("bands"), where, problems)
    if len(problems) > start or source is None or bands is None:
        return None
    default = base[metric]
    return Benchmark(metric, default.title, bands, source.strip(), default.window_months)


def _read_bands(rows: object, where: str, problems: list[Problem]) -> tuple[Band, ...] | None:
    if not isinstance(rows, list) or not rows:
        problems.append(
            Problem(
                source=where,
                message='needs bands = [{from = 0.0, label = "...", tone = "bad"}, ...]: '
                "a list of at least one band",
            )
        )
        return None
    bands: list[Band] = []
    for index, row in enumerate(rows):
        at = f"bands[{index}]"
        if not isinstance(row, Mapping):
            problems.append(Problem(source=where, message=f"{at} must be {{from, label, tone}}"))
            continue
        unknown = sorted(set(row) - {"from", "label", "tone"})
        if unknown:
            problems.append(
                Problem(
                    source=where,
                    message=f"{at}: unknown key {unknown[0]!r}; use from, label and tone",
                )
            )
        floor = _number(row.get("from"))
        if floor is None:
            problems.append(
                Problem(
                    source=where,
                    message=f"{at}.from must be a number (a fraction: 1.05 for 105%), "
                    f"not {row.get('from')!r}",
                )
            )
        label = row.get("label")
        if not isinstance(label, str) or not label.strip():
            problems.append(Problem(source=where, message=f"{at}.label must be some text"))
        tone = row.get("tone", "ok")
        if tone not in TONES:
            problems.append(
                Problem(
                    source=where,
                    message=f"{at}.tone {tone!r} is not one of {', '.join(TONES)}",
                )
            )
        if floor is not None and isinstance(label, str) and tone in TONES:
            bands.append(Band(floor, label.strip(), str(tone)))
    if len(bands) != len(rows):
        return None
    if not _increasing(band.floor for band in bands):
        floors = ", ".join(str(b.floor) for b in bands)
        problems.append(
            Problem(
                source=where,
                message=f"bands must be sorted by from, each above the one before; got {floors}",
            )
        )
        return None
    return tuple(bands)


def _number(value: object) -> Decimal | None:
    # TOML numbers only: a bool is an int to Python but never a floor; a string is a typo.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))  # str(1.05) == "1.05": the number as written
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _increasing(values: Iterable[Decimal]) -> bool:
    return all(a < b for a, b in pairwise(values))
