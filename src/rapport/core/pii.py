"""Personal data: encryption at rest, blind indexes, normalisation and masking.

Every phone, email, address line and ID number passes through here. Values are encrypted
with Fernet (AES-128-CBC + HMAC) under a key ring whose first key encrypts and whose others
still decrypt, so keys can be rotated. Exact search and de-duplication use a keyed HMAC
("blind index") of the normalised value, which reveals nothing without the index key.
Revealing plaintext to a person is done by :func:`rapport.audit.services.record_reveal`
callers; this module never logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import orjson
import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

PHONE = "phone"
EMAIL = "email"
ID_NUMBER = "id_number"
PLACE = "place"
PHONE_TAIL = "phone_tail"
PHONE_TAIL_DIGITS = 4
IDENTITY = "identity"


@lru_cache(maxsize=4)
def _key_ring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def key_ring() -> MultiFernet:
    return _key_ring(tuple(settings.RAPPORT_ENCRYPTION_KEYS))


def encrypt(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    return key_ring().encrypt(value.encode()).decode()


def encrypt_many(values: Sequence[str | None]) -> list[str | None]:
    """:func:`encrypt` of each value, about three times faster for the thousands of a bulk import.

    The tokens are ordinary Fernet tokens under the primary key (version, time, a fresh random IV
    each, AES-128-CBC, HMAC-SHA256), made without building a cipher per value: one CBC encryptor
    runs through the batch, and each value's first block is whitened so that the encryptor's
    chaining yields exactly ``AES(block XOR its own IV)``, as a cipher started on that IV would.
    """
    if not values:
        return []
    key = base64.urlsafe_b64decode(settings.RAPPORT_ENCRYPTION_KEYS[0])
    signing, encryption = key[:16], key[16:]
    head = b"\x80" + int(time.time()).to_bytes(8, "big")
    ivs = os.urandom(16 * len(values))
    encryptor = Cipher(algorithms.AES(encryption), modes.CBC(ivs[:16])).encryptor()
    chained = int.from_bytes(ivs[:16], "big")  # the ciphertext block the encryptor chains from
    tokens: list[str | None] = []
    for number, value in enumerate(values):
        if value is None or value == "":
            tokens.append(value)
            continue
        data = value.encode()
        pad = 16 - len(data) % 16
        data += bytes((pad,)) * pad
        iv = ivs[16 * number : 16 * number + 16]
        first = int.from_bytes(data[:16], "big") ^ int.from_bytes(iv, "big") ^ chained
        ciphertext = encryptor.update(first.to_bytes(16, "big") + data[16:])
        chained = int.from_bytes(ciphertext[-16:], "big")
        basic = head + iv + ciphertext
        tokens.append(base64.urlsafe_b64encode(basic + hmac.digest(signing, basic, "sha256")).decode())
    return tokens


def decrypt(token: str | None) -> str | None:
    if token is None or token == "":
        return token
    try:
        return key_ring().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key ring: fail loudly, never show ciphertext
        raise RuntimeError("personal data cannot be decrypted with the configured keys") from exc


def encrypt_bytes(data: bytes) -> bytes:
    return key_ring().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return key_ring().decrypt(token)
    except InvalidToken as exc:
        raise RuntimeError("personal data cannot be decrypted with the configured keys") from exc


def rotate(token: str | None) -> str | None:
    """Re-encrypt a token under the current primary key."""
    if not token:
        return token
    return key_ring().rotate(token.encode()).decode()


def blind_index(kind: str, normalised: str | None) -> str | None:
    """Keyed HMAC-SHA256 of a normalised value; ``kind`` keeps phone and email spaces apart."""
    if not normalised:
        return None
    return _keyed_hmac(settings.RAPPORT_BLIND_INDEX_KEY, f"{kind}:{normalised}")


@lru_cache(maxsize=4)
def _hmac_of_key(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def _keyed_hmac(key: str, message: str) -> str:
    """HMAC-SHA256 (hex) of ``message`` under ``key``, from a copy of the key's prepared HMAC: the
    same digest as ``hmac.new(key, message, sha256)`` for a third less CPU (an import computes
    two or three blind indexes a customer)."""
    keyed = _hmac_of_key(key).copy()
    keyed.update(message.encode())
    return keyed.hexdigest()


# Searchable encrypted text (ticket subjects): blind tokens of its words. A Latin word gives one
# token for each of its prefixes (2 to WORD_PREFIX_MAX characters: "ref" finds "refund"); a run of
# Chinese, Japanese or Korean characters, which has no spaces, gives its characters and each pair
# of neighbours (a query of several characters must match all its pairs). Tokens are keyed HMACs
# cut to 16 hex digits, sorted and deduplicated, so the column holds no word and no word order.
WORD_PREFIX_MAX = 20
_WORDS = re.compile(r"[^\W_]+")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _search_terms(text: str, *, query: bool) -> set[str]:
    terms: set[str] = set()
    for word in _WORDS.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK.search(word):
            pairs = {word[i : i + 2] for i in range(len(word) - 1)}
            terms |= pairs if query and pairs else pairs | set(word)
        elif query:
            terms.add(word[:WORD_PREFIX_MAX])
        else:
            terms |= {word[:n] for n in range(min(2, len(word)), min(len(word), WORD_PREFIX_MAX) + 1)}
    return terms


def _search_token(term: str) -> str:
    return (blind_index("words", term) or "")[:16]


def search_tokens(text: str | None) -> str:
    """The blind tokens a text is found by, as stored: `` t1 t2 … `` (empty text: "")."""
    tokens = sorted({_search_token(term) for term in _search_terms(text or "", query=False)})
    return f" {' '.join(tokens)} " if tokens else ""


def search_query_tokens(query: str) -> list[str]:
    """What a search for ``query`` must find in :func:`search_tokens`: every one of these (as
    `` token `` with its spaces); no tokens when the query has no word."""
    return sorted(f" {_search_token(term)} " for term in _search_terms(query, query=True))


_CN_MOBILE_SAMPLES = ("000000", "999999", "123456", "987654", "505050")
_cn_mobile_prefix_valid: dict[str, bool] = {}


def _fast_cn_mobile(text: str) -> str | None:
    """The fast path of :func:`normalise_phone` for the common case, a bare mainland mobile number
    (11 digits from 1): E.164 when its first five digits are ones the full rule accepts whatever
    follows, None to take the full rule. Which prefixes those are is asked of the full rule itself,
    once per prefix, so the two cannot disagree (a property test checks it on random numbers)."""
    if len(text) != 11 or text[0] != "1" or not (text.isascii() and text.isdigit()):
        return None
    prefix = text[:5]
    valid = _cn_mobile_prefix_valid.get(prefix)
    if valid is None:
        valid = all(_accepted_as_is(prefix + sample) for sample in _CN_MOBILE_SAMPLES)
        _cn_mobile_prefix_valid[prefix] = valid
    return "+86" + text if valid else None


def _accepted_as_is(national: str) -> bool:
    try:
        return _normalise_phone_fully(national, region="CN") == "+86" + national
    except ValidationError:
        return False


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """Parse a phone number into E.164; raise ``ValidationError`` when it is not a real number."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    if (region or settings.RAPPORT_PHONE_REGION) == "CN":
        fast = _fast_cn_mobile(text)
        if fast is not None:
            return fast
    return _normalise_phone_fully(text, region=region)


