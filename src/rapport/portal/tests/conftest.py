"""Portal test fixtures: capture the sign-in codes that would be sent to members."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from rapport.customers.models import Customer


@pytest.fixture
def sent_codes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Codes sent by the portal, newest last, instead of going to the server log."""
    codes: list[str] = []

    def capture(customer: Customer, **kwargs: Any) -> None:
        codes.append(re.search(r"\b(\d{6})\b", kwargs["body"]).group(1))  # type: ignore[union-attr]

    monkeypatch.setattr("rapport.portal.services.send_transactional", capture)
    return codes


@pytest.fixture
def member_client(client: Client, sent_codes: list[str]) -> Callable[[Customer], Client]:
    """A test client signed in to the portal as the given member, through the real code flow."""

    def sign_in(customer: Customer) -> Client:
        response = client.post("/portal/sign-in/", {"identifier": customer.phone or customer.email})
        verify_url = response["Location"]
        challenge = verify_url.split("challenge=")[1].split("&")[0]
        from urllib.parse import unquote

        client.post(verify_url, {"challenge": unquote(challenge), "code": sent_codes[-1]})
        return client

    return sign_in
