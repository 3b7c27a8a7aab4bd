"""`nrr methods` and `nrr rates`: tables for people, JSON and CSV for machines."""

from __future__ import annotations

import json
from decimal import Decimal

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.analysis.methods import MethodsResult
from nrr.analysis.rates import RatesResult
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.present.bands import benchmark_text, sources_text
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.methods import methods_record, month_record, rates_record
from nrr.records.rounding import ratio

__all__ = [
    "methods_csv",
    "methods_explanation",
    "methods_json",
    "methods_tables",
    "rates_csv",
    "rates_json",
    "rates_tables",
]


def _multiple(value: Decimal | None) -> str:
    rounded = ratio(value)
    return "n/a" if rounded is None else f"{rounded:.2f}x"


def methods_json(result: MethodsResult) -> str:
    return json.dumps(methods_record(result), indent=2)


def methods_csv(result: MethodsResult) -> str:
    """The methods, then the reconciliation's rows, one table with a `kind` column."""
    record = methods_record(result)
    header = [
        "kind",
        "method",
        "label",
        "nrr",
        "numerator",
        "denominator",
        "customers",
        "fx",
        "expansion",
        "contraction",
        "churn",
        "net",
    ]
    rows: list[dict[str, object]] = [
        {
            "kind": "method",
            "method": m["method"],
            "label": m["definition"],
            "nrr": m["nrr"],
            "numerator": m["numerator"],
            "denominator": m["denominator"],
            "customers": m["customers"],
        }
        for m in record["methods"]  # type: ignore[union-attr]
    ]
    reconciliation = record["reconciliation"]
    for key in ("cohort", "retiming", "started_inside", "bridge_sum"):
        rows.append({"kind": "reconciliation", "method": key, **reconciliation[key]})  # type: ignore[index]
    return records_csv(header, rows)


