"""The demo shop's analytics: every customer's metrics and the fitted models, from its orders."""

from __future__ import annotations

from rapport.analytics.metrics import recompute_all
from rapport.demo.steps import DemoContext


def compute_demo_metrics(context: DemoContext) -> dict[str, int]:
    """Runs the nightly full recompute as of the moment the demo is loaded (never later: the model
    page shows when the models were fitted)."""
    result = recompute_all(now=context.now)
    context.say(f"analytics: metrics for {result.customers} customers in {result.seconds:.1f} s")
    return {"customer metrics": result.customers}
