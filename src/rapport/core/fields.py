"""Model fields for personal data stored encrypted."""

from __future__ import annotations

from typing import Any

from django.db import models

from rapport.core import pii


class EncryptedTextField(models.TextField[Any, Any]):
    """Encrypts on the way to the database and decrypts on the way back.

    The ciphertext is random per write, so the column cannot be searched: pair it with a
    blind-index column kept by the service layer.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return pii.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return pii.encrypt(value)
