"""Keys you cannot lose by accident: a canary that proves the configured keys read this database.

The personal-data keys live outside the database (environment or the data folder). Start the
server with a fresh data folder against a restored database and, before this module, new keys
were generated silently and every customer page failed. Now the database holds a canary, a known
value encrypted and blind-indexed with the keys in use; the web server, ``rapport run`` and
Celery workers check it on start and refuse, naming the setting to fix, when the keys cannot read
it. ``migrate`` does not check, so a database can always be brought up to date.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction

from rapport.core.fields import EncryptedTextField

CANARY_PLAINTEXT = "rapport key canary v1"
CANARY_INDEX_KIND = "canary"


class KeysDoNotMatch(ImproperlyConfigured):
    """The configured keys cannot read the personal data this database holds."""


@dataclass(frozen=True)
class KeySet:
    encryption_keys: tuple[str, ...]
    blind_index_key: str

    @classmethod
    def configured(cls) -> KeySet:
        return cls(tuple(settings.RAPPORT_ENCRYPTION_KEYS), settings.RAPPORT_BLIND_INDEX_KEY)

    def ring(self) -> MultiFernet:
        return MultiFernet([Fernet(key.encode()) for key in self.encryption_keys])

    def canary_index(self) -> str:
        message = f"{CANARY_INDEX_KIND}:{CANARY_PLAINTEXT}".encode()
        return hmac.new(self.blind_index_key.encode(), message, hashlib.sha256).hexdigest()


def fingerprint(key: str) -> str:
    """A short, one-way name for a key, safe to print and to store beside the data."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted personal-data field, found from the models."""
    return [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _sample_ciphertext() -> str | None:
    """One stored ciphertext, read raw (the field would decrypt it), or None when there is none."""
    quote = connection.ops.quote_name
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table, column in _encrypted_columns():
            if table not in existing:
                continue
            cursor.execute(
                f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> '' LIMIT 1"  # noqa: S608
            )
            row = cursor.fetchone()
            if row and row[0]:
                return str(row[0])
    return None


def _refusal(keys: KeySet, *, stored_fingerprint: str) -> KeysDoNotMatch:
    configured = ", ".join(fingerprint(key) for key in keys.encryption_keys)
    return KeysDoNotMatch(
        "The personal-data keys do not match this database: none of the keys in RAPPORT_ENCRYPTION_KEYS "
        f"(fingerprints {configured}) decrypts its key canary, which was written with the key whose "
        f"fingerprint is {stored_fingerprint}. Set RAPPORT_ENCRYPTION_KEYS (and RAPPORT_BLIND_INDEX_KEY) "
        "to the keys this database was written with, or restore them with `rapport restore`; "
        "refusing to start rather than serve data that cannot be read."
    )


def ensure_keys_match_database(keys: KeySet | None = None) -> None:
    """Raise :class:`KeysDoNotMatch` when ``keys`` cannot read this database; write the canary when
    the database has none yet (a new database, or one from before the canary existed whose data
    the keys do read)."""
    keys = keys or KeySet.configured()
    if "privacy_keycanary" not in connection.introspection.table_names():
        return  # not migrated yet: nothing here can be encrypted
    from rapport.privacy.models import KeyCanary

    canary = KeyCanary.objects.filter(slot="keys").first()
    if canary is None:
        sample = _sample_ciphertext()
        if sample is not None:
            try:
                keys.ring().decrypt(sample.encode())
            except InvalidToken:
                raise _refusal(keys, stored_fingerprint="unknown (the data predates the canary)") from None
        write_canary(keys)
        return
    try:
        plaintext = keys.ring().decrypt(canary.token.encode()).decode()
    except InvalidToken:
        raise _refusal(keys, stored_fingerprint=canary.encryption_key_fingerprint) from None
    if plaintext != CANARY_PLAINTEXT:
        raise _refusal(keys, stored_fingerprint=canary.encryption_key_fingerprint)
    if not hmac.compare_digest(canary.blind_index, keys.canary_index()):
        raise KeysDoNotMatch(
            "RAPPORT_BLIND_INDEX_KEY does not match this database: its key canary was indexed with the key "
            f"whose fingerprint is {canary.blind_index_key_fingerprint}, the configured key's is "
            f"{fingerprint(keys.blind_index_key)}. Searches and de-duplication would silently miss every "
            "customer; set RAPPORT_BLIND_INDEX_KEY to the key this database was written with, or run "
            "`rapport rotate_keys` with both keys available to rebuild the indexes."
        )


def write_canary(keys: KeySet | None = None) -> None:
    """(Re)write the canary under the primary key: on first start and after a key rotation."""
    keys = keys or KeySet.configured()
    from rapport.privacy.models import KeyCanary

    values = {
        "token": keys.ring().encrypt(CANARY_PLAINTEXT.encode()).decode(),
        "blind_index": keys.canary_index(),
        "encryption_key_fingerprint": fingerprint(keys.encryption_keys[0]),
        "blind_index_key_fingerprint": fingerprint(keys.blind_index_key),
    }
    try:
        with transaction.atomic():
            KeyCanary.objects.update_or_create(slot="keys", defaults=values)
    except IntegrityError:
        pass  # another process started at the same moment and wrote it first


def refuse_worker_with_wrong_keys(**_kwargs: Any) -> None:
    """Celery ``worker_init``: a worker with the wrong keys stops before taking any job.

    Celery logs and ignores exceptions from signal handlers, so the refusal is a ``SystemExit``.
    (Celery's Django fix-up closes this connection before it forks the pool.)
    """
    try:
        ensure_keys_match_database()
    except KeysDoNotMatch as exc:
        raise SystemExit(f"rapport: {exc}") from exc
