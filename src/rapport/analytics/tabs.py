"""The "Analytics" tab of the customer 360 page: RFM, lifecycle, value, CLV and churn scores."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.analytics.models import CustomerMetrics, ModelFit
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.customers.models import Customer


def analytics_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    metrics = CustomerMetrics.objects.filter(customer=customer).select_related("preferred_category").first()
    churn_fit = ModelFit.objects.filter(kind=ModelFit.Kind.CHURN).only("quality", "fitted_at").first()
    return {"metrics": metrics, "churn_fit": churn_fit}


def register() -> None:
    register_customer_tab(
        CustomerTab(
            "analytics",
            _("Analytics"),
            "analytics/tabs/metrics.html",
            analytics_tab,
            position=60,
            permission="analytics.view_customermetrics",
        )
    )
