"""The member's inbox in the portal: their own site messages only; opening one counts as an open."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client

from rapport.campaigns.models import Message, SiteMessage
from rapport.portal.auth import COOKIE_NAME, start_session

pytestmark = pytest.mark.django_db


def _signed_in(customer) -> Client:
    response = HttpResponse()
    start_session(response, customer)
    client = Client()
    client.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME].value
    return client


def test_inbox_lists_own_messages_and_reading_marks_the_open(make_member, make_plan, make_template, launch):
    member, other = make_member(name="Mei"), make_member(name="Other")
    site = make_template("site", subject="A gift for {{ customer.name }}", body="See https://shop.example.com/gift")
    plan = launch(
        make_plan(steps=[{"kind": "send", "config": {"channel": "site", "variants": [{"template": site.pk}]}}])
    )
    client = _signed_in(member)

    page = client.get("/campaigns/portal/inbox/").content.decode()
    assert "A gift for Mei" in page and "A gift for Other" not in page and 'id="unread-count">1<' in page

    mine = SiteMessage.objects.get(customer=member)
    body = client.get(f"/campaigns/portal/inbox/{mine.pk}/").content.decode()
    assert "/campaigns/t/c/" in body  # the link is tracked
    assert Message.objects.get(plan=plan, customer=member).opened_at is not None
    assert client.get(f"/campaigns/portal/inbox/{SiteMessage.objects.get(customer=other).pk}/").status_code == 404


def test_inbox_needs_a_signed_in_member():
    response = Client().get("/campaigns/portal/inbox/")
    assert response.status_code == 302 and "/portal/sign-in/" in response["Location"]
