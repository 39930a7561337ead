"""The customer 360 "Privacy" tab: the customer's data-subject requests, and receiving a new one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from rapport.customers.models import Customer
from rapport.privacy.forms import ReceiveForm
from rapport.privacy.models import DataSubjectRequest


def privacy_tab(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {
        "privacy_requests": DataSubjectRequest.objects.filter(customer=customer).order_by("-received_at")[:50],
        "privacy_form": ReceiveForm(initial={"customer_id": customer.pk}),
    }
