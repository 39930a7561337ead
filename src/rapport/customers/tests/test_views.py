"""Console customer pages through the Django test client: list, 360 tabs, edit, reveal, scope."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.customers.models import ChangeRecord, Customer
from rapport.customers.services import add_identity, add_note, save_custom_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, make_staff):
    def sign_in(role=roles.OPERATOR, **kwargs):
        user = make_staff(role, **kwargs)
        client.force_login(user)
        return user

    return sign_in


def test_login_page_and_redirect_for_anonymous(client):
    assert client.get("/login/").status_code == 200
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_list_searches_filters_and_masks(client, signed_in, make_customer, store, system_actor):
    signed_in(roles.ADMIN)
    save_custom_field(
        data={"key": "tier", "label": "Tier", "field_type": "choice", "choices": ["gold", "silver"]},
        actor=system_actor,
    )
    amy = make_customer(name="Amy Zhang", phone="13912345678", store="sh-01", custom_fields={"tier": "gold"})
    make_customer(name="Bob Li", phone="13800001111")
    page = client.get("/customers/", {"q": "13912345678"}).content.decode()
    assert "Amy Zhang" in page and "Bob Li" not in page
    table = page[page.index("<tbody>") :]
    assert "139****5678" in table and "13912345678" not in table
    assert "Bob Li" not in client.get("/customers/", {"cf.tier": "gold"}).content.decode()
    assert "Amy Zhang" in client.get("/customers/", {"store": "sh-01", "order_by": "-total_spent"}).content.decode()
    bad = client.get("/customers/", {"store": "nowhere"})
    assert bad.status_code == 200 and "no store" in bad.content.decode()
    assert "order by one of" in client.get("/customers/", {"order_by": "phone"}).content.decode()
    assert amy.pk


def test_360_page_tabs(client, signed_in, make_customer, system_actor):
    signed_in(roles.ADMIN)
    customer = make_customer(name="Chen Jie", email="chen@example.com")
    add_identity(customer, channel="tmall", external_id="TM-1", actor=system_actor)
    add_note(customer, body="Called about delivery", actor=system_actor)
    base = f"/customers/{customer.pk}/"
    profile = client.get(base).content.decode()
    assert "Chen Jie" in profile and "TM-1" in profile and "c***@example.com" in profile
    for tab, expected in [
        ("orders", "No orders"),
        ("notes", "Called about delivery"),
        ("audit", "Identity added"),
        ("history", "No change recorded"),
    ]:
        response = client.get(base, {"tab": tab})
        assert response.status_code == 200 and expected in response.content.decode(), tab


def test_edit_records_history_and_shows_field_errors(client, signed_in, make_customer, system_actor):
    signed_in(roles.OPERATOR)
    save_custom_field(data={"key": "shoe_size", "label": "Shoe size", "field_type": "integer"}, actor=system_actor)
    customer = make_customer(name="Li Lei", phone="13912345678", city="上海")
    url = f"/customers/{customer.pk}/edit/"
    form = client.get(url).content.decode()
    assert "139****5678" in form and "13912345678" not in form

    bad = client.post(
        url,
        {
            "name": "Li Lei",
            "city": "上海",
            "email": "nope",
            "cf_shoe_size": "big",
            "member_status": "member",
            "registration_channel": "web",
        },
    )
    assert bad.status_code == 200
    body = bad.content.decode()
    assert 'id="email-errors"' in body and 'id="cf_shoe_size-errors"' in body
    assert Customer.objects.get(pk=customer.pk).email == ""

    good = client.post(
        url,
        {
            "name": "Li Lei",
            "city": "杭州",
            "cf_shoe_size": "42",
            "member_status": "member",
            "registration_channel": "web",
        },
    )
    assert good.status_code == 302
    saved = Customer.objects.get(pk=customer.pk)
    assert saved.city == "杭州" and saved.custom_fields["shoe_size"] == 42 and saved.phone == "+8613912345678"
    fields = set(ChangeRecord.objects.filter(customer=customer).values_list("field", flat=True))
    assert (
        fields == {"city", "custom_fields.shoe_size", "registration_channel"}
        or {"city", "custom_fields.shoe_size"} <= fields
    )
    history = client.get(f"/customers/{customer.pk}/", {"tab": "history"}).content.decode()
    assert "杭州" in history and "上海" in history


def test_create_customer_from_the_console(client, signed_in):
    signed_in(roles.OPERATOR)
    response = client.post(
        "/customers/new/",
        {"name": "New Person", "phone": "13700001234", "member_status": "member", "registration_channel": "store"},
    )
    assert response.status_code == 302
    assert Customer.objects.get().masked_phone == "137****1234"
    refused = client.post("/customers/new/", {"name": "", "member_status": "member", "registration_channel": "store"})
    assert refused.status_code == 200 and 'id="name-errors"' in refused.content.decode()
    assert Customer.objects.count() == 1


def test_reveal_shows_plaintext_once_and_is_audited(client, signed_in, make_customer):
    signed_in(roles.SERVICE_AGENT)
    customer = make_customer(phone="13912345678")
    response = client.post(f"/customers/{customer.pk}/reveal/")
    assert "+8613912345678" in response.content.decode()
    assert AuditEntry.objects.filter(action="reveal", object_id=str(customer.pk)).count() == 1
    assert "+8613912345678" not in client.get(f"/customers/{customer.pk}/").content.decode()


def test_roles_without_rights_are_refused(client, signed_in, make_customer):
    signed_in(roles.ANALYST)
    customer = make_customer(phone="13912345678")
    assert client.post(f"/customers/{customer.pk}/reveal/").status_code == 403
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/notes/", {"body": "x"}).status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_sales_staff_only_reach_their_own_customers(client, signed_in, make_customer):
    seller = signed_in(roles.SALES)
    mine = make_customer(name="Mine")
    theirs = make_customer(name="Theirs")
    Customer.objects.filter(pk=mine.pk).update(owner=seller)
    listing = client.get("/customers/").content.decode()
    assert "Mine" in listing and "Theirs" not in listing
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    assert client.post(f"/customers/{theirs.pk}/reveal/").status_code == 404


def test_notes_and_owner_assignment(client, signed_in, make_customer, make_staff):
    signed_in(roles.OPERATOR)
    seller = make_staff(roles.SALES, username="seller1")
    customer = make_customer()
    client.post(f"/customers/{customer.pk}/notes/", {"body": "VIP at the Shanghai store"})
    empty = client.post(f"/customers/{customer.pk}/notes/", {"body": " "}, follow=True)
    assert "cannot be empty" in empty.content.decode()
    assert customer.notes.count() == 1
    client.post(f"/customers/{customer.pk}/owner/", {"owner": "seller1"})
    assert Customer.objects.get(pk=customer.pk).owner == seller
    client.post(f"/customers/{customer.pk}/owner/", {"owner": "ghost"})
    assert Customer.objects.get(pk=customer.pk).owner == seller
