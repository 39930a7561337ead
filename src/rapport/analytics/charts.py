"""Plotly figures for console pages: one look for every chart, embedded without a CDN.

Pages load ``{% static 'vendor/plotly.min.js' %}`` themselves; :func:`embed` gives the figure's
``<div>`` and the script that draws it. Other apps may use it for their own charts.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
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


def embed(fig: go.Figure, element_id: str) -> SafeString:
    """The figure as HTML for a template; ``element_id`` lets tests and links find it."""
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=element_id,
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
    )
    return mark_safe(html)  # plotly writes the HTML; our values are JSON-encoded into it
