"""The programme-wide settings row, created with its defaults on first use."""

from __future__ import annotations

from django.db import models, transaction
from django.forms import ModelForm

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.loyalty.models import CouponTemplate, ProgramSettings


def program_settings() -> ProgramSettings:
    """The settings row. Every earn reads it, so it is fetched with a raw query (half the cost of
    building an ORM one) and created only when missing."""
    table = ProgramSettings._meta.db_table
    found = list(ProgramSettings.objects.raw(f"SELECT * FROM {table} WHERE id = 1"))  # noqa: S608
    if found:
        return found[0]
    settings_row, _created = ProgramSettings.objects.get_or_create(pk=1)
    return settings_row


@transaction.atomic
def save_form(form: ModelForm, *, actor: Actor) -> models.Model:  # type: ignore[type-arg]
    """Save a settings form (levels, rules, cards, coupon templates, …) and audit what changed."""
    from rapport.loyalty.services.coupons import validate_template

    instance = form.save(commit=False)
    if isinstance(instance, CouponTemplate):
        validate_template(instance)
    created = instance.pk is None
    instance.save()
    form.save_m2m()
    record(
        actor,
        AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
        obj=instance,
        changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
    )
    return instance
