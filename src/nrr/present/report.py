"""`nrr report`: one self-contained HTML page for a board deck, and the sections the
dashboard (`nrr serve`) shows.

    views = build_views(book, end="2025-12")      # nrr.present.views: every figure, once
    html = render_report(views)                   # a full page, plotly.js inline once
    part = render_sections(views, drill=url_for)  # the sections only, for another page

The page makes no network request when opened: plotly.js, the stylesheet and every chart's
data are inline, fonts are the system's. Numbers are the library's exact results rounded only
for display, exactly as `nrr metrics --format json` rounds them (docs/report.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from nrr.analysis.methods import MethodsResult
from nrr.analysis.owners import OwnersResult
from nrr.present import charts
from nrr.present.bands import benchmark_text
from nrr.present.definitions import DEFINITIONS
from nrr.present.health_section import CustomerLink, health_section
from nrr.present.lineage import lineage
from nrr.present.methods import methods_explanation
from nrr.present.tables import money, percent
from nrr.present.views import OWNER_COLUMNS, Views, chart_figures
from nrr.records.rounding import ratio, ratio_number
from nrr.records.window import figures_record
from nrr.results import BridgeMonth, RetentionFigures

__all__ = ["KPIS", "render_report", "render_sections", "report_css"]

# The headline numbers: the `data-kpi` names of the contract with the dashboard.
KPIS = (
    "nrr",
    "grr",
    "logo_retention",
    "quick_ratio",
    "starting_mrr",
    "ending_mrr",
    "expansion",
    "contraction",
    "churn",
)

# --- formatting --------------------------------------------------------------------------


def _json_number(value: object) -> str:
    """The value as the API's JSON writes it (`window_json`): the data-value attribute."""
    return json.dumps(value)


def _multiple(value: Decimal | None) -> str:
    rounded = ratio(value)
    return "n/a" if rounded is None else f"{rounded:.2f}x"


def _band(benchmarks: Any, metric: str, value: Decimal | None, window: int | None) -> dict | None:
    """The benchmark band beside a headline number: its text (as the terminal prints it) and
    its tone (for colour); None when there is no benchmark for the metric."""
    text = benchmark_text(benchmarks, metric, value, window).plain.rstrip(" *")
    if not text:
        return None
    benchmark = benchmarks.get(metric)
    applies = benchmark.window_months in (None, window) and value is not None
    found = benchmark.describe(value) if applies else None
    return {"text": text, "tone": found.tone if found else "none", "applies": applies}


def _kpis(views: Views) -> list[dict[str, Any]]:
    result = views.window_result
    f = result.overall
    record = figures_record(f)
    benchmarks = views.book.benchmarks
    window = result.window_months
    currency = result.currency
    footnote = {str(n["metric"]): n["number"] for n in _sources(views)}
    items: list[dict[str, Any]] = []
    for name, label, value, note in (
        ("nrr", "Net revenue retention", f.nrr, "ending MRR / starting MRR"),
        ("grr", "Gross revenue retention", f.grr, "after contraction and churn"),
        (
            "logo_retention",
            "Logo retention",
            f.logo_retention,
            f"{f.customers_retained:,} of {f.customers_start:,} customers kept",
        ),
    ):
        items.append(
            {
                "name": name,
                "label": label,
                "raw": _json_number(record[name]),
                "text": percent(value),
                "note": note,
                "band": _band(benchmarks, name, value, window),
                "footnote": footnote.get(name),
                "kind": "ratio",
            }
        )
    quick = views.rates.quick_ratio
    items.append(
        {
            "name": "quick_ratio",
            "label": "Quick ratio",
            "raw": _json_number(ratio_number(quick)),
            "text": _multiple(quick),
            "note": "gains / losses, monthly bridge",
            "band": _band(benchmarks, "quick_ratio", quick, None),
            "footnote": footnote.get("quick_ratio"),
            "kind": "ratio",
        }
    )
    for name, label, note in (
        ("starting_mrr", "Starting MRR", f"{result.start}, {f.customers_start:,} customers"),
        ("ending_mrr", "Ending MRR", f"{result.end}, same customers"),
        ("expansion", "Expansion", "customers paying more"),
        ("contraction", "Contraction", "customers paying less"),
        (
            "churn",
            "Churn",
            f"{f.customers_start - f.customers_retained:,} customers left",
        ),
    ):
        items.append(
            {
                "name": name,
                "label": label,
                "raw": _json_number(record[name]),
                "text": money(getattr(f, name)),
                "unit": currency,
                "note": note,
                "band": None,
                "kind": "money",
            }
        )
    return items


FOOTNOTED = ("nrr", "grr", "logo_retention", "quick_ratio")


