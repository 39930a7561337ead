"""Crypto-shredding: values about one customer encrypted with that customer's own data key.

History that is append-only by design (change records, audit entries) cannot be rewritten at
erasure without losing what it is for. Instead, personal values in it are sealed with a key that
belongs to the customer (:class:`~rapport.core.models.SubjectKey`, itself encrypted under the
key ring); erasure deletes the key (:func:`shred`) and every copy sealed with it, in the
database or in a later backup, becomes unreadable at once. A sealed value is text:
``ck1:<customer id>:<Fernet token>``; one that can no longer be opened reads as ``""``.
Personal values of events, on the ingestion hot path, use AES-GCM under the same key instead
(``ck2:<customer id>:<base64 of nonce + ciphertext>``), about ten times cheaper than Fernet.

Keys are cached per process for ``CACHE_SECONDS`` once the transaction that read (or created) them
has committed, at most ``CACHE_SIZE`` of them (the oldest cached go first); :func:`shred` clears
this process's cache, and another process stops reading a shredded customer's values within that time.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from rapport.core import pii
from rapport.core.models import SubjectKey

PREFIX = "ck1:"
PREFIX_FAST = "ck2:"
CACHE_SECONDS = 30.0
# A bulk writer makes a key for every customer it creates (an import of a million customers, a
# million keys): kept all, they were 2.7 GB of that import's memory, and a cached key is only
# worth keeping while its customer's values are still being written or read.
CACHE_SIZE = 10_000


class SubjectCipher:
    """One customer's key, ready for both forms of sealed value."""

    __slots__ = ("_aead", "_fernet", "_key")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._fernet: Fernet | None = None
        self._aead: AESGCM | None = None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:  # built when first needed: the event path uses only AES-GCM
            self._fernet = Fernet(self._key)
        return self._fernet

    @property
    def aead(self) -> AESGCM:
        if self._aead is None:  # and the import's change records and identities only Fernet
            self._aead = AESGCM(base64.urlsafe_b64decode(self._key))
        return self._aead

    def seal_fast(self, subject_id: int, text: str) -> str:
        nonce = os.urandom(12)
        sealed = base64.urlsafe_b64encode(nonce + self.aead.encrypt(nonce, text.encode(), None)).decode()
        return f"{PREFIX_FAST}{subject_id}:{sealed}"

    def open(self, value: str) -> str:
        token = value[len(PREFIX) :].partition(":")[2]
        if value.startswith(PREFIX_FAST):
            raw = base64.urlsafe_b64decode(token)
            return self.aead.decrypt(raw[:12], raw[12:], None).decode()
        return self.fernet.decrypt(token.encode()).decode()


_cache: dict[int, tuple[float, SubjectCipher | None]] = {}
_cache_lock = threading.Lock()


def _remember(keys: dict[int, SubjectCipher | None]) -> None:
    """Cache these keys for ``CACHE_SECONDS``, dropping the oldest cached beyond ``CACHE_SIZE``."""
    until = time.monotonic() + CACHE_SECONDS
    with _cache_lock:
        for subject_id, key in keys.items():
            _cache.pop(subject_id, None)  # to the end: the most recently cached go last
            _cache[subject_id] = (until, key)
        excess = len(_cache) - CACHE_SIZE
        if excess > 0:
            for subject_id in list(itertools.islice(_cache, excess)):
                del _cache[subject_id]


def _key(subject_id: int, *, create: bool) -> SubjectCipher | None:
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
    key = SubjectCipher((pii.decrypt(row.wrapped_key) or "").encode()) if row is not None else None
    # cached once committed: a key created by a transaction that rolls back must not be used later
    transaction.on_commit(lambda: _remember({subject_id: key}))
    return key


def _remember_on_commit(keys: dict[int, SubjectCipher]) -> None:
    transaction.on_commit(lambda: _remember(dict(keys)))


_TABLE = SubjectKey._meta.db_table


def _stored_keys(subject_ids: set[int]) -> dict[int, str]:
    if connection.vendor != "postgresql":
        return dict(SubjectKey.objects.filter(subject_id__in=subject_ids).values_list("subject_id", "wrapped_key"))
    with connection.cursor() as cursor:  # one array parameter: no SQL compiled per id (a hot path)
        cursor.execute(f"SELECT subject_id, wrapped_key FROM {_TABLE} WHERE subject_id = ANY(%s)", [list(subject_ids)])  # noqa: S608
        return dict(cursor.fetchall())


