"""The customer 360 tabs this app contributes: profile, consent, change history, notes, audit entries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.console.tabs import CustomerTab, register_customer_tab
from rapport.core.listing import page_offset, paginate
from rapport.customers import consent
from rapport.customers.forms import NoteForm
from rapport.customers.models import ConsentChannel, ConsentPurpose, Customer, CustomFieldDefinition


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
    changes = customer.changes.all()
    return {"history_page": paginate(changes, limit=50, offset=page_offset(request.GET.get("page"), 50))}


def notes(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {"notes": customer.notes.select_related("author"), "note_form": NoteForm()}


def audit(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    entries = AuditEntry.objects.filter(object_type="customers.customer", object_id=str(customer.pk))
    return {"audit_page": paginate(entries, limit=50, offset=page_offset(request.GET.get("page"), 50))}


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
