"""The report's and the dashboard's charts: plotly figures with one restrained style.

Every figure plots amounts rounded to cents and ratios as fractions (axes show percent);
the hover text gives each amount to the cent and each ratio to two decimals of a percent,
as the tables print them. The style is for a board deck: one palette, system fonts (nothing
is fetched), no plotly logo, titles that name the window and the currency.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from nrr.analysis.cohorts import CohortResult
from nrr.analysis.trends import TrendPoint, TrendResult
from nrr.present.tables import money, percent
from nrr.records.rounding import money_number, ratio_number
from nrr.results import BridgeMonth, WindowResult

__all__ = [
    "CONFIG",
    "PALETTE",
    "bridge_waterfall",
    "cohort_heatmap",
    "monthly_bridge_bars",
    "retention_trends",
    "segment_comparison",
    "style",
]

# One palette for every chart (and report.css): navy for levels and NRR, greens for what is
# gained, amber and red for what is lost, grey for exchange-rate effects.
PALETTE = {
    "ink": "#1f2933",
    "muted": "#616e7c",
    "grid": "#e4e7eb",
    "level": "#1f4e79",
    "nrr": "#1f4e79",
    "grr": "#4f8fc0",
    "logo": "#8e9aaf",
    "new": "#2e7d4f",
    "reactivation": "#b7dbbf",
    "expansion": "#7cc08f",
    "contraction": "#e08a3c",
    "churn": "#c0392b",
    "fx": "#9aa5b1",
    "target": "#616e7c",
}
# Up to this many slices, each bar carries its value; beyond, only the hover does.
LABELLED_SLICES = 12
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
# Passed to every figure's to_html: no logo, no link to the plotly cloud, a quiet mode bar.
CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def style(fig: go.Figure, *, title: str, height: int = 420) -> go.Figure:
    """The shared look: white, system font, light grid, legend above the plot."""
    fig.update_layout(
        # No named template: plotly_white would embed some 8 kB of unused styling per chart.
        template="none",
        title={"text": title, "x": 0, "xanchor": "left", "pad": {"l": 6}, "font": {"size": 16}},
        font={"family": FONT, "size": 13, "color": PALETTE["ink"]},
        height=height,
        margin={"l": 70, "r": 24, "t": 70, "b": 56},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
        hoverlabel={"font": {"family": FONT, "size": 12}},
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    axes = {
        "gridcolor": PALETTE["grid"],
        "linecolor": PALETTE["grid"],
        "zeroline": False,
        "automargin": True,
        "title": {"standoff": 12},
    }
    fig.update_xaxes(**axes)
    fig.update_yaxes(**axes)
    return fig


def _short(value: Decimal) -> str:
    """A bar label: 3.40M, 125.3k, 980 (the hover text has the exact amount)."""
    number = float(value)
    size = abs(number)
    if size >= 1e9:
        return f"{number / 1e9:,.2f}B"
    if size >= 1e6:
        return f"{number / 1e6:,.2f}M"
    if size >= 1e4:
        return f"{number / 1e3:,.1f}k"
    return f"{number:,.0f}"


def _window_title(result: WindowResult) -> str:
    return f"{result.start} → {result.end}, {result.window_months} months, {result.currency}" + (
        ", constant currency" if result.fx_mode == "constant" else ""
    )


def bridge_waterfall(result: WindowResult) -> go.Figure:
    """Starting MRR, the window's movements of the cohort, ending MRR (METRICS.md section 4).

    The FX bar is left out when the revaluation is exactly 0 (one currency, or constant
    currency), so the chart shows only movements that happened."""
    f = result.overall
    steps: list[tuple[str, str, Decimal, str]] = [
        ("Starting MRR", "absolute", f.starting_mrr, f"{f.customers_start:,} customers"),
    ]
    if f.fx != 0:
        steps.append(("FX revaluation", "relative", f.fx, "rate effect: the ending MRR revalued"))
    steps += [
        ("Expansion", "relative", f.expansion, "customers paying more"),
        ("Contraction", "relative", -f.contraction, "customers paying less"),
        (
            "Churn",
            "relative",
            -f.churn,
            f"{f.customers_start - f.customers_retained:,} customers left",
        ),
        ("Ending MRR", "total", f.ending_mrr, f"{f.customers_retained:,} customers kept"),
    ]
    currency = result.currency
    colours = {
        "Starting MRR": PALETTE["level"],
        "FX revaluation": PALETTE["fx"],
        "Expansion": PALETTE["expansion"],
        "Contraction": PALETTE["contraction"],
        "Churn": PALETTE["churn"],
        "Ending MRR": PALETTE["level"],
    }
    # Floating bars (each with its own base) rather than go.Waterfall: plotly.js colours a
    # waterfall's bars only by rising/falling/total, and contraction and churn differ here.
    bases: list[float] = []
    heights: list[float] = []
    level = Decimal(0)
    for _, measure, value, _ in steps:
        if measure == "relative":
            low = level + min(value, Decimal(0))
            bases.append(money_number(low))
            heights.append(money_number(abs(value)))
            level += value
        else:
            bases.append(0.0)
            heights.append(money_number(value))
            level = value
    fig = go.Figure(
        go.Bar(
            x=[s[0] for s in steps],
            y=heights,
            base=bases,
            marker_color=[colours[s[0]] for s in steps],
            text=[_short(s[2]) if s[1] != "relative" else _signed_short(s[2]) for s in steps],
            textposition="outside",
            cliponaxis=False,
            customdata=[[f"{currency} {money(s[2])}", s[3]] for s in steps],
            hovertemplate="<b>%{x}</b><br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
    )
    # Thin connectors from each bar's top (or bottom) to the next bar, as in a waterfall.
    level = Decimal(0)
    for index, (_, measure, value, _) in enumerate(steps[:-1]):
        level = level + value if measure == "relative" else value
        fig.add_shape(
            type="line",
            x0=index + 0.4,
            x1=index + 0.6,
            y0=money_number(level),
            y1=money_number(level),
            xref="x",
            yref="y",
            line={"color": PALETTE["muted"], "width": 1},
        )
    style(fig, title=f"MRR bridge of the cohort, {_window_title(result)}")
    fig.update_layout(showlegend=False, bargap=0.35)
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=f"MRR ({currency})", tickformat=",.0f", rangemode="tozero")
    return fig


def _signed_short(value: Decimal) -> str:
    return ("+" if value >= 0 else "−") + _short(abs(value))


def monthly_bridge_bars(rows: list[BridgeMonth], currency: str) -> go.Figure:
    """The monthly bridge: gains above zero, losses below, the net change as a marker."""
    months = [r.month for r in rows]
    fig = go.Figure()
    series = (
        ("New", "new", 1),
        ("Reactivation", "reactivation", 1),
        ("Expansion", "expansion", 1),
        ("FX", "fx", 1),
        ("Contraction", "contraction", -1),
        ("Churn", "churn", -1),
    )
    for label, key, sign in series:
        values = [getattr(r, key) * sign for r in rows]
        if key == "fx" and all(v == 0 for v in values):
            continue
        fig.add_bar(
            x=months,
            y=[money_number(v) for v in values],
            name=label,
            marker_color=PALETTE[key],
            customdata=[f"{currency} {money(v)}" for v in values],
            hovertemplate=f"<b>{label}</b> %{{x}}<br>%{{customdata}}<extra></extra>",
        )
    net = [r.ending_mrr - r.starting_mrr for r in rows]
    fig.add_scatter(
        x=months,
        y=[money_number(v) for v in net],
        name="Net change",
        mode="markers+lines",
        line={"color": PALETTE["ink"], "width": 1.5, "dash": "dot"},
        marker={"symbol": "diamond", "size": 8, "color": PALETTE["ink"]},
        customdata=[
            [f"{currency} {money(v)}", f"{currency} {money(r.ending_mrr)}", r.active_customers]
            for v, r in zip(net, rows, strict=True)
        ],
        hovertemplate="<b>Net change</b> %{x}<br>%{customdata[0]}<br>"
        "Ending MRR %{customdata[1]}<br>%{customdata[2]:,} active customers<extra></extra>",
    )
    span = f"{months[0]} → {months[-1]}" if months else "no months"
    style(fig, title=f"Monthly MRR movements, {span}, {currency}")
    fig.update_layout(barmode="relative", bargap=0.25)
    fig.update_xaxes(type="category")
    fig.update_yaxes(
        title_text=f"MRR change ({currency})",
        tickformat=",.0f",
        zeroline=True,
        zerolinecolor=PALETTE["muted"],
    )
    return fig


def _trend_series(points: list[TrendPoint], key: str) -> tuple[list[float | None], list[str]]:
    values = [getattr(p, key) for p in points]
    return [ratio_number(v) for v in values], [percent(v) for v in values]


def retention_trends(result: TrendResult, window: int | None = None) -> go.Figure:
    """Rolling NRR, GRR and logo retention of the `window`-month windows ending each month
    (default: the longest window computed), with the 100% line."""
    length = window if window is not None else max(result.windows)
    points = [p for p in result.overall if p.window_months == length]
    months = [p.month for p in points]
    fig = go.Figure()
    for label, key, colour, dash in (
        ("NRR", "nrr", PALETTE["nrr"], "solid"),
        ("GRR", "grr", PALETTE["grr"], "solid"),
        ("Logo retention", "logo_retention", PALETTE["logo"], "dash"),
    ):
        values, texts = _trend_series(points, key)
        fig.add_scatter(
            x=months,
            y=values,
            name=label,
            mode="lines+markers",
            line={"color": colour, "width": 2.5 if key == "nrr" else 2, "dash": dash},
            marker={"size": 6},
            customdata=[
                [text, p.start, f"{result.currency} {money(p.starting_mrr)}"]
                for text, p in zip(texts, points, strict=True)
            ],
            hovertemplate=f"<b>{label}</b> %{{customdata[0]}}<br>window %{{customdata[1]}} → "
            "%{x}<br>starting MRR %{customdata[2]}<extra></extra>",
            connectgaps=False,
            xhoverformat="%Y-%m",
        )
    fig.add_hline(
        y=1.0,
        line={"color": PALETTE["target"], "width": 1, "dash": "dot"},
        annotation_text="100%",
        annotation_position="top left",
        annotation_font={"color": PALETTE["muted"], "size": 11},
    )
    style(
        fig,
        title=f"Rolling {length}-month retention, windows ending {result.start} → {result.end}",
    )
    fig.update_xaxes(
        type="date", title_text="window end month", tickformat="%b %Y", dtick="M3", ticks=""
    )
    fig.update_yaxes(title_text="retention (%)", tickformat=".0%")
    return fig


def cohort_heatmap(result: CohortResult) -> go.Figure:
    """Revenue retention of each signup cohort (rows, oldest first) by age (columns);
    above 100% in blue, below in orange, 100% white."""
    cohorts = result.cohorts
    ages = max((len(c.ages) for c in cohorts), default=0)
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[list[str]]] = []
    for c in cohorts:
        row: list[float | None] = []
        labels: list[str] = []
        details: list[list[str]] = []
        for a in range(ages):
            if a < len(c.ages):
                point = c.ages[a]
                row.append(ratio_number(point.revenue_retention))
                labels.append(percent(point.revenue_retention).replace(".00%", "%"))
                details.append(
                    [
                        percent(point.revenue_retention),
                        f"{result.currency} {money(point.mrr)}",
                        f"{point.active:,} of {c.customers:,}",
                        point.month,
                    ]
                )
            else:
                row.append(None)
                labels.append("")
                details.append(["", "", "", ""])
        z.append(row)
        text.append(labels)
        hover.append(details)
    names = [c.cohort for c in cohorts]
    dense = ages > 18 or len(cohorts) > 18
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(ages)),
            y=names,
            text=None if dense else text,
            texttemplate=None if dense else "%{text}",
            textfont={"size": 10},
            customdata=hover,
            hovertemplate="<b>cohort %{y}</b>, age %{x} (%{customdata[3]})<br>revenue retention "
            "%{customdata[0]}<br>MRR %{customdata[1]}<br>active %{customdata[2]}<extra></extra>",
            colorscale=[
                [0.0, "#b5471b"],
                [0.25, "#e9a36b"],
                [0.5, "#f7f7f7"],
                [0.75, "#8fb8de"],
                [1.0, "#1f4e79"],
            ],
            zmid=1.0,
            zmin=0.0,
            zmax=2.0,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": "revenue<br>retention"}, "tickformat": ".0%"},
            hoverongaps=False,
        )
    )
    height = max(360, min(1100, 90 + 16 * len(cohorts)))
    style(
        fig,
        title=f"Revenue retention by signup cohort, to {result.end} ({result.currency})",
        height=height,
    )
    fig.update_xaxes(title_text=f"age ({result.grain}s since signup)", showgrid=False)
    fig.update_yaxes(
        title_text="signup cohort", autorange="reversed", type="category", showgrid=False
    )
    return fig


def segment_comparison(result: WindowResult) -> go.Figure:
    """NRR and GRR per slice (horizontal bars) with the 100% line. Slices are ordered largest
    starting MRR first, except cohorts and tenure bands, which keep their own order; slices
    without customers at the start have no ratio and are left out (the table lists them)."""
    rows = [item for item in result.segments if item[1].starting_mrr != 0]
    if result.by not in ("cohort", "tenure"):
        rows.sort(key=lambda item: (-item[1].starting_mrr, item[0]))
    labelled = len(rows) <= LABELLED_SLICES
    # plotly.js reads labels as its own small HTML; escaped, a slice name shows as written.
    names = [html.escape(name, quote=False) for name, _ in rows]
    fig = go.Figure()
    for label, key, colour in (("NRR", "nrr", PALETTE["nrr"]), ("GRR", "grr", PALETTE["grr"])):
        values = [getattr(f, key) for _, f in rows]
        fig.add_bar(
            y=names,
            x=[ratio_number(v) for v in values],
            name=label,
            orientation="h",
            marker_color=colour,
            text=[percent(v) for v in values] if labelled else None,
            textposition="outside" if labelled else "none",
            cliponaxis=False,
            customdata=[
                [
                    percent(v),
                    f"{result.currency} {money(f.starting_mrr)}",
                    f"{result.currency} {money(f.ending_mrr)}",
                    f"{f.customers_retained:,} of {f.customers_start:,}",
                ]
                for v, (_, f) in zip(values, rows, strict=True)
            ],
            hovertemplate=f"<b>%{{y}}</b><br>{label} %{{customdata[0]}}<br>starting MRR "
            "%{customdata[1]}<br>ending MRR %{customdata[2]}<br>customers kept "
            "%{customdata[3]}<extra></extra>",
        )
    fig.add_vline(
        x=1.0,
        layer="above",
        line={"color": PALETTE["target"], "width": 1.5, "dash": "dash"},
        annotation_text="100%",
        annotation_position="top",
        annotation_font={"color": PALETTE["muted"], "size": 11},
    )
    height = max(300, min(1400, 120 + (46 if labelled else 26) * len(rows)))
    by = html.escape(result.by or "", quote=False)
    style(fig, title=f"NRR and GRR by {by}, {_window_title(result)}", height=height)
    known = [
        v for _, f in rows for v in (ratio_number(f.nrr), ratio_number(f.grr)) if v is not None
    ] or [1.0]
    fig.update_layout(barmode="group", bargap=0.3, bargroupgap=0.05)
    fig.update_xaxes(
        title_text="retention (%)",
        tickformat=".0%",
        range=[min(0.0, min(known) - 0.05), max(1.05, max(known)) * 1.12],
    )
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
