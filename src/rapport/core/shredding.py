"""Crypto-shredding: values about one customer encrypted with that customer's own data key.

History that is append-only by design (change records, audit entries) cannot be rewritten at
erasure without losing what it is for. Instead, personal values in it are sealed with a key that
belongs to the customer (:class:`~rapport.core.models.SubjectKey`, itself encrypted under the
key ring); erasure deletes the key (:func:`shred`) and every copy sealed with it, in the
database or in a later backup, becomes unreadable at once. A sealed value is text:
``ck1:<customer id>:<Fernet token>``; one that can no longer be opened reads as ``""``.

Keys are cached per process for ``CACHE_SECONDS`` once the transaction that read (or created) them
has committed; :func:`shred` clears this process's cache, and another process stops reading a
shredded customer's values within that time.
"""

from __future__ import annotations

import time

from cryptography.fernet import Fernet, InvalidToken
from django.db import IntegrityError, transaction

from rapport.core import pii
from rapport.core.models import SubjectKey

PREFIX = "ck1:"
CACHE_SECONDS = 30.0
_cache: dict[int, tuple[float, Fernet | None]] = {}


def _key(subject_id: int, *, create: bool) -> Fernet | None:
    cached = _cache.get(subject_id)
    if cached is not None and cached[0] > time.monotonic() and (cached[1] is not None or not create):
        return cached[1]
    row = SubjectKey.objects.filter(subject_id=subject_id).first()
    if row is None and create:
        try:
            with transaction.atomic():
                row = SubjectKey.objects.create(
                    subject_id=subject_id, wrapped_key=pii.encrypt(Fernet.generate_key().decode()) or ""
                )
        except IntegrityError:  # created meanwhile by another writer
            row = SubjectKey.objects.get(subject_id=subject_id)
    key = Fernet((pii.decrypt(row.wrapped_key) or "").encode()) if row is not None else None
    # cached once committed: a key created by a transaction that rolls back must not be used later
    transaction.on_commit(lambda: _cache.__setitem__(subject_id, (time.monotonic() + CACHE_SECONDS, key)))
    return key


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(subject_id: int, text: str) -> str:
    """``text`` sealed with the customer's key (created on first use); ``""`` stays ``""``."""
    if not text or is_sealed(text):
        return text
    key = _key(subject_id, create=True)
    assert key is not None
    return f"{PREFIX}{subject_id}:{key.encrypt(text.encode()).decode()}"


def open_sealed(value: str | None) -> str | None:
    """The text a sealed value holds, ``""`` once its customer's key is shredded; plain text as it is."""
    if not is_sealed(value):
        return value
    assert value is not None
    subject, _sep, token = value[len(PREFIX) :].partition(":")
    key = _key(int(subject), create=False)
    if key is None:
        return ""
    try:
        return key.decrypt(token.encode()).decode()
    except InvalidToken:  # sealed under a key since shredded (the customer was erased, then came back)
        return ""


def shred(subject_ids: list[int]) -> int:
    """Delete these customers' keys: what was sealed with them is unreadable from now on."""
    deleted, _ = SubjectKey.objects.filter(subject_id__in=subject_ids).delete()
    for subject_id in subject_ids:
        _cache.pop(subject_id, None)
    return deleted
