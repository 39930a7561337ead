"""Plotly figures for console pages: one look for every chart, embedded without a CDN.

Pages load ``{% static 'vendor/plotly.min.js' %}`` themselves; :func:`embed` gives the figure's
``<div>``, which ``console/charts.js`` (loaded by the console's layout) draws. Other apps use it
for their own charts.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString
from plotly.io.json import to_json_plotly

DEFAULT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
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


def embed(fig: go.Figure, element_id: str, *, config: dict[str, Any] | None = None) -> SafeString:
    """The figure as HTML for a template; ``element_id`` lets tests and links find it.

    The title is written as an HTML heading above the chart rather than drawn by Plotly: a heading
    wraps on a phone, where a drawn title runs past the screen's edge and lies under the toolbar.
    No inline script (the Content-Security-Policy allows none): the figure travels as JSON in a
    data attribute and ``console/charts.js`` draws every such ``<div>`` once the page has loaded.
    """
    title = fig.layout.title.text
    heading = format_html('<h3 class="chart-title">{}</h3>', title) if title else ""
    if title:
        fig.update_layout(title=None, margin={"t": 30})
    drawn = fig.to_plotly_json()
    spec = {"data": drawn["data"], "layout": drawn["layout"], "config": config or DEFAULT_CONFIG}
    return format_html(
        '{}<div id="{}" class="plotly-graph-div" data-plotly-figure="{}"></div>',
        heading,
        element_id,
        to_json_plotly(spec),
    )
