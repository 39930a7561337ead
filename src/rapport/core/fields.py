"""Model fields for personal data stored encrypted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from django.db import models

from rapport.core import pii, shredding

if TYPE_CHECKING:  # the stubs' fields are generic; Django's classes take no parameters at run time
    _TextField = models.TextField[Any, Any]
    _BinaryField = models.BinaryField[Any, Any]
else:
    _TextField = models.TextField
    _BinaryField = models.BinaryField


class EncryptedTextField(_TextField):
    """Encrypts on the way to the database and decrypts on the way back.

    The ciphertext is random per write, so the column cannot be searched: pair it with a
    blind-index column kept by the service layer.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return pii.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return pii.encrypt(value)


class BlindSearchField(_TextField):
    """The blind search tokens (:func:`rapport.core.pii.search_tokens`) of the encrypted text in the
    field ``source`` of the same row, set whenever the row is saved with it, so the encrypted text
    stays searchable by word without any word stored. A bulk ``update()`` of the source must set
    this too."""

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        tokens = pii.search_tokens(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, tokens)
        return tokens


class _AboutSubject:
    """A field whose ``subject`` option names the model attribute giving the customer's id at save
    time (None: stored as it is), kept through migrations."""

    def __init__(self, *args: Any, subject: str = "", **kwargs: Any) -> None:
        self.subject = subject
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()  # type: ignore[misc]
        kwargs["subject"] = self.subject
        return name, path, args, kwargs


class SubjectSealedTextField(_AboutSubject, _TextField):
    """Text about one customer, sealed with that customer's key (:mod:`rapport.core.shredding`).
    Reads open the seal; after the customer's erasure they read ``""``."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        subject = getattr(model_instance, self.subject, None)
        return shredding.seal(subject, value) if subject is not None and isinstance(value, str) else value

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return shredding.open_sealed(value)


class SubjectSealedJSONField(_AboutSubject, models.JSONField):
    """A JSON object about one customer whose values are sealed one by one with the customer's key
    (see :class:`SubjectSealedTextField`): the keys (field names, not personal) stay queryable with
    ``has_key``; the values read back as written, and drop out once the customer is erased.

    ``sealed_keys`` limits the sealing to the values of those keys (the personal ones), so the
    others stay queryable (``data__key=…``) and survive the erasure; empty: every value."""

    def __init__(self, *args: Any, sealed_keys: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.sealed_keys = tuple(sealed_keys)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.sealed_keys:
            kwargs["sealed_keys"] = self.sealed_keys
        return name, path, args, kwargs

    def seals(self, key: str) -> bool:
        return not self.sealed_keys or key in self.sealed_keys

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        subject = getattr(model_instance, self.subject, None)
        if subject is None or not isinstance(value, dict):
            return value
        return {
            key: item
            if shredding.is_sealed(item) or not self.seals(key)
            else shredding.seal(subject, orjson.dumps(item).decode())
            for key, item in value.items()
        }

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        loaded = super().from_db_value(value, expression, connection)
        if not isinstance(loaded, dict):
            return loaded
        opened = {}
        for key, item in loaded.items():
            if not shredding.is_sealed(item):
                opened[key] = item
            elif text := shredding.open_sealed(item):
                opened[key] = orjson.loads(text)
        return opened


class EncryptedBinaryField(_BinaryField):
    """Bytes encrypted with the key ring on the way to the database (files such as attachments)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None or len(value) == 0:
            return None if value is None else b""
        return pii.decrypt_bytes(bytes(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is not None and len(value) and not prepared:
            value = pii.encrypt_bytes(bytes(value))
        return super().get_db_prep_value(value, connection, prepared)
