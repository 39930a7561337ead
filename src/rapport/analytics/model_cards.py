"""The Models page as model cards: for each fitted model, what it predicts, what data it learns
from (and over which window), when it was fitted, and its fit or backtest figures by name,
instead of the stored JSON (which stays available, folded, for the curious)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from rapport.analytics.churn import HORIZON_DAYS
from rapport.analytics.metrics import BGNBD_SAMPLE
from rapport.analytics.models import ModelFit

CARDS: dict[str, dict[str, Any]] = {
    ModelFit.Kind.BGNBD: {
        "predicts": _("How many more purchases each customer will make, and whether they are still a customer."),
        "data": _(
            "Every counted order up to the fit date: each buyer's repeat purchase days, recency and age "
            "(a random sample of %(sample)s customers when there are more)."
        ),
        "used_for": _("Probability alive, expected purchases in 90 days and the 12-month CLV."),
    },
    ModelFit.Kind.GAMMA_GAMMA: {
        "predicts": _("The average order value each repeat buyer will spend per purchase."),
        "data": _("Repeat buyers' average net spend per purchase day, over all counted orders up to the fit date."),
        "used_for": _("The 12-month CLV, together with the BG/NBD."),
    },
    ModelFit.Kind.CHURN: {
        "predicts": _("The probability that a customer buys nothing in the next %(horizon)s days."),
        "data": _(
            "Out-of-time backtest: trained on customers as they were %(twice)s days ago, tested on how "
            "those seen %(horizon)s days ago actually behaved; then refitted on the latest snapshot."
        ),
        "used_for": _("Churn probability and the churn-risk segments."),
    },
    ModelFit.Kind.RFM: {
        "predicts": _("Quintile breakpoints of recency, frequency and spend, and the value tiers."),
        "data": _("Every buyer's recency, purchase days and net spend at the fit date."),
        "used_for": _("R, F and M scores, RFM segments and value tiers."),
    },
}

FIGURES: dict[str, Any] = {
    "auc": _("AUC on the backtest (1 = perfect, 0.5 = chance)"),
    "recency_baseline_auc": _("AUC of recency alone, for comparison"),
    "train_customers": _("Customers trained on"),
    "test_customers": _("Customers tested on"),
    "test_churn_rate": _("Share who churned in the test"),
    "log_likelihood": _("Log-likelihood of the fit"),
    "iterations": _("Optimiser iterations"),
}


# The backtest chart: horizontal bars, one group per figure, drawn as SVG by
# analytics/includes/backtest_chart.html at a width that fits a phone.
CHART_WIDTH, LABEL_WIDTH, BAR_SPACE = 320, 112, 160
BAR_HEIGHT, BAR_GAP, GROUP_HEAD = 16, 6, 20


@dataclass(frozen=True)
class ChartBar:
    label: str
    value: float
    role: str  # "model", "baseline" or "chance": the model against what it must beat
    y: int
    width: int


def backtest_chart(groups: list[tuple[str, list[tuple[str, float, str]]]], *, top: float) -> dict[str, Any] | None:
    """Bars for the stored backtest figures: per group (a measure), the model and its baselines."""
    if not groups or top <= 0:
        return None
    heads, bars, y = [], [], 0
    for title, rows in groups:
        heads.append((title, y + 14))
        y += GROUP_HEAD
        for label, value, role in rows:
            bars.append(ChartBar(label, value, role, y, max(1, round(BAR_SPACE * min(value, top) / top))))
            y += BAR_HEIGHT + BAR_GAP
        y += BAR_GAP
    return {"heads": heads, "bars": bars, "height": y, "width": CHART_WIDTH, "bar_x": LABEL_WIDTH}


def churn_chart(quality: dict[str, Any]) -> dict[str, Any] | None:
    """The churn backtest's AUC against recency alone and against chance (0.5)."""
    if "auc" not in quality or "recency_baseline_auc" not in quality:
        return None
    rows = [
        (str(_("Churn model")), float(quality["auc"]), "model"),
        (str(_("Recency alone")), float(quality["recency_baseline_auc"]), "baseline"),
        (str(_("Chance")), 0.5, "chance"),
    ]
    return backtest_chart([("AUC", rows)], top=1.0)


RECOMMENDATION_MEASURES = ("precision@10", "recall@10", "ndcg@10")


def recommendation_chart(backtest: dict[str, Any]) -> dict[str, Any] | None:
    """ALS against popularity on each ranking measure of the stored backtest."""
    als, popular = backtest.get("als") or {}, backtest.get("popularity") or {}
    groups = [
        (measure, [("ALS", float(als[measure]), "model"), (str(_("Popularity")), float(popular[measure]), "baseline")])
        for measure in RECOMMENDATION_MEASURES
        if measure in als and measure in popular
    ]
    top = max((value for _title, rows in groups for _label, value, _role in rows), default=0.0)
    return backtest_chart(groups, top=top * 1.15)


def card(fit: ModelFit) -> dict[str, Any]:
    """One fit as a card: texts, the fit date and customers, figures by label, raw parameters folded."""
    texts = CARDS.get(fit.kind, {})
    values = {"sample": f"{BGNBD_SAMPLE:,}", "horizon": HORIZON_DAYS, "twice": 2 * HORIZON_DAYS}
    figures = [
        (str(FIGURES.get(key, key.replace("_", " "))), f"{value:.1%}" if key == "test_churn_rate" else value)
        for key, value in (fit.quality or {}).items()
    ]
    return {
        "fit": fit,
        "predicts": str(texts.get("predicts", "")) % values if texts else "",
        "data": str(texts.get("data", "")) % values if texts else "",
        "used_for": str(texts.get("used_for", "")) if texts else "",
        "figures": figures,
        "chart": churn_chart(fit.quality or {}) if fit.kind == ModelFit.Kind.CHURN else None,
        "params": json.dumps(fit.params, indent=1)[:2000],
    }
