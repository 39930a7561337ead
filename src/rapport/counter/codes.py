"""Member codes: issue one for the portal, draw it as a barcode and a QR code, accept it once.

A code is ``CODE_LENGTH`` digits beginning with ``CODE_PREFIX`` (so the counter tells it from a
phone number or an old card number), valid ``RAPPORT_MEMBER_CODE_SECONDS`` after it is shown and
for one look-up. The portal page asks for a fresh one before the last runs out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import barcode
import qrcode
import qrcode.image.svg
from barcode.writer import SVGWriter
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput
from rapport.counter.models import MemberCode
from rapport.customers.models import Customer

CODE_PREFIX = "8"
CODE_LENGTH = 12


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime

    @property
    def qr_data_uri(self) -> str:
        image = qrcode.make(self.code, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
        return _data_uri(image.to_string())

    @property
    def barcode_data_uri(self) -> str:
        out = io.BytesIO()
        drawing = barcode.get("code128", self.code, writer=SVGWriter())
        drawing.write(out, options={"write_text": False, "module_height": 14.0, "quiet_zone": 3.0})
        return _data_uri(out.getvalue())


def _data_uri(svg: bytes | str) -> str:
    raw = svg.encode() if isinstance(svg, str) else svg
    return "data:image/svg+xml;base64," + base64.b64encode(raw).decode("ascii")


def code_hash(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"member-code:{code}".encode(), hashlib.sha256).hexdigest()


def looks_like_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and text.isdigit() and text.startswith(CODE_PREFIX)


def issue(customer: Customer) -> IssuedCode:
    """A new code for the member's screen (the older ones stay valid until they run out)."""
    now = timezone.now()
    expires = now + timedelta(seconds=settings.RAPPORT_MEMBER_CODE_SECONDS)
    while True:
        code = CODE_PREFIX + "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH - 1))
        created = MemberCode.objects.get_or_create(
            code_hash=code_hash(code),
            defaults={"customer": customer, "issued_at": now, "expires_at": expires},
        )[1]
        if created:
            return IssuedCode(code, expires)


@transaction.atomic
def accept(code: str, *, actor: Actor) -> Customer:
    """The member a code belongs to, once: an unknown, expired or used code is refused."""
    text = (code or "").strip()
    if not looks_like_code(text):
        raise InvalidInput.single("code", "invalid", _("A member code is %(n)s digits.") % {"n": CODE_LENGTH})
    found = MemberCode.objects.select_for_update().select_related("customer").filter(code_hash=code_hash(text)).first()
    if found is None:
        raise InvalidInput.single("code", "unknown", _("This member code is not known."))
    now = timezone.now()
    if found.expires_at <= now:
        raise Conflict.single("code", "expired", _("This member code has expired: ask for the current one."))
    if found.used_at is not None:
        raise Conflict.single("code", "used", _("This member code was already used: ask for the current one."))
    found.used_at = now
    found.used_by = actor.describe()[:150]
    found.save(update_fields=["used_at", "used_by"])
    return found.customer


def forget_expired(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete codes a day past their expiry: nothing refers to them (a portal page open all day
    asks for one a minute)."""
    deleted, _counts = MemberCode.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
