"""What every app's admin tests check alike: each registered model's pages open for a superuser,
and only configuration can be added or changed there (nothing is deleted in the admin)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from rapport.core.admin import ReadOnlyAdmin


def registered_admins(app_label: str) -> dict[type[Model], Any]:
    return {
        model: model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label == app_label
    }


def every_change_page(client: Client, app_label: str) -> Iterator[tuple[type[Model], Any]]:
    """Open each registered model's change list and its first row's change page (both must answer
    200); yield the model and the change page."""
    for model in registered_admins(app_label):
        name = f"admin:{app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"{name}_changelist")).status_code == 200, model
        row = model._default_manager.first()
        assert row is not None, model
        page = client.get(reverse(f"{name}_change", args=[row.pk]))
        assert page.status_code == 200, model
        yield model, page


def assert_only_configuration_is_editable(
    request: HttpRequest,
    app_label: str,
    configuration: Collection[type[Model]],
    *,
    exempt: Collection[type[Model]] = (),
) -> None:
    """Configuration may be added and changed; everything else (but ``exempt``) is read-only."""
    for model, model_admin in registered_admins(app_label).items():
        assert not model_admin.has_delete_permission(request), model
        if model in configuration:
            assert model_admin.has_add_permission(request) and model_admin.has_change_permission(request), model
        elif model not in exempt:
            assert isinstance(model_admin, ReadOnlyAdmin), model
            assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request)
