"""Terminal tables (Rich) for people: the bridge laid out so it visibly adds up."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.present.bands import benchmark_text, sources_text
from nrr.records.rounding import cents, ratio
from nrr.results import BridgeMonth, RetentionFigures, WindowResult

__all__ = ["bridge_table", "money", "percent", "window_tables"]


def money(value: Decimal, *, sign: str = "") -> str:
    return f"{sign}{cents(value):,.2f}"


def percent(value: Decimal | None) -> str:
    rounded = ratio(value)
    return "n/a" if rounded is None else f"{rounded * 100:.2f}%"


def _customers(count: int) -> str:
    return f"{count} customer" if count == 1 else f"{count} customers"


def window_bridge(
    f: RetentionFigures,
    result: WindowResult,
    unit: str = "MRR",
    benchmarks: Benchmarks = DEFAULT_BENCHMARKS,
) -> Table:
    """Starting MRR, each movement with its sign, ending MRR, then the ratios with bands."""
    table = Table(
        title=f"Retention {result.start} -> {result.end} ({result.window_months} months, "
        f"{result.currency}, fx {result.fx_mode})",
        title_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column(unit, justify="right")
    table.add_column("", style="dim")
    table.add_row(
        f"Starting {unit}",
        money(f.starting_mrr),
        _customers(f.customers_start) + f" active in {result.start}",
    )
    table.add_row("+ FX revaluation", money(f.fx), "rate effect: the ending MRR revalued")
    table.add_row("+ Expansion", money(f.expansion), "net increase, customers up over the window")
    table.add_row("- Contraction", money(f.contraction), "net decrease, still customers")
    table.add_row(
        "- Churn",
        money(f.churn),
        _customers(f.customers_start - f.customers_retained) + " with no MRR at the end",
    )
    table.add_row(f"= Ending {unit}", money(f.ending_mrr), "same customers only", end_section=True)
    table.add_row(
        "NRR", percent(f.nrr), benchmark_text(benchmarks, "nrr", f.nrr, result.window_months)
    )
    table.add_row(
        "GRR", percent(f.grr), benchmark_text(benchmarks, "grr", f.grr, result.window_months)
    )
    table.add_row(
        "Logo retention",
        percent(f.logo_retention),
        benchmark_text(benchmarks, "logo_retention", f.logo_retention, result.window_months),
        end_section=True,
    )
    table.add_row(
        "Outside the cohort: new", money(f.new_mrr), "customers first active after the start"
    )
    table.add_row(
        "Outside the cohort: reactivation",
        money(f.reactivation_mrr),
        "returning customers inactive at the start",
    )
    return table


def slice_table(result: WindowResult, unit: str = "MRR") -> Table:
    table = Table(title=f"By {result.by}", title_justify="left")
    for name, justify in (
        ("segment", "left"),
        (f"starting {unit}", "right"),
        ("+ fx", "right"),
        ("+ expansion", "right"),
        ("- contraction", "right"),
        ("- churn", "right"),
        (f"= ending {unit}", "right"),
        ("NRR", "right"),
        ("GRR", "right"),
        ("logos", "right"),
        ("new + reactivated", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name, f in result.segments:
        table.add_row(
            name,
            money(f.starting_mrr),
            money(f.fx),
            money(f.expansion),
            money(f.contraction),
            money(f.churn),
            money(f.ending_mrr),
            percent(f.nrr),
            percent(f.grr),
            f"{f.customers_retained}/{f.customers_start}",
            money(f.new_mrr + f.reactivation_mrr),
        )
    return table


def window_tables(
    result: WindowResult, unit: str = "MRR", benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> Group:
    parts: list[Table | Text] = [window_bridge(result.overall, result, unit, benchmarks)]
    if result.by is not None:
        parts.append(slice_table(result, unit))
    parts.append(sources_text(benchmarks, ("nrr", "grr", "logo_retention")))
    return Group(*parts)


def bridge_table(
    rows: list[BridgeMonth], *, title: str = "Monthly MRR bridge", unit: str = "MRR"
) -> Table:
    """One row per month (and slice), each row adding up, and a total row for the span."""
    segmented = any(r.segment is not None for r in rows)
    table = Table(title=title.replace("MRR", unit), title_justify="left")
    if segmented:
        table.add_column("segment")
    for name in (
        "month",
        "starting",
        "+ fx",
        "+ new",
        "+ reactivation",
        "+ expansion",
        "- contraction",
        "- churn",
        "= ending",
        "active",
    ):
        table.add_column(name, justify="left" if name == "month" else "right")
    groups: dict[str | None, list[BridgeMonth]] = {}
    for row in rows:
        groups.setdefault(row.segment, []).append(row)
    for segment, series in groups.items():
        for row in series:
            cells = [
                row.month,
                money(row.starting_mrr),
                money(row.fx),
                money(row.new),
                money(row.reactivation),
                money(row.expansion),
                money(row.contraction),
                money(row.churn),
                money(row.ending_mrr),
                str(row.active_customers),
            ]
            table.add_row(*([segment or ""] if segmented else []), *cells)
        first, last = series[0], series[-1]

        def total(name: str, series: list[BridgeMonth] = series) -> str:
            return money(sum((getattr(r, name) for r in series), Decimal(0)))

        cells = [
            f"{first.month}..{last.month}",
            money(first.starting_mrr),
            total("fx"),
            total("new"),
            total("reactivation"),
            total("expansion"),
            total("contraction"),
            total("churn"),
            money(last.ending_mrr),
            str(last.active_customers),
        ]
        table.add_row(
            *([segment or ""] if segmented else []), *cells, style="bold", end_section=True
        )
    return table
