"""The dashboard's own chart: one customer's month-end MRR and its movements."""

from __future__ import annotations

import plotly.graph_objects as go

from nrr.analysis.history import CustomerHistory
from nrr.present.charts import PALETTE, style
from nrr.present.tables import money
from nrr.records.rounding import cents

__all__ = ["customer_mrr"]

_KINDS = (
    ("New", "new", 1),
    ("Reactivation", "reactivation", 1),
    ("Expansion", "expansion", 1),
    ("Contraction", "contraction", -1),
    ("Churn", "churn", -1),
)


def customer_mrr(history: CustomerHistory) -> go.Figure:
    """Month-end MRR as a line (base currency at each month's rates), each month's movement as
    a bar: gains up, losses down. Exchange-rate effects move the line without a bar."""
    months = [m.month for m in history.months]
    currency = history.currency
    fig = go.Figure()
    for label, key, sign in _KINDS:
        values = [getattr(m, key) * sign for m in history.months]
        if all(v == 0 for v in values):
            continue
        fig.add_bar(
            x=months,
            y=[float(cents(v)) for v in values],
            name=label,
            marker_color=PALETTE[key],
            customdata=[f"{currency} {money(v)}" for v in values],
            hovertemplate=f"<b>{label}</b> %{{x}}<br>%{{customdata}}<extra></extra>",
        )
    fig.add_scatter(
        x=months,
        y=[float(cents(m.ending_mrr)) for m in history.months],
        name="Month-end MRR",
        mode="lines+markers",
        line={"color": PALETTE["level"], "width": 2, "shape": "hv"},
        marker={"size": 5, "color": PALETTE["level"]},
        customdata=[
            [f"{currency} {money(m.ending_mrr)}", f"{currency} {money(m.fx)}"]
            for m in history.months
        ],
        hovertemplate="<b>MRR</b> %{x}<br>%{customdata[0]}<br>fx %{customdata[1]}<extra></extra>",
    )
    span = f"{months[0]} → {months[-1]}" if months else "no months"
    style(fig, title=f"Monthly MRR, {span}, {currency}", height=380)
    fig.update_layout(barmode="relative", bargap=0.3)
    fig.update_xaxes(type="category")
    fig.update_yaxes(
        title_text=f"MRR ({currency})",
        tickformat=",.0f",
        zeroline=True,
        zerolinecolor=PALETTE["muted"],
    )
    return fig