def methods_tables(
    result: MethodsResult, unit: str = "MRR", benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> Group:
    summary = Table(
        title=f"NRR by method, {result.start} -> {result.end} ({result.window_months} months, "
        f"{result.currency}, each month at its own rates)",
        title_justify="left",
    )
    for name, justify in (
        ("method", "left"),
        ("NRR", "right"),
        (f"numerator ({unit})", "right"),
        ("over", "right"),
        ("customers", "right"),
        ("benchmark", "left"),
        ("definition", "left"),
    ):
        summary.add_column(name, justify=justify)  # type: ignore[arg-type]
    for m in result.methods:
        summary.add_row(
            m.name,
            percent(m.nrr),
            money(m.numerator),
            money(m.denominator),
            f"{m.customers:,}",
            benchmark_text(benchmarks, "nrr", m.nrr, result.window_months),
            Text(m.definition, style="dim"),
        )
    steps = Table(title="Cohort to bridge-sum, movement by movement", title_justify="left")
    for name in ("", "customers", "+ fx", "+ expansion", "- contraction", "- churn", "= net"):
        steps.add_column(name, justify="left" if not name else "right")
    for prefix, m in (
        ("", result.cohort),
        ("+ ", result.retiming),
        ("+ ", result.started_inside),
        ("= ", result.bridge),
    ):
        steps.add_row(
            prefix + m.label,
            f"{m.customers:,}",
            money(m.fx),
            money(m.expansion),
            money(m.contraction),
            money(m.churn),
            money(m.net),
            style="bold" if prefix == "= " else None,
        )
    return Group(
        summary, steps, Text(methods_explanation(result, unit)), sources_text(benchmarks, ("nrr",))
    )


def methods_explanation(result: MethodsResult, unit: str) -> str:
    """In words: why the methods give different numbers for this window."""
    cohort = result.method("cohort")
    bridge = result.method("bridge_sum")
    trailing = result.method("trailing_revenue")
    average = result.method("average_annual")
    lines = [
        f"Cohort -> bridge-sum: {money(cohort.numerator)} "
        f"{_signed(result.retiming.net)} {_signed(result.started_inside.net)} "
        f"= {money(bridge.numerator)}.",
        f"  - {result.up_and_down:,} cohort customers moved up and down inside the window: the "
        "bridge counts each month's expansion and contraction, the cohort method their net "
        "change (no net effect).",
        f"  - {result.comeback_customers:,} cohort customers churned and came back: their churn "
        f"is in the bridge-sum, their comeback ({money(result.comebacks)}) is not.",
        f"  - {result.started_inside.customers:,} customers who started or returned inside the "
        f"window are not in the cohort; the bridge-sum counts their later movements "
        f"({_signed(result.started_inside.net)}).",
        f"Bridge-sum -> compounded: {_signed(result.compounding)}. Compounding applies each "
        "month's movements to that month's whole book (which includes customers who joined "
        "since) and multiplies the monthly rates.",
        f"Trailing revenue: {trailing.customers:,} customers active in "
        f"{result.trailing_cohort_month}; revenue {money(result.prior_revenue)} -> "
        f"{money(result.recent_revenue)}. It averages a year of revenue instead of comparing two "
        "month-ends, so it lags the cohort method.",
    ]
    known = [v for _, v in result.annual_nrr if v is not None]
    if known:
        lines.append(
            f"Average of {len(result.annual_nrr)}: the {result.window_months}-month NRRs ending "
            f"{result.annual_nrr[0][0]}..{result.annual_nrr[-1][0]} range from "
            f"{percent(min(known))} to {percent(max(known))}; their mean is "
            f"{percent(average.nrr)}, against {percent(cohort.nrr)} now."
        )
    del unit
    return "\n".join(lines)


def _signed(value: Decimal) -> str:
    return f"- {money(-value)}" if value < 0 else f"+ {money(value)}"


def rates_json(result: RatesResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS) -> str:
    return json.dumps(rates_record(result, benchmarks), indent=2)


def rates_csv(result: RatesResult) -> str:
    records = [month_record(m) for m in result.months]
    header = list(records[0]) if records else ["month"]
    return records_csv(header, records)


def rates_tables(
    result: RatesResult, unit: str = "MRR", benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> Group:
    table = Table(
        title=f"Churn rates and quick ratio, {result.start}..{result.end} ({result.currency})",
        title_justify="left",
    )
    for name in (
        "month",
        "customers at start",
        "churned",
        "customer churn",
        f"starting {unit}",
        "gross MRR churn",
        "net MRR churn",
        "quick ratio",
    ):
        table.add_column(name, justify="left" if name == "month" else "right")
    for m in result.months:
        table.add_row(
            m.month,
            f"{m.customers_start:,}",
            f"{m.customers_churned:,}",
            percent(m.customer_churn_rate),
            money(m.starting_mrr),
            percent(m.gross_mrr_churn_rate),
            percent(m.net_mrr_churn_rate),
            _multiple(m.quick_ratio),
        )
    c = result.cohort
    table.add_row(
        f"{result.start}..{result.end}",
        f"{c.customers_start:,}",
        f"{c.customers_churned:,}",
        percent(c.customer_churn_rate),
        money(c.starting_mrr),
        percent(c.gross_mrr_churn_rate),
        percent(c.net_mrr_churn_rate),
        _multiple(result.quick_ratio),
        style="bold",
    )
    note = Text(
        "The last row is the window: churn of the customers active at its start, netted per "
        "customer (1 - logo retention, 1 - GRR); its quick ratio sums the months' "
        "(new + reactivation + expansion) / (contraction + churn).",
        style="dim",
    )
    headline = Table.grid(padding=(0, 2))
    headline.add_row(
        "Quick ratio over the window",
        _multiple(result.quick_ratio),
        benchmark_text(benchmarks, "quick_ratio", result.quick_ratio, None),
    )
    headline.add_row(
        "Customer churn, average month",
        percent(result.monthly_customer_churn_rate),
        benchmark_text(benchmarks, "customer_churn_rate", result.monthly_customer_churn_rate, 1),
    )
    sources = sources_text(benchmarks, ("quick_ratio", "customer_churn_rate"))
    return Group(table, note, headline, sources)
