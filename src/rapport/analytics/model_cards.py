"""The Models page as model cards: for each fitted model, what it predicts, what data it learns
from (and over which window), when it was fitted, and its fit or backtest figures by name,
instead of the stored JSON (which stays available, folded, for the curious)."""

from __future__ import annotations

import json
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
        "params": json.dumps(fit.params, indent=1)[:2000],
    }
