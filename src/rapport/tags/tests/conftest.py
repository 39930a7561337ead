"""Tag fixtures: categories and tags made through the services, like every other entry point."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from rapport.tags import services
from rapport.tags.models import Tag, TagCategory

_counter = itertools.count(1)


@pytest.fixture
def category(db: Any, system_actor: Any) -> TagCategory:
    return services.create_category(data={"name": "Interests"}, actor=system_actor)


@pytest.fixture
def make_tag(category: TagCategory, system_actor: Any) -> Callable[..., Tag]:
    def make(name: str | None = None, **data: Any) -> Tag:
        data.setdefault("category", category.pk)
        return services.create_tag(data={"name": name or f"Tag {next(_counter)}", **data}, actor=system_actor)

    return make
