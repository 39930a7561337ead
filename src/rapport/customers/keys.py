"""Key rotation for personal data: re-encrypt under the primary key and rebuild blind indexes.

Run after putting a new key first in ``RAPPORT_ENCRYPTION_KEYS`` (keep the old ones after it
until this has finished), or after changing ``RAPPORT_BLIND_INDEX_KEY``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from rapport.core import pii
from rapport.customers.models import Address, Customer

BATCH = 500


def _rotate_batches(
    model: type[Customer] | type[Address], fields: list[str], *, rebuild: Callable[[object], list[str]] | None
) -> int:
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(model.objects.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:BATCH])
            if not rows:
                return done
            extra: list[str] = []
            for row in rows:
                # Decrypted by the field on load; saving encrypts again under the primary key.
                extra = rebuild(row) if rebuild else []
            model.objects.bulk_update(rows, fields + extra)  # type: ignore[arg-type]
            done += len(rows)
            last_pk = rows[-1].pk


def _rebuild_customer_indexes(customer: object) -> list[str]:
    assert isinstance(customer, Customer)
    customer.phone_index = pii.phone_index(customer.phone) if customer.phone else None
    customer.email_index = pii.email_index(customer.email) if customer.email else None
    customer.id_number_index = pii.id_number_index(customer.id_number) if customer.id_number else None
    customer.phone_tail_index = pii.phone_tail_index(customer.phone)
    return ["phone_index", "email_index", "id_number_index", "phone_tail_index"]


def _rebuild_address_index(address: object) -> list[str]:
    assert isinstance(address, Address)
    address.place_index = pii.place_index(address.city, address.district, address.line1)
    return ["place_index"]


def rotate_personal_data_keys() -> dict[str, int]:
    """Re-encrypt every personal-data value and rebuild the blind indexes. Safe to re-run."""
    return {
        "customers": _rotate_batches(Customer, ["phone", "email", "id_number"], rebuild=_rebuild_customer_indexes),
        "addresses": _rotate_batches(Address, ["phone", "line1", "line2"], rebuild=_rebuild_address_index),
    }
