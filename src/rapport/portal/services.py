"""Member sign-in with a one-time code sent by SMS or email.

A code is six digits, stored as a keyed hash, valid for ``RAPPORT_PORTAL_CODE_MINUTES`` and for
``RAPPORT_PORTAL_CODE_ATTEMPTS`` wrong guesses. Requests are rate-limited per address and per
client IP. The answer on screen is the same whether or not the address belongs to a member.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.campaigns.delivery import send_transactional
from rapport.core import pii
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer, MemberStatus
from rapport.portal.auth import keyed_hash
from rapport.portal.models import SignInCode

RATE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Address:
    channel: str  # "sms" or "email"
    normalised: str
    blind_index: str | None


def parse_address(raw: str) -> Address:
    """A phone number or an email typed by the member, normalised; InvalidInput when neither."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput.single("identifier", "required", _("Enter your phone number or email."))
    try:
        if "@" in text:
            email = pii.normalise_email(text)
            return Address("email", pii.email_index_key(email), pii.email_index(email))
        phone = pii.normalise_phone(text)
        return Address("sms", phone, pii.phone_index(phone))
    except ValidationError as exc:
        raise InvalidInput.single("identifier", "invalid", _("Enter a valid phone number or email.")) from exc


def _find_member(address: Address) -> Customer | None:
    field = "email_index" if address.channel == "email" else "phone_index"
    lookup = {field: address.blind_index}
    return Customer.objects.filter(**lookup).exclude(member_status=MemberStatus.BLOCKED).first()


def request_code(raw_identifier: str, *, client_ip: str | None) -> SignInCode:
    """Send a code to the member with this phone or email; the row is the challenge to verify."""
    address = parse_address(raw_identifier)
    now = timezone.now()
    identifier_hash = keyed_hash("address", f"{address.channel}:{address.normalised}")
    recent = SignInCode.objects.filter(created_at__gt=now - RATE_WINDOW)
    too_many = recent.filter(identifier_hash=identifier_hash).count() >= settings.RAPPORT_PORTAL_CODES_PER_ADDRESS
    if not too_many and client_ip:
        too_many = recent.filter(client_ip=client_ip).count() >= settings.RAPPORT_PORTAL_CODES_PER_IP
    if too_many:
        raise InvalidInput.single(
            "identifier", "rate_limited", _("Too many codes were asked for. Wait a few minutes and try again.")
        )
    member = _find_member(address)
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        challenge = SignInCode.objects.create(
            customer=member,
            identifier_hash=identifier_hash,
            channel=address.channel,
            code_hash="",
            client_ip=client_ip,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.RAPPORT_PORTAL_CODE_MINUTES),
        )
        challenge.code_hash = keyed_hash("code", f"{challenge.pk}:{code}")
        challenge.save(update_fields=["code_hash"])
    if member is not None:
        minutes = settings.RAPPORT_PORTAL_CODE_MINUTES
        send_transactional(
            member,
            channel=address.channel,
            purpose="service",
            subject=_("Your sign-in code"),
            body=_("Your sign-in code is %(code)s. It is valid for %(minutes)s minutes. Do not share it.")
            % {"code": code, "minutes": minutes},
            to=address.normalised if address.channel == "sms" else "",
            reference=f"portal-sign-in-{challenge.pk}",
        )
    return challenge


def verify_code(challenge_id: int, code: str) -> Customer:
    """The member a correct, unused, unexpired code signs in; each wrong guess uses an attempt."""
    wrong = InvalidInput.single("code", "invalid", _("That code is not right, or it has expired. Ask for a new one."))
    code = (code or "").strip()
    with transaction.atomic():
        challenge = SignInCode.objects.select_for_update().filter(pk=challenge_id).first()
        now = timezone.now()
        if (
            challenge is None
            or challenge.used_at is not None
            or challenge.expires_at <= now
            or challenge.attempts >= settings.RAPPORT_PORTAL_CODE_ATTEMPTS
        ):
            raise wrong
        if challenge.customer_id is None or not secrets.compare_digest(
            challenge.code_hash, keyed_hash("code", f"{challenge.pk}:{code}")
        ):
            # The attempt is counted in this committed transaction; the error is raised after it.
            SignInCode.objects.filter(pk=challenge.pk).update(attempts=challenge.attempts + 1)
            failed = True
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            failed = False
    if failed:
        raise wrong
    assert challenge.customer is not None
    return challenge.customer
