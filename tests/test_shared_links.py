"""Shared links: a staff member makes a tracked link for a customer; opening it redirects to the page
(tagged), counts the open and, the first time, records the sharer's contact, which moves an order
within the contact window to the sharer under the contact rule. The API refuses bad input naming the
field, checks scopes, and a merge and an erasure take the links along."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.scopes import CONTACTS_READ, CONTACTS_WRITE, TASKS_READ
from rapport.analytics import kpis
from rapport.analytics.staff_performance import Rules, attributed_orders
from rapport.clienteling import sharing
from rapport.clienteling.models import Contact, ContactKind, SharedLink
from rapport.commerce.models import Order
from rapport.core.actor import Actor, Source
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_staff: Any, store: Any) -> Any:
    return make_staff(roles.SALES, store=store, username="owner")


@pytest.fixture
def sharer(make_staff: Any, store: Any) -> Any:
    return make_staff(roles.STORE_STAFF, store=store, username="sharer")


@pytest.fixture
def customer(make_customer: Any, owner: Any, store: Any) -> Any:
    return make_customer(owner=owner.pk, store=store.code)


def _share(customer: Any, staff: Any, url: str = "https://shop.example.com/p/oolong?size=1") -> SharedLink:
    return sharing.share_link(customer, {"url": url, "title": "Oolong"}, actor=Actor(user=staff, source=Source.CONSOLE))


def test_opening_a_link_redirects_tagged_and_records_one_contact_of_the_sharer(customer, sharer, store) -> None:
    link = _share(customer, sharer)
    assert link.store == store and sharing.tracked_url(link).endswith(f"/s/{link.token}")
    client = Client()
    first = client.get(f"/s/{link.token}")
    again = client.get(f"/s/{link.token}")
    assert first.status_code == 302 and again.status_code == 302
    target = urlsplit(first["Location"])
    assert (target.hostname, target.path) == ("shop.example.com", "/p/oolong")
    assert parse_qs(target.query) == {
        "size": ["1"],
        "utm_source": ["rapport"],
        "utm_medium": ["staff_share"],
        "utm_content": [link.token],
    }
    link.refresh_from_db()
    assert link.opens == 2 and link.first_opened_at is not None
    contact = Contact.objects.get(customer=customer)
    assert (contact.kind, contact.staff, contact.note) == (ContactKind.LINK, sharer, "Oolong")
    assert Client().get("/s/no-such-token").status_code == 404


def test_an_order_after_an_opened_link_goes_to_the_sharer(customer, sharer, owner) -> None:
    link = _share(customer, sharer)
    sharing.open_link(link.token)
    order = Order.objects.create(
        customer=customer,
        channel="web",
        external_id="o-1",
        status="paid",
        total="99.00",
        subtotal="99.00",
        placed_at=timezone.now() + dt.timedelta(seconds=1),
    )
    filters = kpis.Filters.parse({}, today=timezone.localdate(timezone=kpis.shop_zone()))
    assert dict(attributed_orders(filters, Rules(contact_rule=True, contact_days=7)).values_list("id", "staff_id")) == {
        order.pk: sharer.pk
    }
    assert dict(attributed_orders(filters, Rules(contact_rule=False)).values_list("id", "staff_id")) == {
        order.pk: owner.pk
    }


@pytest.mark.parametrize(
    ("url", "code"),
    [("", "required"), ("javascript:alert(1)", "invalid"), ("https://" + "a" * 500, "too_long")],
)
def test_a_link_needs_a_web_address(customer, sharer, url, code) -> None:
    with pytest.raises(InvalidInput) as refused:
        _share(customer, sharer, url)
    assert (refused.value.errors[0].field, refused.value.errors[0].code) == ("url", code)


@override_settings(RAPPORT_SHARE_HOSTS=["shop.example.com"])
def test_the_hosts_can_be_limited(customer, sharer) -> None:
    with pytest.raises(InvalidInput) as refused:
        _share(customer, sharer, "https://elsewhere.example.org/")
    assert refused.value.errors[0].code == "not_allowed"
    assert _share(customer, sharer).url.startswith("https://shop.example.com/")


def test_recording_a_link_contact_by_hand_is_refused(customer, sharer, api_client_for) -> None:
    from rapport.clienteling import contacts

    with pytest.raises(InvalidInput) as refused:
        contacts.record_contact(customer, {"kind": "link"}, actor=Actor(user=sharer, source=Source.CONSOLE))
    assert refused.value.errors[0].field == "kind"
    client = api_client_for(sharer, [CONTACTS_WRITE])
    answer = client.post(
        "/api/v1/contacts", {"customer_id": customer.pk, "kind": "link"}, content_type="application/json"
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"].endswith("kind")


def test_the_api_shares_and_lists_links_with_scopes_checked(customer, sharer, api_client_for) -> None:
    client = api_client_for(sharer, [CONTACTS_READ, CONTACTS_WRITE])
    body = {"customer_id": customer.pk, "url": "https://shop.example.com/p/1", "title": "Tea set"}
    created = client.post("/api/v1/shared-links", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["link"].endswith("/s/" + SharedLink.objects.get().token)
    assert created.json()["staff"] == "sharer" and created.json()["opens"] == 0
    listed = client.get(f"/api/v1/shared-links?customer_id={customer.pk}").json()
    assert listed["count"] == 1 and listed["results"][0]["title"] == "Tea set"
    bad = client.post("/api/v1/shared-links", {**body, "url": "ftp://x"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"
    assert client.get("/api/v1/shared-links?customer_id=999999").status_code == 404
    reader = api_client_for(sharer, [TASKS_READ])
    assert reader.get(f"/api/v1/shared-links?customer_id={customer.pk}").status_code == 403
    assert reader.post("/api/v1/shared-links", body, content_type="application/json").status_code == 403
    assert SharedLink.objects.count() == 1


def test_merge_moves_links_and_erasure_blanks_them(customer, sharer, make_customer, system_actor) -> None:
    from rapport.clienteling import merge_hooks, privacy

    link = _share(customer, sharer)
    survivor = make_customer()
    merge_hooks.move_tasks_and_contacts(survivor, customer)
    link.refresh_from_db()
    assert link.customer == survivor
    assert privacy.export(survivor)["shared_links"][0]["url"] == link.url
    privacy.erase(survivor, None)  # type: ignore[arg-type]
    link.refresh_from_db()
    assert (link.url, link.title) == ("", "")
    assert sharing.open_link(link.token) is None
