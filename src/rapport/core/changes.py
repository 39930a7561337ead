""" "These customers' data changed": a small registry so domains react without importing each other.

Writers (order and refund services, event ingestion, profile updates) call
:func:`customers_changed`; readers that keep derived data (automatic tags, later segments and
scores) register a listener from their ``AppConfig.ready``. Listeners should only enqueue work
(``rapport.core.jobs.enqueue``), which runs after the writer's transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Listener = Callable[[list[int]], None]
_listeners: list[Listener] = []


def on_customers_changed(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def customers_changed(customer_ids: Iterable[int | None]) -> None:
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids:
        return
    for listener in _listeners:
        listener(ids)
