"""Charts: month labels shown as written, titles as headings that wrap on a phone."""

from __future__ import annotations

import plotly.graph_objects as go

from rapport.analytics.charts import embed, figure, month_axis


def test_month_labels_are_categories_not_dates_plotly_would_name_in_english() -> None:
    fig = month_axis(figure("Revenue"))
    fig.add_trace(go.Bar(x=["2026-10", "2026-11"], y=[1, 2]))
    assert fig.layout.xaxis.type == "category"


def test_the_title_is_an_html_heading_above_the_chart_not_drawn_in_it() -> None:
    fig = figure("营收 <和> 客单价")
    html = embed(fig, "chart-x")
    assert html.startswith('<h3 class="chart-title">营收 &lt;和&gt; 客单价</h3>')
    assert fig.layout.title.text is None
