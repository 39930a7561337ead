"""The forecast chart as an SVG drawn on the server: history, forecast and its 80 %/95 % bands.

No chart library and no script: the page stays within the content security policy and works on
a phone (the SVG scales to its container through its viewBox).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


def _points(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def forecast_svg(
    *,
    history: Sequence[float],
    mean: Sequence[float],
    lo80: Sequence[float],
    hi80: Sequence[float],
    lo95: Sequence[float],
    hi95: Sequence[float],
    first_period: dt.date,
    period_days: int,
    title: str,
) -> SafeString:
    count = len(history) + len(mean)
    top = max([*history, *hi95, 1.0])
    step = (WIDTH - LEFT - RIGHT) / max(count - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - v / top)

    ahead = range(len(history), count)
    band95 = _points(
        [x(i) for i in ahead] + [x(i) for i in reversed(ahead)], [y(v) for v in hi95] + [y(v) for v in reversed(lo95)]
    )
    band80 = _points(
        [x(i) for i in ahead] + [x(i) for i in reversed(ahead)], [y(v) for v in hi80] + [y(v) for v in reversed(lo80)]
    )
    past = _points([x(i) for i in range(len(history))], [y(v) for v in history])
    # the forecast line starts at the last actual so that the two read as one series
    joined = ([len(history) - 1] if history else []) + list(ahead)
    line = _points([x(i) for i in joined], ([y(history[-1])] if history else []) + [y(v) for v in mean])
    start = first_period - dt.timedelta(days=period_days * len(history))
    end = first_period + dt.timedelta(days=period_days * (len(mean) - 1))
    parts = [
        format_html(
            '<svg class="forecast-chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">',
            WIDTH,
            HEIGHT,
            title,
        ),
        format_html("<title>{}</title>", title),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1"/>',
            LEFT,
            HEIGHT - BOTTOM,
            WIDTH - RIGHT,
            HEIGHT - BOTTOM,
        ),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>', LEFT - 4, TOP + 8, f"{top:.0f}"),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end">0</text>', LEFT - 4, HEIGHT - BOTTOM),
        format_html('<text x="{}" y="{}" font-size="11">{}</text>', LEFT, HEIGHT - 8, start.isoformat()),
        format_html(
            '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>', WIDTH - RIGHT, HEIGHT - 8, end.isoformat()
        ),
    ]
    if mean:
        parts += [
            format_html('<polygon class="band95" points="{}" fill="#cfe0f5" stroke="none"/>', band95),
            format_html('<polygon class="band80" points="{}" fill="#9fc1ea" stroke="none"/>', band80),
            format_html(
                '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#bbb" stroke-dasharray="3 3"/>',
                f"{x(len(history)):.1f}",
                TOP,
                HEIGHT - BOTTOM,
            ),
            format_html(
                '<polyline class="forecast" points="{}" fill="none" stroke="#1f5fbf" stroke-width="2" '
                'stroke-dasharray="6 3"/>',
                line,
            ),
        ]
    if history:
        parts.append(
            format_html('<polyline class="history" points="{}" fill="none" stroke="#222" stroke-width="2"/>', past)
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))