def _insert_keys(wrapped: dict[int, str]) -> set[int]:
    """Insert these wrapped keys where no key exists yet; the ids inserted (others lost a race)."""
    if connection.vendor != "postgresql":
        SubjectKey.objects.bulk_create(
            [SubjectKey(subject_id=subject_id, wrapped_key=text) for subject_id, text in wrapped.items()],
            ignore_conflicts=True,
        )
        return {k for k, v in _stored_keys(set(wrapped)).items() if wrapped[k] == v}
    with connection.cursor() as cursor:
        # the application's clock, as ``auto_now_add`` on SQLite (not the database's ``now()``)
        cursor.execute(
            f"INSERT INTO {_TABLE} (subject_id, wrapped_key, created_at) "
            "SELECT unnest(%s::bigint[]), unnest(%s::text[]), %s ON CONFLICT (subject_id) DO NOTHING "
            "RETURNING subject_id",
            [list(wrapped), list(wrapped.values()), timezone.now()],  # the application's clock, as the ORM's
        )
        return {row[0] for row in cursor.fetchall()}


def keys_for(subject_ids: Iterable[int]) -> dict[int, SubjectCipher]:
    """The keys of many customers at once, created where missing: one read, one insert and one
    read again for whatever another writer created meanwhile (bulk writers: imports, events)."""
    wanted = set(subject_ids)
    now = time.monotonic()
    keys: dict[int, SubjectCipher] = {}
    for subject_id in wanted:
        cached = _cache.get(subject_id)
        if cached is not None and cached[0] > now and cached[1] is not None:
            keys[subject_id] = cached[1]
    missing = wanted - keys.keys()
    if not missing:
        return keys
    rows = _stored_keys(missing)
    generated = {subject_id: Fernet.generate_key() for subject_id in sorted(missing - rows.keys())}
    inserted: set[int] = set()
    if generated:
        wrapped = pii.encrypt_many([key.decode() for key in generated.values()])
        inserted = _insert_keys({subject_id: text or "" for subject_id, text in zip(generated, wrapped, strict=True)})
        if lost := set(generated) - inserted:  # another writer created these meanwhile: theirs count
            rows.update(_stored_keys(lost))
    found = {subject_id: SubjectCipher((pii.decrypt(text) or "").encode()) for subject_id, text in rows.items()}
    found.update({subject_id: SubjectCipher(generated[subject_id]) for subject_id in inserted})
    _remember_on_commit(found)
    return keys | found


def sealer(subject_ids: Iterable[int], *, fast: bool = False) -> Callable[[int, str], str]:
    """A :func:`seal` for a batch about these customers: their keys fetched (or created) together,
    then each value encrypted in memory (``fast``: the AES-GCM form, for event values)."""
    keys = keys_for(subject_ids)

    def seal_one(subject_id: int, text: str) -> str:
        if not text or is_sealed(text):
            return text
        key = keys[subject_id]
        if fast:
            return key.seal_fast(subject_id, text)
        return f"{PREFIX}{subject_id}:{key.fernet.encrypt(text.encode()).decode()}"

    return seal_one


def reseal(
    sealed: dict[str, str | None], subject_id: int, seal_one: Callable[[int, str], str], plain: object = None
) -> None:
    """Move a value :func:`rapport.core.pii.seal` sealed under the key ring to the customer's own
    key (in place; its blind index stays, so equality filters keep working). ``plain``, the value
    as received when the caller still has it, spares decrypting it."""
    token = sealed.get(pii.SEALED)
    if isinstance(token, str) and token and not is_sealed(token):
        text = orjson.dumps(plain).decode() if plain is not None else (pii.decrypt(token) or "")
        sealed[pii.SEALED] = seal_one(subject_id, text)


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith((PREFIX, PREFIX_FAST))


def seal(subject_id: int, text: str) -> str:
    """``text`` sealed with the customer's key (created on first use); ``""`` stays ``""``."""
    if not text or is_sealed(text):
        return text
    key = _key(subject_id, create=True)
    assert key is not None
    return f"{PREFIX}{subject_id}:{key.fernet.encrypt(text.encode()).decode()}"


def open_sealed(value: str | None) -> str | None:
    """The text a sealed value holds, ``""`` once its customer's key is shredded; plain text as it is."""
    if not is_sealed(value):
        return value
    assert value is not None
    key = _key(int(value[len(PREFIX) :].partition(":")[0]), create=False)
    if key is None:
        return ""
    try:
        return key.open(value)
    except (InvalidToken, InvalidTag):  # sealed under a key since shredded (erased, then came back)
        return ""


def forget_cached_keys() -> None:
    """Empty this process's key cache (tests: a rolled-back test's customer ids come back on SQLite,
    and a key cached for one would answer for another test's customer)."""
    _cache.clear()


def shred(subject_ids: list[int]) -> int:
    """Delete these customers' keys: what was sealed with them is unreadable from now on."""
    deleted, _ = SubjectKey.objects.filter(subject_id__in=subject_ids).delete()

    def forget() -> None:
        for subject_id in subject_ids:
            _cache.pop(subject_id, None)

    forget()
    # and again once the erasure commits: keys fetched earlier in its transaction are cached by
    # callbacks that run at that commit (:func:`_remember_on_commit`), before this one
    transaction.on_commit(forget)
    return deleted