def _normalise_phone_fully(text: str, *, region: str | None = None) -> str:
    """The rule: what libphonenumber (Google's metadata) parses and calls valid, as E.164."""
    try:
        number = phonenumbers.parse(text, region or settings.RAPPORT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(value)s” is not a phone number."), code="invalid", params={"value": text}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(value)s” is not a valid phone number."), code="invalid", params={"value": text})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter an email address."), code="required")
    try:
        validate_email(text)
    except ValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid email address."), code="invalid", params={"value": text}
        ) from exc
    local, _sep, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_index_key(normalised: str) -> str:
    """Emails match case-insensitively for de-duplication, though they are stored as given."""
    return normalised.lower()


def normalise_id_number(raw: str) -> str:
    text = "".join((raw or "").split()).upper()
    if not text:
        raise ValidationError(_("Enter an ID number."), code="required")
    if len(text) > 32 or not text.isalnum():
        raise ValidationError(_("An ID number has at most 32 letters and digits."), code="invalid")
    return text


def identity_index(channel: str, external_id: str) -> str:
    """The blind index of a channel identity, as given (ids are matched exactly, as shops send them):
    how every look-up finds an identity, and what an erased one leaves behind as its tombstone."""
    key = settings.RAPPORT_BLIND_INDEX_KEY.encode()
    return hmac.new(key, f"{IDENTITY}:{channel}:{external_id}".encode(), hashlib.sha256).hexdigest()


def looks_personal(value: str) -> bool:
    """Whether an id is an email address or a phone number (a shop that knows its buyers by them)."""
    text = (value or "").strip()
    return "@" in text or search_index_for_phone(text) is not None