def _sources(views: Views) -> list[dict[str, object]]:
    """The footnotes citing each headline band's source, numbered in KPI order."""
    notes: list[dict[str, object]] = []
    for metric in FOOTNOTED:
        benchmark = views.book.benchmarks.get(metric)
        if benchmark is not None:
            notes.append(
                {
                    "metric": metric,
                    "number": len(notes) + 1,
                    "text": f"{benchmark.title} bands: {benchmark.source}.",
                }
            )
    return notes


def _figures_row(name: str, f: RetentionFigures) -> dict[str, str]:
    return {
        "name": name,
        "starting_mrr": money(f.starting_mrr),
        "fx": money(f.fx),
        "expansion": money(f.expansion),
        "contraction": money(f.contraction),
        "churn": money(f.churn),
        "ending_mrr": money(f.ending_mrr),
        "nrr": percent(f.nrr),
        "grr": percent(f.grr),
        "logos": f"{f.customers_retained:,} / {f.customers_start:,}",
        "logo_retention": percent(f.logo_retention),
        "outside": money(f.new_mrr + f.reactivation_mrr),
        "nrr_tone": _tone(f.nrr),
    }


def _tone(value: Decimal | None) -> str:
    if value is None:
        return "none"
    return "above" if value >= 1 else "below"


def _bridge_rows(rows: list[BridgeMonth]) -> tuple[list[dict[str, str]], dict[str, str] | None]:
    body = [
        {
            "month": r.month,
            "starting_mrr": money(r.starting_mrr),
            "fx": money(r.fx),
            "new": money(r.new),
            "reactivation": money(r.reactivation),
            "expansion": money(r.expansion),
            "contraction": money(r.contraction),
            "churn": money(r.churn),
            "ending_mrr": money(r.ending_mrr),
            "active": f"{r.active_customers:,}",
        }
        for r in rows
    ]
    if not rows:
        return body, None

    def total(key: str) -> str:
        return money(sum((getattr(r, key) for r in rows), Decimal(0)))

    footer = {
        "month": "total",
        "starting_mrr": money(rows[0].starting_mrr),
        **{k: total(k) for k in ("fx", "new", "reactivation", "expansion", "contraction")},
        "churn": total("churn"),
        "ending_mrr": money(rows[-1].ending_mrr),
        "active": f"{rows[-1].active_customers:,}",
    }
    return body, footer


def _owners(result: OwnersResult | None) -> dict[str, Any] | None:
    if result is None:
        return None

    def csm(row: Any) -> dict[str, str]:
        return {
            "owner": row.owner,
            "book_size": money(row.book_size),
            "logos": f"{row.logos:,}",
            "ending_mrr": money(row.ending_mrr),
            "nrr": percent(row.nrr),
            "grr": percent(row.grr),
            "churn": money(row.churn),
            "churned_customers": f"{row.churned_customers:,}",
            "contraction": money(row.contraction),
            "mrr_lost": money(row.mrr_lost),
        }

    def am(row: Any) -> dict[str, str]:
        return {
            "owner": row.owner,
            "book_size": money(row.book_size),
            "logos": f"{row.logos:,}",
            "expansion": money(row.expansion),
            "seats": money(row.seats),
            "price": money(row.price),
            "cross_sell": money(row.cross_sell),
            "dropped": money(row.dropped),
            "expanding_customers": f"{row.expanding_customers:,}",
            "nrr": percent(row.nrr),
        }

    return {
        "csm_column": result.csm_column,
        "am_column": result.am_column,
        "csm": [csm(r) for r in result.csm],
        "csm_total": csm(result.csm_total),
        "am": [am(r) for r in result.account_manager],
        "am_total": am(result.account_manager_total),
    }


def _methods(result: MethodsResult, benchmarks: Any) -> dict[str, Any]:
    def movements(prefix: str, m: Any) -> dict[str, str]:
        return {
            "label": prefix + m.label,
            "customers": f"{m.customers:,}",
            "fx": money(m.fx),
            "expansion": money(m.expansion),
            "contraction": money(m.contraction),
            "churn": money(m.churn),
            "net": money(m.net),
        }

    return {
        "methods": [
            {
                "key": m.key,
                "name": m.name,
                "nrr": percent(m.nrr),
                "numerator": money(m.numerator),
                "denominator": money(m.denominator),
                "customers": f"{m.customers:,}",
                "definition": m.definition,
                "band": _band(benchmarks, "nrr", m.nrr, result.window_months),
            }
            for m in result.methods
        ],
        "steps": [
            movements("", result.cohort),
            movements("+ ", result.retiming),
            movements("+ ", result.started_inside),
            movements("= ", result.bridge),
        ],
        "explanation": methods_explanation(result, "MRR").splitlines(),
    }


