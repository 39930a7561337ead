"""Django admin stays available to superusers, read-only and without plaintext personal data."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_registered_model_lists_for_a_superuser(client, admin_user, make_customer):
    customer = make_customer(phone="13912345678", email="secret.person@example.com")
    client.force_login(admin_user)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert "139****5678" in page and "13912345678" not in page and "secret.person" not in page


def test_domain_records_are_not_editable_in_the_admin(client, admin_user, make_customer):
    customer = make_customer(name="Kept")
    client.force_login(admin_user)
    client.post(reverse("admin:customers_customer_change", args=[customer.pk]), {"name": "Changed"})
    customer.refresh_from_db()
    assert customer.name == "Kept"
    assert client.get(reverse("admin:customers_customer_add")).status_code == 403
