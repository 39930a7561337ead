"""The change registry calls each listener only for the kinds of change it depends on."""

from __future__ import annotations

import pytest

from rapport.core import changes
from rapport.core.changes import Change, customers_changed, on_customers_changed


@pytest.fixture
def no_listeners(monkeypatch):
    monkeypatch.setattr(changes, "_listeners", [])


def test_listeners_hear_only_their_kinds_once_each_with_sorted_ids(no_listeners):
    heard: dict[str, list[list[int]]] = {"scores": [], "tags": []}
    scores = heard["scores"].append
    on_customers_changed(scores, kinds=(Change.PROFILE, Change.ORDERS))
    on_customers_changed(scores)  # registering again changes nothing
    on_customers_changed(heard["tags"].append)

    customers_changed([3, None, 1, 3], kind=Change.ORDERS)
    customers_changed([2], kind=Change.EVENTS)
    customers_changed([None], kind=Change.PROFILE)

    assert heard == {"scores": [[1, 3]], "tags": [[1, 3], [2]]}


def test_analytics_rescoring_ignores_behaviour_events():
    """Scores come from orders and the profile: a batch of events must not rescore its customers."""
    from rapport.analytics.tasks import customers_changed as rescore

    kinds = {kind for listener, listening in changes._listeners if listener is rescore for kind in listening}
    assert kinds == {Change.PROFILE, Change.ORDERS}
