from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer
from rapport.portal import services
from rapport.portal.auth import COOKIE_NAME
from rapport.portal.models import MemberSession, SignInCode


@pytest.fixture
def member(make_customer: Callable[..., Customer]) -> Customer:
    return make_customer(name="Li Na", phone="13812345678", email="li.na@example.com")


def test_code_sent_to_phone_signs_the_member_in(member: Customer, sent_codes: list[str]) -> None:
    challenge = services.request_code("138 1234 5678", client_ip="10.0.0.1")
    assert challenge.channel == "sms" and len(sent_codes) == 1
    assert sent_codes[0] not in challenge.code_hash
    assert services.verify_code(challenge.pk, sent_codes[0]) == member


def test_code_works_once(member: Customer, sent_codes: list[str]) -> None:
    challenge = services.request_code("LI.NA@example.com", client_ip=None)
    services.verify_code(challenge.pk, sent_codes[0])
    with pytest.raises(InvalidInput):
        services.verify_code(challenge.pk, sent_codes[0])


def test_expired_code_is_refused(member: Customer, sent_codes: list[str]) -> None:
    challenge = services.request_code("13812345678", client_ip=None)
    SignInCode.objects.filter(pk=challenge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        services.verify_code(challenge.pk, sent_codes[0])


def test_wrong_guesses_are_counted_and_lock_the_code(member: Customer, sent_codes: list[str], settings: Any) -> None:
    challenge = services.request_code("13812345678", client_ip=None)
    wrong = "000000" if sent_codes[0] != "000000" else "111111"
    for _ in range(settings.RAPPORT_PORTAL_CODE_ATTEMPTS):
        with pytest.raises(InvalidInput):
            services.verify_code(challenge.pk, wrong)
    assert SignInCode.objects.get(pk=challenge.pk).attempts == settings.RAPPORT_PORTAL_CODE_ATTEMPTS
    with pytest.raises(InvalidInput):
        services.verify_code(challenge.pk, sent_codes[0])


def test_unknown_address_gets_a_challenge_but_no_message(db: Any, sent_codes: list[str]) -> None:
    challenge = services.request_code("13900001111", client_ip=None)
    assert challenge.customer_id is None and sent_codes == []
    with pytest.raises(InvalidInput):
        services.verify_code(challenge.pk, "123456")


def test_requests_are_rate_limited_per_address(member: Customer, sent_codes: list[str], settings: Any) -> None:
    for _ in range(settings.RAPPORT_PORTAL_CODES_PER_ADDRESS):
        services.request_code("13812345678", client_ip=None)
    with pytest.raises(InvalidInput) as caught:
        services.request_code("13812345678", client_ip=None)
    assert caught.value.errors[0].code == "rate_limited"


def test_bad_identifier_names_the_field(db: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.request_code("not a phone", client_ip=None)
    assert caught.value.errors[0].field == "identifier"
    assert not SignInCode.objects.exists()


def test_portal_pages_need_a_member_session(client: Client, member: Customer) -> None:
    response = client.get("/portal/")
    assert response.status_code == 302 and response["Location"].startswith("/portal/sign-in/?next=")


def test_sign_in_and_out_through_the_pages(
    member: Customer, member_client: Callable[[Customer], Client], admin_user: Any
) -> None:
    client = member_client(member)
    page = client.get("/portal/")
    assert page.status_code == 200 and "Li Na" in page.content.decode()
    assert client.session.get("_auth_user_id") is None  # the member is not a staff login
    client.post("/portal/sign-out/")
    assert MemberSession.objects.get(customer=member).ended_at is not None
    assert client.get("/portal/").status_code == 302


def test_staff_login_does_not_open_the_portal(client: Client, member: Customer, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/portal/").status_code == 302
    client.cookies[COOKIE_NAME] = "forged"
    assert client.get("/portal/").status_code == 302
