"""The console audit log page."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.core.actor import Actor, Source
from rapport.customers.services import reveal_personal_data

pytestmark = pytest.mark.django_db


def test_audit_page_lists_and_filters(client, make_staff, make_customer):
    analyst = make_staff(roles.ANALYST, username="auditor")
    customer = make_customer(name="Audited One")
    reveal_personal_data(customer, actor=Actor(user=analyst, source=Source.CONSOLE))
    client.force_login(analyst)
    page = client.get("/audit/", {"action": "reveal"}).content.decode()
    assert "Audited One" in page and "auditor" in page
    assert "Audited One" not in client.get("/audit/", {"action": "delete"}).content.decode()
    assert "action: one of" in client.get("/audit/", {"action": "boom"}).content.decode()


def test_audit_page_is_refused_to_roles_without_it(client, make_staff):
    client.force_login(make_staff(roles.SALES))
    assert client.get("/audit/").status_code == 403
