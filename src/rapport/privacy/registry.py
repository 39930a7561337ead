"""Every app's part in a data-subject request: what it exports about a person and how it erases it.

An app registers one :class:`PrivacyHook` per domain (from its ``AppConfig.ready()``, like
``customers.merge.register_merge_hook``) naming every model of it that points at a customer; the
test suite fails when a model with a foreign key to ``Customer`` is covered by no hook, so a new
app cannot be forgotten::

    register_privacy_hook(PrivacyHook("wishlists", covers=("wishlists.Wish",), export=..., erase=...))

``export(customer)`` returns ``{table name: [row dicts]}`` (values as the ORM reads them:
decrypted personal data included). ``erase(customer, erasure)`` anonymises or deletes the
domain's personal data inside the erasure's transaction and returns ``{what: how many}``; rows
that carry money or counts (orders, ledgers, statistics) stay, pointing at the anonymised customer.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet

from rapport.core.actor import Actor


@dataclass(frozen=True)
class Erasure:
    """What an erase hook may need: who erases, under which request, and the identities erased."""

    actor: Actor
    request_id: int
    identities: tuple[tuple[str, str], ...]  # (channel, external id) of the customer, before erasure
    merged_ids: tuple[int, ...]  # customer ids merged into this one earlier


Rows = dict[str, Iterable[dict[str, Any]]]  # a list, or an iterator for a table of any size
ExportHook = Callable[[Any], Rows]
EraseHook = Callable[[Any, Erasure], dict[str, int]]


@dataclass(frozen=True)
class PrivacyHook:
    name: str
    covers: tuple[str, ...]  # "app_label.ModelName" of every model the hook exports and erases
    export: ExportHook
    erase: EraseHook


_HOOKS: dict[str, PrivacyHook] = {}


def register_privacy_hook(hook: PrivacyHook) -> None:
    _HOOKS[hook.name] = hook


def privacy_hooks() -> list[PrivacyHook]:
    return sorted(_HOOKS.values(), key=lambda hook: hook.name)


def covered_models() -> set[str]:
    return {label for hook in _HOOKS.values() for label in hook.covers}


def plain(value: Any) -> Any:
    """A database value as JSON can hold it (and as a person can read it)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def rows(queryset: QuerySet[Any], *, omit: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every column of every row (personal fields decrypted by their field), less ``omit``:
    internal keys such as blind indexes and token hashes mean nothing to the person."""
    skipped = set(omit)
    model: type[Model] = queryset.model
    names = [f.attname for f in model._meta.concrete_fields if f.name not in skipped and f.attname not in skipped]
    return [{name: plain(value) for name, value in row.items()} for row in queryset.order_by("pk").values(*names)]


def stream(queryset: QuerySet[Any], *, omit: Iterable[str] = (), chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """:func:`rows` one by one, read ``chunk`` at a time (a server-side cursor on PostgreSQL): for
    tables that grow without bound, such as a customer's events, so the archive job's memory does not."""
    skipped = set(omit)
    model: type[Model] = queryset.model
    names = [f.attname for f in model._meta.concrete_fields if f.name not in skipped and f.attname not in skipped]
    for row in queryset.order_by("pk").values(*names).iterator(chunk_size=chunk):
        yield {name: plain(value) for name, value in row.items()}
