"""The demo shop's analytics: every customer's metrics and the fitted models, from its orders."""

from __future__ import annotations

import datetime as dt

from rapport.analytics.metrics import recompute_all
from rapport.demo.steps import DemoContext


def compute_demo_metrics(context: DemoContext) -> dict[str, int]:
    """Runs the nightly full recompute as of the end of the demo's last day."""
    now = dt.datetime.combine(context.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    result = recompute_all(now=now)
    context.say(f"analytics: metrics for {result.customers} customers in {result.seconds:.1f} s")
    return {"customer metrics": result.customers}
