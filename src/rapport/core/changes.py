""" "These customers' data changed": a small registry so domains react without importing each other.

Writers (order and refund services, event ingestion, profile updates) call
:func:`customers_changed` saying what changed; readers that keep derived data (automatic tags,
scores) register a listener from their ``AppConfig.ready`` for the kinds of change they depend
on. Listeners should only enqueue work (``rapport.core.jobs.enqueue``), which runs after the
writer's transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

Listener = Callable[[list[int]], None]


class Change(StrEnum):
    PROFILE = "profile"
    CONSENT = "consent"
    ORDERS = "orders"
    EVENTS = "events"


_listeners: list[tuple[Listener, frozenset[Change]]] = []


def on_customers_changed(listener: Listener, *, kinds: Iterable[Change] = tuple(Change)) -> None:
    """Call ``listener`` with the customer ids whenever one of ``kinds`` of their data changes."""
    if all(registered is not listener for registered, _kinds in _listeners):
        _listeners.append((listener, frozenset(kinds)))


def customers_changed(customer_ids: Iterable[int | None], *, kind: Change) -> None:
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids:
        return
    for listener, kinds in _listeners:
        if kind in kinds:
            listener(ids)
