"""Plotly figures for console pages: one look for every chart, embedded without a CDN.

Pages load ``{% static 'vendor/plotly.min.js' %}`` themselves; :func:`embed` gives the figure's
``<div>`` and the script that draws it. Other apps may use it for their own charts.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9ca3af"]


def figure(title: str = "", **layout: Any) -> go.Figure:
    """An empty figure with the console's fonts, colours and margins."""
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}} if title else None,
        colorway=PALETTE,
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 50 if title else 20, "b": 40},
        height=340,
        legend={"orientation": "h", "y": -0.18},
        font={"family": "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif"},
        **layout,
    )
    return fig


def month_axis(fig: go.Figure) -> go.Figure:
    """Show month labels ("2026-05") as written: Plotly reads them as dates otherwise and labels
    the axis with English month names ("May 2026") whatever the page's language."""
    fig.update_xaxes(type="category")
    return fig


def embed(fig: go.Figure, element_id: str) -> SafeString:
    """The figure as HTML for a template; ``element_id`` lets tests and links find it.

    The title is written as an HTML heading above the chart rather than drawn by Plotly: a heading
    wraps on a phone, where a drawn title runs past the screen's edge and lies under the toolbar.
    """
    title = fig.layout.title.text
    heading = format_html('<h3 class="chart-title">{}</h3>', title) if title else ""
    if title:
        fig.update_layout(title=None, margin={"t": 30})
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=element_id,
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
    )
    return mark_safe(heading + html)  # plotly writes the HTML; our values are JSON-encoded into it
