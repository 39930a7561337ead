"""The customer 360 tabs this app contributes: profile, consent, change history, notes, audit entries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.audit.readable import readable
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.core.listing import page_offset, paginate
from rapport.customers import consent
from rapport.customers.forms import NoteForm
from rapport.customers.models import OWNER_FIELD, ConsentChannel, ConsentPurpose, Customer, CustomFieldDefinition


def profile(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    definitions = CustomFieldDefinition.objects.filter(is_active=True)
    values = customer.custom_fields or {}
    custom = [(d.label, values.get(d.key)) for d in definitions if values.get(d.key) not in (None, "", [])]
    sellers = get_user_model().objects.filter(is_active=True, groups__name=roles.SALES).order_by("username")
    return {
        "custom_values": custom,
        "identities": customer.identities.all(),
        "addresses": customer.addresses.all(),
        "stats": getattr(customer, "stats", None),
        "sellers": sellers,
    }


def consents(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    state = consent.consent_state(customer)
    purposes = ConsentPurpose.choices
    rows = [
        (label, [cell for cell in state if cell["channel"] == channel]) for channel, label in ConsentChannel.choices
    ]
    return {"consent_purposes": purposes, "consent_rows": rows, "consent_history": customer.consent_records.all()[:50]}


def history(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """Each change with the field's label (a custom field's own label) and choice values in words."""
    changes = customer.changes.select_related("owner_before", "owner_after")
    page = paginate(changes, limit=50, offset=page_offset(request.GET.get("page"), 50))
    custom = dict(CustomFieldDefinition.objects.values_list("key", "label"))
    rows = []
    for change in page.items:
        label, choices = _field_label(change.field, custom)
        old: str | None
        new: str | None
        if change.field == OWNER_FIELD:
            old, new = (user.get_username() if user else "" for user in (change.owner_before, change.owner_after))
        else:
            old = choices.get(change.old_value or "", change.old_value)
            new = choices.get(change.new_value or "", change.new_value)
        rows.append({"change": change, "label": label, "old": old, "new": new})
    return {"history_page": page, "history_rows": rows}


def _field_label(name: str, custom: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A changed field's label and its choices' labels (``custom_fields.<key>``: the field's label)."""
    if name.startswith("custom_fields."):
        key = name.split(".", 1)[1]
        return f"{_('Custom field')}: {custom.get(key, key)}", {}
    try:
        model_field = Customer._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:
        return capfirst(name.replace("_", " ")), {}
    choices = {str(value): str(label) for value, label in getattr(model_field, "flatchoices", None) or ()}
    return str(capfirst(getattr(model_field, "verbose_name", name))), choices


def notes(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {"notes": customer.notes.select_related("author"), "note_form": NoteForm()}


def audit(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    entries = AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk))
    page = paginate(entries, limit=50, offset=page_offset(request.GET.get("page"), 50))
    return {"audit_page": page, "audit_entries": readable(list(page.items))}


def register() -> None:
    register_customer_tab(CustomerTab("profile", _("Profile"), "customers/tabs/profile.html", profile, position=10))
    register_customer_tab(CustomerTab("consent", _("Consent"), "customers/tabs/consent.html", consents, position=75))
    register_customer_tab(CustomerTab("history", _("History"), "customers/tabs/history.html", history, position=80))
    register_customer_tab(CustomerTab("notes", _("Notes"), "customers/tabs/notes.html", notes, position=85))
    register_customer_tab(
        CustomerTab(
            "audit", _("Audit"), "customers/tabs/audit.html", audit, position=90, permission="audit.view_auditentry"
        )
    )
