"""Django admin for superusers.

Every change goes through the services (validation, change history, audit log). Records the
services write (ledgers, histories, events) are shown read-only (:class:`ReadOnlyAdmin`);
configuration that a service saves is edited through it (:class:`SavedByServiceAdmin`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError, FieldError


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SavedByServiceForm(forms.ModelForm):  # type: ignore[type-arg]
    """A form whose validation is the service's save.

    The services check and write in one step, so the form calls the service while it validates:
    the service's errors appear beside the fields, and the admin's own save has nothing left to
    do. ``actor`` is set per request by :class:`SavedByServiceAdmin`.
    """

    actor: Actor

    def save_with_service(self) -> models.Model:
        raise NotImplementedError

    def add_service_error(self, error: FieldError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # Django's hook after the instance is built
        if self.errors:
            return
        try:
            self.instance = self.save_with_service()
        except DomainError as exc:
            for error in exc.errors:
                self.add_service_error(error)


class SavedByServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Adds and changes through the form's service call; deleting is left to the console (audited)."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": Actor(user=request.user, source=Source.CONSOLE)})

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        """Nothing to do: the form saved ``obj`` through the service while validating."""
