"""All-or-nothing batches: every item is tried so the caller sees every error at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import transaction

from rapport.core.errors import Conflict, FieldError, InvalidInput, NotFound

BULK_LIMIT = 1000
Item = TypeVar("Item")
Result = TypeVar("Result")


def all_or_nothing(items: Sequence[Item], apply: Callable[[Item], Result]) -> list[Result]:
    """Apply ``apply`` to each item in one transaction; one failure rolls every item back.

    Errors come back as one :class:`InvalidInput` whose fields are prefixed ``items.<index>.``.
    """
    if len(items) > BULK_LIMIT:
        raise InvalidInput.single("items", "too_many", f"at most {BULK_LIMIT} items per request")
    results: list[Result] = []
    errors: list[FieldError] = []
    with transaction.atomic():
        for index, item in enumerate(items):
            try:
                with transaction.atomic():
                    results.append(apply(item))
            except (InvalidInput, Conflict, NotFound) as exc:
                errors.extend(FieldError(f"items.{index}.{e.field}", e.code, e.message) for e in exc.errors)
        if errors:
            raise InvalidInput(errors)
    return results


def bulk_summary(results: list[tuple[Any, bool]]) -> dict[str, Any]:
    """The body bulk endpoints answer: counts and each item's id, in the order sent."""
    return {
        "created": sum(1 for _obj, created in results if created),
        "updated": sum(1 for _obj, created in results if not created),
        "results": [{"id": obj.pk, "created": created} for obj, created in results],
    }
