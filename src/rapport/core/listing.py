"""Pagination and ordering shared by the API and the console, with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import QueryDict

from rapport.core.dates import parse_aware_datetime
from rapport.core.errors import FieldError, InvalidInput

MAX_PAGE_SIZE = 500
# SQL's OFFSET is a 64-bit integer: a larger one fails in the database instead of finding no rows.
MAX_OFFSET = 2**63 - 1 - MAX_PAGE_SIZE
M = TypeVar("M", bound=Model)


@dataclass
class Page(Generic[M]):
    items: list[M]
    count: int
    limit: int
    offset: int

    @property
    def number(self) -> int:
        return self.offset // self.limit + 1

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.count

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit

    @property
    def previous_offset(self) -> int:
        return max(self.offset - self.limit, 0)

    @property
    def first_index(self) -> int:
        return self.offset + 1 if self.count else 0

    @property
    def last_index(self) -> int:
        return min(self.offset + self.limit, self.count)


def page_offset(page_number: str | None, size: int) -> int:
    """The offset of a 1-based ``?page=`` number; anything unreadable is the first page.

    A page far past the end is an empty page, never an offset the database cannot take.
    """
    try:
        return min(max(int(page_number or "1") - 1, 0) * size, MAX_OFFSET)
    except ValueError:
        return 0


def check_window(*, limit: int, offset: int, max_limit: int = MAX_PAGE_SIZE) -> None:
    """Refuse a page size or offset out of range, naming the field (a huge offset fails in SQL)."""
    if not 1 <= limit <= max_limit:
        raise InvalidInput.single("limit", "out_of_range", f"limit is between 1 and {max_limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput.single("offset", "out_of_range", f"offset is between 0 and {MAX_OFFSET}")


def paginate(queryset: QuerySet[M], *, limit: int, offset: int) -> Page[M]:
    check_window(limit=limit, offset=offset)
    return Page(items=list(queryset[offset : offset + limit]), count=queryset.count(), limit=limit, offset=offset)


def order(queryset: QuerySet[M], requested: str | None, allowed: Mapping[str, str], default: str) -> QuerySet[M]:
    """Order by one of ``allowed`` (public name → model path); ``-name`` sorts descending."""
    key = (requested or default).strip()
    name = key.removeprefix("-")
    if name not in allowed:
        names = ", ".join(sorted(allowed))
        raise InvalidInput.single("order_by", "invalid", f"order by one of: {names} (prefix - to reverse)")
    path = allowed[name]
    descending = key.startswith("-")
    return queryset.order_by(f"-{path}" if descending else path, "-pk" if descending else "pk")


def page_body(page: Page[Any], results: list[Any]) -> dict[str, Any]:
    return {"count": page.count, "limit": page.limit, "offset": page.offset, "results": results}


def filled_params(query: QueryDict) -> dict[str, str]:
    """The query string's non-empty parameters (the last value of each), for the filter services."""
    return {key: str(value) for key, value in query.items() if value}


def within_time_bounds(
    queryset: QuerySet[M],
    params: Mapping[str, Any],
    *,
    field: str,
    after: str,
    before: str,
    errors: list[FieldError],
) -> QuerySet[M]:
    """Keep rows with ``after <= field < before`` for whichever bounds ``params`` gives.

    An unreadable bound is added to ``errors`` under its parameter name.
    """
    for bound, lookup in ((after, "gte"), (before, "lt")):
        if params.get(bound):
            try:
                moment = parse_aware_datetime(params[bound])
            except ValueError as exc:
                errors.append(FieldError(bound, "invalid", str(exc)))
            else:
                queryset = queryset.filter(**{f"{field}__{lookup}": moment})
    return queryset
