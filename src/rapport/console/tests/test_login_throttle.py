"""Sign-in throttling per account and per address, and a page that says when to try again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts import roles
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def analyst(make_staff):
    return make_staff(roles.ANALYST, username="analyst")


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, analyst, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert attempt(client, "analyst", "wrong").status_code == 200
    assert attempt(client, "analyst", "wrong").status_code == 429  # the third failure locks
    locked = attempt(client, "analyst", STAFF_PASSWORD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session
    page = locked.content.decode()
    assert 'id="login-locked"' in page and "Too many failed sign-ins" in page
    until = (timezone.now() + dt.timedelta(minutes=15)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"{until:%H:%M}" in page or f"{until - dt.timedelta(minutes=1):%H:%M}" in page  # Asia/Shanghai
    # from another address the account is still locked
    assert attempt(client, "analyst", STAFF_PASSWORD, address="10.0.0.2").status_code == 429


def test_the_lock_ends_after_the_cool_off(client, analyst, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        attempt(client, "analyst", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    response = attempt(client, "analyst", STAFF_PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(analyst.pk)


def test_one_address_guessing_many_accounts_is_locked(client, make_staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for name in ("a1", "a2", "a3"):
        make_staff(roles.OPERATOR, username=name)
        attempt(client, name, "wrong", address="10.9.9.9")
    make_staff(roles.OPERATOR, username="fresh")
    assert attempt(client, "fresh", STAFF_PASSWORD, address="10.9.9.9").status_code == 429
    assert attempt(Client(), "fresh", STAFF_PASSWORD, address="10.1.1.1").status_code == 302


def test_a_success_clears_the_count(client, analyst, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attempt(client, "analyst", "wrong")
    attempt(client, "analyst", "wrong")
    assert attempt(client, "analyst", STAFF_PASSWORD).status_code == 302
    client.logout()
    attempt(client, "analyst", "wrong")
    attempt(client, "analyst", "wrong")
    assert attempt(client, "analyst", STAFF_PASSWORD).status_code == 302


def test_the_lockout_message_is_translated(client, analyst, settings):
    settings.AXES_FAILURE_LIMIT = 1
    attempt(client, "analyst", "wrong")
    response = client.post(
        "/login/",
        {"username": "analyst", "password": "x"},
        REMOTE_ADDR="10.0.0.1",
        headers={"accept-language": "zh-hans"},
    )
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()