def _lineage(views: Views, generated: str) -> dict[str, Any]:
    record = lineage(views.book, views.options())
    rows = []
    for account in record["rows"]:  # type: ignore[attr-defined]
        rejected_mrr = ", ".join(
            f"{amount:,.2f} {currency}" for currency, amount in account["mrr_rejected"].items()
        )
        without = ", ".join(f"{n:,} {why}" for why, n in account["rows_without_mrr"].items())
        rows.append(
            {
                "source": account["source"],
                "read": f"{account['rows_read']:,}",
                "used": f"{account['rows_used']:,}",
                "rejected": f"{account['rows_rejected']:,}",
                "rejected_mrr": rejected_mrr or ("0.00" if account["rows_rejected"] else ""),
                "without_mrr": without,
            }
        )
    return {**record, "row_accounts": rows, "generated": generated}


def _context(
    views: Views,
    drill: Callable[[str, str], str] | None,
    customer: CustomerLink | None = None,
) -> dict[str, Any]:
    result = views.window_result
    book = views.book
    figures = chart_figures(views)
    charts_html = {
        # Trusted: plotly's own markup, whose JSON writes "<" as \u003c.
        name: Markup(
            fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                config=charts.CONFIG,
                div_id=f"nrr-chart-{name}",
                default_width="100%",
                default_height=f"{fig.layout.height or 420}px",
            )
        )
        for name, fig in figures.items()
    }
    bridge_body, bridge_total = _bridge_rows(views.bridge)
    segments = [
        {**_figures_row(name, f), "link": drill(result.by, name) if drill else None}
        for name, f in result.segments
    ]
    months = [p for p in views.trends.overall if p.window_months == views.window]
    trend_rows = [
        {
            "month": p.month,
            "nrr": percent(p.nrr),
            "grr": percent(p.grr),
            "logo_retention": percent(p.logo_retention),
        }
        for p in months[-12:]
    ]
    cohorts = views.cohorts.cohorts
    return {
        "v": views,
        "result": result,
        "currency": book.currency,
        "kpis": _kpis(views),
        "sources": _sources(views),
        "overall": _figures_row("Total", result.overall),
        "charts": charts_html,
        "bridge_rows": bridge_body,
        "bridge_total": bridge_total,
        "segments": segments,
        "trend_rows": trend_rows,
        "cohort_count": len(cohorts),
        "cohort_first": cohorts[0].cohort if cohorts else None,
        "owners": _owners(views.owners),
        "owner_columns": OWNER_COLUMNS,
        "health": health_section(views.health, customer),
        "methods": _methods(views.methods, book.benchmarks),
        "definitions": DEFINITIONS,
        "counted_with": book.conventions.describe(),
        "filters": book.filters,
    }


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("nrr.present", "templates"),
        # Slice, owner and file names are user data: every value is escaped unless marked safe.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def report_css() -> str:
    """The stylesheet of the report and of the sections (the dashboard inlines it too)."""
    return files("nrr.present").joinpath("templates/report.css").read_text(encoding="utf-8")


def _generated() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_sections(
    views: Views,
    *,
    drill: Callable[[str, str], str] | None = None,
    customer: CustomerLink | None = None,
) -> str:
    """The HTML of every section (no <html>, no plotly.js, no stylesheet): KPIs, bridge
    waterfall, monthly bars, trends, cohorts, segments, owners, risks, methods, definitions,
    lineage. With `drill(attribute, value) -> URL`, each slice name in the segment table
    links to that URL; with `customer(customer_id) -> URL`, each customer in the risks and
    opportunities tables does."""
    template = _environment().get_template("sections.html.j2")
    context = _context(views, drill, customer)
    return template.render(**context, lineage=_lineage(views, _generated()))


def render_report(views: Views, *, title: str | None = None) -> str:
    """The full self-contained page: plotly.js inline once, the stylesheet inline, then
    `render_sections(views)`."""
    from plotly.offline import get_plotlyjs

    generated = _generated()
    template = _environment().get_template("report.html.j2")
    context = _context(views, None)
    sections = (
        _environment()
        .get_template("sections.html.j2")
        .render(**context, lineage=_lineage(views, generated))
    )
    name = Path(views.book.inputs.subscriptions).name
    return template.render(
        title=title or "Net revenue retention",
        subtitle=f"{views.start} → {views.end} · {views.window} months · {views.book.currency}",
        source=name,
        generated=generated,
        # Trusted: our stylesheet, the bundled library, and sections rendered with autoescape.
        css=Markup(report_css()),
        plotlyjs=Markup(get_plotlyjs()),
        sections=Markup(sections),
    )
