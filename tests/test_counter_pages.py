"""The counter's pages from the outside: the member code in the portal (a barcode and a QR code,
a fresh code each time), the installable app's manifest and worker, the pages refused to roles
without the counter, and goodwill from the counter page held to the clerk's limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from rapport.accounts import roles
from rapport.counter import services
from rapport.counter.models import MemberCode
from rapport.loyalty.models import GoodwillGrant
from rapport.portal.auth import COOKIE_NAME, start_session

pytestmark = pytest.mark.django_db


def test_the_portal_shows_a_rotating_member_code(make_customer):
    member = make_customer(name="Sun Li", phone="13900009999")
    signed_in = HttpResponse()
    start_session(signed_in, member)
    client = Client()
    client.cookies[COOKIE_NAME] = signed_in.cookies[COOKIE_NAME].value
    page = client.get("/portal/code/").content.decode()
    first = re.search(r'id="member-code">(\d{12})<', page).group(1)  # type: ignore[union-attr]
    assert page.count('src="data:image/svg+xml;base64,') == 2 and "member_code.js" in page
    fresh = client.get("/portal/code/fresh/").content.decode()
    assert first not in fresh and MemberCode.objects.filter(customer=member).count() == 2
    assert Client().get("/portal/code/").status_code == 302  # members only


def test_manifest_worker_and_offline_page(client):
    manifest = client.get("/counter/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    assert manifest.json()["start_url"] == "/counter/" and manifest.json()["display"] == "standalone"
    worker = client.get("/counter/sw.js")
    assert (
        worker["Content-Type"].startswith("application/javascript") and "/counter/offline/" in worker.content.decode()
    )
    assert client.get("/counter/offline/").status_code == 200


def test_the_counter_is_refused_to_roles_without_it(client, make_staff):
    client.force_login(make_staff(roles.ANALYST))
    assert client.get("/counter/").status_code == 403
    client.force_login(make_staff(roles.SALES))
    assert client.get("/counter/").status_code == 403
    assert client.get("/counter/tasks/").status_code == 200


def test_goodwill_from_the_counter_page_is_held_to_the_role_limit(client, make_staff, make_customer, store):
    member = make_customer(name="Zhou Min", phone="13900003333")
    client.force_login(make_staff(roles.STORE_STAFF, store=store))
    token = services.visit_token(member.pk)
    page: Any = client.post(
        f"/counter/m/{token}/goodwill/", {"points": "99999", "reason": "等太久", "key": "a"}, follow=True
    )
    assert page.status_code == 200 and "500" in page.content.decode()  # "at most 500 points in one grant"
    client.post(f"/counter/m/{token}/goodwill/", {"points": "50", "reason": "等太久", "key": "b"})
    assert list(GoodwillGrant.objects.values_list("points", "context")) == [(50, "counter")]
    assert client.get(f"/counter/m/{token}/").status_code == 200
    assert client.get("/counter/m/forged/", follow=True).redirect_chain[-1][0] == "/counter/"