def phone_index(e164: str | None) -> str | None:
    return blind_index(PHONE, e164)


def phone_tail_index(e164: str | None) -> str | None:
    """Blind index of a phone's last four digits: what a customer says at a counter ("the number
    ending 1057"). Many customers share one; it finds them without decrypting any phone."""
    digits = "".join(c for c in e164 or "" if c.isdigit())
    if len(digits) < PHONE_TAIL_DIGITS:
        return None
    return _tail_index(settings.RAPPORT_BLIND_INDEX_KEY, digits[-PHONE_TAIL_DIGITS:])


@lru_cache(maxsize=1 << 14)
def _tail_index(key: str, tail: str) -> str:
    """A tail's blind index, remembered: there are at most 10,000 tails of four digits (under a
    key), and a customer import computes one a row."""
    return _keyed_hmac(key, f"{PHONE_TAIL}:{tail}")


def email_index(email: str | None) -> str | None:
    return blind_index(EMAIL, email_index_key(email)) if email else None


def id_number_index(value: str | None) -> str | None:
    return blind_index(ID_NUMBER, value)


def comparable_words(text: str) -> list[str]:
    """The words of a text with width, case, spacing and punctuation gone: what two spellings of
    one name or one address line have in common."""
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def place_index(city: str, district: str, line1: str) -> str | None:
    """One delivery place, searchable without decrypting: "88 Renmin Rd." and "88 renmin rd" are
    one place; ``None`` without a first line."""
    words = [comparable_words(part) for part in (city, district, line1)]
    if not words[2]:
        return None
    return blind_index(PLACE, "|".join("".join(part) for part in words))


def search_index_for_phone(raw: str) -> str | None:
    """Blind index of a phone typed into a search box, or None when it is not a phone."""
    try:
        return phone_index(normalise_phone(raw))
    except ValidationError:
        return None


def search_index_for_phone_tail(raw: str) -> str | None:
    """Blind index of the last four digits of a phone typed into a search box, or None."""
    text = (raw or "").strip()
    if len(text) != PHONE_TAIL_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return blind_index(PHONE_TAIL, text)


def search_index_for_email(raw: str) -> str | None:
    if "@" not in (raw or ""):
        return None
    try:
        return email_index(normalise_email(raw))
    except ValidationError:
        return None


def mask_phone(e164: str | None) -> str:
    """``+8613812345678`` → ``138****5678``; foreign numbers keep their country code."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
        national = str(number.national_number)
        prefix = (
            ""
            if number.country_code == phonenumbers.country_code_for_region(settings.RAPPORT_PHONE_REGION)
            else f"+{number.country_code} "
        )
    except phonenumbers.NumberParseException:
        national, prefix = e164, ""
    if len(national) <= 7:
        return prefix + national[:2] + "*" * max(len(national) - 4, 1) + national[-2:]
    return f"{prefix}{national[:3]}****{national[-4:]}"


def mask_email(email: str | None) -> str:
    """``zhang.wei@example.com`` → ``z***@example.com``."""
    if not email:
        return ""
    local, _sep, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


def mask_text(value: str | None, *, keep_start: int = 3, keep_end: int = 0) -> str:
    """Address lines and ID numbers: a few leading characters, then stars."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "****"
    end = value[-keep_end:] if keep_end else ""
    return f"{value[:keep_start]}****{end}"


def mask_id_number(value: str | None) -> str:
    return mask_text(value, keep_start=3, keep_end=4)


# Personal values inside JSON objects (event properties and traits) are stored sealed: the value
# encrypted, and beside it a blind index for equality filters. The ``$`` keeps both apart from a
# client's own keys.
SEALED = "$pii"
SEALED_INDEX = "$index"


def seal(value: object, index: str | None) -> dict[str, str | None]:
    """A JSON value as ``{"$pii": token, "$index": blind index or None}``."""
    return {SEALED: encrypt(orjson.dumps(value).decode()), SEALED_INDEX: index}


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and SEALED in value


def unseal(value: object) -> object:
    """The value a :func:`seal` holds (None once it was sealed with an erased customer's own key,
    see :func:`rapport.core.shredding.reseal`); anything else unchanged."""
    if not is_sealed(value):
        return value
    assert isinstance(value, dict)
    token = value[SEALED]
    if isinstance(token, str) and token.startswith(("ck1:", "ck2:")):  # a customer's own key (shredding)
        from rapport.core import shredding

        return orjson.loads(shredding.open_sealed(token) or "null")
    return orjson.loads(decrypt(token) or "null")
