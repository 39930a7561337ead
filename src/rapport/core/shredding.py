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
from collections.abc import Callable, Iterable

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


def _remember_on_commit(keys: dict[int, Fernet]) -> None:
    def remember() -> None:
        until = time.monotonic() + CACHE_SECONDS
        _cache.update({subject_id: (until, key) for subject_id, key in keys.items()})

    transaction.on_commit(remember)


def keys_for(subject_ids: Iterable[int]) -> dict[int, Fernet]:
    """The keys of many customers at once, created where missing: one read, one insert and one
    read again for whatever another writer created meanwhile (bulk writers, such as imports)."""
    wanted = set(subject_ids)
    now = time.monotonic()
    keys: dict[int, Fernet] = {}
    for subject_id in wanted:
        cached = _cache.get(subject_id)
        if cached is not None and cached[0] > now and cached[1] is not None:
            keys[subject_id] = cached[1]
    missing = wanted - keys.keys()
    if not missing:
        return keys
    rows = dict(SubjectKey.objects.filter(subject_id__in=missing).values_list("subject_id", "wrapped_key"))
    new = [
        SubjectKey(subject_id=subject_id, wrapped_key=pii.encrypt(Fernet.generate_key().decode()) or "")
        for subject_id in sorted(missing - rows.keys())
    ]
    if new:
        SubjectKey.objects.bulk_create(new, ignore_conflicts=True)
        created = SubjectKey.objects.filter(subject_id__in=[row.subject_id for row in new])
        rows.update(created.values_list("subject_id", "wrapped_key"))
    found = {subject_id: Fernet((pii.decrypt(wrapped) or "").encode()) for subject_id, wrapped in rows.items()}
    _remember_on_commit(found)
    return keys | found


def sealer(subject_ids: Iterable[int]) -> Callable[[int, str], str]:
    """A :func:`seal` for a batch about these customers: their keys fetched (or created) together,
    then each value encrypted in memory."""
    keys = keys_for(subject_ids)

    def seal_one(subject_id: int, text: str) -> str:
        if not text or is_sealed(text):
            return text
        return f"{PREFIX}{subject_id}:{keys[subject_id].encrypt(text.encode()).decode()}"

    return seal_one


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
